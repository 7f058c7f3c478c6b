"""POST /contacts/bulk and /companies/bulk: many writes in one call, one result per item."""

from __future__ import annotations

from rapport.contacts import services
from rapport.contacts.models import Company, Contact
from rapport.core.actors import Actor
from rapport.core.models import Source

API = "/api/v1"


def bulk(client, path: str, body: dict):
    return client.post(f"{API}{path}", body, "application/json")


def test_bulk_create_and_update_answer_per_item(alice_client, as_alice, bob):
    mine = services.contact_create(actor=as_alice, values={"first_name": "Ada"})
    bobs = services.contact_create(
        actor=Actor(user=bob, source=Source.UI), values={"first_name": "Bob's"}
    )

    response = bulk(
        alice_client,
        "/contacts/bulk",
        {
            "create": [
                {"first_name": "Grace", "email": "grace@example.com"},
                {"first_name": "Bad", "email": "not-an-email"},
                {"job_title": "Nobody"},
            ],
            "update": [
                {"id": mine.pk, "last_name": "Lovelace", "version": 1},
                {"id": mine.pk, "last_name": "Byron", "version": 1},
                {"id": bobs.pk, "last_name": "Nope"},
                {"id": 999_999, "last_name": "Ghost"},
            ],
        },
    )

    assert response.status_code == 200, response.content
    body = response.json()
    outcomes = [(r["action"], r["index"], r["status"]) for r in body["results"]]
    assert outcomes == [
        ("create", 0, 201),
        ("create", 1, 422),
        ("create", 2, 422),
        ("update", 0, 200),
        ("update", 1, 412),
        ("update", 2, 403),
        ("update", 3, 404),
    ]
    assert (body["succeeded"], body["failed"]) == (2, 5)
    assert body["results"][1]["errors"] == [
        {"field": "email", "message": "Enter a valid email address."}
    ]
    assert body["results"][2]["errors"][0]["field"] is None
    created = Contact.objects.get(pk=body["results"][0]["id"])
    assert (created.email, created.source) == ("grace@example.com", "api")
    mine.refresh_from_db()
    bobs.refresh_from_db()
    assert (mine.last_name, bobs.last_name) == ("Lovelace", "")
    assert not Contact.all_objects.filter(first_name="Bad").exists()


def test_bulk_accepts_1000_items_and_refuses_more(alice_client):
    thousand = [{"name": f"Company {number}"} for number in range(1000)]

    accepted = bulk(alice_client, "/companies/bulk", {"create": thousand})
    refused = bulk(
        alice_client,
        "/companies/bulk",
        {"create": thousand[:600], "update": [{"id": 1, "name": "x"}] * 401},
    )

    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["succeeded"] == 1000
    assert refused.status_code == 422
    assert Company.objects.count() == 1000


def test_bulk_over_the_limit_in_one_list_names_it(alice_client):
    response = bulk(alice_client, "/contacts/bulk", {"create": [{"first_name": "x"}] * 1001})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "create"
    assert not Contact.objects.exists()


def test_bulk_needs_items(alice_client):
    assert bulk(alice_client, "/contacts/bulk", {}).status_code == 422
