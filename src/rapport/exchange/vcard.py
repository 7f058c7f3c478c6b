"""Contacts as vCards (RFC 6350), through ``vobject``: export as vCard 4.0, import of
vCard 3.0 and 4.0 files (and the 2.1 files old phones write, as far as vobject reads
them).

Out: each contact becomes one card with its names, emails and phones (E.164, as
``tel:`` URIs) with their kind and which is preferred, addresses, company, job
title, birthday, profile links, language and time zone. Its UID is a name-based
UUID of the contact's address on this site, so the same contact always has the
same UID and a program that imported it once can recognise it.

In: every card becomes a contact through ``contacts.services``, which validates
and normalises it as any other door does. A card whose email address belongs to
a contact the importer may see updates that contact instead — values the card
has replace the contact's, and emails, phones, addresses and links it lacks are
added — so importing a file twice creates nothing new. Each card gets a result:
created, updated, unchanged or failed with the reason; a value that cannot be
kept (a phone number that is not one, an unknown country) is left out and
named in the card's notes rather than failing the whole card.
"""

from __future__ import annotations

import datetime
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pycountry
import vobject
from charset_normalizer import from_bytes
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import models, transaction
from django.http import Http404
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.accounts.models import Scope
from rapport.accounts.services import TIMEZONES
from rapport.calendar.queries import contacts_by_email
from rapport.contacts import services as contacts
from rapport.contacts.children import (
    ADDRESSES,
    EMAILS,
    PHONES,
    SOCIAL_PROFILES,
    ChildKind,
    clean_children,
    descriptions,
    stored,
    with_scheme,
)
from rapport.contacts.models import (
    AddressKind,
    Company,
    Contact,
    ContactSource,
    EmailKind,
    PhoneKind,
)
from rapport.core.actors import Actor
from rapport.core.permissions import can_create, get_visible_or_404, require, scope, scope_of

if TYPE_CHECKING:
    from rapport.accounts.models import User

CONTENT_TYPE = "text/vcard; charset=utf-8"
MAX_BYTES = 2 * 1024 * 1024
# Each card costs a contact write (20 to 30 ms) within the request: 500 stay well under a
# proxy's usual 30-second limit.
MAX_CARDS = 500
CARD = re.compile(r"^BEGIN:VCARD[ \t]*\r?\n.*?^END:VCARD[ \t]*\r?$", re.IGNORECASE | re.M | re.S)
BIRTHDAY = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})")

EMAIL_TYPES = {EmailKind.WORK: "work", EmailKind.PERSONAL: "home"}
PHONE_TYPES = {
    PhoneKind.WORK: "work,voice",
    PhoneKind.MOBILE: "cell",
    PhoneKind.HOME: "home,voice",
    PhoneKind.FAX: "fax",
}
ADDRESS_TYPES = {AddressKind.OFFICE: "work", AddressKind.HOME: "home"}


# Out


def vcard_queryset(contacts: models.QuerySet[Contact]) -> models.QuerySet[Contact]:
    """``contacts`` with what their cards show read in a fixed number of queries."""
    return contacts.select_related("company").prefetch_related(
        "emails", "phones", "addresses", "social_profiles"
    )


def contact_uid(contact: Contact) -> str:
    site_address = f"{settings.SITE_URL}{contact.get_absolute_url()}"
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, site_address)}"


def _add(card: vobject.base.Component, name: str, value: Any, /, **params: str) -> None:
    line = card.add(name)
    line.value = value
    for param, param_value in params.items():
        line.params[param.upper()] = [param_value]


def _country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code) if code else None
    return country.name if country else code


def _add_channels(card: vobject.base.Component, contact: Contact) -> None:
    for email in contact.emails.all():
        params = {"pref": "1"} if email.is_primary else {}
        if email.kind in EMAIL_TYPES:
            params["type"] = EMAIL_TYPES[email.kind]
        _add(card, "email", email.email, **params)
    for phone in contact.phones.all():
        params = {"value": "uri", **({"pref": "1"} if phone.is_primary else {})}
        if phone.kind in PHONE_TYPES:
            params["type"] = PHONE_TYPES[phone.kind]
        _add(card, "tel", f"tel:{phone.number}", **params)
    for address in contact.addresses.all():
        value = vobject.vcard.Address(
            street=address.street,
            city=address.city,
            region=address.region,
            code=address.postal_code,
            country=_country_name(address.country),
        )
        params = {"type": ADDRESS_TYPES[address.kind]} if address.kind in ADDRESS_TYPES else {}
        _add(card, "adr", value, **params)
    for profile in contact.social_profiles.all():
        _add(card, "url", profile.url)


def contact_to_vcard(contact: Contact) -> vobject.base.Component:
    card = vobject.vCard()
    _add(card, "version", "4.0")
    _add(card, "uid", contact_uid(contact))
    _add(card, "fn", contact.full_name or contact.email or contact.phone or str(contact))
    name = vobject.vcard.Name(
        family=contact.last_name,
        given=contact.first_name,
        additional=contact.middle_name,
        prefix=contact.prefix,
        suffix=contact.suffix,
    )
    _add(card, "n", name)
    _add_channels(card, contact)
    if contact.company:
        _add(card, "org", [contact.company.name])
    if contact.job_title:
        _add(card, "title", contact.job_title)
    if contact.birthday:
        _add(card, "bday", contact.birthday.strftime("%Y%m%d"))
    if contact.language:
        _add(card, "lang", contact.language)
    if contact.timezone:
        _add(card, "tz", contact.timezone)
    _add(card, "rev", contact.updated_at.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ"))
    return card


def contacts_to_vcards(contacts: Iterable[Contact]) -> str:
    """One vCard 4.0 per contact, in order, with CRLF line ends as RFC 6350 asks. Read
    the contacts through ``vcard_queryset`` so their rows come in a few queries."""
    return "".join(contact_to_vcard(contact).serialize() for contact in contacts)


def vcard_filename(contact: Contact) -> str:
    return f"{slugify(contact.full_name) or f'contact-{contact.pk}'}.vcf"


def exportable_contact(user: User | None, contact_id: int) -> Contact:
    """The contact, read for its card: ``Http404`` when ``user`` may not see it,
    ``PermissionDenied`` when they may see but not export it."""
    contact = get_visible_or_404(vcard_queryset(Contact.objects.all()), user, pk=contact_id)
    require(user, "export", contact)
    return contact


# In


class Outcome(models.TextChoices):
    CREATED = "created", gettext_lazy("Created")
    UPDATED = "updated", gettext_lazy("Updated")
    UNCHANGED = "unchanged", gettext_lazy("Unchanged")
    FAILED = "failed", gettext_lazy("Failed")


@dataclass(frozen=True)
class CardResult:
    position: int
    name: str
    outcome: Outcome
    reason: str = ""
    contact_id: int | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportReport:
    cards: list[CardResult]

    def count(self, outcome: Outcome) -> int:
        return sum(1 for card in self.cards if card.outcome == outcome)

    @property
    def created(self) -> int:
        return self.count(Outcome.CREATED)

    @property
    def updated(self) -> int:
        return self.count(Outcome.UPDATED)

    @property
    def unchanged(self) -> int:
        return self.count(Outcome.UNCHANGED)

    @property
    def failed(self) -> int:
        return self.count(Outcome.FAILED)


class CardError(Exception):
    """A card that cannot become a contact; the message says why."""


@dataclass
class CardData:
    """What one card says about a contact, in the services' terms."""

    name: str
    values: dict[str, Any] = field(default_factory=dict)
    children: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    company: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def emails(self) -> list[str]:
        return [item["email"] for item in self.children.get(EMAILS.name, [])]


def vcard_text(data: bytes) -> str:
    """The text of an uploaded file: UTF-8, or the encoding it looks written in."""
    if len(data) > MAX_BYTES:
        raise ValidationError(
            _("The file is too large (%(size)s); the limit is %(limit)s.")
            % {"size": filesizeformat(len(data)), "limit": filesizeformat(MAX_BYTES)},
            code="too_large",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        guess = from_bytes(data).best()
        if guess is None:
            raise ValidationError(_("The file is not text, so not a vCard file.")) from None
        return str(guess)


def split_cards(text: str) -> list[str]:
    """The ``BEGIN:VCARD`` … ``END:VCARD`` blocks of ``text``: a broken card fails alone."""
    cards = CARD.findall(text)
    if not cards:
        raise ValidationError(
            _("The file holds no vCard (a BEGIN:VCARD … END:VCARD block): is it a .vcf file?")
        )
    if len(cards) > MAX_CARDS:
        raise ValidationError(
            _("The file holds %(count)d cards; import at most %(max)d at a time.")
            % {"count": len(cards), "max": MAX_CARDS}
        )
    return cards


def _lines(card: vobject.base.Component, name: str) -> list[vobject.base.ContentLine]:
    return card.contents.get(name, [])


def _first(card: vobject.base.Component, name: str) -> str:
    lines = _lines(card, name)
    value = lines[0].value if lines else ""
    return _text(value)


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return " ".join(_text(part) for part in value if part).strip()
    return str(value or "").strip()


def _types(line: vobject.base.ContentLine) -> set[str]:
    """The line's types, lower-cased: ``TYPE=work,voice``, ``TYPE="work,voice"``, and the
    bare parameters of vCard 2.1 (``TEL;CELL:…``)."""
    found = {
        part.strip().lower()
        for value in line.params.get("TYPE", [])
        for part in str(value).split(",")
        if part.strip()
    }
    bare = {name.lower() for name, values in line.params.items() if not values}
    return found | bare


def _preference(line: vobject.base.ContentLine) -> int:
    """Lower is preferred: vCard 4.0's ``PREF=1`` (1 to 100), 3.0's ``TYPE=pref`` as 1."""
    if "pref" in _types(line):
        return 1
    try:
        return int(line.params.get("PREF", ["100"])[0])
    except ValueError:
        return 100


def _ranked(lines: list[vobject.base.ContentLine]) -> list[vobject.base.ContentLine]:
    """``lines``, the preferred first (a stable sort: the file's order otherwise)."""
    return sorted(lines, key=_preference)


def _kind(types: set[str], mapping: dict[str, str], default: str) -> str:
    return next((kind for vcard_type, kind in mapping.items() if vcard_type in types), default)


def _one_child(kind: ChildKind, item: dict[str, Any], shown: str, data: CardData) -> None:
    """Add ``item``, as the services clean it (an E.164 number, a lower-case address), to
    the card's rows of ``kind``; name it in the notes if they would refuse it."""
    try:
        [row] = clean_children(kind, [item])
    except ValidationError as error:
        data.notes.append(
            _("Left out %(value)s: %(reason)s")
            % {"value": shown, "reason": " ".join(error.messages)}
        )
        return
    cleaned = {name: value for name, value in kind.describe(row).items() if name != "is_primary"}
    rows = data.children.setdefault(kind.name, [])
    if kind.identity(row) not in {kind.identity(kind.model(**other)) for other in rows}:
        rows.append(cleaned)


def _read_emails(card: vobject.base.Component, data: CardData) -> None:
    kinds = {"work": EmailKind.WORK, "home": EmailKind.PERSONAL, "other": EmailKind.OTHER}
    for line in _ranked(_lines(card, "email")):
        address = _text(line.value).removeprefix("mailto:").lower()
        kind = _kind(_types(line), kinds, EmailKind.WORK)
        _one_child(EMAILS, {"email": address, "kind": kind}, address, data)


def _read_phones(card: vobject.base.Component, data: CardData) -> None:
    kinds = {
        "cell": PhoneKind.MOBILE,
        "fax": PhoneKind.FAX,
        "home": PhoneKind.HOME,
        "work": PhoneKind.WORK,
    }
    for line in _ranked(_lines(card, "tel")):
        number = _text(line.value).removeprefix("tel:").split(";")[0]
        kind = _kind(_types(line), kinds, PhoneKind.OTHER)
        _one_child(PHONES, {"number": number, "kind": kind}, number, data)


def _country_code(name: str, data: CardData) -> str:
    if not name:
        return ""
    try:
        return pycountry.countries.lookup(name).alpha_2
    except LookupError:
        data.notes.append(_("Left out the country %(name)s: not one known.") % {"name": name})
        return ""


def _read_addresses(card: vobject.base.Component, data: CardData) -> None:
    kinds = {"work": AddressKind.OFFICE, "home": AddressKind.HOME}
    for line in _lines(card, "adr"):
        value = line.value
        if not isinstance(value, vobject.vcard.Address):
            continue
        item = {
            "kind": _kind(_types(line), kinds, AddressKind.OTHER),
            "street": ", ".join(part for part in _text(value.street).splitlines() if part.strip()),
            "city": _text(value.city),
            "region": _text(value.region),
            "postal_code": _text(value.code),
            "country": _country_code(_text(value.country), data),
        }
        shown = ", ".join(part for part in item.values() if part and part != item["kind"])
        _one_child(ADDRESSES, item, shown, data)


def _read_links(card: vobject.base.Component, data: CardData) -> None:
    valid = URLValidator(schemes=["http", "https"])
    for line in [*_lines(card, "url"), *_lines(card, "x-socialprofile")]:
        url = with_scheme(_text(line.value))
        try:
            valid(url)
        except ValidationError:
            data.notes.append(_("Left out %(value)s: not a web address.") % {"value": url})
            continue
        _one_child(SOCIAL_PROFILES, {"url": url}, url, data)


def _read_names(card: vobject.base.Component, data: CardData) -> None:
    lines = _lines(card, "n")
    name = lines[0].value if lines else None
    if isinstance(name, vobject.vcard.Name):
        data.values |= {
            "last_name": _text(name.family),
            "first_name": _text(name.given),
            "middle_name": _text(name.additional),
            "prefix": _text(name.prefix),
            "suffix": _text(name.suffix),
        }
    if not any(data.values.get(part) for part in ("first_name", "last_name")) and data.name:
        given, _space, family = data.name.rpartition(" ")
        data.values |= {"first_name": given or family, "last_name": family if given else ""}


def _read_birthday(card: vobject.base.Component, data: CardData) -> None:
    raw = _first(card, "bday")
    found = BIRTHDAY.match(raw)
    try:
        birthday = datetime.date(*(int(part) for part in found.groups())) if found else None
    except ValueError:
        birthday = None
    if birthday:
        data.values["birthday"] = birthday
    elif raw:
        data.notes.append(_("Left out the birthday %(value)s: not a full date.") % {"value": raw})


def _read_language_and_zone(card: vobject.base.Component, data: CardData) -> None:
    language = _first(card, "lang")
    if language and contacts.LANGUAGE_TAG.match(language):
        data.values["language"] = language
    elif language:
        data.notes.append(_("Left out the language %(value)s.") % {"value": language})
    zone = _first(card, "tz").removeprefix("tz:")
    if zone in TIMEZONES:
        data.values["timezone"] = zone
    elif zone:
        data.notes.append(
            _("Left out the time zone %(value)s: give a name such as Europe/Berlin.")
            % {"value": zone}
        )


def read_card(text: str) -> CardData:
    """What one ``BEGIN:VCARD`` … ``END:VCARD`` block says, or ``CardError``."""
    try:
        card = vobject.readOne(text, validate=False)
    except Exception as error:  # vobject raises many kinds on malformed input
        raise CardError(_("The card cannot be read: %(error)s") % {"error": error}) from None
    data = CardData(name=_first(card, "fn"))
    _read_names(card, data)
    if not (data.name or any(data.values.values())):
        raise CardError(_("The card has no name (FN or N)."))
    data.name = data.name or " ".join(
        part for part in (data.values["first_name"], data.values["last_name"]) if part
    )
    _read_emails(card, data)
    _read_phones(card, data)
    _read_addresses(card, data)
    _read_links(card, data)
    org = _lines(card, "org")
    if org:
        value = org[0].value
        data.company = _text(value[0] if isinstance(value, list) and value else value)
    data.values["job_title"] = _first(card, "title")
    _read_birthday(card, data)
    _read_language_and_zone(card, data)
    data.values = {name: value for name, value in data.values.items() if value}
    return data


def _company(actor: Actor, name: str) -> Company | None:
    """The company named ``name`` the importer may see, made if there is none and they
    may create one; ``None`` when they may not."""
    if not name:
        return None
    found = scope(Company.objects.filter(name__iexact=name), actor.user).order_by("id").first()
    if found is None and can_create(actor.user, Company):
        found = contacts.company_create(actor=actor, values={"name": name})
    return found


def _merged(kind: ChildKind, contact: Contact, items: list[dict[str, Any]]) -> list[dict]:
    """The contact's rows of ``kind`` with the card's it lacks added after them."""
    rows = stored(contact, kind)
    known = {kind.identity(row) for row in rows}
    added = [item for item in items if kind.identity(kind.model(**item)) not in known]
    return descriptions(kind, rows) + added


def _update(contact: Contact, data: CardData, actor: Actor) -> Contact:
    children = {
        kind.name: _merged(kind, contact, data.children[kind.name])
        for kind in (EMAILS, PHONES, ADDRESSES, SOCIAL_PROFILES)
        if data.children.get(kind.name)
    }
    return contacts.contact_update(contact, actor=actor, values=data.values, **children)


def _import_card(position: int, data: CardData, actor: Actor) -> CardResult:
    existing = next(iter(contacts_by_email(actor.user, data.emails).values()), None)
    current = existing.company if existing is not None else None
    # A contact already at a company of that name stays there (names are not unique).
    if data.company and not (current and current.name.lower() == data.company.lower()):
        company = _company(actor, data.company)
        if company is not None:
            data.values["company"] = company
    if existing is None:
        contact = contacts.contact_create(
            actor=actor,
            values=data.values | {"source": ContactSource.IMPORT},
            **data.children,
        )
        outcome = Outcome.CREATED
    else:
        version = existing.version
        try:
            contact = _update(existing, data, actor)
        except PermissionDenied:
            raise CardError(
                _("%(contact)s has this email address, and you may not change them.")
                % {"contact": existing}
            ) from None
        outcome = Outcome.UPDATED if contact.version != version else Outcome.UNCHANGED
    return CardResult(position, data.name, outcome, contact_id=contact.pk, notes=tuple(data.notes))


def _failure(error: Exception) -> str:
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        return "; ".join(
            f"{field}: {' '.join(messages)}" if field != "__all__" else " ".join(messages)
            for field, messages in error.message_dict.items()
        )
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error) or _("You may not do this.")


def may_import(user: User | None) -> None:
    """``PermissionDenied`` unless ``user``'s role lets them import contacts."""
    if scope_of(user, Contact, "import") == Scope.NONE or not can_create(user, Contact):
        raise PermissionDenied(_("Your role does not let you import contacts."))


def vcards_import(text: str, *, actor: Actor) -> ImportReport:
    """Create or update a contact for each card of ``text`` (vCard 3.0 or 4.0), each
    card in its own transaction; a result per card, in order.

    Raises ``ValidationError`` for a text that holds no card or too many, and
    ``PermissionDenied`` for an actor who may not import contacts."""
    may_import(actor.user)
    results = []
    for position, card in enumerate(split_cards(text), start=1):
        try:
            data = read_card(card)
        except CardError as error:
            results.append(CardResult(position, "", Outcome.FAILED, reason=str(error)))
            continue
        try:
            # The company a card names is made only if its contact is.
            with transaction.atomic():
                results.append(_import_card(position, data, actor))
        except (CardError, ValidationError, PermissionDenied, Http404) as error:
            results.append(CardResult(position, data.name, Outcome.FAILED, reason=_failure(error)))
    return ImportReport(results)


def cards_of(rows: models.QuerySet[Contact], *, batch: int = 500) -> Iterator[tuple[int, str]]:
    """The cards of ``rows`` in id order, ``batch`` contacts at a time: how many, and their
    text (for exports too big to read at once)."""
    last = 0
    while chunk := list(vcard_queryset(rows.filter(pk__gt=last).order_by("pk"))[:batch]):
        yield len(chunk), contacts_to_vcards(chunk)
        last = chunk[-1].pk


def export_name() -> str:
    return f"contacts-{timezone.localdate():%Y-%m-%d}.vcf"
