"""Creating many contacts at once: ``contact_create``'s rules, with the writes in bulk.

An import of a million rows cannot afford ``contact_create``'s dozen queries
per contact. ``contacts_create_many`` checks each draft with the same
cleaning and validation (``_contact_values``, ``plan_children``, model and
custom-field validation) but resolves the owners, teams and companies the
drafts name in one query each, and writes the contacts, their emails, phones,
addresses, social profiles, tags, work history, audit entries, events and
search entries with one bulk insert per table. What it writes is what
``contact_create`` would write for each draft, as its tests check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _

from rapport.accounts.models import Team, User
from rapport.contacts.children import descriptions
from rapport.contacts.models import Company, Contact, Employment, Tag
from rapport.contacts.services import CONTACT_KINDS, _contact_check, _contact_values
from rapport.contacts.writes import (
    Errors,
    Plan,
    _assign_known,
    _mirror_primaries,
    plan_children,
    tag_names,
)
from rapport.core import bulk, search
from rapport.core.actors import Actor
from rapport.core.audit import audit_log_many, diff, snapshot
from rapport.core.customfields import validate_custom
from rapport.core.events import emit_many
from rapport.core.models import AuditAction
from rapport.core.permissions import can_create, scope

# Resolved for the whole batch at once, so model validation need not query them per row.
REFERENCES = ("owner", "team", "company")
NOT_VALIDATED_PER_ROW = ["custom", *REFERENCES, "created_by", "updated_by", "deleted_by"]


@dataclass
class ContactDraft:
    """What ``contact_create`` takes, for one contact."""

    values: dict[str, Any]
    custom: dict[str, Any] | None = None
    emails: list[dict[str, Any]] | None = None
    phones: list[dict[str, Any]] | None = None
    addresses: list[dict[str, Any]] | None = None
    social_profiles: list[dict[str, Any]] | None = None
    tags: list[Tag] = field(default_factory=list)


@dataclass
class _Ready:
    contact: Contact
    plan: Plan


def _pk(value: Any) -> Any:
    return value.pk if isinstance(value, models.Model) else value


def _found(drafts: Sequence[ContactDraft], actor: Actor) -> dict[str, dict[str, Any]]:
    """The owners, teams and companies the drafts name, by id as text, read once."""
    wanted = {name: set() for name in REFERENCES}
    for draft in drafts:
        for name in REFERENCES:
            if draft.values.get(name) not in (None, ""):
                wanted[name].add(_pk(draft.values[name]))
    sources = {
        "owner": User.objects.filter(is_active=True),
        "team": Team.objects.all(),
        "company": scope(Company.objects.all(), actor.user),
    }
    found: dict[str, dict[str, Any]] = {}
    for name, ids in wanted.items():
        try:
            rows = sources[name].filter(pk__in=ids) if ids else []
            found[name] = {str(row.pk): row for row in rows}
        except (ValueError, TypeError, ValidationError):
            found[name] = {}
    return found


MISSING = {
    "owner": lambda: _("Choose an active user."),
    "team": lambda: _("Choose an existing team."),
    "company": lambda: _("Choose a company you can see."),
}


def _references(values: dict[str, Any], found: dict[str, dict[str, Any]], errors: Errors) -> dict:
    resolved = {}
    for name in REFERENCES:
        if name not in values:
            continue
        raw = values.pop(name)
        if raw in (None, ""):
            resolved[name] = None
        elif str(_pk(raw)) in found[name]:
            resolved[name] = found[name][str(_pk(raw))]
        else:
            errors[name] = [MISSING[name]()]
    return resolved


def _prepare(draft: ContactDraft, actor: Actor, found: dict[str, dict[str, Any]]) -> _Ready:
    """The unsaved contact and its rows, checked as ``contact_create`` checks them."""
    errors: Errors = {}
    contact = Contact()
    values = dict(draft.values)
    resolved = _references(values, found, errors)
    values = _contact_values(values, contact, actor, errors) | resolved
    given = {
        "emails": draft.emails,
        "phones": draft.phones,
        "addresses": draft.addresses,
        "social_profiles": draft.social_profiles,
    }
    plan = plan_children(contact, CONTACT_KINDS, given, values, draft.tags, errors)
    _assign_known(contact, values, errors)
    _mirror_primaries(contact, plan)
    if contact.owner_id is None and actor.user is not None:
        contact.owner = actor.user
    contact.created_by = contact.updated_by = actor.user
    errors.update(_contact_check(contact))
    try:
        contact.full_clean(exclude=NOT_VALIDATED_PER_ROW, validate_constraints=False)
    except ValidationError as error:
        errors.update({k: v for k, v in error.message_dict.items() if k not in errors})
    try:
        contact.custom = validate_custom(Contact, draft.custom or {}, existing=None)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    return _Ready(contact, plan)


def _write(ready: list[_Ready], actor: Actor) -> None:
    contacts = [item.contact for item in ready]
    for contact, pk in zip(contacts, bulk.allocate_ids(Contact, len(contacts)), strict=True):
        contact.pk = pk
    bulk.insert_objects(Contact, contacts)
    children: dict[type, list[models.Model]] = {}
    tag_rows = []
    jobs = []
    changes_by_contact = []
    for item, contact in zip(ready, contacts, strict=True):
        changes = diff({}, snapshot(contact))
        for kind, rows in item.plan.children.items():
            for row in rows:
                row.contact = contact
            children.setdefault(kind.model, []).extend(rows)
            if rows:
                changes[kind.name] = [None, descriptions(kind, rows)]
        if item.plan.tags:
            tag_rows += [Contact.tags.through(contact=contact, tag=tag) for tag in item.plan.tags]
            changes["tags"] = [None, tag_names(item.plan.tags)]
        if contact.company_id is not None:
            jobs.append(
                Employment(
                    contact=contact, company_id=contact.company_id, job_title=contact.job_title
                )
            )
        changes_by_contact.append((contact, changes))
    for model, rows in children.items():
        bulk.insert_objects(model, rows)
    bulk.insert_objects(Contact.tags.through, tag_rows)
    bulk.insert_objects(Employment, jobs)
    audit_log_many(actor=actor, action=AuditAction.CREATE, changes_by_record=changes_by_contact)
    emit_many(
        "contact.created",
        events=[(contact, {"fields": sorted(changes)}) for contact, changes in changes_by_contact],
        actor=actor,
    )
    search.index_new(Contact, [contact.pk for contact in contacts])


def contacts_create_many(
    *, actor: Actor, drafts: Sequence[ContactDraft]
) -> list[Contact | ValidationError]:
    """Add the drafts' contacts, each as ``contact_create`` would, in one transaction;
    per draft in order, its contact or the ``ValidationError`` that refused it (the
    others are still created)."""
    if not can_create(actor.user, Contact):
        raise PermissionDenied
    found = _found(drafts, actor)
    outcomes: list[Contact | ValidationError] = []
    ready: list[_Ready] = []
    for draft in drafts:
        try:
            item = _prepare(draft, actor, found)
        except ValidationError as error:
            outcomes.append(error)
        else:
            ready.append(item)
            outcomes.append(item.contact)
    with transaction.atomic():
        _write(ready, actor)
    return outcomes
