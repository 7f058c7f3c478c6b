"""The write path of companies and contacts, with their child rows, tags and merges.

``core.services`` writes a record's own fields; companies and contacts also
carry emails, phones, addresses, social profiles and tags, and one edit must
be one audit entry naming all of it. These functions follow the steps of
``core.services.record_create``/``record_update`` (and reuse its pieces) with
the child rows added, and keep the search index in step. ``contacts.services``
builds the public verbs on them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.accounts.models import Team, User
from rapport.contacts.children import (
    EMAILS,
    PHONES,
    ChildKind,
    clean_children,
    descriptions,
    primary_value,
    replace_children,
    same_rows,
    stored,
)
from rapport.contacts.models import (
    Company,
    Contact,
    DuplicateCandidate,
    DuplicateStatus,
    Tag,
)
from rapport.core import search
from rapport.core.actors import Actor
from rapport.core.audit import audit_log, diff, snapshot
from rapport.core.customfields import definitions_for
from rapport.core.events import emit
from rapport.core.models import AuditAction, Record
from rapport.core.permissions import check_field_writes, object_type, require
from rapport.core.services import (
    PROTECTED_FIELDS,
    assign_values,
    check_new_values,
    event_name,
    lock_record,
    validate_record,
)

RecordT = TypeVar("RecordT", Company, Contact)
Errors = dict[str, list[str]]
# Fields on the record's own row that mirror its primary child, so lists read one table.
MIRRORS = {"email": EMAILS, "phone": PHONES}


def messages_of(error: ValidationError) -> Errors:
    if hasattr(error, "error_dict"):
        return error.message_dict
    return {NON_FIELD_ERRORS: error.messages}


def all_messages(error: ValidationError) -> list[str]:
    return [message for messages in messages_of(error).values() for message in messages]


# Values that name other rows


def resolve(
    values: dict[str, Any],
    name: str,
    queryset: models.QuerySet,
    *,
    current_id: Any,
    errors: Errors,
    message: str,
) -> None:
    """Turn ``values[name]`` (a row or its id) into a row of ``queryset``, or an error.

    An unchanged value is dropped rather than looked up again: a record keeps a
    related row the actor could not pick themselves (a company of another team)."""
    if name not in values:
        return
    raw = values[name]
    if raw in (None, ""):
        values[name] = None
        return
    pk = raw.pk if isinstance(raw, models.Model) else raw
    if current_id is not None and str(pk) == str(current_id):
        del values[name]
        return
    try:
        found = queryset.filter(pk=pk).first()
    except (ValueError, TypeError, ValidationError):
        found = None
    if found is None:
        errors[name] = [message]
        del values[name]
    else:
        values[name] = found


def resolve_owner_and_team(values: dict[str, Any], obj: Record, errors: Errors) -> None:
    if "owner" in values:
        resolve(
            values,
            "owner",
            User.objects.filter(is_active=True),
            current_id=obj.owner_id,
            errors=errors,
            message=_("Choose an active user."),
        )
    if "team" in values:
        resolve(
            values,
            "team",
            Team.objects.all(),
            current_id=obj.team_id,
            errors=errors,
            message=_("Choose an existing team."),
        )


# Child rows and tags


@dataclass
class Plan:
    """What a create or update writes besides the record's own fields."""

    children: dict[ChildKind, list[models.Model]] = field(default_factory=dict)
    tags: list[Tag] | None = None


def mirror_of(kind: ChildKind) -> str:
    """The field on the record's row that mirrors ``kind``'s primary row, or ``""``."""
    return next((name for name, mirrored in MIRRORS.items() if mirrored is kind), "")


def _mirror_items(
    obj: Record, kind: ChildKind, raw: Any, errors: Errors, name: str
) -> list[dict[str, Any]] | None:
    """The rows of ``kind`` after the record's mirror field (``email``) is set to ``raw``:
    the primary row takes the new value, or goes when it is blank."""
    try:
        value = kind.clean({kind.identity_field: raw})[kind.identity_field] if raw else ""
    except ValidationError as error:
        errors[name] = all_messages(error)
        return None
    current = descriptions(kind, stored(obj, kind)) if obj.pk else []
    primary = next((item for item in current if item["is_primary"]), None)
    others = [
        item | {"is_primary": False}
        for item in current
        if not item["is_primary"] and item[kind.identity_field] != value
    ]
    if not value:
        return others
    kept = {"kind": primary["kind"]} if primary else {}
    return [{kind.identity_field: value, "is_primary": True, **kept}, *others]


def plan_children(
    obj: Record,
    kinds: Sequence[ChildKind],
    given: Mapping[str, Sequence[Mapping[str, Any]] | None],
    values: dict[str, Any],
    tags: Iterable[Tag] | None,
    errors: Errors,
) -> Plan:
    plan = Plan(tags=None if tags is None else list(tags))
    for kind in kinds:
        items = given.get(kind.name)
        mirror = mirror_of(kind)
        if mirror and mirror in values:
            raw = str(values.pop(mirror) or "").strip()
            if items is not None:
                errors[mirror] = [_("Give either %(a)s or %(b)s.") % {"a": mirror, "b": kind.name}]
                continue
            items = _mirror_items(obj, kind, raw, errors, mirror)
        if items is None:
            continue
        try:
            plan.children[kind] = clean_children(kind, items)
        except ValidationError as error:
            errors.update(error.message_dict)
    return plan


def _mirror_primaries(obj: Record, plan: Plan) -> None:
    for name, kind in MIRRORS.items():
        if kind in plan.children and hasattr(obj, name):
            setattr(obj, name, primary_value(kind, plan.children[kind]))


def tag_names(tags: Iterable[Tag]) -> list[str]:
    return sorted(tag.name for tag in tags)


def _write_plan(obj: Record, plan: Plan, *, creating: bool) -> dict[str, list[Any]]:
    """Write the planned rows and tags that differ from the stored ones; their changes."""
    changes: dict[str, list[Any]] = {}
    for kind, rows in plan.children.items():
        old = [] if creating else stored(obj, kind)
        if same_rows(kind, old, rows):
            continue
        replace_children(obj, kind, rows)
        changes[kind.name] = [
            None if creating else descriptions(kind, old),
            descriptions(kind, rows),
        ]
    if plan.tags is not None:
        old_names = [] if creating else tag_names(obj.tags.all())
        if old_names != tag_names(plan.tags):
            obj.tags.set(plan.tags)
            changes["tags"] = [None if creating else old_names, tag_names(plan.tags)]
    return changes


# The record write path with children


def _assign_known(obj: Record, values: Mapping[str, Any], errors: Errors) -> None:
    try:
        assign_values(obj, values)
    except ValidationError as error:
        errors.update(error.message_dict)
        assign_values(obj, {name: value for name, value in values.items() if name not in errors})


def _validate_into(
    obj: Record, custom: Mapping[str, Any] | None, *, creating: bool, errors: Errors
) -> None:
    try:
        validate_record(obj, custom, creating=creating)
    except ValidationError as error:
        # Model validation of a field already reported (an unknown company) says less.
        errors.update({k: v for k, v in error.message_dict.items() if k not in errors})


Check = Callable[[Record], Errors]
AfterSave = Callable[[Record, dict[str, Any] | None], None]


def create_record(
    model: type[RecordT],
    *,
    actor: Actor,
    values: dict[str, Any],
    custom: Mapping[str, Any] | None,
    plan: Plan,
    errors: Errors,
    check: Check,
    after_save: AfterSave,
) -> RecordT:
    check_new_values(actor, model, values, custom)
    obj = model()
    _assign_known(obj, values, errors)
    _mirror_primaries(obj, plan)
    if obj.owner_id is None and actor.user is not None:
        obj.owner = actor.user
    obj.created_by = obj.updated_by = actor.user
    errors.update(check(obj))
    _validate_into(obj, custom, creating=True, errors=errors)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        obj.save()
        changes = diff({}, snapshot(obj)) | _write_plan(obj, plan, creating=True)
        after_save(obj, None)
        audit_log(actor=actor, action=AuditAction.CREATE, obj=obj, changes=changes)
        emit(event_name(obj, "created"), obj=obj, actor=actor, payload={"fields": sorted(changes)})
        search.index(obj)
    return obj


def update_record(
    obj: RecordT,
    *,
    actor: Actor,
    values: dict[str, Any],
    custom: Mapping[str, Any] | None,
    given: Mapping[str, Sequence[Mapping[str, Any]] | None],
    kinds: Sequence[ChildKind],
    tags: Iterable[Tag] | None,
    errors: Errors,
    expected_version: int | None,
    check: Check,
    after_save: AfterSave,
) -> RecordT:
    with transaction.atomic():
        obj = lock_record(obj, expected_version)
        before = snapshot(obj)
        plan = plan_children(obj, kinds, given, values, tags, errors)
        _assign_known(obj, values, errors)
        _mirror_primaries(obj, plan)
        errors.update(check(obj))
        _validate_into(obj, custom, creating=False, errors=errors)
        if errors:
            raise ValidationError(errors)
        own_changes = diff(before, snapshot(obj))
        check_field_writes(actor.user, type(obj), own_changes)
        changes = own_changes | _write_plan(obj, plan, creating=False)
        if not changes:
            return obj
        obj.version += 1
        obj.updated_by = actor.user
        obj.save()
        after_save(obj, before)
        audit_log(actor=actor, action=AuditAction.UPDATE, obj=obj, changes=changes)
        emit(event_name(obj, "updated"), obj=obj, actor=actor, payload={"changes": changes})
        search.index(obj)
    return obj


def require_live(obj: Record, actor: Actor, action: str) -> None:
    require(actor.user, action, obj)
    if obj.is_deleted:
        raise Http404


# Merging


def _mergeable_fields(model: type[Record]) -> list[models.Field]:
    return [
        field
        for field in model._meta.concrete_fields
        if field.editable and field.name not in PROTECTED_FIELDS and field.name not in MIRRORS
    ]


def _blank(value: Any) -> bool:
    return value in (None, "", [], {})


def _check_choices(model: type[Record], choices: Mapping[str, str]) -> None:
    allowed = {field.name for field in _mergeable_fields(model)}
    allowed |= {name for name in MIRRORS if hasattr(model, name)}
    allowed |= {f"custom.{definition.key}" for definition in definitions_for(model)}
    errors = {
        f"choices.{name}": [_("There is no field %(name)s to choose.") % {"name": name}]
        for name in choices
        if name not in allowed
    }
    errors |= {
        f"choices.{name}": [_("Choose winner or loser.")]
        for name, side in choices.items()
        if name in allowed and side not in ("winner", "loser")
    }
    if errors:
        raise ValidationError(errors)


def _take_fields(winner: Record, loser: Record, choices: Mapping[str, str]) -> None:
    """The chosen side's value per field; unchosen fields keep the winner's unless blank."""
    for model_field in _mergeable_fields(type(winner)):
        mine = getattr(winner, model_field.attname)
        theirs = getattr(loser, model_field.attname)
        choice = choices.get(model_field.name)
        if choice == "loser" or (choice is None and _blank(mine) and not _blank(theirs)):
            setattr(winner, model_field.attname, theirs)
    merged = dict(winner.custom or {})
    for key in set(merged) | set(loser.custom or {}):
        choice = choices.get(f"custom.{key}")
        if choice == "loser" or (choice is None and key not in merged):
            if key in (loser.custom or {}):
                merged[key] = loser.custom[key]
            else:
                merged.pop(key, None)
    winner.custom = merged


def _union_children(winner: Record, loser: Record, kind: ChildKind, *, loser_primary: bool) -> None:
    """Move the loser's rows the winner lacks; rows the winner has stay with the loser."""
    parent = winner._meta.model_name
    have = {kind.identity(row): row for row in stored(winner, kind)}
    theirs = stored(loser, kind)
    moving = [row.pk for row in theirs if kind.identity(row) not in have]
    if not kind.has_primary:
        kind.model.objects.filter(pk__in=moving).update(**{parent: winner})
        return
    kind.model.objects.filter(pk__in=moving).update(**{parent: winner, "is_primary": False})
    wanted = primary_value(kind, theirs) if loser_primary else ""
    wanted = wanted or primary_value(kind, list(have.values()))
    rows = stored(winner, kind)
    primary = next((row for row in rows if kind.identity(row) == wanted), rows[0] if rows else None)
    if primary is not None:
        getattr(winner, kind.name).exclude(pk=primary.pk).update(is_primary=False)
        getattr(winner, kind.name).filter(pk=primary.pk).update(is_primary=True)
    mirror = mirror_of(kind)
    if mirror and hasattr(winner, mirror):
        setattr(winner, mirror, kind.identity(primary) if primary is not None else "")


def _repoint_the_rest(winner: Record, loser: Record, handled: set[str]) -> None:
    """Point every other row that refers to the loser (a contact's deals, a company's
    contacts and subsidiaries…) at the winner."""
    for relation in type(winner)._meta.related_objects:
        if relation.many_to_many or relation.get_accessor_name() in handled:
            continue
        rows = relation.related_model._base_manager.filter(**{relation.field.name: loser})
        if relation.related_model is type(winner):
            rows = rows.exclude(pk=winner.pk)
        _drop_clashes(rows, relation.field.name, winner)
        rows.update(**{relation.field.name: winner})


def _drop_clashes(rows: models.QuerySet, field: str, winner: Record) -> None:
    """Delete the loser's rows that the winner has already, where a unique constraint
    would refuse a second one (both people on one deal keep one role: the winner's)."""
    model = rows.model
    for constraint in model._meta.constraints:
        if not isinstance(constraint, models.UniqueConstraint) or constraint.condition:
            continue
        others = [name for name in constraint.fields if name != field]
        if field in constraint.fields and len(others) == 1:
            held = model._base_manager.filter(**{field: winner}).values(others[0])
            rows.filter(**{f"{others[0]}__in": held}).delete()


def _settle_duplicate_pair(winner: Record, loser: Record, actor: Actor) -> None:
    """The pair, if the duplicate scan had found it, leaves the review queue as merged."""
    DuplicateCandidate.objects.pair(object_type(winner), winner.pk, loser.pk).update(
        status=DuplicateStatus.MERGED, decided_at=timezone.now(), decided_by=actor.user
    )


def merge_records(
    winner: RecordT,
    loser: RecordT,
    *,
    actor: Actor,
    choices: Mapping[str, str],
    kinds: Sequence[ChildKind],
    handled: set[str],
    merge_more: Callable[[RecordT, RecordT], None],
) -> RecordT:
    if winner.pk == loser.pk:
        raise ValidationError(_("Choose two different records to merge."))
    for record in (winner, loser):
        require_live(record, actor, "merge")
    _check_choices(type(winner), choices)
    with transaction.atomic():
        winner, loser = lock_record(winner, None), lock_record(loser, None)
        before = snapshot(winner)
        old_children = {kind: descriptions(kind, stored(winner, kind)) for kind in kinds}
        old_tags = tag_names(winner.tags.all())
        _take_fields(winner, loser, choices)
        for kind in kinds:
            loser_primary = choices.get(mirror_of(kind)) == "loser"
            _union_children(winner, loser, kind, loser_primary=loser_primary)
        winner.tags.add(*loser.tags.all())
        merge_more(winner, loser)
        _repoint_the_rest(winner, loser, handled)
        _settle_duplicate_pair(winner, loser, actor)
        winner.version += 1
        winner.updated_by = actor.user
        winner.save()
        loser.deleted_at = timezone.now()
        loser.deleted_by = actor.user
        loser.version += 1
        loser.save(update_fields=["deleted_at", "deleted_by", "version", "updated_at"])
        changes = diff(before, snapshot(winner)) | {"merged_from": [None, loser.pk]}
        for kind, old in old_children.items():
            new = descriptions(kind, stored(winner, kind))
            if new != old:
                changes[kind.name] = [old, new]
        new_tags = tag_names(winner.tags.all())
        if new_tags != old_tags:
            changes["tags"] = [old_tags, new_tags]
        audit_log(actor=actor, action=AuditAction.MERGE, obj=winner, changes=changes)
        emit(event_name(winner, "merged"), obj=winner, actor=actor, payload={"loser": loser.pk})
        emit(
            event_name(loser, "deleted"), obj=loser, actor=actor, payload={"merged_into": winner.pk}
        )
        search.index(winner)
        search.index(loser)
    return winner
