"""The duplicate queue in a real browser (Debian's chromium through Playwright): find the
duplicates, dismiss one pair, merge another from the queue, and see the queue empty."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from rapport.conftest import log_in
from rapport.contacts.models import Contact, DuplicateCandidate
from rapport.contacts.tests.dedupe_data import person

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_find_dismiss_and_merge_duplicates(page: Page, live_server, alice, as_alice) -> None:
    ada = person(as_alice, "Ada", "Lovelace", email="ada@example.com", job_title="Analyst")
    person(as_alice, "Ada", "Lovelase", email="ada@example.com")
    person(as_alice, "Grace", "Hopper", phone="+12025550199")
    person(as_alice, "Grace", "Hoper", phone="+12025550199")
    base = live_server.url
    log_in(page, base, alice.email)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Duplicates").click()
    expect(page.get_by_text("Nothing to review yet.")).to_be_visible()
    page.get_by_role("button", name="Find duplicates").click()
    expect(page.get_by_text("2 possible duplicate pairs found (1 sure)")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Duplicates").click()
    rows = page.get_by_role("row")
    expect(rows).to_have_count(3)  # the header and two pairs, the surest first
    expect(rows.nth(1)).to_contain_text("Same email address, Similar name")
    expect(rows.nth(2)).to_contain_text("Same phone number, Similar name")

    rows.nth(2).get_by_role("button", name="Not a duplicate").click()
    expect(page.get_by_text("Marked as not a duplicate")).to_be_visible()
    expect(page.get_by_role("row")).to_have_count(2)

    page.get_by_role("row").nth(1).get_by_role("link", name="Merge").click()
    survivor = page.get_by_role("group", name="Which record survives?")
    expect(survivor.get_by_label("Ada Lovelace")).to_be_checked()
    page.get_by_role("button", name="Merge", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ada Lovelace")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Duplicates").click()
    expect(page.get_by_text("Nothing to review.")).to_be_visible()
    assert list(Contact.objects.filter(first_name="Ada")) == [ada]
    assert sorted(DuplicateCandidate.objects.values_list("status", flat=True)) == [
        "dismissed",
        "merged",
    ]
