"""Users, teams, roles and personal API tokens."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from rapport.core.models import TimestampedModel, VersionedModel
from rapport.core.secrets import decrypt, encrypt


class Scope(models.TextChoices):
    """How far a role's grant of one action reaches."""

    NONE = "none", _("None")
    OWN = "own", _("Own records")
    TEAM = "team", _("Team's records")
    ALL = "all", _("All records")


ACTIONS = ("view", "create", "edit", "delete", "export", "import", "merge")
TIMEZONE_CHOICES = [(name, name) for name in sorted(zoneinfo.available_timezones())]


class FieldAccess(models.TextChoices):
    """What a role may do with one field of an object type."""

    NORMAL = "normal", _("Visible and editable")
    READ_ONLY = "read_only", _("Read-only")
    HIDDEN = "hidden", _("Hidden")


class Role(TimestampedModel):
    """A named bundle of grants: ``permissions[object_type][action] = scope``.

    ``object_type`` is a model label such as ``contacts.contact``; the key
    ``"*"`` grants every object type that has no entry of its own. An admin
    role (``is_admin``) may also manage users, teams, roles and settings.
    ``field_rules[object_type][field]`` is a ``FieldAccess`` for the fields the
    role may not see or change (custom fields as ``custom.<key>``); see
    ``core.permissions.field_access``.
    """

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    is_admin = models.BooleanField(_("admin"), default=False)
    requires_two_factor = models.BooleanField(_("requires two-factor sign-in"), default=False)
    permissions = models.JSONField(_("permissions"), default=dict, blank=True)
    field_rules = models.JSONField(_("field rules"), default=dict, blank=True)
    is_system = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("role")
        verbose_name_plural = _("roles")

    def __str__(self) -> str:
        return self.name

    def scope_for(self, object_type: str, action: str) -> str:
        grants = self.permissions.get(object_type) or self.permissions.get("*") or {}
        return grants.get(action, Scope.NONE)


class Team(TimestampedModel, VersionedModel):
    """A group of users who share records (the ``team`` scope)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_teams",
        verbose_name=_("manager"),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class RapportUserManager(UserManager):
    def get_by_natural_key(self, username: str) -> User:
        return self.get(email__iexact=username)


class User(AbstractUser):
    """A person who signs in to Rapport; identified by email address."""

    email = models.EmailField(_("email address"), unique=True)
    role = models.ForeignKey(
        Role, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    teams = models.ManyToManyField(Team, blank=True, related_name="members")
    timezone = models.CharField(
        _("time zone"), max_length=64, choices=TIMEZONE_CHOICES, default="UTC"
    )
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default="en"
    )
    # Changed by "Log out other sessions": part of the session auth hash, so every
    # session signed with the old value stops being valid, whatever the session backend.
    session_salt = models.CharField(max_length=32, blank=True, editable=False)

    objects = RapportUserManager()

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = ["username"]

    class Meta:
        ordering = ["first_name", "last_name", "email"]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    @property
    def is_admin(self) -> bool:
        return self.is_superuser or bool(self.role and self.role.is_admin)

    def _session_hash(self, secret: str | None = None) -> str:
        # Without a salt the hash is Django's own, so sessions from before the salt stay valid.
        return salted_hmac(
            "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash",
            self.password + self.session_salt,
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    def get_session_auth_hash(self) -> str:
        return self._session_hash()

    def get_session_auth_fallback_hash(self) -> Iterator[str]:
        for fallback_secret in settings.SECRET_KEY_FALLBACKS:
            yield self._session_hash(secret=fallback_secret)


class TokenScope(models.TextChoices):
    READ = "read", _("Read only")
    READ_WRITE = "read_write", _("Read and write")


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 digest is stored; the secret is shown once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=16, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    scope = models.CharField(
        _("access"), max_length=20, choices=TokenScope.choices, default=TokenScope.READ
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class TwoFactorDevice(models.Model):
    """A user's TOTP authenticator (RFC 6238). Active once ``confirmed_at`` is set:
    until then it is an enrolment waiting for its first code."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="two_factor"
    )
    # Encrypted with the site's secret key (``core.secrets``): it must be read back to
    # check codes, so it cannot be hashed, and a copy of the database alone must not
    # yield it. ``secret`` reads and writes it in base32, as authenticator apps take it.
    encrypted_secret = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The 30-second step of the last code accepted: a code is never accepted twice.
    last_used_step = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("two-factor device")
        verbose_name_plural = _("two-factor devices")

    def __str__(self) -> str:
        return f"TOTP of {self.user_id}"

    @property
    def is_active(self) -> bool:
        return self.confirmed_at is not None

    @property
    def secret(self) -> str:
        return decrypt(self.encrypted_secret)

    @secret.setter
    def secret(self, value: str) -> None:
        self.encrypted_secret = encrypt(value)


class RecoveryCode(models.Model):
    """A one-time code to sign in without the authenticator; only its SHA-256 is kept."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes"
    )
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "digest"], name="recoverycode_user_digest")
        ]
        verbose_name = _("recovery code")
        verbose_name_plural = _("recovery codes")

    def __str__(self) -> str:
        return f"recovery code {self.pk} of {self.user_id}"


class LoginOutcome(models.TextChoices):
    SUCCESS = "success", _("Signed in")
    TWO_FACTOR_SUCCESS = "2fa_success", _("Signed in with a two-factor code")
    BAD_PASSWORD = "bad_password", _("Wrong email or password")
    BAD_CODE = "bad_code", _("Wrong two-factor code")
    LOCKED = "locked", _("Refused: too many failures")


class LoginEvent(models.Model):
    """One sign-in attempt. ``user`` is empty when the email matched no account; the
    email typed is then kept only as a SHA-256 digest."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="login_events",
    )
    email_digest = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=20, choices=LoginOutcome.choices)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["user", "-at"], name="loginevent_user_at_idx")]
        verbose_name = _("sign-in event")
        verbose_name_plural = _("sign-in events")

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} at {self.at:%Y-%m-%d %H:%M}"
