"""Importing an ``.ics`` file: read, reviewed, then each event a meeting linked to the
contacts among its attendees; nothing twice, bad files a form error, zones honoured."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from rapport.accounts.models import Role
from rapport.activities.links import Target
from rapport.activities.models import Activity
from rapport.activities.services import attendee_ids, link_targets
from rapport.calendar import forms, services
from rapport.calendar.ics import MAX_EVENTS, IcsError, parse_events
from rapport.calendar.models import ImportedEvent
from rapport.calendar.tests.conftest import actor_for, at, client_for
from rapport.core.models import AuditEntry, Source

pytestmark = pytest.mark.django_db

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def ics(*events: str, extra: str = "") -> bytes:
    body = "".join(f"BEGIN:VEVENT\r\n{event.strip()}\r\nEND:VEVENT\r\n" for event in events)
    text = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\n{extra}{body}END:VCALENDAR\r\n"
    return text.replace("\n    ", "\n").encode()


KICK_OFF = """UID:kick-off@example.com
DTSTAMP:20250101T000000Z
DTSTART;TZID=Europe/Berlin:20250602T100000
DTEND;TZID=Europe/Berlin:20250602T113000
SUMMARY:Kick-off\\, with Acme
LOCATION:Berlin office
DESCRIPTION:Agenda:\\nprices
ORGANIZER;CN=Alice:mailto:alice@example.com
ATTENDEE;CN=Ann:MAILTO:Ann@Example.com
ATTENDEE;CN=Bob:mailto:bob@example.com
ATTENDEE:mailto:stranger@example.org"""

WEEKLY = """UID:weekly@example.com
DTSTART:20250603T150000Z
DTEND:20250603T153000Z
RRULE:FREQ=WEEKLY;COUNT=10
SUMMARY:Weekly sync
ATTENDEE:mailto:ann@example.com"""


def upload(client, data: bytes, name: str = "calendar.ics", query: str = ""):
    file = SimpleUploadedFile(name, data, content_type="text/calendar")
    return client.post(f"/calendar/import/{query}", {"file": file})


def import_file(client, data: bytes, **choice: str):
    response = upload(client, data)
    assert response.status_code == 302
    assert response["Location"] == "/calendar/import/review/"
    return client.post("/calendar/import/review/", {"link_to": "", "contact_email": "", **choice})


def test_a_file_is_reviewed_then_each_event_becomes_a_meeting(alice, bob, ann):
    client = client_for(alice)
    assert upload(client, ics(KICK_OFF, WEEKLY)).status_code == 302

    review = client.get("/calendar/import/review/").content.decode()
    assert "Kick-off, with Acme" in review and "Weekly sync" in review
    assert f'<a href="{ann.get_absolute_url()}">Ann Archer</a>' in review
    assert "stranger@example.org" in review
    assert "Repeats: only its first occurrence is imported." in review
    assert Activity.objects.count() == 0  # nothing before the confirmation

    report = client.post("/calendar/import/review/", {"link_to": "", "contact_email": ""})

    assert report.status_code == 200
    assert "calendar.ics: 2 created, 0 skipped, 0 failed." in report.content.decode()
    kick_off = Activity.objects.get(subject="Kick-off, with Acme")
    assert kick_off.kind == "meeting"
    assert kick_off.owner == alice
    assert kick_off.starts_at == at(2025, 6, 2, 8)  # 10:00 in Berlin, summer time
    assert kick_off.ends_at == at(2025, 6, 2, 9, 30)
    assert kick_off.location == "Berlin office"
    assert kick_off.body == "Agenda:\nprices"
    assert attendee_ids(kick_off) == ([alice.pk, bob.pk], [ann.pk])
    assert link_targets(kick_off) == [Target("contacts.contact", ann.pk)]
    weekly = Activity.objects.get(subject="Weekly sync")
    assert (weekly.starts_at, weekly.ends_at) == (at(2025, 6, 3, 15), at(2025, 6, 3, 15, 30))
    assert Activity.objects.count() == 2  # a repeating event: its first occurrence only
    assert AuditEntry.objects.filter(source=Source.IMPORT, action="create").count() == 2
    assert set(ImportedEvent.objects.values_list("uid", flat=True)) == {
        "kick-off@example.com",
        "weekly@example.com",
    }


def test_importing_the_same_file_again_creates_nothing(alice, ann):
    client = client_for(alice)
    import_file(client, ics(KICK_OFF))

    review = upload(client, ics(KICK_OFF, WEEKLY)) and client.get("/calendar/import/review/")
    assert "Already imported" in review.content.decode()
    report = client.post("/calendar/import/review/", {"link_to": ""}).content.decode()

    assert "1 created, 1 skipped, 0 failed." in report
    assert Activity.objects.filter(subject="Kick-off, with Acme").count() == 1
    assert Activity.objects.count() == 2


def test_another_user_importing_the_same_file_gets_meetings_of_their_own(alice, bob, ann):
    import_file(client_for(alice), ics(KICK_OFF))

    report = import_file(client_for(bob), ics(KICK_OFF)).content.decode()

    assert "1 created, 0 skipped, 0 failed." in report
    assert set(Activity.objects.values_list("owner__email", flat=True)) == {
        "alice@example.com",
        "bob@example.com",
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"this is not a calendar", "could not be read"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", "has no events"),
        (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:x\r\nEND:VCALENDAR\r\n", "no complete"),
        (b"BEGIN:VEVENT\r\nUID:x\r\nEND:VEVENT\r\n", "holds no complete calendar"),
        # icalendar itself fails here with an OSError (the zone name is a folder).
        (ics("UID:x\r\nDTSTART;TZID=America:20250101T100000"), "could not be read"),
        (b"", "The submitted file is empty."),
    ],
)
def test_a_file_that_is_not_a_calendar_is_a_form_error(alice, data, message):
    client = client_for(alice)

    response = upload(client, data)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert "calendar:import" not in client.session
    assert client.get("/calendar/import/review/").status_code == 302


def test_a_file_too_large_or_with_too_many_events_is_refused(alice, monkeypatch):
    monkeypatch.setattr(forms, "MAX_ICS_BYTES", 100)
    client = client_for(alice)

    assert "larger than 100" in upload(client, ics(KICK_OFF)).content.decode()

    monkeypatch.setattr(forms, "MAX_ICS_BYTES", 1_000_000)
    many = ics(*(f"UID:{n}\r\nDTSTART:20250601T100000Z" for n in range(MAX_EVENTS + 1)))
    assert f"import at most {MAX_EVENTS} at a time" in upload(client, many).content.decode()


def test_events_without_a_contact_need_a_record_to_link_to(alice, acme, ann):
    lone = "UID:lone@example.com\r\nDTSTART:20250604T100000Z\r\nSUMMARY:Alone"
    client = client_for(alice)

    report = import_file(client, ics(lone)).content.decode()
    assert "0 created, 0 skipped, 1 failed." in report
    assert "choose a record to link it to" in report

    upload(client, ics(lone), query=f"?record=contacts.company:{acme.pk}")
    review = client.get("/calendar/import/review/").content.decode()
    assert f'value="contacts.company:{acme.pk}" selected' in review
    report = client.post(
        "/calendar/import/review/", {"link_to": f"contacts.company:{acme.pk}"}
    ).content.decode()
    assert "1 created, 0 skipped, 0 failed." in report
    assert link_targets(Activity.objects.get()) == [Target("contacts.company", acme.pk)]


def test_a_contact_chosen_by_email_is_linked_to_every_meeting(alice, acme, ann):
    lone = "UID:lone@example.com\r\nDTSTART:20250604T100000Z\r\nSUMMARY:Alone"
    client = client_for(alice)
    upload(client, ics(lone, WEEKLY))

    unknown = client.post("/calendar/import/review/", {"contact_email": "nobody@example.com"})
    assert "No contact you can see has this email address." in unknown.content.decode()
    both = client.post(
        "/calendar/import/review/",
        {"contact_email": "ann@example.com", "link_to": f"contacts.company:{acme.pk}"},
    )
    assert "not both" in both.content.decode()
    assert Activity.objects.count() == 0

    report = client.post("/calendar/import/review/", {"contact_email": "ANN@example.com"})

    assert "2 created" in report.content.decode()
    lone_meeting = Activity.objects.get(subject="Alone")
    assert link_targets(lone_meeting) == [Target("contacts.contact", ann.pk)]


def test_a_contact_i_may_not_see_is_not_matched(alice, wes, ann):
    event = "UID:w@example.com\r\nDTSTART:20250604T100000Z\r\nSUMMARY:West\r\n"
    event += "ATTENDEE:mailto:wes@example.com\r\nATTENDEE:mailto:ann@example.com"
    client = client_for(alice)
    upload(client, ics(event))

    review = client.get("/calendar/import/review/").content.decode()
    assert "Wes West" not in review and "wes@example.com" in review
    client.post("/calendar/import/review/", {"link_to": ""})

    assert attendee_ids(Activity.objects.get()) == ([], [ann.pk])


def test_the_record_to_link_to_must_be_one_i_may_see(alice, wes):
    client = client_for(alice)

    assert client.get(f"/calendar/import/?record=contacts.contact:{wes.pk}").status_code == 404
    assert client.get("/calendar/import/?record=nonsense").status_code == 400


def test_only_users_who_may_log_meetings_may_import(alice):
    alice.role = Role.objects.get(slug="read-only")
    alice.save(update_fields=["role"])
    client = client_for(alice)

    assert client.get("/calendar/import/").status_code == 403
    assert upload(client, ics(KICK_OFF)).status_code == 403
    assert client.get("/calendar/import/review/").status_code == 403


# Time zones and odd events, read by the parser


def parse(*events: str, extra: str = "", tz=NEW_YORK):
    return parse_events(ics(*events, extra=extra), tz=tz)


def test_a_tzid_is_read_in_its_zone_and_a_floating_time_in_mine():
    [berlin, windows, floating] = parse(
        "UID:a\r\nDTSTART;TZID=Europe/Berlin:20250115T100000",
        "UID:b\r\nDTSTART;TZID=Pacific Standard Time:20250115T100000",
        "UID:c\r\nDTSTART:20250115T100000",
    )

    assert berlin.starts_at == at(2025, 1, 15, 9)  # winter time, UTC+1
    assert windows.starts_at == at(2025, 1, 15, 18)  # Los Angeles, UTC-8
    assert floating.starts_at == at(2025, 1, 15, 15)  # New York, UTC-5
    assert not any(event.notes for event in (berlin, windows, floating))


def test_a_zone_defined_in_the_file_is_used():
    vtimezone = """BEGIN:VTIMEZONE\r
TZID:Office time\r
BEGIN:STANDARD\r
DTSTART:19700101T000000\r
TZOFFSETFROM:+0530\r
TZOFFSETTO:+0530\r
END:STANDARD\r
END:VTIMEZONE\r
"""
    [event] = parse(
        "UID:a\r\nDTSTART;TZID=Office time:20250115T100000\r\n"
        "DTEND;TZID=Office time:20250115T110000",
        extra=vtimezone,
    )

    assert (event.starts_at, event.ends_at) == (at(2025, 1, 15, 4, 30), at(2025, 1, 15, 5, 30))


def test_an_unknown_zone_is_read_in_mine_and_said_so():
    [event] = parse("UID:a\r\nDTSTART;TZID=Mars/Olympus:20250115T100000")

    assert event.starts_at == at(2025, 1, 15, 15)
    assert event.notes == ("Unknown time zone “Mars/Olympus”: read in your time zone.",)


def test_an_all_day_event_runs_from_midnight_to_midnight_in_my_zone():
    [one_day, two_days] = parse(
        "UID:a\r\nDTSTART;VALUE=DATE:20250115",
        "UID:b\r\nDTSTART;VALUE=DATE:20250115\r\nDTEND;VALUE=DATE:20250117",
    )

    assert one_day.all_day
    assert (one_day.starts_at, one_day.ends_at) == (at(2025, 1, 15, 5), at(2025, 1, 16, 5))
    assert two_days.ends_at == at(2025, 1, 17, 5)


def test_a_duration_gives_the_end_and_an_end_before_the_start_is_dropped():
    [timed, backwards] = parse(
        "UID:a\r\nDTSTART:20250115T100000Z\r\nDURATION:PT45M",
        "UID:b\r\nDTSTART:20250115T100000Z\r\nDTEND:20250115T090000Z",
    )

    assert timed.ends_at == at(2025, 1, 15, 10, 45)
    assert backwards.ends_at is None


def test_broken_cancelled_and_changed_occurrences_are_not_imported():
    [broken, missing, cancelled, occurrence] = parse(
        "UID:a\r\nDTSTART:tomorrow\r\nSUMMARY:Broken",
        "UID:b\r\nSUMMARY:No start",
        "UID:c\r\nDTSTART:20250115T100000Z\r\nSTATUS:CANCELLED",
        "UID:d\r\nDTSTART:20250115T100000Z\r\nRECURRENCE-ID:20250115T100000Z",
    )

    assert broken.error == missing.error == "The event has no valid start time."
    assert broken.summary == "Broken"
    assert cancelled.skip == "Cancelled: not imported."
    assert occurrence.skip.startswith("A change to one occurrence")


def test_an_event_without_a_uid_is_still_found_again():
    first = parse("DTSTART:20250115T100000Z\r\nSUMMARY:No uid")
    again = parse("DTSTART:20250115T100000Z\r\nSUMMARY:No uid")

    assert first[0].uid_digest == again[0].uid_digest
    assert first[0].uid.startswith("no-uid:")


def test_unreadable_input_raises_a_clear_error():
    for data in (b"BEGIN:VCALENDAR\r\n", b"\x00\x01", b"BEGIN:VCALENDAR\r\nEND:VEVENT\r\n"):
        with pytest.raises(IcsError):
            parse_events(data, tz=NEW_YORK)


# The service


def test_one_failing_event_leaves_the_others_created(alice, ann):
    events = parse(
        "UID:ok\r\nDTSTART:20250115T100000Z\r\nATTENDEE:mailto:ann@example.com",
        "UID:bad\r\nDTSTART:20250115T100000Z\r\nSUMMARY:" + "x" * 400 + "\r\n"
        "ATTENDEE:mailto:ann@example.com\r\nDESCRIPTION:" + "y" * 10,
        "UID:nostart\r\nSUMMARY:Nothing",
        "UID:ok\r\nDTSTART:20250115T100000Z\r\nATTENDEE:mailto:ann@example.com",
    )

    results = services.ics_import(actor=actor_for(alice), events=events)

    assert [r.outcome for r in results] == ["created", "created", "failed", "skipped"]
    assert len(Activity.objects.get(pk=results[1].activity_id).subject) == 300
    assert Activity.objects.count() == ImportedEvent.objects.count() == 2


def test_the_service_refuses_a_record_the_actor_may_not_see(alice, wes, ann):
    events = parse("UID:ok\r\nDTSTART:20250115T100000Z")

    with pytest.raises(services.ValidationError) as error:
        services.ics_import(actor=actor_for(alice), events=events, also_link=wes)

    assert "link_to" in error.value.message_dict
    assert Activity.objects.count() == 0


def test_the_service_needs_the_create_grant(alice):
    alice.role = Role.objects.get(slug="read-only")
    events = parse("UID:ok\r\nDTSTART:20250115T100000Z")

    with pytest.raises(services.PermissionDenied):
        services.ics_import(actor=actor_for(alice), events=events)


def test_the_imported_meeting_shows_in_the_week_of_its_zone(alice, ann):
    client = client_for(alice)
    import_file(client, ics(KICK_OFF))

    page = client.get("/calendar/week/?week=2025-W23").content.decode()

    assert "Kick-off, with Acme" in page
    assert "04:00" in page  # 10:00 in Berlin is 04:00 in New York
    assert datetime.date(2025, 6, 2).isoformat() in page


def test_the_review_costs_the_same_queries_however_many_events(
    alice, ann, django_assert_max_num_queries
):
    client = client_for(alice)
    upload(client, ics(KICK_OFF))
    with django_assert_max_num_queries(20) as captured:
        assert client.get("/calendar/import/review/").status_code == 200
    few = len(captured)
    many = [
        f"UID:{n}\r\nDTSTART:20250601T100000Z\r\nSUMMARY:Event {n}\r\n"
        f"ATTENDEE:mailto:ann@example.com\r\nATTENDEE:mailto:someone{n}@example.org"
        for n in range(30)
    ]
    upload(client, ics(KICK_OFF, *many))

    with django_assert_max_num_queries(few):
        page = client.get("/calendar/import/review/")

    assert page.content.decode().count("someone") == 30
