"""The purchase history panel of the contact and company 360 pages: their latest orders
(products, quantities, dates, totals) and their lifetime value."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from rapport.contacts.models import Company, Contact
from rapport.core.panels import Panel
from rapport.core.permissions import can_create
from rapport.sales.models import Order
from rapport.sales.money import base_currency, decimal_places
from rapport.sales.order_queries import purchase_history

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
