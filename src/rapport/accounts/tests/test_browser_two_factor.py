"""Turning on two-factor sign-in from the profile and signing in with it, in a real browser."""

from __future__ import annotations

import datetime

import pyotp
import pytest
from playwright.sync_api import Page, expect

from rapport.conftest import PASSWORD, log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_enable_two_factor_then_sign_in_with_a_code(page: Page, live_server, alice) -> None:
    base = live_server.url
    log_in(page, base, alice.email)
    page.goto(f"{base}/account/")
    page.get_by_role("link", name="Set up").click()
    page.get_by_role("button", name="Set up two-factor sign-in").click()

    expect(page.locator(".qr-code-box svg")).to_be_visible()
    secret = page.locator("#two-factor-secret").inner_text().strip()
    totp = pyotp.TOTP(secret)
    enrolled_at = datetime.datetime.now(tz=datetime.UTC)
    first_code = totp.at(enrolled_at)
    page.get_by_label("Code").fill(first_code)
    page.get_by_role("button", name="Turn on two-factor sign-in").click()

    expect(page.get_by_text("Two-factor sign-in is on.")).to_be_visible()
    expect(page.locator(".recovery-codes li")).to_have_count(10)

    page.locator(".user-menu summary").click()
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{base}/login/")

    page.get_by_label("Email").fill(alice.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base}/login/code/")
    # The code just used cannot serve twice; the next step's is within the drift allowed.
    page.get_by_label("Code").fill(first_code)
    page.get_by_role("button", name="Verify").click()
    expect(page.locator(".field .error")).to_contain_text("already used")
    page.get_by_label("Code").fill(totp.at(enrolled_at + datetime.timedelta(seconds=30)))
    page.get_by_role("button", name="Verify").click()

    expect(page).to_have_url(f"{base}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Alice")
