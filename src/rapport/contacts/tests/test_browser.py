"""A sales rep's day in a real browser (Debian's chromium through Playwright): create a
company and a contact, find the contact with the global search box, edit a field inline,
and merge a duplicate."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from rapport.conftest import log_in
from rapport.contacts.models import Contact

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_create_find_edit_inline_and_merge_a_duplicate(page: Page, live_server, alice) -> None:
    base = live_server.url
    log_in(page, base, alice.email)

    # A company.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Companies").click()
    page.get_by_role("link", name="New company").click()
    page.get_by_label("Name:", exact=True).fill("Acme Rockets")
    page.get_by_label("Domain").fill("acme-rockets.test")
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Acme Rockets")

    # A contact at that company, picked with the company lookup.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Contacts").click()
    page.get_by_role("link", name="New contact").click()
    page.get_by_label("First name").fill("Annabel")
    page.get_by_label("Last name").fill("Johnson")
    page.get_by_label("Find a company").fill("acme")
    expect(page.locator("#id_company")).to_contain_text("Acme Rockets")
    page.get_by_label("Email:", exact=True).fill("annabel@acme-rockets.test")
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Annabel Johnson")
    summary = page.locator("#record-summary")
    expect(summary.get_by_role("link", name="Acme Rockets")).to_be_visible()

    # Find her with the global search box.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Home").click()
    expect(page).to_have_url(f"{base}/")
    page.keyboard.press("/")
    page.keyboard.type("annab")
    option = page.get_by_role("option", name="Annabel Johnson")
    expect(option).to_be_visible()
    option.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Annabel Johnson")

    # Edit her job title in place.
    page.get_by_role("button", name="Edit Job title").click()
    page.locator("#field-job_title").get_by_role("textbox").fill("Chief engineer")
    page.locator("#field-job_title").get_by_role("button", name="Save").click()
    expect(page.locator("#field-job_title")).to_contain_text("Chief engineer")
    expect(summary).to_contain_text("Chief engineer")  # the header follows the edit

    # A duplicate: the same email again; the form warns, she is created anyway.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Contacts").click()
    page.get_by_role("link", name="New contact").click()
    page.get_by_label("First name").fill("Anabel")
    page.get_by_label("Last name").fill("Johnson")
    page.get_by_label("Email:", exact=True).fill("ANNABEL@acme-rockets.test")
    page.get_by_role("button", name="Create", exact=True).click()
    warning = page.get_by_role("alert")
    expect(warning).to_contain_text("This may already exist")
    expect(warning.get_by_role("link", name="Annabel Johnson")).to_be_visible()
    page.get_by_role("button", name="Create anyway").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Anabel Johnson")

    # Merge the duplicate into the original, keeping the original's first name.
    page.get_by_role("link", name="Merge…").click()
    page.get_by_role("link", name="Compare").first.click()
    page.get_by_role("group", name="Which record survives?").get_by_label("Annabel Johnson").check()
    first_name_row = page.get_by_role("row", name="First name")
    first_name_row.get_by_label("Annabel").check()
    page.get_by_role("button", name="Merge", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Annabel Johnson")
    expect(page.get_by_role("status")).to_contain_text("Merged")
    survivor = Contact.objects.get()
    assert (survivor.first_name, survivor.job_title) == ("Annabel", "Chief engineer")
    assert Contact.all_objects.filter(first_name="Anabel", deleted_at__isnull=False).exists()
