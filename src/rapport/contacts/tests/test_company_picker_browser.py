"""The company picker of the contact list's filters in a real browser, by keyboard only:
type a name, choose with the arrows and Enter, apply, and take a chip off again."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from rapport.conftest import log_in
from rapport.contacts import services
from rapport.core.actors import Actor
from rapport.core.models import Source

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_pick_companies_by_keyboard_and_filter_the_contacts(page: Page, live_server, alice) -> None:
    as_alice = Actor(user=alice, source=Source.UI)
    acme = services.company_create(actor=as_alice, values={"name": "Acme Rockets"})
    services.company_create(actor=as_alice, values={"name": "Acme Anvils"})
    services.contact_create(actor=as_alice, values={"first_name": "Rita", "company": acme})
    services.contact_create(actor=as_alice, values={"first_name": "Nora"})
    base = live_server.url
    log_in(page, base, alice.email)
    page.goto(f"{base}/contacts/")

    page.locator("summary", has_text="Filters").click()
    picker = page.get_by_role("combobox", name="Company:", exact=True)
    picker.focus()
    page.keyboard.type("rock")
    options = page.get_by_role("listbox", name="Matching companies").get_by_role("option")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("Acme Rockets")
    page.keyboard.press("ArrowDown")
    expect(picker).to_have_attribute("aria-activedescendant", "id_company-options-0")
    page.keyboard.press("Enter")

    chips = page.get_by_role("list", name="Chosen companies")
    expect(chips.get_by_role("listitem")).to_have_count(1)
    expect(chips.get_by_role("listitem")).to_contain_text("Acme Rockets")
    expect(picker).to_have_value("")
    expect(picker).to_be_focused()
    # Enter in the empty box applies the filters; the query string carries the id.
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/contacts/?*company={acme.pk}*")
    table = page.get_by_role("table")
    expect(table).to_contain_text("Rita")
    expect(table).not_to_contain_text("Nora")

    # The chip is back after the reload, by name; Tab to its button and remove it.
    page.locator("summary", has_text="Filters").click()
    remove = page.get_by_role("button", name="Remove Acme Rockets")
    remove.focus()
    page.keyboard.press("Enter")
    expect(chips.get_by_role("listitem")).to_have_count(0)
    expect(page.get_by_role("combobox", name="Company:", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "company=" not in url)
    expect(page.get_by_role("table")).to_contain_text("Nora")
