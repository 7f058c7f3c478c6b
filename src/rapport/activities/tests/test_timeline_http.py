"""The timeline panel through HTTP: the merged feed on a record's page, the kind filter,
older pages for the infinite scroll, the inline forms with their errors, the
@mention suggestions, an activity's page, and who sees what."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from rapport.activities import services
from rapport.activities.models import Activity, ActivityLink, MeetingAttendee
from rapport.activities.tests.factories import ago, later, log_call, log_note
from rapport.contacts import services as contacts
from rapport.contacts.models import Contact
from rapport.core.timeline import PAGE_SIZE

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def body(response) -> str:
    return response.content.decode()


def timeline_url(record, **params) -> str:
    url = reverse("activities:timeline", args=[record._meta.label_lower, record.pk])
    query = "&".join(f"{name}={value}" for name, value in params.items())
    return f"{url}?{query}" if query else url


def log_url(kind: str, record) -> str:
    return reverse(
        "activities:log",
        kwargs={"kind": kind, "object_type": record._meta.label_lower, "object_id": record.pk},
    )


def with_timeline(client: Client, record) -> str:
    """The record's page followed by the first page of its timeline, which the panel
    fetches as soon as the page is shown."""
    page = body(client.get(record.get_absolute_url()))
    found = re.search(r'id="timeline-items" hx-get="([^"]+)" hx-trigger="load"', page)
    assert found, "the timeline panel loads its items"
    items = body(client.get(found.group(1).replace("&amp;", "&"), **HTMX))
    return page.replace('hx-trigger="load">', 'hx-trigger="load">' + items, 1)


def next_url(html: str) -> str | None:
    found = re.search(r'hx-get="([^"]+cursor=[^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


# The panel on the record pages


def test_the_contact_page_shows_the_merged_timeline_newest_first(
    alice_client, as_alice, ann, acme, bob
):
    log_note(as_alice, ann, "First <b>contact</b>\nSecond line", occurred_at=ago(days=3))
    log_call(as_alice, ann, occurred_at=ago(days=1), subject="Pricing")
    services.activity_create(
        actor=as_alice,
        kind="meeting",
        links=[ann, acme],
        values={"subject": "Workshop", "starts_at": ago(hours=5), "location": "Room 1"},
        attendee_users=[bob.pk],
    )
    contacts.contact_update(ann, actor=as_alice, values={"lifecycle_stage": "customer"})

    html = with_timeline(alice_client, ann)

    assert 'id="timeline"' in html
    feed = html[html.index('id="timeline-items"') :]
    newest_first = ["Lead → <strong>Customer", "Workshop", "Pricing", "First &lt;b&gt;contact"]
    positions = [feed.index(text) for text in newest_first]
    assert positions == sorted(positions)
    assert "First &lt;b&gt;contact&lt;/b&gt;<br>Second line" in html
    assert "Room 1" in html and "With Bob" in html
    assert f'href="{acme.get_absolute_url()}">Acme</a>' in html  # the other linked record
    assert "Lifecycle stage: Lead → <strong>Customer</strong>" in html
    assert "Last contacted" in html


def test_times_show_in_the_readers_time_zone(alice, alice_client, as_alice, ann):
    alice.timezone = "Asia/Tokyo"
    alice.save()
    moment = datetime.datetime(2026, 3, 1, 23, 30, tzinfo=datetime.UTC)
    log_note(as_alice, ann, occurred_at=moment)

    html = with_timeline(alice_client, ann)

    assert "2 Mar 2026, 08:30" in html


def test_the_company_page_has_a_timeline_too(alice_client, as_alice, acme):
    log_note(as_alice, acme, "Company-wide news")

    html = with_timeline(alice_client, acme)

    assert "Company-wide news" in html
    assert 'id="timeline-kind"' in html


def test_the_kind_filter_narrows_the_feed(alice_client, as_alice, ann):
    log_note(as_alice, ann, "A note")
    log_call(as_alice, ann, subject="A call")

    html = body(alice_client.get(timeline_url(ann, kind="call"), **HTMX))

    assert "A call" in html and "A note" not in html
    assert alice_client.get(timeline_url(ann, kind="nonsense")).status_code == 400


def test_older_pages_follow_without_gaps_or_repeats(alice_client, as_alice, ann):
    for day in range(PAGE_SIZE + 5):
        log_note(as_alice, ann, f"Note number {day}.", occurred_at=ago(days=day))

    first = with_timeline(alice_client, ann)
    more = next_url(first)
    second = body(alice_client.get(more, **HTMX))

    seen = re.findall(r"Note number (\d+)\.", first) + re.findall(r"Note number (\d+)\.", second)
    assert [int(day) for day in seen] == list(range(PAGE_SIZE + 5))
    assert 'hx-trigger="revealed, click"' in first
    assert next_url(second) is None
    assert alice_client.get(timeline_url(ann, cursor="forged")).status_code == 400


def test_a_timeline_page_costs_the_same_queries_with_10000_items(alice_client, alice, ann, acme):
    """10,000 activities on one contact, of every shape the page shows (meetings with
    attendees, activities linked to a company too): a page reads a fixed number of
    queries, wherever it is in the history."""
    now = timezone.now()
    kinds = ["note", "call", "meeting", "chat"]
    rows = []
    for number in range(10_000):
        kind = kinds[number % len(kinds)]
        at = now - datetime.timedelta(minutes=number)
        rows.append(
            Activity(
                kind=kind,
                body=f"Item {number}",
                occurred_at=at,
                starts_at=at if kind == "meeting" else None,
                direction="in" if kind in ("call", "chat") else "",
                channel="sms" if kind == "chat" else "",
                owner=alice,
            )
        )
    activities = Activity.objects.bulk_create(rows, batch_size=2000)
    links = [
        ActivityLink(
            activity=activity,
            object_type="contacts.contact",
            object_id=ann.pk,
            occurred_at=activity.occurred_at,
        )
        for activity in activities
    ]
    links += [
        ActivityLink(
            activity=activity,
            object_type="contacts.company",
            object_id=acme.pk,
            occurred_at=activity.occurred_at,
        )
        for activity in activities[::3]
    ]
    ActivityLink.objects.bulk_create(links, batch_size=5000)
    MeetingAttendee.objects.bulk_create(
        MeetingAttendee(activity=activity, user=alice)
        for activity in activities
        if activity.kind == "meeting"
    )

    counts = []
    url = timeline_url(ann)
    for _page in range(4):
        with CaptureQueriesContext(connection) as queries:
            html = body(alice_client.get(url, **HTMX))
        counts.append(len(queries))
        url = next_url(html)
    deep = Activity.objects.get(body="Item 9990")
    with CaptureQueriesContext(connection) as queries:
        from rapport.core import timeline

        cursor = timeline.encode(timeline.Position(deep.occurred_at, "activities", deep.pk))
        html = body(alice_client.get(timeline_url(ann, cursor=cursor), **HTMX))
    counts.append(len(queries))

    assert "Item 9991" in html and "Item 9999" in html
    assert len(set(counts)) == 1, counts
    assert counts[0] <= 12


# The inline forms


def test_a_note_added_inline_appears_at_the_top_and_the_form_resets(alice_client, ann, bob):
    response = alice_client.post(
        log_url("note", ann), {"note-body": "Met at the fair, ask @bob for prices"}, **HTMX
    )

    html = body(response)
    assert response.status_code == 200
    assert "Saved to the timeline." in html
    assert 'hx-swap-oob="innerHTML"' in html and "Met at the fair" in html
    note = Activity.objects.get()
    assert note.kind == "note" and note.mentions == [bob.pk]


def test_a_call_logged_inline_updates_last_contacted(alice_client, ann):
    when = timezone.localtime(ago(hours=2)).strftime("%Y-%m-%dT%H:%M")
    response = alice_client.post(
        log_url("call", ann),
        {
            "call-direction": "in",
            "call-occurred_at": when,
            "call-duration_minutes": "12",
            "call-outcome": "connected",
            "call-subject": "Support question",
        },
        **HTMX,
    )

    html = body(response)
    call = Activity.objects.get()
    assert call.duration_seconds == 720
    assert 'id="engagement-last-contacted" hx-swap-oob="true"' in html
    assert Contact.objects.get(pk=ann.pk).last_contacted_at == call.occurred_at


def test_a_meeting_with_its_end_before_its_start_shows_the_error_and_saves_nothing(
    alice_client, ann
):
    response = alice_client.post(
        log_url("meeting", ann),
        {
            "meeting-subject": "Review",
            "meeting-starts_at": "2026-05-01T10:00",
            "meeting-ends_at": "2026-05-01T09:00",
        },
        **HTMX,
    )

    html = body(response)
    assert response.status_code == 200
    assert "The end must be after the start." in html
    assert 'id="id_meeting-ends_at_error"' in html
    assert not Activity.all_objects.exists()


def test_a_meeting_logged_on_a_contact_has_them_attending(alice_client, ann, bob):
    alice_client.post(
        log_url("meeting", ann),
        {
            "meeting-subject": "Demo",
            "meeting-starts_at": "2026-05-01T10:00",
            "meeting-ends_at": "2026-05-01T11:00",
            "meeting-attendees": [str(bob.pk)],
        },
        **HTMX,
    )

    meeting = Activity.objects.get()
    assert services.attendee_ids(meeting) == ([bob.pk], [ann.pk])


def test_a_form_error_without_htmx_shows_the_form_page(alice_client, ann):
    response = alice_client.post(log_url("call", ann), {"call-duration_minutes": "-3"})

    assert response.status_code == 200
    assert "<h1>Log a call</h1>" in body(response)
    assert not Activity.all_objects.exists()


def test_without_htmx_a_saved_note_returns_to_the_record(alice_client, ann):
    response = alice_client.post(log_url("note", ann), {"note-body": "Plain form"})

    assert response.status_code == 302 and response["Location"] == ann.get_absolute_url()


def test_the_forms_are_only_for_those_who_may_log(alice_client, ann, alice):
    from rapport.accounts.models import Role

    alice.role = Role.objects.get(slug="read-only")
    alice.save()

    assert "Add a note</summary>" not in body(alice_client.get(ann.get_absolute_url()))
    assert alice_client.post(log_url("note", ann), {"note-body": "x"}).status_code == 403


def test_an_unknown_form_kind_is_not_found(alice_client, ann):
    assert alice_client.post(log_url("email", ann), {}).status_code == 404


# Who sees what


def test_a_hidden_record_has_no_timeline(charlie, as_alice, ann):
    log_note(as_alice, ann, "Secret")
    outsider = client_for(charlie)

    assert outsider.get(timeline_url(ann)).status_code == 404
    assert outsider.post(log_url("note", ann), {"note-body": "x"}).status_code == 404
    assert outsider.get(timeline_url(ann)[:-1] + "x/").status_code == 404


def test_a_timeline_shows_only_the_activities_the_reader_may_see(
    bob, as_alice, charlie, as_charlie, ann, wes
):
    from rapport.accounts.models import Role

    charlie.role = Role.objects.get(slug="sales-manager")
    charlie.save()
    services.activity_create(
        actor=as_charlie, kind="note", links=[wes, ann], values={"body": "From the west"}
    )
    log_note(as_alice, ann, "From the east")

    html = with_timeline(client_for(bob), ann)

    assert "From the east" in html
    assert "From the west" not in html  # Charlie's note: outside Bob's team scope


def test_other_linked_records_show_only_if_visible(alice_client, as_charlie, charlie, ann, wes):
    from rapport.accounts.models import Role

    charlie.role = Role.objects.get(slug="sales-manager")
    charlie.save()
    services.activity_create(
        actor=as_charlie,
        kind="note",
        links=[wes, ann],
        values={"body": "Shared", "owner": ann.owner_id},
    )

    html = with_timeline(alice_client, ann)

    assert "Shared" in html
    # Wes West, of charlie's team, is not named (the team West may be, as a choice of the
    # record's sharing form).
    assert "Wes West" not in html and wes.get_absolute_url() not in html


# Mentions and an activity's page


def test_mention_suggestions_list_matching_colleagues(alice_client, bob, charlie):
    html = body(alice_client.get(reverse("activities:mention_options") + "?q=bo", **HTMX))

    assert 'data-handle="bob"' in html and "charlie" not in html
    assert 'role="option"' in html


def test_an_activity_page_shows_it_and_deletes_it(alice_client, as_alice, ann, acme):
    note = services.activity_create(
        actor=as_alice, kind="note", links=[ann, acme], values={"body": "Keep <this>"}
    )

    html = body(alice_client.get(note.get_absolute_url()))
    assert "Keep &lt;this&gt;" in html
    assert "Acme" in html and "Ann Archer" in html

    response = alice_client.post(reverse("activities:delete", args=[note.pk]))
    assert response.status_code == 302
    assert Activity.all_objects.get(pk=note.pk).is_deleted


def test_an_activity_page_is_not_found_for_who_may_not_see_it(charlie, as_alice, ann):
    note = log_note(as_alice, ann)

    assert client_for(charlie).get(note.get_absolute_url()).status_code == 404


def test_a_future_meeting_is_the_next_activity_in_the_header(alice_client, as_alice, ann):
    services.activity_create(
        actor=as_alice,
        kind="meeting",
        links=[ann],
        values={"subject": "Soon", "starts_at": later(days=1)},
    )

    html = body(alice_client.get(ann.get_absolute_url()))

    assert re.search(r'id="engagement-next-activity">Next activity: <strong><time', html)


def test_an_inline_form_is_fetched_when_opened(alice_client, ann):
    page = body(alice_client.get(ann.get_absolute_url()))
    assert f'hx-get="{log_url("call", ann)}" hx-trigger="toggle once"' in page

    form = body(alice_client.get(log_url("call", ann), **HTMX))

    assert 'class="timeline-log-form"' in form
    assert "Log call</button>" in form
    assert "<html" not in form
