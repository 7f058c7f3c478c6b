"""Killing the worker in the middle of an import loses nothing and repeats nothing: the
run taken over by another worker ends with the database an uninterrupted run would leave."""

from __future__ import annotations

import signal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from rapport.accounts.models import User
from rapport.contacts.models import Contact
from rapport.core.actors import Actor
from rapport.core.jobs import recover_abandoned_jobs
from rapport.core.models import AuditEntry, Job, JobStatus, Source
from rapport.exchange.imports import import_configure, import_start, import_upload
from rapport.exchange.models import ImportRun, ImportStatus
from rapport.testing.processes import wait_until

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ROWS = 4_000
BATCH = "100"
WORKER = ("worker", "--interval", "0.2", "--outbox-interval", "60")
DATABASE_QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def _people() -> tuple[str, dict[str, str], set[int]]:
    """The file, the valid rows' names by email, and the lines of the bad rows."""
    lines, valid, bad = ["Email,Last name"], {}, set()
    for number in range(ROWS):
        if number % 250 == 7:
            lines.append(f"broken-{number},Broken {number}")
            bad.add(number + 2)
        else:
            lines.append(f"p{number}@example.com,Person {number}")
            valid[f"p{number}@example.com"] = f"Person {number}"
    return "\n".join(lines) + "\n", valid, bad


@pytest.fixture
def worker(start_rapport):
    return lambda: start_rapport(*WORKER, RAPPORT_IMPORT_BATCH_ROWS=BATCH)


def test_a_killed_import_resumes_to_the_same_end_as_an_uninterrupted_one(worker, settings):
    settings.TASKS = DATABASE_QUEUE
    admin = User.objects.create_superuser(username="root", email="root@example.com", password=None)
    actor = Actor(user=admin, source=Source.UI)
    text, valid, bad = _people()
    run = import_upload(
        actor=actor,
        object_type="contacts",
        upload=SimpleUploadedFile("people.csv", text.encode()),
        file_name="people.csv",
    )
    import_configure(run, actor=actor, mapping=run.mapping, options={"key": "email"})
    with transaction.atomic():
        import_start(run, actor=actor)

    first = worker()
    wait_until(lambda: ImportRun.objects.get(pk=run.pk).next_row >= 500, process=first)
    first.stop(signal.SIGKILL)

    run.refresh_from_db()
    assert 500 <= run.next_row < ROWS, "the kill came after the import had finished"
    assert run.next_row % int(BATCH) == 0
    # What the run counts is exactly what is committed: whole batches, nothing more.
    assert Contact.objects.count() == run.created
    assert run.created + run.failed == run.next_row

    # What a live worker's sweep does once the killed worker's heartbeat is stale.
    assert recover_abandoned_jobs(alive_since=timezone.now()) == (1, 0)
    assert Job.objects.get(pk=run.job_id).status == JobStatus.QUEUED
    second = worker()
    wait_until(
        lambda: ImportRun.objects.get(pk=run.pk).status == ImportStatus.SUCCEEDED,
        process=second,
        timeout=120,
    )

    run.refresh_from_db()
    assert (run.created, run.updated, run.unchanged, run.failed) == (len(valid), 0, 0, len(bad))
    assert dict(Contact.objects.values_list("email", "last_name")) == valid
    assert set(run.failures.values_list("line", flat=True)) == bad
    assert run.failures.count() == len(bad)
    created = AuditEntry.objects.filter(request_id=run.audit_tag, action="create")
    assert created.count() == len(valid)
    # The same job went on: taken over by the second worker, not started anew.
    assert Job.objects.get(pk=run.job_id).attempts == 2
