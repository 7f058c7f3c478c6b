"""The duplicate review queue page: open pairs per object type, surest first, each with
a link to the merge screen and a "Not a duplicate" button; and the buttons that start
the scan and the merge of every sure pair. Thin: ``contacts.duplicates`` does the work.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.accounts.models import User
from rapport.contacts import duplicates
from rapport.contacts.dedupe import SURE, may_merge, require_merge_right
from rapport.contacts.forms import SureMergeForm
from rapport.contacts.models import DuplicateReason, DuplicateType
from rapport.core.actors import Actor
from rapport.core.forms import apply_service_errors
from rapport.core.pagination import keyset_page

PAIRS_PER_PAGE = 50
MERGE_SCREENS = {
    DuplicateType.CONTACT: "contacts:contact_merge",
    DuplicateType.COMPANY: "contacts:company_merge",
}


def _object_type(params: QueryDict, user: User) -> str:
    """The type ``params`` name, else the first whose records ``user`` may merge."""
    object_type = params.get("type") or next(
        (name for name in DuplicateType.values if may_merge(user, name)), DuplicateType.CONTACT
    )
    if object_type not in MERGE_SCREENS:
        raise BadRequest("unknown type")
    return object_type


def queue_url(object_type: str) -> str:
    return f"{reverse('contacts:duplicate_list')}?{urlencode({'type': object_type})}"


def _back(request: HttpRequest, object_type: str) -> str:
    """Where a button of the queue returns: the page it was on, else the queue's start."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return queue_url(object_type)


@login_required
def duplicate_list(request: HttpRequest) -> HttpResponse:
    object_type = _object_type(request.GET, request.user)
    sort = request.GET.get("sort") or "-confidence"
    if sort not in duplicates.SORTS:
        raise BadRequest("unknown sort")
    pairs = duplicates.review_queue(request.user, object_type)
    page = keyset_page(
        pairs,
        ordering=duplicates.SORTS[sort],
        cursor=request.GET.get("cursor"),
        limit=PAIRS_PER_PAGE,
    )
    merge_screen = reverse(MERGE_SCREENS[object_type])
    rows = [
        {
            "pair": row,
            "reasons": [DuplicateReason(code).label for code in row.candidate.reasons],
            "merge_url": f"{merge_screen}?{urlencode({'a': row.keep.pk, 'b': row.other.pk})}",
        }
        for row in duplicates.with_records(page.items, object_type)
    ]
    context = {
        "object_type": object_type,
        "types": [
            {
                "value": value,
                "label": label,
                "url": queue_url(value),
                "current": value == object_type,
            }
            for value, label in DuplicateType.choices
            if may_merge(request.user, value)
        ],
        "is_contact": object_type == DuplicateType.CONTACT,
        "sort": sort,
        "page": page,
        "rows": rows,
        "sure": SURE,
        "scan": duplicates.last_scan(object_type),
    }
    return render(request, "contacts/duplicate_list.html", context)


@login_required
@require_POST
def duplicate_scan(request: HttpRequest) -> HttpResponse:
    job = duplicates.duplicate_scan_start(
        actor=Actor.for_request(request), object_type=_object_type(request.POST, request.user)
    )
    return redirect("core:job_detail", pk=job.pk)


@login_required
def duplicate_merge_sure(request: HttpRequest) -> HttpResponse:
    """GET: what "Merge all sure pairs" does, and its threshold; POST: start it."""
    object_type = _object_type(
        request.POST if request.method == "POST" else request.GET, request.user
    )
    require_merge_right(request.user, object_type)
    form = SureMergeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = duplicates.duplicates_merge_start(
                actor=Actor.for_request(request),
                object_type=object_type,
                min_confidence=form.cleaned_data["min_confidence"],
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            return redirect("core:job_detail", pk=job.pk)
    context = {
        "form": form,
        "object_type": object_type,
        "is_contact": object_type == DuplicateType.CONTACT,
        "cancel_url": queue_url(object_type),
    }
    return render(request, "contacts/duplicate_merge_sure.html", context)


@login_required
@require_POST
def duplicate_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    candidate = duplicates.candidate_or_404(request.user, pk)
    try:
        duplicates.duplicate_dismiss(candidate, actor=Actor.for_request(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Marked as not a duplicate; later scans will leave it out."))
    return redirect(_back(request, candidate.object_type))
