"""Managing users, teams and roles: the rules every door (pages, API, CLI, demo) goes through.

Each function checks the actor may act, validates, writes in one
transaction with its audit entry and event, and raises ``ValidationError``
(keyed by field) for bad input, ``PermissionDenied`` for a refused actor and
``VersionConflict`` when ``expected_version`` no longer matches.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import models, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.text import slugify
from django.utils.translation import gettext as _

from rapport.accounts.models import (
    ACTIONS,
    TIMEZONE_CHOICES,
    FieldAccess,
    Role,
    Scope,
    Team,
    User,
)
from rapport.core.actors import Actor
from rapport.core.audit import audit_log, diff, snapshot
from rapport.core.events import emit
from rapport.core.exceptions import VersionConflict
from rapport.core.models import AuditAction
from rapport.core.permissions import (
    object_type,
    require_admin,
    rule_fields,
    sensitive_custom_fields,
)

USER_FIELDS = ("email", "first_name", "last_name", "role", "is_active", "timezone", "language")
PROFILE_FIELDS = ("first_name", "last_name", "timezone", "language")
TEAM_FIELDS = ("name", "description", "manager")
ROLE_FIELDS = (
    "name",
    "description",
    "is_admin",
    "requires_two_factor",
    "permissions",
    "field_rules",
)
TIMEZONES = frozenset(name for name, _label in TIMEZONE_CHOICES)


def end_sessions_without_two_factor(users: models.QuerySet[User]) -> None:
    """Sign out those of ``users`` without two-factor sign-in (their role now requires
    it), so their next sign-in makes them set it up: a new session salt voids their
    sessions on any session backend (see ``User.get_session_auth_hash``)."""
    users.exclude(two_factor__confirmed_at__isnull=False).update(session_salt=secrets.token_hex(16))


def _check_version(obj: models.Model, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != obj.version:
        raise VersionConflict(current_version=obj.version)


def _write(
    obj: models.Model,
    *,
    actor: Actor,
    action: AuditAction,
    before: dict[str, Any],
    event: str,
    extra_changes: dict[str, list[Any]] | None = None,
) -> dict[str, list[Any]]:
    """Audit and announce a write already saved inside the caller's transaction."""
    changes = diff(before, snapshot(obj)) | (extra_changes or {})
    if changes or action != AuditAction.UPDATE:
        audit_log(actor=actor, action=action, obj=obj, changes=changes)
        emit(event, obj=obj, actor=actor, payload={"changes": sorted(changes)})
    return changes


def _clean_person(values: dict[str, Any], *, instance: User | None = None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    if "email" in values:
        email = (values["email"] or "").strip().lower()
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = [_("Enter a valid email address.")]
        else:
            taken = User.objects.filter(email__iexact=email)
            if instance is not None:
                taken = taken.exclude(pk=instance.pk)
            if taken.exists():
                errors["email"] = [_("A user with this email address already exists.")]
        values["email"] = email
    for name in ("first_name", "last_name"):
        if name in values:
            values[name] = (values[name] or "").strip()
            if len(values[name]) > 150:
                errors[name] = [_("Use at most 150 characters.")]
    if "timezone" in values and values["timezone"] not in TIMEZONES:
        errors["timezone"] = [_("Choose a time zone from the list.")]
    if "language" in values and values["language"] not in dict(User.language.field.choices):
        errors["language"] = [_("Choose a language from the list.")]
    if errors:
        raise ValidationError(errors)
    return values


def _first_free(base: str, taken: Callable[[str], bool], *, joiner: str = "") -> str:
    """``base``, or ``base`` numbered 2, 3… when ``taken`` says it is in use."""
    candidate, number = base, 1
    while taken(candidate):
        number += 1
        candidate = f"{base}{joiner}{number}"
    return candidate


def _unique_username(email: str) -> str:
    base = email.split("@", 1)[0][:140] or "user"
    return _first_free(base, lambda name: User.objects.filter(username=name).exists())


def user_create(
    *,
    actor: Actor,
    email: str,
    first_name: str = "",
    last_name: str = "",
    role: Role | None = None,
    teams: Iterable[Team] = (),
    password: str | None = None,
    timezone: str = "UTC",
    language: str = "en",
) -> User:
    """Add a user (admins only). Without a password the account cannot sign in
    until its owner sets one through the invitation email."""
    require_admin(actor.user)
    values = _clean_person(
        {
            "email": email,
            "first_name": first_name,
            "last_name": last_name,
            "timezone": timezone,
            "language": language,
        }
    )
    user = User(username=_unique_username(values["email"]), role=role, **values)
    if password:
        try:
            validate_password(password, user)
        except ValidationError as error:
            raise ValidationError({"password": error.messages}) from None
        user.set_password(password)
    else:
        user.set_unusable_password()
    with transaction.atomic():
        user.save()
        team_list = list(teams)
        user.teams.set(team_list)
        _write(
            user,
            actor=actor,
            action=AuditAction.CREATE,
            before={},
            event="user.created",
            extra_changes={"teams": [None, sorted(team.pk for team in team_list)]},
        )
    return user


def _admin_count_without(user: User) -> int:
    return (
        User.objects.filter(is_active=True)
        .filter(models.Q(is_superuser=True) | models.Q(role__is_admin=True))
        .exclude(pk=user.pk)
        .count()
    )


def _admins_outside(role: Role) -> bool:
    """Whether some active admin holds admin rights other than through ``role``."""
    return (
        User.objects.filter(is_active=True)
        .filter(models.Q(is_superuser=True) | models.Q(role__is_admin=True))
        .exclude(role=role, is_superuser=False)
        .exists()
    )


def user_update(
    user: User, *, actor: Actor, teams: Iterable[Team] | None = None, **changes: Any
) -> User:
    """Change a user's details, role, teams or active flag (admins only).

    Refuses to leave the workspace without an active admin."""
    require_admin(actor.user)
    unknown = set(changes) - set(USER_FIELDS)
    if unknown:
        raise ValidationError({name: [_("This field cannot be changed.")] for name in unknown})
    changes = _clean_person(changes, instance=user)
    loses_admin = (changes.get("is_active") is False) or (
        "role" in changes and not (changes["role"] and changes["role"].is_admin)
    )
    if loses_admin and user.is_admin and not _admin_count_without(user):
        raise ValidationError(
            {"role": [_("Rapport needs at least one active admin; appoint another admin first.")]}
        )
    with transaction.atomic():
        before = snapshot(user)
        old_teams = sorted(user.teams.values_list("pk", flat=True))
        for name, value in changes.items():
            setattr(user, name, value)
        user.save()
        if user.role and user.role.requires_two_factor and user.role_id != before["role"]:
            end_sessions_without_two_factor(User.objects.filter(pk=user.pk))
        extra = {}
        if teams is not None:
            new_teams = sorted(team.pk for team in teams)
            user.teams.set(new_teams)
            if new_teams != old_teams:
                extra["teams"] = [old_teams, new_teams]
        _write(
            user,
            actor=actor,
            action=AuditAction.UPDATE,
            before=before,
            event="user.updated",
            extra_changes=extra,
        )
    return user


def send_invitation(user: User, *, actor: Actor, base_url: str) -> None:
    """Email ``user`` a link to choose their password (admins only).

    Django's password reset skips accounts without a usable password, so an
    account created without one is reached this way; the link is the same
    reset-confirm page, signed by ``default_token_generator``, and stops
    working once the password is set or ``PASSWORD_RESET_TIMEOUT`` passes.
    Mail errors (``smtplib.SMTPException``, ``OSError``) reach the caller.
    """
    require_admin(actor.user)
    if not user.is_active:
        raise ValidationError(_("Reactivate the user before inviting them."))
    path = reverse(
        "accounts:password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    context = {
        "user": user,
        "invited_by": actor.user,
        "link": base_url.rstrip("/") + path,
        "valid_hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
    }
    # In the language the admin chose for the new user, who reads it, not the admin's own.
    with translation.override(user.language):
        subject = render_to_string("accounts/email/invitation_subject.txt", context)
        body = render_to_string("accounts/email/invitation.txt", context)
    send_mail(" ".join(subject.split()), body, None, [user.email])


def profile_update(user: User, *, actor: Actor, **changes: Any) -> User:
    """A user changes their own name, time zone or language."""
    if actor.user is None or actor.user.pk != user.pk:
        raise PermissionDenied
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ValidationError({name: [_("This field cannot be changed.")] for name in unknown})
    changes = _clean_person(changes, instance=user)
    with transaction.atomic():
        before = snapshot(user)
        for name, value in changes.items():
            setattr(user, name, value)
        user.save()
        _write(user, actor=actor, action=AuditAction.UPDATE, before=before, event="user.updated")
    return user


def _clean_team(values: dict[str, Any], *, instance: Team | None = None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    if "name" in values:
        values["name"] = (values["name"] or "").strip()
        taken = Team.objects.filter(name__iexact=values["name"])
        if instance is not None:
            taken = taken.exclude(pk=instance.pk)
        if not values["name"]:
            errors["name"] = [_("Give the team a name.")]
        elif len(values["name"]) > 100:
            errors["name"] = [_("Use at most 100 characters.")]
        elif taken.exists():
            errors["name"] = [_("A team with this name already exists.")]
    if "description" in values:
        values["description"] = (values["description"] or "").strip()[:300]
    if errors:
        raise ValidationError(errors)
    return values


def team_create(
    *,
    actor: Actor,
    name: str,
    description: str = "",
    manager: User | None = None,
    members: Iterable[User] = (),
) -> Team:
    require_admin(actor.user)
    values = _clean_team({"name": name, "description": description})
    with transaction.atomic():
        team = Team.objects.create(manager=manager, **values)
        member_ids = sorted(member.pk for member in members)
        team.members.set(member_ids)
        _write(
            team,
            actor=actor,
            action=AuditAction.CREATE,
            before={},
            event="team.created",
            extra_changes={"members": [None, member_ids]},
        )
    return team


def team_update(
    team: Team,
    *,
    actor: Actor,
    expected_version: int | None = None,
    members: Iterable[User] | None = None,
    **changes: Any,
) -> Team:
    require_admin(actor.user)
    unknown = set(changes) - set(TEAM_FIELDS)
    if unknown:
        raise ValidationError({name: [_("This field cannot be changed.")] for name in unknown})
    changes = _clean_team(changes, instance=team)
    with transaction.atomic():
        team = Team.objects.select_for_update().get(pk=team.pk)
        _check_version(team, expected_version)
        before = snapshot(team)
        old_members = sorted(team.members.values_list("pk", flat=True))
        for name, value in changes.items():
            setattr(team, name, value)
        extra = {}
        if members is not None:
            new_members = sorted(member.pk for member in members)
            team.members.set(new_members)
            if new_members != old_members:
                extra["members"] = [old_members, new_members]
        if diff(before, snapshot(team)) or extra:
            team.version = F("version") + 1
            team.save()
            team.refresh_from_db()
            _write(
                team,
                actor=actor,
                action=AuditAction.UPDATE,
                before=before,
                event="team.updated",
                extra_changes=extra,
            )
    return team


def team_delete(team: Team, *, actor: Actor, expected_version: int | None = None) -> None:
    """Delete a team; its members stay, records keep their owner and lose the team."""
    require_admin(actor.user)
    with transaction.atomic():
        team = Team.objects.select_for_update().get(pk=team.pk)
        _check_version(team, expected_version)
        audit_log(actor=actor, action=AuditAction.PURGE, obj=team, changes={})
        emit("team.deleted", obj=team, actor=actor, payload={"name": team.name})
        team.delete()


def _clean_role(values: dict[str, Any], *, instance: Role | None = None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    if "name" in values:
        values["name"] = (values["name"] or "").strip()
        taken = Role.objects.filter(name__iexact=values["name"])
        if instance is not None:
            taken = taken.exclude(pk=instance.pk)
        if not values["name"]:
            errors["name"] = [_("Give the role a name.")]
        elif taken.exists():
            errors["name"] = [_("A role with this name already exists.")]
    if "permissions" in values:
        try:
            values["permissions"] = clean_permissions(values["permissions"])
        except ValidationError as error:
            errors["permissions"] = error.messages
    if "field_rules" in values:
        try:
            values["field_rules"] = clean_field_rules(values["field_rules"])
        except ValidationError as error:
            errors["field_rules"] = error.messages
    if errors:
        raise ValidationError(errors)
    return values


def clean_permissions(grants: Any) -> dict[str, dict[str, str]]:
    """``{object_type: {action: scope}}`` with known actions and scopes only."""
    if not isinstance(grants, dict):
        raise ValidationError(_("Permissions must map object types to actions."))
    cleaned: dict[str, dict[str, str]] = {}
    for type_name, actions in grants.items():
        if not isinstance(actions, dict):
            raise ValidationError(
                _("Permissions of %(type)s must map actions to scopes.") % {"type": type_name}
            )
        for action, granted in actions.items():
            if action not in ACTIONS:
                raise ValidationError(_("Unknown action %(action)s.") % {"action": action})
            if granted not in Scope.values:
                raise ValidationError(_("Unknown scope %(scope)s.") % {"scope": granted})
        cleaned[str(type_name)] = {
            action: actions[action] for action in ACTIONS if action in actions
        }
    return cleaned


def clean_field_rules(rules: Any) -> dict[str, dict[str, str]]:
    """``{object_type: {field: access}}`` naming installed object types, fields a rule
    may name (``core.permissions.rule_fields``) and known accesses. A normal access is
    kept only for sensitive custom fields, where it is what shows them."""
    from rapport.core.registry import record_models

    if not isinstance(rules, dict):
        raise ValidationError(_("Field rules must map object types to fields."))
    models_by_type = {object_type(model): model for model in record_models()}
    cleaned: dict[str, dict[str, str]] = {}
    for type_name, fields in rules.items():
        model = models_by_type.get(type_name)
        if model is None or not isinstance(fields, dict):
            raise ValidationError(_("Unknown object type %(type)s.") % {"type": type_name})
        known = dict(rule_fields(model))
        sensitive = sensitive_custom_fields(model)
        row: dict[str, str] = {}
        for name, access in fields.items():
            if name not in known:
                raise ValidationError(
                    _("%(type)s has no field %(field)s a rule may name.")
                    % {"type": type_name, "field": name}
                )
            if access not in FieldAccess.values:
                raise ValidationError(_("Unknown field access %(access)s.") % {"access": access})
            if access != FieldAccess.NORMAL or name in sensitive:
                row[name] = access
        if row:
            cleaned[type_name] = row
    return cleaned


def _role_slug(name: str) -> str:
    base = slugify(name)[:45] or "role"
    return _first_free(base, lambda slug: Role.objects.filter(slug=slug).exists(), joiner="-")


def role_create(
    *,
    actor: Actor,
    name: str,
    description: str = "",
    is_admin: bool = False,
    requires_two_factor: bool = False,
    permissions: dict[str, dict[str, str]] | None = None,
    field_rules: dict[str, dict[str, str]] | None = None,
) -> Role:
    require_admin(actor.user)
    values = _clean_role(
        {
            "name": name,
            "description": description,
            "permissions": permissions or {},
            "field_rules": field_rules or {},
        }
    )
    with transaction.atomic():
        role = Role.objects.create(
            slug=_role_slug(values["name"]),
            is_admin=is_admin,
            requires_two_factor=requires_two_factor,
            **values,
        )
        _write(role, actor=actor, action=AuditAction.CREATE, before={}, event="role.created")
    return role


def role_update(role: Role, *, actor: Actor, **changes: Any) -> Role:
    """Change a role. The shipped roles keep their name and admin flag; their grants may change."""
    require_admin(actor.user)
    unknown = set(changes) - set(ROLE_FIELDS)
    if unknown:
        raise ValidationError({name: [_("This field cannot be changed.")] for name in unknown})
    if role.is_system:
        locked = {"name", "is_admin"} & {
            name for name, value in changes.items() if value != getattr(role, name)
        }
        if locked:
            raise ValidationError(
                {name: [_("Built-in roles keep their name and admin flag.")] for name in locked}
            )
    changes = _clean_role(changes, instance=role)
    if role.is_admin and changes.get("is_admin") is False and not _admins_outside(role):
        raise ValidationError(
            {
                "is_admin": [
                    _("Rapport needs at least one active admin; appoint another admin first.")
                ]
            }
        )
    with transaction.atomic():
        before = snapshot(role)
        for name, value in changes.items():
            setattr(role, name, value)
        role.save()
        if role.requires_two_factor and not before["requires_two_factor"]:
            end_sessions_without_two_factor(User.objects.filter(role=role))
        _write(role, actor=actor, action=AuditAction.UPDATE, before=before, event="role.updated")
    return role


def role_delete(role: Role, *, actor: Actor) -> None:
    """Delete a role nobody holds; built-in roles cannot be deleted."""
    require_admin(actor.user)
    if role.is_system:
        raise ValidationError(_("Built-in roles cannot be deleted."))
    if role.users.exists():
        raise ValidationError(_("Move the users who hold this role to another role first."))
    with transaction.atomic():
        audit_log(actor=actor, action=AuditAction.PURGE, obj=role, changes={})
        emit("role.deleted", obj=role, actor=actor, payload={"name": role.name})
        role.delete()
