"""Short ways to log activities and name times in the activities tests."""

from __future__ import annotations

import datetime

from django.utils import timezone

from rapport.activities import services
from rapport.activities.models import Activity
from rapport.core.actors import Actor


def ago(**delta: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(**delta)


def later(**delta: float) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(**delta)


def log_note(actor: Actor, record, text: str = "Spoke about the renewal", **values) -> Activity:
    return services.activity_create(
        actor=actor, kind="note", links=[record], values={"body": text, **values}
    )


def log_call(actor: Actor, record, **values) -> Activity:
    values = {"direction": "out", "duration_seconds": 300, "outcome": "connected", **values}
    return services.activity_create(actor=actor, kind="call", links=[record], values=values)
