"""The tasks API, through HTTP: lists and filters, writes, ETags and problems."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.utils import timezone

from rapport.tasks.models import Task
from rapport.tasks.queries import end_of_today
from rapport.tasks.services import ref_of, task_complete
from rapport.tasks.tests.conftest import client_for, in_hours, make_task

PROBLEM = "application/problem+json"


def test_create_read_update_complete_delete(alice_client, bob, acme):
    created = alice_client.post(
        "/api/v1/tasks",
        {
            "title": "Call Ada",
            "due_at": "2030-01-01T09:00:00Z",
            "assignee": bob.pk,
            "recurrence": "daily",
            "reminder_minutes": 5,
            "related": [{"object_type": "contacts.contact", "object_id": acme.pk}],
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["assignee"] == bob.pk and body["remind_at"] == "2030-01-01T08:55:00Z"
    assert body["related"] == [{"object_type": "contacts.contact", "object_id": acme.pk}]
    url = created["Location"]

    read = alice_client.get(url)
    assert read.status_code == 200
    assert alice_client.get(url, HTTP_IF_NONE_MATCH=read["ETag"]).status_code == 304

    patched = alice_client.patch(
        url, {"priority": "urgent"}, content_type="application/json", HTTP_IF_MATCH=read["ETag"]
    )
    assert patched.status_code == 200 and patched.json()["priority"] == "urgent"
    stale = alice_client.patch(
        url, {"priority": "low"}, content_type="application/json", HTTP_IF_MATCH=read["ETag"]
    )
    assert stale.status_code == 412

    completed = alice_client.post(f"{url}/complete")
    assert completed.status_code == 200
    assert completed.json()["task"]["status"] == "done"
    assert completed.json()["next_task"]["due_at"] == "2030-01-02T09:00:00Z"

    assert alice_client.delete(url).status_code == 204
    assert alice_client.get(url).status_code == 404


def test_list_mine_by_status_and_by_record(alice_client, as_alice, bob, acme):
    make_task(as_alice, "About Ada", related=[ref_of(acme)])
    make_task(as_alice, "For Bob", assignee=bob)
    task_complete(make_task(as_alice, "Done"), actor=as_alice)

    def titles(**params):
        return [item["title"] for item in alice_client.get("/api/v1/tasks", params).json()["items"]]

    assert titles() == ["Done", "For Bob", "About Ada"]
    assert titles(mine="true") == ["Done", "About Ada"]
    assert titles(mine="true", status="open") == ["About Ada"]
    assert titles(status=["open", "in_progress"]) == ["For Bob", "About Ada"]
    assert titles(object_type="contacts.contact", object_id=acme.pk) == ["About Ada"]


def test_list_one_section_of_my_work_as_the_page_does(alice, alice_client, as_alice, bob):
    """The API's sections are My work's: the same tasks, in the same order, with "today"
    ending at midnight in the caller's time zone."""
    alice.timezone = "Asia/Tokyo"
    alice.save()
    with timezone.override(zoneinfo.ZoneInfo("Asia/Tokyo")):
        midnight = end_of_today(timezone.now())
    make_task(as_alice, "Late", due_at=in_hours(-2))
    make_task(as_alice, "Very late", due_at=in_hours(-30))
    task_complete(make_task(as_alice, "Late but done", due_at=in_hours(-3)), actor=as_alice)
    make_task(as_alice, "Before midnight", due_at=midnight - datetime.timedelta(seconds=1))
    make_task(as_alice, "After midnight", due_at=midnight + datetime.timedelta(minutes=1))
    make_task(as_alice, "Some day")
    make_task(as_alice, "Bob's", assignee=bob, due_at=in_hours(-1))

    def titles(section: str) -> list[str]:
        response = alice_client.get("/api/v1/tasks", {"section": section})
        return [item["title"] for item in response.json()["items"]]

    assert titles("overdue") == ["Very late", "Late"]
    assert titles("today") == ["Before midnight"]
    assert titles("upcoming") == ["After midnight"]
    assert titles("undated") == ["Some day"]
    assert titles("assigned_by_me") == ["Bob's"]
    page = alice_client.get("/my-work/").content.decode()
    assert page.index("Very late") < page.index("Late<") < page.index("Before midnight")
    unknown = alice_client.get("/api/v1/tasks", {"section": "someday"})
    assert unknown.status_code == 422 and unknown["Content-Type"] == PROBLEM


def test_sections_page_through_in_order(alice_client, as_alice):
    for hours in range(1, 6):
        make_task(as_alice, f"Due {hours}h ago", due_at=in_hours(-hours))

    first = alice_client.get("/api/v1/tasks", {"section": "overdue", "limit": 3}).json()
    rest = alice_client.get(
        "/api/v1/tasks", {"section": "overdue", "limit": 3, "cursor": first["next_cursor"]}
    ).json()

    titles = [item["title"] for item in first["items"] + rest["items"]]
    assert titles == [f"Due {hours}h ago" for hours in (5, 4, 3, 2, 1)]
    assert rest["next_cursor"] is None


def test_lists_cost_the_same_however_many_tasks(
    alice_client, as_alice, acme, django_assert_max_num_queries
):
    for number in range(30):
        make_task(as_alice, f"T{number}", related=[ref_of(acme)])

    with django_assert_max_num_queries(9):
        page = alice_client.get("/api/v1/tasks", {"limit": 25}).json()
    assert len(page["items"]) == 25 and page["next_cursor"]


def test_hidden_tasks_and_records_are_404(as_alice, charlie, hidden_contact, alice_client):
    task = make_task(as_alice)
    outsider = client_for(charlie)

    for response in (
        outsider.get(f"/api/v1/tasks/{task.pk}"),
        outsider.patch(f"/api/v1/tasks/{task.pk}", {"title": "x"}, content_type="application/json"),
        outsider.post(f"/api/v1/tasks/{task.pk}/complete"),
        outsider.delete(f"/api/v1/tasks/{task.pk}"),
        alice_client.get(
            "/api/v1/tasks", {"object_type": "contacts.contact", "object_id": hidden_contact.pk}
        ),
        alice_client.get("/api/v1/tasks", {"object_type": "no.such", "object_id": 1}),
    ):
        assert response.status_code == 404
        assert response["Content-Type"] == PROBLEM
    assert Task.objects.get(pk=task.pk).title == "Call Acme"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x", "recurrence": "daily"}, "due_at"),
        ({"title": "x", "priority": "whenever"}, "priority"),
        ({"title": "x", "assignee": 999999}, "assignee"),
        ({"title": "x", "reminder_minutes": -1}, "reminder_minutes"),
        (
            {"title": "x", "related": [{"object_type": "contacts.contact", "object_id": 2**70}]},
            "related.0.object_id",
        ),
        (
            {"title": "x", "related": [{"object_type": "contacts.contact", "object_id": 999}]},
            "related",
        ),
    ],
)
def test_bad_input_is_a_422_problem_naming_the_field(alice_client, body, field):
    response = alice_client.post("/api/v1/tasks", body, content_type="application/json")

    assert response.status_code == 422
    assert response["Content-Type"] == PROBLEM
    assert field in [error["field"] for error in response.json()["errors"]]
    assert not Task.objects.exists()


def test_completing_twice_is_a_422(alice_client, as_alice):
    task = make_task(as_alice, due_at=in_hours(1))
    alice_client.post(f"/api/v1/tasks/{task.pk}/complete")

    assert alice_client.post(f"/api/v1/tasks/{task.pk}/complete").status_code == 422


def test_a_teammate_may_read_but_not_change(as_alice, bob):
    task = make_task(as_alice)
    teammate = client_for(bob)

    assert teammate.get(f"/api/v1/tasks/{task.pk}").status_code == 200
    response = teammate.post(f"/api/v1/tasks/{task.pk}/complete")
    assert response.status_code == 403
