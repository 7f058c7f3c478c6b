"""API input and output of activities.

An activity names its records as ``links``: ``{"object_type": "contacts.contact",
"object_id": 3}``. Times without an offset are read in the caller's time zone.
Fields of another kind than the activity's stay empty (``""``, ``[]`` or null).
"""

from __future__ import annotations

import datetime
from typing import Annotated

from ninja import Field, Schema

from rapport.activities.links import MAX_ID
from rapport.activities.models import (
    Activity,
    ActivityKind,
    CallOutcome,
    Direction,
    MessageChannel,
)
from rapport.contacts.schemas import Blank, partial
from rapport.core.api import RecordOut

Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class LinkIO(Schema):
    object_type: str = Field(description="The record's type, e.g. contacts.contact.")
    object_id: Id


class ActivityOut(RecordOut):
    id: int
    kind: ActivityKind
    subject: str
    body: str
    occurred_at: datetime.datetime = Field(description="For a meeting, its start.")
    direction: Direction | Blank
    duration_seconds: int | None = Field(description="Calls.")
    outcome: CallOutcome | Blank = Field(description="Calls.")
    email_from: str = Field(description="Emails.")
    email_to: list[str] = Field(description="Emails.")
    email_cc: list[str] = Field(description="Emails.")
    message_id: str = Field(description="Emails: the Message-ID header.")
    thread_id: str = Field(description="Emails: the conversation it belongs to.")
    starts_at: datetime.datetime | None = Field(description="Meetings.")
    ends_at: datetime.datetime | None = Field(description="Meetings.")
    location: str = Field(description="Meetings and visits.")
    channel: MessageChannel | Blank = Field(description="Chats, SMS and social messages.")
    links: list[LinkIO]
    attendee_users: list[int] = Field(description="Meetings: ids of colleagues attending.")
    attendee_contacts: list[int] = Field(description="Meetings: ids of contacts attending.")
    mentions: list[int] = Field(description="Ids of the users the text mentions.")
    owner: int | None = Field(alias="owner_id", description="The user who had the interaction.")
    team: int | None = Field(alias="team_id")
    private_to_user: int | None = Field(
        alias="private_to_user_id",
        description="Emails from a mailbox that is not shared: only this user sees it.",
    )
    private_to_team: int | None = Field(
        alias="private_to_team_id",
        description="Emails from a team mailbox that is not shared: only its members see it.",
    )
    version: int
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @staticmethod
    def resolve_links(activity: Activity) -> list[dict]:
        return [
            {"object_type": link.object_type, "object_id": link.object_id}
            for link in activity.links.all()
        ]

    @staticmethod
    def resolve_attendee_users(activity: Activity) -> list[int]:
        return [a.user_id for a in activity.attendees.all() if a.user_id is not None]

    @staticmethod
    def resolve_attendee_contacts(activity: Activity) -> list[int]:
        return [a.contact_id for a in activity.attendees.all() if a.contact_id is not None]


class ActivityFields(Schema):
    """The fields of an activity that create and update share."""

    subject: str = ""
    body: str = Field("", description="Text; @username mentions that user (not in emails).")
    occurred_at: datetime.datetime | None = Field(
        None, description="When it happened; now if left out. A meeting's is its start."
    )
    direction: Direction | Blank = ""
    duration_seconds: int | None = None
    outcome: CallOutcome | Blank = ""
    email_from: str = ""
    email_to: list[str] = Field(default_factory=list)
    email_cc: list[str] = Field(default_factory=list)
    message_id: str = ""
    thread_id: str = ""
    starts_at: datetime.datetime | None = None
    ends_at: datetime.datetime | None = None
    location: str = ""
    channel: MessageChannel | Blank = ""
    owner: Id | None = Field(None, description="A user id; you by default.")
    team: Id | None = Field(None, description="A team id.")
    links: list[LinkIO] = Field(
        default_factory=list, description="The records it is about: at least one."
    )
    attendee_users: list[Id] = Field(default_factory=list, description="Meetings: user ids.")
    attendee_contacts: list[Id] = Field(
        default_factory=list, description="Meetings: contact ids; they are linked too."
    )
    mentions: list[Id] = Field(
        default_factory=list, description="User ids to mention besides the @usernames."
    )


class ActivityIn(ActivityFields):
    """A new activity of ``kind``, linked to one record or more."""

    kind: ActivityKind


ActivityPatch = partial(ActivityFields, "ActivityPatch")


class ActivityFilters(Schema):
    object_type: str | None = Field(
        None, description="With object_id: the activities of this record, e.g. contacts.contact."
    )
    object_id: Id | None = None
    kind: list[ActivityKind] | None = Field(None, description="Any of these kinds (repeat).")
