"""Phone numbers in one form, E.164 (``+4930123456``), whatever way they were typed.

Numbers typed without a country code are read as numbers of
``settings.PHONE_REGION`` (``RAPPORT_PHONE_REGION``) unless the caller names
another region.
"""

from __future__ import annotations

import functools

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# phonenumbers refuses longer input itself; checking first keeps 10 KB of text cheap.
MAX_INPUT_LENGTH = 100


def normalize_phone(raw: str, *, region: str | None = None) -> str:
    """``raw`` in E.164, or ``ValidationError`` if it is not a valid phone number."""
    text = (raw or "").strip()
    if not text:
        raise ValidationError(_("Enter a phone number."))
    if len(text) > MAX_INPUT_LENGTH:
        raise ValidationError(_("Enter a valid phone number."))
    formatted = _e164(text, (region or settings.PHONE_REGION).upper())
    if formatted is None:
        raise ValidationError(_("Enter a valid phone number."))
    if not formatted:
        raise ValidationError(
            _("Enter a valid phone number, with the country code (+44…) if it is not local.")
        )
    return formatted


@functools.lru_cache(maxsize=4096)
def _e164(text: str, region: str) -> str | None:
    """E.164 of ``text``; ``None`` if it cannot be read, ``""`` if it is no valid number.
    Kept for recent numbers: one write reads the same number several times (the form's
    field, the primary phone, the phone rows), and parsing is the slow part."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
