"""In a real browser: a rep opens a deal, drags it across the kanban board, moves it
again with the keyboard menu, marks it lost with a reason, and at 375 px the board
still scrolls sideways inside itself rather than widening the page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from rapport.conftest import log_in
from rapport.sales.models import Deal

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_rep_moves_a_deal_across_the_board(page: Page, live_server, alice) -> None:
    base = live_server.url
    log_in(page, base, alice.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Pipeline").click()
    page.get_by_role("link", name="New deal").click()
    page.get_by_label("Name").fill("Harbour office fit-out")
    page.get_by_label("Amount").fill("18000")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Harbour office fit-out")

    page.get_by_role("link", name="Sales", exact=True).first.click()
    card = page.locator(".deal-card", has_text="Harbour office fit-out")
    expect(card).to_be_visible()
    proposal = page.locator(".board-column", has=page.get_by_role("heading", name="Proposal"))
    card.drag_to(proposal)
    expect(proposal.locator(".deal-card", has_text="Harbour office fit-out")).to_be_visible()
    deal = Deal.objects.get(name="Harbour office fit-out")
    assert (deal.stage.name, deal.probability) == ("Proposal", 50)

    card = page.locator(".deal-card", has_text="Harbour office fit-out")
    card.locator("summary", has_text="Move").click()
    card.get_by_label("Move Harbour office fit-out to").select_option(label="Lost")
    card.get_by_role("button", name="Move", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("lost")
    page.get_by_label("Why was it lost?").select_option(label="Competitor")
    page.get_by_role("button", name="Mark lost").click()
    expect(page.locator(".messages")).to_contain_text("Deal marked lost.")
    deal.refresh_from_db()
    assert (deal.status, deal.lost_reason.name) == ("lost", "Competitor")

    page.set_viewport_size({"width": 375, "height": 800})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
