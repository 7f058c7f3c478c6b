"""Domain events through a transactional outbox.

``emit`` writes an ``OutboxEvent`` in the caller's transaction and, once that
transaction commits, asks the task queue to dispatch. Handlers registered with
``subscribe`` receive events after commit, at least once, in order per record;
a crash between commit and delivery loses nothing because the row stays
pending until a dispatcher delivers it (see ``rapport.core.dispatch``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import models, transaction

from rapport.core import bulk
from rapport.core.actors import Actor
from rapport.core.audit import json_value
from rapport.core.models import OutboxEvent

Handler = Callable[[OutboxEvent], None]
_handlers: dict[str, list[Handler]] = {}


def subscribe(pattern: str, handler: Handler) -> None:
    """Call ``handler`` for events named ``pattern`` (``contact.created``), every event
    of a type (``contact.*``) or every event (``*``). Handlers must be idempotent."""
    registered = _handlers.setdefault(pattern, [])
    if handler not in registered:
        registered.append(handler)


def unsubscribe(pattern: str, handler: Handler) -> None:
    if handler in _handlers.get(pattern, []):
        _handlers[pattern].remove(handler)


def handlers_for(name: str) -> list[Handler]:
    object_type = name.split(".", 1)[0]
    return [
        *_handlers.get("*", []),
        *_handlers.get(f"{object_type}.*", []),
        *_handlers.get(name, []),
    ]


def _event(
    name: str, obj: models.Model, actor: Actor, payload: dict[str, Any] | None
) -> OutboxEvent:
    return OutboxEvent(
        name=name,
        aggregate_type=obj._meta.label_lower,
        aggregate_id=str(obj.pk),
        payload={key: json_value(value) for key, value in (payload or {}).items()},
        actor=actor.user,
        source=actor.source,
    )


def _request_dispatch_after_commit() -> None:
    if not _dispatch_requested():
        transaction.on_commit(request_dispatch)


def emit(
    name: str,
    *,
    obj: models.Model,
    actor: Actor,
    payload: dict[str, Any] | None = None,
) -> OutboxEvent:
    """Record ``name`` for ``obj``; delivered after the surrounding transaction commits."""
    event = _event(name, obj, actor, payload)
    event.save()
    _request_dispatch_after_commit()
    return event


def emit_many(
    name: str, *, events: Sequence[tuple[models.Model, dict[str, Any]]], actor: Actor
) -> None:
    """``emit`` for many records at once: ``events`` holds ``(obj, payload)`` pairs."""
    if events:
        bulk.insert_objects(
            OutboxEvent, [_event(name, obj, actor, payload) for obj, payload in events]
        )
        _request_dispatch_after_commit()


def _dispatch_requested() -> bool:
    """Whether this transaction already asks for a dispatch after commit: one task
    delivers every event of the transaction, however many it emitted."""
    connection = transaction.get_connection()
    return any(
        callback is request_dispatch for _sids, callback, _robust in connection.run_on_commit
    )


def request_dispatch() -> None:
    from rapport.core.tasks import dispatch_outbox

    dispatch_outbox.enqueue()
