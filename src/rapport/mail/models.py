"""Email templates, and the delivery of each email sent from Rapport.

An email sent is an ``activities.Activity`` of kind email (its text, addresses and
Message-ID, on the timeline of the contact and their company); ``OutgoingEmail``
beside it says whether the mail server took it yet.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from rapport.activities.models import MAX_BODY_CHARS, Activity
from rapport.core.models import TimestampedModel

SUBJECT_MAX_LENGTH = 300


class EmailTemplate(TimestampedModel):
    """A subject and text with merge fields, kept by its owner; a shared one (which
    only admins manage) is offered to everyone."""

    name = models.CharField(_("name"), max_length=120)
    subject = models.CharField(_("subject"), max_length=SUBJECT_MAX_LENGTH)
    body = models.TextField(_("text"), validators=[MaxLengthValidator(MAX_BODY_CHARS)])
    shared = models.BooleanField(
        _("shared"), default=False, help_text=_("Offered to everyone; only admins change it.")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="email_templates",
    )

    class Meta:
        verbose_name = _("email template")
        verbose_name_plural = _("email templates")
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["owner", "name", "id"], name="emailtemplate_owner_idx"),
            models.Index(
                fields=["name", "id"], condition=Q(shared=True), name="emailtemplate_shared_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    # Handed to the mail server right now; a crash here leaves it for the sweep to report.
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class OutgoingEmail(models.Model):
    """The delivery of one email: queued until a worker claims it, then sent, or after
    the last attempt (or a permanent refusal) failed, with the reason."""

    activity = models.OneToOneField(
        Activity, on_delete=models.CASCADE, primary_key=True, related_name="outgoing_email"
    )
    template = models.ForeignKey(
        EmailTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="emails"
    )
    # The From header's display name and the Reply-To address, fixed when it was written.
    from_name = models.CharField(max_length=200, blank=True)
    reply_to = models.CharField(max_length=254, blank=True)
    status = models.CharField(
        _("delivery"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("outgoing email")
        verbose_name_plural = _("outgoing emails")
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="queued"),
                name="outgoingemail_due_idx",
            ),
            models.Index(
                fields=["claimed_at"],
                condition=Q(status="sending"),
                name="outgoingemail_sending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.activity_id}: {self.status}"

    @property
    def is_pending(self) -> bool:
        return self.status in (DeliveryStatus.QUEUED, DeliveryStatus.SENDING)
