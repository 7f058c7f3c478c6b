"""Panels of 360 pages: the purchase history of contacts and companies (their latest
orders with products, quantities, dates and totals, and their lifetime value), and a
deal's quotes and orders."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from rapport.contacts.models import Company, Contact
from rapport.core.panels import Panel
from rapport.core.permissions import can_create
from rapport.sales.models import Deal, Order, Quote
from rapport.sales.money import base_currency, decimal_places
from rapport.sales.order_queries import purchase_history, visible_orders, visible_quotes

PANEL_SIZE = 10


def applies_to(model: type[models.Model]) -> bool:
    return model in (Contact, Company)


def panel_context(request: HttpRequest, record: models.Model) -> dict[str, Any]:
    history = purchase_history(request.user, record, size=PANEL_SIZE)
    base = base_currency()
    return {
        "history": history,
        "base": base,
        "base_places": decimal_places(base),
        "customer_param": "contact" if isinstance(record, Contact) else "company",
        "customer": record,
        "can_create_order": can_create(request.user, Order),
    }


PANEL = Panel(
    key="purchases",
    title=_("Purchase history"),
    template="sales/orders/_purchase_panel.html",
    context=panel_context,
    applies_to=applies_to,
    order=40,
)


def deal_panel_context(request: HttpRequest, record: models.Model) -> dict[str, Any]:
    """A deal's quotes and orders that the reader may see, newest first."""
    return {
        "deal": record,
        "quotes": list(
            visible_quotes(request.user)
            .filter(deal=record)
            .select_related("currency")
            .order_by("-id")[:PANEL_SIZE]
        ),
        "orders": list(
            visible_orders(request.user)
            .filter(deal=record)
            .select_related("currency")
            .order_by("-id")[:PANEL_SIZE]
        ),
        "can_create_quote": can_create(request.user, Quote),
    }


DEAL_PANEL = Panel(
    key="deal_quotes",
    title=_("Quotes and orders"),
    template="sales/quotes/_deal_panel.html",
    context=deal_panel_context,
    applies_to=lambda model: model is Deal,
    order=30,
)
