"""The worker and the server as real processes: crash safety, clean stops, Redis, serve."""

from __future__ import annotations

import os
import signal
import threading
import urllib.request

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError, transaction

from rapport.accounts.models import User
from rapport.conftest import free_port
from rapport.core import health
from rapport.core.actors import Actor
from rapport.core.events import emit
from rapport.core.jobs import job_start
from rapport.core.models import Job, JobStatus, OutboxEvent, OutboxStatus, Source, WorkerHeartbeat
from rapport.core.worker import Periodic
from rapport.testing.models import Specimen
from rapport.testing.processes import wait_until

# serialized_rollback: the flush after each test must leave the data migrations' rows
# (roles, content types) for the transactional tests that follow.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

WORKER = ("worker", "--interval", "0.2", "--outbox-interval", "0.5")
DATABASE_QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# Drops every task it is given: a process that dies right after its commit.
LOST_ENQUEUE = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
REDIS_URL = "redis://127.0.0.1:6379/15"


def nothing_pending() -> bool:
    return not OutboxEvent.objects.filter(status=OutboxStatus.PENDING).exists()


def test_events_committed_while_no_worker_lives_are_delivered_by_the_next_worker(
    start_rapport, tmp_path, settings
):
    delivered = tmp_path / "delivered.txt"
    crashed = start_rapport(*WORKER, RAPPORT_TEST_EVENT_LOG=str(delivered))
    wait_until(WorkerHeartbeat.objects.exists, process=crashed)
    crashed.stop(signal.SIGKILL)

    acme, globex = Specimen.objects.create(name="Acme"), Specimen.objects.create(name="Globex")
    settings.TASKS = LOST_ENQUEUE
    with transaction.atomic():
        created = emit("specimen.created", obj=acme, actor=Actor.system())
        renamed = emit("specimen.renamed", obj=acme, actor=Actor.system())
    settings.TASKS = DATABASE_QUEUE
    with transaction.atomic():
        queued = emit("specimen.created", obj=globex, actor=Actor.system())
    assert OutboxEvent.objects.filter(status=OutboxStatus.PENDING).count() == 3
    assert not delivered.exists()

    start_rapport(*WORKER, RAPPORT_TEST_EVENT_LOG=str(delivered))

    wait_until(nothing_pending)
    lines = delivered.read_text().splitlines()
    assert sorted(lines) == sorted(
        [
            f"{created.id} specimen.created",
            f"{renamed.id} specimen.renamed",
            f"{queued.id} specimen.created",
        ]
    )
    acme_lines = [line for line in lines if line != f"{queued.id} specimen.created"]
    assert acme_lines == [f"{created.id} specimen.created", f"{renamed.id} specimen.renamed"]
    assert set(OutboxEvent.objects.values_list("status", flat=True)) == {OutboxStatus.DELIVERED}


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_a_worker_reports_itself_and_removes_its_heartbeat_when_stopped(start_rapport, stop_signal):
    worker = start_rapport(*WORKER)

    mine = WorkerHeartbeat.objects.filter(pid=worker.popen.pid)
    wait_until(mine.exists, process=worker)
    beat = mine.get()
    assert beat.pid == worker.popen.pid
    assert health.report()["checks"]["worker"]["workers"] == 1

    assert worker.stop(stop_signal) == 0
    assert not mine.exists(), list(WorkerHeartbeat.objects.values("pid", "worker_id"))


def test_concurrency_runs_supervised_workers_restarts_a_dead_one_and_stops_them_all(start_rapport):
    supervisor = start_rapport(*WORKER, "--concurrency", "2")

    def worker_pids() -> set[int]:
        return set(WorkerHeartbeat.objects.values_list("pid", flat=True))

    wait_until(lambda: len(worker_pids()) == 2, process=supervisor)
    first = worker_pids()
    assert supervisor.popen.pid not in first
    dead = min(first)
    os.kill(dead, signal.SIGKILL)

    # Another worker takes the dead one's place, with a heartbeat of its own.
    wait_until(lambda: len(worker_pids() - first) == 1, process=supervisor, timeout=20)

    assert supervisor.stop(signal.SIGTERM) == 0
    # The live workers stopped cleanly (they removed their heartbeats); only the
    # killed one's stale row is left.
    assert worker_pids() == {dead}


def test_concurrency_below_one_is_refused():
    with pytest.raises(CommandError, match="at least 1"):
        call_command("worker", "--concurrency", "0")


def test_the_worker_runs_a_queued_job(start_rapport, settings):
    settings.TASKS = DATABASE_QUEUE
    boss = User.objects.create_superuser(username="boss", email="boss@example.com", password=None)
    with transaction.atomic():
        job = job_start(
            actor=Actor(user=boss, source=Source.UI),
            kind="audit.export",
            title="Audit log export",
            params={},
        )

    worker = start_rapport(*WORKER)

    wait_until(
        lambda: Job.objects.filter(pk=job.pk, status=JobStatus.SUCCEEDED).exists(), process=worker
    )
    job.refresh_from_db()
    assert job.result_file.name.endswith(".csv")
    assert job.result == {"rows": 0}


def test_batch_mode_runs_what_is_queued_then_exits(start_rapport, tmp_path, settings):
    delivered = tmp_path / "delivered.txt"
    settings.TASKS = LOST_ENQUEUE
    event = emit("specimen.created", obj=Specimen.objects.create(name="Acme"), actor=Actor.system())

    worker = start_rapport("worker", "--batch", RAPPORT_TEST_EVENT_LOG=str(delivered))

    assert worker.popen.wait(60) == 0, worker.output()
    assert delivered.read_text() == f"{event.id} specimen.created\n"
    assert not WorkerHeartbeat.objects.exists()


def test_serve_answers_health_and_stops_on_sigterm(start_rapport):
    port = free_port()
    server = start_rapport(
        "serve", "--bind", f"127.0.0.1:{port}", "--no-worker", "--workers", "1", "--threads", "2"
    )

    wait_until(lambda: answers_health(port), process=server)

    assert f"Rapport is running at http://127.0.0.1:{port}/" in server.output()
    assert server.stop(signal.SIGTERM) == 0


def test_serve_runs_a_worker_beside_the_server_and_stops_it(start_rapport):
    port = free_port()
    server = start_rapport(
        "serve",
        RAPPORT_WEB_BIND=f"127.0.0.1:{port}",
        RAPPORT_WEB_WORKERS="1",
        RAPPORT_WEB_THREADS="2",
    )

    wait_until(lambda: answers_health(port) and WorkerHeartbeat.objects.exists(), process=server)

    assert server.stop(signal.SIGTERM) == 0
    # The worker was stopped cleanly by the server: it removed its heartbeat.
    assert not WorkerHeartbeat.objects.exists()


def test_a_periodic_thread_survives_a_failing_action_and_stops_when_told(caplog):
    calls: list[int] = []
    stopping = threading.Event()

    def flaky() -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise OperationalError("the database restarted")

    thread = Periodic("flaky", flaky, 0.01, stopping)
    thread.start()
    wait_until(lambda: len(calls) >= 3)
    stopping.set()
    thread.join(5)

    assert not thread.is_alive()
    assert "worker flaky failed" in caplog.text


def answers_health(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


# --- Redis ----------------------------------------------------------------------------------


@pytest.fixture
def redis_queue(settings):
    """Tasks go to RQ on Redis database 15, emptied before and after."""
    import redis

    connection = redis.Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    connection.flushdb()
    settings.RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 60}}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    try:
        yield connection
    finally:
        connection.flushdb()


@pytest.mark.redis
def test_a_job_runs_on_the_redis_queue(start_rapport, redis_queue):
    boss = User.objects.create_superuser(username="boss", email="boss@example.com", password=None)
    with transaction.atomic():
        job = job_start(
            actor=Actor(user=boss, source=Source.UI), kind="audit.export", title="Audit", params={}
        )
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    assert redis_queue.llen("rq:queue:default") == 1

    worker = start_rapport("worker", "--batch", RAPPORT_TASK_BACKEND=REDIS_URL)

    assert worker.popen.wait(60) == 0, worker.output()
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert job.result == {"rows": 0}
    assert redis_queue.llen("rq:queue:default") == 0
