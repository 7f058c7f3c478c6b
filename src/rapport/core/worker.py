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

``Supervisor`` runs several such workers as child processes of one command
(``rapport worker --concurrency N``), each with its own heartbeat, and starts
again one that dies. Processes rather than threads: both task runners handle
signals in their main thread, and a job's CPU work is not held back by the GIL.
"""

from __future__ import annotations

import datetime
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
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
from rapport.core.health import heartbeat_fresh_for, uses_redis
from rapport.core.models import WorkerHeartbeat
from rapport.core.tasks import dispatch_until_empty

logger = logging.getLogger(__name__)

OUTBOX_INTERVAL = 5.0
# How long shutdown waits for an outbox delivery in progress; an event cut
# off is delivered again later (at least once).
THREAD_STOP_TIMEOUT = 30.0
# How long a stopping worker process may finish its running task before it is killed.
WORKER_STOP_TIMEOUT = 30.0
# A supervised worker that died is started again, but not more often than this.
RESTART_DELAY = 5.0


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
    heartbeat_interval: float = field(
        default_factory=lambda: float(settings.WORKER_HEARTBEAT_SECONDS)
    )
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
        """Deliver pending events, take over the jobs of workers that died and run
        the scheduled work that is due (reminders, digests)."""
        delivered = dispatch_until_empty(worker_id=self.worker_id)
        if delivered:
            logger.info("worker %s delivered %d events", self.worker_id, delivered)
        requeued, failed = jobs.recover_abandoned_jobs(
            alive_since=timezone.now() - heartbeat_fresh_for()
        )
        if requeued or failed:
            logger.warning(
                "worker %s found %d abandoned jobs: %d queued again, %d failed",
                self.worker_id,
                requeued + failed,
                requeued,
                failed,
            )
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


def start_worker(arguments: list[str]) -> subprocess.Popen:
    """``rapport worker <arguments>`` as a child process."""
    # A session of its own, so a Ctrl+C in the terminal reaches only the parent,
    # which then stops the worker once (a second signal would make the worker
    # abandon its running task).
    return subprocess.Popen(
        [sys.executable, "-m", "rapport", "worker", *arguments],
        env=os.environ.copy(),
        start_new_session=True,
    )


def stop_workers(workers: list[subprocess.Popen]) -> None:
    """SIGTERM each worker, give them together ``WORKER_STOP_TIMEOUT`` to finish their
    running tasks, then kill those still running."""
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + WORKER_STOP_TIMEOUT
    for worker in workers:
        try:
            worker.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


@dataclass
class Supervisor:
    """``concurrency`` worker processes running ``rapport worker <arguments>``.

    A worker that exits is started again (after ``RESTART_DELAY``); in burst mode
    the supervisor waits for all of them instead. SIGTERM or SIGINT stops them
    all after their running tasks.
    """

    arguments: list[str]
    concurrency: int
    burst: bool = False

    def run(self) -> int:
        stopping = threading.Event()
        for stop_signal in (signal.SIGTERM, signal.SIGINT):
            signal.signal(stop_signal, lambda signum, frame: stopping.set())
        workers = [start_worker(self.arguments) for _ in range(self.concurrency)]
        started = [time.monotonic()] * self.concurrency
        try:
            while not stopping.wait(0.5):
                if self.burst:
                    if all(worker.poll() is not None for worker in workers):
                        return max(worker.returncode for worker in workers)
                    continue
                for slot, worker in enumerate(workers):
                    since = time.monotonic() - started[slot]
                    if worker.poll() is not None and since >= RESTART_DELAY:
                        logger.warning(
                            "worker process %d exited with %d; starting another",
                            worker.pid,
                            worker.returncode,
                        )
                        workers[slot] = start_worker(self.arguments)
                        started[slot] = time.monotonic()
            return 0
        finally:
            stop_workers(workers)
