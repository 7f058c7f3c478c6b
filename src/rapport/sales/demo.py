"""Demo catalogue: office furniture, equipment and services with their stock, list price
books in US dollars, euros and pounds (the default book of each), a partner price book,
and a year of monthly exchange rates.

Everything goes through the services as the demo admin (a small catalogue, so audit
entries, events and the search index come as in real use). Rates are drawn around
recent market values with the seed, so the same seed gives the same rates; they are
made when the base currency is one whose value the demo knows.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from rapport.accounts.demo import demo_admin
from rapport.core.actors import Actor
from rapport.core.models import Source
from rapport.sales import lead_demo, services
from rapport.sales.models import Currency, PriceBook
from rapport.sales.money import base_currency, round_to

PRICE_CURRENCIES = ("USD", "EUR", "GBP")
# Approximate value of one unit in US dollars, where the monthly rates start.
USD_VALUES = {
    "USD": Decimal("1"),
    "EUR": Decimal("1.08"),
    "GBP": Decimal("1.27"),
    "CHF": Decimal("1.12"),
    "CAD": Decimal("0.74"),
    "AUD": Decimal("0.66"),
    "JPY": Decimal("0.0067"),
}
RATE_MONTHS = 12
MONTHLY_DRIFT = 0.015
PARTNER_DISCOUNT = Decimal("0.85")
STOCK_REASON = "Opening stock count"


@dataclass(frozen=True)
class DemoProduct:
    sku: str
    name: str
    description: str
    usd: Decimal
    tax_rate: Decimal
    stock: int
    active: bool = True


CATALOGUE = [
    DemoProduct(
        "DSK-ELEC-140",
        "Electric standing desk 140 x 70",
        "Two motors, four memory positions, oak or white top.",
        Decimal("649.00"),
        Decimal("20"),
        42,
    ),
    DemoProduct(
        "CHR-ERG-01",
        "Ergonomic office chair",
        "Adjustable lumbar support, 4D armrests, mesh back.",
        Decimal("389.00"),
        Decimal("20"),
        120,
    ),
    DemoProduct(
        "MON-27-4K",
        "27-inch 4K monitor",
        "IPS panel, USB-C with 65 W charging.",
        Decimal("329.00"),
        Decimal("20"),
        75,
    ),
    DemoProduct(
        "ARM-MON-2",
        "Dual monitor arm",
        "Gas springs, for screens up to 32 inches.",
        Decimal("119.00"),
        Decimal("20"),
        60,
    ),
    DemoProduct(
        "LMP-LED-01",
        "LED desk lamp",
        "Dimmable, warm to cool white.",
        Decimal("59.90"),
        Decimal("20"),
        200,
    ),
    DemoProduct(
        "HDS-BT-PRO",
        "Wireless headset Pro",
        "Noise cancelling, 30 hours of battery.",
        Decimal("149.00"),
        Decimal("20"),
        0,
    ),
    DemoProduct(
        "KBD-MECH-DE",
        "Mechanical keyboard, German layout",
        "Quiet switches, aluminium frame.",
        Decimal("129.00"),
        Decimal("20"),
        15,
    ),
    DemoProduct(
        "DOC-USBC-12",
        "USB-C docking station",
        "12 ports, two 4K displays.",
        Decimal("219.00"),
        Decimal("20"),
        33,
    ),
    DemoProduct(
        "CAB-HDMI-2M",
        "HDMI cable, 2 m",
        "HDMI 2.1, 48 Gbit/s.",
        Decimal("12.50"),
        Decimal("20"),
        500,
    ),
    DemoProduct(
        "WBD-180",
        "Whiteboard 180 x 120",
        "Enamelled steel, magnetic.",
        Decimal("249.00"),
        Decimal("20"),
        8,
    ),
    DemoProduct(
        "PNL-MOSS-S",
        "Moss wall panel, small",
        "Preserved moss, absorbs sound. 60 x 60 cm.",
        Decimal("410.00"),
        Decimal("20"),
        12,
    ),
    DemoProduct(
        "SRV-INST-HR",
        "Installation, per hour",
        "On-site assembly and cabling by our team.",
        Decimal("85.00"),
        Decimal("20"),
        0,
    ),
    DemoProduct(
        "SRV-DESIGN",
        "Workspace design consultation",
        "A floor plan, furniture list and lighting plan for up to 50 desks.",
        Decimal("1200.00"),
        Decimal("20"),
        0,
    ),
    DemoProduct(
        "WRN-EXT-3Y",
        "Extended warranty, 3 years",
        "Parts and labour, next-business-day swap.",
        Decimal("99.00"),
        Decimal("0"),
        0,
    ),
    DemoProduct(
        "CHR-CONF-01",
        "Conference chair (discontinued)",
        "Replaced by CHR-ERG-01.",
        Decimal("179.00"),
        Decimal("20"),
        4,
        active=False,
    ),
]


def _list_price(usd: Decimal, code: str) -> Decimal:
    """A list price in ``code`` near the dollar price: whole units above 20, cents below."""
    if code == "USD":
        return usd
    value = usd / USD_VALUES[code]
    return round_to(value, 0 if value >= 20 else 2)


def _rates(rng: random.Random, actor: Actor, base: str) -> None:
    """Monthly rates for the past year of every demo currency but the base."""
    first_of_month = timezone.localdate().replace(day=1)
    months = []
    day = first_of_month
    for _month in range(RATE_MONTHS):
        months.append(day)
        day = (day - datetime.timedelta(days=1)).replace(day=1)
    for code in PRICE_CURRENCIES:
        if code == base:
            continue
        value = USD_VALUES[code] / USD_VALUES[base]
        for month in reversed(months):
            value *= Decimal(str(round(1 + rng.uniform(-MONTHLY_DRIFT, MONTHLY_DRIFT), 6)))
            services.rate_create(
                actor=actor, currency=code, rate=round_to(value, 6), valid_from=month
            )


def load(*, seed: int) -> None:
    """Add the catalogue, unless a demo catalogue is there already (SKUs and price book
    names are unique, so it is loaded once); and the demo leads (``sales.lead_demo``)."""
    lead_demo.load(random.Random(seed))
    if PriceBook.objects.filter(name=f"List prices {PRICE_CURRENCIES[0]}").exists():
        return
    rng = random.Random(seed)
    actor = Actor(user=demo_admin(), source=Source.CLI)
    Currency.objects.filter(code__in=PRICE_CURRENCIES).update(active=True)
    books = {
        code: services.price_book_create(
            actor=actor,
            values={
                "name": f"List prices {code}",
                "currency": code,
                "description": f"Public list prices in {code}.",
                "is_default": True,
            },
        )
        for code in PRICE_CURRENCIES
    }
    partner = services.price_book_create(
        actor=actor,
        values={
            "name": "Partner prices USD",
            "currency": "USD",
            "description": "Resellers: 15 % off list, goods only.",
        },
    )
    for item in CATALOGUE:
        product = services.product_create(
            actor=actor,
            values={
                "sku": item.sku,
                "name": item.name,
                "description": item.description,
                "tax_rate": item.tax_rate,
                "active": item.active,
            },
        )
        if item.stock:
            product = services.product_adjust_stock(
                product, actor=actor, change=item.stock, reason=STOCK_REASON
            )
        for code, book in books.items():
            services.price_set(
                book, actor=actor, product=product, unit_price=_list_price(item.usd, code)
            )
        if not item.sku.startswith(("SRV-", "WRN-")):
            services.price_set(
                partner,
                actor=actor,
                product=product,
                unit_price=round_to(item.usd * PARTNER_DISCOUNT, 2),
            )
    base = base_currency()
    if base in USD_VALUES:
        _rates(rng, actor, base)
