"""API of a contact's consents and data-subject requests. Thin: schema → privacy
services. A contact the caller may not see answers 404; recording a consent needs
the right to edit the contact; exports and erasure are for admins."""

from __future__ import annotations

import datetime
import uuid
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.responses import Status

from rapport.contacts.models import Contact
from rapport.core.api import actor, current_user, problems
from rapport.core.permissions import get_visible_or_404
from rapport.privacy import consent, exports
from rapport.privacy.erasure import erase_person
from rapport.privacy.models import ConsentEvent, ConsentMethod, Purpose

router = Router(tags=["privacy"])
EVENTS_SHOWN = 500

PurposeName = Literal["email_marketing", "phone", "sms", "profiling"]


class ConsentEventOut(Schema):
    id: int
    purpose: str
    granted: bool
    at: datetime.datetime
    method: str
    proof: str
    actor_id: int | None
    source_ref: str


class ConsentStateOut(Schema):
    purpose: str
    granted: bool | None
    at: datetime.datetime | None
    may_contact: bool


class ConsentsOut(Schema):
    state: list[ConsentStateOut]
    events: list[ConsentEventOut] = Field(description="Latest first, at most 500.")


class ConsentIn(Schema):
    purpose: PurposeName
    granted: bool
    method: Literal["api", "import", "form"] = "api"
    proof: str = Field("", max_length=10_000)
    at: datetime.datetime | None = Field(None, description="When it was given; now if left out.")
    source_ref: str = Field("", max_length=200)


class ErasureIn(Schema):
    confirmation: str = Field(description="ERASE, or the contact's full name.")


class ErasureOut(Schema):
    id: int
    object_id: int
    erased_at: datetime.datetime
    counts: dict


class JobStartedOut(Schema):
    id: uuid.UUID
    url: str


def _contact(request: HttpRequest, contact_id: int) -> Contact:
    return get_visible_or_404(Contact.objects.all(), current_user(request), pk=contact_id)


@router.get("/contacts/{int:contact_id}/consents", response={200: ConsentsOut, **problems(404)})
def consents_read(request: HttpRequest, contact_id: int) -> dict:
    """The contact's current consent per purpose (``may_contact`` also honours their
    do-not flags) and the ledger of consent events."""
    contact = _contact(request, contact_id)
    return {
        "state": [
            {
                "purpose": state.purpose.value,
                "granted": state.granted,
                "at": state.at,
                "may_contact": state.may_contact,
            }
            for state in consent.consent_state(contact)
        ],
        "events": list(consent.history(contact)[:EVENTS_SHOWN]),
    }


@router.post(
    "/contacts/{int:contact_id}/consents",
    response={201: ConsentEventOut, **problems(403, 404, 422)},
)
def consents_record(request: HttpRequest, contact_id: int, data: ConsentIn) -> Status:
    """Append a consent event (the ledger is append-only: to change a consent, record
    a new event). A ``source_ref`` already recorded returns that event."""
    contact = _contact(request, contact_id)
    event: ConsentEvent = consent.record_consent(
        actor=actor(request),
        contact=contact,
        purpose=Purpose(data.purpose),
        granted=data.granted,
        method=ConsentMethod(data.method),
        proof=data.proof,
        at=data.at,
        source_ref=data.source_ref,
    )
    return Status(201, event)


@router.post(
    "/contacts/{int:contact_id}/erasure", response={200: ErasureOut, **problems(403, 404, 422)}
)
def erasure_create(request: HttpRequest, contact_id: int, data: ErasureIn) -> object:
    """Erase the person (admins only): see the privacy documentation. Cannot be undone."""
    contact = _contact(request, contact_id)
    return erase_person(contact=contact, actor=actor(request), confirmation=data.confirmation)


@router.post(
    "/contacts/{int:contact_id}/privacy-export",
    response={202: JobStartedOut, **problems(403, 404)},
)
def export_create(request: HttpRequest, contact_id: int) -> Status:
    """Start exporting everything held about the person (admins only); poll the job at
    ``url`` and download its file from ``url``/download when it succeeded."""
    contact = _contact(request, contact_id)
    job = exports.export_start(actor=actor(request), contact=contact)
    return Status(202, {"id": job.pk, "url": f"/api/v1/jobs/{job.pk}"})
