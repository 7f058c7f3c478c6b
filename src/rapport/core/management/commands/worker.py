"""``rapport worker``: run background tasks and deliver domain events."""

from __future__ import annotations

import argparse
import math
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from rapport import config
from rapport.core.worker import Supervisor, Worker


def positive_seconds(raw: str) -> float:
    value = float(raw)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError("must be a number of seconds above 0")
    return value


class Command(BaseCommand):
    help = (
        "Run a background worker: it runs queued tasks (on the database queue, or on Redis "
        "when RAPPORT_TASK_BACKEND is redis://…), delivers pending domain events every few "
        "seconds, and reports itself on /health. --concurrency N runs N such worker "
        "processes, restarting one that dies; for more than the CPUs of one machine, run "
        "workers on more machines. SIGTERM or Ctrl+C stops them after their running tasks."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--queue",
            action="append",
            dest="queues",
            metavar="NAME",
            help="A queue to take tasks from; repeat for several (default: default).",
        )
        parser.add_argument(
            "--interval",
            type=positive_seconds,
            default=1.0,
            help="Seconds to wait for new tasks when the database queue is empty (default: 1).",
        )
        parser.add_argument(
            "--outbox-interval",
            type=positive_seconds,
            default=5.0,
            help="Seconds between deliveries of pending events (default: 5).",
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=config.env_int("RAPPORT_WORKER_CONCURRENCY", 1, minimum=1),
            help="Worker processes to run, each with its own heartbeat "
            "(env RAPPORT_WORKER_CONCURRENCY, default 1).",
        )
        parser.add_argument(
            "--batch",
            action="store_true",
            help="Run the queued tasks, deliver the pending events, then exit.",
        )

    def handle(
        self,
        *,
        queues: list[str] | None,
        interval: float,
        outbox_interval: float,
        batch: bool,
        concurrency: int,
        **options: Any,
    ) -> None:
        if concurrency < 1:
            raise CommandError("--concurrency must be at least 1")
        if concurrency > 1:
            arguments = [
                *(f"--queue={queue}" for queue in queues or []),
                f"--interval={interval}",
                f"--outbox-interval={outbox_interval}",
                *(["--batch"] if batch else []),
                "--concurrency=1",
            ]
            self.stdout.write(f"Rapport worker supervisor: {concurrency} worker processes")
            self.stdout.flush()
            code = Supervisor(arguments=arguments, concurrency=concurrency, burst=batch).run()
            if code:
                raise CommandError(f"a worker process exited with {code}", returncode=code)
            return
        worker = Worker(
            queues=queues or ["default"],
            interval=interval,
            outbox_interval=outbox_interval,
            burst=batch,
        )
        self.stdout.write(f"Rapport worker {worker.worker_id} on queues {', '.join(worker.queues)}")
        self.stdout.flush()
        worker.run()
