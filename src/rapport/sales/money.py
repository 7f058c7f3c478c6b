"""Amounts in several currencies: the base currency, ISO 4217 facts, exchange rates on a
day and conversion.

Rounding: a converted amount is rounded to the target currency's decimal places
with ``ROUND_HALF_EVEN`` (banker's rounding: a half goes to the even digit, so
2.345 → 2.34 and 2.355 → 2.36). Reports add up many converted amounts, and
rounding halves always up would bias their totals upwards; half-even is the
IEEE 754 default and what accounting systems use for the same reason. The
arithmetic before that rounding runs with 34 significant digits, so the rate's
ten decimal places are kept in full.
"""

from __future__ import annotations

import datetime
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

import iso4217
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from rapport.sales.models import Currency, ExchangeRate

ROUNDING = ROUND_HALF_EVEN
PRECISION = 34


class UnknownCurrency(ValidationError):
    """A currency code that names no currency of the workspace."""

    def __init__(self, code: str, *, field: str = "currency") -> None:
        super().__init__({field: [_("Unknown currency %(code)s.") % {"code": code}]})
        self.code = code


class NoExchangeRate(ValidationError):
    """No rate of ``code`` is valid on ``day``: none was entered on or before it."""

    def __init__(self, code: str, day: datetime.date, *, field: str = "currency") -> None:
        super().__init__(
            {
                field: [
                    _("No exchange rate of %(code)s is valid on %(day)s: add one from that day.")
                    % {"code": code, "day": day.isoformat()}
                ]
            }
        )
        self.code = code
        self.day = day


def base_currency() -> str:
    """The code of the currency every rate is expressed in (``RAPPORT_BASE_CURRENCY``)."""
    return settings.BASE_CURRENCY


def iso_facts(code: str) -> tuple[str, int] | None:
    """The ISO 4217 name and decimal places of ``code``; ``None`` for a code ISO does not
    list, or one that is not money (gold, special drawing rights)."""
    try:
        known = iso4217.Currency(code)
    except ValueError:
        return None
    if known.exponent is None:
        return None
    return known.currency_name, known.exponent


def normalize_code(raw: str) -> str:
    return (raw or "").strip().upper()


def decimal_places(code: str) -> int:
    """The decimal places of a workspace currency; ``UnknownCurrency`` otherwise."""
    places = Currency.objects.filter(code=code).values_list("decimal_places", flat=True).first()
    if places is None:
        raise UnknownCurrency(code)
    return places


def round_to(amount: Decimal, places: int) -> Decimal:
    """``amount`` with ``places`` decimal places, rounded half to even."""
    with localcontext(prec=PRECISION):
        return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUNDING)


def rate_on(currency: str, day: datetime.date) -> Decimal:
    """The value of one unit of ``currency`` in the base currency on ``day``: its latest
    rate valid from that day or before (1 for the base currency itself)."""
    code = normalize_code(currency)
    if code == base_currency():
        return Decimal(1)
    rate = (
        ExchangeRate.objects.filter(currency_id=code, valid_from__lte=day)
        .order_by("-valid_from")
        .values_list("rate", flat=True)
        .first()
    )
    if rate is not None:
        return rate
    if not Currency.objects.filter(code=code).exists():
        raise UnknownCurrency(code)
    raise NoExchangeRate(code, day)


def convert(amount: Decimal, currency: str, on: datetime.date, *, to: str | None = None) -> Decimal:
    """``amount`` of ``currency`` in the base currency (or in ``to``) at the rates valid
    ``on`` that day, rounded half to even to the target's decimal places.

    Between two currencies neither of which is the base, the amount goes through the
    base: ``amount * rate(currency) / rate(to)``. Raises ``UnknownCurrency`` or
    ``NoExchangeRate`` (``ValidationError``s naming ``currency`` or ``to``)."""
    source = normalize_code(currency)
    target = normalize_code(to) if to else base_currency()
    try:
        places = decimal_places(target)
    except UnknownCurrency:
        raise UnknownCurrency(target, field="to" if to else "currency") from None
    if source == target:
        if not Currency.objects.filter(code=source).exists():
            raise UnknownCurrency(source)
        return round_to(Decimal(amount), places)
    source_rate = rate_on(source, on)
    try:
        target_rate = rate_on(target, on)
    except NoExchangeRate:
        raise NoExchangeRate(target, on, field="to") from None
    with localcontext(prec=PRECISION):
        value = Decimal(amount) * source_rate / target_rate
    return round_to(value, places)
