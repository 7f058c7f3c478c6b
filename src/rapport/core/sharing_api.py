"""/records/{object_type}/{object_id}/shares: one generic endpoint for the shares of
any record type (contacts.contact, sales.deal…), read by whoever may see the record
and changed by whoever may edit it."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.responses import Status

from rapport.accounts.models import Team, User
from rapport.core.api import actor, current_user, problems
from rapport.core.models import RecordShare, ShareAccess
from rapport.core.permissions import get_visible_or_404
from rapport.core.registry import primary_key, record_model
from rapport.core.sharing import share_of, share_record, shares_of, unshare_record

router = Router(tags=["sharing"])

PATH = "/records/{object_type}/{object_id}/shares"


class ShareOut(Schema):
    id: int
    user: int | None = Field(alias="user_id", description="The user shared with, or null.")
    team: int | None = Field(alias="team_id", description="The team shared with, or null.")
    access: ShareAccess = Field(description="read: view it; edit: view and change it.")
    created_at: datetime.datetime
    created_by: int | None = Field(alias="created_by_id")


class ShareIn(Schema):
    user: int | None = Field(None, description="A user id; give a user or a team.")
    team: int | None = Field(None, description="A team id; give a user or a team.")
    access: ShareAccess = ShareAccess.READ


def _record(request: HttpRequest, object_type: str, object_id: str) -> object:
    model = record_model(object_type)
    return get_visible_or_404(
        model.objects.all(), current_user(request), pk=primary_key(model, object_id)
    )


@router.get(PATH, response={200: list[ShareOut], **problems(404)})
def share_list(request: HttpRequest, object_type: str, object_id: str) -> list[RecordShare]:
    """Who the record is shared with, beyond their roles' scope."""
    return list(shares_of(_record(request, object_type, object_id)))


@router.post(PATH, response={201: ShareOut, **problems(403, 404, 422)})
def share_create(
    request: HttpRequest, response: HttpResponse, object_type: str, object_id: str, payload: ShareIn
) -> Status:
    """Share the record with a user or a team (needs the right to edit it). Sharing
    again with the same user or team changes the access."""
    record = _record(request, object_type, object_id)
    user = User.objects.filter(pk=payload.user).first() if payload.user is not None else None
    team = Team.objects.filter(pk=payload.team).first() if payload.team is not None else None
    errors = {}
    if payload.user is not None and user is None:
        errors["user"] = [_("There is no such user.")]
    if payload.team is not None and team is None:
        errors["team"] = [_("There is no such team.")]
    if errors:
        raise ValidationError(errors)
    share = share_record(record, actor=actor(request), user=user, team=team, access=payload.access)
    return Status(201, share)


@router.delete(f"{PATH}/{{int:share_id}}", response={204: None, **problems(403, 404)})
def share_delete(request: HttpRequest, object_type: str, object_id: str, share_id: int) -> Status:
    """Stop sharing the record with that user or team (needs the right to edit it)."""
    record = _record(request, object_type, object_id)
    unshare_record(share_of(record, share_id), actor=actor(request))
    return Status(204, None)
