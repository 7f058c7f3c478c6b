"""Admins list, add and edit users."""

from __future__ import annotations

import pytest
from django.test import Client

from rapport.accounts.models import Role, Team, User
from rapport.accounts.services import user_create
from rapport.core.actors import Actor

pytestmark = pytest.mark.django_db


def form_data(**overrides: object) -> dict[str, object]:
    return {"timezone": "UTC", "language": "en", **overrides}


def test_user_list_shows_people_with_role_and_teams(
    admin_client: Client, alice: User, charlie: User
) -> None:
    html = admin_client.get("/settings/users/").content.decode()

    assert "alice@example.com" in html
    assert "charlie@example.com" in html
    assert "Sales rep" in html
    assert "East" in html and "West" in html
    assert f'href="/settings/users/{alice.pk}/"' in html


def test_user_list_filters(admin_client: Client, alice: User, bob: User, charlie: User, west: Team):
    bob.is_active = False
    bob.save()

    def emails(**params: object) -> set[str]:
        response = admin_client.get("/settings/users/", params)
        return {person.email for person in response.context["users"]}

    assert emails(team=west.pk) == {"charlie@example.com"}
    assert emails(active="no") == {"bob@example.com"}
    assert emails(q="ALI") == {"alice@example.com"}
    assert emails(role=Role.objects.get(slug="admin").pk) == {"admin@example.com"}
    assert emails(role="not-a-number") == {
        "admin@example.com",
        "alice@example.com",
        "bob@example.com",
        "charlie@example.com",
    }


def test_user_list_query_count_does_not_grow_with_users(
    admin_client: Client, as_admin: Actor, east: Team, west: Team, django_assert_max_num_queries
) -> None:
    rep = Role.objects.get(slug="sales-rep")
    for number in range(30):
        user_create(
            actor=as_admin, email=f"person{number}@example.com", role=rep, teams=[east, west]
        )

    # Session, user, their role, the role and team filter choices, the users, their teams,
    # and the bell's unread count.
    with django_assert_max_num_queries(8):
        response = admin_client.get("/settings/users/")

    assert response.status_code == 200
    assert len(response.context["users"]) == 31


def test_user_list_pages_without_counting(admin_client: Client, as_admin: Actor) -> None:
    for number in range(55):
        user_create(actor=as_admin, email=f"p{number:02}@example.com", first_name=f"P{number:02}")

    first = admin_client.get("/settings/users/", {"active": "yes"})
    second = admin_client.get("/settings/users/", {"active": "yes", "page": 2})

    assert first.context["has_next"] and not second.context["has_next"]
    assert len(first.context["users"]) + len(second.context["users"]) == 56
    assert "active=yes&amp;page=2" in first.content.decode()
    assert admin_client.get("/settings/users/", {"page": "x"}).status_code == 200
    far = admin_client.get("/settings/users/", {"page": 10**30})
    assert far.status_code == 200
    assert far.context["page"] == 200


def test_admin_adds_a_user_with_a_password(admin_client: Client, east: Team) -> None:
    rep = Role.objects.get(slug="sales-rep")

    response = admin_client.post(
        "/settings/users/new/",
        form_data(
            email="Dana@Example.com",
            first_name="Dana",
            last_name="Lee",
            role=rep.pk,
            teams=[east.pk],
            password="a-long-enough-secret-7",
        ),
    )

    assert response.status_code == 302
    dana = User.objects.get(email="dana@example.com")
    assert dana.role == rep
    assert list(dana.teams.all()) == [east]
    assert dana.password.startswith("argon2")
    assert dana.check_password("a-long-enough-secret-7")


def test_adding_a_user_with_a_taken_email_shows_the_error(admin_client: Client, alice) -> None:
    response = admin_client.post("/settings/users/new/", form_data(email="ALICE@example.com"))

    assert response.status_code == 200
    assert "A user with this email address already exists." in response.content.decode()
    assert User.objects.filter(email__iexact="alice@example.com").count() == 1


def test_adding_a_user_with_a_weak_password_shows_the_error(admin_client: Client) -> None:
    response = admin_client.post(
        "/settings/users/new/", form_data(email="weak@example.com", password="123")
    )

    assert response.status_code == 200
    assert "This password is too short." in response.content.decode()
    assert not User.objects.filter(email="weak@example.com").exists()


def test_admin_edits_a_user(admin_client: Client, alice: User, west: Team) -> None:
    manager = Role.objects.get(slug="sales-manager")

    response = admin_client.post(
        f"/settings/users/{alice.pk}/",
        form_data(
            email="alice@example.org",
            first_name="Alice",
            last_name="Martin",
            role=manager.pk,
            teams=[west.pk],
            timezone="Asia/Tokyo",
            is_active="on",
        ),
    )

    assert response.status_code == 302
    alice.refresh_from_db()
    assert (alice.email, alice.last_name, alice.role, alice.timezone) == (
        "alice@example.org",
        "Martin",
        manager,
        "Asia/Tokyo",
    )
    assert list(alice.teams.all()) == [west]


def test_edit_form_shows_the_current_values(admin_client: Client, alice: User, east) -> None:
    form = admin_client.get(f"/settings/users/{alice.pk}/").context["form"]

    assert form.initial["email"] == "alice@example.com"
    assert form.initial["role"] == alice.role_id
    assert form.initial["teams"] == [east]
    assert form.initial["is_active"] is True


def test_editing_a_user_to_a_taken_email_shows_the_error(
    admin_client: Client, alice: User, bob: User
) -> None:
    response = admin_client.post(
        f"/settings/users/{alice.pk}/",
        form_data(email="bob@example.com", role=alice.role_id, is_active="on"),
    )

    assert response.status_code == 200
    assert "A user with this email address already exists." in response.content.decode()
    alice.refresh_from_db()
    assert alice.email == "alice@example.com"


def test_the_last_admin_cannot_be_demoted(admin_client: Client, admin: User) -> None:
    rep = Role.objects.get(slug="sales-rep")

    response = admin_client.post(
        f"/settings/users/{admin.pk}/",
        form_data(email=admin.email, role=rep.pk, is_active="on"),
    )

    assert response.status_code == 200
    assert "Rapport needs at least one active admin" in response.content.decode()
    assert response.context["form"].errors["role"]
    admin.refresh_from_db()
    assert admin.role.slug == "admin"


def test_editing_an_unknown_user_is_404(admin_client: Client) -> None:
    assert admin_client.get("/settings/users/999999/").status_code == 404
