"""Home page, global search and the error pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import loader

from rapport.core.models import AuditEntry, Job
from rapport.web import search as global_search
from rapport.web.home import admin_status, getting_started

RECENT_CHANGES = 8
RECENT_JOBS = 5
SUGGESTIONS_PER_TYPE = 5


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {
        "recent_changes": AuditEntry.objects.filter(actor=user)
        .select_related("content_type")
        .order_by("-id")[:RECENT_CHANGES],
        "recent_jobs": Job.objects.filter(owner=user).order_by("-created_at")[:RECENT_JOBS],
    }
    if user.is_admin:
        context["status"] = admin_status()
        context["checklist"] = getting_started(user)
    return render(request, "web/home.html", context)


@login_required
def search(request: HttpRequest) -> HttpResponse:
    """The search page; with ``partial=1``, the header box's type-ahead list alone."""
    query = request.GET.get("q", "")[:200]
    partial = bool(request.GET.get("partial"))
    groups = global_search.search(
        request.user,
        query,
        limit_per_type=SUGGESTIONS_PER_TYPE if partial else global_search.RESULTS_PER_TYPE,
    )
    context = {
        "search_query": query,
        "groups": groups,
        "too_short": 0 < len(query.strip()) < global_search.MIN_QUERY_LENGTH,
    }
    template = "web/_search_suggestions.html" if partial else "web/search.html"
    return render(request, template, context)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "web/error.html", {"status": 403}, status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "web/error.html", {"status": 404}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # Rendered without context processors: the database may be what failed.
    template = loader.get_template("web/error_500.html")
    return HttpResponse(template.render({}), status=500)
