"""The rows that hang off a company or a contact: emails, phones, addresses, social profiles.

The services receive them as lists of plain dicts (from a form, the API or an
import), and a given list replaces the record's rows. Here they are cleaned
into unsaved model rows, errors keyed by their place in the list
(``phones.1.number``), compared with what is stored (so an unchanged list
writes nothing), and written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pycountry
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import validate_email
from django.db import models
from django.utils.translation import gettext as _

from rapport.contacts.models import (
    Address,
    ContactEmail,
    Phone,
    SocialNetwork,
    SocialProfile,
)
from rapport.contacts.phones import normalize_phone

DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
# Names people use that ISO 3166 does not.
COUNTRY_ALIASES = {"uk": "GB", "england": "GB", "scotland": "GB", "wales": "GB"}
NETWORK_HOSTS = {
    "linkedin.com": SocialNetwork.LINKEDIN,
    "x.com": SocialNetwork.X,
    "twitter.com": SocialNetwork.X,
    "facebook.com": SocialNetwork.FACEBOOK,
    "instagram.com": SocialNetwork.INSTAGRAM,
    "github.com": SocialNetwork.GITHUB,
}


def prefixed(error: ValidationError, prefix: str) -> dict[str, list[str]]:
    """``error``'s messages keyed under ``prefix`` (``emails.0`` + ``email``)."""
    if not hasattr(error, "error_dict"):
        return {prefix: error.messages}
    return {
        prefix if name == NON_FIELD_ERRORS else f"{prefix}.{name}": messages
        for name, messages in error.message_dict.items()
    }


def single_spaced(text: Any) -> str:
    """A name as stored: trimmed, one space between words (``"  Anna   Maria"``)."""
    return " ".join(str(text or "").split())


def with_scheme(url: str) -> str:
    """``url`` stripped, with ``https://`` in front when it names no scheme."""
    text = (url or "").strip()
    if text and "://" not in text:
        return f"https://{text}"
    return text


def normalize_domain(raw: str) -> str:
    """A company's domain as stored and compared: ``https://www.Acme.com/about`` → ``acme.com``.

    Raises ``ValidationError`` when what is left is not a host name."""
    text = (raw or "").strip().lower()
    if not text:
        return ""
    host = urlsplit(text if "://" in text else f"//{text}").hostname or ""
    host = host.removeprefix("www.").rstrip(".")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        host = ""
    labels = host.split(".")
    if len(host) > 253 or len(labels) < 2 or not all(DOMAIN_LABEL.match(lb) for lb in labels):
        raise ValidationError(_("Enter a domain such as example.com."))
    return host


def normalize_country(raw: str) -> str:
    """A country as its ISO 3166 two-letter code, from that code, the three-letter one or
    its English name in any case: ``"deu"``, ``"Germany"`` → ``"DE"``."""
    text = (raw or "").strip()
    if not text:
        return ""
    if text.lower() in COUNTRY_ALIASES:
        return COUNTRY_ALIASES[text.lower()]
    try:
        return pycountry.countries.lookup(text).alpha_2
    except LookupError:
        raise ValidationError(
            _("Enter a country as a two-letter ISO 3166 code (DE) or its English name.")
        ) from None


def clean_currency(raw: str) -> str:
    code = (raw or "").strip().upper()
    if code and not CURRENCY.match(code):
        raise ValidationError(_("Enter a three-letter ISO 4217 currency code such as EUR."))
    return code


def _clean_email(item: dict[str, Any]) -> dict[str, Any]:
    address = str(item.get("email") or "").strip().lower()
    try:
        validate_email(address)
    except ValidationError:
        raise ValidationError({"email": [_("Enter a valid email address.")]}) from None
    return item | {"email": address}


def _clean_phone(item: dict[str, Any]) -> dict[str, Any]:
    try:
        number = normalize_phone(str(item.get("number") or ""))
    except ValidationError as error:
        raise ValidationError({"number": error.messages}) from None
    return item | {"number": number}


def _clean_address(item: dict[str, Any]) -> dict[str, Any]:
    cleaned = {name: str(value or "").strip() for name, value in item.items() if name != "kind"}
    try:
        country = normalize_country(cleaned.get("country", ""))
    except ValidationError as error:
        raise ValidationError({"country": error.messages}) from None
    if not any(cleaned.get(name) for name in ("street", "city", "postal_code", "country")):
        raise ValidationError(_("Enter at least a street, a city, a postal code or a country."))
    return item | cleaned | {"country": country}


def network_of(url: str) -> str:
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    return NETWORK_HOSTS.get(host, SocialNetwork.OTHER)


def _clean_social(item: dict[str, Any]) -> dict[str, Any]:
    url = with_scheme(str(item.get("url") or ""))
    return item | {"url": url, "network": item.get("network") or network_of(url)}


@dataclass(frozen=True)
class ChildKind:
    """One kind of child row: how to clean it and what makes two rows the same."""

    name: str
    model: type[models.Model]
    fields: tuple[str, ...]
    clean: Callable[[dict[str, Any]], dict[str, Any]]
    identity: Callable[[models.Model], Any]
    identity_field: str
    has_primary: bool = False

    def describe(self, row: models.Model) -> dict[str, Any]:
        """The row's values as they appear in audit entries."""
        return {name: getattr(row, name) for name in self.fields}


EMAILS = ChildKind(
    "emails",
    ContactEmail,
    ("email", "kind", "is_primary"),
    _clean_email,
    identity=lambda row: row.email,
    identity_field="email",
    has_primary=True,
)
PHONES = ChildKind(
    "phones",
    Phone,
    ("number", "kind", "is_primary"),
    _clean_phone,
    identity=lambda row: row.number,
    identity_field="number",
    has_primary=True,
)
ADDRESSES = ChildKind(
    "addresses",
    Address,
    ("kind", "street", "city", "region", "postal_code", "country"),
    _clean_address,
    identity=lambda row: tuple(
        getattr(row, name) for name in ("kind", "street", "city", "postal_code", "country")
    ),
    identity_field="street",
)
SOCIAL_PROFILES = ChildKind(
    "social_profiles",
    SocialProfile,
    ("network", "url"),
    _clean_social,
    identity=lambda row: row.url,
    identity_field="url",
)


def _clean_row(kind: ChildKind, item: Mapping[str, Any]) -> models.Model:
    if not isinstance(item, Mapping):
        raise ValidationError(_("Give an object with the fields %(f)s.") % {"f": kind.fields})
    given = {name: item[name] for name in kind.fields if item.get(name) is not None}
    row = kind.model(**kind.clean(given))
    row.full_clean(
        exclude=["contact", "company"], validate_unique=False, validate_constraints=False
    )
    return row


def _mark_one_primary(kind: ChildKind, rows: list[models.Model]) -> None:
    """Exactly one primary row when there are rows: the one marked, else the first."""
    marked = [row for row in rows if row.is_primary]
    if len(marked) > 1:
        raise ValidationError({kind.name: [_("Mark only one as primary.")]})
    primary = marked[0] if marked else rows[0]
    for row in rows:
        row.is_primary = row is primary


def clean_children(kind: ChildKind, items: Sequence[Mapping[str, Any]]) -> list[models.Model]:
    """Unsaved rows for ``items``, or one ``ValidationError`` naming every bad entry."""
    errors: dict[str, list[str]] = {}
    rows: list[models.Model] = []
    seen: set[Any] = set()
    for index, item in enumerate(items):
        try:
            row = _clean_row(kind, item)
        except ValidationError as error:
            errors.update(prefixed(error, f"{kind.name}.{index}"))
            continue
        identity = kind.identity(row)
        if identity in seen:
            errors[f"{kind.name}.{index}.{kind.identity_field}"] = [_("This is listed twice.")]
        seen.add(identity)
        rows.append(row)
    if not errors and rows and kind.has_primary:
        try:
            _mark_one_primary(kind, rows)
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    return rows


def primary_value(kind: ChildKind, rows: Sequence[models.Model]) -> str:
    """The identity of the primary row (its address or number), or ``""``."""
    return next((kind.identity(row) for row in rows if row.is_primary), "")


def stored(parent: models.Model, kind: ChildKind) -> list[models.Model]:
    return list(getattr(parent, kind.name).all())


def descriptions(kind: ChildKind, rows: Sequence[models.Model]) -> list[dict[str, Any]]:
    return [kind.describe(row) for row in rows]


def same_rows(kind: ChildKind, old: Sequence[models.Model], new: Sequence[models.Model]) -> bool:
    def fingerprint(rows: Sequence[models.Model]) -> list[str]:
        return sorted(json.dumps(kind.describe(row), sort_keys=True) for row in rows)

    return fingerprint(old) == fingerprint(new)


def replace_children(parent: models.Model, kind: ChildKind, rows: Sequence[models.Model]) -> None:
    """Make ``rows`` the parent's rows of ``kind``, dropping the ones it had."""
    getattr(parent, kind.name).all().delete()
    for row in rows:
        setattr(row, parent._meta.model_name, parent)
    kind.model.objects.bulk_create(rows)
