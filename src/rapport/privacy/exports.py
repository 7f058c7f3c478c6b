"""A person's data, for their access request: a ZIP of JSON files and their files.

``export_write`` streams into any binary file (the job's temporary file, the CLI's
output): JSON arrays are written record by record and attachments are copied from
storage in chunks, so a long history never sits in memory. It holds:

- ``contact.json``: every field, emails, phones, addresses, profiles, custom fields,
  tags, lists; ``companies.json``: their company and work history;
- ``activities.json`` (emails with their headers and text), ``tasks.json``,
  ``deals.json``, ``leads.json`` (with form submissions), ``orders.json``,
  ``quotes.json``: what they are linked to;
- ``consents.json``: the consent ledger; ``audit.json``: the audit entries about them
  and their leads;
- ``attachments/``: the current version of each file on their record, their leads
  and their activities.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from collections.abc import Iterable
from typing import IO, Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.activities.models import Activity, ActivityLink
from rapport.attachments.models import Attachment
from rapport.contacts.models import Contact
from rapport.core.actors import Actor
from rapport.core.audit import audit_log, json_value, snapshot
from rapport.core.jobs import JobError, Progress, job_handler, job_start
from rapport.core.models import AuditAction, AuditEntry, Job
from rapport.core.permissions import require, require_admin
from rapport.privacy.erasure import CONTACT, LEAD, footprint
from rapport.privacy.models import ConsentEvent
from rapport.sales.models import Deal, Lead, Order, Quote
from rapport.tasks.models import Task

KIND = "privacy.export"
CHUNK = 1 << 20


def _record(obj: models.Model) -> dict[str, Any]:
    return {"id": json_value(obj.pk), **snapshot(obj)}


def _write_array(archive: zipfile.ZipFile, name: str, rows: Iterable[dict[str, Any]]) -> int:
    count = 0
    with archive.open(name, "w") as raw:
        raw.write(b"[")
        for row in rows:
            raw.write((b",\n" if count else b"\n") + _dumps(row))
            count += 1
        raw.write(b"\n]\n")
    return count


def _dumps(value: Any) -> bytes:
    return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, indent=1).encode()


def _contact_json(contact: Contact) -> dict[str, Any]:
    return _record(contact) | {
        "emails": [_record(email) for email in contact.emails.all()],
        "phones": [_record(phone) for phone in contact.phones.all()],
        "addresses": [_record(address) for address in contact.addresses.all()],
        "social_profiles": [_record(profile) for profile in contact.social_profiles.all()],
        "tags": list(contact.tags.values_list("name", flat=True)),
        "lists": list(contact.lists.values_list("name", flat=True)),
    }


def _companies(contact: Contact) -> Iterable[dict[str, Any]]:
    if contact.company is not None:
        yield {"current": True, "company": _record(contact.company)}
    for employment in contact.employments.select_related("company"):
        yield {"employment": _record(employment), "company": _record(employment.company)}


def _each(queryset: models.QuerySet) -> Iterable[dict[str, Any]]:
    for obj in queryset.iterator(chunk_size=500):
        yield _record(obj)


def _leads(lead_ids: list[int]) -> Iterable[dict[str, Any]]:
    for lead in Lead.all_objects.filter(pk__in=lead_ids).prefetch_related("submissions"):
        yield _record(lead) | {"form_submissions": [_record(s) for s in lead.submissions.all()]}


def _audit(contact: Contact, lead_ids: list[int]) -> models.QuerySet[AuditEntry]:
    contact_type = ContentType.objects.get_for_model(Contact)
    lead_type = ContentType.objects.get_for_model(Lead)
    return AuditEntry.objects.filter(
        Q(content_type=contact_type, object_id=str(contact.pk))
        | Q(content_type=lead_type, object_id__in=[str(pk) for pk in lead_ids])
    ).order_by("id")


def _write_files(archive: zipfile.ZipFile, targets: dict[str, list[int]]) -> int:
    condition = Q(pk__in=[])
    for label, ids in targets.items():
        condition |= Q(object_type=label, object_id__in=[str(pk) for pk in ids])
    count = 0
    for attachment in Attachment.objects.filter(condition).order_by("id"):
        version = attachment.versions.order_by("-number").first()
        if version is None:
            continue
        # No folders from the name: an entry named ``../x`` would land outside on unzip.
        safe_name = attachment.name.replace("/", "_").replace("\\", "_")
        with (
            version.file.open("rb") as source,
            archive.open(f"attachments/{attachment.pk}-{safe_name}", "w") as target,
        ):
            while chunk := source.read(CHUNK):
                target.write(chunk)
        count += 1
    return count


def export_write(
    contact: Contact, out: IO[bytes], progress: Progress | None = None
) -> dict[str, int]:
    """Write ``contact``'s data as a ZIP into ``out``; the number of items per file."""
    found = footprint(contact)
    activity_ids = list(
        ActivityLink.objects.filter(
            Q(object_type=CONTACT, object_id=contact.pk)
            | Q(object_type=LEAD, object_id__in=found.lead_ids)
        ).values_list("activity_id", flat=True)
    )
    parts: list[tuple[str, Any]] = [
        ("companies.json", lambda: _companies(contact)),
        (
            "activities.json",
            lambda: _each(
                Activity.all_objects.filter(pk__in=activity_ids).order_by("occurred_at", "id")
            ),
        ),
        (
            "tasks.json",
            lambda: _each(Task.all_objects.filter(pk__in=found.task_ids).order_by("id")),
        ),
        (
            "deals.json",
            lambda: _each(Deal.all_objects.filter(pk__in=found.deal_ids).order_by("id")),
        ),
        ("leads.json", lambda: _leads(found.lead_ids)),
        ("orders.json", lambda: _each(Order.all_objects.filter(contact=contact).order_by("id"))),
        ("quotes.json", lambda: _each(Quote.all_objects.filter(contact=contact).order_by("id"))),
        (
            "consents.json",
            lambda: _each(ConsentEvent.objects.filter(contact=contact).order_by("at", "id")),
        ),
        ("audit.json", lambda: _each(_audit(contact, found.lead_ids))),
    ]
    counts: dict[str, int] = {}
    total = len(parts) + 2
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("contact.json", _dumps(_contact_json(contact)))
        for done, (name, rows) in enumerate(parts, start=1):
            counts[name] = _write_array(archive, name, rows())
            if progress:
                progress(done, total)
        counts["attachments"] = _write_files(
            archive,
            {CONTACT: [contact.pk], LEAD: found.lead_ids, "activities.activity": activity_ids},
        )
    if progress:
        progress(total, total)
    return counts


def _clean_params(params: dict[str, Any]) -> dict[str, Any]:
    contact = params.get("contact")
    if not isinstance(contact, int):
        raise ValidationError({"contact": [_("Give a contact id.")]})
    return {"contact": contact}


@job_handler(KIND, authorize=require_admin, clean_params=_clean_params)
def export_job(job: Job, progress: Progress) -> dict[str, Any]:
    contact = Contact.all_objects.filter(pk=job.params["contact"]).first()
    if contact is None:
        raise JobError(_("The contact no longer exists."))
    with tempfile.TemporaryFile() as buffer:
        counts = export_write(contact, buffer, progress)
        buffer.seek(0)
        job.result_file.save(
            f"personal-data-{contact.pk}-{timezone.localdate():%Y-%m-%d}.zip",
            File(buffer),
            save=False,
        )
    return counts | {"message": _("The person's data is ready to download.")}


def export_start(*, actor: Actor, contact: Contact) -> Job:
    """Start exporting ``contact``'s data in the background (admins only); audited on
    the contact, since the export holds their personal data."""
    require_admin(actor.user)
    require(actor.user, "view", contact)
    with transaction.atomic():
        job = job_start(
            actor=actor,
            kind=KIND,
            title=_("Personal data of contact %(id)s") % {"id": contact.pk},
            params={"contact": contact.pk},
        )
        audit_log(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=contact,
            changes={"privacy_export": [None, str(job.pk)]},
        )
    return job


def export_to_path(*, actor: Actor, contact: Contact, path: str) -> dict[str, int]:
    """The CLI's export: straight to a file, audited like the job."""
    with open(path, "wb") as out:
        counts = export_write(contact, out)
    with transaction.atomic():
        audit_log(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=contact,
            changes={"privacy_export": [None, "cli"]},
        )
    return counts
