"""/activities through HTTP: list by record and kind, create with links, read with its
ETag, update with If-Match, delete; problems for bad input; 404 for what is hidden."""

from __future__ import annotations

import pytest
from django.test import Client

from rapport.activities.models import Activity
from rapport.activities.tests.factories import ago, log_call, log_note

pytestmark = pytest.mark.django_db

API = "/api/v1"


@pytest.fixture
def charlie_client(charlie) -> Client:
    client = Client()
    client.force_login(charlie)
    return client


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    return response.json()


def error_fields(body: dict) -> set[str | None]:
    return {error["field"] for error in body["errors"]}


def post(client: Client, body: dict):
    return client.post(f"{API}/activities", body, "application/json")


def patch(client: Client, pk: int, body: dict, **headers):
    return client.patch(f"{API}/activities/{pk}", body, "application/json", headers=headers)


def link(record) -> dict:
    return {"object_type": record._meta.label_lower, "object_id": record.pk}


def test_create_and_read_a_meeting(alice_client, alice, bob, ann, acme):
    response = post(
        alice_client,
        {
            "kind": "meeting",
            "subject": "Kick-off",
            "starts_at": "2026-06-01T09:00:00",
            "ends_at": "2026-06-01T12:30:00+02:00",
            "location": "Berlin",
            "links": [link(acme)],
            "attendee_users": [bob.pk],
            "attendee_contacts": [ann.pk],
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert response["ETag"] == 'W/"1"'
    assert response["Location"] == f"{API}/activities/{body['id']}"
    # No offset: read on Alice's clock (UTC).
    assert body["starts_at"] == body["occurred_at"] == "2026-06-01T09:00:00Z"
    assert body["ends_at"] == "2026-06-01T10:30:00Z"
    assert sorted(item["object_type"] for item in body["links"]) == [
        "contacts.company",
        "contacts.contact",
    ]
    assert (body["attendee_users"], body["attendee_contacts"]) == ([bob.pk], [ann.pk])
    assert body["owner"] == alice.pk

    again = alice_client.get(f"{API}/activities/{body['id']}", headers={"If-None-Match": 'W/"1"'})
    assert again.status_code == 304


def test_list_by_record_and_kind_newest_first(alice_client, as_alice, ann, acme):
    older = log_note(as_alice, ann, "older", occurred_at=ago(days=2))
    newer = log_call(as_alice, ann, occurred_at=ago(days=1))
    log_note(as_alice, acme, "elsewhere")

    everything = alice_client.get(
        f"{API}/activities?object_type=contacts.contact&object_id={ann.pk}"
    ).json()
    calls = alice_client.get(
        f"{API}/activities?object_type=contacts.contact&object_id={ann.pk}&kind=call"
    ).json()

    assert [item["id"] for item in everything["items"]] == [newer.pk, older.pk]
    assert [item["id"] for item in calls["items"]] == [newer.pk]


def test_the_list_pages_with_a_cursor(alice_client, as_alice, ann):
    for day in range(3):
        log_note(as_alice, ann, f"day {day}", occurred_at=ago(days=day))

    first = alice_client.get(f"{API}/activities?limit=2")
    second = alice_client.get(f"{API}/activities?limit=2&cursor={first.json()['next_cursor']}")

    assert 'rel="next"' in first["Link"]
    assert [item["body"] for item in first.json()["items"] + second.json()["items"]] == [
        "day 0",
        "day 1",
        "day 2",
    ]
    assert_problem(alice_client.get(f"{API}/activities?cursor=nope"), 400)


def test_the_list_costs_the_same_queries_for_more_rows(
    alice_client, as_alice, ann, django_assert_max_num_queries
):
    for number in range(30):
        log_note(as_alice, ann, f"note {number}")

    # 9 with the rate limit's counter.
    with django_assert_max_num_queries(9):
        response = alice_client.get(f"{API}/activities?limit=30")

    assert len(response.json()["items"]) == 30


def test_update_honours_if_match_and_replaces_links(alice_client, as_alice, ann, acme):
    note = log_note(as_alice, ann)

    response = patch(
        alice_client, note.pk, {"body": "Edited", "links": [link(acme)]}, **{"If-Match": 'W/"1"'}
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["body"] == "Edited"
    assert body["links"] == [link(acme)]
    assert response["ETag"] == f'W/"{body["version"]}"'
    stale = patch(alice_client, note.pk, {"body": "Late"}, **{"If-Match": 'W/"1"'})
    assert assert_problem(stale, 412)["current_version"] == body["version"]


def test_delete_moves_to_the_trash(alice_client, as_alice, ann):
    note = log_note(as_alice, ann)

    assert alice_client.delete(f"{API}/activities/{note.pk}").status_code == 204
    assert Activity.all_objects.get(pk=note.pk).is_deleted
    assert_problem(alice_client.get(f"{API}/activities/{note.pk}"), 404)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"kind": "call", "links": []}, {"links", "direction"}),
        ({"kind": "dance", "links": []}, {"kind"}),
        (
            {"kind": "note", "body": "x", "links": [{"object_type": "contacts.contact"}]},
            {"links.0.object_id"},
        ),
        (
            {
                "kind": "meeting",
                "starts_at": "2026-06-01T10:00:00Z",
                "ends_at": "2026-06-01T09:00:00Z",
                "links": [{"object_type": "contacts.contact", "object_id": 404}],
            },
            {"ends_at", "links.0"},
        ),
        (
            {
                "kind": "note",
                "body": "x",
                "owner": 10**20,
                "links": [{"object_type": "x", "object_id": 0}],
            },
            {"owner", "links.0.object_id"},
        ),
        (
            {"kind": "note", "body": "x", "duration_seconds": -1, "links": []},
            {"duration_seconds", "links"},
        ),
        (
            {"kind": "note", "body": "x", "attendee_users": [1], "links": []},
            {"attendee_users", "links"},
        ),
    ],
)
def test_bad_input_is_a_validation_problem_and_writes_nothing(alice_client, body, fields):
    problem = assert_problem(post(alice_client, body), 422)

    assert error_fields(problem) >= fields
    assert not Activity.all_objects.exists()


def test_bad_json_is_a_problem(alice_client):
    response = alice_client.post(f"{API}/activities", "{not json", "application/json")

    assert response.status_code in (400, 422)
    assert response["Content-Type"] == "application/problem+json"


def test_linking_a_hidden_record_reads_as_unknown(alice_client, wes):
    problem = assert_problem(
        post(alice_client, {"kind": "note", "body": "x", "links": [link(wes)]}), 422
    )

    assert problem["errors"] == [
        {"field": "links.0", "message": "No such record, or not one you may see."}
    ]


def test_hidden_activities_and_records_are_not_found(charlie_client, as_alice, ann):
    note = log_note(as_alice, ann)

    assert_problem(charlie_client.get(f"{API}/activities/{note.pk}"), 404)
    assert_problem(patch(charlie_client, note.pk, {"body": "x"}), 404)
    assert_problem(charlie_client.delete(f"{API}/activities/{note.pk}"), 404)
    assert_problem(
        charlie_client.get(f"{API}/activities?object_type=contacts.contact&object_id={ann.pk}"),
        404,
    )
    assert charlie_client.get(f"{API}/activities").json()["items"] == []


def test_the_record_filter_needs_a_known_type_and_an_id(alice_client, ann):
    unknown = assert_problem(
        alice_client.get(f"{API}/activities?object_type=sales.unicorn&object_id=1"), 422
    )
    half = assert_problem(alice_client.get(f"{API}/activities?object_type=contacts.contact"), 422)

    assert error_fields(unknown) == {"object_type"}
    assert error_fields(half) == {"object_id"}


def test_a_teammate_reads_but_may_not_change(bob, as_alice, ann):
    note = log_note(as_alice, ann)
    client = Client()
    client.force_login(bob)

    assert client.get(f"{API}/activities/{note.pk}").status_code == 200
    assert_problem(patch(client, note.pk, {"body": "x"}), 403)
    assert Activity.objects.get(pk=note.pk).body == "Spoke about the renewal"
