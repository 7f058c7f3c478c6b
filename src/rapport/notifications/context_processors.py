"""The bell's unread count, on every page a signed-in user sees."""

from __future__ import annotations

from django.http import HttpRequest

from rapport.notifications.models import Notification

# The bell shows "99+" past this: counting further costs time and tells nothing.
UNREAD_SHOWN_MAX = 99


def unread_count(user: object) -> int:
    """At most ``UNREAD_SHOWN_MAX + 1``: a LIMITed count over the unread index."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True)[
        : UNREAD_SHOWN_MAX + 1
    ].count()


def unread_notifications(request: HttpRequest) -> dict:
    """A callable, so the query runs only if the page renders the bell."""
    if not request.user.is_authenticated:
        return {}
    return {
        "notifications_unread": lambda: unread_count(request.user),
        "notifications_unread_max": UNREAD_SHOWN_MAX,
    }
