"""Signing in and out, changing a password, resetting it by email, invitations."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.exceptions import PermissionDenied
from django.test import Client

from rapport.accounts.models import User
from rapport.accounts.services import send_invitation, user_create
from rapport.conftest import PASSWORD, free_port

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-secret-42"
LINK = re.compile(r"https?://testserver(/reset/[^/\s]+/[^/\s]+/)")


def signed_in_user_id(client: Client) -> int | None:
    value = client.session.get(SESSION_KEY)
    return int(value) if value is not None else None


def test_login_page_renders_without_the_sidebar(client: Client) -> None:
    html = client.get("/login/").content.decode()

    assert 'class="main main-public"' in html
    assert 'id="sidebar"' not in html
    assert 'name="username"' in html and 'name="password"' in html


def test_login_with_the_right_password_signs_in(client: Client, alice: User) -> None:
    response = client.post("/login/", {"username": "alice@example.com", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in_user_id(client) == alice.pk


def test_login_matches_the_email_whatever_its_case(client: Client, alice: User) -> None:
    client.post("/login/", {"username": "Alice@Example.COM", "password": PASSWORD})

    assert signed_in_user_id(client) == alice.pk


def test_login_with_a_wrong_password_says_so(client: Client, alice: User) -> None:
    response = client.post("/login/", {"username": "alice@example.com", "password": "nope"})

    assert response.status_code == 200
    assert "The email address or the password is wrong." in response.content.decode()
    assert signed_in_user_id(client) is None


def test_login_follows_next(client: Client, alice: User) -> None:
    response = client.post(
        "/login/?next=/account/",
        {"username": "alice@example.com", "password": PASSWORD, "next": "/account/"},
    )

    assert response["Location"] == "/account/"


def test_logout_by_post_signs_out(alice_client: Client) -> None:
    response = alice_client.post("/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert signed_in_user_id(alice_client) is None


def test_logout_by_get_is_refused(alice_client: Client, alice: User) -> None:
    response = alice_client.get("/logout/")

    assert response.status_code == 405
    assert signed_in_user_id(alice_client) == alice.pk


def test_password_change_stores_an_argon2_hash(alice_client: Client, alice: User) -> None:
    response = alice_client.post(
        "/account/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == "/account/"
    assert "Your password is changed." in response.content.decode()
    alice.refresh_from_db()
    assert alice.password.startswith("argon2")
    assert alice.check_password(NEW_PASSWORD)
    assert signed_in_user_id(alice_client) == alice.pk


def test_password_change_with_a_wrong_old_password_changes_nothing(
    alice_client: Client, alice: User
) -> None:
    response = alice_client.post(
        "/account/password/",
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 200
    assert 'class="field has-error' in response.content.decode()
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def choose_password_through(link_path: str, password: str) -> Client:
    """Open an emailed link and set ``password`` the way a person would."""
    visitor = Client()
    form_page = visitor.get(link_path, follow=True)
    assert form_page.status_code == 200
    assert form_page.context["validlink"]
    set_password_path = form_page.redirect_chain[-1][0]
    done = visitor.post(set_password_path, {"new_password1": password, "new_password2": password})
    assert done.status_code == 302
    assert done["Location"] == "/reset/done/"
    return visitor


def test_password_reset_end_to_end_over_smtp(client: Client, alice: User, smtp_server) -> None:
    response = client.post("/password-reset/", {"email": "ALICE@example.com"})

    assert response["Location"] == "/password-reset/sent/"
    [message] = smtp_server.messages
    assert message["To"] == "alice@example.com"
    assert message["Subject"] == "Reset your Rapport password"
    link_path = LINK.search(message.get_content()).group(1)

    choose_password_through(link_path, NEW_PASSWORD)

    fresh = Client()
    login = fresh.post("/login/", {"username": "alice@example.com", "password": NEW_PASSWORD})
    assert login.status_code == 302
    assert signed_in_user_id(fresh) == alice.pk
    alice.refresh_from_db()
    assert alice.password.startswith("argon2")
    assert Client().get(link_path, follow=True).context["validlink"] is False


def test_password_reset_for_an_unknown_address_sends_nothing(client: Client, smtp_server) -> None:
    response = client.post("/password-reset/", {"email": "nobody@example.com"})

    assert response["Location"] == "/password-reset/sent/"
    assert smtp_server.messages == []


def test_invitation_lets_a_user_without_password_choose_one(
    admin_client: Client, smtp_server
) -> None:
    response = admin_client.post(
        "/settings/users/new/",
        {
            "email": "dana@example.com",
            "first_name": "Dana",
            "timezone": "Europe/Paris",
            "language": "en",
            "send_invitation": "on",
        },
        follow=True,
    )

    assert "Invitation sent to dana@example.com." in response.content.decode()
    dana = User.objects.get(email="dana@example.com")
    assert not dana.has_usable_password()
    [message] = smtp_server.messages
    assert message["To"] == "dana@example.com"
    assert message["Subject"] == "You are invited to Rapport"
    assert "Hello Dana," in message.get_content()
    link_path = LINK.search(message.get_content()).group(1)

    choose_password_through(link_path, NEW_PASSWORD)

    fresh = Client()
    fresh.post("/login/", {"username": "dana@example.com", "password": NEW_PASSWORD})
    assert signed_in_user_id(fresh) == dana.pk


def test_creating_a_user_without_ticking_invitation_sends_nothing(
    admin_client: Client, smtp_server
) -> None:
    admin_client.post(
        "/settings/users/new/",
        {"email": "erin@example.com", "timezone": "UTC", "language": "en"},
    )

    assert User.objects.filter(email="erin@example.com").exists()
    assert smtp_server.messages == []


def test_invitation_can_be_sent_again(admin_client: Client, as_admin, smtp_server) -> None:
    frank = user_create(actor=as_admin, email="frank@example.com")

    response = admin_client.post(f"/settings/users/{frank.pk}/invite/", follow=True)

    assert "Invitation sent to frank@example.com." in response.content.decode()
    assert [message["To"] for message in smtp_server.messages] == ["frank@example.com"]


def test_a_mail_failure_while_inviting_is_a_message_not_an_error(
    admin_client: Client, settings
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()

    response = admin_client.post(
        "/settings/users/new/",
        {"email": "gina@example.com", "timezone": "UTC", "language": "en", "send_invitation": "on"},
        follow=True,
    )

    assert response.status_code == 200
    assert "could not be sent" in response.content.decode()
    assert User.objects.filter(email="gina@example.com").exists()


def test_only_admins_send_invitations(as_alice, bob: User, smtp_server) -> None:
    with pytest.raises(PermissionDenied):
        send_invitation(bob, actor=as_alice, base_url="http://testserver/")
    assert smtp_server.messages == []
