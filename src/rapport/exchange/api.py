"""/imports and /exports: the import wizard's steps and list exports, for integrations.

An import: upload the file (``POST /imports``, multipart) with its record type, and,
optionally, its mapping; read what was detected (``GET /imports/{id}``), change the
mapping (``PUT /imports/{id}/mapping``), then ``POST /imports/{id}/start`` (with
``dry_run`` for a report only) and poll ``GET /imports/{id}`` for progress and
counts; ``GET /imports/{id}/failures`` gives the failed rows as CSV.
"""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from rapport.contacts.exports import EXPORTABLES, FORMATS
from rapport.core.api import actor, created, current_user, problems
from rapport.core.jobs import job_start
from rapport.exchange import import_rollback, imports
from rapport.exchange.models import ImportRun, ImportStatus

router = Router(tags=["import and export"])

EXPORTABLE = {
    "companies": "contacts.company",
    "contacts": "contacts.contact",
    "deals": "sales.deal",
}


class ImportOut(Schema):
    id: int
    object_type: str
    file_name: str
    file_format: str
    encoding: str
    delimiter: str
    header: list[str]
    mapping: dict[str, str] = Field(description="Column header → field imported into.")
    options: dict[str, Any]
    status: ImportStatus
    total_rows: int | None
    done_rows: int = Field(alias="next_row")
    created: int
    updated: int
    unchanged: int
    failed: int
    job: uuid.UUID | None = Field(alias="job_id")
    dry_run_job: uuid.UUID | None = Field(alias="dry_run_job_id")
    created_at: datetime.datetime
    finished_at: datetime.datetime | None

    @staticmethod
    def resolve_mapping(run: ImportRun) -> dict[str, str]:
        return {run.header[int(column)]: target for column, target in run.mapping.items()}


class MappingIn(Schema):
    columns: dict[str, str] = Field(
        description="Column header → field; leave a column out to skip it."
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "key, date_formats (e.g. ['%d/%m/%Y']), decimal_comma, create_companies, phone_region."
        ),
    )


class StartIn(Schema):
    dry_run: bool = False


class JobRef(Schema):
    job: uuid.UUID = Field(alias="pk")
    status: str


def _run(request: HttpRequest, import_id: int) -> ImportRun:
    runs = imports.visible_runs(current_user(request)).select_related("job")
    return imports.notice_interruption(get_object_or_404(runs, pk=import_id))


def _by_column(run: ImportRun, columns: dict[str, str]) -> dict[str, str]:
    positions = {title: str(index) for index, title in enumerate(run.header)}
    unknown = sorted(set(columns) - set(positions))
    if unknown:
        raise ValidationError({"columns": [f"The file has no column named {', '.join(unknown)}."]})
    return {positions[title]: target for title, target in columns.items()}


@router.post("/imports", response={201: ImportOut, **problems(403, 422)})
def import_create(
    request: HttpRequest,
    response: HttpResponse,
    object_type: Form[str],
    file: File[UploadedFile],
    mapping: Form[str] = "",
) -> Any:
    """Upload a CSV or XLSX file to import as ``object_type`` (companies, contacts,
    leads, deals, products). Without ``mapping`` (a JSON ``MappingIn``) columns are
    mapped from their headers, as the wizard suggests."""
    who = actor(request)
    run = imports.import_upload(
        actor=who, object_type=object_type, upload=file, file_name=file.name
    )
    if mapping:
        try:
            given = MappingIn.model_validate(json.loads(mapping))
        except ValueError:
            raise ValidationError(
                {"mapping": ['Give the mapping as JSON: {"columns": {…}}.']}
            ) from None
        imports.import_configure(
            run,
            actor=who,
            mapping=_by_column(run, given.columns),
            options=run.options | given.options,
        )
    return created(response, run, "api:import_detail", import_id=run.pk)


@router.get("/imports/{int:import_id}", response={200: ImportOut, **problems(404)})
def import_detail(request: HttpRequest, import_id: int) -> ImportRun:
    """An import's shape, mapping, status, progress and counts."""
    return _run(request, import_id)


@router.put("/imports/{int:import_id}/mapping", response={200: ImportOut, **problems(404, 422)})
def import_mapping(request: HttpRequest, import_id: int, payload: MappingIn) -> ImportRun:
    """Set which field each column goes into, the key and the options."""
    run = _run(request, import_id)
    return imports.import_configure(
        run, actor=actor(request), mapping=_by_column(run, payload.columns), options=payload.options
    )


@router.post("/imports/{int:import_id}/start", response={202: JobRef, **problems(404, 422)})
def import_start_api(request: HttpRequest, import_id: int, payload: StartIn) -> Status:
    """Start the import, or its dry run, as a background job."""
    job = imports.import_start(
        _run(request, import_id), actor=actor(request), dry_run=payload.dry_run
    )
    return Status(202, job)


@router.post("/imports/{int:import_id}/resume", response={202: JobRef, **problems(404, 422)})
def import_resume_api(request: HttpRequest, import_id: int) -> Status:
    """Go on with an interrupted import from the last batch it committed."""
    return Status(202, imports.import_resume(_run(request, import_id), actor=actor(request)))


@router.post("/imports/{int:import_id}/rollback", response={202: JobRef, **problems(404, 422)})
def import_rollback_api(request: HttpRequest, import_id: int) -> Status:
    """Undo the import: records it created go to the trash, records it updated get their
    values back (those changed since are left as they are)."""
    job = import_rollback.import_rollback_start(_run(request, import_id), actor=actor(request))
    return Status(202, job)


@router.post("/imports/{int:import_id}/cancel", response={200: ImportOut, **problems(404, 422)})
def import_cancel_api(request: HttpRequest, import_id: int) -> ImportRun:
    """Stop the import after the batch it is writing; what it wrote stays."""
    return imports.import_cancel(_run(request, import_id), actor=actor(request))


@router.get("/imports/{int:import_id}/failures", response={200: None, **problems(404)})
def import_failures(
    request: HttpRequest, import_id: int, dry_run: bool = False
) -> StreamingHttpResponse:
    """The failed rows as CSV: the file's columns, then the line and the reason."""
    rows = imports.failures_csv(_run(request, import_id), actor=actor(request), dry_run=dry_run)
    return StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")


class ExportIn(Schema):
    object_type: str = Field(description="companies, contacts, deals, leads or products.")
    format: str = Field("csv", description="csv, xlsx or jsonl.")
    filters: dict[str, str | list[str]] = Field(
        default_factory=dict,
        description='The list page\'s filters, e.g. {"lifecycle_stage": "customer"}.',
    )
    columns: list[str] = Field(
        default_factory=list, description="Column names; empty for the defaults."
    )
    sort: str = ""


@router.post("/exports", response={202: JobRef, **problems(403, 422)})
def export_start(request: HttpRequest, payload: ExportIn) -> Status:
    """Export the rows a list's filters select as a background job; poll
    ``/jobs/{job}`` and fetch the file from ``/jobs/{job}/download``."""
    exportable = EXPORTABLES.get(payload.object_type)
    if exportable is None:
        choices = ", ".join(sorted(EXPORTABLES))
        raise ValidationError({"object_type": [f"Choose one of: {choices}."]})
    if payload.format not in FORMATS:
        raise ValidationError({"format": [f"Choose one of: {', '.join(sorted(FORMATS))}."]})
    label = exportable.model._meta.verbose_name_plural
    job = job_start(
        actor=actor(request),
        kind=exportable.job_kind,
        title=_("Export of %(title)s") % {"title": label},
        params={
            "filters": payload.filters,
            "columns": payload.columns,
            "sort": payload.sort,
            "ids": [],
            "format": payload.format,
        },
    )
    return Status(202, job)
