"""Work the task worker does on a clock: reminders due, digests to send, retention.

An app registers a function with ``every(seconds)``; each worker's sweep
calls it when that long has passed since its last call in this process.
Several workers may run the same function at the same moment, so each one
must claim its rows (``select_for_update(skip_locked=True)`` or a conditional
UPDATE) and mark them done in the same transaction: then a reminder is sent
once, and one that fell due while no worker ran is sent when one comes back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

Action = Callable[[], object]


@dataclass
class Scheduled:
    name: str
    action: Action
    interval: float
    last_run: float | None = field(default=None)

    def due(self, now: float) -> bool:
        return self.last_run is None or now - self.last_run >= self.interval


_SCHEDULE: dict[str, Scheduled] = {}


def every(seconds: float, *, name: str | None = None) -> Callable[[Action], Action]:
    """Register the decorated function to run every ``seconds`` in the worker."""

    def decorator(action: Action) -> Action:
        key = name or f"{action.__module__}.{action.__qualname__}"
        _SCHEDULE[key] = Scheduled(key, action, seconds)
        return action

    return decorator


def run_due() -> list[str]:
    """Run every scheduled function whose interval has passed; the names of those run.
    One failing does not stop the others."""
    now = time.monotonic()
    ran = []
    for scheduled in list(_SCHEDULE.values()):
        if not scheduled.due(now):
            continue
        scheduled.last_run = now
        try:
            scheduled.action()
        except Exception:
            logger.exception("scheduled %s failed", scheduled.name)
        ran.append(scheduled.name)
    return ran


def run_all() -> None:
    """Run every scheduled function now (tests, and ``rapport worker --burst``)."""
    for scheduled in list(_SCHEDULE.values()):
        scheduled.last_run = time.monotonic()
        scheduled.action()
