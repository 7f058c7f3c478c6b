"""API of the duplicate review queue: list the pairs, dismiss one, start a scan or the
merge of every sure pair. Thin: ``contacts.duplicates`` does the work. Only users
who may merge records of a type see its pairs; to the others the list answers 403.
"""

from __future__ import annotations

import datetime

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from rapport.contacts import duplicates
from rapport.contacts.dedupe import LOWEST_SURE, SURE
from rapport.contacts.models import DuplicateCandidate, DuplicateReason, DuplicateType
from rapport.core.api import PageOut, PageParams, actor, current_user, paginate, problems

router = Router(tags=["duplicates"])

MERGE_SCREENS = {
    DuplicateType.CONTACT: "contacts:contact_merge",
    DuplicateType.COMPANY: "contacts:company_merge",
}


class DuplicateOut(Schema):
    id: int
    object_type: DuplicateType
    record_ids: list[int] = Field(description="The two records, lower id first.")
    confidence: int = Field(description="0 to 100; pairs at 95 or more are sure.")
    reasons: list[DuplicateReason]
    status: str
    found_at: datetime.datetime = Field(description="When a scan first found the pair.")
    merge_url: str = Field(description="The merge screen of the pair, in the web UI.")

    @staticmethod
    def resolve_record_ids(candidate: DuplicateCandidate) -> list[int]:
        return [candidate.low_id, candidate.high_id]

    @staticmethod
    def resolve_merge_url(candidate: DuplicateCandidate) -> str:
        screen = reverse(MERGE_SCREENS[candidate.object_type])
        return f"{screen}?a={candidate.low_id}&b={candidate.high_id}"


class DuplicateFilters(Schema):
    object_type: DuplicateType = DuplicateType.CONTACT
    sort: str = Field(
        "-confidence",
        pattern="^-?confidence$",
        description="confidence, or -confidence (the default) for the surest first.",
    )
    min_confidence: int = Field(0, ge=0, le=100)


class ScanIn(Schema):
    object_type: DuplicateType


class MergeSureIn(Schema):
    object_type: DuplicateType
    min_confidence: int = Field(
        SURE, ge=LOWEST_SURE, le=100, description="Merge the pairs at this or above."
    )


class JobStarted(Schema):
    job: str = Field(description="The job's id; its page is /jobs/<id>/.")
    status: str


@router.get("/duplicates", response={200: PageOut[DuplicateOut], **problems(400, 403, 422)})
def duplicate_list(
    request: HttpRequest,
    response: HttpResponse,
    filters: Query[DuplicateFilters],
    page: Query[PageParams],
) -> dict:
    """Open pairs of possible duplicates whose two records you may merge, surest first."""
    pairs = duplicates.review_queue(current_user(request), filters.object_type)
    if filters.min_confidence:
        pairs = pairs.filter(confidence__gte=filters.min_confidence)
    return paginate(request, response, pairs, ordering=duplicates.SORTS[filters.sort], params=page)


@router.post(
    "/duplicates/{int:candidate_id}/dismiss", response={200: DuplicateOut, **problems(404, 422)}
)
def duplicate_dismiss(request: HttpRequest, candidate_id: int) -> DuplicateCandidate:
    """Not a duplicate: the pair leaves the queue, and later scans leave it out."""
    candidate = duplicates.candidate_or_404(current_user(request), candidate_id)
    return duplicates.duplicate_dismiss(candidate, actor=actor(request))


@router.post("/duplicates/scan", response={202: JobStarted, **problems(403, 422)})
def duplicate_scan(request: HttpRequest, payload: ScanIn) -> Status:
    """Start a scan of every live record of the type (or get the one already running)."""
    job = duplicates.duplicate_scan_start(actor=actor(request), object_type=payload.object_type)
    return Status(202, {"job": str(job.pk), "status": job.status})


@router.post("/duplicates/merge-sure", response={202: JobStarted, **problems(403, 422)})
def duplicate_merge_sure(request: HttpRequest, payload: MergeSureIn) -> Status:
    """Merge every pair in your queue at ``min_confidence`` or above, in the background;
    of each pair the more complete record (else the older) survives."""
    job = duplicates.duplicates_merge_start(
        actor=actor(request),
        object_type=payload.object_type,
        min_confidence=payload.min_confidence,
    )
    return Status(202, {"job": str(job.pk), "status": job.status})
