"""/contacts/{id}/vcard and /contacts/vcards: a contact's vCard 4.0, and an import of a
vCard file (3.0 or 4.0) sent as the body (``text/vcard``) or as the ``file`` of a
multipart form. Thin: parse, call ``exchange.vcard``, answer."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.errors import HttpError

from rapport.core.api import actor, current_user, problems
from rapport.exchange import vcard
from rapport.exchange.vcard_views import vcard_response

router = Router(tags=["vcard"])

VCARD_BODY = {"schema": {"type": "string"}, "example": "BEGIN:VCARD\r\nVERSION:4.0\r\n…"}
DOWNLOAD = {
    "responses": {
        "200": {
            "description": "The contact's vCard 4.0 (Content-Disposition: attachment).",
            "content": {"text/vcard": VCARD_BODY},
        }
    }
}
UPLOAD = {
    "requestBody": {
        "required": True,
        "content": {
            "text/vcard": VCARD_BODY,
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


class CardResultOut(Schema):
    position: int = Field(description="The card's place in the file, from 1.")
    name: str
    outcome: vcard.Outcome
    reason: str = Field(description="Why a failed card was not imported.")
    contact_id: int | None = Field(description="The contact created, updated or unchanged.")
    notes: list[str] = Field(description="Values of the card left out, and why.")


class VcardImportOut(Schema):
    created: int
    updated: int
    unchanged: int
    failed: int
    cards: list[CardResultOut]


@router.get(
    "/contacts/{int:contact_id}/vcard",
    response={200: None, **problems(403, 404)},
    openapi_extra=DOWNLOAD,
)
def contact_vcard(request: HttpRequest, contact_id: int) -> HttpResponse:
    """The contact as a vCard 4.0 file. Needs the export permission on the contact."""
    contact = vcard.exportable_contact(current_user(request), contact_id)
    return vcard_response(vcard.contacts_to_vcards([contact]), vcard.vcard_filename(contact))


def _uploaded_bytes(request: HttpRequest) -> bytes:
    too_large = HttpError(
        413,
        _("The file is too large; the limit is %(limit)s.")
        % {"limit": filesizeformat(vcard.MAX_BYTES)},
    )
    # Refused before reading: a body past Django's own limit would fail to read at all.
    if int(request.headers.get("Content-Length") or 0) > vcard.MAX_BYTES + 64 * 1024:
        raise too_large
    if request.content_type == "multipart/form-data":
        upload = request.FILES.get("file")
        if upload is None:
            raise HttpError(400, _("Send the vCard file as the form field “file”."))
        if upload.size > vcard.MAX_BYTES:
            raise too_large
        return upload.read()
    if request.content_type not in ("text/vcard", "text/x-vcard", "text/directory"):
        raise HttpError(
            415,
            _("Send the vCard file as text/vcard, or as the field “file” of a multipart form."),
        )
    if len(request.body) > vcard.MAX_BYTES:
        raise too_large
    return request.body


@router.post(
    "/contacts/vcards",
    response={200: VcardImportOut, **problems(400, 403, 413, 415, 422)},
    openapi_extra=UPLOAD,
)
def contacts_vcards_import(request: HttpRequest) -> vcard.ImportReport:
    """Import a vCard file: each card creates a contact, or updates the contact you may
    see with one of its email addresses. At most 2 MB and 500 cards; a result per card."""
    vcard.may_import(current_user(request))
    text = vcard.vcard_text(_uploaded_bytes(request))
    return vcard.vcards_import(text, actor=actor(request))
