"""API input and output of email out: templates, and the emails sent to contacts."""

from __future__ import annotations

import datetime

from ninja import Field, Schema

from rapport.contacts.schemas import partial
from rapport.mail.models import DeliveryStatus, InboundOutcome, OutgoingEmail

MERGE_NOTE = "Merge fields such as {{ contact.first_name }} (see docs/email.md)."


class TemplateOut(Schema):
    id: int
    name: str
    subject: str
    body: str
    shared: bool = Field(description="Offered to everyone; only admins change it.")
    owner: int | None = Field(alias="owner_id")
    created_at: datetime.datetime
    updated_at: datetime.datetime


class TemplateIn(Schema):
    name: str
    subject: str = Field(description=MERGE_NOTE)
    body: str = Field(description=MERGE_NOTE)
    shared: bool = Field(False, description="Admins only.")


TemplatePatch = partial(TemplateIn, "TemplatePatch")


class EmailIn(Schema):
    template: int | None = Field(
        None, description="A template's id: its subject and text unless given here."
    )
    to: str | None = Field(
        None, description="One of the contact's addresses; the primary one if left out."
    )
    cc: list[str] = Field(default_factory=list, description="Addresses to copy.")
    subject: str | None = Field(None, description=MERGE_NOTE)
    body: str | None = Field(None, description=MERGE_NOTE)
    replying_to: int | None = Field(
        None,
        description="The id of a logged email this one answers: it joins that email's "
        "thread and quotes it.",
    )


class EmailOut(Schema):
    id: int = Field(description="The email's activity id (GET /activities/{id}).")
    status: DeliveryStatus = Field(
        description="queued, sending, sent, or failed (last_error says why)."
    )
    attempts: int
    last_error: str = Field(description="Why the last attempt failed.")
    sent_at: datetime.datetime | None
    next_attempt_at: datetime.datetime | None = Field(description="While queued.")
    template: int | None = Field(alias="template_id")
    subject: str
    body: str
    email_from: str = Field(description="The sender's address, which replies go to.")
    email_to: list[str]
    email_cc: list[str]
    message_id: str
    thread_id: str
    occurred_at: datetime.datetime

    @staticmethod
    def resolve_id(email: OutgoingEmail) -> int:
        return email.activity_id

    @staticmethod
    def resolve_next_attempt_at(email: OutgoingEmail) -> datetime.datetime | None:
        return email.next_attempt_at if email.status == DeliveryStatus.QUEUED else None

    @staticmethod
    def resolve_subject(email: OutgoingEmail) -> str:
        return email.activity.subject

    @staticmethod
    def resolve_body(email: OutgoingEmail) -> str:
        return email.activity.body

    @staticmethod
    def resolve_email_from(email: OutgoingEmail) -> str:
        return email.activity.email_from

    @staticmethod
    def resolve_email_to(email: OutgoingEmail) -> list[str]:
        return email.activity.email_to

    @staticmethod
    def resolve_email_cc(email: OutgoingEmail) -> list[str]:
        return email.activity.email_cc

    @staticmethod
    def resolve_message_id(email: OutgoingEmail) -> str:
        return email.activity.message_id

    @staticmethod
    def resolve_thread_id(email: OutgoingEmail) -> str:
        return email.activity.thread_id

    @staticmethod
    def resolve_occurred_at(email: OutgoingEmail) -> datetime.datetime:
        return email.activity.occurred_at


class InboundOut(Schema):
    id: int = Field(description="The record of what became of the message.")
    outcome: InboundOutcome = Field(
        description="logged, duplicate (already on the timeline), unmatched (no contact "
        "has its addresses) or rejected (reason says why)."
    )
    reason: str
    message_id: str
    activity: int | None = Field(
        alias="activity_id", description="The email's activity, once logged."
    )
