"""What the sales settings admins keep have in common — pipelines and stages, lost
reasons, scoring and routing rules: values cleaned against the fields they may set, a
place at the end of their order, and a save or delete that is validated, audited and
announced (``<name>.created``, ``.updated``, ``.deleted``) in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.db import models
from django.db.models import Max

from rapport.core.actors import Actor
from rapport.core.audit import diff, snapshot
from rapport.core.models import AuditAction
from rapport.sales.services import _announce, _only


def cleaned(values: Mapping[str, Any], allowed: frozenset[str]) -> dict[str, Any]:
    """``values`` limited to ``allowed`` (others refused by name), text trimmed."""
    values = _only(values, allowed)
    return {
        key: value.strip() if isinstance(value, str) else value for key, value in values.items()
    }


def next_position(model: type[models.Model], **among: Any) -> int:
    """One past the last ``position`` of ``model`` (of the rows matching ``among``)."""
    last = model.objects.filter(**among).aggregate(last=Max("position"))["last"]
    return (last or 0) + 1


def _event(obj: models.Model, verb: str) -> str:
    return f"{obj._meta.model_name}.{verb}"


def save_setting(
    obj: models.Model,
    before: dict[str, Any] | None,
    *,
    actor: Actor,
    check: Callable[[Any], None] | None = None,
) -> bool:
    """Validate ``obj`` (its fields, then ``check``) and save it when new (``before`` is
    ``None``) or changed, audited and announced; whether anything was written."""
    obj.full_clean()
    if check is not None:
        check(obj)
    changes = diff(before or {}, snapshot(obj))
    if before is not None and not changes:
        return False
    if hasattr(obj, "updated_by"):
        obj.updated_by = actor.user
    obj.save()
    creating = before is None
    _announce(
        obj,
        actor=actor,
        action=AuditAction.CREATE if creating else AuditAction.UPDATE,
        event=_event(obj, "created" if creating else "updated"),
        changes=changes,
    )
    return True


def delete_setting(obj: models.Model, *, actor: Actor) -> None:
    """Delete ``obj`` for good, audited (its last values) and announced."""
    _announce(
        obj,
        actor=actor,
        action=AuditAction.PURGE,
        event=_event(obj, "deleted"),
        changes=diff(snapshot(obj), {}),
    )
    obj.delete()
