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
