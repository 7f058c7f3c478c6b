"""API input and output of tasks, and what a task shows of the records it is about.

A task names its records as ``related``: ``{"object_type": "contacts.contact",
"object_id": 3}``; a reader is shown only those they may see.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any, Literal

from ninja import Field, Schema

from rapport.core.api import RecordOut
from rapport.tasks import queries, services
from rapport.tasks.models import (
    RECURRENCE_MAX_INTERVAL,
    REMINDER_MAX_MINUTES,
    Priority,
    Recurrence,
    Status,
    Task,
)
from rapport.tasks.services import MAX_ID

if TYPE_CHECKING:
    from rapport.accounts.models import User


class RelatedRecord(Schema):
    object_type: str = Field(description="The record's type, e.g. contacts.contact.")
    object_id: int = Field(ge=1, le=MAX_ID)


class TaskOut(RecordOut):
    id: int
    title: str
    description: str
    due_at: datetime.datetime | None
    priority: Priority
    status: Status
    completed_at: datetime.datetime | None
    assignee: int | None = Field(alias="assignee_id", description="The user who does it.")
    assignee_team: int | None = Field(alias="assignee_team_id", description="Or their team.")
    owner: int | None = Field(alias="owner_id", description="Who asked for it.")
    created_by: int | None = Field(alias="created_by_id")
    recurrence: Recurrence
    recurrence_interval: int
    reminder_minutes: int | None
    remind_at: datetime.datetime | None
    reminded_at: datetime.datetime | None
    related: list[RelatedRecord] = Field(
        alias="visible_related", description="The records it is about that you may see."
    )
    custom: dict[str, Any]
    version: int
    created_at: datetime.datetime
    updated_at: datetime.datetime


class TaskIn(Schema):
    title: str = Field(min_length=1, max_length=200)
    description: str = ""
    due_at: datetime.datetime | None = None
    priority: Priority = Priority.NORMAL
    status: Status = Status.OPEN
    assignee: int | None = Field(None, description="A user id; you when neither is given.")
    assignee_team: int | None = Field(None, description="A team id.")
    recurrence: Recurrence = Recurrence.NONE
    recurrence_interval: int = Field(1, ge=1, le=RECURRENCE_MAX_INTERVAL)
    reminder_minutes: int | None = Field(None, ge=0, le=REMINDER_MAX_MINUTES)
    related: list[RelatedRecord] = Field(default_factory=list)
    custom: dict[str, Any] | None = None


class TaskPatch(Schema):
    title: str = Field(None, min_length=1, max_length=200)
    description: str = None
    due_at: datetime.datetime | None = None
    priority: Priority = None
    status: Status = None
    assignee: int | None = None
    assignee_team: int | None = None
    recurrence: Recurrence = None
    recurrence_interval: int = Field(None, ge=1, le=RECURRENCE_MAX_INTERVAL)
    reminder_minutes: int | None = Field(None, ge=0, le=REMINDER_MAX_MINUTES)
    related: list[RelatedRecord] = Field(None, description="Replaces the task's links.")
    custom: dict[str, Any] | None = None


class CompletionOut(Schema):
    task: TaskOut
    next_task: TaskOut | None = Field(description="The next occurrence of a repeating task.")


# The sections of the My work page, by key: overdue, today, upcoming…
SectionKey = Literal[tuple(queries.SECTIONS_BY_KEY)]  # type: ignore[valid-type]


class TaskFilters(Schema):
    mine: bool = Field(False, description="Only tasks given to you or to your team.")
    section: SectionKey | None = Field(  # type: ignore[valid-type]
        None,
        description="The open tasks of one section of your My work page, in its order "
        "(soonest due first; the newest first for undated and assigned_by_me). Today is "
        "in your time zone.",
    )
    status: list[Status] | None = Field(None, description="Any of (repeat the parameter).")
    object_type: str | None = Field(None, description="With object_id: tasks about this record.")
    object_id: int | None = Field(None, ge=1, le=MAX_ID)


def with_visible_related(tasks: list[Task], user: User | None) -> list[Task]:
    """Set ``visible_related`` on each task, which ``TaskOut`` shows: its links to records
    ``user`` may see (one query for the links unless prefetched, one per record type)."""
    refs = {task.pk: services.links_of(task) for task in tasks}
    visible = queries.related_records(
        user, {ref for task_refs in refs.values() for ref in task_refs}
    )
    for task in tasks:
        task.visible_related = [ref for ref in refs[task.pk] if ref in visible]
    return tasks
