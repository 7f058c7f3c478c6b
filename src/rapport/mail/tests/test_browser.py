"""An email sent from a contact's page in a real browser (Debian's chromium through
Playwright): the "Send email" button, a template filled in by htmx, the preview, and
the email on the timeline, delivered over SMTP."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from rapport.conftest import log_in
from rapport.contacts import services as contacts
from rapport.core.actors import Actor
from rapport.core.models import Source
from rapport.mail import services

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_send_an_email_from_a_template(page: Page, live_server, alice, smtp_server) -> None:
    as_alice = Actor(user=alice, source=Source.UI)
    ann = contacts.contact_create(
        actor=as_alice, values={"first_name": "Ann", "last_name": "Lee", "email": "ann@lee.test"}
    )
    services.template_create(
        actor=as_alice, name="Follow-up", subject="Next steps, {{ contact.first_name }}", body="Hi!"
    )
    base = live_server.url
    log_in(page, base, alice.email)
    page.goto(f"{base}{ann.get_absolute_url()}")

    page.get_by_role("link", name="Send email").click()
    page.get_by_label("Start from").select_option(label="Follow-up")
    expect(page.get_by_label("Subject")).to_have_value("Next steps, {{ contact.first_name }}")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#email-preview")).to_contain_text("Next steps, Ann")
    page.get_by_role("button", name="Send").click()

    page.wait_for_url(f"{base}{ann.get_absolute_url()}")
    item = page.locator("#timeline-items .timeline-item").first
    expect(item).to_contain_text("Next steps, Ann")
    expect(item.locator(".delivery")).to_contain_text("Sent")
    [message] = smtp_server.messages
    assert message["To"] == "ann@lee.test"
