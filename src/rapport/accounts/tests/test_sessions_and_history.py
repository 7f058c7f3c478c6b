"""Logging out other sessions, the idle timeout, the login history and its purge, audit
of sign-ins, and the password policy shown and enforced."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import time

import pytest
from django.test import Client
from django.utils import timezone

from rapport.accounts import signin
from rapport.accounts.middleware import SessionIdleTimeoutMiddleware
from rapport.accounts.models import LoginEvent, User
from rapport.accounts.tests.test_two_factor import latest_audit, password_step
from rapport.conftest import PASSWORD
from rapport.core.models import AuditAction, AuditEntry

pytestmark = pytest.mark.django_db


def signed_in_client(user: User, **defaults) -> Client:
    client = Client(**defaults)
    assert password_step(client, user.email).status_code == 302
    return client


def test_log_out_other_sessions_keeps_this_one(alice: User) -> None:
    here = signed_in_client(alice, HTTP_USER_AGENT="Laptop")
    elsewhere = signed_in_client(alice, HTTP_USER_AGENT="Phone")
    assert elsewhere.get("/account/").status_code == 200

    response = here.post("/account/sessions/log-out-others/", follow=True)

    assert "Your other sessions are logged out." in response.content.decode()
    assert here.get("/account/").status_code == 200
    assert elsewhere.get("/account/")["Location"].startswith("/login/")
    assert elsewhere.get("/api/v1/me").status_code == 401
    entry = latest_audit(alice, AuditAction.UPDATE)
    assert entry.changes == {"other_sessions": [None, "logged out"]}
    assert entry.actor_id == alice.pk
    # The next sign-in works as before.
    assert signed_in_client(alice).get("/account/").status_code == 200


def test_log_out_other_sessions_only_by_post(alice_client: Client) -> None:
    assert alice_client.get("/account/sessions/log-out-others/").status_code == 405


def test_changing_the_password_still_logs_out_other_sessions(alice: User) -> None:
    here, elsewhere = signed_in_client(alice), signed_in_client(alice)

    here.post(
        "/account/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "a-brand-new-secret-42",
            "new_password2": "a-brand-new-secret-42",
        },
    )

    assert here.get("/account/").status_code == 200
    assert elsewhere.get("/account/").status_code == 302


def test_an_idle_session_ends(settings, alice_client: Client) -> None:
    settings.SESSION_IDLE_TIMEOUT = 30 * 60
    assert alice_client.get("/account/").status_code == 200
    session = alice_client.session
    assert time.time() - session[SessionIdleTimeoutMiddleware.LAST_SEEN_KEY] < 60

    session[SessionIdleTimeoutMiddleware.LAST_SEEN_KEY] = int(time.time()) - 29 * 60
    session.save()
    assert alice_client.get("/account/").status_code == 200

    session = alice_client.session
    session[SessionIdleTimeoutMiddleware.LAST_SEEN_KEY] = int(time.time()) - 31 * 60
    session.save()
    assert alice_client.get("/account/")["Location"].startswith("/login/")


def test_without_an_idle_limit_nothing_is_written_to_the_session(
    settings, alice_client: Client
) -> None:
    settings.SESSION_IDLE_TIMEOUT = 0
    alice_client.get("/account/")

    assert SessionIdleTimeoutMiddleware.LAST_SEEN_KEY not in alice_client.session


def test_the_profile_shows_the_last_sign_ins(alice: User, django_assert_max_num_queries) -> None:
    Client(REMOTE_ADDR="192.0.2.10", HTTP_USER_AGENT="Old Browser").post(
        "/login/", {"username": "alice@example.com", "password": "wrong"}
    )
    client = signed_in_client(alice, REMOTE_ADDR="192.0.2.11", HTTP_USER_AGENT="Firefox/140")
    LoginEvent.objects.bulk_create(
        [
            LoginEvent(
                user=alice, outcome="success", at=timezone.now() - datetime.timedelta(days=2)
            )
            for _n in range(25)
        ]
    )

    with django_assert_max_num_queries(12):
        page = client.get("/account/").content.decode()

    assert page.count('id="login-history"') == 1
    assert "<title>Profile · Rapport</title>" in page
    history = page.split('id="login-history"')[1]
    assert history.count("<tr>") == 21  # the header and the last 20
    assert "192.0.2.11" in history and "Firefox/140" in history
    assert "192.0.2.10" in history and "Wrong email or password" in history


def test_an_admin_sees_a_users_sign_ins_and_others_do_not(
    admin_client: Client, alice: User, bob: User
) -> None:
    signed_in_client(alice, REMOTE_ADDR="192.0.2.33")

    page = admin_client.get(f"/settings/users/{alice.pk}/").content.decode()
    bob_client = Client()
    bob_client.force_login(bob)

    assert "Recent sign-ins" in page and "192.0.2.33" in page
    assert bob_client.get(f"/settings/users/{alice.pk}/").status_code == 403


def test_old_sign_in_events_are_purged(settings, alice: User) -> None:
    settings.LOGIN_HISTORY_DAYS = 30
    now = timezone.now()
    old = LoginEvent.objects.create(
        user=alice, outcome="success", at=now - datetime.timedelta(days=31)
    )
    recent = LoginEvent.objects.create(
        user=alice, outcome="success", at=now - datetime.timedelta(days=29)
    )

    assert signin.forget_old_login_events(now=now) == 1

    assert list(LoginEvent.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not LoginEvent.objects.filter(pk=old.pk).exists()


def test_sign_ins_and_failures_on_real_accounts_are_audited(client: Client, alice: User) -> None:
    client.post("/login/", {"username": "alice@example.com", "password": "wrong"})
    client.post("/login/", {"username": "ghost@example.com", "password": "wrong"})
    password_step(client, REMOTE_ADDR="192.0.2.99")

    entries = AuditEntry.objects.filter(
        content_type__model="user", object_id=str(alice.pk)
    ).order_by("id")
    assert [(entry.action, entry.actor_id) for entry in entries] == [
        (AuditAction.LOGIN_FAILED, None),
        (AuditAction.LOGIN, alice.pk),
    ]
    assert entries[1].changes == {"outcome": [None, "success"], "ip": [None, "192.0.2.99"]}
    # Nothing about the address that matches no account, but its attempt is in the history.
    assert AuditEntry.objects.filter(action=AuditAction.LOGIN_FAILED).count() == 1
    assert LoginEvent.objects.filter(user=None, outcome="bad_password").count() == 1


def test_the_password_policy_is_shown_and_refuses_common_passwords(alice_client: Client) -> None:
    page = alice_client.get("/account/password/").content.decode()
    assert "at least 10 characters" in page
    assert "a commonly used password" in page

    response = alice_client.post(
        "/account/password/",
        {"old_password": PASSWORD, "new_password1": "password123", "new_password2": "password123"},
    )

    assert response.status_code == 200
    assert "This password is too common." in response.content.decode()
    assert User.objects.get(email="alice@example.com").check_password(PASSWORD)


def test_a_new_users_password_follows_the_policy(admin_client: Client) -> None:
    page = admin_client.get("/settings/users/new/").content.decode()
    assert "at least 10 characters" in page

    response = admin_client.post(
        "/settings/users/new/",
        {
            "email": "dan@example.com",
            "password": "password123",
            "timezone": "UTC",
            "language": "en",
        },
    )

    assert response.status_code == 200
    assert "This password is too common." in response.content.decode()
    assert not User.objects.filter(email="dan@example.com").exists()


def test_sign_in_settings_come_from_the_environment(tmp_path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        "RAPPORT_DATA_DIR": str(tmp_path),
        "RAPPORT_PASSWORD_MIN_LENGTH": "14",
        "RAPPORT_LOGIN_MAX_FAILURES": "3",
        "RAPPORT_LOGIN_LOCKOUT_MINUTES": "30",
        "RAPPORT_SESSION_IDLE_MINUTES": "20",
    }
    script = (
        "from django.conf import settings as s; "
        "print(s.AUTH_PASSWORD_VALIDATORS[1]['OPTIONS']['min_length'], s.LOGIN_MAX_FAILURES, "
        "s.LOGIN_LOCKOUT_WINDOW, s.SESSION_IDLE_TIMEOUT)"
    )

    result = subprocess.run(
        [sys.executable, "-m", "rapport", "shell", "-v", "0", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.stdout.split() == ["14", "3", "1800", "1200"], result.stderr
