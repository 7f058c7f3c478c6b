"""Reading tasks: what a user may see, and the sections of their "My work" page."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.http import Http404
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from rapport.core.pagination import Page, encode_cursor, keyset_page
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


# ``status IN ('open', 'in_progress')`` on the task table, the values written into the SQL:
# SQLite walks a partial index only when the query's conditions imply the index's, which
# it cannot tell of values passed as parameters. My work's sections need the open-task
# indexes: with 12,000 open tasks a section reads 11 rows in 2 ms instead of sorting
# them all in 40 ms. For the task table's own rows only (no alias), from constants.
_OPEN = RawSQL(
    "{table}.{column} IN ({values})".format(
        table=connection.ops.quote_name(Task._meta.db_table),
        column=connection.ops.quote_name("status"),
        values=", ".join(f"'{status}'" for status in OPEN_STATUSES),
    ),
    [],
    output_field=BooleanField(),
)


@dataclass(frozen=True)
class Section:
    key: str
    title: Promise
    empty: Promise
    ordering: Sequence[str]

    def _due(self, now: datetime.datetime) -> Q:
        if self.key == "overdue":
            return Q(due_at__lt=now)
        if self.key == "today":
            return Q(due_at__gte=now, due_at__lt=end_of_today(now))
        if self.key == "upcoming":
            return Q(due_at__gte=end_of_today(now))
        return Q(due_at__isnull=True)

    def parts(
        self, open_tasks: QuerySet[Task], user: User, now: datetime.datetime
    ) -> list[QuerySet[Task]]:
        """The section's tasks among ``open_tasks`` (``my_open_tasks``) as querysets that
        each walk one of the open-task indexes in the section's order: the tasks given to
        the user, and those given to a team of theirs and no one in it. The section is
        their union (``section_page``)."""
        if self.key == "assigned_by_me":
            return [open_tasks.filter(owner=user).exclude(assignee=user)]
        due = self._due(now)
        return [
            open_tasks.filter(due, assignee=user),
            open_tasks.filter(due, assignee__isnull=True, assignee_team__in=team_ids(user)),
        ]


BY_DUE = ("due_at", "id")
NEWEST = ("-created_at", "-id")
# The newest first too, in the order the open-task indexes keep undated tasks in.
LATEST_ADDED = ("-id",)
SECTIONS = (
    Section("overdue", _("Overdue"), _("Nothing overdue."), BY_DUE),
    Section("today", _("Today"), _("Nothing else due today."), BY_DUE),
    Section("upcoming", _("Upcoming"), _("Nothing planned yet."), BY_DUE),
    Section("undated", _("No due date"), _("No open task without a due date."), LATEST_ADDED),
    Section(
        "assigned_by_me",
        _("Assigned by me"),
        _("No open task you gave to someone else."),
        NEWEST,
    ),
)
SECTIONS_BY_KEY = {section.key: section for section in SECTIONS}


def _merged(pages: Sequence[Page[Task]], ordering: Sequence[str], limit: int) -> Page[Task]:
    """The first ``limit`` rows of ``pages``, each a page of one part in ``ordering`` (all
    ascending or all descending), and the cursor after them: each part's first
    ``limit`` rows hold the union's."""
    descending = ordering[0].startswith("-")
    fields = [name.lstrip("-") for name in ordering]
    rows = sorted(
        (task for page in pages for task in page.items),
        key=lambda task: tuple(getattr(task, name) for name in fields),
        reverse=descending,
    )
    has_more = len(rows) > limit or any(page.has_more for page in pages)
    items = rows[:limit]
    cursor = encode_cursor(items[-1], ordering) if has_more and items else None
    return Page(items=items, next_cursor=cursor, has_more=has_more)


def my_open_tasks(
    user: User, narrow: Callable[[QuerySet[Task]], QuerySet[Task]] | None = None
) -> QuerySet[Task]:
    """The open tasks of ``user``'s own that they may see, which My work's sections split
    (each section's tasks are theirs: given to them or to a team of theirs, or asked by
    them); built once for all sections; ``narrow`` filters them further (the API's other
    filters, the columns the page shows)."""
    tasks = scope(Task.objects.all(), user, "view", own_only=True).filter(_OPEN)
    return tasks if narrow is None else narrow(tasks)


def _page(
    open_tasks: QuerySet[Task],
    user: User,
    section: Section,
    *,
    now: datetime.datetime,
    cursor: str | None,
    limit: int,
) -> Page[Task]:
    pages = [
        keyset_page(part, ordering=section.ordering, cursor=cursor, limit=limit)
        for part in section.parts(open_tasks, user, now)
    ]
    return _merged(pages, section.ordering, limit)


def section_page(
    user: User,
    section: Section,
    *,
    now: datetime.datetime,
    cursor: str | None = None,
    limit: int = SECTION_SIZE,
    narrow: Callable[[QuerySet[Task]], QuerySet[Task]] | None = None,
) -> Page[Task]:
    """A page of one section of ``user``'s My work, after ``cursor``; ``narrow`` filters
    the tasks further (the API's other filters). One keyset query per part."""
    return _page(my_open_tasks(user, narrow), user, section, now=now, cursor=cursor, limit=limit)


def first_pages(
    user: User,
    *,
    now: datetime.datetime,
    narrow: Callable[[QuerySet[Task]], QuerySet[Task]] | None = None,
) -> list[tuple[Section, Page[Task]]]:
    """The first page of every section of ``user``'s My work, in ``SECTIONS``' order."""
    open_tasks = my_open_tasks(user, narrow)
    return [
        (section, _page(open_tasks, user, section, now=now, cursor=None, limit=SECTION_SIZE))
        for section in SECTIONS
    ]
