"""Deliver outbox events to their handlers: at least once, in order per record.

Any number of dispatchers may run at once (the ``dispatch_outbox`` task, each
worker's periodic sweep). A dispatcher claims a batch by writing a lease
(``locked_by``/``locked_until``) in a short transaction, then calls the
handlers outside any transaction, so a slow handler holds no lock. On
PostgreSQL the claiming ``SELECT … FOR UPDATE SKIP LOCKED`` lets concurrent
dispatchers take different rows without waiting; on SQLite, whose write
transactions are serial (``IMMEDIATE``), the lease alone keeps them apart.

Only the oldest pending event of each record (``aggregate_type``,
``aggregate_id``) can be claimed, so an event that failed and waits for its
retry holds back the later events of its record, and no two dispatchers ever
deliver events of one record at the same time. An event that fails
``MAX_ATTEMPTS`` times is marked dead and no longer holds anything back.

Because a dispatcher may die after a handler ran but before the event was
marked delivered (the lease then expires and another dispatcher retries),
handlers must be idempotent.
"""

from __future__ import annotations

import datetime
import logging

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from rapport.core import events
from rapport.core.models import OutboxEvent, OutboxStatus

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
MAX_BACKOFF_SECONDS = 60 * 60
# How long a claimed batch stays reserved for its dispatcher; past it, another
# dispatcher may take the events again (the first one is presumed dead).
LEASE = datetime.timedelta(minutes=5)
ERROR_MAX_LENGTH = 1000


def retry_delay(attempts: int) -> datetime.timedelta:
    """Wait 2, 4, 8… seconds after each failed attempt, at most an hour."""
    return datetime.timedelta(seconds=min(2**attempts, MAX_BACKOFF_SECONDS))


def deliverable(now: datetime.datetime) -> QuerySet[OutboxEvent]:
    """Pending events that are due, not leased, and first in line for their record."""
    earlier_pending = OutboxEvent.objects.filter(
        aggregate_type=OuterRef("aggregate_type"),
        aggregate_id=OuterRef("aggregate_id"),
        id__lt=OuterRef("id"),
        status=OutboxStatus.PENDING,
    )
    return (
        OutboxEvent.objects.filter(status=OutboxStatus.PENDING, available_at__lte=now)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .filter(~Exists(earlier_pending))
        .order_by("id")
    )


def claim(*, batch: int, worker_id: str, now: datetime.datetime) -> list[OutboxEvent]:
    """Lease up to ``batch`` deliverable events to ``worker_id``; return them in id order."""
    with transaction.atomic():
        # skip_locked applies on PostgreSQL; SQLite ignores select_for_update.
        ids = list(
            deliverable(now)
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:batch]
        )
        if not ids:
            return []
        # Conditional: only rows no other dispatcher leased meanwhile.
        OutboxEvent.objects.filter(id__in=ids, status=OutboxStatus.PENDING).filter(
            Q(locked_until__isnull=True) | Q(locked_until__lt=now)
        ).update(locked_by=worker_id, locked_until=now + LEASE)
    return list(
        OutboxEvent.objects.filter(id__in=ids, locked_by=worker_id, locked_until=now + LEASE)
        .select_related("actor")
        .order_by("id")
    )


def describe_error(error: BaseException) -> str:
    """What went wrong, for operators: the exception type and its message."""
    text = f"{type(error).__module__}.{type(error).__qualname__}: {error}"
    return text[:ERROR_MAX_LENGTH]


def deliver(event: OutboxEvent, *, worker_id: str, now: datetime.datetime) -> bool:
    """Run every handler of ``event``; on failure schedule a retry. The caller records
    successes (``mark_delivered``)."""
    mine = OutboxEvent.objects.filter(id=event.id, locked_by=worker_id)
    try:
        for handler in events.handlers_for(event.name):
            handler(event)
    except Exception as error:
        attempts = event.attempts + 1
        dead = attempts >= MAX_ATTEMPTS
        logger.warning(
            "event %s (%s) failed, attempt %d%s",
            event.id,
            event.name,
            attempts,
            ", giving up" if dead else "",
            exc_info=True,
        )
        mine.update(
            attempts=attempts,
            last_error=describe_error(error),
            status=OutboxStatus.DEAD if dead else OutboxStatus.PENDING,
            available_at=now + retry_delay(attempts),
            locked_by="",
            locked_until=None,
        )
        return False
    return True


def mark_delivered(ids: list[int], *, worker_id: str) -> None:
    """Record a batch's deliveries in one write. A crash before it only means those
    events are delivered again once their lease expires (at least once)."""
    OutboxEvent.objects.filter(id__in=ids, locked_by=worker_id).update(
        status=OutboxStatus.DELIVERED,
        delivered_at=timezone.now(),
        attempts=F("attempts") + 1,
        locked_by="",
        locked_until=None,
    )


def dispatch_pending(
    *, batch: int = 100, worker_id: str, now: datetime.datetime | None = None
) -> int:
    """Deliver up to ``batch`` due events; return how many were delivered.

    ``now`` stands for the current time (tests pass it to step through
    retries without waiting).
    """
    now = now or timezone.now()
    delivered = [
        event.id
        for event in claim(batch=batch, worker_id=worker_id, now=now)
        if deliver(event, worker_id=worker_id, now=now)
    ]
    if delivered:
        mark_delivered(delivered, worker_id=worker_id)
    return len(delivered)
