"""Tasks in the "next activity" date of the records they are about.

The activities app keeps ``next_activity_at`` on contacts and companies; the
earliest open task due after now counts, once registered here. The task
services refresh the linked records' dates whenever a task's due time,
status or links change, in the same transaction.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from rapport.activities.engagement import refresh_targets, register_upcoming
from rapport.activities.links import Target
from rapport.tasks.models import OPEN_STATUSES, Task


def next_open_task(target: Target, now: datetime.datetime) -> datetime.datetime | None:
    """When the record's next open task is due, if one is due after ``now``."""
    tasks = Task.objects.filter(
        links__object_type=target.object_type,
        links__object_id=target.object_id,
        status__in=OPEN_STATUSES,
        due_at__gt=now,
    )
    return tasks.order_by("due_at").values_list("due_at", flat=True).first()


def refresh(refs: Iterable[tuple[str, int]]) -> None:
    """Recompute the dates of the records ``refs`` name (object type label, id)."""
    refresh_targets(Target(object_type, object_id) for object_type, object_id in refs)


def register() -> None:
    register_upcoming("tasks", next_open_task)
