"""The week in a real browser (Debian's chromium through Playwright): seven columns on a
wide screen, one list of days at 375 px, with nothing wider than the screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from rapport.calendar.tests.conftest import at, make_meeting, make_task
from rapport.conftest import log_in
from rapport.contacts import services as contacts
from rapport.core.actors import Actor
from rapport.core.models import Source

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _columns(page: Page) -> int:
    return page.locator(".week-grid").evaluate(
        "grid => getComputedStyle(grid).gridTemplateColumns.split(' ').length"
    )


def test_the_week_has_seven_columns_and_becomes_a_list_on_a_phone(
    page: Page, live_server, alice
) -> None:
    ann = contacts.contact_create(
        actor=Actor(user=alice, source=Source.UI),
        values={"first_name": "Ann", "last_name": "Archer", "email": "ann@example.com"},
    )
    make_meeting(
        alice,
        ann,
        "Quarterly review with a rather long subject that has to wrap",
        at(2025, 6, 3, 13),
        at(2025, 6, 3, 14),
        values={"location": "Acme headquarters, the big meeting room on the fourth floor"},
    )
    make_task(alice, "Send the quote", at(2025, 6, 4, 12), priority="urgent")
    base = live_server.url
    log_in(page, base, alice.email)

    page.goto(f"{base}/calendar/week/?week=2025-W23")
    expect(page.get_by_role("link", name="Send the quote")).to_be_visible()
    assert _columns(page) == 7

    page.set_viewport_size({"width": 375, "height": 800})
    page.reload()
    expect(page.get_by_role("link", name="Send the quote")).to_be_visible()
    assert _columns(page) == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.get_by_role("link", name="Next week").click()
    expect(page).to_have_url(f"{base}/calendar/week/?week=2025-W24")
