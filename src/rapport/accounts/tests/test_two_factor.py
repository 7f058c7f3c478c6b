"""Two-factor sign-in through the pages: enrolment, the code step, recovery codes,
replays, turning it off, roles that require it and an admin's reset."""

from __future__ import annotations

import datetime
import re

import pyotp
import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from rapport.accounts import services, twofactor
from rapport.accounts.models import LoginEvent, RecoveryCode, Role, TwoFactorDevice, User
from rapport.accounts.signin_views import PENDING_KEY, PENDING_MAX_AGE
from rapport.conftest import PASSWORD
from rapport.core.models import AuditAction, AuditEntry

pytestmark = pytest.mark.django_db

SECRET_SHOWN = re.compile(r'id="two-factor-secret"[^>]*>([A-Z2-7]+)<')
RECOVERY_CODE_SHOWN = re.compile(r"<li><code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code></li>")


def code(secret: str, *, steps_ahead: int = 0) -> str:
    """The authenticator's code now, or ``steps_ahead`` 30-second steps later (the server
    accepts one step of clock drift, so a test can use a fresh code without waiting)."""
    moment = timezone.now() + datetime.timedelta(seconds=30 * steps_ahead)
    return pyotp.TOTP(secret).at(moment)


def enable_two_factor(client: Client) -> tuple[str, list[str]]:
    """Turn two-factor on from the profile as the signed-in user; the secret the page
    shows and the recovery codes it shows once."""
    client.post("/account/two-factor/start/")
    page = client.get("/account/two-factor/").content.decode()
    secret = SECRET_SHOWN.search(page).group(1)
    response = client.post("/account/two-factor/confirm/", {"code": code(secret)}, follow=True)
    return secret, RECOVERY_CODE_SHOWN.findall(response.content.decode())


def latest_audit(obj: User | Role, action: AuditAction) -> AuditEntry:
    return AuditEntry.objects.filter(
        content_type__model=obj._meta.model_name, object_id=str(obj.pk), action=action
    ).latest("id")


def signed_in_user_id(client: Client) -> int | None:
    value = client.session.get(SESSION_KEY)
    return int(value) if value is not None else None


def password_step(client: Client, email: str = "alice@example.com", **extra) -> object:
    return client.post("/login/", {"username": email, "password": PASSWORD}, **extra)


def test_enrolment_shows_a_qr_code_and_the_secret_and_needs_a_code(
    alice_client: Client, alice: User
) -> None:
    alice_client.post("/account/two-factor/start/")
    page = alice_client.get("/account/two-factor/").content.decode()

    secret = SECRET_SHOWN.search(page).group(1)
    assert '<svg width="' in page and 'class="qr-code"' in page
    assert "style=" not in page.split('class="qr-code-box"')[1].split("</div>")[0]
    assert not twofactor.is_enabled(alice)

    wrong = alice_client.post("/account/two-factor/confirm/", {"code": "000000"})
    assert wrong.status_code == 200
    assert "This code is wrong." in wrong.content.decode()
    assert not twofactor.is_enabled(alice)

    right = alice_client.post("/account/two-factor/confirm/", {"code": code(secret)}, follow=True)
    assert "Two-factor sign-in is on." in right.content.decode()
    assert twofactor.is_enabled(alice)
    assert len(set(RECOVERY_CODE_SHOWN.findall(right.content.decode()))) == 10
    # Shown once only, stored only as digests.
    assert not RECOVERY_CODE_SHOWN.findall(
        alice_client.get("/account/two-factor/").content.decode()
    )
    stored = set(RecoveryCode.objects.filter(user=alice).values_list("digest", flat=True))
    assert len(stored) == 10
    assert not stored & set(RECOVERY_CODE_SHOWN.findall(right.content.decode()))
    entry = latest_audit(alice, AuditAction.UPDATE)
    assert entry.changes == {"two_factor": [False, True]}


def test_login_with_two_factor_takes_the_password_then_a_code(
    alice_client: Client, alice: User
) -> None:
    secret, _codes = enable_two_factor(alice_client)
    client = Client()

    response = client.post(
        "/login/?next=/account/",
        {"username": "alice@example.com", "password": PASSWORD, "next": "/account/"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/login/code/"
    assert signed_in_user_id(client) is None

    wrong = client.post("/login/code/", {"code": "123456"})
    assert "This code is wrong or was already used." in wrong.content.decode()
    assert signed_in_user_id(client) is None

    done = client.post("/login/code/", {"code": code(secret, steps_ahead=1)})
    assert done.status_code == 302
    assert done["Location"] == "/account/"
    assert signed_in_user_id(client) == alice.pk
    outcomes = list(LoginEvent.objects.filter(user=alice).values_list("outcome", flat=True))
    assert outcomes == ["2fa_success", "bad_code"]


def test_a_code_once_used_is_refused_again(alice_client: Client, alice: User) -> None:
    secret, _codes = enable_two_factor(alice_client)
    used = code(secret, steps_ahead=1)
    first, second = Client(), Client()
    password_step(first)
    first.post("/login/code/", {"code": used})
    assert signed_in_user_id(first) == alice.pk

    password_step(second)
    replay = second.post("/login/code/", {"code": used})

    assert "This code is wrong or was already used." in replay.content.decode()
    assert signed_in_user_id(second) is None


def test_the_enrolment_code_cannot_sign_in_again(alice_client: Client) -> None:
    secret, _codes = enable_two_factor(alice_client)
    client = Client()
    password_step(client)

    replay = client.post("/login/code/", {"code": code(secret)})

    assert signed_in_user_id(client) is None
    assert "already used" in replay.content.decode()


def test_codes_are_checked_against_the_time_given() -> None:
    """Service level, with the clock injected: one step of drift either way, no more."""
    alice = User.objects.create_user(username="a", email="a@example.com", password=PASSWORD)
    device = TwoFactorDevice.objects.create(
        user=alice, secret=pyotp.random_base32(), confirmed_at=timezone.now()
    )
    totp = pyotp.TOTP(device.secret)
    noon = datetime.datetime(2026, 3, 2, 12, 0, 5, tzinfo=datetime.UTC)

    assert twofactor.verify(alice, totp.at(noon - datetime.timedelta(seconds=90)), now=noon) is None
    assert twofactor.verify(alice, totp.at(noon - datetime.timedelta(seconds=30)), now=noon)
    # An older step than the last one used is refused even while still in the window.
    assert twofactor.verify(alice, totp.at(noon - datetime.timedelta(seconds=60)), now=noon) is None
    assert twofactor.verify(alice, totp.at(noon), now=noon) == "totp"
    assert twofactor.verify(alice, totp.at(noon), now=noon) is None
    later = noon + datetime.timedelta(minutes=5)
    assert twofactor.verify(alice, totp.at(later), now=later) == "totp"


def test_a_recovery_code_signs_in_once(alice_client: Client, alice: User) -> None:
    _secret, codes = enable_two_factor(alice_client)
    client = Client()
    password_step(client)

    response = client.post("/login/code/", {"code": codes[0].upper()}, follow=True)

    assert signed_in_user_id(client) == alice.pk
    assert "You signed in with a recovery code; 9 are left." in response.content.decode()
    again = Client()
    password_step(again)
    assert "already used" in again.post("/login/code/", {"code": codes[0]}).content.decode()
    assert signed_in_user_id(again) is None


def test_new_recovery_codes_need_the_password_and_replace_the_old_ones(
    alice_client: Client,
) -> None:
    _secret, old = enable_two_factor(alice_client)

    refused = alice_client.post("/account/two-factor/recovery-codes/", {"codes-password": "no"})
    assert "This password is wrong." in refused.content.decode()

    response = alice_client.post(
        "/account/two-factor/recovery-codes/", {"codes-password": PASSWORD}, follow=True
    )
    new = RECOVERY_CODE_SHOWN.findall(response.content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    client = Client()
    password_step(client)
    client.post("/login/code/", {"code": old[1]})
    assert signed_in_user_id(client) is None


def test_turning_off_needs_the_password_and_a_code(alice_client: Client, alice: User) -> None:
    secret, _codes = enable_two_factor(alice_client)

    no_code = alice_client.post(
        "/account/two-factor/disable/", {"disable-password": PASSWORD, "disable-code": "111111"}
    )
    assert "This code is wrong or was already used." in no_code.content.decode()
    bad_password = alice_client.post(
        "/account/two-factor/disable/",
        {"disable-password": "wrong", "disable-code": code(secret, steps_ahead=1)},
    )
    assert "This password is wrong." in bad_password.content.decode()
    assert twofactor.is_enabled(alice)

    alice_client.post(
        "/account/two-factor/disable/",
        {"disable-password": PASSWORD, "disable-code": code(secret, steps_ahead=1)},
    )

    assert not twofactor.is_enabled(alice)
    assert not RecoveryCode.objects.filter(user=alice).exists()
    client = Client()
    assert password_step(client)["Location"] == "/"
    assert signed_in_user_id(client) == alice.pk
    entry = latest_audit(alice, AuditAction.UPDATE)
    assert entry.changes == {"two_factor": [True, False]}


def _paths_without_arguments(patterns: list, prefix: str = "") -> list[str]:
    paths = []
    for pattern in patterns:
        route = str(pattern.pattern)
        if "<" in route or "(?P" in route or "^" in route:
            continue
        if isinstance(pattern, URLResolver):
            paths += _paths_without_arguments(pattern.url_patterns, prefix + route)
        elif isinstance(pattern, URLPattern):
            paths.append("/" + prefix + route)
    return paths


def test_between_password_and_code_nothing_is_open_that_a_visitor_cannot_open(
    alice_client: Client,
) -> None:
    enable_two_factor(alice_client)
    halfway, visitor = Client(), Client()
    password_step(halfway)
    paths = [path for path in _paths_without_arguments(get_resolver().url_patterns)]
    paths += ["/api/v1/me", "/api/v1/contacts"]
    assert "/account/" in paths and "/" in paths and "/settings/users/" in paths

    for path in paths:
        if path in ("/logout/", "/login/code/", "/login/two-factor-setup/"):
            continue
        seen, anonymous = halfway.get(path), visitor.get(path)
        assert (seen.status_code, seen.get("Location")) == (
            anonymous.status_code,
            anonymous.get("Location"),
        ), path
    assert halfway.get("/api/v1/me").status_code == 401
    assert halfway.get("/account/")["Location"].startswith("/login/")
    assert signed_in_user_id(halfway) is None


def test_the_code_step_without_the_password_step_goes_back_to_login(client: Client) -> None:
    response = client.post("/login/code/", {"code": "123456"})

    assert response.status_code == 302
    assert response["Location"] == "/login/"


def test_a_role_requiring_two_factor_sends_its_users_to_set_it_up(
    admin_client: Client, alice_client: Client, alice: User, as_admin
) -> None:
    assert (
        'name="requires_two_factor"'
        in admin_client.get(f"/settings/roles/{alice.role.pk}/").content.decode()
    )
    services.role_update(alice.role, actor=as_admin, requires_two_factor=True)
    entry = latest_audit(alice.role, AuditAction.UPDATE)
    assert entry.changes["requires_two_factor"] == [False, True]
    # Her open session ends: it could not have been opened under the new rule.
    assert alice_client.get("/account/")["Location"].startswith("/login/")

    client = Client()
    response = password_step(client)
    assert response["Location"] == "/login/two-factor-setup/"
    assert signed_in_user_id(client) is None
    assert client.get("/")["Location"].startswith("/login/")
    assert client.get("/api/v1/me").status_code == 401

    page = client.get("/login/two-factor-setup/").content.decode()
    secret = SECRET_SHOWN.search(page).group(1)
    assert "Your role requires a code" in page
    wrong = client.post("/login/two-factor-setup/", {"code": "000000"})
    assert "This code is wrong." in wrong.content.decode()
    assert signed_in_user_id(client) is None

    done = client.post("/login/two-factor-setup/", {"code": code(secret)}, follow=True)
    assert signed_in_user_id(client) == alice.pk
    assert len(RECOVERY_CODE_SHOWN.findall(done.content.decode())) == 10
    assert twofactor.is_enabled(alice)

    refused = client.post(
        "/account/two-factor/disable/",
        {"disable-password": PASSWORD, "disable-code": code(secret, steps_ahead=1)},
    )
    assert "Your role requires two-factor sign-in" in refused.content.decode()
    assert twofactor.is_enabled(alice)


def test_users_with_two_factor_keep_their_sessions_when_their_role_starts_requiring_it(
    alice_client: Client, bob: User, as_admin
) -> None:
    enable_two_factor(alice_client)
    bob_client = Client()
    bob_client.force_login(bob)

    services.role_update(
        Role.objects.get(slug="sales-rep"), actor=as_admin, requires_two_factor=True
    )

    assert alice_client.get("/account/").status_code == 200
    assert bob_client.get("/account/").status_code == 302


def test_an_admin_resets_a_users_two_factor(
    admin_client: Client, alice_client: Client, alice: User, bob: User
) -> None:
    enable_two_factor(alice_client)
    assert (
        "Reset two-factor sign-in"
        in admin_client.get(f"/settings/users/{alice.pk}/").content.decode()
    )
    bob_client = Client()
    bob_client.force_login(bob)
    assert bob_client.post(f"/settings/users/{alice.pk}/two-factor/reset/").status_code == 403
    assert twofactor.is_enabled(alice)

    response = admin_client.post(f"/settings/users/{alice.pk}/two-factor/reset/", follow=True)

    assert "Two-factor sign-in of Alice is reset." in response.content.decode()
    assert not twofactor.is_enabled(alice)
    entry = latest_audit(alice, AuditAction.UPDATE)
    assert entry.actor_label == "admin@example.com"
    assert entry.changes == {"two_factor": [True, "reset by an admin"]}
    client = Client()
    password_step(client)
    assert signed_in_user_id(client) == alice.pk


def test_moving_a_user_to_a_role_requiring_two_factor_signs_them_out(
    admin_client: Client, alice_client: Client, alice: User, as_admin
) -> None:
    strict = services.role_create(actor=as_admin, name="Auditors", requires_two_factor=True)
    listed = admin_client.get("/api/v1/roles").json()["items"]
    assert {role["slug"]: role["requires_two_factor"] for role in listed}["auditors"] is True

    services.user_update(alice, actor=as_admin, role=strict)

    assert alice_client.get("/account/")["Location"].startswith("/login/")
    assert password_step(Client())["Location"] == "/login/two-factor-setup/"


def test_the_code_step_expires(alice_client: Client) -> None:
    enable_two_factor(alice_client)
    client = Client()
    password_step(client)
    session = client.session
    session[PENDING_KEY]["since"] -= PENDING_MAX_AGE + 1
    session.save()

    response = client.post("/login/code/", {"code": "123456"})

    assert response["Location"] == "/login/"


def test_the_secret_is_stored_encrypted_and_unreadable_under_another_key(
    alice_client, alice, settings
):
    secret, _codes = enable_two_factor(alice_client)
    device = TwoFactorDevice.objects.get(user=alice)
    assert secret not in device.encrypted_secret
    assert device.secret == secret

    settings.SECRET_KEY = "another-key-" + "x" * 50
    client = Client()
    client.post("/login/", {"username": alice.email, "password": PASSWORD})
    refused = client.post("/login/code/", {"code": pyotp.TOTP(secret).now()})
    assert refused.status_code == 200
    assert "_auth_user_id" not in client.session
