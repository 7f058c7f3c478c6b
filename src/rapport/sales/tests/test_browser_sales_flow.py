"""In a real browser, the sale from first contact to order: a visitor fills the public
web form; the lead is scored and routed to the rep for its country; the rep converts it
into a contact, a company and a deal, drags the deal across the board, puts a product
on it, makes a quote and sends it; the customer accepts it through the link the email
carries; the order that makes reserves the stock and the deal is won."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from rapport.conftest import log_in
from rapport.core.actors import Actor
from rapport.core.models import Source
from rapport.sales import quotes, routing, scoring, services, webforms
from rapport.sales.models import Deal, Lead, Order, OrderStatus, Product, StageKind

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def workspace(admin, alice, settings, tmp_path, live_server) -> dict:
    """A web form without an owner, a scoring rule and a routing rule, and a priced desk
    with ten in stock; quote links point at the live server."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SITE_URL = live_server.url
    actor = Actor(user=admin, source=Source.UI)
    scoring.scoring_rule_create(
        actor=actor,
        values={
            "name": "A director",
            "field": "job_title",
            "operator": "contains",
            "value": "director",
            "points": 15,
        },
    )
    scoring.scoring_rule_create(
        actor=actor, values={"name": "Filled a form", "engagement": "form_submission", "points": 10}
    )
    routing.routing_rule_create(
        actor=actor, values={"name": "Germany", "countries": ["DE"], "user": alice}
    )
    form = webforms.webform_create(
        actor=actor,
        values={
            "name": "Talk to sales",
            "title": "Talk to sales",
            "consent_text": "You may contact me about my request.",
            "consent_required": True,
            "thank_you_message": "Thank you, we will be in touch.",
        },
        fields=[
            {"target": "first_name", "label": "First name"},
            {"target": "last_name", "label": "Last name"},
            {"target": "email", "label": "Work email", "required": True},
            {"target": "job_title", "label": "Job title"},
            {"target": "company_name", "label": "Company"},
            {"target": "country", "label": "Country code"},
        ],
    )
    desk = services.product_create(
        actor=actor, values={"sku": "DSK-1", "name": "Standing desk", "tax_rate": "20"}
    )
    services.product_adjust_stock(desk, actor=actor, change=10, reason="Delivery")
    book = services.price_book_create(
        actor=actor, values={"name": "List USD", "currency": "USD", "is_default": True}
    )
    services.price_set(book, actor=actor, product=desk, unit_price="500")
    return {"form": form, "desk": desk}


def test_from_a_web_form_to_an_order(
    page: Page, live_server, alice, workspace, monkeypatch, smtp_server
) -> None:
    base = live_server.url
    page.goto(f"{base}/f/{workspace['form'].public_key}/")
    page.get_by_label("First name").fill("Greta")
    page.get_by_label("Last name").fill("Hansen")
    page.get_by_label("Work email").fill("greta@nordwerk.example")
    page.get_by_label("Job title").fill("Purchasing Director")
    page.get_by_label("Company").fill("Nordwerk")
    page.get_by_label("Country code").fill("DE")
    page.get_by_label("You may contact me about my request.").check()
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Thank you, we will be in touch.")).to_be_visible()
    lead = Lead.objects.get()
    assert (lead.owner, lead.score, lead.routing_rule.name) == (alice, 25, "Germany")

    log_in(page, base, alice.email)
    page.goto(f"{base}{lead.get_absolute_url()}")
    expect(page.get_by_text("A director")).to_be_visible()
    page.get_by_role("link", name="Convert").click()
    page.get_by_label("Create the company Nordwerk").check()
    page.get_by_label("Open a deal").check()
    page.get_by_label("Deal name").fill("Nordwerk desks")
    page.get_by_role("button", name="Convert").click()
    expect(page.locator(".messages")).to_contain_text("Lead converted.")
    deal = Deal.objects.get(name="Nordwerk desks")

    page.goto(f"{base}/pipelines/{deal.pipeline_id}/")
    card = page.locator(".deal-card", has_text="Nordwerk desks")
    proposal = page.locator(".board-column", has=page.get_by_role("heading", name="Proposal"))
    card.drag_to(proposal)
    expect(proposal.locator(".deal-card", has_text="Nordwerk desks")).to_be_visible()
    deal.refresh_from_db()
    assert deal.stage.name == "Proposal"

    page.get_by_role("link", name="Nordwerk desks").click()
    page.get_by_role("link", name="Edit line items").click()
    page.get_by_label("Product").first.select_option(label="Standing desk (DSK-1)")
    page.get_by_label("Quantity").first.fill("3")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("Line items saved.")
    deal.refresh_from_db()
    assert deal.amount == Decimal("1500")

    page.get_by_role("link", name="New quote").click()
    page.get_by_label("Confirm the order on acceptance").check()
    page.get_by_role("button", name="Create quote").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Q-")
    links: list[str] = []
    real = quotes.public_url
    monkeypatch.setattr(quotes, "public_url", lambda raw: links.append(real(raw)) or real(raw))
    page.get_by_role("button", name="Send quote").click()
    expect(page.locator(".messages")).to_be_visible()
    assert links, "sending the quote made no public link"

    customer = page.context.browser.new_context().new_page()
    customer.goto(links[-1])
    expect(customer.get_by_text("Standing desk")).to_be_visible()
    customer.get_by_role("button", name="Accept quote").click()
    expect(customer.get_by_text("accepted", exact=False)).to_be_visible()
    customer.context.close()

    order = Order.objects.get()
    assert order.status == OrderStatus.CONFIRMED
    desk = Product.objects.get(pk=workspace["desk"].pk)
    assert (desk.stock_on_hand, desk.reserved_quantity) == (10, 3)
    deal.refresh_from_db()
    assert deal.status == StageKind.WON
