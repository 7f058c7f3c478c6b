""" "Last contacted" and "next activity": two dates copied onto the records that have
them (``last_contacted_at``, ``next_activity_at``: contacts and companies), so lists
can show, filter and sort by them without reading the timeline.

- Last contacted: the latest time, not in the future, of a live activity of any
  kind but a note (a call, email, meeting, chat or SMS, social message or visit).
- Next activity: the earliest future meeting, or anything another app registers
  with ``register_upcoming`` (the tasks app: the next open task that is due).

The activity services call ``refresh_targets`` in their transaction for every
record an activity links to; another app calls ``refresh_engagement(record)``
after a change that moves a record's dates. Time passing moves them too (a
meeting that has begun is no longer next, and now counts as contact), so the
worker's ``refresh_begun`` sweep refreshes the records whose next activity has
begun.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable

from django.db import models
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from rapport.activities.links import Target, linkable_models
from rapport.activities.models import CONTACT_KINDS, ActivityKind, ActivityLink
from rapport.core.permissions import object_type
from rapport.core.schedule import every

FIELDS = ("last_contacted_at", "next_activity_at")
SWEEP_SECONDS = 300
SWEEP_BATCH = 500

# (target, now) → the target's earliest upcoming item of one kind, or None.
UpcomingSource = Callable[[Target, datetime.datetime], datetime.datetime | None]
_UPCOMING: dict[str, UpcomingSource] = {}


def register_upcoming(key: str, source: UpcomingSource) -> None:
    """Count ``source``'s dates as a record's possible next activity."""
    _UPCOMING[key] = source


def unregister_upcoming(key: str) -> None:
    _UPCOMING.pop(key, None)


def tracks_engagement(model: type[models.Model]) -> bool:
    field_names = {field.name for field in model._meta.concrete_fields}
    return set(FIELDS) <= field_names


def _live_links(target: Target) -> models.QuerySet[ActivityLink]:
    return ActivityLink.objects.filter(
        object_type=target.object_type,
        object_id=target.object_id,
        activity__deleted_at__isnull=True,
    )


def _contacts_so_far(links: models.QuerySet, now: datetime.datetime) -> models.QuerySet:
    """The latest first of ``links`` that count as contact."""
    contacted = links.filter(occurred_at__lte=now, activity__kind__in=CONTACT_KINDS)
    return contacted.order_by("-occurred_at").values("occurred_at")


def _meetings_ahead(links: models.QuerySet, now: datetime.datetime) -> models.QuerySet:
    """The earliest first of ``links`` that are meetings to come."""
    ahead = links.filter(occurred_at__gt=now, activity__kind=ActivityKind.MEETING)
    return ahead.order_by("occurred_at").values("occurred_at")


def last_contacted(target: Target, now: datetime.datetime) -> datetime.datetime | None:
    found = _contacts_so_far(_live_links(target), now).first()
    return found["occurred_at"] if found else None


def next_meeting(target: Target, now: datetime.datetime) -> datetime.datetime | None:
    found = _meetings_ahead(_live_links(target), now).first()
    return found["occurred_at"] if found else None


def next_activity(target: Target, now: datetime.datetime) -> datetime.datetime | None:
    upcoming = [next_meeting(target, now), *(source(target, now) for source in _UPCOMING.values())]
    return min((moment for moment in upcoming if moment is not None), default=None)


def refresh_targets(targets: Iterable[Target]) -> None:
    """Recompute the dates of the records ``targets`` name (those whose type has them).

    Written with a plain UPDATE: the dates follow from other rows, so they are
    not an edit of the record (no version, audit entry or event)."""
    models_by_label = linkable_models()
    now = timezone.now()
    for target in sorted(set(targets)):
        model = models_by_label.get(target.object_type)
        if model is None or not tracks_engagement(model):
            continue
        model._base_manager.filter(pk=target.object_id).update(
            last_contacted_at=last_contacted(target, now),
            next_activity_at=next_activity(target, now),
        )


def refresh_engagement(record: models.Model) -> None:
    """Recompute ``record``'s last contacted and next activity dates (a no-op for a
    type without them). Call it inside the transaction that changed what they follow."""
    refresh_targets([Target.of(record)])


def refresh_from_activities(records: models.QuerySet) -> int:
    """Recompute the dates of every record ``records`` selects in one UPDATE, from their
    activities alone (not ``register_upcoming`` sources): for bulk loads such as the
    demo, which write activities without the services."""
    links = ActivityLink.objects.filter(
        object_type=object_type(records.model),
        object_id=OuterRef("pk"),
        activity__deleted_at__isnull=True,
    )
    now = timezone.now()
    return records.update(
        last_contacted_at=Subquery(_contacts_so_far(links, now)[:1]),
        next_activity_at=Subquery(_meetings_ahead(links, now)[:1]),
    )


@every(SWEEP_SECONDS)
def refresh_begun() -> int:
    """Refresh the records whose next activity has begun; how many.

    Refreshing is idempotent, so workers that run this at the same moment need
    not claim rows: both write the same dates."""
    now = timezone.now()
    refreshed = 0
    for label, model in linkable_models().items():
        if not tracks_engagement(model):
            continue
        begun = model._base_manager.filter(next_activity_at__lte=now).order_by("next_activity_at")
        ids = list(begun.values_list("pk", flat=True)[:SWEEP_BATCH])
        refresh_targets(Target(label, pk) for pk in ids)
        refreshed += len(ids)
    return refreshed
