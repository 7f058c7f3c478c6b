"""Tasks in the "next activity" date of the records they are about.

The activities app keeps ``next_activity_at`` on contacts and companies; the
earliest open task due after now counts, once registered here. The task
services refresh the linked records' dates whenever a task's due time,
status or links change, in the same transaction.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.db import models
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce, Least
from django.utils import timezone

from rapport.activities.engagement import refresh_targets, register_upcoming
from rapport.activities.links import Target
from rapport.core.permissions import object_type
from rapport.tasks.models import OPEN_STATUSES, Task, TaskLink


def next_open_task(target: Target, now: datetime.datetime) -> datetime.datetime | None:
    """When the record's next open task is due, if one is due after ``now``."""
    tasks = Task.objects.filter(
        links__object_type=target.object_type,
        links__object_id=target.object_id,
        status__in=OPEN_STATUSES,
        due_at__gt=now,
    )
    return tasks.order_by("due_at").values_list("due_at", flat=True).first()


def include_open_tasks(records: models.QuerySet) -> int:
    """Bring forward the next activity of every record ``records`` selects to its next
    open task where that comes sooner, in one UPDATE; how many rows it touched. For bulk
    loads such as the demo, which write tasks without the services, once the dates from
    the activities are in (``activities.engagement.refresh_from_activities``): the result
    is then what ``next_activity`` computes."""
    next_task = (
        TaskLink.objects.filter(
            object_type=object_type(records.model),
            object_id=OuterRef("pk"),
            task__deleted_at__isnull=True,
            task__status__in=OPEN_STATUSES,
            task__due_at__gt=timezone.now(),
        )
        .order_by("task__due_at")
        .values("task__due_at")[:1]
    )
    # Least is NULL on SQLite when either side is: each side falls back on the other.
    return records.update(
        next_activity_at=Least(
            Coalesce("next_activity_at", Subquery(next_task)),
            Coalesce(Subquery(next_task), "next_activity_at"),
        )
    )


def refresh(refs: Iterable[tuple[str, int]]) -> None:
    """Recompute the dates of the records ``refs`` name (object type label, id)."""
    refresh_targets(Target(object_type, object_id) for object_type, object_id in refs)


def register() -> None:
    register_upcoming("tasks", next_open_task)
