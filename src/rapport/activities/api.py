"""API for activities: list (by linked record and kind), create with links, read,
update and delete. Thin: reads through ``activities.queries``, writes through
``activities.services``; an activity or record the caller may not see answers 404."""

from __future__ import annotations

import datetime
import zoneinfo
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router
from ninja.responses import Status

from rapport.accounts.models import User
from rapport.activities import queries, services
from rapport.activities.links import Target, linkable_models
from rapport.activities.models import Activity
from rapport.activities.schemas import ActivityFilters, ActivityIn, ActivityOut, ActivityPatch
from rapport.core.api import (
    IF_MATCH,
    IF_NONE_MATCH,
    PageOut,
    PageParams,
    actor,
    created,
    current_user,
    paginate,
    problems,
    trashed,
)
from rapport.core.etag import conditional_read, expected_version, set_etag
from rapport.core.permissions import get_visible_or_404

router = Router(tags=["activities"])

TIMES = ("occurred_at", "starts_at", "ends_at")
RELATIONS = ("attendee_users", "attendee_contacts", "mentions")


def _visible_activity(request: HttpRequest, activity_id: int) -> Activity:
    return get_visible_or_404(
        queries.with_details(Activity.objects.all()), current_user(request), pk=activity_id
    )


def _aware(moment: datetime.datetime, user: User) -> datetime.datetime:
    """A time without an offset is one on the caller's clock."""
    if timezone.is_aware(moment):
        return moment
    try:
        zone = zoneinfo.ZoneInfo(user.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = datetime.UTC
    return timezone.make_aware(moment, zone)


def _service_arguments(request: HttpRequest, data: dict[str, Any]) -> dict[str, Any]:
    """``values``, ``links`` and the attendee and mention ids of a create or update body."""
    arguments: dict[str, Any] = {name: data.pop(name) for name in RELATIONS if name in data}
    if "links" in data:
        arguments["links"] = [
            (link["object_type"], link["object_id"]) for link in data.pop("links")
        ]
    for name in TIMES:
        if data.get(name) is not None:
            data[name] = _aware(data[name], current_user(request))
    if "occurred_at" in data and data["occurred_at"] is None:
        del data["occurred_at"]  # now, the model's default
    arguments["values"] = data
    return arguments


def _filtered_record(request: HttpRequest, filters: ActivityFilters) -> Target | None:
    """The record whose activities are asked for; 404 if the caller may not see it."""
    if filters.object_type is None and filters.object_id is None:
        return None
    if filters.object_type is None or filters.object_id is None:
        raise ValidationError({"object_id": [_("Give object_type and object_id together.")]})
    models_by_label = linkable_models()
    model = models_by_label.get(filters.object_type)
    if model is None:
        types = ", ".join(sorted(models_by_label))
        raise ValidationError({"object_type": [_("Use one of: %(types)s.") % {"types": types}]})
    record = get_visible_or_404(model.objects.all(), current_user(request), pk=filters.object_id)
    return Target.of(record)


def _reread(activity: Activity) -> Activity:
    return queries.with_details(Activity.all_objects.all()).get(pk=activity.pk)


@router.get("/activities", response={200: PageOut[ActivityOut], **problems(400, 404, 422)})
def activity_list(
    request: HttpRequest,
    response: HttpResponse,
    filters: Query[ActivityFilters],
    page: Query[PageParams],
) -> dict:
    """The activities you may see, newest first: of one record (object_type and object_id,
    404 if you may not see it) and of some kinds."""
    activities: models.QuerySet[Activity] = queries.visible_activities(current_user(request))
    target = _filtered_record(request, filters)
    if target is not None:
        activities = queries.linked_to(activities, target)
    if filters.kind:
        activities = activities.filter(kind__in=filters.kind)
    return paginate(
        request,
        response,
        queries.with_details(activities),
        ordering=["-occurred_at", "-id"],
        params=page,
    )


@router.get(
    "/activities/{int:activity_id}",
    response={200: ActivityOut, 304: None, **problems(404)},
    openapi_extra=IF_NONE_MATCH,
)
def activity_detail(request: HttpRequest, response: HttpResponse, activity_id: int) -> object:
    """One activity, with its ETag; send it as If-None-Match to get 304 when unchanged."""
    return conditional_read(request, response, _visible_activity(request, activity_id))


@router.post("/activities", response={201: ActivityOut, **problems(403, 422)})
def activity_create(request: HttpRequest, response: HttpResponse, payload: ActivityIn) -> Status:
    """Log an activity on the records it links to (you must see each of them)."""
    data = payload.model_dump(exclude_unset=True)
    data.setdefault("links", [])
    kind = data.pop("kind")
    activity = services.activity_create(
        actor=actor(request), kind=kind, **_service_arguments(request, data)
    )
    activity = _reread(activity)
    return created(response, activity, "api:activity_detail", activity_id=activity.pk)


@router.patch(
    "/activities/{int:activity_id}",
    response={200: ActivityOut, **problems(400, 403, 404, 412, 422)},
    openapi_extra=IF_MATCH,
)
def activity_update(
    request: HttpRequest, response: HttpResponse, activity_id: int, payload: ActivityPatch
) -> Activity:
    """Change an activity; links and attendees given replace its own. Honours If-Match."""
    activity = services.activity_update(
        _visible_activity(request, activity_id),
        actor=actor(request),
        expected_version=expected_version(request),
        **_service_arguments(request, payload.model_dump(exclude_unset=True)),
    )
    activity = _reread(activity)
    set_etag(response, activity)
    return activity


@router.delete(
    "/activities/{int:activity_id}",
    response={204: None, **problems(400, 403, 404, 412)},
    openapi_extra=IF_MATCH,
)
def activity_delete(request: HttpRequest, activity_id: int) -> Status:
    """Move an activity to the trash. Honours If-Match."""
    return trashed(request, services.activity_delete, _visible_activity(request, activity_id))
