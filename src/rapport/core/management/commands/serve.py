"""``rapport serve``: the web server (gunicorn) and, unless told not to, a task worker."""

from __future__ import annotations

import argparse
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from gunicorn.app.base import BaseApplication

from rapport import config
from rapport.core.worker import start_worker, stop_workers


class WebServer(BaseApplication):
    """Gunicorn serving ``rapport.wsgi`` with threaded (gthread) workers."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.settings.items():
            self.cfg.set(name, value)
        # Gunicorn 25.1+ opens a control socket at one path per user: two servers
        # on one machine would fight over it, and Rapport does not use it.
        if "control_socket_disable" in self.cfg.settings:
            self.cfg.set("control_socket_disable", True)

    def load(self) -> Any:
        from rapport.wsgi import application

        return application


class Command(BaseCommand):
    help = (
        "Serve Rapport with gunicorn (several processes, each with several threads) and run "
        "a background worker beside it. Stop with Ctrl+C or SIGTERM; the worker stops too."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--bind",
            default=config.env("RAPPORT_WEB_BIND", "127.0.0.1:8000"),
            help="Address to listen on, HOST:PORT (env RAPPORT_WEB_BIND, default 127.0.0.1:8000).",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=config.env_int("RAPPORT_WEB_WORKERS", 2, minimum=1),
            help="Web processes (env RAPPORT_WEB_WORKERS, default 2).",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=config.env_int("RAPPORT_WEB_THREADS", 4, minimum=1),
            help="Threads per web process (env RAPPORT_WEB_THREADS, default 4).",
        )
        parser.add_argument(
            "--timeout",
            type=int,
            default=config.env_int("RAPPORT_WEB_TIMEOUT", 30, minimum=1),
            help="Seconds before a stuck request's process is restarted "
            "(env RAPPORT_WEB_TIMEOUT, default 30).",
        )
        parser.add_argument(
            "--max-requests",
            type=int,
            default=config.env_int("RAPPORT_WEB_MAX_REQUESTS", 1000, minimum=0),
            help="Requests a process serves before it is replaced, 0 for never; with jitter "
            "(env RAPPORT_WEB_MAX_REQUESTS, default 1000).",
        )
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="Do not start a background worker (run `rapport worker` elsewhere).",
        )

    def handle(
        self,
        *,
        bind: str,
        workers: int,
        threads: int,
        timeout: int,
        max_requests: int,
        no_worker: bool,
        **options: Any,
    ) -> None:
        if workers < 1 or threads < 1 or timeout < 1 or max_requests < 0:
            raise CommandError(
                "--workers, --threads and --timeout must be at least 1, --max-requests at least 0"
            )
        worker = None if no_worker else start_worker([])
        server = WebServer(
            {
                "bind": [bind],
                "workers": workers,
                "threads": threads,
                "worker_class": "gthread",
                "timeout": timeout,
                "max_requests": max_requests,
                "max_requests_jitter": max_requests // 10,
                "accesslog": "-",
                "errorlog": "-",
                "when_ready": self.announce,
            }
        )
        server_pid = os.getpid()
        try:
            server.run()
        finally:
            # Gunicorn's forked web processes leave through here too; only
            # the process that started the worker stops it.
            if worker is not None and os.getpid() == server_pid:
                stop_workers([worker])

    def announce(self, arbiter: Any) -> None:
        for listener in arbiter.LISTENERS:
            self.stdout.write(f"Rapport is running at {listener}/ — Ctrl+C to stop.")
        self.stdout.flush()
