"""The outbox: events leave only after commit, in order per record, retried, then given up."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from rapport.core import dispatch, events
from rapport.core.actors import Actor
from rapport.core.dispatch import MAX_ATTEMPTS, claim, dispatch_pending, retry_delay
from rapport.core.models import OutboxEvent, OutboxStatus
from rapport.testing.models import Specimen

pytestmark = pytest.mark.django_db

SECOND = datetime.timedelta(seconds=1)


class Recorder:
    """A ``specimen.*`` handler that records what it receives and fails on demand."""

    def __init__(self) -> None:
        self.received: list[OutboxEvent] = []
        self.failing: set[int] = set()

    def __call__(self, event: OutboxEvent) -> None:
        if event.id in self.failing:
            raise RuntimeError("the webhook endpoint answered 502")
        self.received.append(event)

    @property
    def ids(self) -> list[int]:
        return [event.id for event in self.received]


@pytest.fixture
def recorder():
    handler = Recorder()
    events.subscribe("specimen.*", handler)
    yield handler
    events.unsubscribe("specimen.*", handler)


def specimen(name: str) -> Specimen:
    return Specimen.objects.create(name=name)


def emit(name: str, obj: Specimen, **payload) -> OutboxEvent:
    return events.emit(name, obj=obj, actor=Actor.system(), payload=payload)


def status_of(event: OutboxEvent) -> str:
    event.refresh_from_db()
    return event.status


def test_subscribed_handler_receives_the_event_and_its_payload_after_commit(
    recorder, django_capture_on_commit_callbacks
):
    acme = specimen("Acme")
    with django_capture_on_commit_callbacks(execute=True):
        event = emit(
            "specimen.updated", acme, amount=Decimal("12.50"), closed=datetime.date(2026, 1, 2)
        )
        assert recorder.received == []

    [received] = recorder.received
    assert (received.id, received.name, received.aggregate_type, received.aggregate_id) == (
        event.id,
        "specimen.updated",
        "testing.specimen",
        str(acme.pk),
    )
    assert received.payload == {"amount": "12.50", "closed": "2026-01-02"}
    event.refresh_from_db()
    assert (event.status, event.attempts) == (OutboxStatus.DELIVERED, 1)
    assert event.delivered_at is not None


def test_events_of_a_rolled_back_transaction_are_never_delivered(
    recorder, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        emit("specimen.created", specimen("Acme"))
        raise RuntimeError("the service failed after emitting")

    assert callbacks == []
    assert not OutboxEvent.objects.exists()
    assert dispatch_pending(worker_id="test") == 0
    assert recorder.received == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_real_commit_dispatches_and_a_real_rollback_does_not(recorder):
    with pytest.raises(RuntimeError), transaction.atomic():
        emit("specimen.created", specimen("Rolled back"))
        raise RuntimeError

    with transaction.atomic():
        kept = emit("specimen.created", specimen("Committed"))
        assert recorder.received == []

    assert recorder.ids == [kept.id]
    assert list(OutboxEvent.objects.values_list("id", "status")) == [
        (kept.id, OutboxStatus.DELIVERED)
    ]


def test_a_failed_event_holds_back_the_later_events_of_its_record_only(recorder):
    acme, globex = specimen("Acme"), specimen("Globex")
    first = emit("specimen.created", acme)
    second = emit("specimen.updated", acme)
    other = emit("specimen.created", globex)
    recorder.failing.add(first.id)
    now = timezone.now()

    assert dispatch_pending(worker_id="test", now=now) == 1

    assert recorder.ids == [other.id]
    first.refresh_from_db()
    assert (first.status, first.attempts, first.available_at) == (
        OutboxStatus.PENDING,
        1,
        now + retry_delay(1),
    )
    assert first.last_error == "builtins.RuntimeError: the webhook endpoint answered 502"
    assert (first.locked_by, first.locked_until) == ("", None)

    # Not due yet: nothing moves, and the later event of Acme still waits.
    assert dispatch_pending(worker_id="test", now=now + SECOND) == 0
    assert status_of(second) == OutboxStatus.PENDING

    recorder.failing.clear()
    retry_time = now + retry_delay(1)
    assert dispatch_pending(worker_id="test", now=retry_time) == 1
    assert dispatch_pending(worker_id="test", now=retry_time) == 1
    assert recorder.ids == [other.id, first.id, second.id]


def test_retries_back_off_exponentially_then_the_event_is_given_up(recorder):
    acme = specimen("Acme")
    doomed = emit("specimen.created", acme)
    later = emit("specimen.updated", acme)
    recorder.failing.add(doomed.id)
    now = timezone.now()

    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert dispatch_pending(worker_id="test", now=now) == 0
        doomed.refresh_from_db()
        assert doomed.attempts == attempt
        if attempt < MAX_ATTEMPTS:
            assert doomed.status == OutboxStatus.PENDING
            assert doomed.available_at == now + datetime.timedelta(seconds=2**attempt)
            assert dispatch_pending(worker_id="test", now=doomed.available_at - SECOND) == 0
            now = doomed.available_at

    assert doomed.status == OutboxStatus.DEAD
    assert "RuntimeError" in doomed.last_error
    # A dead event no longer holds its record's later events back.
    assert dispatch_pending(worker_id="test", now=now) == 1
    assert recorder.ids == [later.id]
    assert status_of(doomed) == OutboxStatus.DEAD


def test_backoff_is_capped():
    assert retry_delay(3) == datetime.timedelta(seconds=8)
    assert retry_delay(40) == datetime.timedelta(seconds=dispatch.MAX_BACKOFF_SECONDS)


def test_a_claimed_batch_is_not_claimed_again_until_its_lease_expires(recorder):
    acme, globex = specimen("Acme"), specimen("Globex")
    first = emit("specimen.created", acme)
    emit("specimen.updated", acme)
    other = emit("specimen.created", globex)
    now = timezone.now()

    claimed = claim(batch=10, worker_id="one", now=now)

    # Only the first pending event of each record can be claimed.
    assert [event.id for event in claimed] == [first.id, other.id]
    assert claim(batch=10, worker_id="two", now=now) == []
    assert dispatch_pending(worker_id="two", now=now) == 0
    # Dispatcher "one" died holding them: once the lease ran out, another takes over.
    expired = now + dispatch.LEASE + SECOND
    assert [event.id for event in claim(batch=10, worker_id="two", now=expired)] == [
        first.id,
        other.id,
    ]
    assert recorder.received == []


def test_dispatch_respects_the_batch_size_and_skips_events_not_yet_due(recorder):
    due = [emit("specimen.created", specimen(f"S{number}")) for number in range(3)]
    scheduled = emit("specimen.created", specimen("Later"))
    OutboxEvent.objects.filter(id=scheduled.id).update(
        available_at=timezone.now() + datetime.timedelta(hours=1)
    )
    now = timezone.now()

    assert dispatch_pending(batch=2, worker_id="test", now=now) == 2
    assert dispatch_pending(batch=2, worker_id="test", now=now) == 1
    assert dispatch_pending(batch=2, worker_id="test", now=now) == 0
    assert recorder.ids == [event.id for event in due]
    assert status_of(scheduled) == OutboxStatus.PENDING


def test_the_dispatch_task_delivers_everything_that_is_due(recorder):
    from rapport.core.tasks import dispatch_outbox

    acme = specimen("Acme")
    emitted = [emit("specimen.updated", acme, step=step) for step in range(3)]

    result = dispatch_outbox.enqueue()

    assert result.return_value == 3
    assert recorder.ids == [event.id for event in emitted]
    assert [event.payload["step"] for event in recorder.received] == [0, 1, 2]


def test_one_transaction_asks_for_one_dispatch_however_many_events(
    as_alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        for number in range(3):
            specimen = Specimen.objects.create(name=f"S{number}")
            events.emit("specimen.created", obj=specimen, actor=as_alice)

    assert callbacks == [events.request_dispatch]
    assert OutboxEvent.objects.count() == 3
