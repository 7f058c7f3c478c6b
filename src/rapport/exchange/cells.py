"""Turning one cell's text into a field's value, or a message saying why it cannot be.

Each target field of an import has a kind; a kind's reader takes the trimmed
text of a cell and the run's options (the date formats the user declared)
and returns the value the service expects, standardised as the pages store
it: e-mails lower-cased and checked, phones in E.164, countries as ISO 3166
codes, domains and URLs normalised, names with single spaces. The services
check everything again when they write; reading here first lets the preview
show each bad cell before anything is written.
"""

from __future__ import annotations

import datetime
import decimal
import re
from collections.abc import Callable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.contacts.children import (
    normalize_country,
    normalize_domain,
    single_spaced,
    with_scheme,
)
from rapport.contacts.phones import normalize_phone

Options = Mapping[str, Any]
TRUE = {"1", "true", "yes", "y", "x", "on", "oui", "ja", "vrai", "wahr"}
FALSE = {"0", "false", "no", "n", "off", "non", "nein", "faux", "falsch", ""}
DEFAULT_DATE_FORMATS = ("%Y-%m-%d",)
LIST_SEPARATORS = re.compile(r"[;,|]")
# A number whose thousands are grouped, by whether its decimal mark is a comma.
THOUSANDS = {
    False: re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?"),
    True: re.compile(r"[+-]?\d{1,3}(\.\d{3})+(,\d*)?"),
}


def text(raw: str, options: Options) -> str:
    return raw


def name(raw: str, options: Options) -> str:
    """One space between words, none around: ``"  Anna   Maria "`` → ``"Anna Maria"``."""
    return single_spaced(raw)


def email(raw: str, options: Options) -> str:
    address = raw.lower()
    try:
        validate_email(address)
    except ValidationError:
        raise ValidationError(_("Enter a valid email address.")) from None
    return address


def phone(raw: str, options: Options) -> str:
    return normalize_phone(raw, region=options.get("phone_region") or None)


def country(raw: str, options: Options) -> str:
    return normalize_country(raw)


def domain(raw: str, options: Options) -> str:
    return normalize_domain(raw)


def url(raw: str, options: Options) -> str:
    return with_scheme(raw)


def date(raw: str, options: Options) -> datetime.date:
    formats = options.get("date_formats") or DEFAULT_DATE_FORMATS
    for pattern in formats:
        try:
            return datetime.datetime.strptime(raw, pattern).date()
        except ValueError:
            continue
    try:
        # A spreadsheet's own dates arrive as ISO text with a time.
        return datetime.datetime.fromisoformat(raw).date()
    except ValueError:
        raise ValidationError(
            _("Enter a date as %(formats)s.") % {"formats": _(" or ").join(formats)}
        ) from None


def moment(raw: str, options: Options) -> datetime.datetime:
    """A date with an optional time (``31/12/2026 14:30``), in the importing user's time
    zone unless the text names its offset."""
    formats = options.get("date_formats") or DEFAULT_DATE_FORMATS
    patterns = [f"{date} {time}" for date in formats for time in ("%H:%M", "%H:%M:%S")]
    for pattern in [*patterns, *formats]:
        try:
            parsed = datetime.datetime.strptime(raw, pattern)
            break
        except ValueError:
            continue
    else:
        try:
            parsed = datetime.datetime.fromisoformat(raw)
        except ValueError:
            raise ValidationError(
                _("Enter a date and time as %(formats)s HH:MM.")
                % {"formats": _(" or ").join(formats)}
            ) from None
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


def decimal_number(raw: str, options: Options) -> decimal.Decimal:
    """A number written with the run's decimal mark. The other mark is taken only as a
    thousands separator between groups of three digits: ``12,5`` with a decimal point
    is refused, not read as 125."""
    cleaned = raw.replace(" ", "").replace("\u00a0", "")
    comma = bool(options.get("decimal_comma"))
    separator = "." if comma else ","
    if separator in cleaned:
        if not THOUSANDS[comma].fullmatch(cleaned):
            raise ValidationError(_other_notation(comma))
        cleaned = cleaned.replace(separator, "")
    if comma:
        cleaned = cleaned.replace(",", ".")
    try:
        number = decimal.Decimal(cleaned)
    except decimal.InvalidOperation:
        raise ValidationError(_("Enter a number.")) from None
    if not number.is_finite():
        raise ValidationError(_("Enter a number."))
    return number


def _other_notation(comma: bool) -> str:
    if comma:
        return _("Enter a number with a decimal comma such as 1.234,56.")
    return _(
        "Enter a number with a decimal point such as 1,234.56; "
        "for a decimal comma, say so in the options."
    )


def integer(raw: str, options: Options) -> int:
    number = decimal_number(raw, options)
    if number != number.to_integral_value():
        raise ValidationError(_("Enter a whole number."))
    return int(number)


def boolean(raw: str, options: Options) -> bool:
    folded = raw.lower()
    if folded in TRUE:
        return True
    if folded in FALSE:
        return False
    raise ValidationError(_("Enter yes or no."))


def word_list(raw: str, options: Options) -> list[str]:
    """``"red; green, blue"`` → ``["red", "green", "blue"]``."""
    return list(dict.fromkeys(item.strip() for item in LIST_SEPARATORS.split(raw) if item.strip()))


def choice_reader(choices: Mapping[str, str]) -> Callable[[str, Options], str]:
    """A reader taking a choice's value or its label, in any case."""
    by_text = {str(value).lower(): value for value in choices}
    by_text |= {str(label).lower(): value for value, label in choices.items()}

    def read(raw: str, options: Options) -> str:
        try:
            return by_text[raw.lower()]
        except KeyError:
            raise ValidationError(
                _("Choose one of: %(choices)s.")
                % {"choices": ", ".join(str(label) for label in choices.values())}
            ) from None

    return read
