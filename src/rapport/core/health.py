"""The state of a running Rapport, for ``/health``, monitoring and the admin home page.

``report()`` answers ``down`` when the database cannot be queried or, with
the Redis task queue, Redis does not answer (no background work could be
started), and ``degraded`` when no worker has written a heartbeat lately or
the oldest undelivered event has waited too long. It holds counts and ages only, never
personal data, because ``/health`` needs no login.
"""

from __future__ import annotations

import datetime
import functools
import logging
from typing import Any

import redis
from django.conf import settings
from django.db import Error as DatabaseError
from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from rapport.core.models import OutboxEvent, OutboxStatus, WorkerHeartbeat

logger = logging.getLogger(__name__)

OUTBOX_BACKLOG_LIMIT = datetime.timedelta(minutes=5)
# A load balancer's probe must not hang on an unreachable Redis.
REDIS_TIMEOUT_SECONDS = 2.0


def heartbeat_fresh_for() -> datetime.timedelta:
    """How recent a worker's heartbeat must be for it to count as alive."""
    return datetime.timedelta(seconds=settings.WORKER_STALE_SECONDS)


def uses_redis() -> bool:
    return settings.TASKS["default"]["BACKEND"] == "django_tasks_rq.RQBackend"


def report(*, now: datetime.datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    queue = queue_check()
    try:
        worker = worker_check(now)
        outbox = outbox_check(now)
    except DatabaseError:
        logger.exception("health check: the database cannot be queried")
        return {
            "status": "down",
            "checks": {
                "database": {"ok": False},
                **queue,
                "worker": {"ok": False, "workers": 0, "last_seen": None},
                "outbox": {"ok": False, "pending": 0, "oldest_pending_seconds": None},
            },
        }
    if queue and not queue["redis"]["ok"]:
        status = "down"
    elif worker["ok"] and outbox["ok"]:
        status = "ok"
    else:
        status = "degraded"
    return {
        "status": status,
        "checks": {"database": {"ok": True}, **queue, "worker": worker, "outbox": outbox},
    }


def queue_check() -> dict[str, Any]:
    """``{"redis": {"ok": …}}`` with the Redis task queue, nothing with the database queue."""
    if not uses_redis():
        return {}
    try:
        redis_client(settings.RQ_QUEUES["default"]["URL"]).ping()
    except redis.RedisError:
        logger.exception("health check: Redis does not answer")
        return {"redis": {"ok": False}}
    return {"redis": {"ok": True}}


@functools.cache
def redis_client(url: str) -> redis.Redis:
    # One client per process, so its connection pool serves every probe.
    return redis.Redis.from_url(
        url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS
    )


def worker_check(now: datetime.datetime) -> dict[str, Any]:
    beats = WorkerHeartbeat.objects.aggregate(
        workers=Count("pk", filter=Q(seen_at__gte=now - heartbeat_fresh_for())),
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
