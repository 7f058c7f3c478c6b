"""Reminders: sent once by the scheduled job, however often and however late it runs."""

from __future__ import annotations

import datetime

from rapport.core import schedule
from rapport.notifications.models import Notification
from rapport.notifications.services import preferences_update
from rapport.tasks import services
from rapport.tasks.models import Task
from rapport.tasks.reminders import send_reminders
from rapport.tasks.tests.conftest import actor_for, in_hours, make_task


def reminders_for(user):
    return Notification.objects.filter(recipient=user, kind="task.reminder")


def test_a_reminder_is_sent_once_however_often_the_job_runs(as_alice, alice):
    task = make_task(as_alice, due_at=in_hours(1), reminder_minutes=60)

    assert send_reminders(now=task.remind_at - datetime.timedelta(seconds=1)) == 0
    assert send_reminders(now=task.remind_at) == 1
    assert send_reminders(now=task.remind_at) == 0
    assert send_reminders(now=task.remind_at + datetime.timedelta(hours=3)) == 0

    [reminder] = reminders_for(alice)
    assert reminder.url == f"/tasks/{task.pk}/"
    assert reminder.actor_label == ""
    task.refresh_from_db()
    assert task.reminded_at == task.remind_at


def test_a_reminder_missed_while_the_worker_was_down_comes_once(as_alice, alice):
    make_task(as_alice, due_at=in_hours(-72), reminder_minutes=0)

    schedule.run_all()
    schedule.run_all()

    assert reminders_for(alice).count() == 1


def test_closed_and_trashed_tasks_are_not_reminded(as_alice, alice):
    done = make_task(as_alice, due_at=in_hours(1), reminder_minutes=0)
    services.task_complete(done, actor=as_alice)
    trashed = make_task(as_alice, due_at=in_hours(1), reminder_minutes=0)
    services.task_delete(trashed, actor=as_alice)

    assert send_reminders(now=in_hours(2)) == 0
    assert not reminders_for(alice).exists()


def test_a_team_task_reminds_the_teams_members(as_admin, alice, bob, east):
    make_task(as_admin, assignee_team=east, due_at=in_hours(0), reminder_minutes=0)

    send_reminders(now=in_hours(1))

    assert reminders_for(alice).count() == 1 and reminders_for(bob).count() == 1


def test_email_goes_only_to_those_who_asked_in_their_language(
    smtp_server, as_admin, alice, bob, east
):
    bob.language = "de"
    bob.timezone = "Europe/Berlin"
    bob.save()
    preferences_update(bob, actor=actor_for(bob), email_digest=False, email_reminders=True)
    due = datetime.datetime(2030, 3, 10, 12, 0, tzinfo=datetime.UTC)
    make_task(as_admin, "Send <quote>", assignee_team=east, due_at=due, reminder_minutes=30)

    send_reminders(now=due)
    send_reminders(now=due)

    [message] = smtp_server.messages
    assert message["To"] == bob.email
    body = message.get_content()
    assert "Send <quote>" in body
    assert "10.03.2030 13:00" in body  # German format, Berlin time
    assert "http://localhost:8000/tasks/" in body


def test_a_refused_email_still_counts_as_reminded(smtp_server, settings, as_alice, alice):
    preferences_update(alice, actor=as_alice, email_digest=False, email_reminders=True)
    settings.EMAIL_PORT = 1  # nothing listens there
    task = make_task(as_alice, due_at=in_hours(0), reminder_minutes=0)

    assert send_reminders(now=in_hours(1)) == 1

    assert reminders_for(alice).count() == 1
    assert Task.objects.get(pk=task.pk).reminded_at is not None
