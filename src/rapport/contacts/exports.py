"""CSV export of companies or contacts: the rows a list page selected, or all rows its
filters match, with the columns it showed. Runs as a background job with progress.

The job reads the rows again as its owner, through the same list query as the
page and narrowed to what the owner's role lets them export, so an export
never holds a row its owner could not see, however the parameters were made.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import models
from django.http import QueryDict
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from rapport.accounts.models import Scope
from rapport.contacts import queries
from rapport.contacts.columns import available_columns, chosen_columns, load_related
from rapport.contacts.models import Company, Contact
from rapport.core.jobs import JobError, Progress, job_handler, spreadsheet_safe
from rapport.core.models import Job
from rapport.core.permissions import scope, scope_of

if TYPE_CHECKING:
    from rapport.accounts.models import User

EXPORT_KINDS = {
    "contacts.company": "contacts.export_companies",
    "contacts.contact": "contacts.export_contacts",
}
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
    matching), ``columns`` and ``sort``, as the list page sends them."""
    filters = params.get("filters") or {}
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
    )
    if not well_formed:
        raise ValidationError(_("The export parameters are not valid."))
    return {"filters": filters, "ids": ids, "columns": columns, "sort": sort}


def may_export(model: type[models.Model]) -> Callable[[User | None], None]:
    def authorize(user: User | None) -> None:
        if scope_of(user, model, "export") == Scope.NONE:
            raise PermissionDenied

    return authorize


ListQuery = Callable[["User", QueryDict], tuple[Any, list[str]]]


def export_rows(job: Job, list_query: ListQuery) -> tuple[models.QuerySet, list[str]]:
    """The rows a list export job selects, as its owner may export them now, and the
    list's ordering."""
    params = queries.as_query_dict(job.params["filters"]).copy()
    if job.params["sort"]:
        params["sort"] = job.params["sort"]
    try:
        filterset, ordering = list_query(job.owner, params)
    except queries.InvalidFilters as error:
        raise JobError(" ".join(error.messages)) from None
    rows = scope(filterset.qs, job.owner, "export")
    if job.params["ids"]:
        rows = rows.filter(pk__in=job.params["ids"])
    return rows, ordering


def export_csv(
    job: Job,
    progress: Progress,
    model: type[models.Model],
    list_query: ListQuery,
    done: Callable[[int], str],
) -> dict[str, Any]:
    """Write the rows of a list page's export to a CSV file on the job; ``done(n)`` is the
    message saying ``n`` rows were exported."""
    rows, ordering = export_rows(job, list_query)
    columns = chosen_columns(available_columns(model), job.params["columns"])
    total = rows.count()
    progress(0, total)
    written = 0
    with tempfile.TemporaryFile() as buffer:
        text = io.TextIOWrapper(buffer, encoding="utf-8", newline="")
        writer = csv.writer(text)
        writer.writerow([str(column.label) for column in columns])
        ordered = load_related(rows, columns).order_by(*ordering)
        for row in ordered.iterator(chunk_size=CHUNK_SIZE):
            writer.writerow([spreadsheet_safe(column.text(row)) for column in columns])
            written += 1
            if written % PROGRESS_EVERY == 0:
                progress(written, max(total, written))
        text.flush()
        text.detach()
        buffer.seek(0)
        with translation.override("en"):
            name = slugify(str(model._meta.verbose_name_plural))
        job.result_file.save(
            f"{name}-{timezone.localdate():%Y-%m-%d}.csv", File(buffer), save=False
        )
    progress(written, written)
    return {"rows": written, "message": done(written) % {"count": written}}


@job_handler(
    EXPORT_KINDS["contacts.company"],
    authorize=may_export(Company),
    clean_params=clean_export_params,
)
def export_companies(job: Job, progress: Progress) -> dict[str, Any]:
    return export_csv(
        job,
        progress,
        Company,
        queries.company_list,
        lambda count: ngettext(
            "%(count)d company exported.", "%(count)d companies exported.", count
        ),
    )


@job_handler(
    EXPORT_KINDS["contacts.contact"],
    authorize=may_export(Contact),
    clean_params=clean_export_params,
)
def export_contacts(job: Job, progress: Progress) -> dict[str, Any]:
    return export_csv(
        job,
        progress,
        Contact,
        queries.contact_list,
        lambda count: ngettext(
            "%(count)d contact exported.", "%(count)d contacts exported.", count
        ),
    )
