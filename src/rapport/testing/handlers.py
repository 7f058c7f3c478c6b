"""Event handlers for tests that run Rapport in a subprocess (a real worker, a real server).

When ``RAPPORT_TEST_EVENT_LOG`` names a file, every ``specimen.*`` event
delivered in that process is appended to it as ``<event id> <event name>``,
so the test can see from outside which events were delivered and in what order.
"""

from __future__ import annotations

import os

from rapport.core import events
from rapport.core.models import OutboxEvent

EVENT_LOG_VARIABLE = "RAPPORT_TEST_EVENT_LOG"


def record_delivery(event: OutboxEvent) -> None:
    with open(os.environ[EVENT_LOG_VARIABLE], "a", encoding="utf-8") as log:
        log.write(f"{event.id} {event.name}\n")


def register() -> None:
    if os.environ.get(EVENT_LOG_VARIABLE):
        events.subscribe("specimen.*", record_delivery)
