"""Lockouts after repeated sign-in failures, per account and per client address, and
the limit on password reset requests. Time is injected through ``now``: no sleeps."""

from __future__ import annotations

import datetime
import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.utils import timezone

from rapport.accounts import signin
from rapport.accounts.models import LoginEvent, LoginOutcome, User
from rapport.accounts.signin_views import sign_in_locked_message
from rapport.accounts.tests.test_two_factor import code, enable_two_factor, password_step
from rapport.core.actors import Actor
from rapport.core.models import AuditAction, AuditEntry, Source

pytestmark = pytest.mark.django_db

LOCKED = "Too many failed sign-in attempts. Try again in"
WRONG = "The email address or the password is wrong."
CSRF_TOKEN = re.compile(r'(?<="csrfmiddlewaretoken" value=")[^"]+|(?<="X-CSRFToken": ")[^"]+')


@pytest.fixture(autouse=True)
def limits(settings):
    settings.LOGIN_MAX_FAILURES = 5
    settings.LOGIN_MAX_FAILURES_PER_IP = 20
    settings.LOGIN_LOCKOUT_WINDOW = 15 * 60


def wrong_password(client: Client, email: str = "alice@example.com", **extra):
    return client.post("/login/", {"username": email, "password": "not-it"}, **extra)


def test_the_fifth_failure_locks_the_account_with_a_clear_message(
    client: Client, alice: User
) -> None:
    for _attempt in range(4):
        response = wrong_password(client)
        assert response.status_code == 200
        assert WRONG in response.content.decode()

    fifth = wrong_password(client)

    assert fifth.status_code == 429
    assert LOCKED in fifth.content.decode()
    assert 1 <= int(fifth["Retry-After"]) <= 15 * 60
    # Even the right password is refused now, from any address, and says when to come back.
    right = password_step(Client(), REMOTE_ADDR="198.51.100.7")
    assert right.status_code == 429
    assert LOCKED in right.content.decode()
    assert client.session.get(SESSION_KEY) is None
    outcomes = list(LoginEvent.objects.filter(user=alice).values_list("outcome", flat=True))
    assert outcomes == ["locked"] + ["bad_password"] * 5


def test_an_unknown_address_is_locked_out_in_the_same_words(client: Client, alice: User) -> None:
    known = [wrong_password(client, "alice@example.com") for _attempt in range(5)]
    unknown = [wrong_password(client, "nobody@example.com") for _attempt in range(5)]

    def shown(response) -> tuple[int, str]:
        page = CSRF_TOKEN.sub("", response.content.decode())
        return response.status_code, page.replace("alice@example.com", "nobody@example.com")

    assert [shown(response) for response in known] == [shown(response) for response in unknown]
    nobody = LoginEvent.objects.filter(user=None)
    assert nobody.count() == 5
    assert "nobody" not in nobody.first().email_digest
    assert len(nobody.first().email_digest) == 64


def test_too_many_failures_from_one_address_lock_it_for_every_account(
    settings, alice: User, bob: User
) -> None:
    settings.LOGIN_MAX_FAILURES_PER_IP = 3
    attacker = Client(REMOTE_ADDR="203.0.113.5")
    for email in ("x@example.com", "y@example.com"):
        assert wrong_password(attacker, email).status_code == 200
    assert wrong_password(attacker, "z@example.com").status_code == 429

    from_there = password_step(attacker, "bob@example.com")
    from_elsewhere = password_step(Client(REMOTE_ADDR="203.0.113.6"), "bob@example.com")

    assert from_there.status_code == 429
    assert LOCKED in from_there.content.decode()
    assert from_elsewhere.status_code == 302


def test_the_lock_ends_with_its_window(client: Client, alice: User) -> None:
    window_start = signin.throttle.window_of(
        timezone.now() - datetime.timedelta(hours=1), datetime.timedelta(minutes=15)
    )
    visitor = signin.Client(ip="127.0.0.1")
    anonymous = Actor(user=None, source=Source.UI)
    for minute in range(4):
        signin.login_failed(
            email="alice@example.com",
            client=visitor,
            actor=anonymous,
            outcome=LoginOutcome.BAD_PASSWORD,
            now=window_start + datetime.timedelta(minutes=minute),
        )
    with pytest.raises(signin.Locked) as locked:
        signin.login_failed(
            email="alice@example.com",
            client=visitor,
            actor=anonymous,
            outcome=LoginOutcome.BAD_PASSWORD,
            now=window_start + datetime.timedelta(minutes=5),
        )
    assert locked.value.retry_after == 10 * 60
    with pytest.raises(signin.Locked) as still:
        signin.check_not_locked(
            email="Alice@Example.com",
            client=visitor,
            now=window_start + datetime.timedelta(minutes=14, seconds=30),
        )
    assert still.value.retry_after == 30

    # That window is over now: the password works again.
    response = password_step(client)

    assert response.status_code == 302
    assert client.session.get(SESSION_KEY) == str(alice.pk)


def test_the_message_counts_minutes_up() -> None:
    assert sign_in_locked_message(61) == (
        "Too many failed sign-in attempts. Try again in 2 minutes."
    )
    assert sign_in_locked_message(30) == "Too many failed sign-in attempts. Try again in 1 minute."


def test_a_successful_sign_in_clears_the_accounts_failures(client: Client, alice: User) -> None:
    for _attempt in range(4):
        wrong_password(client)
    password_step(client)
    client.post("/logout/")

    for _attempt in range(4):
        assert wrong_password(client).status_code == 200


def test_wrong_two_factor_codes_count_as_failures(alice_client: Client, alice: User) -> None:
    secret, _codes = enable_two_factor(alice_client)
    client = Client()
    password_step(client)
    for _attempt in range(4):
        assert client.post("/login/code/", {"code": "000000"}).status_code == 200

    fifth = client.post("/login/code/", {"code": "000000"})
    assert fifth.status_code == 429
    assert LOCKED in fifth.content.decode()

    right = client.post("/login/code/", {"code": code(secret, steps_ahead=1)})
    assert right.status_code == 429
    assert client.session.get(SESSION_KEY) is None
    assert password_step(Client()).status_code == 429
    failures = AuditEntry.objects.filter(object_id=str(alice.pk), action=AuditAction.LOGIN_FAILED)
    assert failures.count() == 5
    assert failures.first().changes["outcome"] == [None, "bad_code"]


def test_password_reset_requests_are_limited_per_address(settings, alice: User) -> None:
    settings.PASSWORD_RESET_MAX_PER_IP = 2
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    client = Client(REMOTE_ADDR="192.0.2.44")
    for _attempt in range(2):
        assert client.post("/password-reset/", {"email": "alice@example.com"}).status_code == 302

    third = client.post("/password-reset/", {"email": "alice@example.com"})

    assert third.status_code == 429
    assert "Too many password reset requests. Try again in" in third.content.decode()
    assert int(third["Retry-After"]) <= 3600
    other = Client(REMOTE_ADDR="192.0.2.45")
    assert other.post("/password-reset/", {"email": "alice@example.com"}).status_code == 302
