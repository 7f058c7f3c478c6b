"""Task rules, through the services: defaults, validation, links, completion and
recurrence, reminders' arming, and who may see and change a task."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from rapport.core.models import AuditEntry
from rapport.core.services import record_restore
from rapport.notifications.models import Notification
from rapport.tasks import queries, services
from rapport.tasks.models import Status, Task
from rapport.tasks.services import RecordRef, next_due, ref_of
from rapport.tasks.tests.conftest import actor_for, in_hours, make_task

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def test_a_new_task_is_the_creators_own_to_do(as_alice, alice):
    task = make_task(as_alice)

    assert (task.owner, task.assignee, task.created_by) == (alice, alice, alice)
    assert task.status == Status.OPEN
    assert AuditEntry.objects.filter(object_id=str(task.pk), action="create").exists()
    assert not Notification.objects.exists()  # nobody is told of their own task


def test_giving_a_task_to_someone_notifies_them(as_alice, bob):
    task = make_task(as_alice, assignee=bob)

    [notification] = Notification.objects.filter(recipient=bob)
    assert notification.kind == "task.assigned"
    assert notification.url == f"/tasks/{task.pk}/"
    assert "Call Acme" in notification.title


def test_giving_a_task_to_a_team_notifies_its_members(as_admin, east, alice, bob):
    make_task(as_admin, assignee_team=east)

    assert set(Notification.objects.values_list("recipient", flat=True)) == {alice.pk, bob.pk}


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"recurrence": "daily"}, "due_at"),
        ({"reminder_minutes": 10}, "due_at"),
        ({"recurrence_interval": 0, "due_at": None}, "recurrence_interval"),
        ({"priority": "whenever"}, "priority"),
        ({"title": ""}, "title"),
        ({"reminded_at": None}, "reminded_at"),
    ],
)
def test_bad_values_are_refused_and_nothing_is_written(as_alice, values, field):
    with pytest.raises(ValidationError) as refused:
        make_task(as_alice, **values)

    assert field in refused.value.message_dict
    assert not Task.all_objects.exists()


def test_a_due_date_in_the_past_is_allowed(as_alice):
    assert make_task(as_alice, due_at=in_hours(-48)).pk


def test_a_deactivated_user_cannot_be_given_a_task(as_alice, bob):
    bob.is_active = False
    bob.save()

    with pytest.raises(ValidationError) as refused:
        make_task(as_alice, assignee=bob)
    assert "assignee" in refused.value.message_dict


def test_the_reminder_follows_the_due_time_and_moving_it_arms_it_again(as_alice):
    due = in_hours(5)
    task = make_task(as_alice, due_at=due, reminder_minutes=30)
    assert task.remind_at == due - datetime.timedelta(minutes=30)

    Task.objects.filter(pk=task.pk).update(reminded_at=in_hours(0))
    task.refresh_from_db()
    same = services.task_update(task, actor=as_alice, values={"title": "Call Acme today"})
    assert same.reminded_at is not None  # unrelated change: stays sent

    moved = services.task_update(
        same, actor=as_alice, values={"due_at": due + datetime.timedelta(days=1)}
    )
    assert moved.remind_at == due + datetime.timedelta(days=1, minutes=-30)
    assert moved.reminded_at is None


def test_links_need_records_the_writer_may_see(as_alice, acme, hidden_contact):
    task = make_task(as_alice, related=[ref_of(acme)])
    assert services.links_of(task) == [ref_of(acme)]

    for ref in (
        ref_of(hidden_contact),
        RecordRef("contacts.contact", 10**9),
        RecordRef("no.such", 1),
        ref_of(task),
    ):
        with pytest.raises(ValidationError) as refused:
            make_task(as_alice, "Sneaky", related=[ref])
        assert "related" in refused.value.message_dict
    assert not Task.objects.filter(title="Sneaky").exists()


def test_relinking_keeps_links_the_writer_cannot_see(as_admin, alice, acme, hidden_contact):
    task = make_task(as_admin, assignee=alice, related=[ref_of(acme), ref_of(hidden_contact)])

    services.task_update(task, actor=actor_for(alice), related=[])

    assert services.links_of(task) == [ref_of(hidden_contact)]


def test_completing_closes_once(as_alice):
    task = make_task(as_alice)

    done = services.task_complete(task, actor=as_alice)

    assert done.task.status == Status.DONE and done.task.completed_at is not None
    assert done.next_task is None
    with pytest.raises(ValidationError):
        services.task_complete(done.task, actor=as_alice)


def test_completing_a_repeating_task_creates_the_next_occurrence(as_alice, bob, acme):
    due = in_hours(2)
    task = make_task(
        as_alice,
        assignee=bob,
        due_at=due,
        recurrence="weekly",
        recurrence_interval=2,
        reminder_minutes=15,
        related=[ref_of(acme)],
    )

    following = services.task_complete(task, actor=actor_for(bob)).next_task

    assert following.due_at == due + datetime.timedelta(weeks=2)
    assert following.remind_at == following.due_at - datetime.timedelta(minutes=15)
    assert (following.owner, following.assignee, following.status) == (task.owner, bob, Status.OPEN)
    assert services.links_of(following) == [ref_of(acme)]


def test_setting_status_done_by_update_also_repeats(as_alice):
    task = make_task(as_alice, due_at=in_hours(1), recurrence="daily")

    services.task_update(task, actor=as_alice, values={"status": "done"})

    assert Task.objects.filter(status=Status.OPEN).count() == 1


def test_a_late_task_continues_from_now_and_keeps_local_time_across_dst(alice):
    alice.timezone = "Europe/Berlin"
    task = Task(
        due_at=datetime.datetime(2025, 3, 28, 9, 0, tzinfo=BERLIN),
        recurrence="daily",
        recurrence_interval=1,
        assignee=alice,
    )

    # Completed on time: the next day at 9:00 Berlin time, though the clocks changed.
    on_time = next_due(task, after=datetime.datetime(2025, 3, 28, 10, 0, tzinfo=BERLIN))
    assert on_time == datetime.datetime(2025, 3, 29, 9, 0, tzinfo=BERLIN)
    late = next_due(task, after=datetime.datetime(2025, 4, 2, 12, 0, tzinfo=BERLIN))
    assert late == datetime.datetime(2025, 4, 3, 9, 0, tzinfo=BERLIN)
    assert late.utcoffset() == datetime.timedelta(hours=2)


def test_monthly_on_the_31st_skips_short_months(alice):
    task = Task(
        due_at=datetime.datetime(2025, 1, 31, 9, 0, tzinfo=datetime.UTC),
        recurrence="monthly",
        recurrence_interval=1,
        assignee=alice,
    )

    following = next_due(task, after=task.due_at)

    assert following == datetime.datetime(2025, 3, 31, 9, 0, tzinfo=datetime.UTC)


def test_the_assignee_and_the_team_see_and_complete_others_do_not(
    as_alice, alice, bob, charlie, dave
):
    task = make_task(as_alice, assignee=charlie)

    # Charlie (assignee) and dave (his teammate) see it; bob sees it as alice's teammate.
    for user in (alice, bob, charlie, dave):
        assert queries.visible_tasks(user).filter(pk=task.pk).exists()
    # Editing is for one's own records: the owner and the assignee.
    with pytest.raises(PermissionDenied):
        services.task_update(task, actor=actor_for(bob), values={"title": "Mine now"})
    services.task_complete(task, actor=actor_for(charlie))


def test_a_task_for_a_team_is_its_members_own(as_admin, bob, charlie, west):
    task = make_task(as_admin, assignee_team=west)

    assert not queries.visible_tasks(bob).filter(pk=task.pk).exists()
    with pytest.raises(Http404):
        services.task_complete(task, actor=actor_for(bob))
    assert services.task_complete(task, actor=actor_for(charlie)).task.status == Status.DONE


def test_deleting_moves_to_the_trash(as_alice, bob, charlie, east):
    task = make_task(as_alice, assignee_team=east)

    with pytest.raises(Http404):
        services.task_delete(task, actor=actor_for(charlie))
    services.task_delete(task, actor=as_alice)

    assert not Task.objects.filter(pk=task.pk).exists()
    assert Task.all_objects.get(pk=task.pk).is_deleted


def test_the_next_open_task_is_the_records_next_activity(as_alice, acme):
    due = in_hours(5)
    task = make_task(as_alice, due_at=due, related=[ref_of(acme)])
    acme.refresh_from_db()
    assert acme.next_activity_at == due

    moved = services.task_update(
        task, actor=as_alice, values={"due_at": due + datetime.timedelta(hours=1)}
    )
    acme.refresh_from_db()
    assert acme.next_activity_at == due + datetime.timedelta(hours=1)

    services.task_complete(moved, actor=as_alice)
    acme.refresh_from_db()
    assert acme.next_activity_at is None


def test_restoring_a_task_makes_it_the_records_next_activity_again(as_alice, alice_client, acme):
    due = in_hours(5)
    task = make_task(as_alice, due_at=due, related=[ref_of(acme)])
    services.task_delete(task, actor=as_alice)
    acme.refresh_from_db()
    assert acme.next_activity_at is None

    record_restore(Task.all_objects.get(pk=task.pk), actor=as_alice)

    acme.refresh_from_db()
    assert acme.next_activity_at == due
    services.task_delete(Task.objects.get(pk=task.pk), actor=as_alice)
    response = alice_client.post(f"/trash/tasks.task/{task.pk}/restore/")  # the trash page
    assert response.status_code == 302
    acme.refresh_from_db()
    assert acme.next_activity_at == due


def test_unlinking_a_task_refreshes_the_record_it_left(as_alice, acme):
    task = make_task(as_alice, due_at=in_hours(5), related=[ref_of(acme)])

    services.task_update(task, actor=as_alice, related=[])

    acme.refresh_from_db()
    assert acme.next_activity_at is None


def test_a_task_whose_assignee_left_can_still_be_completed(as_alice, bob):
    task = make_task(as_alice, assignee=bob)
    bob.is_active = False
    bob.save()

    assert services.task_complete(task, actor=as_alice).task.status == Status.DONE


def test_a_task_must_stay_assigned_to_someone(as_alice):
    task = make_task(as_alice)

    with pytest.raises(ValidationError) as refused:
        services.task_update(task, actor=as_alice, values={"assignee": None})
    assert "assignee" in refused.value.message_dict


def test_changing_links_is_audited(as_alice, acme):
    task = make_task(as_alice, related=[ref_of(acme)])

    services.task_update(task, actor=as_alice, related=[])

    entry = AuditEntry.objects.filter(object_id=str(task.pk)).first()
    assert entry.changes == {"related": [[str(ref_of(acme))], []]}
