"""``{% record_panels record wide %}``: the panels other apps add to a record's page."""

from __future__ import annotations

from django import template
from django.db import models
from django.template.loader import render_to_string
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from rapport.core.panels import panels_for

register = template.Library()


@register.simple_tag(takes_context=True)
def record_panels(context: template.Context, record: models.Model, wide: bool) -> SafeString:
    """The full-width panels (``wide``) or the grid ones of ``record``'s page."""
    request = context["request"]
    rendered = (
        (render_to_string(shown["template"], shown["context"] | {"record": record}, request),)
        for shown in panels_for(request, record, wide=wide)
    )
    return format_html_join("", "{}", rendered)
