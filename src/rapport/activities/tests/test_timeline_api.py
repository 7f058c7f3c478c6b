"""A record's timeline through the API (/contacts/{id}/timeline, /companies/{id}/timeline):
the page's items merged the same way, the kind filter, the cursor, who sees what, the
typed OpenAPI description and a query count that does not grow with the history."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rapport.activities import services
from rapport.activities.models import Activity, ActivityLink, MeetingAttendee
from rapport.activities.tests.factories import ago, later, log_call, log_note
from rapport.contacts import services as contacts
from rapport.core import timeline
from rapport.core.models import AuditEntry
from rapport.tasks import services as tasks
from rapport.tasks.services import ref_of

pytestmark = pytest.mark.django_db

API = "/api/v1"
PROBLEM = "application/problem+json"


def timeline_url(record) -> str:
    collection = {"contact": "contacts", "company": "companies"}[record._meta.model_name]
    return f"{API}/{collection}/{record.pk}/timeline"


def read(client: Client, record, **params) -> dict:
    response = client.get(timeline_url(record), params)
    assert response.status_code == 200, response.content
    return response.json()


def make_task(actor, title: str, record, **values):
    return tasks.task_create(
        actor=actor, values={"title": title, **values}, related=[ref_of(record)]
    )


def test_a_contacts_timeline_merges_activities_tasks_and_changes_newest_first(
    alice_client, as_alice, alice, bob, ann, acme
):
    note = log_note(as_alice, ann, "Met at the fair", occurred_at=ago(days=3))
    call = log_call(as_alice, ann, subject="Pricing", occurred_at=ago(days=1))
    meeting = services.activity_create(
        actor=as_alice,
        kind="meeting",
        links=[ann, acme],
        values={"subject": "Workshop", "starts_at": ago(hours=5)},
        attendee_users=[bob.pk],
    )
    make_task(as_alice, "Send the quote", ann, due_at=later(days=2))
    contacts.contact_update(ann, actor=as_alice, values={"lifecycle_stage": "customer"})

    body = read(alice_client, ann)

    items = body["items"]
    assert [(item["source"], item["kind"]) for item in items] == [
        ("tasks", "task"),
        ("changes", "change"),
        ("activities", "meeting"),
        ("activities", "call"),
        ("activities", "note"),
    ]
    assert [item["id"] for item in items[2:]] == [meeting.pk, call.pk, note.pk]
    assert body["next_cursor"] is None
    assert items[0]["task"]["title"] == "Send the quote" and items[0]["activity"] is None
    assert items[0]["task"]["related"] == [{"object_type": "contacts.contact", "object_id": ann.pk}]
    assert items[0]["at"] == items[0]["task"]["due_at"]  # a task sits at its due time
    assert items[1]["change"] == {
        "actor": alice.pk,
        "actor_label": alice.email,
        "source": "ui",
        "changes": {"lifecycle_stage": ["lead", "customer"]},
    }
    shown_meeting = items[2]["activity"]
    assert shown_meeting["subject"] == "Workshop" and shown_meeting["attendee_users"] == [bob.pk]
    assert {link["object_type"] for link in shown_meeting["links"]} == {
        "contacts.contact",
        "contacts.company",
    }
    assert items[3]["activity"]["duration_seconds"] == 300
    # The very items the page shows, in the same order.
    page = timeline.page(alice, ann, limit=50)
    assert [(item["source"], item["id"]) for item in items] == [
        (item.source, item.id) for item in page.items
    ]


def test_a_companys_timeline(alice_client, as_alice, ann, acme):
    log_note(as_alice, acme, "Company-wide news")
    log_call(as_alice, ann, subject="Only on Ann")

    items = read(alice_client, acme)["items"]

    assert [item["activity"]["body"] for item in items] == ["Company-wide news"]


def test_the_kind_filter_is_the_pages(alice_client, as_alice, ann):
    log_note(as_alice, ann, "A note")
    log_call(as_alice, ann, subject="A call")
    make_task(as_alice, "A task", ann)

    def kinds(*wanted: str) -> list[str]:
        return [item["kind"] for item in read(alice_client, ann, kind=list(wanted))["items"]]

    assert kinds("call") == ["call"]
    assert sorted(kinds("note", "task")) == ["note", "task"]
    response = alice_client.get(timeline_url(ann), {"kind": "nonsense"})
    assert response.status_code == 422 and response["Content-Type"] == PROBLEM
    assert response.json()["errors"][0]["field"] == "kind"


def test_pages_follow_without_gaps_or_repeats(alice_client, as_alice, ann):
    for day in range(7):
        log_note(as_alice, ann, f"Note {day}", occurred_at=ago(days=day))
    for day in range(3):
        make_task(as_alice, f"Task {day}", ann, due_at=ago(days=day, hours=12))

    seen, cursor, links = [], None, []
    while True:
        response = alice_client.get(
            timeline_url(ann), {"limit": 3, **({"cursor": cursor} if cursor else {})}
        )
        body = response.json()
        seen += [
            item["activity"]["body"] if item["activity"] else item["task"]["title"]
            for item in body["items"]
        ]
        links.append(response.get("Link"))
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert seen == [
        "Note 0",
        "Task 0",
        "Note 1",
        "Task 1",
        "Note 2",
        "Task 2",
        "Note 3",
        "Note 4",
        "Note 5",
        "Note 6",
    ]
    assert links[0].endswith('>; rel="next"') and "cursor=" in links[0]
    assert links[-1] is None
    forged = alice_client.get(timeline_url(ann), {"cursor": "forged"})
    assert forged.status_code == 400 and forged.json()["type"].endswith("/invalid-cursor")
    assert alice_client.get(timeline_url(ann), {"limit": 0}).status_code == 422


def test_a_record_out_of_sight_is_a_404_and_so_is_one_that_does_not_exist(
    alice_client, as_alice, as_charlie, wes, ann
):
    log_note(as_charlie, wes, "West only")

    for url in (
        timeline_url(wes),
        f"{API}/contacts/999999/timeline",
        f"{API}/contacts/{2**70}/timeline",
    ):
        response = alice_client.get(url)
        assert response.status_code == 404 and response["Content-Type"] == PROBLEM
        assert "West only" not in response.content.decode()
    contacts.contact_delete(ann, actor=as_alice)
    assert alice_client.get(timeline_url(ann)).status_code == 404
    assert Client().get(timeline_url(wes)).status_code == 401


def test_items_the_reader_may_not_see_are_absent(alice_client, as_alice, as_admin, east, ann, wes):
    log_note(as_alice, ann, "Alice's note")
    log_note(as_admin, ann, "The admin's private thoughts")
    make_task(as_admin, "The admin's own task", ann)
    tasks.task_create(
        actor=as_admin,
        values={"title": "About both", "assignee_team": east},
        related=[ref_of(ann), ref_of(wes)],
    )

    items = read(alice_client, ann)["items"]

    assert [item["activity"]["body"] for item in items if item["activity"]] == ["Alice's note"]
    assert [item["task"]["title"] for item in items if item["task"]] == ["About both"]
    # Of the records a task is about, only those the reader may see are named.
    assert [item["task"]["related"] for item in items if item["task"]] == [
        [{"object_type": "contacts.contact", "object_id": ann.pk}]
    ]


def test_the_openapi_description_types_the_items(alice_client):
    schema = alice_client.get(f"{API}/openapi.json").json()

    for path in ("/api/v1/contacts/{record_id}/timeline", "/api/v1/companies/{record_id}/timeline"):
        operation = schema["paths"][path]["get"]
        assert set(operation["responses"]) == {"200", "400", "401", "404", "422"}
        kind = next(param for param in operation["parameters"] if param["name"] == "kind")
        assert {"note", "call", "task", "change"} <= set(
            kind["schema"]["anyOf"][0]["items"]["enum"]
        )
    item = schema["components"]["schemas"]["TimelineItemOut"]["properties"]
    assert item["activity"]["anyOf"][0] == {"$ref": "#/components/schemas/ActivityOut"}
    assert item["task"]["anyOf"][0] == {"$ref": "#/components/schemas/TaskOut"}
    assert item["change"]["anyOf"][0] == {"$ref": "#/components/schemas/ChangeOut"}


def _history(alice, as_alice, ann, acme, count: int, start: int) -> None:
    """``count`` activities of every shape on Ann (meetings with attendees, some on Acme
    too), one a minute back from now, and among every ten of them a task and a change
    of Ann's lifecycle stage."""
    now = timezone.now()
    kinds = ["note", "call", "meeting", "chat"]
    rows = []
    for number in range(start, start + count):
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
    activities = Activity.objects.bulk_create(rows)
    ActivityLink.objects.bulk_create(
        [
            ActivityLink(
                activity=activity,
                object_type="contacts.contact",
                object_id=ann.pk,
                occurred_at=activity.occurred_at,
            )
            for activity in activities
        ]
        + [
            ActivityLink(
                activity=activity,
                object_type="contacts.company",
                object_id=acme.pk,
                occurred_at=activity.occurred_at,
            )
            for activity in activities[::3]
        ]
    )
    MeetingAttendee.objects.bulk_create(
        MeetingAttendee(activity=activity, user=alice)
        for activity in activities
        if activity.kind == "meeting"
    )
    for number in range(start, start + count, 10):
        at = now - datetime.timedelta(minutes=number, seconds=30)
        tasks.task_create(
            actor=as_alice,
            values={"title": f"Task {number}", "due_at": at},
            related=[ref_of(ann), ref_of(acme)],
        )
        stage = "customer" if (number // 10) % 2 == 0 else "lead"
        contacts.contact_update(ann, actor=as_alice, values={"lifecycle_stage": stage})
        ann.refresh_from_db()
        change = AuditEntry.objects.filter(object_id=str(ann.pk), action="update").latest("id")
        AuditEntry.objects.filter(pk=change.pk).update(at=at)


def test_a_page_costs_the_same_queries_however_long_the_history(
    alice_client, alice, as_alice, ann, acme
):
    def queries_per_page() -> list[int]:
        counts, cursor = [], None
        for _page in range(3):
            with CaptureQueriesContext(connection) as captured:
                body = read(alice_client, ann, limit=20, **({"cursor": cursor} if cursor else {}))
            assert len(body["items"]) == 20
            assert {item["source"] for item in body["items"]} == {"activities", "tasks", "changes"}
            counts.append(len(captured))
            cursor = body["next_cursor"]
        return counts

    _history(alice, as_alice, ann, acme, 100, start=0)
    short = queries_per_page()
    _history(alice, as_alice, ann, acme, 300, start=100)
    long = queries_per_page()

    assert len(set(short + long)) == 1, (short, long)
    # One reads the sensitive custom fields the role hides, one counts the call against
    # the rate limit.
    assert short[0] <= 19
