"""Every settings page is for admins: 403 for others, the login page for visitors."""

from __future__ import annotations

import pytest
from django.test import Client

from rapport.accounts.models import Role, Team, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def settings_pages(alice: User, east: Team) -> list[str]:
    role = Role.objects.get(slug="sales-rep")
    return [
        "/settings/users/",
        "/settings/users/new/",
        f"/settings/users/{alice.pk}/",
        f"/settings/users/{alice.pk}/invite/",
        "/settings/teams/",
        "/settings/teams/new/",
        f"/settings/teams/{east.pk}/",
        f"/settings/teams/{east.pk}/delete/",
        "/settings/roles/",
        "/settings/roles/new/",
        f"/settings/roles/{role.pk}/",
        f"/settings/roles/{role.pk}/delete/",
    ]


def test_non_admins_get_403_on_every_settings_page(
    alice_client: Client, settings_pages: list[str]
) -> None:
    for page in settings_pages:
        assert alice_client.get(page).status_code == 403, page
        assert alice_client.post(page, {"name": "Hijack"}).status_code == 403, page

    assert Team.objects.filter(name="East").exists()
    assert not Team.objects.filter(name="Hijack").exists()
    assert not Role.objects.filter(name="Hijack").exists()


def test_visitors_are_sent_to_log_in(client: Client, settings_pages: list[str]) -> None:
    for page in settings_pages:
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"].startswith("/login/?next="), page


def test_admins_open_every_settings_page(admin_client: Client, settings_pages: list[str]) -> None:
    invite = next(page for page in settings_pages if page.endswith("/invite/"))
    for page in settings_pages:
        expected = 405 if page == invite else 200
        assert admin_client.get(page).status_code == expected, page
