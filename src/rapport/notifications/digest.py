"""The daily email digest: each morning, in their own time zone and language, every
user who asked for it gets one email listing their unread notifications that no
digest has listed yet.

The job claims one user's settings row at a time (``SELECT … FOR UPDATE SKIP
LOCKED`` on PostgreSQL; SQLite runs write transactions one at a time), sends,
marks the notifications emailed and moves ``next_digest_at`` to the next
morning in the same transaction, so two workers never send the same digest.
If the mail server refuses, the transaction is rolled back and the next sweep
tries again. A worker that was down sends the missed digest once when it
comes back, not one per missed day.
"""

from __future__ import annotations

import datetime
import logging
import smtplib
import zoneinfo
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from rapport.core.schedule import every
from rapport.notifications.models import Notification, NotificationPreference

if TYPE_CHECKING:
    from rapport.accounts.models import User

logger = logging.getLogger(__name__)

# When the digest goes out, in each user's own time zone.
DIGEST_LOCAL_TIME = datetime.time(7, 0)
# The most notifications one digest lists; it counts the rest.
DIGEST_ITEMS_MAX = 50
SWEEP_SECONDS = 5 * 60


def user_zone(user: User) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(user.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def next_digest_time(user: User, after: datetime.datetime) -> datetime.datetime:
    """The first ``DIGEST_LOCAL_TIME`` in the user's time zone strictly after ``after``."""
    zone = user_zone(user)
    local = after.astimezone(zone)
    moment = datetime.datetime.combine(local.date(), DIGEST_LOCAL_TIME, tzinfo=zone)
    if moment <= local:
        moment = datetime.datetime.combine(
            local.date() + datetime.timedelta(days=1), DIGEST_LOCAL_TIME, tzinfo=zone
        )
    return moment


def _compose(user: User, shown: list[Notification], total: int) -> tuple[str, str]:
    context = {
        "user": user,
        "notifications": shown,
        "total": total,
        "more": total - len(shown),
        "site_url": settings.SITE_URL,
        "centre_url": settings.SITE_URL + reverse("notifications:centre"),
        "settings_url": settings.SITE_URL + reverse("notifications:preferences"),
    }
    with translation.override(user.language), timezone.override(user_zone(user)):
        subject = render_to_string("notifications/email/digest_subject.txt", context)
        body = render_to_string("notifications/email/digest.txt", context)
    return " ".join(subject.split()), body


def _send_digest(user: User, now: datetime.datetime) -> bool:
    """Email ``user`` their unread, not yet emailed notifications; whether there were any."""
    pending = Notification.objects.filter(
        recipient=user, read_at__isnull=True, emailed_at__isnull=True, created_at__lte=now
    )
    shown = list(pending.order_by("-created_at", "-id")[:DIGEST_ITEMS_MAX])
    if not shown or not user.is_active:
        return False
    total = pending.count()
    subject, body = _compose(user, shown, total)
    send_mail(subject, body, None, [user.email])
    pending.update(emailed_at=now)
    return True


def send_digests(*, now: datetime.datetime | None = None) -> int:
    """Send every digest that is due; how many emails went out."""
    now = now or timezone.now()
    sent = 0
    failed: set[int] = set()
    while True:
        with transaction.atomic():
            preference = (
                NotificationPreference.objects.select_for_update(skip_locked=True)
                .filter(email_digest=True, next_digest_at__lte=now)
                .exclude(user_id__in=failed)
                .order_by("next_digest_at", "user_id")
                .first()
            )
            if preference is None:
                return sent
            user = preference.user
            try:
                with transaction.atomic():
                    sent += _send_digest(user, now)
            except (smtplib.SMTPException, OSError):
                # No address in the log: the user id is enough to find out why.
                logger.warning("digest for user %s not sent; retrying at the next sweep", user.pk)
                failed.add(user.pk)
                continue
            preference.next_digest_at = next_digest_time(user, now)
            preference.save(update_fields=["next_digest_at", "updated_at"])


@every(SWEEP_SECONDS, name="notifications.digest")
def send_due_digests() -> int:
    return send_digests()
