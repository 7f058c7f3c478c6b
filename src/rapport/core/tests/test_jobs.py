"""User jobs: run, progress, failure, cancel, the owner-only pages and the audit export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rapport.core import jobs
from rapport.core.actors import Actor
from rapport.core.audit import audit_log, snapshot
from rapport.core.jobs import JobCancelled, JobError, job_cancel, job_handler, job_start
from rapport.core.models import AuditAction, Job, JobStatus, Source, WorkerHeartbeat
from rapport.testing.models import Specimen

pytestmark = pytest.mark.django_db


@job_handler("testing.count")
def count_to(job: Job, progress: jobs.Progress) -> dict:
    total = job.params["to"]
    for number in range(1, total + 1):
        progress(number, total)
    job.result_file.save("count.txt", ContentFile(f"counted to {total}\n".encode()), save=False)
    return {"counted": total, "message": f"Counted to {total}."}


@job_handler("testing.resumable_count", resumable=True)
def resumable_count(job: Job, progress: jobs.Progress) -> dict:
    return count_to(job, progress)


@job_handler("testing.crash")
def crash(job: Job, progress: jobs.Progress) -> dict:
    raise KeyError("internal detail of row 42")


@job_handler("testing.refuse")
def refuse(job: Job, progress: jobs.Progress) -> dict:
    raise JobError("The file has no header row.")


@job_handler("testing.cancelled_midway")
def cancelled_midway(job: Job, progress: jobs.Progress) -> dict:
    progress(1, 3)
    # The owner presses Cancel while the job runs.
    job_cancel(job, actor=Actor(user=job.owner, source=Source.UI))
    progress(2, 3)
    raise AssertionError("progress() should have stopped the job")


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Start a job and let it run (in-process backend) once its transaction commits."""

    def start_and_commit(actor: Actor, kind: str = "testing.count", **params) -> Job:
        with django_capture_on_commit_callbacks(execute=True):
            job = job_start(actor=actor, kind=kind, title=f"Job {kind}", params=params)
        job.refresh_from_db()
        return job

    return start_and_commit


def test_a_started_job_waits_in_the_queue_until_its_transaction_commits(as_alice, alice):
    job = job_start(actor=as_alice, kind="testing.count", title="Count", params={"to": 3})

    job.refresh_from_db()
    assert (job.status, job.owner, job.task_result_id) == (JobStatus.QUEUED, alice, "")


def test_a_started_job_succeeds_with_progress_result_and_file(run, as_alice, alice):
    job = run(as_alice, to=3)

    assert job.status == JobStatus.SUCCEEDED
    assert (job.progress_done, job.progress_total, job.percent) == (3, 3, 100)
    assert job.result == {"counted": 3}
    assert job.message == "Counted to 3."
    assert job.started_at <= job.finished_at
    assert job.task_result_id
    with job.result_file.open("rb") as handle:
        assert handle.read() == b"counted to 3\n"


def test_an_unexpected_error_fails_the_job_with_a_safe_message(run, as_alice):
    job = run(as_alice, "testing.crash")

    assert job.status == JobStatus.FAILED
    assert job.finished_at is not None
    assert "row 42" not in job.message
    assert "failed unexpectedly" in job.message


def test_a_job_error_fails_the_job_with_its_own_message(run, as_alice):
    job = run(as_alice, "testing.refuse")

    assert (job.status, job.message) == (JobStatus.FAILED, "The file has no header row.")


def test_cancelling_a_running_job_stops_it_at_its_next_progress(run, as_alice):
    job = run(as_alice, "testing.cancelled_midway")

    assert job.status == JobStatus.CANCELLED
    assert job.progress_done == 1
    assert job.result == {}


def test_a_job_cancelled_before_it_started_never_runs(as_alice):
    job = job_start(actor=as_alice, kind="testing.count", title="Count", params={"to": 3})

    job_cancel(job, actor=as_alice)
    jobs.job_run(str(job.pk))

    job.refresh_from_db()
    assert (job.status, job.started_at, job.progress_done) == (JobStatus.CANCELLED, None, 0)
    assert job.finished_at is not None


def test_progress_raises_once_the_job_is_cancelled(as_alice):
    job = job_start(actor=as_alice, kind="testing.count", title="Count", params={"to": 3})
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    jobs.job_progress(job, 1, 3)
    job_cancel(job, actor=as_alice)

    with pytest.raises(JobCancelled):
        jobs.job_progress(job, 2, 3)
    job.refresh_from_db()
    assert job.progress_done == 1


def test_a_run_presumed_dead_stops_and_records_nothing_once_another_worker_took_over(alice):
    # Its heartbeat was late (a long database stall): the job was queued again and
    # another worker is running it now.
    job = Job.objects.create(
        owner=alice, kind="testing.count", title="t", status=JobStatus.RUNNING, worker_id="slow"
    )
    Job.objects.filter(pk=job.pk).update(worker_id="other")

    with pytest.raises(JobCancelled):
        jobs.job_progress(job, 1, 3)
    jobs.finish(job, JobStatus.SUCCEEDED, message="Done by the slow one.")

    job.refresh_from_db()
    assert (job.status, job.progress_done, job.message) == (JobStatus.RUNNING, 0, "")


def test_only_the_owner_cancels_and_only_an_unfinished_job(run, as_alice, bob):
    job = job_start(actor=as_alice, kind="testing.count", title="Count", params={"to": 1})

    with pytest.raises(PermissionDenied):
        job_cancel(job, actor=Actor(user=bob, source=Source.UI))
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED

    done = run(as_alice, to=1)
    with pytest.raises(JobError):
        job_cancel(done, actor=as_alice)
    done.refresh_from_db()
    assert done.status == JobStatus.SUCCEEDED


def test_an_unknown_kind_is_refused(as_alice):
    with pytest.raises(ValueError, match="no job handler"):
        job_start(actor=as_alice, kind="testing.nothing", title="?", params={})
    assert not Job.objects.exists()


# --- pages ------------------------------------------------------------------------------


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_job_list_shows_only_my_jobs(
    alice_client, as_alice, bob, django_assert_max_num_queries
):
    for number in range(5):
        job_start(actor=as_alice, kind="testing.count", title=f"Alice {number}", params={})
    job_start(
        actor=Actor(user=bob, source=Source.UI), kind="testing.count", title="Bob's", params={}
    )

    # The page's own queries, and the bell's unread count.
    with django_assert_max_num_queries(5):
        response = alice_client.get(reverse("core:job_list"))

    assert response.status_code == 200
    page = response.content.decode()
    assert all(f"Alice {number}" in page for number in range(5))
    assert "Bob&#x27;s" not in page


def test_the_job_list_pages_with_a_cursor(alice_client, as_alice, monkeypatch):
    monkeypatch.setattr("rapport.core.views.jobs.JOB_PAGE_SIZE", 2)
    for number in range(3):
        job_start(actor=as_alice, kind="testing.count", title=f"Job {number}", params={})

    first = alice_client.get(reverse("core:job_list"))
    second = alice_client.get(
        reverse("core:job_list"), {"cursor": first.context["page"].next_cursor}
    )

    titles = [job.title for job in first.context["page"].items + second.context["page"].items]
    assert sorted(titles) == ["Job 0", "Job 1", "Job 2"]
    assert alice_client.get(reverse("core:job_list"), {"cursor": "forged"}).status_code == 404


def test_a_running_job_page_polls_its_progress_and_offers_cancel(alice_client, as_alice):
    job = job_start(actor=as_alice, kind="testing.count", title="Count", params={})
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, progress_done=2, progress_total=8, message="Reading rows"
    )

    page = alice_client.get(reverse("core:job_detail", args=[job.pk])).content.decode()
    fragment = alice_client.get(
        reverse("core:job_progress", args=[job.pk]), headers={"HX-Request": "true"}
    ).content.decode()

    progress_url = reverse("core:job_progress", args=[job.pk])
    for html in (page, fragment):
        assert f'hx-get="{progress_url}"' in html
        assert 'hx-trigger="every 1s"' in html
        assert 'hx-swap="outerHTML"' in html
        assert '<progress id="job-progress-bar" max="8" value="2">' in html
        assert "Reading rows" in html
        assert f'action="{reverse("core:job_cancel", args=[job.pk])}"' in html
        assert "csrfmiddlewaretoken" in html
    assert "<html" not in fragment


def test_a_finished_job_stops_polling_and_offers_its_download(run, alice_client, as_alice):
    job = run(as_alice, to=2)

    fragment = alice_client.get(reverse("core:job_progress", args=[job.pk])).content.decode()

    assert "hx-trigger" not in fragment
    assert reverse("core:job_download", args=[job.pk]) in fragment
    assert reverse("core:job_cancel", args=[job.pk]) not in fragment


def test_cancel_button_cancels_my_job(alice_client, as_alice):
    job = job_start(actor=as_alice, kind="testing.count", title="Count", params={})

    response = alice_client.post(reverse("core:job_cancel", args=[job.pk]))

    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert alice_client.get(reverse("core:job_cancel", args=[job.pk])).status_code == 405


def test_cancelling_a_finished_job_says_why(run, alice_client, as_alice):
    job = run(as_alice, to=1)

    response = alice_client.post(reverse("core:job_cancel", args=[job.pk]), follow=True)

    assert "Only a queued or running job can be cancelled." in response.content.decode()
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED


def test_cancel_via_htmx_answers_with_the_fragment(alice_client, as_alice):
    job = job_start(actor=as_alice, kind="testing.count", title="Count", params={})

    response = alice_client.post(
        reverse("core:job_cancel", args=[job.pk]), headers={"HX-Request": "true"}
    )

    assert response.status_code == 200
    assert 'id="job-progress"' in response.content.decode()
    assert "hx-trigger" not in response.content.decode()


def test_another_users_job_does_not_exist_for_them(run, as_alice, bob):
    job = run(as_alice, to=1)
    bob_client = client_for(bob)

    for name in ("core:job_detail", "core:job_progress", "core:job_download"):
        assert bob_client.get(reverse(name, args=[job.pk])).status_code == 404
    assert bob_client.post(reverse("core:job_cancel", args=[job.pk])).status_code == 404
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED


def test_the_owner_downloads_the_result_file(run, alice_client, as_alice):
    job = run(as_alice, to=4)

    response = alice_client.get(reverse("core:job_download", args=[job.pk]))

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert b"".join(response.streaming_content) == b"counted to 4\n"


def test_a_job_without_a_file_has_nothing_to_download(alice_client, as_alice):
    job = job_start(actor=as_alice, kind="testing.count", title="Count", params={})

    assert alice_client.get(reverse("core:job_download", args=[job.pk])).status_code == 404


def test_job_pages_need_a_login(as_alice):
    job = job_start(actor=as_alice, kind="testing.count", title="Count", params={})

    for url in (reverse("core:job_list"), reverse("core:job_detail", args=[job.pk])):
        response = Client().get(url)
        assert response.status_code == 302
        assert "/login/" in response["Location"]


# --- audit.export -------------------------------------------------------------------------


def audited_specimens(actor: Actor) -> list[Specimen]:
    made = []
    for name in ("Acme", "=cmd|' /C calc'!A0", "Globex"):
        specimen = Specimen.objects.create(name=name)
        audit_log(actor=actor, action=AuditAction.CREATE, obj=specimen, changes={})
        made.append(specimen)
    before = snapshot(made[0])
    made[0].name = "Acme Ltd"
    made[0].save()
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=made[0],
        changes={"name": [before["name"], "Acme Ltd"]},
    )
    return made


def csv_rows(job: Job) -> list[dict[str, str]]:
    with job.result_file.open("rb") as handle:
        return list(csv.DictReader(io.StringIO(handle.read().decode("utf-8"))))


def test_audit_export_writes_the_filtered_audit_log_as_csv(run, as_admin, admin, monkeypatch):
    monkeypatch.setattr(jobs, "AUDIT_EXPORT_PROGRESS_EVERY", 2)
    reported: list[tuple[int, int | None]] = []
    real_progress = jobs.job_progress

    def spy(job: Job, done: int, total: int | None = None) -> None:
        reported.append((done, total))
        real_progress(job, done, total)

    monkeypatch.setattr(jobs, "job_progress", spy)
    specimens = audited_specimens(as_admin)

    job = run(as_admin, "audit.export", action="create", object_type="testing.specimen")

    assert job.status == JobStatus.SUCCEEDED, job.message
    assert job.result == {"rows": 3}
    assert job.message == "3 audit entries exported."
    assert reported == [(0, 3), (2, 3), (3, 3)]
    assert job.result_file.name.endswith(".csv")
    rows = csv_rows(job)
    assert [row["object_id"] for row in rows] == [str(specimen.pk) for specimen in specimens]
    assert {row["action"] for row in rows} == {"create"}
    assert rows[0]["actor"] == admin.email
    assert rows[0]["actor_id"] == str(admin.pk)
    assert rows[0]["object_type"] == "testing.specimen"
    # A name a spreadsheet would run as a formula is written as text.
    assert rows[1]["object"] == "'=cmd|' /C calc'!A0"


def test_audit_export_without_filters_includes_every_entry_with_changes(run, as_admin):
    audited_specimens(as_admin)

    job = run(as_admin, "audit.export")

    rows = csv_rows(job)
    assert [row["action"] for row in rows] == ["create", "create", "create", "update"]
    assert rows[-1]["changes"] == '{"name": ["Acme", "Acme Ltd"]}'


def test_audit_export_is_for_admins_only(as_alice):
    with pytest.raises(PermissionDenied):
        job_start(actor=as_alice, kind="audit.export", title="Audit", params={})
    assert not Job.objects.exists()


def test_audit_export_refuses_bad_filters(as_admin):
    with pytest.raises(ValidationError) as refused:
        job_start(
            actor=as_admin,
            kind="audit.export",
            title="Audit",
            params={"action": "explode", "since": "2026-02-01", "until": "yesterday"},
        )
    assert set(refused.value.message_dict) == {"action", "until"}
    assert not Job.objects.exists()


def test_an_admin_who_lost_the_role_before_the_export_ran_gets_nothing(
    as_admin, admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        job = job_start(actor=as_admin, kind="audit.export", title="Audit", params={})
    admin.role = None
    admin.save()

    for callback in callbacks:
        callback()

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert not job.result_file


def test_only_the_owner_downloads_an_audit_export(run, as_admin, admin, alice):
    audited_specimens(as_admin)
    job = run(as_admin, "audit.export")

    assert client_for(alice).get(reverse("core:job_download", args=[job.pk])).status_code == 404
    response = client_for(admin).get(reverse("core:job_download", args=[job.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"id,at,actor_id,actor,")


def test_a_job_whose_worker_died_is_marked_failed(alice):
    now = timezone.now()
    WorkerHeartbeat.objects.create(
        worker_id="alive", hostname="h", pid=1, started_at=now, seen_at=now
    )
    running = {"alive": None, "gone": None, "": None}
    for worker_id in running:
        running[worker_id] = Job.objects.create(
            owner=alice,
            kind="testing.count",
            title="t",
            status=JobStatus.RUNNING,
            worker_id=worker_id,
        )

    assert jobs.recover_abandoned_jobs(alive_since=now - timedelta(seconds=60)) == (0, 1)

    statuses = {key: Job.objects.get(pk=job.pk).status for key, job in running.items()}
    assert statuses == {"alive": "running", "gone": "failed", "": "running"}
    assert "stopped before it finished" in Job.objects.get(pk=running["gone"].pk).message


def test_a_resumable_job_whose_worker_died_is_run_again_once(
    alice, django_capture_on_commit_callbacks
):
    now = timezone.now()
    stale = now - timedelta(seconds=61)
    WorkerHeartbeat.objects.create(
        worker_id="gone", hostname="h", pid=1, started_at=stale, seen_at=stale
    )
    job = Job.objects.create(
        owner=alice,
        kind="testing.resumable_count",
        title="t",
        params={"to": 2},
        status=JobStatus.RUNNING,
        worker_id="gone",
        attempts=1,
    )

    with django_capture_on_commit_callbacks(execute=True) as enqueued:
        assert jobs.recover_abandoned_jobs(alive_since=now - timedelta(seconds=60)) == (1, 0)
        # A second worker sweeping at the same time finds nothing left to take over.
        assert jobs.recover_abandoned_jobs(alive_since=now - timedelta(seconds=60)) == (0, 0)

    assert len(enqueued) == 1
    job.refresh_from_db()
    assert (job.status, job.result, job.attempts) == (JobStatus.SUCCEEDED, {"counted": 2}, 2)


def test_a_resumable_job_that_keeps_losing_its_worker_fails_after_its_last_try(alice):
    now = timezone.now()
    job = Job.objects.create(
        owner=alice,
        kind="testing.resumable_count",
        title="t",
        status=JobStatus.RUNNING,
        worker_id="gone",
        attempts=jobs.MAX_ATTEMPTS,
    )

    assert jobs.recover_abandoned_jobs(alive_since=now) == (0, 1)

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
