"""Sharing a record with a user or a team beyond their role's scope.

A share grants read (view) or edit (view and change) access to one record;
``core.permissions.scope`` and ``can`` read the shares. Sharing and unsharing
need the right to edit the record, and each is an audit entry on the record.
"""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.http import Http404
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.accounts.models import Team, User
from rapport.core.actors import Actor
from rapport.core.audit import audit_log
from rapport.core.models import AuditAction, RecordShare, ShareAccess
from rapport.core.permissions import require, shareable


def shares_of(obj: models.Model) -> models.QuerySet[RecordShare]:
    """The shares of one record, users and teams loaded alongside."""
    content_type = ContentType.objects.get_for_model(obj)
    return RecordShare.objects.filter(content_type=content_type, object_id=obj.pk).select_related(
        "user", "team", "created_by"
    )


def share_label(share: RecordShare) -> str:
    return _("%(whom)s (%(access)s)") % {
        "whom": share.user or share.team,
        "access": share.get_access_display(),
    }


def _require_shareable(obj: models.Model, actor: Actor) -> None:
    if not shareable(type(obj)):
        raise Http404
    require(actor.user, "edit", obj)
    if getattr(obj, "is_deleted", False):
        raise Http404


def share_record(
    obj: models.Model,
    *,
    actor: Actor,
    user: User | None = None,
    team: Team | None = None,
    access: str = ShareAccess.READ,
) -> RecordShare:
    """Share ``obj`` with one user or one team (read or edit); sharing again with the
    same user or team changes the access. Needs the right to edit ``obj``."""
    _require_shareable(obj, actor)
    errors: dict[str, list[str]] = {}
    if (user is None) == (team is None):
        errors["user"] = [_("Choose a user or a team to share with.")]
    if user is not None and not user.is_active:
        errors["user"] = [_("Choose an active user.")]
    if access not in ShareAccess.values:
        errors["access"] = [_("Choose read or edit access.")]
    if errors:
        raise ValidationError(errors)
    content_type = ContentType.objects.get_for_model(obj)
    with transaction.atomic():
        share, created = RecordShare.objects.select_for_update().get_or_create(
            content_type=content_type,
            object_id=obj.pk,
            user=user,
            team=team,
            defaults={"access": access, "created_by": actor.user},
        )
        before = None if created else share_label(share)
        if not created and share.access == access:
            return share
        share.access = access
        share.save(update_fields=["access"])
        audit_log(
            actor=actor,
            action=AuditAction.SHARE,
            obj=obj,
            changes={"shared_with": [before, share_label(share)]},
        )
        _notify(obj, share, actor)
    return share


def unshare_record(share: RecordShare, *, actor: Actor) -> None:
    """Remove one share of a record. Needs the right to edit the record."""
    # Trashed records too: a share of one in the trash is "not found" below, not a crash.
    obj = share.content_type.model_class()._base_manager.get(pk=share.object_id)
    _require_shareable(obj, actor)
    with transaction.atomic():
        share = (
            RecordShare.objects.select_for_update(of=("self",))
            .select_related("user", "team")
            .get(pk=share.pk)
        )
        audit_log(
            actor=actor,
            action=AuditAction.UNSHARE,
            obj=obj,
            changes={"shared_with": [share_label(share), None]},
        )
        share.delete()


def share_of(obj: models.Model, share_id: int) -> RecordShare:
    """One share of ``obj``; 404 for another record's."""
    share = shares_of(obj).filter(pk=share_id).first()
    if share is None:
        raise Http404
    return share


def _notify(obj: models.Model, share: RecordShare, actor: Actor) -> None:
    from rapport.notifications.services import notify

    recipients = [share.user] if share.user else list(share.team.members.filter(is_active=True))
    url = obj.get_absolute_url() if hasattr(obj, "get_absolute_url") else ""
    notify(
        recipients=recipients,
        actor=actor,
        title=format_lazy(gettext_lazy("{record} was shared with you"), record=str(obj)),
        url=url,
        kind="record.shared",
    )
