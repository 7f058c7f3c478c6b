"""API for core machinery: the audit log (/audit) and background jobs (/jobs)."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema

from rapport.core.api import PageOut, PageParams, current_user, paginate, problems
from rapport.core.audit import filter_entries
from rapport.core.models import AuditAction, AuditEntry, Job, JobStatus, Source
from rapport.core.permissions import require_admin

router = Router(tags=["core"])


class AuditOut(Schema):
    id: int
    at: datetime.datetime
    actor: int | None = Field(alias="actor_id", description="The acting user's id.")
    actor_label: str
    source: Source
    action: AuditAction
    object_type: str = Field(description="app_label.model, e.g. accounts.team.")
    object_id: str
    object_repr: str
    changes: dict[str, Any] = Field(description="{field: [before, after]} per changed field.")
    request_id: str

    @staticmethod
    def resolve_object_type(entry: AuditEntry) -> str:
        return f"{entry.content_type.app_label}.{entry.content_type.model}"


class AuditFilters(Schema):
    object_type: str | None = Field(None, description="app_label.model, e.g. accounts.team.")
    object_id: str | None = None
    actor: int | None = Field(None, description="A user id.")
    action: AuditAction | None = None
    source: Source | None = None
    since: datetime.date | None = Field(None, description="From this day on.")
    until: datetime.date | None = Field(None, description="Up to and including this day.")


@router.get("/audit", response={200: PageOut[AuditOut], **problems(400, 403, 422)})
def audit_list(
    request: HttpRequest,
    response: HttpResponse,
    filters: Query[AuditFilters],
    page: Query[PageParams],
) -> dict:
    """The audit log, newest first (admins). Days are in your time zone."""
    require_admin(current_user(request))
    entries = filter_entries(
        AuditEntry.objects.select_related("content_type"),
        **{name: value for name, value in filters.model_dump().items() if value is not None},
    )
    return paginate(request, response, entries, ordering=["-id"], params=page)


class JobOut(Schema):
    id: uuid.UUID
    kind: str
    title: str
    status: JobStatus
    progress_done: int
    progress_total: int | None
    message: str
    result: dict[str, Any]
    has_file: bool = Field(description="Whether /jobs/{id}/download serves a file.")
    created_at: datetime.datetime
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None

    @staticmethod
    def resolve_has_file(job: Job) -> bool:
        return bool(job.result_file)


def _own_job(request: HttpRequest, job_id: uuid.UUID) -> Job:
    job = Job.objects.filter(pk=job_id, owner=current_user(request)).first()
    if job is None:
        raise Http404
    return job


@router.get("/jobs/{uuid:job_id}", response={200: JobOut, **problems(404)})
def job_detail(request: HttpRequest, job_id: uuid.UUID) -> Job:
    """One of your background jobs (an export, an import, a rebuild): status, progress
    and result. Poll it until ``status`` is succeeded, failed or cancelled."""
    return _own_job(request, job_id)


@router.get("/jobs/{uuid:job_id}/download", response={200: None, **problems(404)})
def job_download(request: HttpRequest, job_id: uuid.UUID) -> FileResponse:
    """The file a finished job made (an export)."""
    job = _own_job(request, job_id)
    if not job.result_file:
        raise Http404
    return FileResponse(
        job.result_file.open("rb"),
        as_attachment=True,
        filename=job.result_file.name.rsplit("/", 1)[-1],
    )
