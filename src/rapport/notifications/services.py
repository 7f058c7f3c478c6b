"""Notify users, mark their notifications read, and keep their email choices.

Any app tells users about something with ``notify``; the bell, the centre and
the daily digest show what it wrote. A notification is private to its
recipient: only they read it or mark it read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from rapport.core.actors import Actor
from rapport.notifications.digest import next_digest_time
from rapport.notifications.models import Notification, NotificationPreference

if TYPE_CHECKING:
    from rapport.accounts.models import User

TITLE_MAX_LENGTH = Notification._meta.get_field("title").max_length
URL_MAX_LENGTH = Notification._meta.get_field("url").max_length


def is_local_path(url: str) -> bool:
    """Whether ``url`` is a path on this site (``/tasks/3/``), so redirecting to it can
    never send a user elsewhere: no scheme, no host, no ``//`` or ``\\`` tricks."""
    return (
        url.startswith("/")
        and not url.startswith(("//", "/\\"))
        and url.isprintable()
        and url_has_allowed_host_and_scheme(url, allowed_hosts=set())
    )


def _title_for(user: User, title: str | Promise) -> str:
    # A lazy title is translated into each recipient's own language.
    with translation.override(user.language):
        text = str(title)
    return text[:TITLE_MAX_LENGTH]


def notify(
    *,
    recipients: Iterable[User],
    actor: Actor,
    title: str | Promise,
    url: str,
    kind: str,
) -> list[Notification]:
    """Notify each active recipient once, except the actor themselves (one insert).

    ``url`` must be a local path (``/contacts/3/``) or empty; pass a lazy
    ``title`` (``gettext_lazy``, ``format_lazy``) to have it translated per
    recipient."""
    if url and not (len(url) <= URL_MAX_LENGTH and is_local_path(url)):
        raise ValidationError({"url": [_("Link to a page of this site, such as /tasks/3/.")]})
    acting_id = actor.user.pk if actor.user is not None else None
    unique = {user.pk: user for user in recipients if user.pk != acting_id and user.is_active}
    label = str(actor.user) if actor.user is not None else ""
    now = timezone.now()
    rows = [
        Notification(
            recipient=user,
            actor_label=label[:200],
            kind=kind,
            title=_title_for(user, title),
            url=url,
            created_at=now,
        )
        for user in unique.values()
    ]
    with transaction.atomic():
        return Notification.objects.bulk_create(rows)


def _own(notification: Notification, actor: Actor) -> None:
    if actor.user is None or notification.recipient_id != actor.user.pk:
        raise Http404


def notification_mark_read(notification: Notification, *, actor: Actor) -> Notification:
    """Mark one of the actor's notifications read (again: no change)."""
    _own(notification, actor)
    if notification.read_at is None:
        now = timezone.now()
        # Conditional, so a second tab marking it too keeps the first moment.
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
        notification.read_at = now
    return notification


def notifications_mark_all_read(*, actor: Actor) -> int:
    """Mark every unread notification of the actor read; how many were."""
    if actor.user is None:
        raise PermissionDenied
    return Notification.objects.filter(recipient=actor.user, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def preferences_for(user: User) -> NotificationPreference:
    """The user's settings; the defaults, unsaved, if they never chose."""
    try:
        return NotificationPreference.objects.get(user=user)
    except NotificationPreference.DoesNotExist:
        return NotificationPreference(user=user)


def preferences_update(
    user: User, *, actor: Actor, email_digest: bool, email_reminders: bool
) -> NotificationPreference:
    """A user chooses what reaches them by email. The first digest comes the next morning."""
    if actor.user is None or actor.user.pk != user.pk:
        raise PermissionDenied
    with transaction.atomic():
        preference, _created = NotificationPreference.objects.select_for_update().get_or_create(
            user=user
        )
        if email_digest and (not preference.email_digest or preference.next_digest_at is None):
            preference.next_digest_at = next_digest_time(user, timezone.now())
        if not email_digest:
            preference.next_digest_at = None
        preference.email_digest = email_digest
        preference.email_reminders = email_reminders
        preference.save()
    return preference


def wants_email_reminders(users: Iterable[User]) -> set[int]:
    """The ids of ``users`` who chose to get reminders by email (one query)."""
    ids = [user.pk for user in users]
    return set(
        NotificationPreference.objects.filter(user_id__in=ids, email_reminders=True).values_list(
            "user_id", flat=True
        )
    )
