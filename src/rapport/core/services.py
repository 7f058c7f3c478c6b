"""The write path every CRM record takes: create, update, trash, restore, purge.

Domain services (contacts, deals, tickets…) call these after their own rules,
so every record gets the same permission checks, validation, custom-field
handling, version bump, audit entry, domain event and search entry, in one
transaction.
Events are named ``<model_name>.<verb>``: ``contact.created``,
``deal.updated``, ``ticket.deleted``, ``ticket.restored``, ``ticket.purged``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core import search
from rapport.core.actors import Actor
from rapport.core.audit import audit_log, diff, snapshot
from rapport.core.customfields import EMPTY, validate_custom
from rapport.core.events import emit
from rapport.core.exceptions import VersionConflict
from rapport.core.models import PROTECTED_FIELDS, AuditAction, Record
from rapport.core.permissions import (
    CUSTOM_RULE_PREFIX,
    can_create,
    check_field_writes,
    field_access,
    require,
    require_admin,
)

RecordT = TypeVar("RecordT", bound=Record)


# Per record type, what restoring one from the trash also does in its transaction.
_RESTORE_HOOKS: dict[type[Record], list[Callable[[Any], None]]] = {}


def on_restore(model: type[RecordT], hook: Callable[[RecordT], None]) -> None:
    """Call ``hook(record)`` inside the transaction that restores a record of ``model``
    from the trash, as the domain's own services do on create and delete (the tasks
    app: the next activity of the records a task is about). Register in ``ready``."""
    hooks = _RESTORE_HOOKS.setdefault(model, [])
    if hook not in hooks:
        hooks.append(hook)


# Per record type, what every write of one also keeps up to date in its transaction:
# ``hook(record, before)`` with the record as written and its field values before the
# write (``core.audit.snapshot``; ``None`` for a new record).
_WRITE_HOOKS: dict[type[Record], list[Callable[[Any, Mapping[str, Any] | None], None]]] = {}


def on_write(
    model: type[RecordT], hook: Callable[[RecordT, Mapping[str, Any] | None], None]
) -> None:
    """Call ``hook(record, before)`` inside the transaction of every create, update,
    trash and restore of a record of ``model`` (the deals app: the board's column
    totals). Register in ``ready``."""
    hooks = _WRITE_HOOKS.setdefault(model, [])
    if hook not in hooks:
        hooks.append(hook)


def _written(obj: Record, before: Mapping[str, Any] | None) -> None:
    for hook in _WRITE_HOOKS.get(type(obj), []):
        hook(obj, before)


def event_name(obj: Record, verb: str) -> str:
    return f"{obj._meta.model_name}.{verb}"


def assign_values(obj: Record, values: Mapping[str, Any]) -> None:
    editable = {field.name for field in obj._meta.concrete_fields} - PROTECTED_FIELDS
    unknown = set(values) - editable
    if unknown:
        raise ValidationError({name: [_("This field cannot be set.")] for name in sorted(unknown)})
    for name, value in values.items():
        setattr(obj, name, value)


def validate_record(obj: Record, custom: Mapping[str, Any] | None, *, creating: bool) -> None:
    """Model field validation and custom fields together, so one error report names all."""
    errors: dict[str, list[str]] = {}
    try:
        obj.full_clean(exclude=["custom"], validate_unique=True, validate_constraints=True)
    except ValidationError as error:
        errors.update(error.message_dict)
    if custom is not None or creating:
        try:
            obj.custom = validate_custom(
                type(obj), custom or {}, existing=None if creating else obj.custom
            )
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)


def lock_record(obj: RecordT, expected_version: int | None) -> RecordT:
    """Re-read ``obj`` under a row lock and check the caller saw its latest version."""
    locked = type(obj).all_objects.select_for_update().get(pk=obj.pk)
    if expected_version is not None and locked.version != expected_version:
        raise VersionConflict(current_version=locked.version)
    return locked


def check_new_values(
    actor: Actor,
    model: type[Record],
    values: Mapping[str, Any],
    custom: Mapping[str, Any] | None,
) -> None:
    """Refuse values for a new record in fields the actor may not change: a value
    other than the field's default, or any custom value."""
    access = field_access(actor.user, model)
    if not access:
        return
    changed = []
    for name, value in values.items():
        if name not in access:
            continue
        default = model._meta.get_field(name).get_default()
        given = value.pk if isinstance(value, models.Model) else value
        if given not in EMPTY and str(given) != str(default):
            changed.append(name)
    changed += [
        f"{CUSTOM_RULE_PREFIX}{key}" for key, value in (custom or {}).items() if value not in EMPTY
    ]
    check_field_writes(actor.user, model, changed)


def record_create(
    model: type[RecordT],
    *,
    actor: Actor,
    values: Mapping[str, Any],
    custom: Mapping[str, Any] | None = None,
) -> RecordT:
    """Create a record owned by the actor unless ``values`` names another owner."""
    if not can_create(actor.user, model):
        raise PermissionDenied
    check_new_values(actor, model, values, custom)
    obj = model()
    assign_values(obj, values)
    if obj.owner_id is None and actor.user is not None:
        obj.owner = actor.user
    obj.created_by = obj.updated_by = actor.user
    validate_record(obj, custom, creating=True)
    with transaction.atomic():
        obj.save()
        changes = diff({}, snapshot(obj))
        audit_log(actor=actor, action=AuditAction.CREATE, obj=obj, changes=changes)
        emit(event_name(obj, "created"), obj=obj, actor=actor, payload={"fields": sorted(changes)})
        search.index(obj)
        _written(obj, None)
    return obj


def record_update(
    obj: RecordT,
    *,
    actor: Actor,
    values: Mapping[str, Any] | None = None,
    custom: Mapping[str, Any] | None = None,
    expected_version: int | None = None,
) -> RecordT:
    """Apply ``values`` and ``custom`` (only the keys given) to ``obj``.

    Nothing is written, and the version stays, when nothing changed."""
    require(actor.user, "edit", obj)
    if obj.is_deleted:
        raise Http404
    with transaction.atomic():
        obj = lock_record(obj, expected_version)
        before = snapshot(obj)
        assign_values(obj, values or {})
        validate_record(obj, custom, creating=False)
        changes = diff(before, snapshot(obj))
        if not changes:
            return obj
        check_field_writes(actor.user, type(obj), changes)
        obj.version += 1
        obj.updated_by = actor.user
        obj.save()
        audit_log(actor=actor, action=AuditAction.UPDATE, obj=obj, changes=changes)
        emit(event_name(obj, "updated"), obj=obj, actor=actor, payload={"changes": changes})
        search.index(obj)
        _written(obj, before)
    return obj


def record_delete(obj: RecordT, *, actor: Actor, expected_version: int | None = None) -> RecordT:
    """Move ``obj`` to the trash, where it can be restored until purged."""
    require(actor.user, "delete", obj)
    if obj.is_deleted:
        raise Http404
    with transaction.atomic():
        obj = lock_record(obj, expected_version)
        before = snapshot(obj)
        obj.deleted_at = timezone.now()
        obj.deleted_by = actor.user
        obj.version += 1
        obj.save(update_fields=["deleted_at", "deleted_by", "version", "updated_at"])
        audit_log(
            actor=actor,
            action=AuditAction.DELETE,
            obj=obj,
            changes={"deleted_at": [None, obj.deleted_at.isoformat()]},
        )
        emit(event_name(obj, "deleted"), obj=obj, actor=actor)
        search.index(obj)
        _written(obj, before)
    return obj


def record_restore(obj: RecordT, *, actor: Actor) -> RecordT:
    """Bring ``obj`` back from the trash; needs the right to delete it. ``ValidationError``
    when it is not in the trash, or when coming back would break a rule that holds among
    live records."""
    require(actor.user, "delete", obj)
    if not obj.is_deleted:
        raise ValidationError(_("This record is not in the trash."))
    with transaction.atomic():
        obj = lock_record(obj, None)
        before = snapshot(obj)
        deleted_at = obj.deleted_at
        obj.deleted_at = None
        obj.deleted_by = None
        # A live record may have taken what this one held while it was in the trash
        # (a product's SKU): refuse with the rule's message rather than fail the write.
        obj.validate_constraints()
        obj.version += 1
        obj.save(update_fields=["deleted_at", "deleted_by", "version", "updated_at"])
        audit_log(
            actor=actor,
            action=AuditAction.RESTORE,
            obj=obj,
            changes={"deleted_at": [deleted_at.isoformat(), None]},
        )
        emit(event_name(obj, "restored"), obj=obj, actor=actor)
        search.index(obj)
        _written(obj, before)
        for hook in _RESTORE_HOOKS.get(type(obj), []):
            hook(obj)
    return obj


def record_purge(obj: Record, *, actor: Actor) -> None:
    """Delete a trashed record for good (admins only). Its audit history stays."""
    require_admin(actor.user)
    if not obj.is_deleted:
        raise ValidationError(_("Move the record to the trash before deleting it for good."))
    with transaction.atomic():
        audit_log(actor=actor, action=AuditAction.PURGE, obj=obj, changes={})
        emit(event_name(obj, "purged"), obj=obj, actor=actor, payload={"label": str(obj)})
        search.remove(obj)
        obj.delete()
