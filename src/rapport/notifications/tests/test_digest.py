"""The daily digest, sent over SMTP to a real local server."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.utils import timezone

from rapport.core import schedule
from rapport.core.actors import Actor
from rapport.core.models import Source
from rapport.notifications import services
from rapport.notifications.digest import next_digest_time, send_digests
from rapport.notifications.models import Notification, NotificationPreference

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


@pytest.fixture
def bob_wants_digest(bob):
    bob.language = "de"
    bob.timezone = "Europe/Berlin"
    bob.save()
    return services.preferences_update(
        bob, actor=Actor(user=bob, source=Source.UI), email_digest=True, email_reminders=False
    )


def test_the_digest_is_due_at_seven_in_the_users_time_zone(bob):
    bob.timezone = "Europe/Berlin"
    evening = datetime.datetime(2025, 3, 10, 20, 0, tzinfo=BERLIN)
    early = datetime.datetime(2025, 3, 10, 6, 59, tzinfo=BERLIN)

    assert next_digest_time(bob, evening) == datetime.datetime(2025, 3, 11, 7, 0, tzinfo=BERLIN)
    assert next_digest_time(bob, early) == datetime.datetime(2025, 3, 10, 7, 0, tzinfo=BERLIN)


def test_one_digest_per_day_in_the_users_language_over_smtp(
    smtp_server, as_alice, bob, bob_wants_digest
):
    services.notify(recipients=[bob], actor=as_alice, title="Call Acme <back>", url="/x/", kind="k")
    services.notify(recipients=[bob], actor=as_alice, title="Read first", url="", kind="k")
    Notification.objects.filter(title="Read first").update(read_at=timezone.now())
    Notification.objects.filter(title__startswith="Call").update(
        created_at=datetime.datetime(2025, 3, 10, 12, 0, tzinfo=datetime.UTC)
    )
    due = bob_wants_digest.next_digest_at

    assert send_digests(now=due - datetime.timedelta(minutes=1)) == 0
    assert send_digests(now=due) == 1
    assert send_digests(now=due) == 0  # claimed: the same sweep again sends nothing

    [message] = smtp_server.messages
    assert message["To"] == bob.email
    body = message.get_content()
    assert "Call Acme <back>" in body  # plain text, not HTML-escaped
    assert "Read first" not in body
    assert "http://localhost:8000/x/" in body
    assert "10.03.2025 13:00" in body  # German format, Berlin time
    assert Notification.objects.get(title="Call Acme <back>").emailed_at == due
    bob_wants_digest.refresh_from_db()
    assert bob_wants_digest.next_digest_at == due + datetime.timedelta(days=1)


def test_nothing_new_means_no_email_but_the_next_day_is_planned(smtp_server, bob_wants_digest):
    due = bob_wants_digest.next_digest_at

    assert send_digests(now=due) == 0

    assert smtp_server.messages == []
    bob_wants_digest.refresh_from_db()
    assert bob_wants_digest.next_digest_at > due


def test_a_worker_down_for_days_sends_one_digest(smtp_server, as_alice, bob, bob_wants_digest):
    services.notify(recipients=[bob], actor=as_alice, title="Old news", url="", kind="k")
    much_later = bob_wants_digest.next_digest_at + datetime.timedelta(days=5)

    assert send_digests(now=much_later) == 1
    assert send_digests(now=much_later) == 0
    assert len(smtp_server.messages) == 1


def test_a_refused_email_is_retried_at_the_next_sweep(
    smtp_server, settings, as_alice, bob, bob_wants_digest
):
    services.notify(recipients=[bob], actor=as_alice, title="Retry me", url="", kind="k")
    due = bob_wants_digest.next_digest_at
    good_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = 1  # nothing listens there

    assert send_digests(now=due) == 0
    assert Notification.objects.get(title="Retry me").emailed_at is None

    settings.EMAIL_PORT = good_port
    assert send_digests(now=due) == 1
    assert len(smtp_server.messages) == 1


def test_the_digest_runs_from_the_schedule(smtp_server, as_alice, bob, bob_wants_digest):
    services.notify(recipients=[bob], actor=as_alice, title="Scheduled", url="", kind="k")
    NotificationPreference.objects.filter(user=bob).update(
        next_digest_at=timezone.now() - datetime.timedelta(minutes=1)
    )

    schedule.run_all()

    assert len(smtp_server.messages) == 1
