"""The deals panel of company and contact pages: the record's deals the reader may
see, open ones first, with their stage and amount, and a link to open a new one."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from rapport.contacts.models import Company, Contact
from rapport.core.panels import Panel
from rapport.core.permissions import can_create
from rapport.sales.deal_queries import deals_of
from rapport.sales.models import Deal, StageKind

PANEL_SIZE = 10


def applies_to(model: type[models.Model]) -> bool:
    return model in (Company, Contact)


def panel_context(request: HttpRequest, record: models.Model) -> dict[str, Any]:
    deals = list(deals_of(request.user, record)[: PANEL_SIZE + 1])
    return {
        "deals": deals[:PANEL_SIZE],
        "more_deals": len(deals) > PANEL_SIZE,
        "open_count": sum(deal.status == StageKind.OPEN for deal in deals[:PANEL_SIZE]),
        "can_create_deal": can_create(request.user, Deal),
        "filter_param": "company" if isinstance(record, Company) else "contact",
    }


PANEL = Panel(
    key="deals",
    title=_("Deals"),
    template="sales/deals/_panel.html",
    context=panel_context,
    applies_to=applies_to,
    order=15,
)
