"""Background jobs a user starts and watches: exports, imports, rebuilds.

A kind of job is a function registered with ``@job_handler("kind")``. It gets
the ``Job`` and a ``progress(done, total)`` callback, and returns a JSON-safe
dict kept as ``Job.result`` (a ``"message"`` key becomes the message shown to
the owner; ``"failures"``, a list of ``{"record", "reason"}``, is listed on the
job's page, with ``"failures_not_listed"`` counting those left out). It may
attach a file with ``job.result_file.save(name, content, save=False)``; only
the owner can download it. Register handlers in a module
imported by the app's ``AppConfig.ready`` so the worker knows them.

A job runs in the worker outside any transaction, so each progress update is
seen at once by the page that polls it; a handler should not hold one
transaction for the whole job. ``progress`` raises ``JobCancelled`` once the
owner cancelled, which stops the handler where it stands. A handler raises
``JobError`` for a failure whose message the owner may read; any other error
fails the job with a generic message and is logged.

A job whose worker dies (killed, out of memory, its machine lost) is found by
``recover_abandoned_jobs`` once that worker's heartbeat is stale. A kind
registered ``resumable=True`` is queued again, up to ``MAX_ATTEMPTS`` runs in
all, and another worker takes it over; its handler must then be idempotent:
run again, it ends as one uninterrupted run would (an import goes on after its
last committed batch, a bulk action leaves alone what already has the change,
an export writes its file anew). Any other kind is marked failed.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import logging
import re
import tempfile
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from rapport.core.actors import Actor
from rapport.core.audit import filter_entries
from rapport.core.forms import AuditFilterForm
from rapport.core.models import AuditEntry, Job, JobStatus, WorkerHeartbeat
from rapport.core.permissions import require_admin

if TYPE_CHECKING:
    from rapport.accounts.models import User

logger = logging.getLogger(__name__)

Progress = Callable[[int, int | None], None]
JobFunction = Callable[[Job, Progress], dict[str, Any]]
Authorize = Callable[["User | None"], None]
CleanParams = Callable[[dict[str, Any]], dict[str, Any]]


class JobCancelled(Exception):
    """The job is no longer running: its owner cancelled it."""


class JobError(Exception):
    """A failure whose message is safe to show the job's owner."""


@dataclass(frozen=True)
class JobKind:
    kind: str
    run: JobFunction
    authorize: Authorize | None = None
    clean_params: CleanParams | None = None
    resumable: bool = False


# Runs of one job at most: a job that keeps killing its worker is not taken up forever.
MAX_ATTEMPTS = 3

_kinds: dict[str, JobKind] = {}


def job_handler(
    kind: str,
    *,
    authorize: Authorize | None = None,
    clean_params: CleanParams | None = None,
    resumable: bool = False,
) -> Callable[[JobFunction], JobFunction]:
    """Register the function that runs jobs of ``kind``.

    ``authorize(user)`` raises ``PermissionDenied`` for a user who may not run
    it; it is checked when the job starts and again when it runs.
    ``clean_params(params)`` returns the validated parameters or raises
    ``ValidationError``. ``resumable``: run again after its worker died, the
    handler finishes the work without repeating any of it (see the module's doc).
    """

    def register(function: JobFunction) -> JobFunction:
        _kinds[kind] = JobKind(kind, function, authorize, clean_params, resumable)
        return function

    return register


def job_start(*, actor: Actor, kind: str, title: str, params: dict[str, Any] | None = None) -> Job:
    """Create a queued job owned by ``actor.user``; it is enqueued once this commits.

    Raises ``PermissionDenied`` if the actor may not run this kind of job and
    ``ValidationError`` for bad parameters.
    """
    job_kind = _kinds.get(kind)
    if job_kind is None:
        raise ValueError(f"no job handler is registered for {kind!r}")
    if job_kind.authorize:
        job_kind.authorize(actor.user)
    params = params or {}
    if job_kind.clean_params:
        params = job_kind.clean_params(params)
    with transaction.atomic():
        job = Job.objects.create(owner=actor.user, kind=kind, title=title[:200], params=params)
        transaction.on_commit(partial(enqueue, job.pk))
    return job


def enqueue(job_id: Any) -> None:
    from rapport.core.tasks import run_job

    result = run_job.enqueue(str(job_id))
    Job.objects.filter(pk=job_id).update(task_result_id=result.id)


def job_progress(job: Job, done: int, total: int | None = None) -> None:
    """Save how far ``job`` got; raise ``JobCancelled`` if its owner cancelled it, or if
    another worker took it over (this one was presumed dead: its heartbeat was late)."""
    still_running = Job.objects.filter(
        pk=job.pk, status=JobStatus.RUNNING, worker_id=job.worker_id
    ).update(progress_done=done, progress_total=total)
    if not still_running:
        raise JobCancelled
    job.progress_done, job.progress_total = done, total


def job_cancel(job: Job, *, actor: Actor) -> Job:
    """Cancel a queued or running job; only its owner may."""
    if actor.user is None or job.owner_id != actor.user.pk:
        raise PermissionDenied
    with transaction.atomic():
        cancelled = Job.objects.filter(
            pk=job.pk, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
        ).update(status=JobStatus.CANCELLED, finished_at=timezone.now(), message=_("Cancelled."))
    if not cancelled:
        raise JobError(_("Only a queued or running job can be cancelled."))
    job.refresh_from_db()
    return job


_this_worker = ""


def set_worker(worker_id: str) -> None:
    """Name the worker process that runs jobs from now on (``rapport worker`` does)."""
    global _this_worker
    _this_worker = worker_id


def recover_abandoned_jobs(*, alive_since: datetime.datetime) -> tuple[int, int]:
    """Take over the running jobs whose worker has not reported since ``alive_since``
    (it was killed or lost, and nothing else would ever finish them): queue a
    resumable one again while it has runs left, mark the others failed. Returns
    how many were queued again and how many failed.

    Several workers may sweep at once: each job changes only if it is still
    running on the dead worker, so it is queued again at most once.
    """
    alive = WorkerHeartbeat.objects.filter(seen_at__gte=alive_since).values("worker_id")
    abandoned = (
        Job.objects.filter(status=JobStatus.RUNNING)
        .exclude(worker_id="")
        .exclude(worker_id__in=alive)
        .values_list("pk", "kind", "worker_id", "attempts")
    )
    requeued = failed = 0
    for pk, kind, worker_id, attempts in abandoned:
        still_there = Job.objects.filter(pk=pk, status=JobStatus.RUNNING, worker_id=worker_id)
        job_kind = _kinds.get(kind)
        if job_kind is not None and job_kind.resumable and attempts < MAX_ATTEMPTS:
            with transaction.atomic():
                if still_there.update(status=JobStatus.QUEUED, worker_id=""):
                    transaction.on_commit(partial(enqueue, pk))
                    requeued += 1
                    logger.warning("job %s (%s): worker %s died, queued again", pk, kind, worker_id)
        else:
            message = _("The worker running this job stopped before it finished. Start it again.")
            failed += still_there.update(
                status=JobStatus.FAILED,
                message=message,
                finished_at=timezone.now(),
            )
    return requeued, failed


def job_run(job_id: str) -> None:
    """Run a queued job to its end: succeeded, failed or cancelled.

    Does nothing for a job that is no longer queued (cancelled before it
    started, or run already by an earlier delivery of the same task).
    """
    started = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING,
        started_at=timezone.now(),
        worker_id=_this_worker,
        attempts=F("attempts") + 1,
    )
    if not started:
        return
    job = Job.objects.select_related("owner").get(pk=job_id)
    with translation.override(owner_language(job)), timezone.override(owner_timezone(job)):
        try:
            message, result = execute(job)
        except JobCancelled:
            job.result_file.delete(save=False)
        except JobError as error:
            finish(job, JobStatus.FAILED, message=str(error))
        except PermissionDenied:
            finish(job, JobStatus.FAILED, message=_("You are no longer allowed to run this job."))
        except Exception:
            logger.exception("job %s (%s) failed", job.pk, job.kind)
            finish(
                job,
                JobStatus.FAILED,
                message=_("The job failed unexpectedly. The error was logged for administrators."),
            )
        else:
            finish(job, JobStatus.SUCCEEDED, message=message, result=result)


def execute(job: Job) -> tuple[str, dict[str, Any]]:
    """Run the handler; return the message for the owner and the rest of its result."""
    job_kind = _kinds.get(job.kind)
    if job_kind is None:
        raise JobError(_("This kind of job is no longer available."))
    if job_kind.authorize:
        job_kind.authorize(job.owner)
    result = dict(job_kind.run(job, partial(job_progress, job)) or {})
    return str(result.pop("message", "")) or _("Done."), result


def finish(
    job: Job, status: JobStatus, *, message: str, result: dict[str, Any] | None = None
) -> None:
    """Record the outcome, unless the owner cancelled meanwhile or another worker took
    the job over (then drop the file)."""
    finished = Job.objects.filter(
        pk=job.pk, status=JobStatus.RUNNING, worker_id=job.worker_id
    ).update(
        status=status,
        message=message[:500],
        result=result or {},
        result_file=job.result_file.name or "",
        finished_at=timezone.now(),
    )
    if not finished:
        job.result_file.delete(save=False)


def owner_language(job: Job) -> str:
    return job.owner.language if job.owner else settings.LANGUAGE_CODE


def owner_timezone(job: Job) -> datetime.tzinfo:
    try:
        return zoneinfo.ZoneInfo(job.owner.timezone if job.owner else settings.TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return datetime.UTC


# --- audit.export: the audit log as CSV ---------------------------------------------------

AUDIT_EXPORT_PROGRESS_EVERY = 500
AUDIT_EXPORT_COLUMNS = (
    "id",
    "at",
    "actor_id",
    "actor",
    "source",
    "action",
    "object_type",
    "object_id",
    "object",
    "changes",
    "request_id",
)
# A cell starting with one of these is a formula to a spreadsheet.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def clean_audit_export_params(params: dict[str, Any]) -> dict[str, Any]:
    """The audit browser's filters (``AuditFilterForm.filters``), checked again."""
    form = AuditFilterForm(data={name: value for name, value in params.items() if value})
    if not form.is_valid():
        raise ValidationError(form.errors.as_data())
    return form.filters()


# A signed number (a phone number in E.164) is no formula: it stays as it is.
PLAIN_NUMBER = re.compile(r"^[+-]?[\d\s().]+$")


def spreadsheet_safe(value: str) -> str:
    """``value`` with a leading apostrophe if a spreadsheet would run it as a formula."""
    if value.startswith(FORMULA_PREFIXES) and not PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def audit_row(entry: AuditEntry) -> list[Any]:
    content_type = ContentType.objects.get_for_id(entry.content_type_id)
    return [
        entry.id,
        timezone.localtime(entry.at).isoformat(),
        entry.actor_id or "",
        spreadsheet_safe(entry.actor_label),
        entry.source,
        entry.action,
        f"{content_type.app_label}.{content_type.model}",
        spreadsheet_safe(entry.object_id),
        spreadsheet_safe(entry.object_repr),
        json.dumps(entry.changes, ensure_ascii=False, sort_keys=True),
        entry.request_id,
    ]


@job_handler(
    "audit.export",
    authorize=require_admin,
    clean_params=clean_audit_export_params,
    resumable=True,
)
def audit_export(job: Job, progress: Progress) -> dict[str, Any]:
    """Write the audit entries matching ``job.params`` to a CSV file."""
    entries = filter_entries(AuditEntry.objects.order_by("id"), **job.params)
    total = entries.count()
    progress(0, total)
    rows = 0
    with tempfile.TemporaryFile() as buffer:
        text = io.TextIOWrapper(buffer, encoding="utf-8", newline="")
        writer = csv.writer(text)
        writer.writerow(AUDIT_EXPORT_COLUMNS)
        for entry in entries.iterator(chunk_size=2000):
            writer.writerow(audit_row(entry))
            rows += 1
            if rows % AUDIT_EXPORT_PROGRESS_EVERY == 0:
                progress(rows, max(total, rows))
        text.flush()
        text.detach()
        buffer.seek(0)
        filename = f"audit-log-{timezone.localdate():%Y-%m-%d}.csv"
        job.result_file.save(filename, File(buffer), save=False)
    progress(rows, rows)
    return {
        "rows": rows,
        "message": ngettext(
            "%(count)d audit entry exported.", "%(count)d audit entries exported.", rows
        )
        % {"count": rows},
    }
