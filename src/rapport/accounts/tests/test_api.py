"""/me, /users and /roles through HTTP."""

from __future__ import annotations

import pytest

from rapport.accounts.models import Role, User
from rapport.core.models import AuditEntry

API = "/api/v1"


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    return response.json()


def field_errors(body: dict) -> dict[str, str]:
    return {error["field"]: error["message"] for error in body["errors"]}


# /me


def test_me_describes_the_signed_in_user(alice_client, alice, east):
    body = alice_client.get(f"{API}/me").json()

    assert body == {
        "id": alice.pk,
        "email": "alice@example.com",
        "first_name": "Alice",
        "last_name": "",
        "timezone": "UTC",
        "language": "en",
        "is_active": True,
        "is_admin": False,
        "role": "sales-rep",
        "teams": [{"id": east.pk, "name": "East"}],
    }


def test_admin_is_admin(admin_client):
    assert admin_client.get(f"{API}/me").json()["is_admin"] is True


def test_me_update_changes_own_profile_only(alice_client, alice):
    response = alice_client.patch(
        f"{API}/me", {"last_name": "Liddell", "timezone": "Europe/Paris"}, "application/json"
    )

    assert response.status_code == 200
    alice.refresh_from_db()
    assert (alice.last_name, alice.timezone, alice.email) == (
        "Liddell",
        "Europe/Paris",
        "alice@example.com",
    )


def test_me_update_refuses_other_fields_and_bad_values(alice_client, alice):
    response = alice_client.patch(
        f"{API}/me", {"timezone": "Mars/Olympus", "email": "x@example.com"}, "application/json"
    )

    body = assert_problem(response, 422)
    assert set(field_errors(body)) == {"timezone"}
    alice.refresh_from_db()
    assert (alice.timezone, alice.email) == ("UTC", "alice@example.com")


# /users


def test_users_are_for_admins(alice_client, alice):
    assert_problem(alice_client.get(f"{API}/users"), 403)
    assert_problem(alice_client.get(f"{API}/users/{alice.pk}"), 403)
    assert_problem(
        alice_client.post(f"{API}/users", {"email": "x@example.com"}, "application/json"), 403
    )
    assert not User.objects.filter(email="x@example.com").exists()


def test_user_list_filters(admin_client, alice, bob, charlie, east):
    def emails(query: str) -> list[str]:
        response = admin_client.get(f"{API}/users{query}")
        assert response.status_code == 200, response.content
        return [item["email"] for item in response.json()["items"]]

    User.objects.filter(pk=bob.pk).update(is_active=False)

    assert emails("") == list(User.objects.order_by("id").values_list("email", flat=True))
    assert emails("?q=ALI") == ["alice@example.com"]
    assert emails("?role=admin") == ["admin@example.com"]
    assert emails(f"?team={east.pk}") == ["alice@example.com", "bob@example.com"]
    assert emails("?active=false") == ["bob@example.com"]
    assert emails(f"?team={east.pk}&active=true") == ["alice@example.com"]


def test_user_list_query_count_does_not_grow_with_rows(
    admin_client, east, west, django_assert_max_num_queries
):
    for number in range(30):
        user = User.objects.create_user(username=f"u{number}", email=f"u{number}@example.com")
        user.teams.set([east, west])

    with django_assert_max_num_queries(6):
        response = admin_client.get(f"{API}/users?limit=25")

    assert len(response.json()["items"]) == 25


def test_user_detail_and_unknown_user(admin_client, alice):
    assert admin_client.get(f"{API}/users/{alice.pk}").json()["email"] == "alice@example.com"
    assert_problem(admin_client.get(f"{API}/users/999999"), 404)


def test_create_user(admin_client, east, admin):
    response = admin_client.post(
        f"{API}/users",
        {
            "email": " Dana@Example.com ",
            "first_name": "Dana",
            "role": "sales-rep",
            "teams": [east.pk],
        },
        "application/json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["email"], body["role"], body["teams"]) == (
        "dana@example.com",
        "sales-rep",
        [{"id": east.pk, "name": "East"}],
    )
    assert response["Location"] == f"{API}/users/{body['id']}"
    entry = AuditEntry.objects.get(content_type__model="user", object_id=str(body["id"]))
    assert (entry.action, entry.source, entry.actor) == ("create", "api", admin)


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"email": "not-an-email"}, {"email"}),
        ({"email": "alice@example.com"}, {"email"}),
        ({"email": "new@example.com", "role": "emperor"}, {"role"}),
        ({"email": "new@example.com", "teams": [999999]}, {"teams"}),
        ({"email": "new@example.com", "password": "short"}, {"password"}),
        ({"first_name": "No email"}, {"email"}),
    ],
)
def test_create_user_with_bad_input_writes_nothing(admin_client, alice, payload, fields):
    before = User.objects.count()

    body = assert_problem(admin_client.post(f"{API}/users", payload, "application/json"), 422)

    assert set(field_errors(body)) == fields
    assert User.objects.count() == before


def test_update_user(admin_client, alice, west):
    response = admin_client.patch(
        f"{API}/users/{alice.pk}",
        {"last_name": "Liddell", "role": "admin", "teams": [west.pk]},
        "application/json",
    )

    assert response.status_code == 200, response.content
    assert (response.json()["role"], response.json()["teams"]) == (
        "admin",
        [{"id": west.pk, "name": "West"}],
    )
    alice.refresh_from_db()
    assert (alice.last_name, alice.role.slug, list(alice.teams.all())) == (
        "Liddell",
        "admin",
        [west],
    )


def test_update_user_with_bad_input_changes_nothing(admin_client, alice):
    for payload in ({"email": "bad"}, {"is_active": None}, {"role": "emperor"}):
        body = assert_problem(
            admin_client.patch(f"{API}/users/{alice.pk}", payload, "application/json"), 422
        )
        assert set(field_errors(body)) == set(payload)

    alice.refresh_from_db()
    assert (alice.email, alice.is_active, alice.role.slug) == (
        "alice@example.com",
        True,
        "sales-rep",
    )


def test_last_admin_cannot_be_deactivated(admin_client, admin):
    response = admin_client.patch(
        f"{API}/users/{admin.pk}", {"is_active": False}, "application/json"
    )

    assert_problem(response, 422)
    admin.refresh_from_db()
    assert admin.is_active


def test_update_unknown_user_is_404(admin_client):
    assert_problem(
        admin_client.patch(f"{API}/users/999999", {"first_name": "X"}, "application/json"), 404
    )


# /roles


def test_roles_list_and_detail(admin_client):
    body = admin_client.get(f"{API}/roles").json()
    slugs = [item["slug"] for item in body["items"]]
    admin_role = Role.objects.get(slug="admin")

    assert set(slugs) == set(Role.objects.values_list("slug", flat=True))
    assert body["next_cursor"] is None
    detail = admin_client.get(f"{API}/roles/{admin_role.pk}").json()
    assert (detail["slug"], detail["is_admin"], detail["is_system"]) == ("admin", True, True)
    assert_problem(admin_client.get(f"{API}/roles/999999"), 404)


def test_roles_are_for_admins(alice_client):
    role = Role.objects.get(slug="sales-rep")

    assert_problem(alice_client.get(f"{API}/roles"), 403)
    assert_problem(alice_client.get(f"{API}/roles/{role.pk}"), 403)
