"""The profile page: one's own details and personal API tokens."""

from __future__ import annotations

import datetime
import re

import pytest
from django.test import Client
from django.utils import timezone

from rapport.accounts.models import ApiToken, TokenScope, User
from rapport.accounts.tokens import token_authenticate, token_create
from rapport.core.actors import Actor
from rapport.core.models import AuditEntry, Source

pytestmark = pytest.mark.django_db

SECRET = re.compile(r'<code class="secret">(rap_[^<]+)</code>')


def test_profile_shows_the_details_and_the_token_section(alice_client: Client) -> None:
    html = alice_client.get("/account/").content.decode()

    assert 'value="Alice"' in html
    assert 'id="tokens"' in html
    assert "You have no API tokens yet." in html
    assert '<option value="Europe/Paris">' in html


def test_profile_update_saves_and_audits(alice_client: Client, alice: User) -> None:
    response = alice_client.post(
        "/account/",
        {
            "first_name": "Alicia",
            "last_name": "Smith",
            "timezone": "Europe/Paris",
            "language": "en",
        },
        follow=True,
    )

    assert "Your profile is saved." in response.content.decode()
    alice.refresh_from_db()
    assert (alice.first_name, alice.last_name, alice.timezone) == (
        "Alicia",
        "Smith",
        "Europe/Paris",
    )
    entry = AuditEntry.objects.get(object_id=str(alice.pk), action="update")
    assert entry.changes["timezone"] == ["UTC", "Europe/Paris"]


def test_profile_with_a_bad_time_zone_shows_the_error(alice_client: Client, alice: User) -> None:
    response = alice_client.post(
        "/account/",
        {"first_name": "Alicia", "last_name": "", "timezone": "Mars/Olympus", "language": "en"},
    )

    assert response.status_code == 200
    assert "Choose a time zone from the list." in response.content.decode()
    alice.refresh_from_db()
    assert (alice.first_name, alice.timezone) == ("Alice", "UTC")


def create_token(client: Client, **fields: str) -> str:
    """Create a token through the page; return the secret the next page shows."""
    response = client.post("/account/tokens/new/", {"scope": "read", **fields})
    assert response.status_code == 302
    assert response["Location"] == "/account/#tokens"
    html = client.get("/account/").content.decode()
    return SECRET.search(html).group(1)


def test_a_new_token_is_shown_once_and_authenticates(alice_client: Client, alice: User) -> None:
    secret = create_token(alice_client, name="Accounting sync", scope="read_write")

    assert SECRET.search(alice_client.get("/account/").content.decode()) is None
    token = token_authenticate(secret)
    assert token is not None
    assert token.user == alice
    assert (token.name, token.scope) == ("Accounting sync", TokenScope.READ_WRITE)
    html = alice_client.get("/account/").content.decode()
    assert "Accounting sync" in html
    assert f"rap_{token.prefix}_…" in html
    assert secret not in html


def test_revoking_a_token_stops_it_working(alice_client: Client) -> None:
    secret = create_token(alice_client, name="Script")
    token = token_authenticate(secret)

    response = alice_client.post(f"/account/tokens/{token.pk}/revoke/", follow=True)

    assert "no longer works" in response.content.decode()
    assert token_authenticate(secret) is None
    assert "Revoked" in response.content.decode()


def test_a_token_can_end_on_a_chosen_day(alice_client: Client, alice: User) -> None:
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)

    create_token(alice_client, name="Short-lived", valid_until=tomorrow.isoformat())

    token = ApiToken.objects.get(user=alice)
    assert timezone.localtime(token.expires_at).date() == tomorrow


def test_a_token_cannot_end_in_the_past(alice_client: Client, alice: User) -> None:
    yesterday = timezone.localdate() - datetime.timedelta(days=1)

    response = alice_client.post(
        "/account/tokens/new/",
        {"name": "Late", "scope": "read", "valid_until": yesterday.isoformat()},
    )

    assert response.status_code == 200
    assert "Choose today or a later day." in response.content.decode()
    assert not ApiToken.objects.filter(user=alice).exists()


def test_a_token_needs_a_known_scope(alice_client: Client, alice: User) -> None:
    response = alice_client.post("/account/tokens/new/", {"name": "X", "scope": "root"})

    assert response.status_code == 200
    assert not ApiToken.objects.filter(user=alice).exists()


def test_another_users_token_cannot_be_revoked(alice_client: Client, bob: User) -> None:
    token, secret = token_create(actor=Actor(user=bob, source=Source.UI), name="Bob's")

    response = alice_client.post(f"/account/tokens/{token.pk}/revoke/")

    assert response.status_code == 404
    assert token_authenticate(secret) is not None


def test_revoking_by_get_is_refused(alice_client: Client, as_alice) -> None:
    token, secret = token_create(actor=as_alice, name="Mine")

    assert alice_client.get(f"/account/tokens/{token.pk}/revoke/").status_code == 405
    assert token_authenticate(secret) is not None


def test_profile_needs_a_signed_in_user(client: Client) -> None:
    response = client.get("/account/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/account/"
