"""The collaboration flow end to end in a real browser (Debian's chromium through
Playwright): on a contact's page Alice logs a call, adds a task with a reminder and
mentions Bob in a note, without a page load; Bob signs in, sees the bell's count, opens
the notification centre and follows the mention to the note."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from rapport.activities.models import Activity
from rapport.conftest import log_in
from rapport.contacts import services as contacts
from rapport.core.actors import Actor
from rapport.core.models import Source
from rapport.notifications.models import Notification
from rapport.tasks.models import Task

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_log_a_call_add_a_task_with_a_reminder_and_mention_a_colleague(
    page: Page, live_server, alice, bob
) -> None:
    ann = contacts.contact_create(
        actor=Actor(user=alice, source=Source.UI), values={"first_name": "Ann", "last_name": "Lee"}
    )
    # Alice's clock is UTC (her time zone): the form's times are hers.
    tomorrow = (timezone.now() + datetime.timedelta(days=1)).strftime("%Y-%m-%dT10:00")
    base = live_server.url
    log_in(page, base, alice.email)
    page.goto(f"{base}{ann.get_absolute_url()}")
    timeline = page.locator("#timeline")
    items = page.locator("#timeline-items .timeline-item")

    call = timeline.locator("details", has_text="Log a call")
    call.get_by_text("Log a call", exact=True).click()
    call.get_by_label("Direction").select_option(label="Inbound")
    call.get_by_label("Duration (minutes)").fill("12")
    call.get_by_label("Outcome").select_option(label="Connected")
    call.get_by_label("Subject").fill("Asked about the support plans")
    call.get_by_role("button", name="Log call").click()
    expect(items.first).to_contain_text("Asked about the support plans")
    expect(page.locator("#engagement-last-contacted")).not_to_contain_text("never")

    tasks = page.locator("#tasks-panel")
    tasks.get_by_label("New task").fill("Send Ann the support plan prices")
    tasks.get_by_label("Due").fill(tomorrow)
    tasks.get_by_label("Reminder").select_option(label="1 hour before")
    tasks.get_by_role("button", name="Add task").click()
    expect(tasks.get_by_role("link", name="Send Ann the support plan prices")).to_be_visible()
    expect(tasks.get_by_label("New task")).to_have_value("")
    expect(page.locator("#engagement-next-activity")).to_contain_text("10:00")

    timeline.get_by_text("Add a note", exact=True).click()
    note = timeline.get_by_role("textbox", name="Note:")
    note.fill("Prices agreed; ")
    note.press_sequentially("@bo")
    expect(
        page.get_by_role("listbox", name="Colleagues to mention").get_by_role("option", name="Bob")
    ).to_be_visible()
    note.press("ArrowDown")
    note.press("Enter")
    note.press_sequentially("please send the contract.")
    timeline.get_by_role("button", name="Add note").click()
    # The task, due tomorrow, tops the refreshed feed; the note comes next, before the call.
    expect(items.nth(1)).to_contain_text("Prices agreed; @bob please send the contract.")
    expect(items.nth(0)).to_contain_text("Send Ann the support plan prices")
    expect(items.nth(2)).to_contain_text("Asked about the support plans")
    page.context.clear_cookies()

    log_in(page, base, bob.email)
    bell = page.get_by_role("link", name="Notifications").first
    expect(bell).to_contain_text("1")
    bell.click()
    mention = page.get_by_role("link", name="Alice mentioned you", exact=False)
    expect(mention).to_be_visible()
    mention.click()
    expect(page.get_by_text("Prices agreed; @bob please send the contract.")).to_be_visible()
    expect(page.get_by_role("link", name="Notifications").first).not_to_contain_text("1")

    task = Task.objects.get()
    assert task.reminder_minutes == 60 and task.remind_at == task.due_at - datetime.timedelta(
        hours=1
    )
    assert sorted(Activity.objects.values_list("kind", flat=True)) == ["call", "note"]
    assert Notification.objects.get(recipient=bob).read_at is not None
