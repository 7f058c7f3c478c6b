"""The calendar's own rows: each user's secret feed token, and which events of an
imported ``.ics`` file became which meeting.

Meetings themselves are ``activities.Activity`` rows of kind meeting; tasks are
``tasks.Task`` rows. This app only reads them (and creates meetings through
``activities.services``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class CalendarFeed(models.Model):
    """A user's personal iCalendar feed. Only the SHA-256 digest of its secret token is
    stored; the URL holding the token is shown once. Regenerating revokes the old row
    and creates a new one, so at most one feed per user is active."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds"
    )
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(revoked_at__isnull=True),
                name="calendarfeed_one_active",
            )
        ]

    def __str__(self) -> str:
        return f"calendar feed {self.pk} of user {self.user_id}"


class ImportedEvent(models.Model):
    """An event of an imported ``.ics`` file and the meeting it became, so that importing
    the same file again creates nothing new. Keyed by the SHA-256 of the event's UID
    (UIDs have no length limit), unique per importing user."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="imported_events"
    )
    uid_digest = models.CharField(max_length=64)
    uid = models.TextField()
    activity = models.ForeignKey(
        "activities.Activity", on_delete=models.CASCADE, related_name="imported_events"
    )
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-imported_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "uid_digest"], name="importedevent_unique_uid")
        ]

    def __str__(self) -> str:
        return f"{self.uid[:80]} → {self.activity_id}"
