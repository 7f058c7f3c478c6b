"""Companies, contacts, tags and static lists: the verbs every door (pages, API, import) calls.

Companies and contacts take the record write path of ``core.services`` —
permission checks, model and custom-field validation, version, audit entry,
event — extended with their child rows (emails, phones, addresses, social
profiles) and tags (``contacts.writes``), so one edit is one audit entry
naming every change. Every write also updates the search index
(``core.search``) in its transaction.

Bad input raises one ``ValidationError`` keyed by field (``phones.1.number``,
``custom.tier``) before anything is written; a refused actor gets
``PermissionDenied``, a record they cannot see ``Http404``, a stale
``expected_version`` ``VersionConflict``.
"""

from __future__ import annotations

import datetime
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.accounts.models import User
from rapport.accounts.services import TIMEZONES
from rapport.contacts.children import (
    ADDRESSES,
    EMAILS,
    PHONES,
    SOCIAL_PROFILES,
    clean_currency,
    normalize_domain,
    single_spaced,
    with_scheme,
)
from rapport.contacts.models import (
    Company,
    Contact,
    ContactEmail,
    Employment,
    ListMembership,
    Phone,
    StaticList,
    Tag,
)
from rapport.contacts.phones import normalize_phone
from rapport.contacts.writes import (
    Errors,
    all_messages,
    create_record,
    merge_records,
    plan_children,
    require_live,
    resolve,
    resolve_owner_and_team,
    update_record,
)
from rapport.core import search
from rapport.core.actors import Actor
from rapport.core.audit import audit_log, diff, snapshot
from rapport.core.events import emit
from rapport.core.exceptions import VersionConflict
from rapport.core.models import AuditAction, Record
from rapport.core.permissions import can_create, require, require_admin, scope
from rapport.core.services import record_delete, record_update

CONTACT_KINDS = (EMAILS, PHONES, ADDRESSES, SOCIAL_PROFILES)
COMPANY_KINDS = (PHONES, ADDRESSES, SOCIAL_PROFILES)
NAME_FIELDS = ("first_name", "middle_name", "last_name")
TEXT_LIST_FIELDS = ("product_interests", "brand_interests")
DUPLICATES_PER_TYPE = 10
IN_BATCH = 500
MAX_ANCESTORS = 50
TAG_FIELDS = ("name", "color", "description")
LIST_FIELDS = ("name", "description", "owner", "team")
COLOR = re.compile(r"^#[0-9a-f]{6}$")
LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


def _clean_text_lists(values: dict[str, Any], errors: Errors) -> None:
    for name in TEXT_LIST_FIELDS:
        if name not in values:
            continue
        items = values[name] or []
        if isinstance(items, str) or not all(isinstance(item, str) for item in items):
            errors[name] = [_("Give a list of words or phrases.")]
            continue
        values[name] = list(dict.fromkeys(item.strip() for item in items if item.strip()))


def _normalize(
    values: dict[str, Any], name: str, clean: Callable[[str], str], errors: Errors
) -> None:
    if name not in values:
        return
    try:
        values[name] = clean(values[name] or "")
    except ValidationError as error:
        errors[name] = error.messages


# Companies


def _company_values(
    values: Mapping[str, Any] | None, company: Company, actor: Actor, errors: Errors
) -> dict[str, Any]:
    values = dict(values or {})
    resolve_owner_and_team(values, company, errors)
    resolve(
        values,
        "parent",
        scope(Company.objects.all(), actor.user),
        current_id=company.parent_id,
        errors=errors,
        message=_("Choose a company you can see."),
    )
    parent = values.get("parent")
    if parent is not None and company.pk is not None and _is_within(company, parent):
        errors["parent"] = [_("A company cannot be its own parent or a subsidiary's subsidiary.")]
    _normalize(values, "domain", normalize_domain, errors)
    _normalize(values, "currency", clean_currency, errors)
    _normalize(values, "website", with_scheme, errors)
    if "name" in values:
        values["name"] = single_spaced(values["name"])
    return values


def _is_within(company: Company, parent: Company) -> bool:
    """Whether ``parent`` is ``company`` or one of its subsidiaries, at any depth."""
    ancestor_id, seen = parent.pk, set()
    while ancestor_id is not None and ancestor_id not in seen and len(seen) < MAX_ANCESTORS:
        if ancestor_id == company.pk:
            return True
        seen.add(ancestor_id)
        ancestor_id = (
            Company.all_objects.filter(pk=ancestor_id).values_list("parent_id", flat=True).first()
        )
    return False


def _no_check(obj: Record) -> Errors:
    return {}


def _nothing_after(obj: Record, before: dict[str, Any] | None) -> None:
    return None


def company_create(
    *,
    actor: Actor,
    values: dict[str, Any],
    custom: dict[str, Any] | None = None,
    tags: list[Tag] | None = None,
    phones: list[dict[str, Any]] | None = None,
    addresses: list[dict[str, Any]] | None = None,
    social_profiles: list[dict[str, Any]] | None = None,
) -> Company:
    """Add a company owned by the actor unless ``values`` names another owner."""
    if not can_create(actor.user, Company):
        raise PermissionDenied
    errors: Errors = {}
    blank = Company()
    values = _company_values(values, blank, actor, errors)
    given = {"phones": phones, "addresses": addresses, "social_profiles": social_profiles}
    plan = plan_children(blank, COMPANY_KINDS, given, values, tags, errors)
    return create_record(
        Company,
        actor=actor,
        values=values,
        custom=custom,
        plan=plan,
        errors=errors,
        check=_no_check,
        after_save=_nothing_after,
    )


def company_update(
    company: Company,
    *,
    actor: Actor,
    values: dict[str, Any] | None = None,
    custom: dict[str, Any] | None = None,
    tags: list[Tag] | None = None,
    phones: list[dict[str, Any]] | None = None,
    addresses: list[dict[str, Any]] | None = None,
    social_profiles: list[dict[str, Any]] | None = None,
    expected_version: int | None = None,
) -> Company:
    """Change a company. A list given replaces the company's rows of that kind; ``None``
    leaves them. Nothing is written, and the version stays, when nothing changed."""
    require_live(company, actor, "edit")
    errors: Errors = {}
    values = _company_values(values, company, actor, errors)
    return update_record(
        company,
        actor=actor,
        values=values,
        custom=custom,
        given={"phones": phones, "addresses": addresses, "social_profiles": social_profiles},
        kinds=COMPANY_KINDS,
        tags=tags,
        errors=errors,
        expected_version=expected_version,
        check=_no_check,
        after_save=_nothing_after,
    )


def company_delete(
    company: Company, *, actor: Actor, expected_version: int | None = None
) -> Company:
    """Move a company to the trash; its contacts keep pointing at it until it is purged."""
    return record_delete(company, actor=actor, expected_version=expected_version)


# Contacts


def _contact_values(
    values: Mapping[str, Any] | None, contact: Contact, actor: Actor, errors: Errors
) -> dict[str, Any]:
    values = dict(values or {})
    resolve_owner_and_team(values, contact, errors)
    if "company" in values:
        resolve(
            values,
            "company",
            scope(Company.objects.all(), actor.user),
            current_id=contact.company_id,
            errors=errors,
            message=_("Choose a company you can see."),
        )
    _clean_text_lists(values, errors)
    for name in (*NAME_FIELDS, "prefix", "suffix", "job_title"):
        if name in values:
            values[name] = single_spaced(values[name])
    for name in ("language", "timezone"):
        if name in values:
            values[name] = str(values[name] or "").strip()
    if values.get("timezone") and values["timezone"] not in TIMEZONES:
        errors["timezone"] = [_("Choose a time zone such as Europe/Berlin.")]
    if values.get("language") and not LANGUAGE_TAG.match(values["language"]):
        errors["language"] = [_("Enter a language code such as en or pt-BR.")]
    return values


def _contact_check(contact: Contact) -> Errors:
    if any(getattr(contact, name) for name in NAME_FIELDS) or contact.email or contact.phone:
        return {}
    return {NON_FIELD_ERRORS: [_("Give the contact a name, an email address or a phone number.")]}


def _sync_employment(contact: Contact, before: dict[str, Any] | None) -> None:
    """Keep the work history in step with the contact's company and job title: one
    current position, at the current company; a change of company closes the old one."""
    if before is not None and (before["company"], before["job_title"]) == (
        contact.company_id,
        contact.job_title,
    ):
        return
    _settle_employment(contact, started_on=None if before is None else timezone.localdate())


def _settle_employment(contact: Contact, *, started_on: datetime.date | None) -> None:
    today = timezone.localdate()
    current_at: Employment | None = None
    for job in contact.employments.filter(is_current=True).order_by("id"):
        if job.company_id == contact.company_id and current_at is None:
            current_at = job
            continue
        job.is_current = False
        job.ended_on = job.ended_on or today
        job.save(update_fields=["is_current", "ended_on"])
    if contact.company_id is None:
        return
    if current_at is None:
        Employment.objects.create(
            contact=contact,
            company_id=contact.company_id,
            job_title=contact.job_title,
            started_on=started_on,
        )
    elif current_at.job_title != contact.job_title:
        current_at.job_title = contact.job_title
        current_at.save(update_fields=["job_title"])


def contact_create(
    *,
    actor: Actor,
    values: dict[str, Any],
    custom: dict[str, Any] | None = None,
    emails: list[dict[str, Any]] | None = None,
    phones: list[dict[str, Any]] | None = None,
    addresses: list[dict[str, Any]] | None = None,
    social_profiles: list[dict[str, Any]] | None = None,
    tags: list[Tag] | None = None,
) -> Contact:
    """Add a contact owned by the actor unless ``values`` names another owner.

    ``values["email"]`` / ``values["phone"]`` may stand for a one-item ``emails`` /
    ``phones``. The first email and phone are primary unless another is marked."""
    if not can_create(actor.user, Contact):
        raise PermissionDenied
    errors: Errors = {}
    blank = Contact()
    values = _contact_values(values, blank, actor, errors)
    given = {
        "emails": emails,
        "phones": phones,
        "addresses": addresses,
        "social_profiles": social_profiles,
    }
    plan = plan_children(blank, CONTACT_KINDS, given, values, tags, errors)
    return create_record(
        Contact,
        actor=actor,
        values=values,
        custom=custom,
        plan=plan,
        errors=errors,
        check=_contact_check,
        after_save=_sync_employment,
    )


def contact_update(
    contact: Contact,
    *,
    actor: Actor,
    values: dict[str, Any] | None = None,
    custom: dict[str, Any] | None = None,
    emails: list[dict[str, Any]] | None = None,
    phones: list[dict[str, Any]] | None = None,
    addresses: list[dict[str, Any]] | None = None,
    social_profiles: list[dict[str, Any]] | None = None,
    tags: list[Tag] | None = None,
    expected_version: int | None = None,
) -> Contact:
    """Change a contact. A list given replaces the contact's rows of that kind; ``None``
    leaves them. ``values["email"]`` replaces the primary email (blank removes it), and
    likewise ``phone``. A new company closes the current position in the work history
    and opens one at the new company."""
    require_live(contact, actor, "edit")
    errors: Errors = {}
    values = _contact_values(values, contact, actor, errors)
    return update_record(
        contact,
        actor=actor,
        values=values,
        custom=custom,
        given={
            "emails": emails,
            "phones": phones,
            "addresses": addresses,
            "social_profiles": social_profiles,
        },
        kinds=CONTACT_KINDS,
        tags=tags,
        errors=errors,
        expected_version=expected_version,
        check=_contact_check,
        after_save=_sync_employment,
    )


def contact_delete(
    contact: Contact, *, actor: Actor, expected_version: int | None = None
) -> Contact:
    """Move a contact to the trash, where it can be restored until purged."""
    return record_delete(contact, actor=actor, expected_version=expected_version)


# Duplicates


def _phone_or_blank(raw: str) -> str:
    try:
        return normalize_phone(raw) if (raw or "").strip() else ""
    except ValidationError:
        return ""


def _domain_or_blank(raw: str) -> str:
    try:
        return normalize_domain(raw)
    except ValidationError:
        return ""


def find_duplicates(
    *,
    user: User,
    email: str = "",
    phone: str = "",
    domain: str = "",
    exclude: Contact | Company | None = None,
) -> dict[str, list]:
    """Records ``user`` may see that share an email address, a phone number (in any
    format) or a domain with the values given: ``{"contacts": [...], "companies": [...]}``."""
    contact_match: list[Q] = []
    company_match: list[Q] = []
    address = (email or "").strip().lower()
    if address:
        contact_match.append(
            Q(pk__in=ContactEmail.objects.filter(email=address).values("contact_id"))
        )
    number = _phone_or_blank(phone)
    if number:
        numbers = Phone.objects.filter(number=number)
        contact_match.append(Q(pk__in=numbers.filter(contact__isnull=False).values("contact_id")))
        company_match.append(Q(pk__in=numbers.filter(company__isnull=False).values("company_id")))
    host = _domain_or_blank(domain)
    if host:
        company_match.append(Q(domain=host))
    found: dict[str, list] = {"contacts": [], "companies": []}
    for key, model, conditions in (
        ("contacts", Contact, contact_match),
        ("companies", Company, company_match),
    ):
        if not conditions:
            continue
        matches = scope(model.objects.filter(reduce(operator.or_, conditions)), user)
        if isinstance(exclude, model):
            matches = matches.exclude(pk=exclude.pk)
        found[key] = list(matches.order_by("id")[:DUPLICATES_PER_TYPE])
    return found


# Merging


def _merge_contact_more(winner: Contact, loser: Contact) -> None:
    winner_lists = ListMembership.objects.filter(contact=winner).values("static_list_id")
    ListMembership.objects.filter(contact=loser).exclude(static_list_id__in=winner_lists).update(
        contact=winner
    )
    Employment.objects.filter(contact=loser).update(contact=winner)
    _settle_employment(winner, started_on=None)


def contact_merge(
    winner: Contact, loser: Contact, *, actor: Actor, choices: dict[str, str]
) -> Contact:
    """Fold ``loser`` into ``winner`` and move the loser to the trash.

    ``choices`` names, per field (``job_title``, ``custom.tier``; ``email`` and
    ``phone`` pick the primary), whose value the winner keeps: ``"winner"`` or
    ``"loser"``; a field not named keeps the winner's value unless that is
    blank. Emails, phones, addresses, social profiles, tags, list memberships
    and work history are joined; anything else pointing at the loser is
    re-pointed. One audit entry (``merge``, on the winner) records it all."""
    return merge_records(
        winner,
        loser,
        actor=actor,
        choices=choices,
        kinds=CONTACT_KINDS,
        handled={"emails", "phones", "addresses", "social_profiles", "memberships", "employments"},
        merge_more=_merge_contact_more,
    )


def _merge_company_more(winner: Company, loser: Company) -> None:
    if winner.parent_id in (loser.pk, winner.pk):
        winner.parent_id = loser.parent_id if loser.parent_id != winner.pk else None
    moved = list(Contact.all_objects.filter(company=loser).values_list("pk", flat=True))
    Contact.all_objects.filter(pk__in=moved).update(company=winner)
    for contact in Contact.objects.filter(pk__in=moved):
        search.index(contact)


def company_merge(
    winner: Company, loser: Company, *, actor: Actor, choices: dict[str, str]
) -> Company:
    """Fold ``loser`` into ``winner`` as ``contact_merge`` does; the loser's contacts,
    subsidiaries and work history entries move to the winner."""
    return merge_records(
        winner,
        loser,
        actor=actor,
        choices=choices,
        kinds=COMPANY_KINDS,
        handled={"phones", "addresses", "social_profiles", "contacts"},
        merge_more=_merge_company_more,
    )


# Tags (admins)


def _clean_tag(values: dict[str, Any], *, instance: Tag | None) -> dict[str, Any]:
    unknown = set(values) - set(TAG_FIELDS)
    errors: Errors = {name: [_("This field cannot be set.")] for name in sorted(unknown)}
    if "name" in values:
        values["name"] = str(values["name"] or "").strip()
        taken = Tag.objects.filter(name__iexact=values["name"])
        if instance is not None:
            taken = taken.exclude(pk=instance.pk)
        if not values["name"]:
            errors["name"] = [_("Give the tag a name.")]
        elif taken.exists():
            errors["name"] = [_("A tag with this name already exists.")]
    if "color" in values:
        values["color"] = str(values["color"] or "").strip().lower()
        if not COLOR.match(values["color"]):
            errors["color"] = [_("Enter a colour as #rrggbb.")]
    if "description" in values:
        values["description"] = str(values["description"] or "").strip()
    if errors:
        raise ValidationError(errors)
    return values


def _full_clean(obj: models.Model) -> None:
    obj.full_clean(validate_unique=False, validate_constraints=False)


def tag_create(*, actor: Actor, name: str, color: str = "#64748b", description: str = "") -> Tag:
    require_admin(actor.user)
    values = _clean_tag({"name": name, "color": color, "description": description}, instance=None)
    tag = Tag(**values)
    _full_clean(tag)
    with transaction.atomic():
        tag.save()
        audit_log(actor=actor, action=AuditAction.CREATE, obj=tag, changes=diff({}, snapshot(tag)))
        emit("tag.created", obj=tag, actor=actor)
    return tag


def tag_update(tag: Tag, *, actor: Actor, **changes: Any) -> Tag:
    require_admin(actor.user)
    changes = _clean_tag(changes, instance=tag)
    with transaction.atomic():
        before = snapshot(tag)
        for name, value in changes.items():
            setattr(tag, name, value)
        _full_clean(tag)
        changed = diff(before, snapshot(tag))
        if changed:
            tag.save()
            audit_log(actor=actor, action=AuditAction.UPDATE, obj=tag, changes=changed)
            emit("tag.updated", obj=tag, actor=actor, payload={"changes": changed})
    return tag


def tag_delete(tag: Tag, *, actor: Actor) -> None:
    """Delete a tag; records that carried it simply lose it."""
    require_admin(actor.user)
    with transaction.atomic():
        audit_log(actor=actor, action=AuditAction.PURGE, obj=tag, changes={})
        emit("tag.deleted", obj=tag, actor=actor, payload={"name": tag.name})
        tag.delete()


# Static lists


def _apply_list_values(values: dict[str, Any], static_list: StaticList) -> None:
    unknown = set(values) - set(LIST_FIELDS)
    errors: Errors = {name: [_("This field cannot be set.")] for name in sorted(unknown)}
    values = {name: value for name, value in values.items() if name not in unknown}
    resolve_owner_and_team(values, static_list, errors)
    for name in ("name", "description"):
        if name in values:
            values[name] = str(values[name] or "").strip()
    for name, value in values.items():
        setattr(static_list, name, value)
    try:
        _full_clean(static_list)
    except ValidationError as error:
        errors.update({k: v for k, v in error.message_dict.items() if k not in errors})
    if errors:
        raise ValidationError(errors)


def list_create(*, actor: Actor, name: str, description: str = "") -> StaticList:
    """Start a list of contacts, owned by the actor."""
    if not can_create(actor.user, StaticList):
        raise PermissionDenied
    static_list = StaticList(owner=actor.user, created_by=actor.user, updated_by=actor.user)
    _apply_list_values({"name": name, "description": description}, static_list)
    with transaction.atomic():
        static_list.save()
        changes = diff({}, snapshot(static_list))
        audit_log(actor=actor, action=AuditAction.CREATE, obj=static_list, changes=changes)
        emit("staticlist.created", obj=static_list, actor=actor)
    return static_list


def list_update(static_list: StaticList, *, actor: Actor, **changes: Any) -> StaticList:
    """Rename a list, describe it or hand it to another owner or team."""
    require(actor.user, "edit", static_list)
    with transaction.atomic():
        static_list = StaticList.objects.select_for_update().get(pk=static_list.pk)
        before = snapshot(static_list)
        _apply_list_values(changes, static_list)
        changed = diff(before, snapshot(static_list))
        if changed:
            static_list.updated_by = actor.user
            static_list.save()
            audit_log(actor=actor, action=AuditAction.UPDATE, obj=static_list, changes=changed)
            emit("staticlist.updated", obj=static_list, actor=actor, payload={"changes": changed})
    return static_list


def list_delete(static_list: StaticList, *, actor: Actor) -> None:
    """Delete a list; its contacts stay."""
    require(actor.user, "delete", static_list)
    with transaction.atomic():
        audit_log(actor=actor, action=AuditAction.PURGE, obj=static_list, changes={})
        emit("staticlist.deleted", obj=static_list, actor=actor, payload={"name": static_list.name})
        static_list.delete()


def _batched(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), IN_BATCH):
        yield ids[start : start + IN_BATCH]


def _visible_contact_ids(contacts: Iterable[Contact], actor: Actor) -> list[int]:
    """The ids of ``contacts``, all of which the actor must be able to see."""
    ids = list(dict.fromkeys(contact.pk for contact in contacts))
    visible: set[int] = set()
    for batch in _batched(ids):
        visible.update(
            scope(Contact.objects.filter(pk__in=batch), actor.user).values_list("pk", flat=True)
        )
    hidden = [str(pk) for pk in ids if pk not in visible]
    if hidden:
        raise ValidationError(
            {"contacts": [_("Unknown contact: %(ids)s.") % {"ids": ", ".join(hidden)}]}
        )
    return ids


def _members_among(static_list: StaticList, ids: Sequence[int]) -> set[int]:
    members: set[int] = set()
    for batch in _batched(ids):
        members.update(
            static_list.memberships.filter(contact_id__in=batch).values_list(
                "contact_id", flat=True
            )
        )
    return members


def list_add(static_list: StaticList, contacts: Iterable[Contact], *, actor: Actor) -> int:
    """Add ``contacts`` to the list; those already on it are skipped. Returns how many
    were added."""
    require(actor.user, "edit", static_list)
    ids = _visible_contact_ids(contacts, actor)
    with transaction.atomic():
        already = _members_among(static_list, ids)
        added = [pk for pk in ids if pk not in already]
        ListMembership.objects.bulk_create(
            [
                ListMembership(static_list=static_list, contact_id=pk, added_by=actor.user)
                for pk in added
            ],
            ignore_conflicts=True,
        )
        if added:
            audit_log(
                actor=actor,
                action=AuditAction.UPDATE,
                obj=static_list,
                changes={"members_added": [None, added]},
            )
            emit("staticlist.members_added", obj=static_list, actor=actor, payload={"ids": added})
    return len(added)


def list_remove(static_list: StaticList, contacts: Iterable[Contact], *, actor: Actor) -> int:
    """Take ``contacts`` off the list; those not on it are skipped. Returns how many
    were removed."""
    require(actor.user, "edit", static_list)
    ids = list(dict.fromkeys(contact.pk for contact in contacts))
    with transaction.atomic():
        removed = sorted(_members_among(static_list, ids))
        for batch in _batched(removed):
            static_list.memberships.filter(contact_id__in=batch).delete()
        if removed:
            audit_log(
                actor=actor,
                action=AuditAction.UPDATE,
                obj=static_list,
                changes={"members_removed": [removed, None]},
            )
            emit(
                "staticlist.members_removed", obj=static_list, actor=actor, payload={"ids": removed}
            )
    return len(removed)


# Bulk actions


@dataclass
class BulkResult:
    """How many records an action changed, and why each of the others was refused."""

    done: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def _refusal(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(all_messages(error))
    if isinstance(error, PermissionDenied):
        return _("You may not change this record.")
    if isinstance(error, Http404):
        return _("Not found, or not a record you may see.")
    return str(error)


def _each(records: Iterable[Record], action: Callable[[Record], None]) -> BulkResult:
    """Run ``action`` on every record in its own savepoint; a refusal skips only that one."""
    result = BulkResult()
    for record in records:
        try:
            with transaction.atomic():
                action(record)
        except (ValidationError, PermissionDenied, Http404, VersionConflict) as error:
            result.errors.append((record.pk, _refusal(error)))
        else:
            result.done += 1
    return result


def _update_any(record: Record, *, actor: Actor, **changes: Any) -> None:
    if isinstance(record, Contact):
        contact_update(record, actor=actor, **changes)
    elif isinstance(record, Company):
        company_update(record, actor=actor, **changes)
    else:
        record_update(record, actor=actor, values=changes.get("values"))


def bulk_assign_owner(records: Iterable[Record], *, actor: Actor, owner: User) -> BulkResult:
    """Hand each record to ``owner``, where the actor may edit it."""
    return _each(records, lambda record: _update_any(record, actor=actor, values={"owner": owner}))


def bulk_tag(records: Iterable[Record], *, actor: Actor, tag: Tag, add: bool) -> BulkResult:
    """Put ``tag`` on (``add``) or take it off each record the actor may edit."""

    def retag(record: Record) -> None:
        if not isinstance(record, (Contact, Company)):
            raise ValidationError(_("Records of this type carry no tags."))
        require(actor.user, "edit", record)
        current = [other for other in record.tags.all() if other.pk != tag.pk]
        _update_any(record, actor=actor, tags=[*current, tag] if add else current)

    return _each(records, retag)


def bulk_delete(records: Iterable[Record], *, actor: Actor) -> BulkResult:
    """Move each record the actor may delete to the trash."""

    return _each(records, lambda record: record_delete(record, actor=actor))
