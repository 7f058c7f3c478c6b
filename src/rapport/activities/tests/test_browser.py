"""A note logged inline on a contact in a real browser (Debian's chromium through
Playwright): the @mention suggestions picked with the keyboard, the note at the top of
the timeline without a page load, and a meeting's error shown in its form."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from rapport.activities.models import Activity
from rapport.conftest import log_in
from rapport.contacts import services as contacts
from rapport.core.actors import Actor
from rapport.core.models import Source

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_log_a_note_with_a_mention_and_see_it_in_the_timeline(
    page: Page, live_server, alice, bob
) -> None:
    ann = contacts.contact_create(
        actor=Actor(user=alice, source=Source.UI), values={"first_name": "Ann", "last_name": "Lee"}
    )
    base = live_server.url
    log_in(page, base, alice.email)
    page.goto(f"{base}{ann.get_absolute_url()}")
    timeline = page.locator("#timeline")

    timeline.get_by_text("Add a note", exact=True).click()
    note = timeline.get_by_role("textbox", name="Note:")
    note.fill("Call back next week, ")
    note.press_sequentially("@bo")
    suggestions = page.get_by_role("listbox", name="Colleagues to mention")
    option = suggestions.get_by_role("option", name="Bob")
    expect(option).to_be_visible()
    note.press("ArrowDown")
    note.press("Enter")
    expect(note).to_have_value("Call back next week, @bob ")
    note.press_sequentially("knows\nthe prices.")
    timeline.get_by_role("button", name="Add note").click()

    items = page.locator("#timeline-items")
    expect(items.locator(".timeline-item").first).to_contain_text("Call back next week, @bob knows")
    expect(items.locator(".timeline-item").first).to_contain_text("the prices.")
    expect(timeline.get_by_role("status")).to_have_text("Saved to the timeline.")
    expect(note).to_have_value("")

    meeting = timeline.locator("details", has_text="Log a meeting")
    meeting.get_by_text("Log a meeting", exact=True).click()
    meeting.get_by_label("Subject").fill("Review")
    meeting.get_by_label("Starts").fill("2026-05-01T10:00")
    meeting.get_by_label("Ends").fill("2026-05-01T09:00")
    meeting.get_by_role("button", name="Log meeting").click()
    expect(meeting.get_by_text("The end must be after the start.")).to_be_visible()

    saved = Activity.objects.get()
    assert (saved.kind, saved.mentions) == ("note", [bob.pk])
