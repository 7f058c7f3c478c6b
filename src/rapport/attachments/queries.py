"""Reads: the record an attachment belongs to, and attachments a reader may see.

Attachments have no scope of their own: they are visible exactly when their
record is, so every read goes through the record's ``core.permissions`` scope.
A record that is hidden, in the trash or gone makes its attachments a 404.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from rapport.attachments.models import Attachment, AttachmentVersion
from rapport.core.models import Record
from rapport.core.permissions import get_visible_or_404, object_type
from rapport.core.registry import primary_key, record_model

if TYPE_CHECKING:
    from rapport.accounts.models import User

# Newest activity first; ``id`` makes the keyset order unique.
ORDERING = ("-updated_at", "-id")


def visible_record(user: User | None, label: str, object_id: str) -> Record:
    """The live record ``label``/``object_id`` if ``user`` may see it; else 404."""
    model = record_model(label)
    return get_visible_or_404(model.objects.all(), user, pk=primary_key(model, object_id))


def live_record(attachment: Attachment) -> Record:
    """The attachment's record unless it is in the trash or gone (404), whoever asks."""
    model = record_model(attachment.object_type)
    return get_object_or_404(model.objects.all(), pk=primary_key(model, attachment.object_id))


def visible_attachment(user: User | None, pk: int) -> tuple[Attachment, Record]:
    """Attachment ``pk`` and its record if ``user`` may see the record; else 404."""
    attachment = get_object_or_404(Attachment.objects.all(), pk=pk)
    return attachment, visible_record(user, attachment.object_type, attachment.object_id)


def visible_version(user: User | None, pk: int, number: int | None = None) -> AttachmentVersion:
    """Version ``number`` of attachment ``pk`` (its latest without one), as
    ``visible_attachment`` allows."""
    attachment, _record = visible_attachment(user, pk)
    versions = attachment.versions.select_related("attachment")
    if number is None:
        version = versions.order_by("-number").first()
        if version is None:
            raise Http404
        return version
    return get_object_or_404(versions, number=number)


def attachments_of(record: Record, *, with_versions: bool = False) -> QuerySet[Attachment]:
    """The attachments of ``record`` (which the caller has checked the reader may see);
    ``with_versions`` for pages, which show the uploaders' names and every version."""
    attachments = Attachment.objects.filter(
        object_type=object_type(record), object_id=str(record.pk)
    )
    if with_versions:
        attachments = attachments.select_related("updated_by")
        versions = AttachmentVersion.objects.select_related("uploaded_by").order_by("-number")
        attachments = attachments.prefetch_related(Prefetch("versions", queryset=versions))
    return attachments
