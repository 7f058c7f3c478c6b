"""The review queue of duplicate pairs: what a user sees of it, dismissing a pair, and
starting the scan (``contacts.dedupe``) or the merge of every sure pair as jobs.

The scan is global: it compares every live record, whoever owns it, and the
pairs it finds are shared. What each user sees of them is scoped: a pair is in
a user's queue when it is open and both of its records are live and within
the user's ``merge`` scope; to anyone else it does not exist (404). Merging a
pair (from the merge screen, the API or "Merge all sure pairs") marks it
merged in the merge's own transaction (``contacts.writes.merge_records``), and
the loser, in the trash, takes its other pairs out of every queue.

"Merge all sure pairs" keeps, of each pair, the more complete record (more
fields filled in); of two as complete, the older one. It takes the other
values the winner lacks from the loser, as the merge screen does by default.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Exists, OuterRef
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from rapport.accounts.models import User
from rapport.contacts import services
from rapport.contacts.dedupe import (
    LOWEST_SURE,
    MODELS,
    SCAN_JOB,
    SURE,
    clean_scan_params,
    require_merge_right,
)
from rapport.contacts.models import (
    Company,
    Contact,
    DuplicateCandidate,
    DuplicateStatus,
    DuplicateType,
)
from rapport.contacts.writes import all_messages
from rapport.core.actors import Actor
from rapport.core.exceptions import VersionConflict
from rapport.core.jobs import Progress, job_handler, job_start
from rapport.core.models import Job, JobStatus, Source
from rapport.core.permissions import scope

MERGE_JOB = "contacts.duplicate_merge"
MERGE_BATCH = 100
KEPT_FAILURES = 100
SORTS = {"-confidence": ["-confidence", "-id"], "confidence": ["confidence", "id"]}
MERGES = {
    DuplicateType.CONTACT: services.contact_merge,
    DuplicateType.COMPANY: services.company_merge,
}
ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)


def mergeable(user: User | None, object_type: str) -> models.QuerySet:
    """The live records of ``object_type`` that ``user`` may see and merge."""
    return scope(scope(MODELS[object_type].objects.all(), user, "view"), user, "merge")


def review_queue(user: User | None, object_type: str) -> models.QuerySet[DuplicateCandidate]:
    """The open pairs of ``object_type`` in ``user``'s queue; ``PermissionDenied`` for a
    user who may not merge such records."""
    require_merge_right(user, object_type)
    records = mergeable(user, object_type)
    return DuplicateCandidate.objects.filter(
        Exists(records.filter(pk=OuterRef("low_id"))),
        Exists(records.filter(pk=OuterRef("high_id"))),
        object_type=object_type,
        status=DuplicateStatus.OPEN,
    )


def candidate_or_404(user: User | None, pk: Any) -> DuplicateCandidate:
    """An open pair of the user's queue, by id; ``Http404`` for any other."""
    candidate = DuplicateCandidate.objects.filter(pk=pk).first() if str(pk).isdigit() else None
    if candidate is None:
        raise Http404
    try:
        return review_queue(user, candidate.object_type).get(pk=candidate.pk)
    except (PermissionDenied, DuplicateCandidate.DoesNotExist):
        raise Http404 from None


@dataclass(frozen=True)
class PairRow:
    """A pair as the queue shows it: its records, the one a merge should keep first."""

    candidate: DuplicateCandidate
    keep: Contact | Company
    other: Contact | Company


def with_records(candidates: Sequence[DuplicateCandidate], object_type: str) -> list[PairRow]:
    """The pairs with their records, read in one query; a pair whose record went to the
    trash since the pairs were read is left out."""
    ids = {pk for candidate in candidates for pk in (candidate.low_id, candidate.high_id)}
    records = MODELS[object_type].objects.filter(pk__in=ids)
    if object_type == DuplicateType.CONTACT:
        records = records.select_related("company")
    by_id = {record.pk: record for record in records}
    return [
        PairRow(candidate, *winner_and_loser(by_id[candidate.low_id], by_id[candidate.high_id]))
        for candidate in candidates
        if candidate.low_id in by_id and candidate.high_id in by_id
    ]


# Which record survives an unattended merge


def filled_in(record: models.Model) -> int:
    """How many of the record's own editable fields hold a value, custom fields included."""
    names = [
        field.attname
        for field in record._meta.concrete_fields
        if field.editable and not field.primary_key and field.name != "custom"
    ]
    count = sum(getattr(record, name) not in (None, "", [], {}) for name in names)
    return count + sum(value not in (None, "", []) for value in (record.custom or {}).values())


def winner_and_loser(
    first: Contact | Company, second: Contact | Company
) -> tuple[Contact | Company, Contact | Company]:
    """The more complete record first; of two as complete, the older one."""

    def rank(record: Contact | Company) -> tuple[int, float, int]:
        return filled_in(record), -record.created_at.timestamp(), -record.pk

    return (first, second) if rank(first) >= rank(second) else (second, first)


# Dismissing


def duplicate_dismiss(candidate: DuplicateCandidate, *, actor: Actor) -> DuplicateCandidate:
    """Mark the pair "not a duplicate": later scans keep it out of the queue."""
    require_merge_right(actor.user, candidate.object_type)
    with transaction.atomic():
        candidate = DuplicateCandidate.objects.select_for_update().get(pk=candidate.pk)
        if candidate.status == DuplicateStatus.MERGED:
            raise ValidationError(_("These records are merged already."))
        candidate.status = DuplicateStatus.DISMISSED
        candidate.decided_at = timezone.now()
        candidate.decided_by = actor.user
        candidate.save(update_fields=["status", "decided_at", "decided_by"])
    return candidate


# Starting the jobs


def _running(kind: str, object_type: str) -> Job | None:
    return Job.objects.filter(kind=kind, status__in=ACTIVE, params__object_type=object_type).first()


def duplicate_scan_start(*, actor: Actor, object_type: str) -> Job:
    """Start the scan of ``object_type`` (needs the right to merge such records). A scan of
    that type already queued or running is returned instead: it will serve."""
    params = clean_scan_params({"object_type": object_type})
    require_merge_right(actor.user, object_type)
    running = _running(SCAN_JOB, object_type)
    if running is not None:
        return running
    titles = {
        DuplicateType.CONTACT: _("Find duplicate contacts"),
        DuplicateType.COMPANY: _("Find duplicate companies"),
    }
    return job_start(actor=actor, kind=SCAN_JOB, title=titles[object_type], params=params)


def last_scan(object_type: str) -> Job | None:
    """The latest scan of ``object_type``, whoever started it."""
    scans = Job.objects.filter(kind=SCAN_JOB, params__object_type=object_type)
    return scans.order_by("-created_at").first()


def clean_merge_params(params: dict[str, Any]) -> dict[str, Any]:
    """``object_type``, ``min_confidence`` (``LOWEST_SURE`` to 100) and the ``source`` and
    ``request_id`` of the request that started it, for the audit trail."""
    cleaned = clean_scan_params(params)
    threshold = params.get("min_confidence", SURE)
    if isinstance(threshold, bool) or not isinstance(threshold, int):
        threshold = -1
    if not LOWEST_SURE <= threshold <= 100:
        raise ValidationError(
            {
                "min_confidence": [
                    _("Give a confidence from %(lowest)d to 100.") % {"lowest": LOWEST_SURE}
                ]
            }
        )
    source = params.get("source", Source.UI)
    request_id = params.get("request_id") or ""
    if source not in (Source.UI, Source.API) or not isinstance(request_id, str):
        raise ValidationError(_("The merge's parameters are not valid."))
    return cleaned | {"min_confidence": threshold, "source": source, "request_id": request_id[:100]}


def duplicates_merge_start(*, actor: Actor, object_type: str, min_confidence: int = SURE) -> Job:
    """Start merging every pair of ``object_type`` in the actor's queue at
    ``min_confidence`` or above. One already queued or running is returned instead."""
    params = clean_merge_params(
        {
            "object_type": object_type,
            "min_confidence": min_confidence,
            "source": actor.source if actor.source == Source.API else Source.UI,
            "request_id": actor.request_id,
        }
    )
    require_merge_right(actor.user, object_type)
    running = _running(MERGE_JOB, object_type)
    if running is not None:
        return running
    title = _("Merge duplicate pairs of %(confidence)d%% confidence or more") % {
        "confidence": params["min_confidence"]
    }
    return job_start(actor=actor, kind=MERGE_JOB, title=title, params=params)


# Merging every sure pair


class SureMerge:
    """Merges pairs one by one, following records already merged away in this run: after
    A took in B, the pair (B, C) merges C into A."""

    def __init__(self, job: Job) -> None:
        self.object_type = job.params["object_type"]
        self.actor = Actor(
            user=job.owner, source=Source(job.params["source"]), request_id=job.params["request_id"]
        )
        self.merge = MERGES[self.object_type]
        self.merged_into: dict[int, int] = {}
        self.merged = 0
        self.failed: list[dict[str, Any]] = []
        self.failures = 0

    def _current(self, pk: int) -> int:
        while pk in self.merged_into:
            pk = self.merged_into[pk]
        return pk

    def pair(self, candidate: DuplicateCandidate) -> None:
        first, second = self._current(candidate.low_id), self._current(candidate.high_id)
        if first == second:
            self._settle(candidate)
            return
        visible = mergeable(self.actor.user, self.object_type).filter(pk__in=[first, second])
        records = {record.pk: record for record in visible}
        if len(records) < 2:
            # Gone to the trash, or out of the owner's reach since the scan: not theirs.
            return
        winner, loser = winner_and_loser(records[first], records[second])
        try:
            self.merge(winner, loser, actor=self.actor, choices={})
        except (ValidationError, PermissionDenied, Http404, VersionConflict) as error:
            self._failed(winner, loser, error)
            return
        self.merged_into[loser.pk] = winner.pk
        self.merged += 1
        self._settle(candidate)

    def _settle(self, candidate: DuplicateCandidate) -> None:
        DuplicateCandidate.objects.filter(pk=candidate.pk).update(
            status=DuplicateStatus.MERGED, decided_at=timezone.now(), decided_by=self.actor.user
        )

    def _failed(self, winner: models.Model, loser: models.Model, error: Exception) -> None:
        self.failures += 1
        if len(self.failed) >= KEPT_FAILURES:
            return
        if isinstance(error, ValidationError):
            reason = " ".join(all_messages(error))
        elif isinstance(error, VersionConflict):
            reason = _("Changed by someone else meanwhile.")
        else:
            reason = _("You may not merge these records.")
        self.failed.append({"id": loser.pk, "record": f"{loser} → {winner}", "reason": reason})


@job_handler(MERGE_JOB, authorize=require_merge_right, clean_params=clean_merge_params)
def merge_sure_job(job: Job, progress: Progress) -> dict[str, Any]:
    """Every open pair at the threshold or above whose records the owner may merge, in
    id order, each merge in its own transaction: a cancelled or failed run leaves the
    merges done so far done, and can simply be started again."""
    object_type = job.params["object_type"]
    require_merge_right(job.owner, object_type)
    run = SureMerge(job)
    # Not the queue itself: a pair whose record was merged away in this run still counts.
    pairs = DuplicateCandidate.objects.filter(
        object_type=object_type,
        status=DuplicateStatus.OPEN,
        confidence__gte=job.params["min_confidence"],
    )
    total = pairs.count()
    progress(0, total)
    done = 0
    last_id = 0
    while batch := list(pairs.filter(pk__gt=last_id).order_by("pk")[:MERGE_BATCH]):
        for candidate in batch:
            run.pair(candidate)
        done += len(batch)
        last_id = batch[-1].pk
        progress(done, max(total, done))
    message = ngettext("%(count)d pair merged.", "%(count)d pairs merged.", run.merged) % {
        "count": run.merged
    }
    if run.failures:
        message += " " + ngettext(
            "%(count)d pair could not be merged.",
            "%(count)d pairs could not be merged.",
            run.failures,
        ) % {"count": run.failures}
    return {
        "merged": run.merged,
        "failed": run.failures,
        "failures": run.failed,
        "failures_not_listed": run.failures - len(run.failed),
        "message": message,
    }
