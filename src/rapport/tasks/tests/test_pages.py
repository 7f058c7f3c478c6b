"""My work, the task form and page, quick complete and the record panel, through HTTP."""

from __future__ import annotations

import datetime
import zoneinfo

from django.db import connection
from django.test.utils import CaptureQueriesContext, override_script_prefix
from django.utils import timezone

from rapport.tasks.models import Status, Task
from rapport.tasks.services import links_of, ref_of
from rapport.tasks.tests.conftest import client_for, in_hours, make_task


def test_my_work_sorts_tasks_into_sections(alice_client, as_alice, bob):
    make_task(as_alice, "Late one", due_at=in_hours(-5))
    make_task(as_alice, "Someday")
    make_task(as_alice, "Next week", due_at=in_hours(24 * 7))
    make_task(as_alice, "For Bob", assignee=bob, due_at=in_hours(-1))

    page = alice_client.get("/my-work/")

    sections = {
        shown["section"].key: [t.title for t in shown["page"].items]
        for shown in page.context["sections"]
    }
    assert sections["overdue"] == ["Late one"]
    assert sections["upcoming"] == ["Next week"]
    assert sections["undated"] == ["Someday"]
    assert sections["assigned_by_me"] == ["For Bob"]
    bobs = client_for(bob).get("/my-work/").context["sections"]
    assert [t.title for t in bobs[0]["page"].items] == ["For Bob"]


def test_today_means_the_users_own_today(as_alice, alice):
    alice.timezone = "Pacific/Auckland"
    alice.save()
    zone = zoneinfo.ZoneInfo("Pacific/Auckland")
    local_now = timezone.localtime(timezone.now(), zone)
    tonight = local_now.replace(hour=23, minute=59, second=0, microsecond=0)
    tomorrow = tonight + datetime.timedelta(hours=2)
    if tonight > local_now:
        make_task(as_alice, "Tonight", due_at=tonight)
    make_task(as_alice, "Tomorrow morning", due_at=tomorrow)

    page = client_for(alice).get("/my-work/")

    sections = {
        s["section"].key: [t.title for t in s["page"].items] for s in page.context["sections"]
    }
    assert "Tomorrow morning" in sections["upcoming"]
    assert "Tomorrow morning" not in sections["today"]


def my_work_queries(client) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        body = client.get("/my-work/").content.decode()
    return len(queries.captured_queries), body


def test_my_work_costs_the_same_however_many_tasks(alice_client, as_alice, bob, east):
    def add(number: int) -> None:
        make_task(as_alice, f"Late {number}", due_at=in_hours(-number - 1))
        make_task(as_alice, f"Given {number}", assignee=bob)
        make_task(as_alice, f"Team's {number}", assignee_team=east)

    add(0)
    few, _ = my_work_queries(alice_client)
    for number in range(1, 15):
        add(number)
    many, body = my_work_queries(alice_client)

    # The user and session (4), the bell (1), each section's own and team tasks (9), the
    # assignees and their teams (2).
    assert many == few == 16
    assert body.count('class="task-row') == 30  # ten per section, then "More"
    assert body.count("More</a>") == 3


def test_a_row_links_its_task_and_names_it_for_screen_readers(alice, as_alice, east):
    alice.timezone = "Asia/Tokyo"
    alice.save()
    due = datetime.datetime(2020, 5, 4, 1, 30, tzinfo=datetime.UTC)
    task = make_task(as_alice, "Call <Ada>", due_at=due, priority="urgent")
    make_task(as_alice, "For the team", assignee_team=east)

    with override_script_prefix("/crm/"):  # Served under a path: links keep it.
        body = client_for(alice).get("/my-work/").content.decode()

    assert f'<a href="/crm/tasks/{task.pk}/">Call &lt;Ada&gt;</a>' in body
    assert f'action="/crm/tasks/{task.pk}/complete/"' in body
    assert f'hx-post="/crm/tasks/{task.pk}/complete/"' in body
    assert "Mark “Call &lt;Ada&gt;” done" in body
    assert (
        '<time datetime="2020-05-04T10:30:00+09:00" class="overdue">05/04/2020 10:30 a.m.</time>'
        in body
    )
    assert '<span class="badge danger">Urgent</span>' in body
    assert "<span>East</span>" in body


def test_more_pages_a_section_with_htmx(alice_client, as_alice):
    for number in range(12):
        make_task(as_alice, f"Late {number:02}", due_at=in_hours(-100 + number))
    first = alice_client.get("/my-work/").context["sections"][0]["page"]

    more = alice_client.get(
        "/my-work/", {"section": "overdue", "cursor": first.next_cursor}, HTTP_HX_REQUEST="true"
    )

    body = more.content.decode()
    assert body.count('class="task-row') == 2
    assert "<html" not in body
    assert alice_client.get("/my-work/", {"section": "nope"}).status_code == 404
    assert alice_client.get("/my-work/", {"section": "overdue", "cursor": "x"}).status_code == 400


def test_create_a_task_in_the_users_time_zone(alice_client, alice, acme):
    alice.timezone = "Europe/Berlin"
    alice.save()

    response = alice_client.post(
        "/tasks/new/",
        {
            "title": "Call Ada",
            "due_at": "2030-03-10T09:30",
            "priority": "high",
            "recurrence": "",
            "recurrence_interval": "1",
            "reminder_minutes": "10",
            "related": [str(ref_of(acme))],
        },
    )

    task = Task.objects.get(title="Call Ada")
    assert response.status_code == 302 and response["Location"] == f"/tasks/{task.pk}/"
    assert task.due_at == datetime.datetime(2030, 3, 10, 8, 30, tzinfo=datetime.UTC)
    assert links_of(task) == [ref_of(acme)]
    detail = alice_client.get(response["Location"]).content.decode()
    assert "Ada Acme" in detail and "09:30" in detail


def test_the_form_shows_rule_errors_and_writes_nothing(alice_client, hidden_contact):
    page = alice_client.post(
        "/tasks/new/",
        {
            "title": "Weekly",
            "priority": "normal",
            "recurrence": "weekly",
            "recurrence_interval": "1",
        },
    )
    assert page.status_code == 200
    assert "A repeating task needs a due date." in page.content.decode()

    sneaky = alice_client.post(
        "/tasks/new/",
        {
            "title": "Sneaky",
            "priority": "normal",
            "recurrence_interval": "1",
            "related": [str(ref_of(hidden_contact))],
        },
    )
    assert "not one you may see" in sneaky.content.decode()
    assert not Task.objects.exists()


def test_quick_complete_with_htmx(alice_client, as_alice):
    task = make_task(as_alice, due_at=in_hours(-1), recurrence="daily")

    response = alice_client.post(f"/tasks/{task.pk}/complete/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert "Next time due" in response.content.decode()
    task.refresh_from_db()
    assert task.status == Status.DONE


def test_hidden_tasks_are_404_and_others_403(as_alice, charlie, bob):
    task = make_task(as_alice)

    outsider = client_for(charlie)
    for url in (f"/tasks/{task.pk}/", f"/tasks/{task.pk}/edit/", f"/tasks/{task.pk}/delete/"):
        assert outsider.get(url).status_code == 404
    assert outsider.post(f"/tasks/{task.pk}/complete/").status_code == 404

    teammate = client_for(bob)
    assert teammate.get(f"/tasks/{task.pk}/").status_code == 200
    assert teammate.get(f"/tasks/{task.pk}/edit/").status_code == 403
    assert teammate.post(f"/tasks/{task.pk}/complete/").status_code == 403
    task.refresh_from_db()
    assert task.status == Status.OPEN


def test_edit_and_delete(alice_client, as_alice, alice):
    task = make_task(as_alice)
    form = alice_client.get(f"/tasks/{task.pk}/edit/")
    assert form.status_code == 200

    saved = alice_client.post(
        f"/tasks/{task.pk}/edit/",
        {
            "title": "Call Acme twice",
            "priority": "urgent",
            "status": "in_progress",
            "assignee": alice.pk,
            "recurrence_interval": "1",
            "version": task.version,
        },
    )
    assert saved.status_code == 302
    stale = alice_client.post(
        f"/tasks/{task.pk}/edit/",
        {
            "title": "Stale",
            "priority": "low",
            "status": "open",
            "recurrence_interval": "1",
            "version": task.version,
        },
    )
    assert "Someone else changed this task" in stale.content.decode()

    assert alice_client.post(f"/tasks/{task.pk}/delete/").status_code == 302
    assert not Task.objects.filter(pk=task.pk).exists()


def test_the_contact_page_shows_its_tasks_panel_and_quick_adds(alice_client, as_alice, acme):
    make_task(as_alice, "About Ada <3", related=[ref_of(acme)])
    make_task(as_alice, "About nobody")

    page = alice_client.get(acme.get_absolute_url()).content.decode()
    assert 'id="tasks-panel"' in page
    assert "About Ada &lt;3" in page and "About nobody" not in page

    added = alice_client.post(
        "/tasks/quick-add/",
        {"title": "Send the quote", "due_at": "", "related": str(ref_of(acme))},
        HTTP_HX_REQUEST="true",
    )
    assert added.status_code == 200
    assert "Send the quote" in added.content.decode()
    refused = alice_client.post(
        "/tasks/quick-add/", {"title": "", "related": str(ref_of(acme))}, HTTP_HX_REQUEST="true"
    )
    assert refused.status_code == 200 and "has-error" in refused.content.decode()
    assert Task.objects.filter(title="Send the quote").count() == 1


def test_quick_add_sets_a_reminder_and_refuses_one_without_a_due_date(alice_client, acme):
    added = alice_client.post(
        "/tasks/quick-add/",
        {
            "title": "Call Ada back",
            "due_at": "2031-03-04T10:00",
            "reminder_minutes": "30",
            "related": str(ref_of(acme)),
        },
        HTTP_HX_REQUEST="true",
    )
    refused = alice_client.post(
        "/tasks/quick-add/",
        {"title": "Undated", "reminder_minutes": "0", "related": str(ref_of(acme))},
        HTTP_HX_REQUEST="true",
    )

    task = Task.objects.get()
    assert (task.title, task.reminder_minutes) == ("Call Ada back", 30)
    assert task.remind_at == task.due_at - datetime.timedelta(minutes=30)
    assert links_of(task) == [ref_of(acme)]
    assert 'name="reminder_minutes"' in added.content.decode()
    # The contact's next activity is now the task: the page header is sent along.
    assert 'id="engagement-next-activity" hx-swap-oob="true"' in added.content.decode()
    assert "4 Mar 2031, 10:00" in added.content.decode()
    assert "A reminder needs a due date." in refused.content.decode()


def test_quick_add_to_a_hidden_record_is_404(alice_client, hidden_contact):
    response = alice_client.post(
        "/tasks/quick-add/", {"title": "x", "related": str(ref_of(hidden_contact))}
    )

    assert response.status_code == 404
    assert not Task.objects.exists()


def test_the_sidebar_links_my_work_and_notifications(alice_client):
    body = alice_client.get("/").content.decode()

    assert 'href="/my-work/"' in body and 'href="/notifications/"' in body
