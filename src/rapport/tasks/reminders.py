"""Task reminders, sent by the worker once a minute.

The job claims the tasks whose reminder is due and not sent (``SELECT … FOR
UPDATE SKIP LOCKED`` on PostgreSQL; SQLite runs write transactions one at a
time), notifies whoever does each task under the bell, emails those who asked
for it, and sets ``reminded_at`` in the same transaction. So a reminder is sent
once however many workers run, and one that fell due while no worker ran is
sent, once, when one comes back.

An email the mail server refuses is logged and not retried: the reminder
under the bell has been given, and retrying would risk sending it twice.
"""

from __future__ import annotations

import datetime
import logging
import smtplib

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from rapport.accounts.models import User
from rapport.core.actors import Actor
from rapport.core.schedule import every
from rapport.notifications.digest import user_zone
from rapport.notifications.services import notify, wants_email_reminders
from rapport.tasks.models import OPEN_STATUSES, Task
from rapport.tasks.services import responsible

logger = logging.getLogger(__name__)

BATCH = 100


def _email(task: Task, user: User) -> None:
    context = {"task": task, "user": user, "link": settings.SITE_URL + task.get_absolute_url()}
    with translation.override(user.language), timezone.override(user_zone(user)):
        subject = render_to_string("tasks/email/reminder_subject.txt", context)
        body = render_to_string("tasks/email/reminder.txt", context)
    try:
        send_mail(" ".join(subject.split()), body, None, [user.email])
    except (smtplib.SMTPException, OSError):
        logger.warning("reminder email for task %s to user %s failed", task.pk, user.pk)


def _remind(task: Task) -> None:
    recipients = responsible(task) or ([task.owner] if task.owner else [])
    notify(
        recipients=recipients,
        actor=Actor.system(),
        title=format_lazy(gettext_lazy("Reminder: {title}"), title=task.title),
        url=task.get_absolute_url(),
        kind="task.reminder",
    )
    by_email = wants_email_reminders(recipients)
    for user in recipients:
        if user.pk in by_email and user.is_active:
            _email(task, user)


def send_reminders(*, now: datetime.datetime | None = None) -> int:
    """Send every reminder that is due; how many tasks were reminded."""
    now = now or timezone.now()
    reminded = 0
    while True:
        with transaction.atomic():
            due = list(
                Task.objects.select_for_update(skip_locked=True)
                .filter(remind_at__lte=now, reminded_at__isnull=True, status__in=OPEN_STATUSES)
                .order_by("remind_at", "id")[:BATCH]
            )
            if not due:
                return reminded
            for task in due:
                _remind(task)
            Task.objects.filter(pk__in=[task.pk for task in due]).update(reminded_at=now)
            reminded += len(due)


@every(60, name="tasks.reminders")
def send_due_reminders() -> int:
    return send_reminders()
