"""The audit log: who changed what, when, through what, field by field.

Services call ``audit_log`` in their writing transaction with an explicit
``Actor``; nothing is written by signals, so CLI, import and task writes are
recorded the same way as page and API writes.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Sequence
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone

from rapport.core.actors import Actor
from rapport.core.models import AuditAction, AuditEntry

# Bookkeeping fields whose change says nothing a reader needs.
UNAUDITED_FIELDS = frozenset(
    {
        "updated_at",
        "updated_by",
        "version",
        "password",
        "password_encrypted",
        "last_login",
        "session_salt",
    }
)


def json_value(value: Any) -> Any:
    """A JSON-safe form of a field value, as shown in History."""
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    return value


def snapshot(obj: models.Model) -> dict[str, Any]:
    """The audited field values of ``obj`` (foreign keys as ids), keyed by field name."""
    values: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        if field.name in UNAUDITED_FIELDS:
            continue
        values[field.name] = json_value(getattr(obj, field.attname))
    return values


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """``{field: [before, after]}`` for each field whose value changed."""
    changes: dict[str, list[Any]] = {}
    for name in before.keys() | after.keys():
        old, new = before.get(name), after.get(name)
        if name == "custom" and isinstance(old, dict) and isinstance(new, dict):
            for key in old.keys() | new.keys():
                if old.get(key) != new.get(key):
                    changes[f"custom.{key}"] = [old.get(key), new.get(key)]
        elif old != new:
            changes[name] = [old, new]
    return changes


def _entry(
    actor: Actor,
    action: AuditAction,
    obj: models.Model,
    changes: dict | None,
    content_type: ContentType,
) -> AuditEntry:
    return AuditEntry(
        actor=actor.user,
        actor_label=actor.label,
        source=actor.source,
        action=action,
        content_type=content_type,
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        changes=changes or {},
        request_id=actor.request_id,
    )


def audit_log(
    *,
    actor: Actor,
    action: AuditAction,
    obj: models.Model,
    changes: dict[str, list[Any]] | None = None,
) -> AuditEntry:
    """Write one audit entry; call inside the transaction that made the change."""
    content_type = ContentType.objects.get_for_model(obj, for_concrete_model=True)
    entry = _entry(actor, action, obj, changes, content_type)
    entry.save()
    return entry


def audit_log_many(
    *, actor: Actor, action: AuditAction, changes_by_record: Sequence[tuple[models.Model, dict]]
) -> None:
    """``audit_log`` for many records of one model at once (a bulk create)."""
    if changes_by_record:
        content_type = ContentType.objects.get_for_model(
            changes_by_record[0][0], for_concrete_model=True
        )
        AuditEntry.objects.bulk_create(
            [
                _entry(actor, action, obj, changes, content_type)
                for obj, changes in changes_by_record
            ]
        )


def _start_of(day: datetime.date | str) -> datetime.datetime:
    if isinstance(day, str):
        day = datetime.date.fromisoformat(day)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def filter_entries(
    entries: models.QuerySet[AuditEntry],
    *,
    object_type: str = "",
    object_id: str = "",
    actor: int | None = None,
    action: str = "",
    source: str = "",
    since: datetime.date | str = "",
    until: datetime.date | str = "",
) -> models.QuerySet[AuditEntry]:
    """Narrow audit entries by the audit browser's filters (also used by its API and
    CSV export). ``object_type`` is ``app_label.model``; dates are whole days,
    ``until`` included, in the current time zone."""
    if object_type:
        app_label, _dot, model = object_type.partition(".")
        entries = entries.filter(content_type__app_label=app_label, content_type__model=model)
    if object_id:
        entries = entries.filter(object_id=object_id)
    if actor:
        entries = entries.filter(actor_id=actor)
    if action:
        entries = entries.filter(action=action)
    if source:
        entries = entries.filter(source=source)
    if since:
        entries = entries.filter(at__gte=_start_of(since))
    if until:
        day = datetime.date.fromisoformat(until) if isinstance(until, str) else until
        entries = entries.filter(at__lt=_start_of(day + datetime.timedelta(days=1)))
    return entries
