"""``rapport demo`` gives the demo workspace a to-do history: tasks of every status and
section, for users and teams, about contacts and companies, some repeating, some with
reminders; with the records' next activity as the services compute it."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db.models import F
from django.test import Client
from django.utils import timezone

from rapport.accounts.models import User
from rapport.activities.engagement import refresh_targets
from rapport.activities.links import Target
from rapport.contacts.models import Company, Contact
from rapport.tasks import queries
from rapport.tasks.models import OPEN_STATUSES, Status, Task, TaskLink
from rapport.tasks.reminders import send_reminders

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo() -> None:
    call_command("demo", "--seed", "2", "--contacts", "100", stdout=io.StringIO())


def next_activities() -> dict[Target, object]:
    dates: dict[Target, object] = {}
    for model, label in ((Contact, "contacts.contact"), (Company, "contacts.company")):
        for pk, moment in model.objects.values_list("pk", "next_activity_at"):
            dates[Target(label, pk)] = moment
    return dates


def test_the_demo_gives_contacts_tasks_of_every_kind(demo):
    tasks = Task.objects.all()
    now = timezone.now()

    assert set(tasks.values_list("status", flat=True)) == set(Status.values)
    open_tasks = tasks.filter(status__in=OPEN_STATUSES)
    assert open_tasks.filter(due_at__lt=now).exists()
    assert open_tasks.filter(due_at__gt=now).exists()
    assert open_tasks.filter(due_at__isnull=True).exists()
    assert not tasks.filter(status=Status.DONE, completed_at__isnull=True).exists()
    assert tasks.filter(assignee__isnull=True, assignee_team__isnull=False).exists()
    assert tasks.exclude(assignee=None).exclude(owner=F("assignee")).exists()
    assert tasks.filter(assignee__email="admin@example.com").exists()
    assert open_tasks.exclude(recurrence="").exists()
    assert open_tasks.filter(reminder_minutes__isnull=False, remind_at__gt=now).exists()
    for task in tasks:
        task.full_clean()
    linked = set(TaskLink.objects.values_list("object_type", flat=True))
    assert linked == {"contacts.contact", "contacts.company"}
    assert not Task.objects.filter(links=None).exists()


def test_reminders_already_due_count_as_sent(demo):
    assert send_reminders() == 0
    assert Task.objects.filter(reminded_at__isnull=False).exists()


def test_next_activity_is_what_the_services_compute(demo):
    loaded = next_activities()
    assert any(moment is not None for moment in loaded.values())

    refresh_targets(loaded)

    assert next_activities() == loaded


def test_demo_users_see_their_work(demo):
    rep = (
        User.objects.filter(role__slug="sales-rep", assigned_tasks__status=Status.OPEN)
        .distinct()
        .order_by("email")
        .first()
    )
    client = Client()
    client.login(email=rep.email, password="rapport-demo")
    page = client.get("/my-work/")

    assert page.status_code == 200
    shown = {entry["section"].key: entry["page"].items for entry in page.context["sections"]}
    assert shown["overdue"] or shown["today"] or shown["upcoming"]
    assert all(task.assignee_id in (rep.pk, None) for task in shown["overdue"])
    manager = User.objects.filter(role__slug="sales-manager").order_by("email").first()
    by_manager = queries.section_page(
        manager, queries.SECTIONS_BY_KEY["assigned_by_me"], now=timezone.now()
    )
    assert by_manager.items
