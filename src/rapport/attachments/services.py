"""Writes of attachments: upload (a new attachment, or a new version of one with
the same name on the same record) and delete.

Both need the right to edit the record and are audited on the attachment, with
the events ``attachment.created``, ``attachment.updated`` (a new version) and
``attachment.deleted``. Bytes go to Django's default storage (a media dir or an
S3 bucket) under a random name; the uploaded name is only shown. A file is
written only once the upload is valid, and removed again if the database
transaction fails, so a refused or failed upload leaves nothing behind.
"""

from __future__ import annotations

import logging
import uuid
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import Http404
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.attachments import queries
from rapport.attachments.filetypes import clean_name, detect_content_type, is_allowed
from rapport.attachments.models import Attachment, AttachmentVersion
from rapport.core.actors import Actor
from rapport.core.audit import audit_log, diff, snapshot
from rapport.core.events import emit
from rapport.core.models import AuditAction, OutboxEvent, Record
from rapport.core.permissions import object_type, require

logger = logging.getLogger(__name__)


def _validated_content_type(file: File, name: str) -> str:
    """The file's content type, or a ``ValidationError`` on ``file`` saying why it is refused."""
    if not name:
        raise ValidationError({"file": [_("The file needs a name.")]})
    if not file.size:
        raise ValidationError({"file": [_("The file is empty.")]})
    limit = settings.ATTACHMENT_MAX_BYTES
    if file.size > limit:
        raise ValidationError(
            {
                "file": [
                    _("The file is too large (%(size)s); the limit is %(limit)s.")
                    % {"size": filesizeformat(file.size), "limit": filesizeformat(limit)}
                ]
            }
        )
    content_type = detect_content_type(file, name)
    if not is_allowed(content_type, settings.ATTACHMENT_TYPES):
        raise ValidationError(
            {"file": [_("Files of type %(type)s are not accepted.") % {"type": content_type}]}
        )
    return content_type


def _storage_name(record: Record) -> str:
    return f"attachments/{object_type(record)}/{record.pk}/{uuid.uuid4().hex}"


def _event_payload(attachment: Attachment) -> dict[str, object]:
    return {
        "object_type": attachment.object_type,
        "object_id": attachment.object_id,
        "name": attachment.name,
        "version": attachment.version_count,
        "size": attachment.size,
        "content_type": attachment.content_type,
    }


def attachment_upload(
    *, actor: Actor, record: Record, file: File, name: str = ""
) -> AttachmentVersion:
    """Attach ``file`` to ``record`` as ``name`` (by default the file's own name).

    A name the record already has gets the next version of that attachment. The
    service commits its own transaction: called inside a caller's transaction that
    later rolls back, the stored file would outlive its rows."""
    require(actor.user, "edit", record)
    if record.is_deleted:
        raise Http404
    name = clean_name(name or file.name or "")
    content_type = _validated_content_type(file, name)
    size = file.size
    stored = default_storage.save(_storage_name(record), file)
    try:
        with transaction.atomic():
            version = _add_version(
                actor=actor,
                record=record,
                name=name,
                stored=stored,
                size=size,
                content_type=content_type,
            )
    except BaseException:
        _delete_files([stored])
        raise
    return version


def _add_version(
    *, actor: Actor, record: Record, name: str, stored: str, size: int, content_type: str
) -> AttachmentVersion:
    now = timezone.now()
    # The row lock makes concurrent uploads of one name take consecutive numbers.
    attachment, created = Attachment.objects.select_for_update().get_or_create(
        object_type=object_type(record),
        object_id=str(record.pk),
        name=name,
        defaults={"created_at": now},
    )
    before = {} if created else snapshot(attachment)
    attachment.version_count += 1
    attachment.size = size
    attachment.content_type = content_type
    attachment.updated_at = now
    attachment.updated_by = actor.user
    attachment.save()
    version = AttachmentVersion.objects.create(
        attachment=attachment,
        number=attachment.version_count,
        file=stored,
        size=size,
        content_type=content_type,
        uploaded_at=now,
        uploaded_by=actor.user,
    )
    audit_log(
        actor=actor,
        action=AuditAction.CREATE if created else AuditAction.UPDATE,
        obj=attachment,
        changes=diff(before, snapshot(attachment)),
    )
    verb = "created" if created else "updated"
    emit(f"attachment.{verb}", obj=attachment, actor=actor, payload=_event_payload(attachment))
    return version


def attachment_delete(attachment: Attachment, *, actor: Actor) -> None:
    """Delete ``attachment`` with all its versions; the files go once that commits."""
    require(actor.user, "edit", queries.live_record(attachment))
    with transaction.atomic():
        attachment = _locked(attachment.pk)
        files = list(attachment.versions.values_list("file", flat=True))
        audit_log(
            actor=actor,
            action=AuditAction.PURGE,
            obj=attachment,
            changes=diff(snapshot(attachment), {}),
        )
        emit("attachment.deleted", obj=attachment, actor=actor, payload=_event_payload(attachment))
        attachment.delete()
        transaction.on_commit(partial(_delete_files, files))


def _locked(pk: int) -> Attachment:
    attachment = Attachment.objects.select_for_update().filter(pk=pk).first()
    if attachment is None:
        raise Http404
    return attachment


def on_record_purged(event: OutboxEvent) -> None:
    """Event handler: a record deleted for good takes its attachments and their files
    (the purge itself is audited). Idempotent, as handlers must be."""
    if not event.name.endswith(".purged"):
        return
    with transaction.atomic():
        attachments = Attachment.objects.filter(
            object_type=event.aggregate_type, object_id=event.aggregate_id
        )
        files = list(
            AttachmentVersion.objects.filter(attachment__in=attachments).values_list(
                "file", flat=True
            )
        )
        attachments.delete()
        transaction.on_commit(partial(_delete_files, files))


def _delete_files(names: list[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except Exception:
            # The rows are gone already; a file left over wastes space, nothing more.
            logger.warning("Could not delete stored file %s", name, exc_info=True)
