"""A meeting's ``.ics`` download, read back with ``icalendar``."""

from __future__ import annotations

import datetime

import icalendar
import pytest

from rapport.activities import services as activities
from rapport.calendar.tests.conftest import actor_for, at, client_for, make_meeting

pytestmark = pytest.mark.django_db


def _events(response) -> list[icalendar.Event]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = icalendar.Calendar.from_ical(response.content)
    return calendar.walk("VEVENT")


def _attendees(event: icalendar.Event) -> set[str]:
    return {str(address) for address in event.attendees}


def test_a_meeting_downloads_as_one_event_with_its_people_in_utc(alice, bob, ann):
    meeting = make_meeting(
        alice,
        ann,
        "Quarterly review",
        at(2025, 6, 2, 14),
        at(2025, 6, 2, 15, 30),
        values={"location": "Acme HQ, room 2", "body": "Agenda: prices; renewal."},
        attendee_users=[bob.pk],
        attendee_contacts=[ann.pk],
    )

    response = client_for(alice).get(f"/calendar/meetings/{meeting.pk}.ics")

    assert response["Content-Disposition"] == f'attachment; filename="meeting-{meeting.pk}.ics"'
    [event] = _events(response)
    assert str(event["UID"]) == f"activity-{meeting.pk}@localhost"
    assert event["DTSTART"].to_ical() == b"20250602T140000Z"
    assert event["DTEND"].to_ical() == b"20250602T153000Z"
    assert event.start == at(2025, 6, 2, 14)
    assert str(event["SUMMARY"]) == "Quarterly review"
    assert str(event["LOCATION"]) == "Acme HQ, room 2"
    assert str(event["DESCRIPTION"]).startswith("Agenda: prices; renewal.\n\n")
    assert str(event["DESCRIPTION"]).endswith(f"/activities/{meeting.pk}/")
    assert str(event["ORGANIZER"]) == "mailto:alice@example.com"
    assert event["ORGANIZER"].params["CN"] == "Alice"
    assert _attendees(event) == {"mailto:bob@example.com", "mailto:ann@example.com"}
    assert event["SEQUENCE"] == meeting.version
    assert isinstance(event["DTSTAMP"].dt, datetime.datetime)


def test_the_uid_stays_and_the_sequence_grows_when_the_meeting_changes(alice, ann):
    meeting = make_meeting(alice, ann, "Review", at(2025, 6, 2, 14), at(2025, 6, 2, 15))
    url = f"/calendar/meetings/{meeting.pk}.ics"
    [before] = _events(client_for(alice).get(url))

    activities.activity_update(
        meeting, actor=actor_for(alice), values={"ends_at": at(2025, 6, 2, 16)}
    )

    [after] = _events(client_for(alice).get(url))
    assert after["UID"] == before["UID"]
    assert after["SEQUENCE"] > before["SEQUENCE"]
    assert after.end == at(2025, 6, 2, 16)


def test_a_meeting_i_may_not_see_or_an_activity_that_is_no_meeting_is_not_found(
    alice, charlie, ann, wes
):
    hidden = make_meeting(charlie, wes, "West only", at(2025, 6, 2, 14))
    note = activities.activity_create(
        actor=actor_for(alice), kind="note", links=[ann], values={"body": "Hello"}
    )
    client = client_for(alice)

    assert client.get(f"/calendar/meetings/{hidden.pk}.ics").status_code == 404
    assert client.get(f"/calendar/meetings/{note.pk}.ics").status_code == 404
    assert client.get("/calendar/meetings/999999.ics").status_code == 404
    assert client_for(charlie).get(f"/calendar/meetings/{hidden.pk}.ics").status_code == 200


def test_contacts_the_reader_may_not_see_are_left_out(alice, admin, east, ann, wes):
    meeting = make_meeting(
        admin,
        ann,
        "With both",
        at(2025, 6, 2, 14),
        attendee_contacts=[ann.pk, wes.pk],
        values={"team": east},
    )
    url = f"/calendar/meetings/{meeting.pk}.ics"

    [as_admin] = _events(client_for(admin).get(url))
    [as_alice] = _events(client_for(alice).get(url))

    assert _attendees(as_admin) == {"mailto:ann@example.com", "mailto:wes@example.com"}
    assert _attendees(as_alice) == {"mailto:ann@example.com"}
    assert "DTEND" not in as_alice  # no end given: RFC 5545 reads it as ending at its start


def test_the_meeting_page_and_its_timeline_item_link_the_download(alice, ann):
    meeting = make_meeting(alice, ann, "Review", at(2025, 6, 2, 14), at(2025, 6, 2, 15))
    link = f'href="/calendar/meetings/{meeting.pk}.ics" download'
    client = client_for(alice)

    assert link in client.get(f"/activities/{meeting.pk}/").content.decode()
    timeline = f"/timeline/contacts.contact/{ann.pk}/"
    assert timeline in client.get(ann.get_absolute_url()).content.decode()
    assert link in client.get(timeline, HTTP_HX_REQUEST="true").content.decode()
    assert client.get(f"/calendar/meetings/{meeting.pk}.ics").status_code == 200
