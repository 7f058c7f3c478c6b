"""The personal feed: a secret, revocable token in the URL, no session, and only what
the user may see now; read back with ``icalendar``."""

from __future__ import annotations

import datetime
import hashlib
import re
import zoneinfo

import icalendar
import pytest
from django.test import Client
from django.utils import timezone

from rapport.activities import services as activities
from rapport.calendar import services
from rapport.calendar.models import CalendarFeed
from rapport.calendar.tests.conftest import actor_for, client_for, make_meeting, make_task
from rapport.core.models import AuditEntry

pytestmark = pytest.mark.django_db

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
FEED_URL = re.compile(r"http://testserver(/calendar/feed/[A-Za-z0-9_-]+\.ics)")


def soon(**delta: float) -> datetime.datetime:
    """A time near now, on the minute, so it reads back exactly."""
    return (timezone.now() + datetime.timedelta(**delta)).replace(second=0, microsecond=0)


def new_feed(client: Client) -> str:
    """Make a feed on the calendar's page; the path it shows once."""
    assert client.post("/calendar/subscribe/new/").status_code == 302
    page = client.get("/calendar/subscribe/").content.decode()
    return FEED_URL.search(page).group(1)


def read_feed(path: str) -> dict[str, icalendar.Event]:
    """The feed's events by summary, read without a session."""
    response = Client().get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = icalendar.Calendar.from_ical(response.content)
    return {str(event["SUMMARY"]): event for event in calendar.walk("VEVENT")}


def test_the_feed_serves_my_meetings_and_open_tasks_without_a_session(
    alice, bob, charlie, ann, wes
):
    mine = make_meeting(alice, ann, "Kick-off", soon(days=2), soon(days=2, hours=1))
    make_meeting(bob, ann, "Bob's, with Alice", soon(days=3), attendee_users=[alice.pk])
    make_meeting(bob, ann, "Bob's alone", soon(days=3))
    make_meeting(charlie, wes, "West, with Alice", soon(days=3), attendee_users=[alice.pk])
    make_meeting(alice, ann, "Long ago", soon(days=-200))
    task = make_task(alice, "Send the quote", soon(days=1), priority="urgent")
    make_task(alice, "Done", soon(days=1), status="done")
    make_task(alice, "Someday", None)
    # Midnight in New York: a day with no time, so an all-day event.
    renewal_day = timezone.localdate(soon(days=30), NEW_YORK)
    make_task(
        alice, "Renewal day", datetime.datetime.combine(renewal_day, datetime.time(), NEW_YORK)
    )

    events = read_feed(new_feed(client_for(alice)))

    assert set(events) == {
        "Kick-off",
        "Bob's, with Alice",
        "Task: Send the quote",
        "Task: Renewal day",
    }
    assert str(events["Kick-off"]["UID"]) == f"activity-{mine.pk}@localhost"
    assert events["Kick-off"].start == mine.starts_at
    assert str(events["Task: Send the quote"]["UID"]) == f"task-{task.pk}@localhost"
    assert events["Task: Send the quote"].start == task.due_at
    assert events["Task: Send the quote"]["PRIORITY"] == 1
    renewal = events["Task: Renewal day"]
    assert renewal.start == renewal_day
    assert renewal.end == renewal_day + datetime.timedelta(days=1)


def test_the_token_is_shown_once_and_only_its_digest_is_kept(alice):
    client = client_for(alice)
    path = new_feed(client)
    token = path.removeprefix("/calendar/feed/").removesuffix(".ics")

    again = client.get("/calendar/subscribe/").content.decode()

    assert token not in again
    assert "Make a new address" in again
    feed = CalendarFeed.objects.get(user=alice)
    assert feed.digest == hashlib.sha256(token.encode()).hexdigest()
    assert AuditEntry.objects.filter(object_id=str(feed.pk), action="create").exists()


def test_a_new_address_revokes_the_old_one(alice):
    client = client_for(alice)
    old = new_feed(client)
    new = new_feed(client)

    assert Client().get(old).status_code == 404
    assert Client().get(new).status_code == 200
    assert CalendarFeed.objects.filter(user=alice, revoked_at__isnull=True).count() == 1


def test_a_feed_turned_off_or_a_wrong_token_is_not_found(alice):
    client = client_for(alice)
    path = new_feed(client)

    assert Client().get("/calendar/feed/not-a-token.ics").status_code == 404
    assert Client().get(path.replace(".ics", "x.ics")).status_code == 404
    assert Client().get("/calendar/feed/" + "a" * 500 + ".ics").status_code == 404
    assert client.post("/calendar/subscribe/off/").status_code == 302
    assert Client().get(path).status_code == 404
    assert "You have no feed address." in client.get("/calendar/subscribe/").content.decode()


def test_the_feed_of_a_deactivated_user_is_not_found(alice):
    path = new_feed(client_for(alice))
    alice.is_active = False
    alice.save(update_fields=["is_active"])

    assert Client().get(path).status_code == 404


def test_the_feed_follows_what_the_user_may_see_now(alice, ann):
    meeting = make_meeting(alice, ann, "Kick-off", soon(days=2))
    path = new_feed(client_for(alice))
    assert "Kick-off" in read_feed(path)

    activities.activity_delete(meeting, actor=actor_for(alice))
    assert read_feed(path) == {}

    make_meeting(alice, ann, "Another", soon(days=2))
    alice.role.permissions = {"*": {"view": "none"}}
    alice.role.save(update_fields=["permissions"])
    assert read_feed(path) == {}


def test_reading_the_feed_notes_when_it_was_last_used(alice):
    path = new_feed(client_for(alice))
    assert CalendarFeed.objects.get(user=alice).last_used_at is None

    read_feed(path)

    assert CalendarFeed.objects.get(user=alice).last_used_at is not None


def test_the_feed_costs_the_same_queries_however_many_items(
    alice, bob, ann, django_assert_max_num_queries
):
    path = new_feed(client_for(alice))
    make_meeting(alice, ann, "First", soon(days=1), attendee_contacts=[ann.pk])
    with django_assert_max_num_queries(12) as captured:
        read_feed(path)
    few = len(captured)
    for number in range(10):
        make_meeting(bob, ann, f"M{number}", soon(days=2), attendee_users=[alice.pk, bob.pk])
        make_task(bob, f"T{number}", soon(days=3), assignee=alice)

    with django_assert_max_num_queries(few):
        assert len(read_feed(path)) == 21


def test_the_feed_service_names_no_user_for_a_bad_token(alice):
    assert services.feed_user("") is None
    assert services.feed_user("x" * 101) is None
    token = services.feed_create(actor=actor_for(alice))
    assert services.feed_user(token) == alice
    assert services.feed_revoke(actor=actor_for(alice)) is True
    assert services.feed_revoke(actor=actor_for(alice)) is False
    assert services.feed_user(token) is None


def test_a_refused_token_stays_out_of_the_log(alice, caplog):
    path = new_feed(client_for(alice))
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    token = path.removeprefix("/calendar/feed/").removesuffix(".ics")

    with caplog.at_level("DEBUG"):
        assert Client().get(path).status_code == 404

    assert token not in caplog.text
