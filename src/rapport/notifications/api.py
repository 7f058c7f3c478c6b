"""API for one's own notifications: list, mark one read, mark all read."""

from __future__ import annotations

import datetime

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema

from rapport.core.api import PageOut, PageParams, actor, current_user, paginate, problems
from rapport.notifications import services
from rapport.notifications.models import Notification

router = Router(tags=["notifications"])


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    url: str = Field(description="A path on this site; empty when it points nowhere.")
    actor_label: str = Field(description="Who caused it, as named then.")
    created_at: datetime.datetime
    read_at: datetime.datetime | None
    emailed_at: datetime.datetime | None


class NotificationFilters(Schema):
    unread: bool | None = Field(None, description="true: only the unread ones.")


class MarkedOut(Schema):
    marked: int


@router.get("/notifications", response={200: PageOut[NotificationOut], **problems(400, 422)})
def notification_list(
    request: HttpRequest,
    response: HttpResponse,
    filters: Query[NotificationFilters],
    page: Query[PageParams],
) -> dict:
    """Your notifications, newest first."""
    notifications = Notification.objects.filter(recipient=current_user(request))
    if filters.unread:
        notifications = notifications.filter(read_at__isnull=True)
    return paginate(request, response, notifications, ordering=["-created_at", "-id"], params=page)


@router.post(
    "/notifications/{int:notification_id}/read", response={200: NotificationOut, **problems(404)}
)
def notification_read(request: HttpRequest, notification_id: int) -> Notification:
    notification = get_object_or_404(
        Notification, pk=notification_id, recipient=current_user(request)
    )
    return services.notification_mark_read(notification, actor=actor(request))


@router.post("/notifications/read-all", response={200: MarkedOut, **problems()})
def notifications_read_all(request: HttpRequest) -> dict:
    """Mark all your unread notifications read; how many were."""
    return {"marked": services.notifications_mark_all_read(actor=actor(request))}
