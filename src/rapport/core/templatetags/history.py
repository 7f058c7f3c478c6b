"""``{% history_tab record %}``: the History tab any detail page includes."""

from __future__ import annotations

from django import template
from django.contrib.contenttypes.models import ContentType
from django.db import models

from rapport.core.history import describe_entries
from rapport.core.models import AuditEntry

register = template.Library()

RECENT_ENTRIES = 10


@register.inclusion_tag("core/_history.html", takes_context=True)
def history_tab(
    context: template.Context, record: models.Model, limit: int = RECENT_ENTRIES
) -> dict:
    """The latest changes of ``record``; the page showing it has already checked the
    reader may see it."""
    model = type(record)
    entries = AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(model), object_id=str(record.pk)
    ).order_by("-id")[: limit + 1]
    entries = list(entries)
    return {
        "entries": describe_entries(entries[:limit], model, _reader(context)),
        "has_more": len(entries) > limit,
        "object_type": model._meta.label_lower,
        "object_id": record.pk,
    }


def _reader(context: template.Context) -> object:
    """The user reading the page, whose role's field rules apply; ``None`` for a
    template rendered without a request (no rules apply then)."""
    request = context.get("request")
    return getattr(request, "user", None)
