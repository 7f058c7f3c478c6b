"""Audit entries made readable: field labels instead of names, related records
by name instead of id, custom fields by their label.

Related names are read in one query per related model for a whole page of
entries, so a history page costs the same however many changes it shows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.text import capfirst

from rapport.core.models import AuditEntry, CustomFieldDefinition
from rapport.core.permissions import redact_changes

if TYPE_CHECKING:
    from rapport.accounts.models import User


@dataclass(frozen=True)
class Change:
    label: str
    before: Any
    after: Any


@dataclass(frozen=True)
class DescribedEntry:
    entry: AuditEntry
    changes: list[Change]


def _field(model: type[models.Model] | None, name: str) -> models.Field | None:
    if model is None:
        return None
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:  # removed since the entry was written
        return None
    # Reverse relations (a team's ``members``) carry ids only, shown as recorded.
    return field if isinstance(field, models.Field) else None


def _related_names(wanted: dict[type[models.Model], set[Any]]) -> dict[tuple[type, str], str]:
    names: dict[tuple[type, str], str] = {}
    for related_model, ids in wanted.items():
        manager = getattr(related_model, "all_objects", related_model._default_manager)
        for obj in manager.filter(pk__in=ids):
            names[(related_model, str(obj.pk))] = str(obj)
    return names


def _custom_labels(content_type_ids: set[int]) -> dict[tuple[int, str], str]:
    definitions = CustomFieldDefinition.objects.filter(content_type_id__in=content_type_ids)
    return {(d.content_type_id, d.key): d.label for d in definitions}


def describe_entries(
    entries: Iterable[AuditEntry], model: type[models.Model] | None, user: User | None
) -> list[DescribedEntry]:
    """``entries`` with their changes labelled; ``model`` when all are of one type. The
    changes of fields ``user``'s role hides are left out, of the entries too."""
    entries = list(entries)
    models_of = {
        entry.pk: model or ContentType.objects.get_for_id(entry.content_type_id).model_class()
        for entry in entries
    }
    for entry in entries:
        if models_of[entry.pk] is not None:
            entry.changes = redact_changes(user, models_of[entry.pk], entry.changes)
    wanted: dict[type[models.Model], set[Any]] = defaultdict(set)
    for entry in entries:
        for name, values in entry.changes.items():
            field = _field(models_of[entry.pk], name)
            if field is not None and field.is_relation and field.many_to_one:
                wanted[field.related_model].update(value for value in values if value is not None)
    names = _related_names(wanted)
    custom_labels = _custom_labels({entry.content_type_id for entry in entries})

    def shown(field: models.Field | None, value: Any) -> Any:
        if field is not None and field.is_relation and field.many_to_one and value is not None:
            return names.get((field.related_model, str(value)), f"#{value}")
        if field is not None and field.choices and value is not None:
            return dict(field.flatchoices).get(value, value)
        return value

    described = []
    for entry in entries:
        changes = []
        for name, (before, after) in sorted(entry.changes.items()):
            if name.startswith("custom."):
                key = name.removeprefix("custom.")
                label = custom_labels.get((entry.content_type_id, key), key)
                changes.append(Change(label, before, after))
                continue
            field = _field(models_of[entry.pk], name)
            label = (
                capfirst(field.verbose_name)
                if field is not None and hasattr(field, "verbose_name")
                else name
            )
            changes.append(Change(label, shown(field, before), shown(field, after)))
        described.append(DescribedEntry(entry, changes))
    return described
