"""Two-factor sign-in: TOTP authenticators (RFC 6238) and one-time recovery codes.

A user enrols by scanning a QR code (or typing the secret) into an authenticator
app; the device becomes active with the first code it gives, and ten recovery
codes are shown once and stored as SHA-256 digests. A code is accepted once:
the device remembers the 30-second step of the last code it took, and a
recovery code is marked used by a conditional UPDATE, so two requests racing
with the same code cannot both win.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import logging
import secrets
from typing import Literal

import pyotp
import segno
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.accounts.models import RecoveryCode, TwoFactorDevice, User
from rapport.core.actors import Actor
from rapport.core.audit import audit_log
from rapport.core.models import AuditAction
from rapport.core.permissions import require_admin
from rapport.core.secrets import SecretUnreadable

logger = logging.getLogger(__name__)

RECOVERY_CODE_COUNT = 10
# Codes of the step before and after the current one are accepted too: phone clocks drift.
CLOCK_DRIFT_STEPS = 1
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_GROUPS, RECOVERY_GROUP_LENGTH = 3, 4

Method = Literal["totp", "recovery_code"]


def active_device(user: User) -> TwoFactorDevice | None:
    return TwoFactorDevice.objects.filter(user=user, confirmed_at__isnull=False).first()


def is_enabled(user: User) -> bool:
    return TwoFactorDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()


def is_required(user: User) -> bool:
    """Whether the user's role asks for two-factor sign-in."""
    return bool(user.role and user.role.requires_two_factor)


def pending_device(user: User) -> TwoFactorDevice | None:
    """The enrolment waiting for its first code, if any."""
    return TwoFactorDevice.objects.filter(user=user, confirmed_at__isnull=True).first()


def provisioning_uri(device: TwoFactorDevice) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(device.secret).provisioning_uri(
        name=device.user.email, issuer_name=settings.COMPANY_NAME
    )


def qr_code_svg(device: TwoFactorDevice) -> str:
    """The QR code of the provisioning URI as inline SVG markup (no style attributes)."""
    return segno.make(provisioning_uri(device), error="m").svg_inline(
        scale=4, svgclass="qr-code", title=_("QR code for your authenticator app")
    )


def _audit_two_factor(user: User, *, actor: Actor, before: bool, after: bool) -> None:
    audit_log(
        actor=actor, action=AuditAction.UPDATE, obj=user, changes={"two_factor": [before, after]}
    )


def enrol_start(user: User, *, actor: Actor) -> TwoFactorDevice:
    """A new secret for ``user``, waiting for its first code; an unfinished enrolment
    is replaced. Only the user themself may enrol."""
    _require_self(user, actor)
    if is_enabled(user):
        raise ValidationError(_("Two-factor sign-in is already on."))
    with transaction.atomic():
        TwoFactorDevice.objects.filter(user=user).delete()
        return TwoFactorDevice.objects.create(user=user, secret=pyotp.random_base32())


def enrol_confirm(
    user: User, *, actor: Actor, code: str, now: datetime.datetime | None = None
) -> list[str]:
    """Turn the pending enrolment on with its first code; the new recovery codes."""
    _require_self(user, actor)
    now = now or timezone.now()
    device = pending_device(user)
    if device is None:
        raise ValidationError(_("Start the set-up again: there is no code to confirm."))
    if not _accept_totp(device, code, now):
        raise ValidationError({"code": [_("This code is wrong. Type the code the app shows now.")]})
    with transaction.atomic():
        device.confirmed_at = now
        device.save(update_fields=["confirmed_at"])
        codes = _replace_recovery_codes(user, now)
        _audit_two_factor(user, actor=actor, before=False, after=True)
    return codes


def verify(user: User, code: str, *, now: datetime.datetime | None = None) -> Method | None:
    """Which kind of code ``code`` is if it signs ``user`` in now, else ``None``.
    A code that succeeds is used up."""
    now = now or timezone.now()
    device = active_device(user)
    if device is None:
        return None
    typed = "".join(code.split())
    if len(typed) == 6 and typed.isdigit():
        return "totp" if _accept_totp(device, typed, now) else None
    return "recovery_code" if _use_recovery_code(user, typed, now) else None


def recovery_codes_left(user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


def regenerate_recovery_codes(
    user: User, *, actor: Actor, password: str, now: datetime.datetime | None = None
) -> list[str]:
    """Ten new recovery codes; the old ones stop working."""
    _require_self(user, actor)
    _check_password(user, password)
    if not is_enabled(user):
        raise ValidationError(_("Turn two-factor sign-in on first."))
    with transaction.atomic():
        codes = _replace_recovery_codes(user, now or timezone.now())
        audit_log(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=user,
            changes={"recovery_codes": [None, "regenerated"]},
        )
    return codes


def disable(
    user: User, *, actor: Actor, password: str, code: str, now: datetime.datetime | None = None
) -> None:
    """Turn two-factor sign-in off; needs the password and a current code."""
    _require_self(user, actor)
    if is_required(user):
        raise ValidationError(_("Your role requires two-factor sign-in: it cannot be turned off."))
    _check_password(user, password)
    if verify(user, code, now=now) is None:
        raise ValidationError({"code": [_("This code is wrong or was already used.")]})
    with transaction.atomic():
        _remove(user)
        _audit_two_factor(user, actor=actor, before=True, after=False)


def reset(user: User, *, actor: Actor) -> None:
    """An admin turns a user's two-factor sign-in off (a lost phone): the user signs
    in with the password alone, or sets it up again if their role requires it."""
    require_admin(actor.user)
    with transaction.atomic():
        was_on = is_enabled(user)
        _remove(user)
        audit_log(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=user,
            changes={"two_factor": [was_on, "reset by an admin"]},
        )


def _require_self(user: User, actor: Actor) -> None:
    if actor.user is None or actor.user.pk != user.pk:
        raise PermissionDenied


def _check_password(user: User, password: str) -> None:
    if not user.check_password(password):
        raise ValidationError({"password": [_("This password is wrong.")]})


def _remove(user: User) -> None:
    TwoFactorDevice.objects.filter(user=user).delete()
    RecoveryCode.objects.filter(user=user).delete()


def _accept_totp(device: TwoFactorDevice, code: str, now: datetime.datetime) -> bool:
    """Whether ``code`` is the device's code of a step near ``now`` not used before;
    if so that step is used up."""
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return False
    try:
        totp = pyotp.TOTP(device.secret)
    except SecretUnreadable:
        # Encrypted with another secret key (a restore elsewhere): no code can match;
        # an admin resets the user's two-factor sign-in.
        logger.warning("two-factor secret of user %s is unreadable", device.user_id)
        return False
    for offset in range(-CLOCK_DRIFT_STEPS, CLOCK_DRIFT_STEPS + 1):
        moment = now + datetime.timedelta(seconds=offset * totp.interval)
        step = totp.timecode(moment)
        if step > device.last_used_step and hmac.compare_digest(totp.at(moment), code):
            taken = TwoFactorDevice.objects.filter(pk=device.pk, last_used_step__lt=step).update(
                last_used_step=step
            )
            return taken == 1
    return False


def _normalise_recovery_code(code: str) -> str:
    return "".join(character for character in code.lower() if character.isalnum())


def _digest(code: str) -> str:
    return hashlib.sha256(_normalise_recovery_code(code).encode()).hexdigest()


def _new_recovery_code() -> str:
    return "-".join(
        "".join(secrets.choice(RECOVERY_ALPHABET) for _i in range(RECOVERY_GROUP_LENGTH))
        for _group in range(RECOVERY_GROUPS)
    )


def _replace_recovery_codes(user: User, now: datetime.datetime) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    codes = [_new_recovery_code() for _i in range(RECOVERY_CODE_COUNT)]
    RecoveryCode.objects.bulk_create(
        [RecoveryCode(user=user, digest=_digest(code), created_at=now) for code in codes]
    )
    return codes


def _use_recovery_code(user: User, code: str, now: datetime.datetime) -> bool:
    if len(_normalise_recovery_code(code)) != RECOVERY_GROUPS * RECOVERY_GROUP_LENGTH:
        return False
    used = RecoveryCode.objects.filter(
        user=user, digest=_digest(code), used_at__isnull=True
    ).update(used_at=now)
    return used == 1
