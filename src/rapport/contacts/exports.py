"""Export of a list page (companies, contacts, deals): the rows it selected, or all rows
its filters match, with the columns it showed, as CSV, XLSX or JSON Lines. Runs as a
background job with progress.

Rows stream from the database in chunks into a temporary file (openpyxl's
write-only mode for XLSX), so an export of a million rows holds one chunk in
memory. Text that a spreadsheet would run as a formula is written with a
leading apostrophe in CSV and XLSX; JSON Lines keeps the values as they are.

The job reads the rows again as its owner, through the same list query as the
page and narrowed to what the owner's role lets them export, so an export
never holds a row its owner could not see, however the parameters were made.
"""

from __future__ import annotations

import csv
import io
import json
import operator
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import models
from django.http import QueryDict
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from openpyxl import Workbook

from rapport.accounts.models import Scope
from rapport.contacts import queries
from rapport.contacts.columns import (
    Reads,
    available_columns,
    chosen_columns,
    load_related,
    plain,
)
from rapport.contacts.models import Company, Contact
from rapport.core.jobs import JobError, Progress, job_handler, spreadsheet_safe
from rapport.core.models import Job
from rapport.core.permissions import scope, scope_of

if TYPE_CHECKING:
    from rapport.accounts.models import User

# Record label (``contacts.contact``) → the kind of job that exports it.
EXPORT_KINDS: dict[str, str] = {}
# Contacts as vCards: the job is rapport.exchange's (vcard_jobs).
VCARD_EXPORT_KIND = "exchange.export_vcards"
PROGRESS_EVERY = 500
CHUNK_SIZE = 2000
MAX_IDS = 10_000
MAX_FILTERS = 50


def well_formed_filters(filters: Any) -> bool:
    """Whether ``filters`` has the shape of a list page's filters: name → value or list."""
    return (
        isinstance(filters, dict)
        and len(filters) <= MAX_FILTERS
        and all(isinstance(value, (str, list)) for value in filters.values())
    )


def clean_export_params(params: dict[str, Any]) -> dict[str, Any]:
    """``filters`` (name → value or list), ``ids`` (the selection, empty for all rows
    matching), ``columns``, ``sort`` and ``format`` (csv, xlsx or jsonl), as the list
    page sends them."""
    filters = params.get("filters") or {}
    file_format = params.get("format") or "csv"
    ids = params.get("ids") or []
    columns = params.get("columns") or []
    sort = params.get("sort") or ""
    well_formed = (
        well_formed_filters(filters)
        and isinstance(ids, list)
        and len(ids) <= MAX_IDS
        and all(isinstance(pk, int) and not isinstance(pk, bool) for pk in ids)
        and isinstance(columns, list)
        and all(isinstance(column, str) for column in columns)
        and isinstance(sort, str)
        and file_format in FORMATS
    )
    if not well_formed:
        raise ValidationError(_("The export parameters are not valid."))
    return {"filters": filters, "ids": ids, "columns": columns, "sort": sort, "format": file_format}


Report = Callable[[int], None]


def _write_csv(buffer: IO[bytes], columns: list, records: Iterable, report: Report) -> int:
    text = io.TextIOWrapper(buffer, encoding="utf-8", newline="")
    writer = csv.writer(text)
    writer.writerow([str(column.label) for column in columns])
    written = 0
    for written, texts in enumerate(records, start=1):
        writer.writerow([spreadsheet_safe(cell) for cell in texts])
        if written % PROGRESS_EVERY == 0:
            report(written)
    text.flush()
    text.detach()
    return written


def _write_jsonl(buffer: IO[bytes], columns: list, records: Iterable, report: Report) -> int:
    text = io.TextIOWrapper(buffer, encoding="utf-8", newline="\n")
    keys = [column.key for column in columns]
    written = 0
    for written, texts in enumerate(records, start=1):
        text.write(json.dumps(dict(zip(keys, texts, strict=True)), ensure_ascii=False) + "\n")
        if written % PROGRESS_EVERY == 0:
            report(written)
    text.flush()
    text.detach()
    return written


def _write_xlsx(buffer: IO[bytes], columns: list, records: Iterable, report: Report) -> int:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append([str(column.label) for column in columns])
    written = 0
    for written, texts in enumerate(records, start=1):
        sheet.append([spreadsheet_safe(cell) for cell in texts])
        if written % PROGRESS_EVERY == 0:
            report(written)
    workbook.save(buffer)
    return written


def _texts_of_rows(rows: models.QuerySet, columns: list) -> Iterator[list[str]]:
    for row in rows.iterator(chunk_size=CHUNK_SIZE):
        yield [column.text(row) for column in columns]


def _getter(read: Reads, paths: list[str]) -> Callable[[tuple], Any]:
    places = [paths.index(path) for path in read.paths]
    if read.combine is None:
        return operator.itemgetter(places[0])
    combine = read.combine
    if len(places) == 1:
        place = places[0]
        return lambda values: combine(values[place])
    return lambda values: combine(*(values[place] for place in places))


def _texts_of_values(rows: models.QuerySet, reads: list[Reads]) -> Iterator[list[str]]:
    """The cells from plain values: one ``values_list`` row holds every column's paths."""
    paths = list(dict.fromkeys(path for read in reads for path in read.paths))
    getters = [_getter(read, paths) for read in reads]
    for values in rows.values_list(*paths).iterator(chunk_size=CHUNK_SIZE):
        yield [plain(get(values)) for get in getters]


FORMATS = {"csv": _write_csv, "xlsx": _write_xlsx, "jsonl": _write_jsonl}


def may_export(model: type[models.Model]) -> Callable[[User | None], None]:
    def authorize(user: User | None) -> None:
        if scope_of(user, model, "export") == Scope.NONE:
            raise PermissionDenied

    return authorize


ListQuery = Callable[["User", QueryDict], tuple[Any, list[str]]]


def selected_rows(
    owner: User, list_query: ListQuery, params: dict[str, Any]
) -> tuple[models.QuerySet, list[str]]:
    """The rows ``params`` (as ``clean_export_params`` returns them) select, as ``owner``
    may export them, and the list's ordering. ``JobError`` for filters that do not apply."""
    query = queries.as_query_dict(params["filters"]).copy()
    if params["sort"]:
        query["sort"] = params["sort"]
    try:
        filterset, ordering = list_query(owner, query)
    except ValidationError as error:  # each list's InvalidFilters
        raise JobError(" ".join(error.messages)) from None
    rows = scope(filterset.qs, owner, "export")
    if params["ids"]:
        rows = rows.filter(pk__in=params["ids"])
    return rows, ordering


def export_write(
    buffer: IO[bytes],
    *,
    owner: User,
    model: type[models.Model],
    list_query: ListQuery,
    params: dict[str, Any],
    progress: Progress,
) -> int:
    """Write the rows ``params`` (as ``clean_export_params`` returns them) select, as
    ``owner`` may export them, to ``buffer``; the number of rows written. ``JobError``
    for filters that do not apply."""
    rows, ordering = selected_rows(owner, list_query, params)
    columns = chosen_columns(available_columns(model, owner), params["columns"])
    total = rows.count()
    progress(0, total)
    rows = rows.order_by(*ordering)
    reads = [column.plain_reads(model) for column in columns]
    if all(reads):
        records = _texts_of_values(rows, reads)
    else:
        records = _texts_of_rows(load_related(rows, columns), columns)
    written = FORMATS[params["format"]](
        buffer, columns, records, lambda n: progress(n, max(total, n))
    )
    progress(written, written)
    return written


def export_rows(
    job: Job,
    progress: Progress,
    model: type[models.Model],
    list_query: ListQuery,
    done: Callable[[int], str],
) -> dict[str, Any]:
    """Write the rows of a list page's export to a file on the job, in the format its
    parameters name; ``done(n)`` is the message saying ``n`` rows were exported."""
    params = {"format": "csv"} | job.params
    with tempfile.TemporaryFile() as buffer:
        written = export_write(
            buffer,
            owner=job.owner,
            model=model,
            list_query=list_query,
            params=params,
            progress=progress,
        )
        file_format = params["format"]
        buffer.seek(0)
        with translation.override("en"):
            name = slugify(str(model._meta.verbose_name_plural))
        job.result_file.save(
            f"{name}-{timezone.localdate():%Y-%m-%d}.{file_format}", File(buffer), save=False
        )
    return {"rows": written, "message": done(written) % {"count": written}}


@dataclass(frozen=True)
class Exportable:
    """A record type whose lists export: by ``rapport export <name>`` and the API too."""

    name: str
    model: type[models.Model]
    list_query: ListQuery
    job_kind: str


# By plural name (``contacts``); filled by ``register_export``.
EXPORTABLES: dict[str, Exportable] = {}


def register_export(
    name: str, model: type[models.Model], list_query: ListQuery, done: Callable[[int], str]
) -> None:
    """Let ``model``'s rows, as ``list_query`` selects them, be exported as a background
    job; ``done(n)`` says ``n`` rows were exported. Its columns come from
    ``columns.register_columns``."""
    kind = f"exports.{name}"

    def run(job: Job, progress: Progress) -> dict[str, Any]:
        return export_rows(job, progress, model, list_query, done)

    job_handler(
        kind, authorize=may_export(model), clean_params=clean_export_params, resumable=True
    )(run)
    EXPORT_KINDS[model._meta.label_lower] = kind
    EXPORTABLES[name] = Exportable(name, model, list_query, kind)


register_export(
    "companies",
    Company,
    queries.company_list,
    lambda count: ngettext("%(count)d company exported.", "%(count)d companies exported.", count),
)
register_export(
    "contacts",
    Contact,
    queries.contact_list,
    lambda count: ngettext("%(count)d contact exported.", "%(count)d contacts exported.", count),
)
