"""Run ``rapport`` commands as real subprocesses against the test database.

Use from tests marked ``django_db(transaction=True, serialized_rollback=True)``,
so that what the test writes is committed and the subprocess sees it (the
SQLite test database is a file for this reason), and the flush after the test
keeps the rows the data migrations made.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from django.db import connection

STOP_TIMEOUT = 20.0


def database_url() -> str:
    """A ``RAPPORT_DATABASE_URL`` naming the database the test process uses now."""
    database = connection.settings_dict
    if database["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite://{database['NAME']}"
    credentials = quote(database["USER"] or "", safe="")
    if database["PASSWORD"]:
        credentials += ":" + quote(database["PASSWORD"], safe="")
    host = database["HOST"] or "127.0.0.1"
    port = f":{database['PORT']}" if database["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{database['NAME']}"


def rapport_env(**extra: str) -> dict[str, str]:
    """The test process's environment, pointed at its database and the database queue."""
    return {
        **os.environ,
        "RAPPORT_DATABASE_URL": database_url(),
        "RAPPORT_TASK_BACKEND": "database",
        "RAPPORT_TESTING": "1",
        **extra,
    }


class RapportProcess:
    """``python -m rapport <arguments>`` running in the background, its output in a file."""

    def __init__(self, *arguments: str, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("ab") as output:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "rapport", *arguments],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    @property
    def running(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """Send ``sig`` and return the exit code; kill the process if it lingers."""
        if self.running:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        return self.popen.returncode


def wait_until(
    condition: Callable[[], object],
    *,
    timeout: float = 30.0,
    process: RapportProcess | None = None,
) -> None:
    """Poll ``condition`` until it is true. Fail after ``timeout`` seconds, or as soon
    as ``process`` has exited, with its output."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and not process.running:
            raise AssertionError(
                f"the process exited with {process.popen.returncode}:\n{process.output()}"
            )
        if time.monotonic() > deadline:
            details = f":\n{process.output()}" if process else ""
            raise AssertionError(f"still not true after {timeout} seconds{details}")
        time.sleep(0.1)
