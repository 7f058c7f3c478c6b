from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.test import Client

from rapport.accounts.models import Role, User
from rapport.conftest import make_user
from rapport.core.actors import Actor
from rapport.core.models import Source
from rapport.sales import services
from rapport.sales.models import PriceBook, Product

DAY = datetime.date(2030, 3, 15)


def actor_for(user: User) -> Actor:
    return Actor(user=user, source=Source.UI)


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def base_in_dollars(settings) -> None:
    """Tests read amounts against US dollars, whatever RAPPORT_BASE_CURRENCY says."""
    settings.BASE_CURRENCY = "USD"


@pytest.fixture
def manager(east) -> User:
    """A sales manager: keeps the product catalogue."""
    return make_user("manager@example.com", role_slug="sales-manager", teams=[east])


@pytest.fixture
def as_manager(manager) -> Actor:
    return actor_for(manager)


@pytest.fixture
def outsider(db) -> User:
    """Someone whose role grants no view of products (a custom role)."""
    role = Role.objects.create(
        slug="no-products",
        name="No products",
        permissions={
            "*": {"view": "all", "create": "all", "edit": "own"},
            "sales.product": {"view": "none"},
        },
    )
    return User.objects.create_user(
        username="outsider", email="outsider@example.com", password="x" * 12, role=role
    )


def make_product(actor: Actor, sku: str = "WID-1", name: str = "Widget", **values) -> Product:
    return services.product_create(actor=actor, values={"sku": sku, "name": name, **values})


@pytest.fixture
def widget(as_manager) -> Product:
    return make_product(as_manager, tax_rate=Decimal("20"))


def make_book(actor: Actor, name: str, currency: str, **values) -> PriceBook:
    return services.price_book_create(
        actor=actor, values={"name": name, "currency": currency, **values}
    )


@pytest.fixture
def usd_list(as_admin) -> PriceBook:
    return make_book(as_admin, "List USD", "USD", is_default=True)


@pytest.fixture
def eur_list(as_admin) -> PriceBook:
    return make_book(as_admin, "List EUR", "EUR", is_default=True)


# Orders and quotes


@pytest.fixture
def customer(as_alice):
    from rapport.contacts.services import company_create, contact_create

    company = company_create(actor=as_alice, values={"name": "Acme Corp"})
    return contact_create(
        actor=as_alice,
        values={
            "first_name": "Carla",
            "last_name": "Buyer",
            "email": "carla@acme.example",
            "company": company,
        },
    )


@pytest.fixture
def stocked(as_manager, as_admin, usd_list) -> Product:
    """A product with 10 units on hand, at 100.00 USD."""
    product = make_product(as_manager, sku="DESK-1", name="Desk", tax_rate=Decimal("20"))
    services.price_set(usd_list, actor=as_admin, product=product, unit_price="100.00")
    return services.product_adjust_stock(product, actor=as_manager, change=10, reason="Count")


@pytest.fixture
def deal(as_alice, customer, stocked):
    """An open deal with Carla involved and two line items: 3 desks and a service."""
    from rapport.sales.deals import Participant, deal_create

    return deal_create(
        actor=as_alice,
        values={"name": "Acme office", "company": customer.company},
        contacts=[Participant(customer)],
        line_items=[
            {"product": stocked.pk, "quantity": 3, "unit_price": "100", "discount_percent": "10"},
            {"name": "Assembly", "quantity": 1, "unit_price": "80", "tax_rate": "0"},
        ],
    )
