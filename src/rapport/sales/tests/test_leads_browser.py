"""In a real browser: a visitor fills a web form inside another page's iframe (the
honeypot stays out of sight), and a sales rep converts the lead it made."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from rapport.conftest import log_in
from rapport.contacts.models import Contact
from rapport.core.actors import Actor
from rapport.core.models import Source
from rapport.sales import webforms
from rapport.sales.models import Lead, LeadStatus

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_visitor_fills_the_form_and_a_rep_converts_the_lead(
    page: Page, live_server, admin, alice
) -> None:
    form = webforms.webform_create(
        actor=Actor(user=admin, source=Source.UI),
        values={
            "name": "Contact us",
            "title": "Talk to sales",
            "consent_text": "You may keep my details.",
            "consent_required": True,
            "thank_you_message": "Thanks, talk soon.",
            "owner": alice,
        },
        fields=[
            {"target": "first_name", "label": "First name"},
            {"target": "email", "label": "Work email", "required": True},
            {"target": "company_name", "label": "Company"},
        ],
    )
    url = f"{live_server.url}/f/{form.public_key}/"
    page.set_content(f'<h1>Our site</h1><iframe src="{url}" width="600" height="600"></iframe>')
    frame = page.frame_locator("iframe")
    expect(frame.get_by_label("Leave this empty")).not_to_be_in_viewport()
    frame.get_by_label("First name").fill("Ada")
    frame.get_by_label("Work email").fill("ada@engines.example")
    frame.get_by_label("Company").fill("Engines")
    frame.get_by_role("button", name="Send").click()
    expect(frame.get_by_text("Tick the box to agree.")).to_be_visible()
    frame.get_by_label("You may keep my details.").check()
    frame.get_by_role("button", name="Send").click()
    expect(frame.get_by_text("Thanks, talk soon.")).to_be_visible()
    lead = Lead.objects.get()
    assert (lead.email, lead.owner) == ("ada@engines.example", alice)

    log_in(page, live_server.url, alice.email)
    page.goto(f"{live_server.url}/leads/")
    page.get_by_role("link", name="Ada").click()
    expect(page.get_by_text("You may keep my details.")).to_be_visible()
    page.get_by_role("link", name="Convert").click()
    page.get_by_label("Create the company Engines").check()
    page.get_by_role("button", name="Convert").click()
    expect(page.locator(".messages")).to_contain_text("Lead converted.")
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED
    assert Contact.objects.get().email == "ada@engines.example"
