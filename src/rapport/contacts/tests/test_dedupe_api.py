"""/api/v1/duplicates through HTTP: the queue, dismissing, starting a scan and the merge
of every sure pair; who may; bad input."""

from __future__ import annotations

import pytest
from django.test import Client

from rapport.conftest import make_user
from rapport.contacts import dedupe
from rapport.contacts.models import Contact, DuplicateCandidate, DuplicateStatus
from rapport.contacts.tests.dedupe_data import person
from rapport.core.actors import Actor
from rapport.core.models import AuditEntry, Job, JobStatus, Source

pytestmark = pytest.mark.django_db

API = "/api/v1"
CONTACTS = "contacts.contact"


def send(client: Client, method: str, path: str, body: dict | None = None):
    return getattr(client, method)(f"{API}{path}", body or {}, "application/json")


@pytest.fixture
def pairs(as_alice, bob) -> list[DuplicateCandidate]:
    """Three pairs of Alice's (sure, high and medium: 97, 90 and 71), and one with a record
    of Bob's."""
    as_bob = Actor(user=bob, source=Source.UI)
    person(as_alice, "Ada", "Lovelace", email="ada@example.com", job_title="Analyst")
    person(as_alice, "Ada", "Lovelase", email="ada@example.com")
    person(as_alice, "Grace", "Hopper", phone="+12025550199")
    person(as_alice, "Grace", "Hoper", phone="+12025550199")
    person(as_alice, "Alan", "Turing", city="Wilmslow")
    person(as_alice, "Alan", "Turnig", city="Wilmslow")
    person(as_alice, "Tim", "Berners-Lee", email="tim@w3.example")
    person(as_bob, "Tim", "Berners Lee", email="tim@w3.example")
    dedupe.scan(CONTACTS)
    return list(DuplicateCandidate.objects.order_by("-confidence", "-id"))


def mine(pairs: list[DuplicateCandidate], alice) -> list[DuplicateCandidate]:
    alices = set(Contact.objects.filter(owner=alice).values_list("pk", flat=True))
    return [pair for pair in pairs if {pair.low_id, pair.high_id} <= alices]


def test_the_queue_of_the_pairs_one_may_merge(alice_client, alice, pairs):
    response = alice_client.get(f"{API}/duplicates")

    assert response.status_code == 200
    items = response.json()["items"]
    expected = mine(pairs, alice)
    assert [item["id"] for item in items] == [pair.pk for pair in expected]
    first = items[0]
    assert first["object_type"] == CONTACTS
    assert first["record_ids"] == [expected[0].low_id, expected[0].high_id]
    assert (first["confidence"], first["reasons"]) == (97, ["same_email", "similar_name"])
    assert first["status"] == "open"
    assert first["merge_url"] == (
        f"/contacts/merge/?a={expected[0].low_id}&b={expected[0].high_id}"
    )
    assert [item["confidence"] for item in items] == [97, 90, 71]


def test_the_queue_sorts_filters_and_pages(alice_client, pairs):
    ascending = alice_client.get(f"{API}/duplicates", {"sort": "confidence"}).json()
    high = alice_client.get(f"{API}/duplicates", {"min_confidence": 90}).json()
    first = alice_client.get(f"{API}/duplicates", {"limit": 2})
    second = alice_client.get(
        f"{API}/duplicates", {"limit": 2, "cursor": first.json()["next_cursor"]}
    )

    assert [item["confidence"] for item in ascending["items"]] == [71, 90, 97]
    assert [item["confidence"] for item in high["items"]] == [97, 90]
    assert 'rel="next"' in first["Link"]
    assert [item["confidence"] for item in second.json()["items"]] == [71]
    assert second.json()["next_cursor"] is None


def test_the_queue_reads_a_fixed_number_of_queries(admin_client, pairs, django_assert_num_queries):
    # Session, user and role, then the page of pairs.
    with django_assert_num_queries(5):
        assert len(admin_client.get(f"{API}/duplicates").json()["items"]) == 4


def test_dismiss(alice_client, alice, pairs):
    pair = mine(pairs, alice)[0]

    response = send(alice_client, "post", f"/duplicates/{pair.pk}/dismiss")

    assert response.status_code == 200
    assert response.json()["status"] == "dismissed"
    pair.refresh_from_db()
    assert (pair.status, pair.decided_by) == (DuplicateStatus.DISMISSED, alice)
    listed = alice_client.get(f"{API}/duplicates").json()["items"]
    assert pair.pk not in [item["id"] for item in listed]
    # Gone from the queue: dismissing again finds nothing.
    assert send(alice_client, "post", f"/duplicates/{pair.pk}/dismiss").status_code == 404


def test_dismiss_of_an_unknown_pair_or_one_outside_ones_scope_is_not_found(
    alice_client, alice, pairs
):
    shared = next(pair for pair in pairs if pair not in mine(pairs, alice))

    for pk in (shared.pk, 999_999):
        response = send(alice_client, "post", f"/duplicates/{pk}/dismiss")
        assert response.status_code == 404
        assert response["Content-Type"] == "application/problem+json"
    shared.refresh_from_db()
    assert shared.status == DuplicateStatus.OPEN


def test_start_a_scan(alice_client, alice, pairs, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = send(alice_client, "post", "/duplicates/scan", {"object_type": CONTACTS})

    assert response.status_code == 202
    job = Job.objects.get(pk=response.json()["job"])
    assert (job.owner, job.kind, job.status) == (alice, dedupe.SCAN_JOB, JobStatus.SUCCEEDED)
    assert DuplicateCandidate.objects.count() == len(pairs)


def test_merge_every_sure_pair(alice_client, alice, pairs, django_capture_on_commit_callbacks):
    body = {"object_type": CONTACTS, "min_confidence": 95}
    with django_capture_on_commit_callbacks(execute=True):
        response = send(alice_client, "post", "/duplicates/merge-sure", body)

    assert response.status_code == 202
    job = Job.objects.get(pk=response.json()["job"])
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert job.result["merged"] == 1
    statuses = dict(DuplicateCandidate.objects.values_list("confidence", "status"))
    assert statuses == {97: "merged", 90: "open", 71: "open", 100: "open"}
    assert AuditEntry.objects.get(action="merge").source == Source.API


def test_bad_input_is_a_problem(alice_client, pairs):
    checks = [
        (alice_client.get(f"{API}/duplicates", {"object_type": "accounts.user"}), 422),
        (alice_client.get(f"{API}/duplicates", {"sort": "name"}), 422),
        (alice_client.get(f"{API}/duplicates", {"min_confidence": 101}), 422),
        (alice_client.get(f"{API}/duplicates", {"cursor": "forged"}), 400),
        (send(alice_client, "post", "/duplicates/scan", {"object_type": "x"}), 422),
        (send(alice_client, "post", "/duplicates/scan", {}), 422),
        (
            send(
                alice_client,
                "post",
                "/duplicates/merge-sure",
                {"object_type": CONTACTS, "min_confidence": 50},
            ),
            422,
        ),
        (send(alice_client, "post", "/duplicates/abc/dismiss"), 404),
    ]

    assert [response.status_code for response, _expected in checks] == [
        expected for _response, expected in checks
    ]
    assert all(
        response["Content-Type"] == "application/problem+json" for response, _expected in checks
    )
    assert not Job.objects.exists()


def test_without_merge_rights_the_queue_and_jobs_are_forbidden(pairs):
    client = Client()
    client.force_login(make_user("mia@example.com", role_slug="marketer"))

    assert client.get(f"{API}/duplicates").status_code == 403
    assert send(client, "post", "/duplicates/scan", {"object_type": CONTACTS}).status_code == 403
    merge = send(client, "post", "/duplicates/merge-sure", {"object_type": CONTACTS})
    assert merge.status_code == 403
    assert send(client, "post", f"/duplicates/{pairs[0].pk}/dismiss").status_code == 404
    assert not Job.objects.exists()


def test_anonymous_callers_are_unauthenticated(client, pairs):
    assert client.get(f"{API}/duplicates").status_code == 401


def test_the_endpoints_are_described_in_openapi(admin_client):
    schema = admin_client.get(f"{API}/openapi.json").json()

    assert {
        "/api/v1/duplicates",
        "/api/v1/duplicates/{candidate_id}/dismiss",
        "/api/v1/duplicates/scan",
        "/api/v1/duplicates/merge-sure",
    } <= set(schema["paths"])
    listed = schema["paths"]["/api/v1/duplicates"]["get"]
    assert {"object_type", "sort", "min_confidence", "cursor", "limit"} <= {
        parameter["name"] for parameter in listed["parameters"]
    }
