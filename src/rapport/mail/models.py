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
from django.utils import timezone
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
    # A reply's In-Reply-To and References headers, which keep it in its thread.
    in_reply_to = models.CharField(max_length=255, blank=True)
    references = models.TextField(blank=True)
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


# Email in


class Security(models.TextChoices):
    SSL = "ssl", _("SSL/TLS")
    STARTTLS = "starttls", _("STARTTLS")
    NONE = "none", _("None (only on a trusted network)")


class Mailbox(TimestampedModel):
    """An IMAP mailbox a user, or a team, connected: its messages in the inbox and sent
    folders are logged on the contacts they were exchanged with. Unless shared, what
    it brings is visible only to its owner (or to the team's members)."""

    name = models.CharField(_("name"), max_length=120)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="mailboxes",
    )
    team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="mailboxes",
        help_text=_("A team mailbox: its emails belong to the team rather than to you."),
    )
    host = models.CharField(_("IMAP server"), max_length=253)
    port = models.PositiveIntegerField(_("port"), default=993)
    security = models.CharField(
        _("security"), max_length=10, choices=Security.choices, default=Security.SSL
    )
    username = models.CharField(_("login"), max_length=254)
    password_encrypted = models.TextField(editable=False)
    address = models.EmailField(_("address"), help_text=_("The address this mailbox sends from."))
    inbox_folder = models.CharField(_("inbox folder"), max_length=200, default="INBOX")
    sent_folder = models.CharField(_("sent folder"), max_length=200, default="Sent")
    shared = models.BooleanField(
        _("shared"),
        default=False,
        help_text=_("Its emails follow the usual permissions instead of staying private."),
    )
    create_contacts = models.BooleanField(_("create contacts for unknown senders"), default=False)
    active = models.BooleanField(_("syncing"), default=True)
    # Set while a worker syncs it, so two workers never sync one mailbox at once.
    sync_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_synced_at = models.DateTimeField(_("last synced"), null=True, blank=True, editable=False)
    last_error = models.CharField(_("last error"), max_length=500, blank=True, editable=False)

    class Meta:
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["owner", "name"], name="mailbox_owner_idx")]

    def __str__(self) -> str:
        return self.name

    def folders(self) -> list[str]:
        return [name for name in (self.inbox_folder, self.sent_folder) if name]


class MailboxFolder(models.Model):
    """How far a mailbox's folder was read: the highest UID logged, valid while the
    folder's UIDVALIDITY stays the same. Moved forward in the transaction that logs
    the message, so a sync that dies resumes after the last message it kept."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="folder_states")
    name = models.CharField(max_length=200)
    uid_validity = models.BigIntegerField(default=0)
    last_uid = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "name"], name="mailboxfolder_unique")
        ]

    def __str__(self) -> str:
        return f"{self.mailbox_id}:{self.name}@{self.last_uid}"


class InboundChannel(models.TextChoices):
    IMAP = "imap", _("Mailbox sync")
    SMTP = "smtp", _("Forward or BCC")
    API = "api", _("API")


class InboundOutcome(models.TextChoices):
    LOGGED = "logged", _("Logged")
    DUPLICATE = "duplicate", _("Already logged")
    UNMATCHED = "unmatched", _("No matching contact")
    REJECTED = "rejected", _("Rejected")


class InboundMessage(models.Model):
    """What became of one message that reached Rapport: logged on the timeline (with
    its activity), already there, matching no contact, or rejected with the reason.
    Kept without the message's text, so it holds no more personal data than needed."""

    id = models.BigAutoField(primary_key=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    channel = models.CharField(max_length=10, choices=InboundChannel.choices)
    mailbox = models.ForeignKey(
        Mailbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    # Who brought it: the mailbox's owner, the forwarding colleague or the API token's user.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    message_id = models.CharField(max_length=255, blank=True)
    size = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=10, choices=InboundOutcome.choices)
    reason = models.CharField(max_length=500, blank=True)
    activity = models.ForeignKey(
        Activity, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("received email")
        verbose_name_plural = _("received emails")
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-received_at"], name="inbound_user_idx"),
            models.Index(fields=["mailbox", "-received_at"], name="inbound_mailbox_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()}: {self.outcome}"
