"""Tasks on a record's timeline.

A task sits at its due time, or at its creation when it has none: what is
planned shows at the top of the feed, ahead of what happened, and a task done
stays where it was due. Only tasks the reader may see are shown.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import models
from django.db.models import prefetch_related_objects
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from rapport.accounts.models import User
from rapport.core.timeline import Position, TimelineItem, older_than
from rapport.core.timeline_api import ItemShape
from rapport.tasks import queries
from rapport.tasks.models import Task
from rapport.tasks.panels import applies_to
from rapport.tasks.schemas import TaskOut, with_visible_related


class TaskSource:
    key = "tasks"
    kinds = [("task", _("Tasks"))]

    def applies_to(self, model: type[models.Model]) -> bool:
        return applies_to(model)

    def items(
        self,
        user: User,
        record: models.Model,
        *,
        before: Position | None,
        kinds: set[str] | None,
        limit: int,
    ) -> list[TimelineItem]:
        if kinds is not None and "task" not in kinds:
            return []
        tasks = (
            queries.tasks_of(user, record)
            .annotate(at=Coalesce("due_at", "created_at"))
            .filter(older_than(before, self.key))
            .select_related("assignee", "assignee_team")
            .order_by("-at", "-id")[:limit]
        )
        return [
            TimelineItem(
                at=task.at,
                source=self.key,
                id=task.pk,
                kind="task",
                template="tasks/_timeline_item.html",
                obj=task,
            )
            for task in tasks
        ]


def _for_api(user: User, tasks: list[Task]) -> Sequence[Task]:
    prefetch_related_objects(tasks, "links")
    return with_visible_related(tasks, user)


API_SHAPE = ItemShape(
    field="task",
    schema=TaskOut,
    prepare=_for_api,
    description="The task, when the item is one (source tasks).",
)
