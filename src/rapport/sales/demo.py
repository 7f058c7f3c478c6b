"""Demo catalogue: office furniture, equipment and services with their stock, list price
books in US dollars, euros and pounds (the default book of each), a partner price book,
a year of monthly exchange rates, a year of deals in two pipelines with quotas
(``sales.deal_demo``), about a hundred orders over the past year (most delivered,
some cancelled or returned, the latest still open) for purchase histories, and a few
quotes made from deals (draft, sent, accepted).

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
from rapport.contacts.models import Company, Contact
from rapport.core.actors import Actor
from rapport.core.models import Source
from rapport.sales import deal_demo, lead_demo, services
from rapport.sales.deals import Participant, deal_create
from rapport.sales.models import (
    Currency,
    ExchangeRate,
    OrderStatus,
    PriceBook,
    Product,
)
from rapport.sales.money import base_currency, round_to
from rapport.sales.orders import order_create, order_transition
from rapport.sales.queries import unit_price
from rapport.sales.quotes import quote_create, quote_mark_sent, quote_record_answer

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
ORDER_COUNT = 100
ORDER_BUYERS = 30
QUOTE_COUNT = 3
# Share of orders priced in another demo currency than the base.
FOREIGN_SHARE = 0.2
# Orders this recent may still be open; older ones have been through.
LATE_ORDER_DAYS = 21
RESTOCK = 40
RESTOCK_REASON = "Supplier delivery"
MONTHLY_DRIFT = 0.015
PARTNER_DISCOUNT = Decimal("0.85")
STOCK_REASON = "Opening stock count"
# A year of deals over the first companies of the demo.
DEMO_DEALS = 600
DEMO_COMPANIES = 300


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
    companies = list(Company.objects.order_by("pk").values_list("pk", flat=True)[:DEMO_COMPANIES])
    deal_demo.load(seed=seed, count=DEMO_DEALS, company_ids=companies)
    _orders(rng, actor)
    _quotes(rng, actor)


def _customers(rng: random.Random) -> list[Contact]:
    """Demo contacts with a company: the buyers of the demo orders."""
    buyers = list(Contact.objects.filter(company__isnull=False).order_by("id")[:ORDER_BUYERS])
    rng.shuffle(buyers)
    return buyers


def _restock(product: Product, quantity: int, actor: Actor) -> Product:
    """Receive goods when an order needs more than is available, as a supplier would."""
    if product.available_quantity >= quantity:
        return product
    return services.product_adjust_stock(
        product, actor=actor, change=RESTOCK + quantity, reason=RESTOCK_REASON
    )


def _order_status(age_days: int, rng: random.Random) -> str:
    """Older orders have travelled further: delivered, or now and then cancelled or
    returned; the last weeks' are still confirmed, fulfilled or drafts."""
    if age_days > LATE_ORDER_DAYS:
        return rng.choices(
            [OrderStatus.DELIVERED, OrderStatus.CANCELLED, OrderStatus.RETURNED], [88, 8, 4]
        )[0]
    return rng.choice(
        [OrderStatus.DRAFT, OrderStatus.CONFIRMED, OrderStatus.FULFILLED, OrderStatus.DELIVERED]
    )


def _path_to(status: str) -> list[str]:
    if status == OrderStatus.DRAFT:
        return []
    if status == OrderStatus.CANCELLED:
        return [OrderStatus.CONFIRMED, OrderStatus.CANCELLED]
    flow = [OrderStatus.CONFIRMED, OrderStatus.FULFILLED, OrderStatus.DELIVERED]
    if status == OrderStatus.RETURNED:
        return [*flow, OrderStatus.RETURNED]
    return flow[: flow.index(status) + 1]


def _orders(rng: random.Random, actor: Actor) -> None:
    buyers = _customers(rng)
    goods = list(Product.objects.filter(active=True, stock_on_hand__gt=0).order_by("id"))
    if not buyers or not goods:
        return
    today = timezone.localdate()
    # Before the first rate of a currency an order cannot be priced in it.
    earliest_rate = (
        ExchangeRate.objects.order_by("valid_from").values_list("valid_from", flat=True).first()
    )
    for number in range(ORDER_COUNT):
        age = rng.randint(0, 364)
        day = today - datetime.timedelta(days=age)
        currency = base_currency()
        if earliest_rate is not None and day >= earliest_rate and rng.random() < FOREIGN_SHARE:
            currency = rng.choice([code for code in PRICE_CURRENCIES if code != currency])
        buyer = buyers[number % len(buyers)]
        picked = rng.sample(goods, k=rng.randint(1, 3))
        lines = [
            {
                "product": product.pk,
                "quantity": rng.randint(1, 4),
                "discount_percent": rng.choice(["0", "0", "5", "10"]),
            }
            for product in picked
        ]
        for product, line in zip(picked, lines, strict=True):
            _restock(Product.objects.get(pk=product.pk), line["quantity"], actor)
        order = order_create(
            actor=actor,
            values={"contact": buyer, "currency": currency, "order_date": day},
            lines=lines,
        )
        for status in _path_to(_order_status(age, rng)):
            order = order_transition(order, actor=actor, status=status)


def _quotes(rng: random.Random, actor: Actor) -> None:
    """Three deals, each with a quote: a draft, one handed over and one the customer
    accepted (an order). None is emailed: demo addresses are not real."""
    buyers = _customers(rng)[:QUOTE_COUNT]
    goods = list(Product.objects.filter(active=True, stock_on_hand__gt=0).order_by("id"))
    for index, buyer in enumerate(buyers):
        picked = rng.sample(goods, k=2)
        deal = deal_create(
            actor=actor,
            values={"name": f"{buyer.company.name}: office refit", "company": buyer.company},
            contacts=[Participant(buyer)],
            line_items=[
                {
                    "product": product.pk,
                    "quantity": rng.randint(2, 6),
                    "unit_price": unit_price(product, base_currency()),
                    "discount_percent": "5",
                }
                for product in picked
            ],
        )
        quote = quote_create(
            actor=actor, deal=deal, values={"terms": "Payment 30 days net. Delivery in 2 weeks."}
        )
        if index == 0:
            continue
        quote = quote_mark_sent(quote, actor=actor)
        if index == 2:
            quote_record_answer(quote, actor=actor, accept=True)
