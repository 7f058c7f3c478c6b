"""``{{ item.kind|kind_icon }}``: the symbol shown before a timeline item."""

from __future__ import annotations

from django import template

register = template.Library()

ICONS = {
    "note": "✎",
    "call": "☎",
    "email": "✉",
    "meeting": "◷",
    "chat": "✆",
    "social": "♯",
    "visit": "⌂",
    "change": "⇄",
    "task": "☐",
}
DEFAULT_ICON = "•"


@register.filter
def kind_icon(kind: str) -> str:
    return ICONS.get(kind, DEFAULT_ICON)


@register.filter
def verbose_name(record: object) -> str:
    """The record's type, as people call it: "contact", "company"."""
    return str(record._meta.verbose_name)  # type: ignore[attr-defined]
