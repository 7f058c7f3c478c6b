"""The state of a running Rapport, for ``/health``, monitoring and the admin home page.

``report()`` answers ``down`` when the database cannot be queried, and
``degraded`` when no worker has written a heartbeat lately or the oldest
undelivered event has waited too long. It holds counts and ages only, never
personal data, because ``/health`` needs no login.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from django.db import Error as DatabaseError
from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from rapport.core.models import OutboxEvent, OutboxStatus, WorkerHeartbeat

logger = logging.getLogger(__name__)

# Workers beat every few seconds; a minute of silence means none is running.
HEARTBEAT_FRESH_FOR = datetime.timedelta(seconds=60)
OUTBOX_BACKLOG_LIMIT = datetime.timedelta(minutes=5)


def report(*, now: datetime.datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    try:
        worker = worker_check(now)
        outbox = outbox_check(now)
    except DatabaseError:
        logger.exception("health check: the database cannot be queried")
        return {
            "status": "down",
            "checks": {
                "database": {"ok": False},
                "worker": {"ok": False, "workers": 0, "last_seen": None},
                "outbox": {"ok": False, "pending": 0, "oldest_pending_seconds": None},
            },
        }
    return {
        "status": "ok" if worker["ok"] and outbox["ok"] else "degraded",
        "checks": {"database": {"ok": True}, "worker": worker, "outbox": outbox},
    }


def worker_check(now: datetime.datetime) -> dict[str, Any]:
    beats = WorkerHeartbeat.objects.aggregate(
        workers=Count("pk", filter=Q(seen_at__gte=now - HEARTBEAT_FRESH_FOR)),
        last_seen=Max("seen_at"),
    )
    last_seen = beats["last_seen"]
    return {
        "ok": beats["workers"] > 0,
        "workers": beats["workers"],
        "last_seen": last_seen.isoformat() if last_seen else None,
    }


def outbox_check(now: datetime.datetime) -> dict[str, Any]:
    pending = OutboxEvent.objects.filter(status=OutboxStatus.PENDING).aggregate(
        count=Count("pk"), oldest=Min("created_at")
    )
    oldest = pending["oldest"]
    age = max(0, int((now - oldest).total_seconds())) if oldest else None
    return {
        "ok": age is None or age <= OUTBOX_BACKLOG_LIMIT.total_seconds(),
        "pending": pending["count"],
        "oldest_pending_seconds": age,
    }
