"""Attachment pages: the panel on every record's page, the full list of a record's
attachments, upload, download and delete. Thin: reads through ``queries``,
writes through ``services``."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.attachments import queries, services
from rapport.attachments.downloads import download_response
from rapport.attachments.forms import AttachmentForm
from rapport.core.actors import Actor
from rapport.core.forms import apply_service_errors
from rapport.core.models import Record
from rapport.core.pagination import InvalidCursor, keyset_page
from rapport.core.permissions import can, object_type

PANEL_SIZE = 10
PAGE_SIZE = 50


def _urls(record: Record) -> dict[str, str]:
    keys = {"object_type": object_type(record), "object_id": str(record.pk)}
    return {
        "list_url": reverse("attachments:list", kwargs=keys),
        "upload_url": reverse("attachments:upload", kwargs=keys),
    }


def _record_url(record: Record) -> str:
    if hasattr(record, "get_absolute_url"):
        return record.get_absolute_url()
    return _urls(record)["list_url"]


def panel_context(
    request: HttpRequest, record: Record, form: AttachmentForm | None = None, notice: str = ""
) -> dict[str, Any]:
    """The attachments panel of a record's page (which has checked the reader sees it)."""
    page = keyset_page(
        queries.attachments_of(record, with_versions=True),
        ordering=queries.ORDERING,
        cursor=None,
        limit=PANEL_SIZE,
    )
    return {
        "attachments": page.items,
        "has_more": page.has_more,
        "can_edit": can(request.user, "edit", record),
        "form": form or AttachmentForm(),
        "notice": notice,
        **_urls(record),
    }


def _list_page(
    request: HttpRequest, record: Record, form: AttachmentForm | None = None, status: int = 200
) -> HttpResponse:
    try:
        page = keyset_page(
            queries.attachments_of(record, with_versions=True),
            ordering=queries.ORDERING,
            cursor=request.GET.get("cursor"),
            limit=PAGE_SIZE,
        )
    except InvalidCursor:
        raise Http404 from None
    context = {
        "record": record,
        "record_url": _record_url(record),
        "page": page,
        "attachments": page.items,
        "can_edit": can(request.user, "edit", record),
        "form": form or AttachmentForm(),
        **_urls(record),
    }
    return render(request, "attachments/attachment_list.html", context, status=status)


@login_required
def attachment_list(request: HttpRequest, object_type: str, object_id: str) -> HttpResponse:
    """Every attachment of a record, a page at a time."""
    return _list_page(request, queries.visible_record(request.user, object_type, object_id))


@login_required
@require_POST
def attachment_upload(request: HttpRequest, object_type: str, object_id: str) -> HttpResponse:
    """Upload from the panel (htmx: answers with the panel) or from the list page."""
    record = queries.visible_record(request.user, object_type, object_id)
    if not can(request.user, "edit", record):
        raise PermissionDenied
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            version = services.attachment_upload(
                actor=Actor.for_request(request), record=record, file=form.cleaned_data["file"]
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            notice = _("“%(name)s” is attached.") % {"name": version.attachment}
            if request.htmx:
                context = panel_context(request, record, notice=notice)
                return render(request, "attachments/_panel.html", context)
            messages.success(request, notice)
            return redirect(_record_url(record))
    if request.htmx:
        # htmx swaps only successful answers, so the form with its errors comes as 200.
        return render(request, "attachments/_panel.html", panel_context(request, record, form))
    return _list_page(request, record, form, status=422)


@login_required
def attachment_download(request: HttpRequest, pk: int, number: int | None = None) -> FileResponse:
    """Version ``number`` of an attachment, or its latest."""
    return download_response(queries.visible_version(request.user, pk, number))


@login_required
def attachment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    attachment, record = queries.visible_attachment(request.user, pk)
    if not can(request.user, "edit", record):
        raise PermissionDenied
    if request.method == "POST":
        services.attachment_delete(attachment, actor=Actor.for_request(request))
        messages.success(request, _("“%(name)s” is deleted.") % {"name": attachment.name})
        return redirect(_record_url(record))
    return render(
        request,
        "web/confirm_delete.html",
        {
            "title": _("Delete the attachment “%(name)s”?") % {"name": attachment.name},
            "explanation": _("All its versions are deleted for good."),
            "cancel_url": _record_url(record),
        },
    )
