"""``{% email_compose_url record as url %}``: where the "Send email" button of a contact's
page leads, or nothing when the reader may not email that record."""

from __future__ import annotations

from django import template
from django.db import models
from django.urls import reverse

from rapport.activities.models import Activity
from rapport.contacts.models import Contact
from rapport.core.permissions import can_create
from rapport.mail.services import email_refusal

register = template.Library()


@register.simple_tag(takes_context=True)
def email_compose_url(context: template.Context, record: models.Model) -> str:
    """The compose page of ``record`` if it is a contact who may be emailed and the
    reader may log activities; else an empty string."""
    request = context.get("request")
    if request is None or not isinstance(record, Contact):
        return ""
    # The primary address is kept on the contact row: no query for the others.
    primary = [record.email] if record.email else []
    if not can_create(request.user, Activity) or email_refusal(record, primary):
        return ""
    return reverse("mail:compose", args=[record.pk])
