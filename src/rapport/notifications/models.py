"""In-app notifications and each user's choice of what also reaches them by email."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    """Something a user should know about: a reminder, a mention, a task given to them.

    ``url`` is a path on this site (checked by ``services.notify``), which the
    notification centre redirects to when the user opens it. ``emailed_at`` is
    set by the daily digest that included it, so no digest repeats it.
    """

    id = models.BigAutoField(primary_key=True)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    # Who caused it, as shown then; a label, so it survives the user's deletion.
    actor_label = models.CharField(_("from"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=50)
    title = models.CharField(_("title"), max_length=300)
    url = models.CharField(_("link"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("emailed"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The centre: all of mine, newest first.
            models.Index(fields=["recipient", "-created_at", "-id"], name="notification_mine_idx"),
            # The bell and the digest: my unread ones, newest first; small, since read
            # notifications leave it.
            models.Index(
                fields=["recipient", "-created_at", "-id"],
                condition=Q(read_at__isnull=True),
                name="notification_unread_idx",
            ),
        ]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class NotificationPreference(models.Model):
    """What a user wants by email besides the bell. No row means the defaults (none).

    ``next_digest_at`` is the next morning, in the user's time zone, at which
    their digest is due; the digest job claims rows whose moment has come.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="notification_preference",
    )
    email_digest = models.BooleanField(
        _("daily email digest"),
        default=False,
        help_text=_("Each morning, one email listing the notifications you have not read."),
    )
    email_reminders = models.BooleanField(
        _("email me reminders"),
        default=False,
        help_text=_("Task reminders also arrive by email, not only in Rapport."),
    )
    next_digest_at = models.DateTimeField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user"]
        indexes = [
            models.Index(
                fields=["next_digest_at"],
                condition=Q(email_digest=True),
                name="notification_digest_due_idx",
            )
        ]
        verbose_name = _("notification settings")
        verbose_name_plural = _("notification settings")

    def __str__(self) -> str:
        return str(self.user)
