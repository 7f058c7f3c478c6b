"""The background worker behind ``rapport worker``.

It runs three things at once:

- the task loop of the configured backend, in the main thread: django-tasks-db's
  worker on the database queue, or an RQ worker on Redis;
- a heartbeat thread that writes this worker's ``WorkerHeartbeat`` row every
  few seconds, which ``/health`` reads;
- an outbox thread that delivers due events every few seconds on its own, so
  events whose dispatch task was never enqueued (the process crashed right
  after the commit) or whose retry time came are delivered without any new
  write. This is what makes a crash between commit and delivery lose nothing.

SIGTERM or SIGINT stops it cleanly: the running task finishes, the threads
stop and the heartbeat row is removed.
"""

from __future__ import annotations

import datetime
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import timezone
from django.utils.crypto import get_random_string
from rq import Queue
from rq.job import Job
from rq.worker import SimpleWorker

from rapport.core import jobs, schedule
from rapport.core.health import HEARTBEAT_FRESH_FOR
from rapport.core.models import WorkerHeartbeat
from rapport.core.tasks import dispatch_until_empty

logger = logging.getLogger(__name__)

HEARTBEAT_INTERVAL = 5.0
OUTBOX_INTERVAL = 5.0
# How long shutdown waits for an outbox delivery in progress; an event cut
# off is delivered again later (at least once).
THREAD_STOP_TIMEOUT = 30.0


def new_worker_id() -> str:
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{get_random_string(6)}"


class Periodic(threading.Thread):
    """Calls ``action`` now and then every ``interval`` seconds until ``stopping`` is set."""

    def __init__(
        self, name: str, action: Callable[[], object], interval: float, stopping: threading.Event
    ) -> None:
        super().__init__(name=name, daemon=True)
        self.action = action
        self.interval = interval
        self.stopping = stopping

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                try:
                    self.action()
                except Exception:
                    # A database outage must not kill the thread: log and try again.
                    logger.exception("worker %s failed", self.name)
                finally:
                    close_old_connections()
                self.stopping.wait(self.interval)
        finally:
            connections.close_all()


@dataclass
class Worker:
    queues: list[str]
    interval: float = 1.0
    burst: bool = False
    worker_id: str = field(default_factory=new_worker_id)
    heartbeat_interval: float = HEARTBEAT_INTERVAL
    outbox_interval: float = OUTBOX_INTERVAL
    started_at: datetime.datetime = field(default_factory=timezone.now)

    def run(self) -> None:
        """Work until stopped by a signal, or, in burst mode, until nothing is left."""
        # Until the task runner installs its own handlers, a stop signal still
        # goes through the ``finally`` below (which removes the heartbeat).
        for stop_signal in (signal.SIGTERM, signal.SIGINT):
            signal.signal(stop_signal, exit_quietly)
        jobs.set_worker(self.worker_id)
        stopping = threading.Event()
        threads = [
            Periodic("heartbeat", self.beat, self.heartbeat_interval, stopping),
            Periodic("sweep", self.sweep, self.outbox_interval, stopping),
        ]
        try:
            self.beat()
            if not self.burst:
                for thread in threads:
                    thread.start()
            logger.info("worker %s started on queues %s", self.worker_id, ",".join(self.queues))
            self.run_tasks()
            if self.burst:
                self.sweep()
        finally:
            stopping.set()
            for thread in threads:
                if thread.is_alive():
                    thread.join(THREAD_STOP_TIMEOUT)
            WorkerHeartbeat.objects.filter(worker_id=self.worker_id).delete()
            logger.info("worker %s stopped", self.worker_id)

    def beat(self) -> None:
        WorkerHeartbeat.objects.update_or_create(
            worker_id=self.worker_id,
            defaults={
                "hostname": socket.gethostname()[:200],
                "pid": os.getpid(),
                "started_at": self.started_at,
                "seen_at": timezone.now(),
            },
        )

    def sweep(self) -> None:
        """Deliver pending events, fail the jobs of workers that died and run the
        scheduled work that is due (reminders, digests)."""
        delivered = dispatch_until_empty(worker_id=self.worker_id)
        if delivered:
            logger.info("worker %s delivered %d events", self.worker_id, delivered)
        failed = jobs.fail_abandoned_jobs(alive_since=timezone.now() - HEARTBEAT_FRESH_FOR)
        if failed:
            logger.warning("worker %s marked %d abandoned jobs failed", self.worker_id, failed)
        schedule.run_due()

    def run_tasks(self) -> None:
        if uses_redis():
            self.run_rq_tasks()
        else:
            self.run_database_tasks()

    def run_database_tasks(self) -> None:
        from django_tasks import DEFAULT_TASK_BACKEND_ALIAS
        from django_tasks_db.management.commands.db_worker import Worker as DatabaseWorker

        worker = DatabaseWorker(
            queue_names=self.queues,
            interval=self.interval,
            batch=self.burst,
            backend_name=DEFAULT_TASK_BACKEND_ALIAS,
            startup_delay=not self.burst,
            max_tasks=None,
            worker_id=self.worker_id[:64],
            excluded_queue_names=[],
        )
        # On a signal it finishes the running task, or leaves its idle wait
        # through SystemExit; either way ``run`` cleans up in its ``finally``.
        worker.configure_signals()
        worker.run()

    def run_rq_tasks(self) -> None:
        from django_rq import get_worker
        from django_tasks_rq import Job as TaskJob

        worker = get_worker(
            *self.queues,
            job_class=TaskJob,
            worker_class=RapportRQWorker,
            name=self.worker_id,
        )
        worker.work(
            burst=self.burst, logging_level=logging.getLevelName(logger.getEffectiveLevel())
        )


class RapportRQWorker(SimpleWorker):
    """An RQ worker that runs each job in this process, with a sound database connection.

    No fork per job (RQ's default) while the heartbeat thread holds a
    connection; and, as Django does around a request, connections that broke
    or outlived ``CONN_MAX_AGE`` are dropped before and after each job.
    """

    def execute_job(self, job: Job, queue: Queue) -> None:
        close_old_connections()
        try:
            super().execute_job(job, queue)
        finally:
            close_old_connections()


def exit_quietly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def uses_redis() -> bool:
    return settings.TASKS["default"]["BACKEND"] == "django_tasks_rq.RQBackend"
