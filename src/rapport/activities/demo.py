"""Demo activities: a short history per demo contact — calls, emails, notes, meetings
(some still to come), chats, social messages and visits — by the contact's owner,
on the timelines of the contact and of their company.

Like the contacts (``contacts.demo``), rows go in with ``core.bulk`` rather than
through the services, then the contacts' and companies' "last contacted" and
"next activity" dates are computed in one UPDATE each and the search index is
rebuilt. Only the first ``MAX_CONTACTS`` contacts get a history, so a
million-contact benchmark load stays quick. The same seed builds the same rows.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from django.utils import timezone

from rapport.accounts.models import User
from rapport.activities.engagement import refresh_from_activities
from rapport.activities.models import (
    Activity,
    ActivityKind,
    ActivityLink,
    CallOutcome,
    Direction,
    MeetingAttendee,
    MessageChannel,
)
from rapport.contacts.models import Company, Contact
from rapport.core import bulk, search
from rapport.core.models import SearchEntry

MAX_CONTACTS = 20_000
MOST_PER_CONTACT = 5
HISTORY_DAYS = 365
UPCOMING_DAYS = 30
SHARE_UPCOMING = 0.3
KIND_WEIGHTS = {
    ActivityKind.CALL: 30,
    ActivityKind.EMAIL: 25,
    ActivityKind.NOTE: 18,
    ActivityKind.MEETING: 14,
    ActivityKind.CHAT: 6,
    ActivityKind.SOCIAL: 3,
    ActivityKind.VISIT: 4,
}
KIND_CUMULATIVE = list(accumulate(KIND_WEIGHTS.values()))
CALLS = [
    ("Discovery call", "Walked through their current process; three people use spreadsheets."),
    ("Follow-up on the quote", "They want the support plan priced per year, not per month."),
    ("Renewal check-in", "Happy with the service. Renewal goes to the board in the autumn."),
    ("Pricing questions", "Asked about volume discounts above 50 seats."),
    ("", "Left a message with the assistant."),
]
EMAILS = [
    ("Your quote", "Please find the quote attached. It is valid for 30 days."),
    ("Re: Product demo", "Thanks for the demo yesterday. Could you send the slides?"),
    ("Onboarding next steps", "Here is the plan for the first two weeks."),
    ("Invoice question", "The last invoice lists the wrong purchase order number."),
]
NOTES = [
    "Prefers email over phone calls.\nBest reached in the mornings.",
    "Budget approved for next quarter; decision expected next month.",
    "Asked for a case study from their industry.",
    "Met at the trade fair; interested in the support plans.",
    "New head of purchasing starts in March: introduce ourselves.",
]
MEETINGS = [
    ("Product demo", "Video call"),
    ("Quarterly business review", "Their office"),
    ("Contract negotiation", "Our office, room 2"),
    ("Kick-off workshop", "Video call"),
]
CHATS = [
    "Can we move tomorrow's call to 3 pm?",
    "The delivery arrived, thank you!",
    "Is the new price list out yet?",
]
VISITS = ["Site visit at the warehouse", "Lunch near their office", "Tour of the new plant"]
CHAT_CHANNELS = [MessageChannel.SMS, MessageChannel.WHATSAPP, MessageChannel.LIVE_CHAT]
SOCIAL_CHANNELS = [MessageChannel.LINKEDIN, MessageChannel.X]
# Every row names every field (``bulk.insert`` needs it); a kind fills in its own.
BLANK: dict[str, Any] = {
    "subject": "",
    "body": "",
    "direction": "",
    "duration_seconds": None,
    "outcome": "",
    "email_from": "",
    "email_to": [],
    "email_cc": [],
    "message_id": "",
    "thread_id": "",
    "starts_at": None,
    "ends_at": None,
    "location": "",
    "channel": "",
    "mentions": [],
}


@dataclass(frozen=True)
class Person:
    id: int
    owner_id: int | None
    team_id: int | None
    company_id: int | None
    email: str


class Builder:
    """Draws one contact's history with one seeded ``Random``."""

    def __init__(self, seed: int, owner_emails: dict[int, str]) -> None:
        self.rng = random.Random(seed)
        self.now = timezone.now()
        self.owner_emails = owner_emails

    def past(self) -> datetime.datetime:
        return self.now - datetime.timedelta(seconds=self.rng.randrange(HISTORY_DAYS * 86_400))

    def future(self) -> datetime.datetime:
        hours = self.rng.randrange(1, UPCOMING_DAYS * 24)
        return (self.now + datetime.timedelta(hours=hours)).replace(minute=0, second=0)

    def kind(self) -> str:
        return self.rng.choices(list(KIND_WEIGHTS), cum_weights=KIND_CUMULATIVE)[0]

    def fields(self, kind: str, person: Person) -> dict[str, Any]:
        """The kind's own fields of one activity, its time included."""
        rng = self.rng
        if kind == ActivityKind.CALL:
            subject, body = rng.choice(CALLS)
            return {
                "subject": subject,
                "body": body,
                "direction": rng.choice(Direction.values),
                "duration_seconds": rng.randrange(60, 45 * 60),
                "outcome": CallOutcome.CONNECTED if body else CallOutcome.VOICEMAIL,
            }
        if kind == ActivityKind.EMAIL:
            subject, body = rng.choice(EMAILS)
            ours = self.owner_emails.get(person.owner_id or 0, "sales@example.com")
            inbound = rng.random() < 0.5
            sender, recipient = (person.email, ours) if inbound else (ours, person.email)
            return {
                "subject": subject,
                "body": body,
                "direction": Direction.INBOUND if inbound else Direction.OUTBOUND,
                "email_from": sender,
                "email_to": [recipient],
            }
        if kind == ActivityKind.MEETING:
            subject, location = rng.choice(MEETINGS)
            start = self.future() if rng.random() < SHARE_UPCOMING else self.past()
            end = start + datetime.timedelta(minutes=rng.choice([30, 45, 60, 90]))
            return {
                "subject": subject,
                "location": location,
                "starts_at": start,
                "ends_at": end,
                "occurred_at": start,
            }
        if kind in (ActivityKind.CHAT, ActivityKind.SOCIAL):
            channels = CHAT_CHANNELS if kind == ActivityKind.CHAT else SOCIAL_CHANNELS
            return {
                "body": rng.choice(CHATS),
                "direction": rng.choice(Direction.values),
                "channel": rng.choice(channels),
            }
        if kind == ActivityKind.VISIT:
            return {"subject": rng.choice(VISITS), "location": ""}
        return {"body": rng.choice(NOTES)}

    def history(self, person: Person) -> list[dict[str, Any]]:
        rows = []
        for _number in range(self.rng.randint(1, MOST_PER_CONTACT)):
            kind = self.kind()
            fields = self.fields(kind, person)
            at = fields.pop("occurred_at", None) or self.past()
            rows.append(
                {
                    "kind": kind,
                    "occurred_at": at,
                    "created_at": min(at, self.now),
                    "owner_id": person.owner_id,
                    "team_id": person.team_id,
                    "created_by_id": person.owner_id,
                    **BLANK,
                    **fields,
                }
            )
        return rows


def _people() -> list[Person]:
    rows = Contact.objects.order_by("id").values_list(
        "id", "owner_id", "team_id", "company_id", "email"
    )[:MAX_CONTACTS]
    return [Person(*row) for row in rows]


def _links_and_attendees(
    rows: list[dict[str, Any]], people: list[Person]
) -> tuple[list[dict], list[dict]]:
    links, attendees = [], []
    for row, person in zip(rows, people, strict=True):
        targets = [("contacts.contact", person.id)]
        if person.company_id:
            targets.append(("contacts.company", person.company_id))
        links += [
            {
                "activity_id": row["id"],
                "object_type": kind,
                "object_id": pk,
                "occurred_at": row["occurred_at"],
            }
            for kind, pk in targets
        ]
        if row["kind"] == ActivityKind.MEETING:
            attendees.append({"activity_id": row["id"], "user_id": None, "contact_id": person.id})
            if person.owner_id:
                attendees.append(
                    {"activity_id": row["id"], "user_id": person.owner_id, "contact_id": None}
                )
    return links, attendees


def load(*, seed: int) -> None:
    """Give each of the first ``MAX_CONTACTS`` demo contacts a few activities."""
    people = _people()
    if not people:
        return
    builder = Builder(seed, dict(User.objects.values_list("id", "email")))
    rows, people_of_rows = [], []
    for person in people:
        history = builder.history(person)
        rows += history
        people_of_rows += [person] * len(history)
    for pk, row in zip(bulk.reserve_ids(Activity, len(rows)), rows, strict=True):
        row["id"] = pk
    links, attendees = _links_and_attendees(rows, people_of_rows)
    with bulk.without_indexes(Activity, ActivityLink, MeetingAttendee):
        bulk.insert(Activity, rows)
        bulk.insert(ActivityLink, links)
        bulk.insert(MeetingAttendee, attendees)
    bulk.reset_sequences(Activity, ActivityLink, MeetingAttendee)
    last_person = people[-1].id
    refresh_from_activities(Contact._base_manager.filter(pk__lte=last_person))
    companies = sorted({person.company_id for person in people if person.company_id})
    refresh_from_activities(Company._base_manager.filter(pk__in=companies))
    with bulk.without_indexes(SearchEntry):
        search.reindex(Activity)
    bulk.analyze(Activity, ActivityLink, MeetingAttendee, SearchEntry)
