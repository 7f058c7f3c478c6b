"""The tags admin page and the static list pages through HTTP."""

from __future__ import annotations

import pytest
from django.test import Client

from rapport.contacts import services
from rapport.contacts.models import Contact, StaticList, Tag
from rapport.core.actors import Actor
from rapport.core.models import Source

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def body(response) -> str:
    return response.content.decode()


# Tags ----------------------------------------------------------------------------------


def test_admins_create_edit_and_delete_tags(admin_client):
    created = admin_client.post(
        "/settings/tags/new/", {"name": "VIP", "color": "#D97706", "description": "Top buyers"}
    )
    tag = Tag.objects.get()
    assert created.status_code == 302
    assert (tag.name, tag.color) == ("VIP", "#d97706")
    assert "VIP" in body(admin_client.get("/settings/tags/"))

    admin_client.post(f"/settings/tags/{tag.pk}/", {"name": "Key", "color": "#2450c7"})
    tag.refresh_from_db()
    assert (tag.name, tag.color, tag.description) == ("Key", "#2450c7", "")

    assert "Delete the tag" in body(admin_client.get(f"/settings/tags/{tag.pk}/delete/"))
    admin_client.post(f"/settings/tags/{tag.pk}/delete/")
    assert not Tag.objects.exists()


def test_a_tag_needs_a_unique_name_and_a_colour(admin_client, as_admin):
    services.tag_create(actor=as_admin, name="VIP")

    taken = body(admin_client.post("/settings/tags/new/", {"name": "vip", "color": "#000000"}))
    bad_colour = body(admin_client.post("/settings/tags/new/", {"name": "New", "color": "red"}))

    assert "A tag with this name already exists." in taken
    assert "Choose a colour such as #3366cc." in bad_colour
    assert Tag.objects.count() == 1


def test_tags_are_for_admins_only(alice_client, as_admin):
    tag = services.tag_create(actor=as_admin, name="VIP")

    for url in ("/settings/tags/", "/settings/tags/new/", f"/settings/tags/{tag.pk}/"):
        assert alice_client.get(url).status_code == 403
    assert alice_client.post(f"/settings/tags/{tag.pk}/delete/").status_code == 403
    assert Tag.objects.filter(pk=tag.pk).exists()


def test_the_settings_menu_offers_tags_to_admins_only(admin_client, alice_client):
    assert 'href="/settings/tags/"' in body(admin_client.get("/"))
    assert 'href="/settings/tags/"' not in body(alice_client.get("/"))
    assert 'href="/contacts/"' in body(alice_client.get("/"))
    assert 'href="/companies/"' in body(alice_client.get("/"))


# Static lists --------------------------------------------------------------------------


@pytest.fixture
def members(as_alice) -> list[Contact]:
    return [
        services.contact_create(actor=as_alice, values={"first_name": name, "last_name": "Lee"})
        for name in ("Ann", "Ben")
    ]


@pytest.fixture
def invitees(as_alice, members) -> StaticList:
    static_list = services.list_create(actor=as_alice, name="Invitees", description="Gala 2026")
    services.list_add(static_list, members, actor=as_alice)
    return static_list


def test_create_a_list(alice_client, alice):
    response = alice_client.post("/lists/new/", {"name": "Newsletter", "description": ""})

    static_list = StaticList.objects.get()
    assert response["Location"] == f"/lists/{static_list.pk}/"
    assert (static_list.name, static_list.owner) == ("Newsletter", alice)


def test_a_list_needs_a_name(alice_client):
    response = alice_client.post("/lists/new/", {"name": "", "description": "x"})

    assert response.status_code == 200
    assert not StaticList.objects.exists()


def test_the_lists_page_counts_members(alice_client, invitees):
    html = body(alice_client.get("/lists/"))

    assert "Invitees" in html and "Gala 2026" in html
    assert '<td class="num">2</td>' in html


def test_the_list_page_shows_members_and_removes_one(alice_client, invitees, members):
    html = body(alice_client.get(f"/lists/{invitees.pk}/"))
    assert "Ann Lee" in html and "Ben Lee" in html

    alice_client.post(f"/lists/{invitees.pk}/members/{members[0].pk}/remove/")

    assert list(invitees.members.all()) == [members[1]]
    assert Contact.objects.filter(pk=members[0].pk).exists()


def test_rename_and_delete_a_list(alice_client, invitees, members):
    alice_client.post(f"/lists/{invitees.pk}/edit/", {"name": "VIP gala", "description": ""})
    invitees.refresh_from_db()
    assert invitees.name == "VIP gala"

    alice_client.post(f"/lists/{invitees.pk}/delete/")

    assert not StaticList.objects.exists()
    assert Contact.objects.count() == 2


def test_another_teams_list_does_not_exist_for_a_rep(charlie, invitees, members):
    client = client_for(charlie)

    assert "Invitees" not in body(client.get("/lists/"))
    assert client.get(f"/lists/{invitees.pk}/").status_code == 404
    assert client.post(f"/lists/{invitees.pk}/delete/").status_code == 404
    remove = client.post(f"/lists/{invitees.pk}/members/{members[0].pk}/remove/")
    assert remove.status_code == 404
    assert invitees.members.count() == 2


def test_a_teammate_sees_a_list_but_may_not_change_it(bob, invitees, members):
    client = client_for(bob)

    html = body(client.get(f"/lists/{invitees.pk}/"))
    assert "Ann Lee" in html and "Remove" not in html
    assert client.post(f"/lists/{invitees.pk}/members/{members[0].pk}/remove/").status_code == 403
    assert invitees.members.count() == 2


def test_list_members_hide_contacts_of_other_teams(alice_client, charlie, invitees):
    west = services.contact_create(
        actor=Actor(user=charlie, source=Source.UI), values={"first_name": "Wes"}
    )
    invitees.memberships.create(contact=west)

    assert "Wes" not in body(alice_client.get(f"/lists/{invitees.pk}/"))


def test_the_contact_page_shows_its_lists(alice_client, invitees, members):
    html = body(alice_client.get(f"/contacts/{members[0].pk}/"))

    assert f'href="/lists/{invitees.pk}/"' in html
