"""The rules around signing in: lockouts, the login history, audit of sign-ins and
logging out other sessions.

Failures (a wrong password or two-factor code) are counted per account and per
client address in fixed windows (``rapport.core.throttle``). Once either count
reaches its limit, sign-in is refused until the window ends, whether or not the
account exists, and whether or not the password is right: the answer must not
tell an attacker anything. The account counter is keyed by the email typed, so
an unknown address locks the same way a known one does.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from rapport.accounts.models import LoginEvent, LoginOutcome, User
from rapport.core import throttle
from rapport.core.actors import Actor
from rapport.core.audit import audit_log
from rapport.core.client_ip import client_ip
from rapport.core.models import AuditAction
from rapport.core.schedule import every

USER_AGENT_LENGTH = LoginEvent._meta.get_field("user_agent").max_length
HISTORY_SHOWN = 20


@dataclass(frozen=True)
class Client:
    """Where a sign-in attempt comes from."""

    ip: str | None
    user_agent: str = ""

    @classmethod
    def of(cls, request: HttpRequest) -> Client:
        return cls(
            ip=client_ip(request) or None,
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_LENGTH],
        )


class Locked(Exception):
    """Too many failures: sign-in is refused for ``retry_after`` more seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


def _window() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.LOGIN_LOCKOUT_WINDOW)


def _normalise(email: str) -> str:
    return email.strip().lower()


def _account_key(email: str) -> str:
    return throttle.counter_key("login-account", _normalise(email))


def _ip_key(ip: str) -> str:
    return throttle.counter_key("login-ip", ip)


def _existing_user(email: str) -> User | None:
    return User.objects.filter(email__iexact=_normalise(email)).first() if email else None


def _record(
    *, user: User | None, email: str, client: Client, outcome: str, now: datetime.datetime
) -> None:
    LoginEvent.objects.create(
        user=user,
        # Who tried an unknown address is worth knowing (an attack); the address is not.
        email_digest="" if user else hashlib.sha256(_normalise(email).encode()).hexdigest(),
        at=now,
        ip=client.ip,
        user_agent=client.user_agent[:USER_AGENT_LENGTH],
        outcome=outcome,
    )


def check_not_locked(*, email: str, client: Client, now: datetime.datetime | None = None) -> None:
    """``Locked`` (and a ``locked`` event) when the account or the address used up its
    failures in this window. Call before checking the password."""
    now = now or timezone.now()
    window = _window()
    locked = throttle.hits(_account_key(email), window=window, now=now) >= (
        settings.LOGIN_MAX_FAILURES
    ) or (
        client.ip is not None
        and throttle.hits(_ip_key(client.ip), window=window, now=now)
        >= settings.LOGIN_MAX_FAILURES_PER_IP
    )
    if locked:
        _record(
            user=_existing_user(email),
            email=email,
            client=client,
            outcome=LoginOutcome.LOCKED,
            now=now,
        )
        raise Locked(throttle.retry_after(now, window))


def login_failed(
    *,
    email: str,
    client: Client,
    actor: Actor,
    outcome: LoginOutcome,
    now: datetime.datetime | None = None,
) -> None:
    """Count a wrong password or code, record it in the history, audit it when the
    account exists; ``Locked`` when this failure used up the last one allowed."""
    now = now or timezone.now()
    window = _window()
    account_hits = throttle.count_hit(_account_key(email), window=window, now=now)
    ip_hits = throttle.count_hit(_ip_key(client.ip), window=window, now=now) if client.ip else 0
    user = _existing_user(email)
    with transaction.atomic():
        _record(user=user, email=email, client=client, outcome=outcome, now=now)
        if user is not None:
            audit_log(
                actor=actor,
                action=AuditAction.LOGIN_FAILED,
                obj=user,
                changes={"outcome": [None, str(outcome)], "ip": [None, client.ip]},
            )
    if account_hits >= settings.LOGIN_MAX_FAILURES or ip_hits >= settings.LOGIN_MAX_FAILURES_PER_IP:
        raise Locked(throttle.retry_after(now, window))


def login_succeeded(
    user: User,
    *,
    client: Client,
    actor: Actor,
    outcome: LoginOutcome = LoginOutcome.SUCCESS,
    now: datetime.datetime | None = None,
) -> None:
    """Record and audit a completed sign-in; the account's failures are forgotten
    (the address's are not: one good account must not unlock an attacker's address)."""
    now = now or timezone.now()
    throttle.reset(_account_key(user.email))
    with transaction.atomic():
        _record(user=user, email=user.email, client=client, outcome=outcome, now=now)
        audit_log(
            actor=actor,
            action=AuditAction.LOGIN,
            obj=user,
            changes={"outcome": [None, str(outcome)], "ip": [None, client.ip]},
        )


def login_history(user: User) -> list[LoginEvent]:
    """The user's most recent sign-in attempts, newest first."""
    return list(LoginEvent.objects.filter(user=user)[:HISTORY_SHOWN])


def logout_other_sessions(user: User, *, actor: Actor) -> None:
    """End every session of ``user``: a new salt changes the session auth hash Django
    checks on each request. The caller keeps its own session with
    ``update_session_auth_hash``. The user themself or an admin may."""
    if actor.user is None or (actor.user.pk != user.pk and not actor.user.is_admin):
        raise PermissionDenied
    with transaction.atomic():
        user.session_salt = secrets.token_hex(16)
        user.save(update_fields=["session_salt"])
        audit_log(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=user,
            changes={"other_sessions": [None, "logged out"]},
        )


@every(3600)
def forget_old_login_events(now: datetime.datetime | None = None) -> int:
    """Delete sign-in events older than ``LOGIN_HISTORY_DAYS``."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.LOGIN_HISTORY_DAYS)
    deleted, _by_type = LoginEvent.objects.filter(at__lt=cutoff).delete()
    return deleted
