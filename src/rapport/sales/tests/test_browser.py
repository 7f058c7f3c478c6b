"""In a real browser: a sales manager adds a product, receives stock with a reason and
finds the product in the list; at 375 px the list still fits the screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from rapport.conftest import log_in
from rapport.sales.models import Product

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_manager_adds_a_product_and_receives_stock(page: Page, live_server, manager) -> None:
    base = live_server.url
    log_in(page, base, manager.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Products").click()
    page.get_by_role("link", name="New product").click()
    page.get_by_label("SKU").fill("LMP-7")
    page.get_by_label("Name").fill("Reading lamp")
    page.get_by_label("Tax rate (%)").fill("20")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reading lamp")

    page.get_by_label("Change").fill("12")
    page.get_by_label("Reason").fill("Delivery from the factory")
    page.get_by_role("button", name="Adjust stock").click()
    expect(page.locator(".messages")).to_contain_text("Stock on hand is now 12.")
    assert Product.objects.get(sku="LMP-7").stock_on_hand == 12

    page.goto(f"{base}/products/")
    page.get_by_label("Search").last.fill("reading")
    page.get_by_role("button", name="Search").last.click()
    expect(page.get_by_role("link", name="Reading lamp")).to_be_visible()

    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"{base}/products/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
