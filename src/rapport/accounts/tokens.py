"""Personal API tokens: created once, stored as a SHA-256 digest, revocable.

A token reads ``rap_<prefix>_<secret>``. The prefix is kept in clear so a
user can tell their tokens apart; the whole string is only ever shown once.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from rapport.accounts.models import ApiToken, TokenScope
from rapport.core.actors import Actor
from rapport.core.audit import audit_log
from rapport.core.models import AuditAction

TOKEN_MARK = "rap"
# Writing last_used_at on every request would turn reads into writes.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


def digest_of(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def token_create(
    *,
    actor: Actor,
    name: str,
    scope: str = TokenScope.READ,
    expires_at: datetime.datetime | None = None,
) -> tuple[ApiToken, str]:
    """Create a token for ``actor.user``; returns it and the secret to show once."""
    if actor.user is None:
        raise ValueError("a token belongs to a user")
    if scope not in TokenScope.values:
        raise ValueError(f"unknown token scope {scope!r}")
    prefix = secrets.token_hex(4)
    raw = f"{TOKEN_MARK}_{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=actor.user,
            name=name.strip(),
            prefix=prefix,
            digest=digest_of(raw),
            scope=scope,
            expires_at=expires_at,
        )
        audit_log(
            actor=actor,
            action=AuditAction.CREATE,
            obj=token,
            changes={"name": [None, token.name], "scope": [None, token.scope]},
        )
    return token, raw


def token_revoke(token: ApiToken, *, actor: Actor) -> None:
    """Revoke ``token``; only its owner or an admin may."""
    from rapport.core.permissions import require_admin

    if actor.user is None or token.user_id != actor.user.pk:
        require_admin(actor.user)
    if token.revoked_at is not None:
        return
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_log(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=token,
            changes={"revoked_at": [None, token.revoked_at.isoformat()]},
        )


def token_authenticate(raw: str) -> ApiToken | None:
    """The active token ``raw`` names, with its user, or ``None``."""
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_MARK:
        return None
    token = (
        ApiToken.objects.select_related("user", "user__role")
        .filter(prefix=parts[1], digest=digest_of(raw))
        .first()
    )
    if token is None or not token.is_active or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
