"""The header search in a real browser: type, pick a suggestion with the keyboard, land on it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from rapport.conftest import log_in
from rapport.contacts import services

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_type_ahead_suggestions_are_picked_with_arrows_and_enter(
    page: Page, live_server, as_alice
) -> None:
    acme = services.company_create(actor=as_alice, values={"name": "Acme Rockets"})
    annabel = services.contact_create(
        actor=as_alice,
        values={"first_name": "Annabel", "last_name": "Johnson", "company": acme},
        phones=[{"number": "+4930123456"}],
    )
    log_in(page, live_server.url, as_alice.user.email)
    box = page.get_by_role("searchbox", name="Search")

    box.fill("acme")
    suggestions = page.get_by_role("listbox", name="Search results")
    expect(suggestions.get_by_role("group")).to_have_count(2)
    expect(suggestions.get_by_role("option").first).to_contain_text("Annabel Johnson")

    box.press("ArrowDown")
    box.press("ArrowDown")
    expect(suggestions.get_by_role("option", selected=True)).to_contain_text("Acme Rockets")
    box.press("ArrowUp")
    expect(suggestions.get_by_role("option", selected=True)).to_contain_text("Annabel Johnson")
    box.press("Enter")
    expect(page).to_have_url(f"{live_server.url}{annabel.get_absolute_url()}")

    box = page.get_by_role("searchbox", name="Search")
    box.fill("030 1234 56")
    expect(page.get_by_role("option").first).to_contain_text("Annabel Johnson")
    box.press("Escape")
    expect(page.get_by_role("listbox", name="Search results")).to_have_count(0)
    box.fill("Jhonson")
    expect(page.get_by_role("option").first).to_contain_text("Annabel Johnson")
    box.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/search/?q=Jhonson")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Jhonson")
