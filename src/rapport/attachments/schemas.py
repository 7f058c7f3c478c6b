from __future__ import annotations

import datetime

from django.urls import reverse
from ninja import Field, Schema

from rapport.attachments.models import Attachment, AttachmentVersion


class AttachmentVersionOut(Schema):
    number: int
    size: int = Field(description="Bytes.")
    content_type: str = Field(description="Detected from the bytes, or from the name.")
    uploaded_at: datetime.datetime
    uploaded_by: int | None = Field(alias="uploaded_by_id", description="The uploader's id.")
    download_url: str

    @staticmethod
    def resolve_download_url(version: AttachmentVersion) -> str:
        return reverse(
            "api:attachment_version_download",
            kwargs={"attachment_id": version.attachment_id, "number": version.number},
        )


class AttachmentOut(Schema):
    """An attachment with the facts of its latest version."""

    id: int
    object_type: str = Field(description="The record's type, e.g. contacts.contact.")
    object_id: str
    name: str
    version_count: int = Field(description="Versions so far; the latest has this number.")
    size: int = Field(description="Bytes of the latest version.")
    content_type: str
    created_at: datetime.datetime
    updated_at: datetime.datetime = Field(description="When the latest version was uploaded.")
    updated_by: int | None = Field(alias="updated_by_id", description="Its uploader's id.")
    download_url: str = Field(description="The latest version's bytes.")

    @staticmethod
    def resolve_download_url(attachment: Attachment) -> str:
        return reverse("api:attachment_download", kwargs={"attachment_id": attachment.pk})


class AttachmentDetailOut(AttachmentOut):
    versions: list[AttachmentVersionOut] = Field(description="Newest first.")

    @staticmethod
    def resolve_versions(attachment: Attachment) -> list[AttachmentVersion]:
        return list(attachment.versions.order_by("-number"))


class RecordRef(Schema):
    object_type: str = Field(description="The record's type, e.g. contacts.contact.")
    object_id: str = Field(description="The record's id.")
