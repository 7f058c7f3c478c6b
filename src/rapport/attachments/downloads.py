"""Sending a stored version back: to the page's download link and to the API alike."""

from __future__ import annotations

from django.http import FileResponse, Http404

from rapport.attachments.models import AttachmentVersion


def download_response(version: AttachmentVersion) -> FileResponse:
    """The version's bytes, streamed, always as a download under its attachment's name.

    Whatever a file holds, the browser must not render it in Rapport's origin (an
    uploaded HTML or SVG page would run with the reader's session): so ``attachment``,
    the stored type with ``nosniff``, and a sandboxing policy if it is opened anyway."""
    try:
        handle = version.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=version.attachment.name,
        content_type=version.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-cache"
    return response
