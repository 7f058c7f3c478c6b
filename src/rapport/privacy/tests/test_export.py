"""A person's data export: the ZIP's files, the job and its download, the command."""

from __future__ import annotations

import io
import json
import zipfile

from django.core.management import call_command

from rapport.core.models import AuditEntry, Job, JobStatus
from rapport.privacy.tests.conftest import EMAIL, FIRST, LAST


def _check_archive(data: bytes, person) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        assert {
            "contact.json",
            "companies.json",
            "activities.json",
            "tasks.json",
            "deals.json",
            "leads.json",
            "orders.json",
            "quotes.json",
            "consents.json",
            "audit.json",
        } <= names
        contact = json.loads(archive.read("contact.json"))
        assert (contact["first_name"], contact["last_name"]) == (FIRST, LAST)
        assert [email["email"] for email in contact["emails"]] == [EMAIL, "zq@home.example"]
        assert contact["addresses"][0]["street"] == "12 Quillfeather Lane"
        activities = json.loads(archive.read("activities.json"))
        emails = [item for item in activities if item["kind"] == "email"]
        assert len(activities) == 3 and len(emails) == 2
        assert any(item["email_from"] == EMAIL and item["email_cc"] for item in emails)
        assert [deal["amount"] for deal in json.loads(archive.read("deals.json"))] == ["5000.0000"]
        assert [lead["email"] for lead in json.loads(archive.read("leads.json"))] == [EMAIL]
        assert json.loads(archive.read("consents.json"))[0]["granted"] is True
        audit = json.loads(archive.read("audit.json"))
        assert any(entry["changes"].get("last_name") == ["Quill", LAST] for entry in audit)
        files = [name for name in names if name.startswith("attachments/")]
        assert len(files) == 1 and archive.read(files[0]).decode().startswith(FIRST)


def test_export_job_from_the_contact_page(
    person, admin_client, alice_client, django_capture_on_commit_callbacks
):
    url = f"/contacts/{person.contact.pk}/privacy/export/"
    assert alice_client.post(url).status_code == 404
    assert not Job.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        started = admin_client.post(url)
    assert started.status_code == 302
    job = Job.objects.get()
    assert job.status == JobStatus.SUCCEEDED, job.message
    status = admin_client.get(f"/api/v1/jobs/{job.pk}").json()
    assert status["status"] == "succeeded"
    download = admin_client.get(f"/api/v1/jobs/{job.pk}/download")
    _check_archive(b"".join(download.streaming_content), person)
    assert AuditEntry.objects.filter(
        object_id=str(person.contact.pk), changes__has_key="privacy_export"
    ).exists()


def test_export_api_for_admins(
    person, admin_client, alice_client, django_capture_on_commit_callbacks
):
    url = f"/api/v1/contacts/{person.contact.pk}/privacy-export"
    assert alice_client.post(url).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        started = admin_client.post(url)
    assert started.status_code == 202
    assert Job.objects.get(pk=started.json()["id"]).status == JobStatus.SUCCEEDED


def test_export_command(person, tmp_path):
    out = tmp_path / "person.zip"
    call_command("privacy-export", str(person.contact.pk), str(out))
    _check_archive(out.read_bytes(), person)
