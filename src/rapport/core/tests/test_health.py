"""``/health`` and ``health.report()``: ok, degraded, down; and the system checks."""

from __future__ import annotations

import datetime
import os

import pytest
from django.core import checks
from django.db import OperationalError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rapport.conftest import free_port
from rapport.core import health
from rapport.core.models import OutboxEvent, WorkerHeartbeat

pytestmark = pytest.mark.django_db


def heartbeat(seen_ago: datetime.timedelta, worker_id: str = "web-1") -> WorkerHeartbeat:
    now = timezone.now()
    return WorkerHeartbeat.objects.create(
        worker_id=worker_id,
        hostname="web-1",
        pid=os.getpid(),
        started_at=now - datetime.timedelta(hours=1),
        seen_at=now - seen_ago,
    )


def pending_event(created_ago: datetime.timedelta) -> OutboxEvent:
    return OutboxEvent.objects.create(
        name="specimen.created",
        aggregate_type="testing.specimen",
        aggregate_id="1",
        created_at=timezone.now() - created_ago,
    )


def test_health_is_ok_with_a_fresh_heartbeat_and_no_backlog():
    beat = heartbeat(datetime.timedelta(seconds=3))

    response = Client().get(reverse("core:health"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    assert response.json() == {
        "status": "ok",
        "checks": {
            "database": {"ok": True},
            "worker": {"ok": True, "workers": 1, "last_seen": beat.seen_at.isoformat()},
            "outbox": {"ok": True, "pending": 0, "oldest_pending_seconds": None},
        },
    }


def test_health_is_degraded_without_a_worker_but_still_answers_200():
    response = Client().get(reverse("core:health"))

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["worker"] == {"ok": False, "workers": 0, "last_seen": None}


def test_a_stale_heartbeat_is_not_a_running_worker():
    stale = heartbeat(datetime.timedelta(minutes=2), worker_id="crashed")
    heartbeat(datetime.timedelta(minutes=3), worker_id="older")

    report = health.report()

    assert report["status"] == "degraded"
    assert report["checks"]["worker"] == {
        "ok": False,
        "workers": 0,
        "last_seen": stale.seen_at.isoformat(),
    }


def test_an_old_outbox_backlog_degrades_health():
    heartbeat(datetime.timedelta(seconds=1))
    pending_event(datetime.timedelta(minutes=10))
    pending_event(datetime.timedelta(seconds=5))

    report = health.report()

    assert report["status"] == "degraded"
    outbox = report["checks"]["outbox"]
    assert (outbox["ok"], outbox["pending"]) == (False, 2)
    assert 600 <= outbox["oldest_pending_seconds"] < 700


def test_a_young_backlog_is_normal():
    heartbeat(datetime.timedelta(seconds=1))
    pending_event(datetime.timedelta(seconds=30))

    report = health.report()

    assert report["status"] == "ok"
    assert report["checks"]["outbox"]["pending"] == 1


def test_health_is_down_with_503_when_the_database_fails(monkeypatch):
    def unreachable(now):
        raise OperationalError("connection to server at 10.0.0.5 failed")

    monkeypatch.setattr(health, "worker_check", unreachable)

    response = Client().get(reverse("core:health"))

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["checks"]["database"] == {"ok": False}
    assert "10.0.0.5" not in response.content.decode()


def test_a_heartbeat_older_than_the_configured_staleness_is_not_a_running_worker(settings):
    settings.WORKER_STALE_SECONDS = 3
    heartbeat(datetime.timedelta(seconds=5))

    assert health.report()["checks"]["worker"]["workers"] == 0


def redis_queue_at(settings, url: str) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    settings.RQ_QUEUES = {"default": {"URL": url, "DEFAULT_TIMEOUT": 60}}


@pytest.mark.redis
def test_with_the_redis_queue_health_reports_redis(settings):
    import redis

    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    redis_queue_at(settings, url)
    heartbeat(datetime.timedelta(seconds=1))

    response = Client().get(reverse("core:health"))

    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["checks"]["redis"] == {"ok": True}


def test_health_is_down_with_503_when_the_redis_queue_does_not_answer(settings):
    # Nothing listens on a free port: the connection is refused at once.
    redis_queue_at(settings, f"redis://127.0.0.1:{free_port()}/0")
    heartbeat(datetime.timedelta(seconds=1))

    response = Client().get(reverse("core:health"))

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["checks"]["redis"] == {"ok": False}
    assert body["checks"]["database"] == {"ok": True}


def test_health_answers_get_and_head_only():
    assert Client().head(reverse("core:health")).status_code == 200
    assert Client().post(reverse("core:health")).status_code == 405


# --- system checks ------------------------------------------------------------------------


def rapport_warnings() -> set[str]:
    return {message.id for message in checks.run_checks(tags=["rapport"])}


def test_no_warning_for_the_default_setup(settings):
    settings.DEBUG = False
    assert rapport_warnings() == set()


def test_debug_on_a_public_host_warns(settings):
    settings.DEBUG = True
    settings.ALLOWED_HOSTS = ["localhost", "crm.example.com"]
    assert rapport_warnings() == {"rapport.W001"}

    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
    assert rapport_warnings() == set()


def test_sqlite_with_the_redis_queue_warns(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    sqlite = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"

    assert rapport_warnings() == ({"rapport.W002"} if sqlite else set())
