"""The signed-in user's background jobs: list, progress, cancel and download."""

from __future__ import annotations

import os

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import models
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from rapport.core import jobs
from rapport.core.actors import Actor
from rapport.core.models import Job
from rapport.core.pagination import InvalidCursor, keyset_page

JOB_PAGE_SIZE = 50


def own_jobs(request: HttpRequest) -> models.QuerySet[Job]:
    """Only the owner sees a job; anyone else gets a 404."""
    return Job.objects.filter(owner=request.user)


@login_required
def job_list(request: HttpRequest) -> HttpResponse:
    try:
        page = keyset_page(
            own_jobs(request),
            ordering=["-created_at", "-id"],
            cursor=request.GET.get("cursor"),
            limit=JOB_PAGE_SIZE,
        )
    except InvalidCursor:
        raise Http404 from None
    return render(request, "core/job_list.html", {"page": page})


@login_required
def job_detail(request: HttpRequest, pk: str) -> HttpResponse:
    job = get_object_or_404(own_jobs(request), pk=pk)
    return render(request, "core/job_detail.html", {"job": job})


@login_required
def job_progress(request: HttpRequest, pk: str) -> HttpResponse:
    """The progress fragment the detail page polls until the job finishes."""
    job = get_object_or_404(own_jobs(request), pk=pk)
    return render(request, "core/_job_progress.html", {"job": job})


@login_required
@require_POST
def job_cancel(request: HttpRequest, pk: str) -> HttpResponse:
    job = get_object_or_404(own_jobs(request), pk=pk)
    try:
        job = jobs.job_cancel(job, actor=Actor.for_request(request))
    except jobs.JobError as error:
        messages.error(request, str(error))
    if request.htmx:
        return render(request, "core/_job_progress.html", {"job": job})
    return redirect("core:job_detail", pk=job.pk)


@login_required
def job_download(request: HttpRequest, pk: str) -> FileResponse:
    job = get_object_or_404(own_jobs(request), pk=pk)
    if not job.result_file:
        raise Http404
    try:
        handle = job.result_file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    return FileResponse(handle, as_attachment=True, filename=os.path.basename(job.result_file.name))
