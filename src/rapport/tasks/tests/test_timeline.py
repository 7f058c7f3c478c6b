"""Tasks on a record's timeline: where they sit, and who sees them."""

from __future__ import annotations

from rapport.core import timeline
from rapport.tasks.services import ref_of
from rapport.tasks.tests.conftest import actor_for, in_hours, make_task


def task_items(user, record, **options):
    page = timeline.page(user, record, **options)
    return [item for item in page.items if item.kind == "task"], page


def test_tasks_sit_at_their_due_time_or_creation(alice, as_alice, acme):
    later = make_task(as_alice, "Due next week", due_at=in_hours(24 * 7), related=[ref_of(acme)])
    undated = make_task(as_alice, "Undated", related=[ref_of(acme)])
    earlier = make_task(as_alice, "Was due", due_at=in_hours(-24 * 30), related=[ref_of(acme)])
    make_task(as_alice, "About something else")

    items, _page = task_items(alice, acme)

    assert [item.obj for item in items] == [later, undated, earlier]
    assert items[0].at == later.due_at and items[1].at == undated.created_at


def test_the_timeline_pages_through_tasks(alice, as_alice, acme):
    for number in range(5):
        make_task(as_alice, f"T{number}", due_at=in_hours(number), related=[ref_of(acme)])

    first, page = task_items(alice, acme, limit=3, kinds={"task"})
    rest, end = task_items(alice, acme, cursor=page.next_cursor, limit=3, kinds={"task"})

    assert [item.obj.title for item in first + rest] == ["T4", "T3", "T2", "T1", "T0"]
    assert end.next_cursor is None


def test_other_kinds_leave_tasks_out_and_hidden_tasks_stay_hidden(alice, charlie, as_admin, acme):
    make_task(as_admin, "Admin's own", related=[ref_of(acme)])
    make_task(actor_for(alice), "Alice's", related=[ref_of(acme)])

    assert [item.obj.title for item in task_items(alice, acme)[0]] == ["Alice's"]
    assert task_items(alice, acme, kinds={"note"})[0] == []
    assert task_items(charlie, acme)[0] == []
