"""The Export button of list pages that have no bulk actions (leads, products)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.contacts.exports import EXPORTABLES
from rapport.contacts.listing import filter_params
from rapport.core.actors import Actor
from rapport.core.jobs import job_start


@login_required
@require_POST
def export_start(request: HttpRequest, records: str) -> HttpResponse:
    """Export every row the list's filters (``query``, its query string) select."""
    exportable = EXPORTABLES.get(records)
    if exportable is None:
        raise Http404
    query = QueryDict(request.POST.get("query", "")[:4000])
    file_format = request.POST.get("format", "csv")
    try:
        job = job_start(
            actor=Actor.for_request(request),
            kind=exportable.job_kind,
            title=_("Export of %(title)s") % {"title": exportable.model._meta.verbose_name_plural},
            params={
                "filters": filter_params(query),
                "sort": query.get("sort", ""),
                "columns": [],
                "ids": [],
                "format": file_format,
            },
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(request.META.get("HTTP_REFERER") or "web:home")
    return redirect("core:job_detail", pk=job.pk)
