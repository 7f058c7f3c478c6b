"""In a real browser: an admin records a withdrawn consent in a contact's Consent
section (htmx, the page stays), then erases the person after typing ERASE."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from rapport.conftest import log_in
from rapport.contacts import services as contacts
from rapport.contacts.models import Contact
from rapport.core.actors import Actor
from rapport.core.models import Source
from rapport.privacy.models import ConsentEvent

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_consent_then_erasure(page: Page, live_server, admin) -> None:
    contact = contacts.contact_create(
        actor=Actor(user=admin, source=Source.UI),
        values={"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"},
    )
    base = live_server.url
    log_in(page, base, admin.email)
    page.goto(f"{base}/contacts/{contact.pk}/")
    panel = page.locator("#consent-panel")
    panel.get_by_label("Purpose").select_option(label="Text messages")
    panel.get_by_label("Consent").select_option(label="Withdrawn")
    panel.get_by_label("Proof").fill("Replied STOP")
    url_before = page.url
    panel.get_by_role("button", name="Record consent").click()
    expect(page.locator("#consent-panel")).to_contain_text("Replied STOP")
    assert page.url == url_before
    assert ConsentEvent.objects.get().granted is False

    page.locator("#consent-panel").get_by_role("link", name="Erase personal data…").click()
    page.get_by_label("Confirm").fill("ERASE")
    page.get_by_role("button", name="Erase").click()
    expect(page.get_by_text("The person's data was erased.")).to_be_visible()
    assert Contact.objects.get(pk=contact.pk).email == ""
