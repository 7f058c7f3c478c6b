"""/api/v1/imports, /api/v1/exports and /api/v1/jobs over HTTP."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from rapport.contacts.models import Contact
from rapport.exchange.tests.conftest import CONTACTS_CSV

pytestmark = pytest.mark.django_db
API = "/api/v1"


def _upload(client, content=CONTACTS_CSV, **fields):
    file = SimpleUploadedFile("people.csv", content.encode())
    return client.post(f"{API}/imports", {"object_type": "contacts", "file": file, **fields})


def test_upload_map_dry_run_and_import(admin_client, django_capture_on_commit_callbacks):
    response = _upload(admin_client)
    assert response.status_code == 201, response.content
    run = response.json()
    assert run["mapping"]["E-mail"] == "email" and run["status"] == "mapping"
    assert response["Location"] == f"{API}/imports/{run['id']}"
    mapping = {
        "columns": {"E-mail": "email", "Last name": "last_name"},
        "options": {"key": "email"},
    }
    put = admin_client.put(
        f"{API}/imports/{run['id']}/mapping", mapping, content_type="application/json"
    )
    assert put.status_code == 200 and put.json()["mapping"] == mapping["columns"]
    with django_capture_on_commit_callbacks(execute=True):
        dry = admin_client.post(
            f"{API}/imports/{run['id']}/start", {"dry_run": True}, content_type="application/json"
        )
    assert dry.status_code == 202
    job = admin_client.get(f"{API}/jobs/{dry.json()['job']}").json()
    assert job["status"] == "succeeded" and job["result"]["created"] == 3
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"{API}/imports/{run['id']}/start", {}, content_type="application/json")
    done = admin_client.get(f"{API}/imports/{run['id']}").json()
    assert (done["status"], done["created"], done["failed"], done["done_rows"]) == (
        "succeeded",
        3,
        1,
        4,
    )
    failures = admin_client.get(f"{API}/imports/{run['id']}/failures")
    assert b"".join(failures.streaming_content).decode().count("\n") == 2
    assert Contact.objects.count() == 3


def test_a_mapping_given_with_the_upload(admin_client):
    mapping = json.dumps({"columns": {"E-mail": "email"}, "options": {"key": "email"}})
    response = _upload(admin_client, mapping=mapping)
    assert response.status_code == 201
    assert response.json()["mapping"] == {"E-mail": "email"}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"object_type": "spaceships"}, "object_type"),
        ({"mapping": "{not json"}, "mapping"),
        ({"mapping": json.dumps({"columns": {"Nope": "email"}})}, "columns"),
        ({"mapping": json.dumps({"columns": {"City": "address.city"}})}, "mapping"),
    ],
)
def test_bad_input_is_a_problem_naming_the_field(admin_client, fields, field):
    response = _upload(admin_client, **fields)
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert field in {error["field"] for error in response.json()["errors"]}


def test_a_binary_file_is_refused_with_the_reason(admin_client):
    response = admin_client.post(
        f"{API}/imports",
        {"object_type": "contacts", "file": SimpleUploadedFile("x.csv", b"\x00\x01\x02")},
    )
    assert response.status_code == 422
    assert "binary" in response.json()["errors"][0]["message"]


def test_imports_of_others_are_404_and_reps_are_refused(admin_client, alice_client):
    run = _upload(admin_client).json()
    assert alice_client.get(f"{API}/imports/{run['id']}").status_code == 404
    assert _upload(alice_client).status_code == 403


def test_export_as_json_lines_through_a_job(admin_client, django_capture_on_commit_callbacks):
    Contact.objects.create(first_name="Zed", email="zed@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"{API}/exports",
            {"object_type": "contacts", "format": "jsonl", "columns": ["email"]},
            content_type="application/json",
        )
    assert response.status_code == 202
    job_id = response.json()["job"]
    job = admin_client.get(f"{API}/jobs/{job_id}").json()
    assert job["status"] == "succeeded" and job["has_file"]
    download = admin_client.get(f"{API}/jobs/{job_id}/download")
    lines = b"".join(download.streaming_content).decode().splitlines()
    assert [json.loads(line) for line in lines] == [{"name": "Zed", "email": "zed@example.com"}]


def test_an_unknown_export_format_is_a_422(admin_client):
    response = admin_client.post(
        f"{API}/exports",
        {"object_type": "contacts", "format": "pdf"},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "format"


def test_someone_elses_job_is_a_404(admin_client, alice_client, django_capture_on_commit_callbacks):
    response = admin_client.post(
        f"{API}/exports", {"object_type": "contacts"}, content_type="application/json"
    )
    assert alice_client.get(f"{API}/jobs/{response.json()['job']}").status_code == 404
