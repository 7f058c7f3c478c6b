"""Admins create, edit and delete teams; a stale edit is refused whole."""

from __future__ import annotations

import pytest
from django.test import Client

from rapport.accounts.models import Team, User
from rapport.accounts.services import team_update
from rapport.core.actors import Actor
from rapport.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_team_list_shows_manager_and_member_count(
    admin_client: Client, east: Team, alice: User, bob: User, as_admin: Actor
) -> None:
    team_update(east, actor=as_admin, manager=alice)

    html = admin_client.get("/settings/teams/").content.decode()

    assert f'href="/settings/teams/{east.pk}/">East</a>' in html
    assert "Alice" in html
    assert '<td class="num">2</td>' in html


def test_admin_creates_a_team(admin_client: Client, alice: User, bob: User) -> None:
    response = admin_client.post(
        "/settings/teams/new/",
        {
            "name": "North",
            "description": "Nordics",
            "manager": alice.pk,
            "members": [alice.pk, bob.pk],
        },
    )

    assert response.status_code == 302
    north = Team.objects.get(name="North")
    assert north.manager == alice
    assert set(north.members.all()) == {alice, bob}
    assert AuditEntry.objects.filter(object_id=str(north.pk), action="create").exists()


def test_a_team_name_must_be_unique(admin_client: Client, east: Team) -> None:
    response = admin_client.post("/settings/teams/new/", {"name": "east"})

    assert response.status_code == 200
    assert "A team with this name already exists." in response.content.decode()
    assert Team.objects.count() == 1


def test_admin_edits_a_team(admin_client: Client, east: Team, alice: User, charlie: User) -> None:
    page = admin_client.get(f"/settings/teams/{east.pk}/")
    assert page.context["form"].initial["version"] == east.version

    response = admin_client.post(
        f"/settings/teams/{east.pk}/",
        {"name": "East coast", "description": "", "members": [charlie.pk], "version": east.version},
    )

    assert response.status_code == 302
    east.refresh_from_db()
    assert east.name == "East coast"
    assert east.version == 2
    assert list(east.members.all()) == [charlie]


def test_a_stale_edit_is_refused_and_writes_nothing(
    admin_client: Client, east: Team, alice: User, as_admin: Actor
) -> None:
    seen_version = east.version
    team_update(east, actor=as_admin, description="Changed meanwhile")

    response = admin_client.post(
        f"/settings/teams/{east.pk}/",
        {"name": "Mine", "description": "", "members": [], "version": seen_version},
    )

    assert response.status_code == 200
    assert "Someone else changed this team" in response.content.decode()
    east.refresh_from_db()
    assert (east.name, east.description, east.version) == ("East", "Changed meanwhile", 2)
    assert list(east.members.all()) == [alice]


def test_admin_deletes_a_team_after_confirming(
    admin_client: Client, east: Team, alice: User
) -> None:
    confirm = admin_client.get(f"/settings/teams/{east.pk}/delete/")
    assert "Delete the team East?" in confirm.content.decode()
    assert Team.objects.filter(pk=east.pk).exists()

    response = admin_client.post(f"/settings/teams/{east.pk}/delete/", {"version": east.version})

    assert response.status_code == 302
    assert not Team.objects.filter(pk=east.pk).exists()
    assert User.objects.filter(pk=alice.pk).exists()


def test_deleting_a_team_changed_meanwhile_is_refused(
    admin_client: Client, east: Team, as_admin: Actor
) -> None:
    seen_version = east.version
    team_update(east, actor=as_admin, name="East 2")

    response = admin_client.post(f"/settings/teams/{east.pk}/delete/", {"version": seen_version})

    assert response.status_code == 200
    assert "Someone else changed this team" in response.content.decode()
    assert Team.objects.filter(pk=east.pk).exists()
