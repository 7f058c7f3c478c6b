"""The consent ledger's verbs and reads (see ``privacy.models``).

``record_consent`` appends an event and moves the contact's current state for that
purpose to it when it is the latest; ``consenting_contacts`` is what sending
features use to pick their audience, and ``may_contact`` answers for one contact.
Both also honour the contact's own do-not flags, which win over any consent.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.contacts.models import Contact
from rapport.core.actors import Actor
from rapport.core.audit import audit_log
from rapport.core.events import emit
from rapport.core.models import AuditAction, OutboxEvent, Source
from rapport.core.permissions import require
from rapport.privacy.models import ConsentEvent, ConsentMethod, ConsentState, Purpose

MAX_PROOF_CHARS = 10_000
MAX_SOURCE_REF_CHARS = 200
# Clients' clocks run a little ahead of ours.
CLOCK_SKEW = datetime.timedelta(minutes=5)

# The contact's own flag that forbids a purpose whatever the ledger says.
DO_NOT_FLAGS: dict[str, str] = {
    Purpose.EMAIL_MARKETING: "do_not_email",
    Purpose.PHONE: "do_not_call",
    Purpose.SMS: "do_not_sms",
}


@dataclass(frozen=True)
class PurposeState:
    purpose: Purpose
    granted: bool | None  # None: never asked
    at: datetime.datetime | None
    blocked_by_flag: bool

    @property
    def may_contact(self) -> bool:
        return bool(self.granted) and not self.blocked_by_flag


def _clean(
    purpose: str, method: str, proof: str, source_ref: str, at: datetime.datetime | None
) -> None:
    errors: dict[str, list[str]] = {}
    if at is not None and at > timezone.now() + CLOCK_SKEW:
        errors["at"] = [_("A consent cannot be given in the future.")]
    if purpose not in Purpose.values:
        errors["purpose"] = [
            _("Choose one of: %(choices)s.") % {"choices": ", ".join(Purpose.values)}
        ]
    if method not in ConsentMethod.values:
        errors["method"] = [
            _("Choose one of: %(choices)s.") % {"choices": ", ".join(ConsentMethod.values)}
        ]
    if len(proof) > MAX_PROOF_CHARS:
        errors["proof"] = [_("Give at most %(count)d characters.") % {"count": MAX_PROOF_CHARS}]
    if len(source_ref) > MAX_SOURCE_REF_CHARS:
        errors["source_ref"] = [
            _("Give at most %(count)d characters.") % {"count": MAX_SOURCE_REF_CHARS}
        ]
    if errors:
        raise ValidationError(errors)


def _move_state(event: ConsentEvent) -> tuple[bool | None, bool]:
    """Point the contact's state for the event's purpose at ``event`` if it is the
    latest (by time, then id); the state's granted value before, and whether it moved."""
    state = (
        ConsentState.objects.select_for_update()
        .filter(contact_id=event.contact_id, purpose=event.purpose)
        .first()
    )
    if state is None:
        ConsentState.objects.create(
            contact_id=event.contact_id,
            purpose=event.purpose,
            granted=event.granted,
            at=event.at,
            event=event,
        )
        return None, True
    before = state.granted
    if (event.at, event.pk) < (state.at, state.event_id):
        return before, False  # a back-dated event: history, not the current state
    ConsentState.objects.filter(pk=state.pk).update(granted=event.granted, at=event.at, event=event)
    return before, True


def record_consent(
    *,
    actor: Actor,
    contact: Contact,
    purpose: str,
    granted: bool,
    method: str,
    proof: str = "",
    at: datetime.datetime | None = None,
    source_ref: str = "",
) -> ConsentEvent:
    """Append a consent event for ``contact``. A user needs the right to edit the
    contact; a source reference already recorded for this contact and purpose returns
    that event instead of adding another (replays of the same form submission)."""
    if actor.user is not None:
        require(actor.user, "edit", contact)
    if at is not None and timezone.is_naive(at):
        at = timezone.make_aware(at)
    _clean(purpose, method, proof, source_ref, at)
    if source_ref:
        existing = ConsentEvent.objects.filter(
            contact=contact, purpose=purpose, source_ref=source_ref
        ).first()
        if existing is not None:
            return existing
    try:
        with transaction.atomic():
            event = ConsentEvent.objects.create(
                contact=contact,
                purpose=purpose,
                granted=granted,
                at=at or timezone.now(),
                method=method,
                proof=proof,
                actor=actor.user,
                source_ref=source_ref,
            )
            before, moved = _move_state(event)
            if moved and before != granted:
                audit_log(
                    actor=actor,
                    action=AuditAction.UPDATE,
                    obj=contact,
                    changes={f"consent.{purpose}": [before, granted]},
                )
            emit(
                "contact.consent_recorded",
                obj=contact,
                actor=actor,
                payload={"purpose": purpose, "granted": granted, "method": method},
            )
    except IntegrityError:
        # Another process recorded the same source at the same moment.
        return ConsentEvent.objects.get(contact=contact, purpose=purpose, source_ref=source_ref)
    return event


def consent_state(contact: Contact) -> list[PurposeState]:
    """The contact's current consent for every purpose, in the purposes' order."""
    states = {state.purpose: state for state in ConsentState.objects.filter(contact=contact)}
    shown = []
    for purpose in Purpose:
        state = states.get(purpose.value)
        flag = DO_NOT_FLAGS.get(purpose.value)
        shown.append(
            PurposeState(
                purpose=purpose,
                granted=state.granted if state else None,
                at=state.at if state else None,
                blocked_by_flag=bool(flag and getattr(contact, flag)),
            )
        )
    return shown


def may_contact(contact: Contact, purpose: str) -> bool:
    """Whether ``contact`` may be approached for ``purpose``: consent granted and not
    forbidden by their do-not flag."""
    flag = DO_NOT_FLAGS.get(purpose)
    if flag and getattr(contact, flag):
        return False
    return ConsentState.objects.filter(contact=contact, purpose=purpose, granted=True).exists()


def consenting_contacts(
    purpose: str, contacts: QuerySet[Contact] | None = None
) -> QuerySet[Contact]:
    """The live contacts (of ``contacts``, else all) who may be approached for
    ``purpose``: one indexed semi-join, for audiences of any size."""
    contacts = Contact.objects.all() if contacts is None else contacts
    granted = ConsentState.objects.filter(purpose=purpose, granted=True).values("contact_id")
    condition = Q(pk__in=granted)
    flag = DO_NOT_FLAGS.get(purpose)
    if flag:
        condition &= Q(**{flag: False})
    return contacts.filter(condition)


def history(contact: Contact) -> QuerySet[ConsentEvent]:
    return ConsentEvent.objects.filter(contact=contact).select_related("actor")


def rebuild_state(contact_id: int) -> None:
    """Derive the contact's current state from its ledger again (after a merge joined
    two ledgers)."""
    with transaction.atomic():
        latest: dict[str, ConsentEvent] = {}
        events = ConsentEvent.objects.filter(contact_id=contact_id).order_by(
            "purpose", "-at", "-id"
        )
        for event in events.only("pk", "contact_id", "purpose", "granted", "at"):
            latest.setdefault(event.purpose, event)
        ConsentState.objects.filter(contact_id=contact_id).delete()
        ConsentState.objects.bulk_create(
            [
                ConsentState(
                    contact_id=contact_id,
                    purpose=event.purpose,
                    granted=event.granted,
                    at=event.at,
                    event=event,
                )
                for event in latest.values()
            ]
        )


def on_contact_merged(event: OutboxEvent) -> None:
    """Event handler: the merge moved the loser's consent events to the winner (and
    kept one state per purpose); the winner's state is its joined ledger's latest."""
    if event.aggregate_id.isdigit():
        rebuild_state(int(event.aggregate_id))


def on_lead_converted(event: OutboxEvent) -> None:
    """Event handler: the web-form consents a converted lead gave now belong to its
    contact, as granted email-marketing events with the text the form showed. Each
    submission is its own source, so a redelivered event adds nothing."""
    from rapport.sales.models import WebFormSubmission

    contact_id = event.payload.get("contact")
    contact = Contact.objects.filter(pk=contact_id).first() if contact_id else None
    if contact is None or not event.aggregate_id.isdigit():
        return
    submissions = WebFormSubmission.objects.filter(
        lead_id=int(event.aggregate_id), consent_given=True
    ).order_by("created_at", "id")
    for submission in submissions:
        record_consent(
            actor=Actor(user=None, source=Source.AUTOMATION),
            contact=contact,
            purpose=Purpose.EMAIL_MARKETING,
            granted=True,
            method=ConsentMethod.FORM,
            proof=submission.consent_text,
            at=submission.created_at,
            source_ref=f"webform-submission:{submission.pk}",
        )
