"""What global search knows of orders and quotes: their number and their customer's
names, so "SO-000123" or "Acme" finds them. Search shows only those the user may see."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from rapport.core import search
from rapport.sales.models import Order, PricedDocument, Quote


def document_text(document: PricedDocument) -> list[str]:
    return [
        document.number,
        str(document.contact) if document.contact_id else "",
        document.company.name if document.company_id else "",
    ]


def _subtitle(document: Order | Quote) -> str:
    customer = document.company or document.contact
    status = document.get_status_display()
    return f"{customer} · {status}" if customer else str(status)


for model, label in ((Order, _("Orders")), (Quote, _("Quotes"))):
    search.register(
        model,
        label=label,
        text=document_text,
        title=lambda document: document.number,
        subtitle=_subtitle,
        url=lambda document: document.get_absolute_url(),
        queryset=lambda model=model: model.objects.select_related("contact", "company"),
    )
