"""/api/v1/attachments through HTTP: upload (multipart), list, read, download,
delete; problems for refused files and 404 for records the caller may not see."""

from __future__ import annotations

import pytest
from django.test import Client

from rapport.attachments import services
from rapport.attachments.models import Attachment
from rapport.attachments.tests.conftest import EXE, PDF, stored_files, upload

pytestmark = pytest.mark.django_db

API = "/api/v1"


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    return response.json()


def send(client: Client, record, file, **fields):
    body = {"object_type": "contacts.contact", "object_id": str(record.pk), "file": file}
    return client.post(f"{API}/attachments", body | fields)


@pytest.fixture
def offer(as_alice, ann):
    services.attachment_upload(actor=as_alice, record=ann, file=upload("offer.pdf"))
    return services.attachment_upload(
        actor=as_alice, record=ann, file=upload("offer.pdf", PDF + b"%v2\n")
    ).attachment


def test_upload_then_read_download_and_delete(alice_client, alice, ann, media):
    created = send(alice_client, ann, upload("offer.pdf"))

    assert created.status_code == 201, created.content
    body = created.json()
    assert created["Location"] == f"{API}/attachments/{body['id']}"
    assert {
        key: body[key]
        for key in ("object_type", "object_id", "name", "version_count", "content_type")
    } == {
        "object_type": "contacts.contact",
        "object_id": str(ann.pk),
        "name": "offer.pdf",
        "version_count": 1,
        "content_type": "application/pdf",
    }
    assert (body["size"], body["updated_by"]) == (len(PDF), alice.pk)
    assert [version["number"] for version in body["versions"]] == [1]

    again = send(alice_client, ann, upload("scan.pdf", PDF + b"%v2\n"), name="offer.pdf")
    assert again.json()["version_count"] == 2
    detail = alice_client.get(created["Location"]).json()
    assert [version["number"] for version in detail["versions"]] == [2, 1]

    latest = alice_client.get(detail["download_url"])
    first = alice_client.get(detail["versions"][1]["download_url"])
    assert b"".join(latest.streaming_content) == PDF + b"%v2\n"
    assert b"".join(first.streaming_content) == PDF
    assert latest["Content-Disposition"] == 'attachment; filename="offer.pdf"'
    assert latest["X-Content-Type-Options"] == "nosniff"

    assert alice_client.delete(created["Location"]).status_code == 204
    assert not Attachment.objects.exists()
    assert_problem(alice_client.get(created["Location"]), 404)


def test_list_pages_a_records_attachments_newest_first(
    alice_client, as_alice, ann, django_assert_max_num_queries
):
    for name in ("a.pdf", "b.pdf", "c.pdf"):
        services.attachment_upload(actor=as_alice, record=ann, file=upload(name))
    query = {"object_type": "contacts.contact", "object_id": ann.pk, "limit": 2}

    with django_assert_max_num_queries(7):
        first = alice_client.get(f"{API}/attachments", query)
    second = alice_client.get(f"{API}/attachments", query | {"cursor": first.json()["next_cursor"]})

    assert [item["name"] for item in first.json()["items"]] == ["c.pdf", "b.pdf"]
    assert 'rel="next"' in first["Link"]
    assert [item["name"] for item in second.json()["items"]] == ["a.pdf"]
    assert second.json()["next_cursor"] is None


def test_refused_files_answer_422_naming_the_file_field(alice_client, ann, media, settings):
    settings.ATTACHMENT_MAX_BYTES = 10

    too_large = assert_problem(send(alice_client, ann, upload("offer.pdf")), 422)
    settings.ATTACHMENT_MAX_BYTES = 10_000
    wrong_type = assert_problem(send(alice_client, ann, upload("invoice.pdf", EXE)), 422)
    no_file = assert_problem(
        alice_client.post(
            f"{API}/attachments", {"object_type": "contacts.contact", "object_id": ann.pk}
        ),
        422,
    )

    assert too_large["errors"][0]["field"] == "file"
    assert "too large" in too_large["errors"][0]["message"]
    assert "application/x-msdownload" in wrong_type["errors"][0]["message"]
    assert [error["field"] for error in no_file["errors"]] == ["file"]
    assert not Attachment.objects.exists()
    assert stored_files(media) == []


def test_unknown_record_types_and_ids_are_not_found(alice_client, ann):
    for object_type, object_id in (
        ("contacts.nothing", "1"),
        ("accounts.user", "1"),
        ("contacts.contact", "999999"),
        ("contacts.contact", "not-a-number"),
    ):
        query = {"object_type": object_type, "object_id": object_id}
        assert_problem(alice_client.get(f"{API}/attachments", query), 404)
        assert_problem(alice_client.post(f"{API}/attachments", query | {"file": upload()}), 404)


def test_a_record_the_caller_cannot_see_is_404_everywhere(charlie_client, ann, offer):
    query = {"object_type": "contacts.contact", "object_id": ann.pk}

    assert_problem(charlie_client.get(f"{API}/attachments", query), 404)
    assert_problem(send(charlie_client, ann, upload()), 404)
    for path in ("", "/download", "/versions/1/download"):
        assert_problem(charlie_client.get(f"{API}/attachments/{offer.pk}{path}"), 404)
    assert_problem(charlie_client.delete(f"{API}/attachments/{offer.pk}"), 404)
    assert Attachment.objects.get().version_count == 2


def test_a_teammate_may_read_but_not_upload_or_delete(bob_client, ann, offer):
    query = {"object_type": "contacts.contact", "object_id": ann.pk}

    assert [item["name"] for item in bob_client.get(f"{API}/attachments", query).json()["items"]]
    assert bob_client.get(f"{API}/attachments/{offer.pk}/download").status_code == 200
    assert_problem(send(bob_client, ann, upload("x.pdf")), 403)
    assert_problem(bob_client.delete(f"{API}/attachments/{offer.pk}"), 403)
    assert Attachment.objects.count() == 1


def test_a_session_needs_the_csrf_header_to_write(alice, ann, offer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    assert_problem(send(client, ann, upload("x.pdf")), 403)
    assert_problem(client.delete(f"{API}/attachments/{offer.pk}"), 403)
    assert Attachment.objects.count() == 1


def test_the_api_needs_authentication(ann, offer):
    assert_problem(Client().get(f"{API}/attachments/{offer.pk}/download"), 401)


def test_openapi_documents_the_multipart_upload_and_binary_downloads(alice_client):
    schema = alice_client.get(f"{API}/openapi.json").json()

    upload_body = schema["paths"][f"{API}/attachments"]["post"]["requestBody"]["content"]
    fields = upload_body["multipart/form-data"]["schema"]["properties"]
    assert {"object_type", "object_id", "file", "name"} <= set(fields)
    download = schema["paths"][f"{API}/attachments/{{attachment_id}}/download"]["get"]
    assert "application/octet-stream" in download["responses"]["200"]["content"]
    assert "application/problem+json" in download["responses"]["404"]["content"]
