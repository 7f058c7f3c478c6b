"""Key flows in a real browser: Debian's chromium driven by Playwright."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from rapport.conftest import log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_log_in_see_home_and_log_out(page: Page, live_server, alice) -> None:
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/login/?next=/")
    log_in(page, live_server.url, alice.email)

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Alice")
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Home")
    ).to_have_attribute("aria-current", "page")

    page.keyboard.press("/")
    expect(page.get_by_role("searchbox", name="Search")).to_be_focused()

    page.locator(".user-menu summary").click()
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{live_server.url}/login/")
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/login/?next=/")


def test_wrong_password_is_refused_with_a_message(page: Page, live_server, alice) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill(alice.email)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("alert")).to_be_visible()
    expect(page).to_have_url(f"{live_server.url}/login/")


def test_phone_width_hides_the_sidebar_behind_a_menu_button(page: Page, live_server, alice) -> None:
    page.set_viewport_size({"width": 375, "height": 740})
    log_in(page, live_server.url, alice.email)
    sidebar = page.get_by_role("navigation", name="Main")
    expect(sidebar).to_be_hidden()

    page.get_by_role("button", name="Menu").click()

    expect(sidebar).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375


def test_theme_switch_is_remembered(page: Page, live_server, alice) -> None:
    log_in(page, live_server.url, alice.email)
    before = page.evaluate("getComputedStyle(document.body).backgroundColor")

    page.get_by_role("button", name="Switch light or dark theme").click()
    page.reload()

    after = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert after != before
    assert page.evaluate("document.documentElement.dataset.theme") in ("light", "dark")
