"""Erasing a person: ``erase_person`` anonymises one contact everywhere it appears.

What goes: the contact's names, addresses, channels, birthday and custom values;
the leads that were them (converted into them, or with one of their addresses)
and those leads' form submissions; the activities only about them (subject, text,
addresses, message ids) and their address and name in activities shared with
others; their name in their tasks, deals, orders and quotes; the files attached
to any of these; the proof text of their consents; the values recorded about them
in the audit log and in the event outbox; their search index rows and vocabulary;
and finally any remaining mention of their addresses, numbers or full name in any
text column of the database (a background job, ``run_sweep``, as that reads every
table). What stays: the records themselves with their
amounts, dates and links (deal values, order totals, activity counts), and an
``ErasureRecord`` saying who erased which record when.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.activities.models import Activity, ActivityLink, MeetingAttendee
from rapport.attachments.models import Attachment, AttachmentVersion
from rapport.attachments.services import _delete_files
from rapport.contacts.models import (
    Address,
    Contact,
    ContactEmail,
    DuplicateCandidate,
    Employment,
    Phone,
    SocialProfile,
)
from rapport.core import search
from rapport.core.actors import Actor
from rapport.core.audit import audit_log
from rapport.core.events import emit
from rapport.core.jobs import Progress, job_handler, job_start
from rapport.core.models import AuditAction, AuditEntry, Job, OutboxEvent
from rapport.core.permissions import object_type, require, require_admin
from rapport.core.secrets import decrypt, encrypt
from rapport.mail.models import InboundMessage, OutgoingEmail
from rapport.privacy.models import ConsentEvent, ErasureRecord
from rapport.privacy.scrub import (
    ERASED,
    Scrubber,
    erase_strings,
    phone_forms,
    scrub_queryset,
    sweep_database,
)
from rapport.sales.models import Deal, Lead, Order, Quote, WebFormSubmission
from rapport.tasks.models import Task, TaskLink

CONTACT = "contacts.contact"
SWEEP_KIND = "privacy.erasure_sweep"
LEAD = "sales.lead"
ACTIVITY = "activities.activity"

BLANK_CONTACT = {
    "prefix": "",
    "first_name": "",
    "middle_name": "",
    "last_name": "",
    "suffix": "",
    "email": "",
    "phone": "",
    "job_title": "",
    "birthday": None,
    "language": "",
    "timezone": "",
    "product_interests": [],
    "brand_interests": [],
    "custom": {},
    # Nothing may be sent to an erased person.
    "do_not_email": True,
    "do_not_call": True,
    "do_not_sms": True,
    "do_not_mail": True,
}
BLANK_LEAD = {
    "first_name": "",
    "last_name": "",
    "email": "",
    "phone": "",
    "job_title": "",
    "website": "",
    "description": "",
    "custom": {},
}
BLANK_ACTIVITY = {
    "subject": "",
    "body": "",
    "email_from": "",
    "email_to": [],
    "email_cc": [],
    "message_id": "",
    "thread_id": "",
    "location": "",
    "mentions": [],
    "custom": {},
}


@dataclass
class Footprint:
    """Everything found about one person, by object type and id."""

    contact: Contact
    emails: set[str]
    phones: set[str]
    lead_ids: list[int]
    own_activity_ids: list[int]  # about them alone
    shared_activity_ids: list[int]  # about them and others
    task_ids: list[int]
    deal_ids: list[int]

    def names(self) -> list[str]:
        """The person's full name as people write it; none for a one-word name, which
        would name everyone called so."""
        contact = self.contact
        first, last = contact.first_name.strip(), contact.last_name.strip()
        if not (first and last):
            return []
        return [contact.full_name, f"{first} {last}", f"{last} {first}", f"{last}, {first}"]

    def close_scrubber(self) -> Scrubber:
        """For records about the person: their first and last names count on their own."""
        contact = self.contact
        parts = (contact.first_name, contact.middle_name, contact.last_name)
        return Scrubber(literals=self.emails | self.phones_written(), names=[*self.names(), *parts])

    def phones_written(self) -> set[str]:
        return {form for phone in self.phones for form in phone_forms(phone)}

    def words(self) -> list[str]:
        """What the search vocabulary may hold of the person."""
        contact = self.contact
        parts = [contact.first_name, contact.middle_name, contact.last_name]
        return [*self.names(), *parts, *self.emails, *self.phones_written()]


def _linked(targets: dict[str, list]) -> Q:
    """Links (activity, task, attachment) to any of ``targets``' records."""
    condition = Q(pk__in=[])
    for label, ids in targets.items():
        if ids:
            condition |= Q(object_type=label, object_id__in=ids)
    return condition


def footprint(contact: Contact) -> Footprint:
    """Find what is held about ``contact``."""
    emails = {contact.email.lower()} | {
        email.lower() for email in contact.emails.values_list("email", flat=True)
    }
    emails.discard("")
    phones = {contact.phone} | set(contact.phones.values_list("number", flat=True))
    phones.discard("")
    lead_filter = Q(converted_contact=contact)
    for email in emails:
        lead_filter |= Q(email__iexact=email)
    lead_ids = list(Lead.all_objects.filter(lead_filter).values_list("pk", flat=True))
    targets = {CONTACT: [contact.pk], LEAD: lead_ids}
    about = _linked(targets)
    activity_ids = set(ActivityLink.objects.filter(about).values_list("activity_id", flat=True))
    activity_ids |= set(
        MeetingAttendee.objects.filter(contact=contact).values_list("activity_id", flat=True)
    )
    shared = set(
        ActivityLink.objects.filter(activity_id__in=activity_ids)
        .exclude(about)
        .values_list("activity_id", flat=True)
    )
    task_ids = list(TaskLink.objects.filter(_linked(targets)).values_list("task_id", flat=True))
    deal_ids = list(contact.deal_roles.values_list("deal_id", flat=True))
    deal_ids += list(
        Lead.all_objects.filter(pk__in=lead_ids, converted_deal__isnull=False).values_list(
            "converted_deal_id", flat=True
        )
    )
    return Footprint(
        contact=contact,
        emails=emails,
        phones=phones,
        lead_ids=lead_ids,
        own_activity_ids=sorted(activity_ids - shared),
        shared_activity_ids=sorted(shared),
        task_ids=sorted(set(task_ids)),
        deal_ids=sorted(set(deal_ids)),
    )


def _erase_traces(model: type[models.Model], ids: Iterable[object]) -> None:
    """Blank every value the audit log and the event outbox recorded about these records."""
    ids = [str(pk) for pk in ids]
    if not ids:
        return
    content_type = ContentType.objects.get_for_model(model, for_concrete_model=True)
    for entry in AuditEntry.objects.filter(content_type=content_type, object_id__in=ids).only(
        "pk", "changes"
    ):
        AuditEntry.objects.filter(pk=entry.pk).update(
            changes=erase_strings(entry.changes), object_repr=ERASED
        )
    OutboxEvent.objects.filter(aggregate_type=object_type(model), aggregate_id__in=ids).update(
        payload={}
    )


def _scrub_traces(model: type[models.Model], ids: Iterable[object], scrubber: Scrubber) -> None:
    """Scrub the person from what the audit log and outbox recorded about these records."""
    ids = [str(pk) for pk in ids]
    if not ids:
        return
    content_type = ContentType.objects.get_for_model(model, for_concrete_model=True)
    scrub_queryset(
        AuditEntry.objects.filter(content_type=content_type, object_id__in=ids),
        ["object_repr", "changes"],
        scrubber,
    )
    scrub_queryset(
        OutboxEvent.objects.filter(aggregate_type=object_type(model), aggregate_id__in=ids),
        ["payload"],
        scrubber,
    )


def _drop_attachments(targets: dict[str, list[int]]) -> int:
    as_text = {label: [str(pk) for pk in ids] for label, ids in targets.items()}
    attachments = Attachment.objects.filter(_linked(as_text))
    files = list(
        AttachmentVersion.objects.filter(attachment__in=attachments).values_list("file", flat=True)
    )
    _erase_traces(Attachment, attachments.values_list("pk", flat=True))
    count = attachments.count()
    attachments.delete()
    transaction.on_commit(partial(_delete_files, files))
    return count


def _erase_contact(found: Footprint) -> None:
    contact = found.contact
    for related in (ContactEmail, Phone, Address, SocialProfile):
        related.objects.filter(contact=contact).delete()
    Employment.objects.filter(contact=contact).update(job_title="")
    DuplicateCandidate.objects.filter(
        Q(low_id=contact.pk) | Q(high_id=contact.pk), object_type=CONTACT
    ).delete()
    Contact.all_objects.filter(pk=contact.pk).update(**BLANK_CONTACT)
    ConsentEvent.objects.filter(contact=contact).erase_proof()
    _erase_traces(Contact, [contact.pk])


def _index_again(model: type[models.Model], ids: list[int]) -> None:
    for obj in model.all_objects.filter(pk__in=ids):
        search.index(obj)


def erase_leads(lead_ids: list[int]) -> None:
    """Blank the personal fields of these leads, their form answers, files, history and
    search entries."""
    leads = Lead.all_objects.filter(pk__in=lead_ids)
    words = [
        text
        for row in leads.values_list("first_name", "last_name", "email", "phone")
        for text in row
    ]
    leads.update(**BLANK_LEAD, updated_at=timezone.now())
    WebFormSubmission.objects.filter(lead_id__in=lead_ids).update(
        data={}, ip_address=None, user_agent="", page_url=""
    )
    _erase_traces(Lead, lead_ids)
    _drop_attachments({LEAD: lead_ids})
    _index_again(Lead, lead_ids)
    search.forget_terms(words)


def erase_activities(activity_ids: list[int]) -> None:
    """Blank the text, addresses and message ids of these activities and their history."""
    Activity.all_objects.filter(pk__in=activity_ids).update(
        **BLANK_ACTIVITY, updated_at=timezone.now()
    )
    InboundMessage.objects.filter(activity_id__in=activity_ids).update(message_id="", reason="")
    OutgoingEmail.objects.filter(activity_id__in=activity_ids).update(
        from_name="", reply_to="", in_reply_to="", references=""
    )
    _erase_traces(Activity, activity_ids)
    _drop_attachments({ACTIVITY: activity_ids})
    _index_again(Activity, activity_ids)


def _erase_activities(found: Footprint, scrubber: Scrubber) -> None:
    erase_activities(found.own_activity_ids)
    MeetingAttendee.objects.filter(contact=found.contact).delete()
    shared = Activity.all_objects.filter(pk__in=found.shared_activity_ids)
    for activity in shared.only("pk", "email_from", "email_to", "email_cc"):
        Activity.all_objects.filter(pk=activity.pk).update(
            email_from="" if activity.email_from.lower() in found.emails else activity.email_from,
            email_to=[a for a in activity.email_to if a.lower() not in found.emails],
            email_cc=[a for a in activity.email_cc if a.lower() not in found.emails],
        )
    scrub_queryset(shared, ["subject", "body", "location", "mentions", "custom"], scrubber)
    _scrub_traces(Activity, found.shared_activity_ids, scrubber)


def _scrub_related(found: Footprint, scrubber: Scrubber) -> None:
    scrub_queryset(
        Task.all_objects.filter(pk__in=found.task_ids), ["title", "description", "custom"], scrubber
    )
    _scrub_traces(Task, found.task_ids, scrubber)
    scrub_queryset(
        Deal.all_objects.filter(pk__in=found.deal_ids), ["name", "description", "custom"], scrubber
    )
    _scrub_traces(Deal, found.deal_ids, scrubber)
    for model in (Order, Quote):
        documents = model.all_objects.filter(contact=found.contact)
        ids = list(documents.values_list("pk", flat=True))
        scrub_queryset(documents, ["notes", "custom"], scrubber)
        _scrub_traces(model, ids, scrubber)


def _reindex(found: Footprint) -> None:
    """Index again what the sweep may have changed since the first erasing steps."""
    _index_again(Contact, [found.contact.pk])
    _index_again(Activity, found.shared_activity_ids)
    _index_again(Task, found.task_ids)
    _index_again(Deal, found.deal_ids)


def _drop_exports(contact: Contact) -> None:
    """Exports made for the person's own requests hold their data: they go too."""
    jobs = Job.objects.filter(kind="privacy.export", params__contact=contact.pk)
    files = [name for name in jobs.values_list("result_file", flat=True) if name]
    jobs.delete()
    transaction.on_commit(partial(_delete_files, files))


def _erase_found(found: Footprint) -> dict[str, int]:
    """Everything but the database-wide sweep, for one person; the counts to record."""
    close = found.close_scrubber()
    files = _drop_attachments({CONTACT: [found.contact.pk]})
    _erase_activities(found, close)
    _scrub_related(found, close)
    erase_leads(found.lead_ids)
    _erase_contact(found)
    _drop_exports(found.contact)
    return {
        "leads": len(found.lead_ids),
        "activities": len(found.own_activity_ids) + len(found.shared_activity_ids),
        "tasks": len(found.task_ids),
        "deals": len(found.deal_ids),
        "contact_attachments": files,
    }


def erase_people(*, contacts: Iterable[Contact], actor: Actor) -> list[ErasureRecord]:
    """Erase these people in one transaction and one sweep of the database (retention
    erases many at once). Checks nothing: callers check who may; people erased
    already are left out."""
    records = []
    with transaction.atomic():
        ids = [contact.pk for contact in contacts]
        people = list(Contact.all_objects.select_for_update().filter(pk__in=ids).order_by("pk"))
        # Read under the lock, so two erasures of one person cannot both pass.
        erased_before = set(
            ErasureRecord.objects.filter(object_type=CONTACT, object_id__in=ids).values_list(
                "object_id", flat=True
            )
        )
        people = [contact for contact in people if contact.pk not in erased_before]
        found = [footprint(contact) for contact in people]
        # For the whole database: only what names these people, not their namesakes.
        wide = Scrubber(
            literals={text for one in found for text in one.emails | one.phones_written()},
            names=[name for one in found for name in one.names()],
        )
        words = [word for one in found for word in one.words()]
        counts = [_erase_found(one) for one in found]
        for one in found:
            _reindex(one)
        search.forget_terms(words)
        for one, count in zip(found, counts, strict=True):
            record = ErasureRecord.objects.create(
                object_type=CONTACT,
                object_id=one.contact.pk,
                erased_by=actor.user,
                erased_by_label=actor.label,
                source=actor.source,
                counts=count,
            )
            one.contact.refresh_from_db()
            audit_log(
                actor=actor,
                action=AuditAction.UPDATE,
                obj=one.contact,
                changes={"erased": [None, record.pk]},
            )
            emit("contact.erased", obj=one.contact, actor=actor, payload={"erasure": record.pk})
            records.append(record)
        if records:
            _start_sweep(wide, records, actor)
    return records


def _start_sweep(wide: Scrubber, records: list[ErasureRecord], actor: Actor) -> None:
    """Queue the sweep of the rest of the database. It reads every text column of every
    table, too long for a request or one transaction on a large database (on SQLite it
    would hold the write lock throughout), so it runs in the background, a statement
    at a time. What it looks for travels encrypted: a job's parameters are a table too."""
    needles = {"literals": wide.literals, "names": wide.names}
    job_start(
        actor=actor,
        kind=SWEEP_KIND,
        title=_("Erasure: the rest of the database"),
        params={
            "sealed": encrypt(json.dumps(needles)),
            "erasures": [record.pk for record in records],
        },
    )


@job_handler(SWEEP_KIND, resumable=True)
def run_sweep(job: Job, progress: Progress) -> dict[str, Any]:
    """Replace the erased people's identifiers wherever they are left; a sweep run
    again finds nothing more to change."""
    needles = json.loads(decrypt(job.params["sealed"]))
    wide = Scrubber(literals=needles["literals"], names=needles["names"])
    rows = sweep_database(wide, skip=[ErasureRecord, ConsentEvent])
    for record in ErasureRecord.objects.filter(pk__in=job.params["erasures"]):
        record.counts = record.counts | {"other_rows": rows}
        record.save(update_fields=["counts"])
    Job.objects.filter(pk=job.pk).update(params={})
    return {"message": _("%(rows)d more rows anonymised.") % {"rows": rows}}


def erase_person(*, contact: Contact, actor: Actor, confirmation: str) -> ErasureRecord:
    """Anonymise ``contact`` everywhere (see the module's description); admins only,
    and ``confirmation`` must be the word ERASE or the contact's name. Cannot be undone."""
    if actor.user is not None:
        require_admin(actor.user)
        require(actor.user, "view", contact)
    if confirmation.strip() not in ("ERASE", contact.full_name.strip() or "ERASE"):
        raise ValidationError({"confirmation": [_("Type ERASE or the person's name to confirm.")]})
    if ErasureRecord.objects.filter(object_type=CONTACT, object_id=contact.pk).exists():
        raise ValidationError(_("This person was erased already."))
    return erase_people(contacts=[contact], actor=actor)[0]
