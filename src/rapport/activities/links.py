"""Which records activities link to, named the same way everywhere: ``(object_type,
object_id)``, the type being the record model's label (``contacts.contact``).

Every record type (``core.registry.record_models``) but the activity itself
can be linked: deals, leads and tickets join by existing, with no change here.
A link is made only to a record the acting user may see.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import models
from django.utils.translation import gettext as _

from rapport.activities.models import Activity
from rapport.core.permissions import object_type, scope
from rapport.core.registry import record_models

if TYPE_CHECKING:
    from rapport.accounts.models import User

# The largest id a database column holds; a larger one names no record.
MAX_ID = 2**63 - 1


@dataclass(frozen=True, order=True)
class Target:
    """A record by type label and id."""

    object_type: str
    object_id: int

    @classmethod
    def of(cls, record: models.Model) -> Target:
        return cls(object_type(record), record.pk)


TargetLike = Target | models.Model | tuple[str, int]


def is_id(value: object) -> bool:
    """Whether ``value`` can be a record's id (a larger number overflows the column)."""
    return isinstance(value, int) and 0 < value <= MAX_ID


def as_target(value: TargetLike) -> Target:
    if isinstance(value, Target):
        return value
    if isinstance(value, models.Model):
        return Target.of(value)
    kind, pk = value
    return Target(str(kind), pk)


def is_linkable(model: type[models.Model]) -> bool:
    return model is not Activity and model in record_models()


def linkable_models() -> dict[str, type[models.Model]]:
    """The linkable record models by label."""
    return {object_type(model): model for model in record_models() if model is not Activity}


def visible_records(user: User | None, targets: Iterable[Target]) -> dict[Target, models.Model]:
    """The live records among ``targets`` that ``user`` may see: one query per type."""
    models_by_label = linkable_models()
    ids_by_type: dict[str, set[int]] = defaultdict(set)
    for target in targets:
        if target.object_type in models_by_label:
            ids_by_type[target.object_type].add(target.object_id)
    found: dict[Target, models.Model] = {}
    for label, ids in sorted(ids_by_type.items()):
        records = scope(models_by_label[label].objects.filter(pk__in=ids), user)
        found.update({Target(label, record.pk): record for record in records})
    return found


def resolve_targets(
    user: User | None, values: Sequence[TargetLike], *, field: str = "links"
) -> tuple[list[Target], dict[str, list[str]]]:
    """``values`` as distinct targets the user may see, and an error per one they may not
    (``links.2``). An unknown type is named as such; a record that does not exist and one
    outside the user's view scope read alike, so nothing is learnt of hidden records."""
    errors: dict[str, list[str]] = {}
    if not values:
        errors[field] = [_("Link the activity to at least one record.")]
    given: list[tuple[int, Target]] = []
    for index, value in enumerate(values):
        try:
            target = as_target(value)
            target = Target(target.object_type, int(target.object_id))
        except (TypeError, ValueError):
            target = None
        if target is None or not is_id(target.object_id):
            errors[f"{field}.{index}"] = [_("Name a record by its type and id.")]
        else:
            given.append((index, target))
    known = linkable_models()
    visible = visible_records(user, (target for _index, target in given))
    for index, target in given:
        if target.object_type not in known:
            types = ", ".join(sorted(known))
            errors[f"{field}.{index}"] = [_("Link one of: %(types)s.") % {"types": types}]
        elif target not in visible:
            errors[f"{field}.{index}"] = [_("No such record, or not one you may see.")]
    return list(dict.fromkeys(target for _index, target in given)), errors
