"""Demo tasks: a realistic to-do history per demo contact — open tasks overdue, due
today and upcoming, some undated, and done or cancelled ones — mostly the contact
owner's own, some given to their team, some asked of them by their team's manager
or by the admin; linked to the contact and often their company; some repeating,
some with reminders.

Like the activities (``activities.demo``), rows go in with ``core.bulk`` rather
than through the services, for the first ``MAX_CONTACTS`` contacts only, so a
million-contact load stays quick. Reminders already due count as sent, so a
worker starting on the demo does not send hundreds at once. The records' "next
activity" then takes in their next open task, as ``tasks.engagement`` has the
services do. The same seed builds the same rows.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from django.utils import timezone

from rapport.accounts.demo import DEMO_ADMIN_EMAIL
from rapport.accounts.models import Team, User
from rapport.contacts.models import Company, Contact
from rapport.core import bulk
from rapport.notifications.digest import user_zone
from rapport.tasks.engagement import include_open_tasks
from rapport.tasks.models import OPEN_STATUSES, Priority, Recurrence, Status, Task, TaskLink
from rapport.tasks.queries import end_of_today

MAX_CONTACTS = 20_000
MOST_PER_CONTACT = 3
SHARE_WITH_TASKS = 0.6
SHARE_LINKED_TO_COMPANY = 0.5
SHARE_REPEATING = 0.1
SHARE_WITH_REMINDER = 0.35
SHARE_WITH_DESCRIPTION = 0.3
HISTORY_DAYS = 180
UPCOMING_DAYS = 45
OVERDUE_DAYS = 14
STATUS_WEIGHTS = {
    Status.OPEN: 52,
    Status.IN_PROGRESS: 6,
    Status.DONE: 37,
    Status.CANCELLED: 5,
}
# When an open task is due.
DUE_WEIGHTS = {"overdue": 20, "today": 15, "upcoming": 45, "undated": 20}
# Who does it: the contact's owner, their team, or the owner asked by their manager or
# by the admin; or the admin, asked by the owner.
ASSIGNMENT_WEIGHTS = {"own": 68, "team": 14, "by_manager": 10, "by_admin": 4, "to_admin": 4}
PRIORITY_WEIGHTS = {Priority.LOW: 15, Priority.NORMAL: 60, Priority.HIGH: 20, Priority.URGENT: 5}
REMINDER_MINUTES = [0, 10, 30, 60, 60 * 24]
REPEATS = [(Recurrence.WEEKLY, 1), (Recurrence.WEEKLY, 2), (Recurrence.MONTHLY, 1)]
TITLES = [
    "Call {first} back about the quote",
    "Send {first} the proposal",
    "Follow up on the demo with {first}",
    "Prepare the renewal offer for {name}",
    "Book the quarterly review with {first}",
    "Check the open invoice of {name}",
    "Introduce {first} to the support team",
    "Ask {first} for a case study",
    "Confirm the delivery date with {first}",
    "Update {name}'s contract details",
]
REPEATING_TITLES = [
    "Weekly check-in with {first}",
    "Send {first} the usage report",
    "Review {name}'s account health",
]
DESCRIPTIONS = [
    "They asked for the figures before their board meeting.",
    "Mention the volume discount above 50 seats.",
    "Use the new price list.",
    "Bring the signed order form.",
    "Check with finance first.",
]


@dataclass(frozen=True)
class Person:
    id: int
    first_name: str
    last_name: str
    owner_id: int | None
    team_id: int | None
    company_id: int | None


def _cumulative(weights: dict[Any, int]) -> tuple[list[Any], list[int]]:
    return list(weights), list(accumulate(weights.values()))


class Builder:
    """Draws one contact's tasks with one seeded ``Random``."""

    def __init__(self, seed: int, *, admin_id: int | None) -> None:
        self.rng = random.Random(seed)
        self.now = timezone.now()
        self.admin_id = admin_id
        self.managers = dict(Team.objects.values_list("id", "manager_id"))
        self.zones = {user.pk: user_zone(user) for user in User.objects.only("timezone")}
        self.weights = {
            name: _cumulative(weights)
            for name, weights in (
                ("status", STATUS_WEIGHTS),
                ("due", DUE_WEIGHTS),
                ("assignment", ASSIGNMENT_WEIGHTS),
                ("priority", PRIORITY_WEIGHTS),
            )
        }

    def weighted(self, name: str) -> Any:
        values, cumulative = self.weights[name]
        return self.rng.choices(values, cum_weights=cumulative)[0]

    def quarter_hour(self, moment: datetime.datetime) -> datetime.datetime:
        return moment.replace(minute=moment.minute // 15 * 15, second=0, microsecond=0)

    def end_of_today(self, user_id: int | None) -> datetime.datetime:
        """Midnight after now where the task's assignee lives, so "today" is their today."""
        with timezone.override(self.zones.get(user_id, datetime.UTC)):
            return end_of_today(self.now)

    def due(self, status: str, assignee_id: int | None) -> datetime.datetime | None:
        rng, now = self.rng, self.now
        if status not in OPEN_STATUSES:
            return self.quarter_hour(
                now - datetime.timedelta(minutes=rng.randrange(60, HISTORY_DAYS * 1440))
            )
        when = self.weighted("due")
        if when == "undated":
            return None
        if when == "overdue":
            return self.quarter_hour(
                now - datetime.timedelta(minutes=rng.randrange(30, OVERDUE_DAYS * 1440))
            )
        midnight = self.end_of_today(assignee_id)
        soonest = now + datetime.timedelta(minutes=30)
        if when == "today" and midnight - soonest > datetime.timedelta(minutes=15):
            # One draw whatever the hour, so the same seed draws the same tasks after it.
            return soonest + (midnight - soonest) * rng.random()
        return self.quarter_hour(
            midnight + datetime.timedelta(minutes=rng.randrange(8 * 60, UPCOMING_DAYS * 1440))
        )

    def assignment(self, person: Person) -> dict[str, Any]:
        """Who asked for the task (its owner) and who does it (a user or a team)."""
        rep = person.owner_id
        kind = self.weighted("assignment")
        manager = self.managers.get(person.team_id)
        if kind == "team" and person.team_id is not None:
            return {"owner_id": rep, "assignee_id": None, "assignee_team_id": person.team_id}
        if kind == "by_manager" and manager not in (None, rep):
            return {"owner_id": manager, "assignee_id": rep, "assignee_team_id": None}
        if kind == "by_admin" and self.admin_id is not None:
            return {"owner_id": self.admin_id, "assignee_id": rep, "assignee_team_id": None}
        if kind == "to_admin" and self.admin_id is not None:
            return {"owner_id": rep, "assignee_id": self.admin_id, "assignee_team_id": None}
        return {"owner_id": rep, "assignee_id": rep, "assignee_team_id": None}

    def task(self, person: Person) -> dict[str, Any]:
        rng, now = self.rng, self.now
        who = self.assignment(person)
        status = self.weighted("status")
        due = self.due(status, who["assignee_id"])
        recurrence, interval = Recurrence.NONE, 1
        if due is not None and status in OPEN_STATUSES and rng.random() < SHARE_REPEATING:
            recurrence, interval = rng.choice(REPEATS)
            title = rng.choice(REPEATING_TITLES)
        else:
            title = rng.choice(TITLES)
        reminder = None
        if due is not None and rng.random() < SHARE_WITH_REMINDER:
            reminder = rng.choice(REMINDER_MINUTES)
        remind_at = None
        if reminder is not None and status in OPEN_STATUSES:
            remind_at = due - datetime.timedelta(minutes=reminder)
        created = min(due or now, now) - datetime.timedelta(minutes=rng.randrange(60, 30 * 1440))
        completed = None
        if status == Status.DONE:
            completed = min(due + datetime.timedelta(minutes=rng.randrange(-2 * 1440, 1440)), now)
            completed = max(completed, created)
        name = f"{person.first_name} {person.last_name}".strip()
        return {
            **who,
            "title": title.format(first=person.first_name or name, name=name)[:200],
            "description": rng.choice(DESCRIPTIONS)
            if rng.random() < SHARE_WITH_DESCRIPTION
            else "",
            "due_at": due,
            "priority": self.weighted("priority"),
            "status": status,
            "completed_at": completed,
            "recurrence": recurrence,
            "recurrence_interval": interval,
            "reminder_minutes": reminder,
            "remind_at": remind_at,
            # A reminder already due counts as sent: the demo's past is over.
            "reminded_at": remind_at if remind_at is not None and remind_at <= now else None,
            "team_id": person.team_id,
            "created_by_id": who["owner_id"],
            "updated_by_id": who["owner_id"],
            "created_at": created,
            "updated_at": completed or created,
            "deleted_at": None,
            "deleted_by_id": None,
            "version": 1,
            "custom": {},
        }

    def tasks(self, person: Person) -> list[dict[str, Any]]:
        if person.owner_id is None or self.rng.random() >= SHARE_WITH_TASKS:
            return []
        return [self.task(person) for _number in range(self.rng.randint(1, MOST_PER_CONTACT))]


def _people() -> list[Person]:
    rows = Contact.objects.order_by("id").values_list(
        "id", "first_name", "last_name", "owner_id", "team_id", "company_id"
    )[:MAX_CONTACTS]
    return [Person(*row) for row in rows]


def _links(rows: list[dict[str, Any]], people: list[Person], rng: random.Random) -> list[dict]:
    links = []
    for row, person in zip(rows, people, strict=True):
        links.append(
            {"task_id": row["id"], "object_type": "contacts.contact", "object_id": person.id}
        )
        if person.company_id and rng.random() < SHARE_LINKED_TO_COMPANY:
            links.append(
                {
                    "task_id": row["id"],
                    "object_type": "contacts.company",
                    "object_id": person.company_id,
                }
            )
    return links


def load(*, seed: int) -> None:
    """Give some of the first ``MAX_CONTACTS`` demo contacts a few tasks."""
    people = _people()
    if not people:
        return
    admin_id = User.objects.filter(email=DEMO_ADMIN_EMAIL).values_list("id", flat=True).first()
    builder = Builder(seed, admin_id=admin_id)
    rows, people_of_rows = [], []
    for person in people:
        drawn = builder.tasks(person)
        rows += drawn
        people_of_rows += [person] * len(drawn)
    if not rows:
        return
    for pk, row in zip(bulk.reserve_ids(Task, len(rows)), rows, strict=True):
        row["id"] = pk
    links = _links(rows, people_of_rows, builder.rng)
    with bulk.without_indexes(Task, TaskLink):
        bulk.insert(Task, rows)
        bulk.insert(TaskLink, links)
    bulk.reset_sequences(Task, TaskLink)
    include_open_tasks(Contact._base_manager.filter(pk__lte=people[-1].id))
    companies = sorted({person.company_id for person in people if person.company_id})
    include_open_tasks(Company._base_manager.filter(pk__in=companies))
    bulk.analyze(Task, TaskLink)
