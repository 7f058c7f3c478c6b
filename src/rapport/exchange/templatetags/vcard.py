"""``{% vcard_download_url record as url %}`` and ``{% vcard_import_url listing as url %}``:
where the contact page's "Download vCard" and the contact list's "Import vCards"
lead, or nothing when the reader may not export that contact or import contacts."""

from __future__ import annotations

from typing import Any

from django import template
from django.core.exceptions import PermissionDenied
from django.db import models
from django.urls import reverse

from rapport.contacts.models import Contact
from rapport.core.permissions import can
from rapport.exchange.vcard import may_import

register = template.Library()


@register.simple_tag(takes_context=True)
def vcard_download_url(context: template.Context, record: models.Model) -> str:
    request = context.get("request")
    if (
        request is None
        or not isinstance(record, Contact)
        or not can(request.user, "export", record)
    ):
        return ""
    return reverse("exchange:contact_vcard", args=[record.pk])


@register.simple_tag(takes_context=True)
def vcard_import_url(context: template.Context, listing: Any) -> str:
    request = context.get("request")
    if request is None or getattr(listing, "model", None) is not Contact:
        return ""
    try:
        may_import(request.user)
    except PermissionDenied:
        return ""
    return reverse("exchange:vcard_import")
