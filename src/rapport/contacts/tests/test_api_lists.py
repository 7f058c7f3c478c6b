"""/lists, /tags and /custom-fields through HTTP."""

from __future__ import annotations

import pytest
from django.test import Client

from rapport.contacts import services
from rapport.contacts.models import Contact, StaticList, Tag
from rapport.core.actors import Actor
from rapport.core.models import CustomFieldDefinition, Source

API = "/api/v1"


@pytest.fixture
def charlie_client(charlie) -> Client:
    client = Client()
    client.force_login(charlie)
    return client


def send(client: Client, method: str, path: str, body: dict | None = None):
    return getattr(client, method)(f"{API}{path}", body or {}, "application/json")


# Lists


def test_list_lifecycle(alice_client, as_alice):
    ada = services.contact_create(actor=as_alice, values={"first_name": "Ada"})
    grace = services.contact_create(actor=as_alice, values={"first_name": "Grace"})

    created = send(alice_client, "post", "/lists", {"name": "Event", "description": "Invitees"})
    assert created.status_code == 201, created.content
    list_id = created.json()["id"]
    members = f"/lists/{list_id}/members"

    added = send(alice_client, "post", members, {"contact_ids": [ada.pk, grace.pk]})
    again = send(alice_client, "post", members, {"contact_ids": [ada.pk]})
    removed = send(alice_client, "delete", members, {"contact_ids": [grace.pk]})

    assert (added.json(), again.json(), removed.json()) == (
        {"added": 2},
        {"added": 0},
        {"removed": 1},
    )
    detail = alice_client.get(f"{API}/lists/{list_id}").json()
    assert (detail["name"], detail["member_count"]) == ("Event", 1)
    listed = alice_client.get(f"{API}/contacts?list={list_id}").json()
    assert [item["id"] for item in listed["items"]] == [ada.pk]
    renamed = send(alice_client, "patch", f"/lists/{list_id}", {"name": "Gala"})
    assert renamed.json()["name"] == "Gala"
    assert send(alice_client, "delete", f"/lists/{list_id}").status_code == 204
    assert not StaticList.objects.exists()
    assert Contact.objects.count() == 2


def test_list_members_must_be_visible_contacts(alice_client, as_alice, charlie):
    static_list = services.list_create(actor=as_alice, name="Event")
    hidden = services.contact_create(
        actor=Actor(user=charlie, source=Source.UI), values={"first_name": "West"}
    )

    response = send(
        alice_client, "post", f"/lists/{static_list.pk}/members", {"contact_ids": [hidden.pk]}
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "contact_ids"


def test_other_teams_lists_are_404(charlie_client, as_alice):
    static_list = services.list_create(actor=as_alice, name="Event")

    assert charlie_client.get(f"{API}/lists/{static_list.pk}").status_code == 404
    assert charlie_client.get(f"{API}/lists").json()["items"] == []
    assert send(charlie_client, "delete", f"/lists/{static_list.pk}").status_code == 404


# Tags


def test_tags_are_read_by_all_and_written_by_admins(alice_client, admin_client):
    created = send(admin_client, "post", "/tags", {"name": "VIP", "color": "#FF0000"})
    assert created.status_code == 201, created.content
    tag_id = created.json()["id"]

    assert alice_client.get(f"{API}/tags").json()["items"] == [
        {"id": tag_id, "name": "VIP", "color": "#ff0000", "description": ""}
    ]
    assert send(alice_client, "post", "/tags", {"name": "Mine"}).status_code == 403
    assert send(alice_client, "delete", f"/tags/{tag_id}").status_code == 403
    bad = send(admin_client, "patch", f"/tags/{tag_id}", {"color": "red"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "color"
    assert send(admin_client, "delete", f"/tags/{tag_id}").status_code == 204
    assert not Tag.objects.exists()


# Custom fields


def test_custom_fields_define_the_custom_keys(alice_client, admin_client, as_alice):
    created = send(
        admin_client,
        "post",
        "/custom-fields",
        {
            "object_type": "contacts.contact",
            "key": "tier",
            "label": "Tier",
            "field_type": "choice",
            "choices": ["gold", "silver"],
        },
    )
    assert created.status_code == 201, created.content
    field_id = created.json()["id"]

    listed = alice_client.get(f"{API}/custom-fields?object_type=contacts.contact").json()
    assert [(item["key"], item["field_type"]) for item in listed["items"]] == [("tier", "choice")]
    assert (
        alice_client.get(f"{API}/custom-fields?object_type=contacts.company").json()["items"] == []
    )
    contact = send(
        alice_client, "post", "/contacts", {"first_name": "A", "custom": {"tier": "gold"}}
    )
    assert contact.json()["custom"] == {"tier": "gold"}
    refused = send(
        alice_client, "post", "/contacts", {"first_name": "B", "custom": {"tier": "tin"}}
    )
    assert refused.json()["errors"][0]["field"] == "custom.tier"

    relabelled = send(admin_client, "patch", f"/custom-fields/{field_id}", {"label": "Level"})
    assert relabelled.json()["label"] == "Level"
    assert (
        send(alice_client, "patch", f"/custom-fields/{field_id}", {"label": "X"}).status_code == 403
    )
    assert send(admin_client, "delete", f"/custom-fields/{field_id}").status_code == 204
    assert not CustomFieldDefinition.objects.exists()


def test_unknown_object_type_is_a_field_error(admin_client):
    listed = admin_client.get(f"{API}/custom-fields?object_type=accounts.user")
    created = send(
        admin_client,
        "post",
        "/custom-fields",
        {"object_type": "nope.nope", "key": "x", "label": "X", "field_type": "text"},
    )

    assert listed.status_code == 422
    assert created.json()["errors"][0]["field"] == "object_type"
