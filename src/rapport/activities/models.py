"""Activities: the interactions and notes of every record's timeline.

One ``Activity`` table holds every kind (note, call, email, meeting, chat or
SMS, social message, visit); the fields one kind uses stay empty for the
others, and ``Activity.clean`` says which belong to which kind. An activity
links to one or more records of any type through ``ActivityLink``, which
copies the activity's ``occurred_at`` so a record's timeline is one range of
the ``activitylink_timeline_idx`` index, newest first, however many
activities the database holds.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, validate_email
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from rapport.core.models import Record

MAX_BODY_CHARS = 100_000
MAX_ADDRESSES = 100
LIVE = Q(deleted_at__isnull=True)


class ActivityKind(models.TextChoices):
    NOTE = "note", _("Note")
    CALL = "call", _("Call")
    EMAIL = "email", _("Email")
    MEETING = "meeting", _("Meeting")
    CHAT = "chat", _("Chat or SMS")
    SOCIAL = "social", _("Social message")
    VISIT = "visit", _("Visit")


class Direction(models.TextChoices):
    INBOUND = "in", _("Inbound")
    OUTBOUND = "out", _("Outbound")


class CallOutcome(models.TextChoices):
    CONNECTED = "connected", _("Connected")
    VOICEMAIL = "voicemail", _("Left a voicemail")
    NO_ANSWER = "no_answer", _("No answer")
    BUSY = "busy", _("Busy")
    WRONG_NUMBER = "wrong_number", _("Wrong number")


class MessageChannel(models.TextChoices):
    SMS = "sms", _("SMS")
    WHATSAPP = "whatsapp", "WhatsApp"
    LIVE_CHAT = "live_chat", _("Live chat")
    LINKEDIN = "linkedin", "LinkedIn"
    X = "x", "X"
    FACEBOOK = "facebook", "Facebook"
    INSTAGRAM = "instagram", "Instagram"
    OTHER = "other", _("Other")


CHAT_CHANNELS = frozenset(
    {MessageChannel.SMS, MessageChannel.WHATSAPP, MessageChannel.LIVE_CHAT, MessageChannel.OTHER}
)
SOCIAL_CHANNELS = frozenset(
    {
        MessageChannel.LINKEDIN,
        MessageChannel.X,
        MessageChannel.FACEBOOK,
        MessageChannel.INSTAGRAM,
        MessageChannel.OTHER,
    }
)

# The fields each kind uses besides kind, subject, body and occurred_at.
KIND_FIELDS: dict[str, frozenset[str]] = {
    ActivityKind.NOTE: frozenset(),
    ActivityKind.CALL: frozenset({"direction", "duration_seconds", "outcome"}),
    ActivityKind.EMAIL: frozenset(
        {"direction", "email_from", "email_to", "email_cc", "message_id", "thread_id"}
    ),
    ActivityKind.MEETING: frozenset({"starts_at", "ends_at", "location"}),
    ActivityKind.CHAT: frozenset({"direction", "channel"}),
    ActivityKind.SOCIAL: frozenset({"direction", "channel"}),
    ActivityKind.VISIT: frozenset({"location"}),
}
# The fields each kind cannot do without.
REQUIRED_FIELDS: dict[str, frozenset[str]] = {
    ActivityKind.NOTE: frozenset({"body"}),
    ActivityKind.CALL: frozenset({"direction"}),
    ActivityKind.EMAIL: frozenset({"direction", "email_from"}),
    ActivityKind.MEETING: frozenset({"starts_at"}),
    ActivityKind.CHAT: frozenset({"direction", "channel"}),
    ActivityKind.SOCIAL: frozenset({"direction", "channel"}),
    ActivityKind.VISIT: frozenset(),
}
KIND_SPECIFIC_FIELDS = frozenset().union(*KIND_FIELDS.values())
# Kinds that count as being in touch with someone: every kind but a note.
CONTACT_KINDS = frozenset(ActivityKind.values) - {ActivityKind.NOTE}


def _blank(value: object) -> bool:
    return value in (None, "", [], {})


class Activity(Record):
    """A note written or an interaction had with the records it links to."""

    computed_fields = ("message_id", "thread_id", "mentions")

    kind = models.CharField(_("kind"), max_length=20, choices=ActivityKind.choices)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body = models.TextField(_("text"), blank=True, validators=[MaxLengthValidator(MAX_BODY_CHARS)])
    occurred_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    direction = models.CharField(
        _("direction"), max_length=3, choices=Direction.choices, blank=True
    )
    # Calls
    duration_seconds = models.PositiveIntegerField(_("duration (seconds)"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=CallOutcome.choices, blank=True)
    # Emails
    email_from = models.CharField(_("from"), max_length=254, blank=True)
    email_to = models.JSONField(_("to"), default=list, blank=True)
    email_cc = models.JSONField(_("cc"), default=list, blank=True)
    message_id = models.CharField(_("message id"), max_length=255, blank=True)
    thread_id = models.CharField(_("thread"), max_length=255, blank=True)
    # Meetings (and the place of a visit)
    starts_at = models.DateTimeField(_("starts"), null=True, blank=True)
    ends_at = models.DateTimeField(_("ends"), null=True, blank=True)
    location = models.CharField(_("location"), max_length=300, blank=True)
    # Chats, SMS and social messages
    channel = models.CharField(
        _("channel"), max_length=20, choices=MessageChannel.choices, blank=True
    )
    # Ids of the users the text mentions (@username), set by the services.
    mentions = models.JSONField(_("mentions"), default=list, blank=True)
    # Set on an email synced from a mailbox that is not shared: only that user, or
    # that team's members, see it (``core.permissions``, ``permission_private_fields``).
    private_to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("private to"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    private_to_team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("private to team"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )

    permission_private_fields = ("private_to_user", "private_to_team")

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(
                fields=["-occurred_at", "-id"], condition=LIVE, name="activity_occurred_idx"
            ),
            models.Index(fields=["message_id"], name="activity_message_idx"),
            models.Index(fields=["thread_id", "occurred_at"], name="activity_thread_idx"),
            # Calendars read meetings by a window of start times.
            models.Index(
                fields=["starts_at"],
                condition=LIVE & Q(kind=ActivityKind.MEETING),
                name="activity_meeting_start_idx",
            ),
        ]

    def __str__(self) -> str:
        label = self.get_kind_display()
        text = self.subject or Truncator(" ".join(self.body.split())).chars(60)
        return f"{label}: {text}" if text else str(label)

    def get_absolute_url(self) -> str:
        return reverse("activities:detail", args=[self.pk])

    @property
    def duration_minutes(self) -> int | None:
        if self.duration_seconds is None:
            return None
        return round(self.duration_seconds / 60)

    def clean(self) -> None:
        """The rules of each kind: its required fields set, other kinds' fields empty,
        a meeting's end after its start and its time the activity's time."""
        super().clean()
        if self.kind not in KIND_FIELDS:
            return  # the field's own validation reports the unknown kind
        errors: dict[str, list[str]] = {}
        label = self.get_kind_display()
        for name in sorted(KIND_SPECIFIC_FIELDS - KIND_FIELDS[self.kind]):
            if not _blank(getattr(self, name)):
                errors[name] = [_("%(kind)s activities do not have this field.") % {"kind": label}]
        for name in sorted(REQUIRED_FIELDS[self.kind]):
            if _blank(getattr(self, name)):
                errors[name] = [_("This field is required.")]
        errors |= self._channel_errors() | self._address_errors() | self._time_errors()
        if errors:
            raise ValidationError(errors)
        if self.kind == ActivityKind.MEETING:
            self.occurred_at = self.starts_at

    def _channel_errors(self) -> dict[str, list[str]]:
        allowed = {ActivityKind.CHAT: CHAT_CHANNELS, ActivityKind.SOCIAL: SOCIAL_CHANNELS}
        if self.channel and self.kind in allowed and self.channel not in allowed[self.kind]:
            names = ", ".join(str(MessageChannel(value).label) for value in allowed[self.kind])
            return {"channel": [_("Choose one of: %(channels)s.") % {"channels": names}]}
        return {}

    def _address_errors(self) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        if self.email_from:
            try:
                validate_email(self.email_from)
            except ValidationError:
                errors["email_from"] = [_("Enter a valid email address.")]
        for name in ("email_to", "email_cc"):
            addresses = getattr(self, name)
            if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
                errors[name] = [_("Give a list of email addresses.")]
                continue
            if len(addresses) > MAX_ADDRESSES:
                errors[name] = [_("Give at most %(count)d addresses.") % {"count": MAX_ADDRESSES}]
                continue
            wrong = [address for address in addresses if not _valid_email(address)]
            if wrong:
                errors[name] = [
                    _("Not valid email addresses: %(addresses)s.") % {"addresses": ", ".join(wrong)}
                ]
        return errors

    def _time_errors(self) -> dict[str, list[str]]:
        if self.ends_at is not None and self.starts_at is None:
            return {"starts_at": [_("Give the start as well as the end.")]}
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            return {"ends_at": [_("The end must be after the start.")]}
        return {}


def _valid_email(address: str) -> bool:
    try:
        validate_email(address)
    except ValidationError:
        return False
    return True


class ActivityLink(models.Model):
    """An activity shown on one record's timeline. ``object_type`` is the record's label
    (``contacts.contact``): any record type links the same way, no column per type.
    ``occurred_at`` copies the activity's, so the timeline reads this table alone in
    index order; the services keep the two equal."""

    id = models.BigAutoField(primary_key=True)
    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="links")
    object_type = models.CharField(max_length=100)
    object_id = models.BigIntegerField()
    occurred_at = models.DateTimeField()

    class Meta:
        ordering = ["object_type", "object_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["activity", "object_type", "object_id"], name="activitylink_unique"
            )
        ]
        indexes = [
            models.Index(
                fields=["object_type", "object_id", "occurred_at", "activity"],
                name="activitylink_timeline_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.activity_id} → {self.object_type}:{self.object_id}"


class MeetingAttendee(models.Model):
    """A colleague or a contact at a meeting. Contact attendees are linked to the meeting
    too, so it shows on their timelines."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="attendees")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="meeting_attendances",
    )
    # Not unique per meeting: merging two contacts who both attended points both rows at
    # the winner (contacts.writes), and the activities app then drops the second.
    contact = models.ForeignKey(
        "contacts.Contact",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="meeting_attendances",
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, contact__isnull=True)
                | Q(user__isnull=True, contact__isnull=False),
                name="attendee_one_person",
            ),
            models.UniqueConstraint(
                fields=["activity", "user"],
                condition=Q(user__isnull=False),
                name="attendee_unique_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id or self.contact_id} @ {self.activity_id}"
