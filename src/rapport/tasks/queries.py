"""Reading tasks: what a user may see, and the sections of their "My work" page."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from rapport.core.pagination import Page, keyset_page
from rapport.core.permissions import object_type, scope, team_ids
from rapport.core.registry import record_model
from rapport.tasks.models import OPEN_STATUSES, Task

if TYPE_CHECKING:
    from django.db import models

    from rapport.accounts.models import User
    from rapport.tasks.services import RecordRef

SECTION_SIZE = 10


def visible_tasks(user: User | None) -> QuerySet[Task]:
    return scope(Task.objects.all(), user, "view")


def assigned_to(user: User) -> Q:
    """Tasks the user is to do: given to them, or to a team of theirs and no one in it."""
    return Q(assignee=user) | Q(assignee__isnull=True, assignee_team__in=team_ids(user))


def tasks_of(user: User | None, record: models.Model) -> QuerySet[Task]:
    """The tasks linked to ``record`` that ``user`` may see."""
    return visible_tasks(user).filter(
        links__object_type=object_type(record), links__object_id=record.pk
    )


def related_records(user: User | None, refs: Iterable[RecordRef]) -> dict[RecordRef, Any]:
    """The records ``refs`` name that ``user`` may see, by ref: one query per object type."""
    by_type: dict[str, dict[int, RecordRef]] = {}
    for ref in refs:
        by_type.setdefault(ref.object_type, {})[ref.object_id] = ref
    found: dict[RecordRef, Any] = {}
    for label, wanted in by_type.items():
        try:
            model = record_model(label)
        except Http404:
            continue
        for record in scope(model.objects.filter(pk__in=list(wanted)), user, "view"):
            found[wanted[record.pk]] = record
    return found


def end_of_today(now: datetime.datetime) -> datetime.datetime:
    """Midnight after ``now`` in the current time zone (the user's, on a page)."""
    local = timezone.localtime(now)
    tomorrow = local.date() + datetime.timedelta(days=1)
    return datetime.datetime.combine(tomorrow, datetime.time(), tzinfo=local.tzinfo)


@dataclass(frozen=True)
class Section:
    key: str
    title: Promise
    empty: Promise
    ordering: Sequence[str]

    def tasks(self, user: User, now: datetime.datetime) -> QuerySet[Task]:
        mine = visible_tasks(user).filter(status__in=OPEN_STATUSES)
        if self.key == "assigned_by_me":
            return mine.filter(owner=user).exclude(assignee=user)
        mine = mine.filter(assigned_to(user))
        if self.key == "overdue":
            return mine.filter(due_at__lt=now)
        if self.key == "today":
            return mine.filter(due_at__gte=now, due_at__lt=end_of_today(now))
        if self.key == "upcoming":
            return mine.filter(due_at__gte=end_of_today(now))
        return mine.filter(due_at__isnull=True)


BY_DUE = ("due_at", "id")
NEWEST = ("-created_at", "-id")
SECTIONS = (
    Section("overdue", _("Overdue"), _("Nothing overdue."), BY_DUE),
    Section("today", _("Today"), _("Nothing else due today."), BY_DUE),
    Section("upcoming", _("Upcoming"), _("Nothing planned yet."), BY_DUE),
    Section("undated", _("No due date"), _("No open task without a due date."), NEWEST),
    Section(
        "assigned_by_me",
        _("Assigned by me"),
        _("No open task you gave to someone else."),
        NEWEST,
    ),
)
SECTIONS_BY_KEY = {section.key: section for section in SECTIONS}


def section_page(
    user: User,
    section: Section,
    *,
    now: datetime.datetime,
    cursor: str | None = None,
    limit: int = SECTION_SIZE,
) -> Page[Task]:
    tasks = section.tasks(user, now).select_related("assignee", "assignee_team")
    return keyset_page(tasks, ordering=section.ordering, cursor=cursor, limit=limit)
