"""In a real browser, under the strict Content-Security-Policy: the key pages load and
their htmx interactions work (search type-ahead, the timeline, an inline edit, a drag
across the kanban board) without one violation reported."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from rapport.activities import services as activities
from rapport.conftest import log_in
from rapport.contacts import services as contacts
from rapport.sales.deals import deal_create
from rapport.sales.models import Deal

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# Playwright runs this in every page before the page's own scripts, outside its policy:
# it records what the policy refused.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""


def test_key_pages_work_under_the_policy(page: Page, live_server, alice, as_alice, as_admin):
    tag = contacts.tag_create(actor=as_admin, name="VIP", color="#dc2626")
    ann = contacts.contact_create(
        actor=as_alice, values={"first_name": "Annabel", "last_name": "Johnson"}
    )
    ann.tags.add(tag)
    activities.activity_create(
        actor=as_alice, kind="note", links=[ann], values={"body": "Met at the fair"}
    )
    deal_create(actor=as_alice, values={"name": "Harbour fit-out"})

    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text)
            if "Content Security Policy" in message.text or message.text.startswith("Refused")
            else None
        ),
    )
    page.add_init_script(RECORD_VIOLATIONS)
    base = live_server.url
    violations: list[str] = []

    def collect() -> None:
        violations.extend(page.evaluate("window.__violations"))

    log_in(page, base, alice.email)
    collect()

    # Search type-ahead (htmx) from the home page.
    page.keyboard.press("/")
    page.keyboard.type("annab")
    option = page.get_by_role("option", name="Annabel Johnson")
    expect(option).to_be_visible()
    collect()

    page.goto(f"{base}/contacts/")
    expect(page.get_by_role("link", name="Annabel Johnson")).to_be_visible()
    collect()

    # The contact's 360: its tag in its colour (set by script), the timeline, an inline edit.
    page.goto(f"{base}/contacts/{ann.pk}/")
    badge = page.locator(".badge.tag", has_text="VIP").first
    expect(badge).to_be_visible()
    colour = badge.evaluate("el => getComputedStyle(el).getPropertyValue('--tag-color').trim()")
    assert colour == "#dc2626"
    expect(page.get_by_text("Met at the fair")).to_be_visible()
    page.get_by_role("button", name="Edit Job title").click()
    page.locator("#field-job_title").get_by_role("textbox").fill("Chief engineer")
    page.locator("#field-job_title").get_by_role("button", name="Save").click()
    expect(page.locator("#field-job_title")).to_contain_text("Chief engineer")
    collect()

    # The kanban board: a drag moves the deal.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Pipeline").click()
    card = page.locator(".deal-card", has_text="Harbour fit-out")
    proposal = page.locator(".board-column", has=page.get_by_role("heading", name="Proposal"))
    card.drag_to(proposal)
    expect(proposal.locator(".deal-card", has_text="Harbour fit-out")).to_be_visible()
    collect()

    assert Deal.objects.get(name="Harbour fit-out").stage.name == "Proposal"
    ann.refresh_from_db()
    assert ann.job_title == "Chief engineer"
    assert violations == []
    assert refused == []


def test_the_api_docs_work_under_the_policy(page: Page, live_server, alice) -> None:
    page.add_init_script(RECORD_VIOLATIONS)
    log_in(page, live_server.url, alice.email)

    page.goto(f"{live_server.url}/api/v1/docs")
    expect(page.get_by_text("Rapport API").first).to_be_visible()
    expect(page.locator(".opblock").first).to_be_visible()

    assert page.evaluate("window.__violations") == []
