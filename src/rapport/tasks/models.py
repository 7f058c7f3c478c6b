"""Tasks: things to do by a time, for a user or a team, about any records."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from rapport.core.models import Record

# A reminder at most this long before the due time (30 days).
REMINDER_MAX_MINUTES = 60 * 24 * 30
RECURRENCE_MAX_INTERVAL = 365


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class Status(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_STATUSES = (Status.OPEN, Status.IN_PROGRESS)


class Recurrence(models.TextChoices):
    NONE = "", _("Does not repeat")
    DAILY = "daily", _("Daily")
    WEEKLY = "weekly", _("Weekly")
    MONTHLY = "monthly", _("Monthly")


class Task(Record):
    """Something to do. Its ``owner`` is who asked for it (the creator, kept across a
    recurring task's occurrences); ``assignee`` or ``assignee_team`` is who does it.

    Both the assignee and the assignee team's members count as owners for the
    permission layer (``permission_owner_fields``), so a task given to someone
    is theirs to see and complete as their role allows for their own records.
    ``remind_at`` is derived (``due_at`` minus ``reminder_minutes``) by the
    services; ``reminded_at`` is set once by the reminder job.
    """

    computed_fields = ("completed_at",)

    permission_owner_fields = ("owner", "assignee")
    permission_owner_team_fields = ("assignee_team",)

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.OPEN
    )
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tasks",
    )
    assignee_team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("assigned to team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recurrence = models.CharField(
        _("repeats"), max_length=10, choices=Recurrence.choices, default="", blank=True
    )
    recurrence_interval = models.PositiveSmallIntegerField(
        _("every"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(RECURRENCE_MAX_INTERVAL)],
        help_text=_("Repeat every this many days, weeks or months."),
    )
    reminder_minutes = models.PositiveIntegerField(
        _("remind me"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(REMINDER_MAX_MINUTES)],
        help_text=_("Minutes before the due time; empty for no reminder."),
    )
    remind_at = models.DateTimeField(null=True, blank=True, editable=False)
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            # My work: my open tasks by due time.
            models.Index(
                fields=["assignee", "due_at", "id"],
                condition=Q(status__in=OPEN_STATUSES, deleted_at__isnull=True),
                name="task_assignee_open_idx",
            ),
            models.Index(
                fields=["assignee_team", "due_at", "id"],
                condition=Q(status__in=OPEN_STATUSES, deleted_at__isnull=True),
                name="task_team_open_idx",
            ),
            # Assigned by me: the open tasks I own, newest first.
            models.Index(
                fields=["owner", "-created_at", "-id"],
                condition=Q(status__in=OPEN_STATUSES, deleted_at__isnull=True),
                name="task_owner_open_idx",
            ),
            # The reminder job: reminders due and not sent.
            models.Index(
                fields=["remind_at"],
                condition=Q(reminded_at__isnull=True, remind_at__isnull=False),
                name="task_reminder_due_idx",
            ),
        ]
        verbose_name = _("task")
        verbose_name_plural = _("tasks")

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("tasks:task_detail", kwargs={"pk": self.pk})

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        if self.recurrence and self.due_at is None:
            errors["due_at"] = [_("A repeating task needs a due date.")]
        if self.reminder_minutes is not None and self.due_at is None:
            errors.setdefault("due_at", []).append(_("A reminder needs a due date."))
        if errors:
            raise ValidationError(errors)

    def recurrence_label(self) -> str:
        """ "Every 2 weeks"; empty for a task that does not repeat."""
        count = self.recurrence_interval
        if self.recurrence == Recurrence.DAILY:
            text = ngettext("Every day", "Every %(count)d days", count)
        elif self.recurrence == Recurrence.WEEKLY:
            text = ngettext("Every week", "Every %(count)d weeks", count)
        elif self.recurrence == Recurrence.MONTHLY:
            text = ngettext("Every month", "Every %(count)d months", count)
        else:
            return ""
        return text % {"count": count}

    def planned_reminder(self) -> datetime.datetime | None:
        """When the reminder is due, from the due time and the lead time."""
        if self.due_at is None or self.reminder_minutes is None or not self.is_open:
            return None
        return self.due_at - datetime.timedelta(minutes=self.reminder_minutes)


class TaskLink(models.Model):
    """A record a task is about, named by object type label and id, so any record type
    (contacts, companies, later deals and tickets) can be linked without a column of
    its own. Written only by ``tasks.services``, which checks the writer may see it."""

    id = models.BigAutoField(primary_key=True)
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="links")
    object_type = models.CharField(max_length=100)
    object_id = models.BigIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["task", "object_type", "object_id"], name="tasklink_unique"
            )
        ]
        # The tasks of one record: its panel and timeline.
        indexes = [models.Index(fields=["object_type", "object_id"], name="tasklink_record_idx")]

    def __str__(self) -> str:
        return f"{self.object_type}:{self.object_id}"
