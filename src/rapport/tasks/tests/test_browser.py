"""In a real browser: alice gives bob a task with a reminder from My work; the reminder
job runs; bob sees the bell count, opens the reminder, lands on the task and marks it
done; at 375 px the page still fits."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from rapport.conftest import log_in
from rapport.tasks.models import Status, Task
from rapport.tasks.reminders import send_reminders

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_task_with_a_reminder_reaches_its_assignee(page: Page, live_server, alice, bob) -> None:
    base = live_server.url
    log_in(page, base, alice.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My work").click()
    page.get_by_role("link", name="New task").click()
    page.get_by_label("Title").fill("Send Ada the quote")
    page.get_by_label("Due").fill("2020-01-01T09:00")
    page.get_by_label("Assigned to:", exact=True).select_option(label=str(bob))
    page.get_by_label("Reminder").select_option(label="At the due time")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Send Ada the quote")
    page.context.clear_cookies()

    send_reminders()

    log_in(page, base, bob.email)
    bell = page.get_by_role("link", name="Notifications").first
    expect(bell).to_contain_text("2")  # given the task, then reminded of it
    bell.click()
    page.get_by_role("link", name="Reminder: Send Ada the quote").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Send Ada the quote")
    page.get_by_role("button", name="Mark done").click()
    expect(page.locator(".page-header .badge")).to_have_text("Done")
    assert Task.objects.get(title="Send Ada the quote").status == Status.DONE

    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"{base}/my-work/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375
