"""Undoing a whole import from the audit log.

Every audit entry an import run wrote carries its ``audit_tag``. Rolling back
moves the records the run created to the trash and gives the records it
updated their values from before the run: their own fields, custom fields
and tags, through the same services, so the rollback is audited too. A
record someone changed after the import is left as it is and listed: putting
back the import's "before" would silently undo their work.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.contacts.models import Tag
from rapport.core.actors import Actor
from rapport.core.jobs import JobError, Progress, job_handler, job_start
from rapport.core.models import AuditAction, AuditEntry, Job, Record, Source
from rapport.core.services import record_delete
from rapport.exchange.import_types import CUSTOM, TAGS, ImportType, Prepared
from rapport.exchange.imports import own_run, type_for
from rapport.exchange.models import ImportRun, ImportStatus

PROGRESS_EVERY = 100
# Fields the services derive or keep themselves; never put back by hand.
KEPT_FIELDS = {"version", "updated_at", "updated_by", "created_at", "created_by", "id"}


ROLLABLE = (ImportStatus.SUCCEEDED, ImportStatus.CANCELLED, ImportStatus.INTERRUPTED)


def import_rollback_start(run: ImportRun, *, actor: Actor) -> Job:
    """Start undoing ``run`` as a background job; it must have stopped first. The run is
    claimed in one conditional update, so a second click (or a second process) starts no
    second rollback."""
    own_run(run, actor)
    type_for(run.object_type, actor)
    run.refresh_from_db(fields=["status"])
    previous = run.status
    with transaction.atomic():
        claimed = ImportRun.objects.filter(pk=run.pk, status=previous).update(
            status=ImportStatus.ROLLING_BACK
        )
        if previous not in ROLLABLE or not claimed:
            raise ValidationError(
                _("Only a finished, cancelled or interrupted import can be rolled back.")
            )
        run.status = ImportStatus.ROLLING_BACK
        return job_start(
            actor=actor,
            kind="exchange.import_rollback",
            title=_("Rollback of the import of %(file)s") % {"file": run.file_name},
            params={"run": run.pk, "previous_status": previous},
        )


def _entries_by_record(run: ImportRun, model: type[Record]) -> dict[str, list[AuditEntry]]:
    content_type = ContentType.objects.get_for_model(model, for_concrete_model=True)
    entries = AuditEntry.objects.filter(
        request_id=run.audit_tag, content_type=content_type
    ).order_by("id")
    grouped: dict[str, list[AuditEntry]] = defaultdict(list)
    for entry in entries.iterator(chunk_size=2000):
        grouped[entry.object_id].append(entry)
    return grouped


def _changed_since(model: type[Record], object_id: str, last_entry_id: int, tag: str) -> bool:
    content_type = ContentType.objects.get_for_model(model, for_concrete_model=True)
    later = AuditEntry.objects.filter(
        content_type=content_type, object_id=object_id, id__gt=last_entry_id
    ).exclude(request_id=tag)
    return later.exists()


def _before_values(entries: list[AuditEntry]) -> dict[str, Any]:
    """Each field's value before the first of the run's updates that changed it."""
    before: dict[str, Any] = {}
    for entry in entries:
        for name, (old, _new) in entry.changes.items():
            before.setdefault(name, old)
    return before


def _restoring(kind: ImportType, before: dict[str, Any]) -> Prepared:
    row = Prepared(replace_tags=True)
    own = {field.name for field in kind.model._meta.concrete_fields} - KEPT_FIELDS
    for name, value in before.items():
        if name.startswith(CUSTOM):
            row.custom[name.removeprefix(CUSTOM)] = value
        elif name == "addresses":
            row.addresses = value or []
        elif name == TAGS:
            row.tags = list(Tag.objects.filter(name__in=value or []))
        elif name in own:
            row.values[name] = value
    return row


def _undo(kind: ImportType, actor: Actor, record: Record, entries: list[AuditEntry]) -> None:
    if entries[0].action == AuditAction.CREATE:
        if not record.is_deleted:
            record_delete(record, actor=actor)
        return
    updates = [entry for entry in entries if entry.action == AuditAction.UPDATE]
    if updates:
        kind.update(record, actor, _restoring(kind, _before_values(updates)))


@job_handler("exchange.import_rollback")
def run_rollback(job: Job, progress: Progress) -> dict[str, Any]:
    try:
        run = ImportRun.objects.get(pk=job.params["run"], owner=job.owner)
    except ImportRun.DoesNotExist:
        raise JobError(_("This import no longer exists.")) from None
    try:
        return _roll_back(run, job, progress)
    except Exception:
        # A failed rollback may be tried again: the run goes back to how it stood.
        previous = job.params["previous_status"]
        ImportRun.objects.filter(pk=run.pk).update(status=previous)
        raise


def _roll_back(run: ImportRun, job: Job, progress: Progress) -> dict[str, Any]:
    actor = Actor(user=job.owner, source=Source.IMPORT, request_id=f"rollback:{run.pk}")
    kind = type_for(run.object_type, actor)
    grouped = _entries_by_record(run, kind.model)
    records = kind.model.all_objects.in_bulk([int(pk) for pk in grouped])
    undone, kept, refused = 0, [], []
    for done, (object_id, entries) in enumerate(grouped.items(), start=1):
        record = records.get(int(object_id))
        if record is None:
            continue
        if _changed_since(kind.model, object_id, entries[-1].id, run.audit_tag):
            kept.append({"record": str(record), "reason": _("Changed since the import.")})
        else:
            try:
                with transaction.atomic():
                    _undo(kind, actor, record, entries)
                undone += 1
            except (ValidationError, PermissionDenied, Http404) as error:
                reason = " ".join(getattr(error, "messages", [])) or _("Not allowed.")
                refused.append({"record": str(record), "reason": reason})
        if done % PROGRESS_EVERY == 0:
            progress(done, len(grouped))
    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportStatus.ROLLED_BACK, finished_at=timezone.now()
    )
    failures = kept + refused
    return {
        "failures": failures[:200],
        "failures_not_listed": max(0, len(failures) - 200),
        "message": _(
            "%(undone)d records put back as they were before the import; %(kept)d left as they are."
        )
        % {"undone": undone, "kept": len(failures)},
    }
