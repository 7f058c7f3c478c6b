"""Connecting mailboxes: the services behind the mailbox pages and API.

Rules:
- Any signed-in user connects a mailbox of their own; a team mailbox needs the
  user to be in that team (admins: any team). Its owner and admins change,
  sync or disconnect it; teammates see a team mailbox but not its password.
- The password is stored encrypted (``core.secrets``) and never shown again;
  leaving it blank on a change keeps it.
- Before it is saved, a new or changed connection is tried: the server must
  accept the login and have both folders, or nothing is saved and the form says
  what failed.
- Sharing a mailbox, or stopping to, changes who sees the emails it already
  brought in: private to the owner (or team) unless shared.
- Disconnecting keeps the emails on the timelines.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _

from rapport.activities.models import Activity
from rapport.core.actors import Actor
from rapport.core.audit import audit_log, diff, snapshot
from rapport.core.events import emit
from rapport.core.models import AuditAction
from rapport.core.permissions import team_ids
from rapport.core.secrets import encrypt
from rapport.mail import imap
from rapport.mail.models import InboundMessage, Mailbox
from rapport.mail.queries import can_manage_mailbox, visible_mailboxes

MAILBOX_FIELDS = (
    "name",
    "host",
    "port",
    "security",
    "username",
    "address",
    "inbox_folder",
    "sent_folder",
    "team",
    "shared",
    "create_contacts",
    "active",
)
CONNECTION_FIELDS = frozenset(
    {"host", "port", "security", "username", "inbox_folder", "sent_folder"}
)


def _signed_in(actor: Actor) -> None:
    if actor.user is None or not actor.user.is_active:
        raise PermissionDenied


def _require_manager(actor: Actor, mailbox: Mailbox) -> None:
    _signed_in(actor)
    if not visible_mailboxes(actor.user).filter(pk=mailbox.pk).exists():
        raise Http404
    if not can_manage_mailbox(actor.user, mailbox):
        raise PermissionDenied(_("Only its owner and admins change a mailbox."))


def _apply(mailbox: Mailbox, actor: Actor, values: Mapping[str, Any], password: str) -> None:
    unknown = set(values) - set(MAILBOX_FIELDS)
    if unknown:
        raise ValueError(f"Not mailbox fields: {sorted(unknown)}")
    for name, value in values.items():
        setattr(mailbox, name, value.strip() if isinstance(value, str) else value)
    errors: dict[str, list[str]] = {}
    if password:
        mailbox.password_encrypted = encrypt(password)
    elif not mailbox.password_encrypted:
        errors["password"] = [_("This field is required.")]
    team_id = mailbox.team_id
    if team_id is not None and not actor.user.is_admin and team_id not in team_ids(actor.user):
        errors["team"] = [_("Choose one of your teams.")]
    try:
        mailbox.full_clean(exclude=["owner", "password_encrypted"])
    except ValidationError as error:
        errors = error.message_dict | errors
    if errors:
        raise ValidationError(errors)


def _check(mailbox: Mailbox) -> None:
    try:
        imap.check_connection(mailbox)
    except imap.SyncError as error:
        raise ValidationError({NON_FIELD_ERRORS: [str(error)]}) from None


def _share_logged_emails(mailbox: Mailbox) -> None:
    """Make the emails the mailbox brought in private, or not, as it now says."""
    private_user = None if mailbox.shared or mailbox.team_id else mailbox.owner_id
    private_team = None if mailbox.shared else mailbox.team_id
    logged = InboundMessage.objects.filter(mailbox=mailbox, activity__isnull=False)
    Activity.all_objects.filter(pk__in=logged.values("activity")).update(
        private_to_user_id=private_user, private_to_team_id=private_team
    )


def mailbox_connect(
    *, actor: Actor, password: str, values: Mapping[str, Any], check: bool = True
) -> Mailbox:
    """Connect a mailbox owned by the actor, once the server accepted its login."""
    _signed_in(actor)
    mailbox = Mailbox(owner=actor.user)
    _apply(mailbox, actor, values, password)
    if check:
        _check(mailbox)
    with transaction.atomic():
        mailbox.save()
        audit_log(
            actor=actor, action=AuditAction.CREATE, obj=mailbox, changes=diff({}, snapshot(mailbox))
        )
        emit("mailbox.connected", obj=mailbox, actor=actor)
    return mailbox


def mailbox_update(
    mailbox: Mailbox,
    *,
    actor: Actor,
    values: Mapping[str, Any],
    password: str = "",
    check: bool = True,
) -> Mailbox:
    """Change a mailbox; a changed connection is tried first, and a change of sharing
    or team applies to the emails it already brought in."""
    _require_manager(actor, mailbox)
    with transaction.atomic():
        mailbox = Mailbox.objects.select_for_update().get(pk=mailbox.pk)
        before = snapshot(mailbox)
        _apply(mailbox, actor, values, password)
        changes = diff(before, snapshot(mailbox))
        if check and (password or CONNECTION_FIELDS & changes.keys()):
            _check(mailbox)
        if not changes and not password:
            return mailbox
        mailbox.last_error = ""
        mailbox.save()
        if {"shared", "team"} & changes.keys():
            _share_logged_emails(mailbox)
        audit_log(actor=actor, action=AuditAction.UPDATE, obj=mailbox, changes=changes)
        emit("mailbox.updated", obj=mailbox, actor=actor, payload={"changes": changes})
    return mailbox


def mailbox_disconnect(mailbox: Mailbox, *, actor: Actor) -> None:
    """Stop syncing and forget the mailbox; the emails it brought in stay."""
    _require_manager(actor, mailbox)
    with transaction.atomic():
        audit_log(actor=actor, action=AuditAction.PURGE, obj=mailbox, changes={})
        emit("mailbox.disconnected", obj=mailbox, actor=actor, payload={"name": mailbox.name})
        mailbox.delete()


def mailbox_sync(mailbox: Mailbox, *, actor: Actor) -> int:
    """Read the mailbox's new messages now; how many were read. A server that cannot be
    read is a ``ValidationError`` saying why."""
    _require_manager(actor, mailbox)
    try:
        return imap.sync_mailbox(mailbox)
    except imap.SyncError as error:
        raise ValidationError({NON_FIELD_ERRORS: [str(error)]}) from None
