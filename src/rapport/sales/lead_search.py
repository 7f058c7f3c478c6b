"""What global search knows of leads: their names, email, phone and company (registered
with ``core.search``), so "ada@example.com" or "Acme" finds the lead. Search shows only
the leads the user may see."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from rapport.core import search
from rapport.sales.models import Lead

TEXT_FIELDS = ("first_name", "last_name", "email", "phone", "company_name", "job_title")


def lead_text(lead: Lead) -> list[str]:
    return [getattr(lead, name) for name in TEXT_FIELDS]


def leads_text(pks: list[int]) -> dict[int, list[str]]:
    """``lead_text`` of many leads, read as plain values (for ``search.reindex``)."""
    rows = Lead.all_objects.filter(pk__in=pks).values_list("pk", *TEXT_FIELDS)
    return {pk: list(texts) for pk, *texts in rows}


def _subtitle(lead: Lead) -> str:
    parts = [lead.company_name, str(lead.get_status_display())]
    return " · ".join(part for part in parts if part)


search.register(
    Lead,
    label=_("Leads"),
    text=lead_text,
    title=str,
    subtitle=_subtitle,
    url=lambda lead: lead.get_absolute_url(),
    bulk_text=leads_text,
)
