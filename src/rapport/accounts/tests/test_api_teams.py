"""/teams through HTTP: reads for everyone, writes for admins, ETag and If-Match."""

from __future__ import annotations

import pytest

from rapport.accounts.models import Team
from rapport.core.models import AuditEntry

API = "/api/v1"


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    return response.json()


# Reads


def test_any_signed_in_user_reads_teams(alice_client, east, west, alice):
    listing = alice_client.get(f"{API}/teams").json()
    detail = alice_client.get(f"{API}/teams/{east.pk}").json()

    assert [item["name"] for item in listing["items"]] == ["East", "West"]
    assert (detail["name"], detail["members"], detail["version"]) == ("East", [alice.pk], 1)


def test_unknown_team_is_404(alice_client):
    assert_problem(alice_client.get(f"{API}/teams/999999"), 404)


def test_team_list_query_count_does_not_grow_with_rows(
    alice_client, alice, bob, django_assert_max_num_queries
):
    teams = Team.objects.bulk_create(Team(name=f"Team {number:02}") for number in range(30))
    for team in teams:
        team.members.set([alice, bob])

    with django_assert_max_num_queries(5):
        response = alice_client.get(f"{API}/teams?limit=25")

    assert len(response.json()["items"]) == 25


def test_etag_and_if_none_match(alice_client, east):
    first = alice_client.get(f"{API}/teams/{east.pk}")

    assert first["ETag"] == 'W/"1"'
    again = alice_client.get(f"{API}/teams/{east.pk}", headers={"If-None-Match": first["ETag"]})
    assert (again.status_code, again.content, again["ETag"]) == (304, b"", 'W/"1"')

    Team.objects.filter(pk=east.pk).update(version=2)
    changed = alice_client.get(f"{API}/teams/{east.pk}", headers={"If-None-Match": 'W/"1"'})
    assert (changed.status_code, changed["ETag"]) == (200, 'W/"2"')


# Writes


def test_create_team(admin_client, admin, alice, bob):
    response = admin_client.post(
        f"{API}/teams",
        {"name": " North ", "manager": alice.pk, "members": [alice.pk, bob.pk]},
        "application/json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["manager"], sorted(body["members"]), body["version"]) == (
        "North",
        alice.pk,
        sorted([alice.pk, bob.pk]),
        1,
    )
    assert response["ETag"] == 'W/"1"'
    assert response["Location"] == f"{API}/teams/{body['id']}"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "east"}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "North", "members": [999999]}, "members"),
        ({"name": "North", "manager": 999999}, "manager"),
        ({}, "name"),
    ],
)
def test_create_team_with_bad_input_writes_nothing(admin_client, east, payload, field):
    before = (Team.objects.count(), AuditEntry.objects.count())

    body = assert_problem(admin_client.post(f"{API}/teams", payload, "application/json"), 422)

    assert [error["field"] for error in body["errors"]] == [field]
    assert (Team.objects.count(), AuditEntry.objects.count()) == before


def test_non_admins_may_not_write_teams(alice_client, east):
    assert_problem(alice_client.post(f"{API}/teams", {"name": "N"}, "application/json"), 403)
    assert_problem(
        alice_client.patch(f"{API}/teams/{east.pk}", {"name": "Z"}, "application/json"), 403
    )
    assert_problem(alice_client.delete(f"{API}/teams/{east.pk}"), 403)

    east.refresh_from_db()
    assert (east.name, Team.objects.filter(name="N").exists()) == ("East", False)


def test_update_with_current_if_match_bumps_the_version(admin_client, east, bob):
    response = admin_client.patch(
        f"{API}/teams/{east.pk}",
        {"name": "Eastern", "members": [bob.pk]},
        "application/json",
        headers={"If-Match": 'W/"1"'},
    )

    assert response.status_code == 200, response.content
    assert (response.json()["version"], response.json()["members"]) == (2, [bob.pk])
    assert response["ETag"] == 'W/"2"'
    east.refresh_from_db()
    assert (east.name, east.version) == ("Eastern", 2)


def test_update_with_stale_if_match_is_412_and_changes_nothing(admin_client, east):
    admin_client.patch(f"{API}/teams/{east.pk}", {"description": "v2"}, "application/json")

    response = admin_client.patch(
        f"{API}/teams/{east.pk}",
        {"name": "Eastern"},
        "application/json",
        headers={"If-Match": 'W/"1"'},
    )

    body = assert_problem(response, 412)
    assert (body["type"], body["current_version"]) == (
        "https://rapport.dev/problems/version-conflict",
        2,
    )
    assert response["ETag"] == 'W/"2"'
    east.refresh_from_db()
    assert (east.name, east.version) == ("East", 2)


def test_update_without_if_match_is_allowed(admin_client, east):
    response = admin_client.patch(f"{API}/teams/{east.pk}", {"name": "E"}, "application/json")

    assert (response.status_code, response.json()["version"]) == (200, 2)


@pytest.mark.parametrize("header", ["1", "W/1", '"one"', 'W/"1", W/"2"'])
def test_malformed_if_match_is_400(admin_client, east, header):
    response = admin_client.patch(
        f"{API}/teams/{east.pk}", {"name": "E"}, "application/json", headers={"If-Match": header}
    )

    assert assert_problem(response, 400)["type"].endswith("/malformed-if-match")
    east.refresh_from_db()
    assert east.name == "East"


def test_update_with_bad_input_changes_nothing(admin_client, east, west):
    for payload, field in (({"name": "West"}, "name"), ({"name": None}, "name")):
        body = assert_problem(
            admin_client.patch(f"{API}/teams/{east.pk}", payload, "application/json"), 422
        )
        assert [error["field"] for error in body["errors"]] == [field]

    east.refresh_from_db()
    assert (east.name, east.version) == ("East", 1)


def test_manager_can_be_removed_with_null(admin_client, alice):
    team = Team.objects.create(name="North", manager=alice)

    response = admin_client.patch(f"{API}/teams/{team.pk}", {"manager": None}, "application/json")

    assert (response.status_code, response.json()["manager"]) == (200, None)


def test_delete_with_stale_if_match_is_412_then_current_deletes(admin_client, east):
    Team.objects.filter(pk=east.pk).update(version=3)

    stale = admin_client.delete(f"{API}/teams/{east.pk}", headers={"If-Match": 'W/"2"'})
    assert_problem(stale, 412)
    assert Team.objects.filter(pk=east.pk).exists()

    current = admin_client.delete(f"{API}/teams/{east.pk}", headers={"If-Match": 'W/"3"'})
    assert (current.status_code, current.content) == (204, b"")
    assert not Team.objects.filter(pk=east.pk).exists()


def test_delete_unknown_team_is_404(admin_client):
    assert_problem(admin_client.delete(f"{API}/teams/999999"), 404)
