"""Sharing a record with a user or a team beyond their role's scope: the services, the
permission layer, the record page's panel and the API."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client

from rapport.contacts import services
from rapport.contacts.models import Contact
from rapport.core.models import AuditAction, AuditEntry, RecordShare, ShareAccess
from rapport.core.permissions import can, scope, shared_ids
from rapport.core.sharing import share_record, shares_of, unshare_record
from rapport.notifications.models import Notification

API = "/api/v1"


@pytest.fixture
def charlie_client(charlie) -> Client:
    client = Client()
    client.force_login(charlie)
    return client


@pytest.fixture
def ada(as_alice) -> Contact:
    """Alice's contact: charlie, a sales rep of another team, cannot see it."""
    return services.contact_create(actor=as_alice, values={"first_name": "Ada"})


def shares_url(contact: Contact) -> str:
    return f"{API}/records/contacts.contact/{contact.pk}/shares"


def test_a_read_share_lets_the_user_see_but_not_edit(ada, as_alice, charlie, west):
    assert not can(charlie, "view", ada)
    share_record(ada, actor=as_alice, user=charlie, access=ShareAccess.READ)
    charlie = type(charlie).objects.get(pk=charlie.pk)

    assert list(scope(Contact.objects.all(), charlie)) == [ada]
    assert can(charlie, "view", ada)
    assert not can(charlie, "edit", ada)
    assert not scope(Contact.objects.all(), charlie, "edit").exists()
    # Shares reach view and edit only: deleting follows the role alone.
    assert not can(charlie, "delete", ada)


def test_an_edit_share_with_a_team_lets_its_members_edit(ada, as_alice, charlie, west):
    share_record(ada, actor=as_alice, team=west, access=ShareAccess.EDIT)
    charlie = type(charlie).objects.get(pk=charlie.pk)

    assert can(charlie, "edit", ada)
    assert list(scope(Contact.objects.all(), charlie, "edit")) == [ada]
    updated = services.contact_update(
        ada, actor=type(as_alice)(user=charlie, source=as_alice.source), values={"last_name": "L"}
    )
    assert updated.last_name == "L"


def test_sharing_is_audited_notified_and_undone(ada, as_alice, charlie):
    share = share_record(ada, actor=as_alice, user=charlie, access=ShareAccess.READ)
    share_record(ada, actor=as_alice, user=charlie, access=ShareAccess.EDIT)
    assert shares_of(ada).get().access == ShareAccess.EDIT

    unshare_record(share, actor=as_alice)

    entries = AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Contact), object_id=str(ada.pk)
    ).order_by("id")
    assert [entry.action for entry in entries] == [
        AuditAction.CREATE,
        AuditAction.SHARE,
        AuditAction.SHARE,
        AuditAction.UNSHARE,
    ]
    assert entries[1].changes == {"shared_with": [None, "Charlie (Can view)"]}
    assert entries[3].changes == {"shared_with": ["Charlie (Can view and edit)", None]}
    assert Notification.objects.filter(recipient=charlie, kind="record.shared").count() == 2
    assert not RecordShare.objects.exists()


def test_sharing_needs_the_right_to_edit_and_one_user_or_team(ada, as_alice, bob, charlie, west):
    from rapport.core.actors import Actor
    from rapport.core.models import Source

    # Bob, alice's teammate, sees her records but edits only his own.
    with pytest.raises(PermissionDenied):
        share_record(ada, actor=Actor(user=bob, source=Source.UI), user=charlie)
    with pytest.raises(ValidationError) as error:
        share_record(ada, actor=as_alice, user=charlie, team=west)
    assert "user" in error.value.message_dict
    with pytest.raises(ValidationError):
        share_record(ada, actor=as_alice)
    assert not RecordShare.objects.exists()


def test_the_api_lists_adds_and_removes_shares(ada, alice_client, charlie, charlie_client):
    assert charlie_client.get(f"{API}/contacts/{ada.pk}").status_code == 404
    assert charlie_client.get(shares_url(ada)).status_code == 404

    response = alice_client.post(
        shares_url(ada), {"user": charlie.pk, "access": "edit"}, "application/json"
    )
    assert response.status_code == 201, response.content
    share = response.json()
    assert share["user"] == charlie.pk and share["team"] is None and share["access"] == "edit"

    assert charlie_client.get(f"{API}/contacts/{ada.pk}").status_code == 200
    assert [s["id"] for s in charlie_client.get(shares_url(ada)).json()] == [share["id"]]
    # The contact list shows what is shared with charlie, nothing more.
    listed = charlie_client.get(f"{API}/contacts").json()["items"]
    assert [item["id"] for item in listed] == [ada.pk]

    assert alice_client.delete(f"{shares_url(ada)}/{share['id']}").status_code == 204
    assert charlie_client.get(f"{API}/contacts/{ada.pk}").status_code == 404


def test_the_api_refuses_bad_shares(ada, alice_client, bob_client_factory):
    response = alice_client.post(shares_url(ada), {"user": 999_999}, "application/json")
    assert response.status_code == 422
    assert {error["field"] for error in response.json()["errors"]} == {"user"}
    response = alice_client.post(shares_url(ada), {}, "application/json")
    assert response.status_code == 422
    assert (
        alice_client.post(
            f"{API}/records/nope.nope/1/shares", {"user": 1}, "application/json"
        ).status_code
        == 404
    )
    assert not RecordShare.objects.exists()


@pytest.fixture
def bob_client_factory(bob) -> Client:
    client = Client()
    client.force_login(bob)
    return client


def test_the_record_page_shows_shares_and_adds_them_through_htmx(
    ada, alice_client, charlie, bob_client_factory
):
    page = alice_client.get(f"/contacts/{ada.pk}/").content.decode()
    assert 'id="shares-panel"' in page and "Not shared" in page

    response = alice_client.post(
        f"/records/contacts.contact/{ada.pk}/shares/",
        {"user": charlie.pk, "access": "read"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "Charlie" in response.content.decode()
    share = RecordShare.objects.get()

    # Bob may see the contact but not edit it: no form, and a post is refused.
    page = bob_client_factory.get(f"/contacts/{ada.pk}/").content.decode()
    assert "Charlie" in page and "/shares/" not in page.split('id="shares-panel"', 1)[1]
    refused = bob_client_factory.post(
        f"/records/contacts.contact/{ada.pk}/shares/{share.pk}/remove/",
        headers={"HX-Request": "true"},
    )
    assert refused.status_code == 403
    assert RecordShare.objects.exists()

    alice_client.post(
        f"/records/contacts.contact/{ada.pk}/shares/{share.pk}/remove/",
        headers={"HX-Request": "true"},
    )
    assert not RecordShare.objects.exists()


def test_the_share_subquery_reads_an_index(charlie, west):
    subquery = shared_ids(charlie, Contact, "view")
    sql, params = subquery.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " ".join(str(row) for row in cursor.fetchall())
    if connection.vendor == "postgresql":
        # The planner picks among the share indexes by their statistics.
        assert "Index Scan on share_" in plan and "Seq Scan" not in plan
    else:
        assert "share_user_idx" in plan and "share_team_idx" in plan


def test_the_contact_list_costs_the_same_however_many_records_are_shared(
    as_alice, charlie, charlie_client
):
    from django.test.utils import CaptureQueriesContext

    contacts = [
        services.contact_create(actor=as_alice, values={"first_name": f"P{n}"}) for n in range(6)
    ]
    share_record(contacts[0], actor=as_alice, user=charlie)
    with CaptureQueriesContext(connection) as one:
        charlie_client.get("/contacts/")
    for contact in contacts[1:]:
        share_record(contact, actor=as_alice, user=charlie)
    with CaptureQueriesContext(connection) as six:
        response = charlie_client.get("/contacts/")
    assert len(six) == len(one)
    assert all(f"P{n}" in response.content.decode() for n in range(6))


def test_search_finds_records_shared_with_the_user(ada, as_alice, charlie, charlie_client):
    def found() -> list[int]:
        groups = charlie_client.get(f"{API}/search", {"q": "Ada"}).json()["groups"]
        return [hit["id"] for group in groups for hit in group["hits"]]

    assert found() == []
    share_record(ada, actor=as_alice, user=charlie)
    assert found() == [ada.pk]
