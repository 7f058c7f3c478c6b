"""Seed data of the sales app.

Currencies: the 30 most traded (BIS Triennial Survey 2022), plus the base
currency (RAPPORT_BASE_CURRENCY) if it is not among them, with their ISO 4217
names and decimal places from the iso4217 package (the official ISO table).
Admins add any other ISO currency from the Currencies page.

Grants: a product catalogue is shared by everyone who sells, whoever created a
product, so the shipped roles get an entry of their own for products instead
of their "*" grant (whose own/team scopes fit customer records): everyone sees
every product; sales managers and admins keep the catalogue; marketers may
export it. Admins refine this in the role editor; an entry already there is
left alone.
"""

import iso4217
from django.conf import settings
from django.db import migrations

COMMON_CURRENCIES = [
    "USD", "EUR", "JPY", "GBP", "CNY", "AUD", "CAD", "CHF", "HKD", "SGD",
    "SEK", "KRW", "NOK", "NZD", "INR", "MXN", "TWD", "ZAR", "BRL", "DKK",
    "PLN", "THB", "ILS", "IDR", "CZK", "AED", "TRY", "HUF", "CLP", "SAR",
]
PRODUCT = "sales.product"
ACTIONS = ("view", "create", "edit", "delete", "export", "import", "merge")


def grants(view, create, edit, delete, export, import_, merge):
    return dict(zip(ACTIONS, (view, create, edit, delete, export, import_, merge), strict=True))


PRODUCT_GRANTS = {
    "admin": grants("all", "all", "all", "all", "all", "all", "all"),
    "sales-manager": grants("all", "all", "all", "all", "all", "all", "none"),
    "sales-rep": grants("all", "none", "none", "none", "none", "none", "none"),
    "marketer": grants("all", "none", "none", "none", "all", "none", "none"),
    "support-agent": grants("all", "none", "none", "none", "none", "none", "none"),
    "read-only": grants("all", "none", "none", "none", "none", "none", "none"),
}


def add_currencies(apps, schema_editor):
    Currency = apps.get_model("sales", "Currency")
    codes = list(dict.fromkeys([*COMMON_CURRENCIES, settings.BASE_CURRENCY]))
    for code in codes:
        try:
            known = iso4217.Currency(code)
        except ValueError:  # a base currency ISO does not list: named by its code
            name, places = code, 2
        else:
            name, places = known.currency_name, known.exponent
        Currency.objects.get_or_create(
            code=code, defaults={"name": name, "decimal_places": places, "active": True}
        )


def grant_products(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    for role in Role.objects.filter(slug__in=PRODUCT_GRANTS, is_system=True):
        if PRODUCT not in role.permissions:
            role.permissions = {**role.permissions, PRODUCT: PRODUCT_GRANTS[role.slug]}
            role.save(update_fields=["permissions"])


def revoke_products(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    for role in Role.objects.filter(slug__in=PRODUCT_GRANTS, is_system=True):
        if role.permissions.get(PRODUCT) == PRODUCT_GRANTS[role.slug]:
            role.permissions = {
                key: value for key, value in role.permissions.items() if key != PRODUCT
            }
            role.save(update_fields=["permissions"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_translated_names_and_languages"),
        ("sales", "0001_products_price_books_currencies"),
    ]

    operations = [
        migrations.RunPython(add_currencies, migrations.RunPython.noop),
        migrations.RunPython(grant_products, revoke_products),
    ]
