"""/attachments: list a record's attachments, upload (multipart), read, download, delete.

Thin: the record is read through ``attachments.queries`` (a record the caller
may not see, and its attachments, answer 404), writes go through
``attachments.services``.
"""

from __future__ import annotations

from django.http import FileResponse, HttpRequest, HttpResponse
from ninja import File, Form, Query, Router
from ninja.files import UploadedFile
from ninja.responses import Status

from rapport.attachments import queries, services
from rapport.attachments.downloads import download_response
from rapport.attachments.models import Attachment
from rapport.attachments.schemas import AttachmentDetailOut, AttachmentOut, RecordRef
from rapport.core.api import PageOut, PageParams, actor, created, current_user, paginate, problems

router = Router(tags=["attachments"])

BINARY = {
    "responses": {
        "200": {
            "description": "The file, as a download (Content-Disposition: attachment).",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    }
}


@router.get("/attachments", response={200: PageOut[AttachmentOut], **problems(400, 404, 422)})
def attachment_list(
    request: HttpRequest, response: HttpResponse, record: Query[RecordRef], page: Query[PageParams]
) -> dict:
    """The attachments of one record, most recently uploaded first."""
    found = queries.visible_record(current_user(request), record.object_type, record.object_id)
    attachments = queries.attachments_of(found)
    return paginate(request, response, attachments, ordering=queries.ORDERING, params=page)


@router.post("/attachments", response={201: AttachmentDetailOut, **problems(403, 404, 422)})
def attachment_create(
    request: HttpRequest,
    response: HttpResponse,
    record: Form[RecordRef],
    file: File[UploadedFile],
    name: Form[str] = "",
) -> Status:
    """Upload a file (multipart/form-data) to a record you may edit. A name the record
    already has (the file's own name unless ``name`` is given) gets a new version."""
    found = queries.visible_record(current_user(request), record.object_type, record.object_id)
    version = services.attachment_upload(actor=actor(request), record=found, file=file, name=name)
    attachment = Attachment.objects.get(pk=version.attachment_id)
    return created(response, attachment, "api:attachment_detail", attachment_id=attachment.pk)


@router.get(
    "/attachments/{int:attachment_id}", response={200: AttachmentDetailOut, **problems(404)}
)
def attachment_detail(request: HttpRequest, attachment_id: int) -> Attachment:
    """One attachment with all its versions."""
    attachment, _record = queries.visible_attachment(current_user(request), attachment_id)
    return attachment


@router.get(
    "/attachments/{int:attachment_id}/download",
    response={200: None, **problems(404)},
    openapi_extra=BINARY,
)
def attachment_download(request: HttpRequest, attachment_id: int) -> FileResponse:
    """The latest version's bytes."""
    return download_response(queries.visible_version(current_user(request), attachment_id))


@router.get(
    "/attachments/{int:attachment_id}/versions/{int:number}/download",
    response={200: None, **problems(404)},
    openapi_extra=BINARY,
)
def attachment_version_download(
    request: HttpRequest, attachment_id: int, number: int
) -> FileResponse:
    """One version's bytes."""
    return download_response(queries.visible_version(current_user(request), attachment_id, number))


@router.delete("/attachments/{int:attachment_id}", response={204: None, **problems(403, 404)})
def attachment_delete(request: HttpRequest, attachment_id: int) -> Status:
    """Delete an attachment and all its versions (needs the right to edit its record)."""
    attachment, _record = queries.visible_attachment(current_user(request), attachment_id)
    services.attachment_delete(attachment, actor=actor(request))
    return Status(204, None)
