"""``{{ value|amount:places }}``: a price or an amount in the reader's number format, with
at least the currency's decimal places and every further one it holds (0.0035)."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils import formats

register = template.Library()


@register.filter
def amount(value: Decimal | None, places: int = 2) -> str:
    if value is None:
        return ""
    exponent = value.normalize().as_tuple().exponent
    held = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return formats.number_format(value, decimal_pos=max(int(places), held), use_l10n=True)
