"""The read side of the calendar: a user's meetings and open tasks over a time window,
laid out by day in a time zone.

"Mine" is: the meetings a user owns or attends, and the open tasks assigned to
them (or to a team of theirs and no one in it) or that they own. Each is read
through the activities' and tasks' own visible querysets, so the permission
layer decides, at the time of reading, what shows: an attendee who may not see
a meeting does not get it.

A meeting shows on every day it overlaps. An item is all day, and listed at the
top of its day, when it has no time of its own: a task due at midnight (a day
with no time) or a meeting from one midnight to a later one (an imported
all-day event).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import models
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Lower

from rapport.accounts.models import User
from rapport.activities.models import Activity, ActivityKind, MeetingAttendee
from rapport.activities.queries import visible_activities
from rapport.calendar.ics import ParsedEvent
from rapport.calendar.models import ImportedEvent
from rapport.contacts.models import Company, Contact, ContactEmail
from rapport.core.permissions import scope
from rapport.tasks.models import OPEN_STATUSES, Task
from rapport.tasks.queries import assigned_to, visible_tasks

MEETING = "meeting"
TASK = "task"
# The feed's window, and the most items of each kind it serves.
FEED_PAST = datetime.timedelta(days=90)
FEED_FUTURE = datetime.timedelta(days=366)
FEED_MAX_ITEMS = 5000


def my_meetings(user: User) -> QuerySet[Activity]:
    """The meetings ``user`` owns or attends and may see."""
    attends = MeetingAttendee.objects.filter(activity=OuterRef("pk"), user=user)
    return visible_activities(user).filter(
        Q(owner=user) | Exists(attends), kind=ActivityKind.MEETING
    )


def meetings_between(
    user: User, start: datetime.datetime, end: datetime.datetime
) -> QuerySet[Activity]:
    """My meetings that overlap ``[start, end)``, by start time."""
    overlapping = Q(ends_at__gt=start) | Q(ends_at__isnull=True, starts_at__gte=start)
    return (
        my_meetings(user)
        .filter(overlapping, starts_at__lt=end)
        .select_related("owner")
        .order_by("starts_at", "id")
    )


def my_open_tasks(user: User) -> QuerySet[Task]:
    """The open tasks ``user`` is to do or gave, and may see."""
    return visible_tasks(user).filter(assigned_to(user) | Q(owner=user), status__in=OPEN_STATUSES)


def tasks_between(user: User, start: datetime.datetime, end: datetime.datetime) -> QuerySet[Task]:
    """My open tasks due in ``[start, end)``, by due time."""
    return my_open_tasks(user).filter(due_at__gte=start, due_at__lt=end).order_by("due_at", "id")


# Laying items out by day


def local_midnight(day: datetime.date, tz: datetime.tzinfo) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(), tzinfo=tz)


def _is_midnight(moment: datetime.datetime, tz: datetime.tzinfo) -> bool:
    return moment.astimezone(tz).time() == datetime.time()


@dataclass(frozen=True)
class CalendarItem:
    """A meeting or a task as the calendar shows it."""

    kind: str
    obj: Activity | Task
    starts_at: datetime.datetime
    ends_at: datetime.datetime | None
    all_day: bool

    @property
    def title(self) -> str:
        if self.kind == MEETING:
            return self.obj.subject or str(self.obj)
        return self.obj.title


def meeting_item(meeting: Activity, tz: datetime.tzinfo) -> CalendarItem:
    all_day = (
        meeting.ends_at is not None
        and _is_midnight(meeting.starts_at, tz)
        and _is_midnight(meeting.ends_at, tz)
    )
    return CalendarItem(MEETING, meeting, meeting.starts_at, meeting.ends_at, all_day)


def task_item(task: Task, tz: datetime.tzinfo) -> CalendarItem:
    return CalendarItem(TASK, task, task.due_at, None, _is_midnight(task.due_at, tz))


def _days_of(item: CalendarItem, tz: datetime.tzinfo) -> list[datetime.date]:
    """The local days ``item`` overlaps: its start day, and the next ones a meeting runs
    into (an end at midnight does not reach into that day)."""
    first = item.starts_at.astimezone(tz).date()
    if item.ends_at is None:
        return [first]
    last = (item.ends_at.astimezone(tz) - datetime.timedelta(microseconds=1)).date()
    return [first + datetime.timedelta(days=n) for n in range(max((last - first).days, 0) + 1)]


@dataclass
class Day:
    date: datetime.date
    is_today: bool
    items: list[CalendarItem] = field(default_factory=list)

    @property
    def all_day_items(self) -> list[CalendarItem]:
        return [item for item in self.items if item.all_day]

    @property
    def timed_items(self) -> list[CalendarItem]:
        return [item for item in self.items if not item.all_day]


def _sort_key(item: CalendarItem) -> tuple:
    return (not item.all_day, item.starts_at, item.kind, item.obj.pk)


def days_between(
    user: User,
    first: datetime.date,
    last: datetime.date,
    tz: datetime.tzinfo,
    *,
    today: datetime.date,
    keep_empty: bool,
) -> list[Day]:
    """My meetings and open tasks from ``first`` to ``last`` (local days, inclusive) in
    ``tz``, by day; each day's all-day items first, then the rest by time. Two queries,
    however many items."""
    start = local_midnight(first, tz)
    end = local_midnight(last + datetime.timedelta(days=1), tz)
    items = [meeting_item(meeting, tz) for meeting in meetings_between(user, start, end)]
    items += [task_item(task, tz) for task in tasks_between(user, start, end)]
    by_day: dict[datetime.date, list[CalendarItem]] = defaultdict(list)
    for item in items:
        for day in _days_of(item, tz):
            if first <= day <= last:
                by_day[day].append(item)
    days = []
    for offset in range((last - first).days + 1):
        date = first + datetime.timedelta(days=offset)
        if keep_empty or by_day.get(date):
            days.append(Day(date, date == today, sorted(by_day.get(date, []), key=_sort_key)))
    return days


def feed_items(user: User, now: datetime.datetime) -> tuple[list[Activity], list[Task]]:
    """What a user's feed serves: their meetings and open tasks from ``FEED_PAST`` before
    ``now`` to ``FEED_FUTURE`` after, at most ``FEED_MAX_ITEMS`` of each."""
    start, end = now - FEED_PAST, now + FEED_FUTURE
    meetings = meetings_between(user, start, end).prefetch_related(
        "attendees__user", "attendees__contact"
    )
    return list(meetings[:FEED_MAX_ITEMS]), list(tasks_between(user, start, end)[:FEED_MAX_ITEMS])


# Who an imported event's addresses are


def contacts_by_email(user: User, emails: Iterable[str]) -> dict[str, Contact]:
    """The contact ``user`` may see for each address of ``emails`` that one has (the
    oldest, when several share it). One query."""
    wanted = {email.lower() for email in emails if email}
    if not wanted:
        return {}
    visible = scope(Contact.objects.all(), user)
    rows = (
        ContactEmail.objects.filter(email__in=wanted, contact__in=visible)
        .select_related("contact")
        .order_by("contact_id")
    )
    found: dict[str, Contact] = {}
    for row in rows:
        found.setdefault(row.email.lower(), row.contact)
    return found


def users_by_email(emails: Iterable[str]) -> dict[str, User]:
    """The active colleagues among ``emails``, by lower-cased address. One query."""
    wanted = {email.lower() for email in emails if email}
    if not wanted:
        return {}
    users = User.objects.annotate(email_lower=Lower("email")).filter(
        email_lower__in=wanted, is_active=True
    )
    return {user.email_lower: user for user in users}


def visible_contact_ids(user: User, ids: Iterable[int]) -> set[int]:
    """Which of the contacts ``ids`` ``user`` may see. One query."""
    wanted = set(ids)
    if not wanted:
        return set()
    return set(scope(Contact.objects.filter(pk__in=wanted), user).values_list("pk", flat=True))


# Reviewing an import


@dataclass(frozen=True)
class ReviewRow:
    """An event of an imported file as the review shows it: which of its addresses are
    contacts the reader may see, which colleagues, and the others; and the meeting it
    became if it was imported before."""

    event: ParsedEvent
    contacts: list[Contact]
    users: list[User]
    others: list[str]
    imported_activity_id: int | None


def _unique(records: Iterable[models.Model]) -> list:
    return list({(type(record), record.pk): record for record in records}.values())


def review_rows(user: User, events: Sequence[ParsedEvent]) -> list[ReviewRow]:
    """A row per event; three queries, however many events."""
    emails = {email for event in events for email in event.emails}
    contacts = contacts_by_email(user, emails)
    users = users_by_email(emails)
    imported = dict(
        ImportedEvent.objects.filter(
            user=user, uid_digest__in=[event.uid_digest for event in events]
        ).values_list("uid_digest", "activity_id")
    )
    return [
        ReviewRow(
            event=event,
            contacts=_unique(contacts[e] for e in event.emails if e in contacts),
            users=[users[e] for e in event.emails if e in users],
            others=[e for e in event.emails if e not in contacts and e not in users],
            imported_activity_id=imported.get(event.uid_digest),
        )
        for event in events
    ]


def link_candidates(
    user: User, record: models.Model | None, rows: Sequence[ReviewRow]
) -> list[models.Model]:
    """The records an import offers to link every meeting to: ``record`` (the one it was
    started from), the contacts found in the file, and those of their companies ``user``
    may see."""
    found = _unique(contact for row in rows for contact in row.contacts)
    company_ids = {contact.company_id for contact in found if contact.company_id}
    companies = list(scope(Company.objects.filter(pk__in=company_ids), user)) if company_ids else []
    return _unique([*([record] if record is not None else []), *found, *companies])
