"""Lead pages and lead settings pages through HTTP."""

from __future__ import annotations

import pytest
from django.urls import reverse

from rapport.activities.services import activity_create
from rapport.contacts.models import Company, Contact
from rapport.contacts.services import contact_create
from rapport.sales import routing, scoring
from rapport.sales.leads import lead_convert, lead_create
from rapport.sales.models import Deal, Lead, LeadStatus, RoutingRule, ScoringRule
from rapport.sales.pipelines import pipeline_create
from rapport.sales.tests.conftest import client_for

pytestmark = pytest.mark.django_db


def names(response) -> list[str]:
    return [str(lead) for lead in response.context["page"].items]


def test_the_list_pages_by_keyset_in_constant_queries(
    alice_client, as_alice, django_assert_max_num_queries
):
    for n in range(55):
        lead_create(actor=as_alice, values={"last_name": f"Lead {n:02}", "company_name": "Acme"})
    with django_assert_max_num_queries(8):
        first = alice_client.get("/leads/")
    assert first.status_code == 200
    assert len(first.context["page"].items) == 50
    assert names(first)[0] == "Lead 54"
    with django_assert_max_num_queries(8):
        second = alice_client.get("/leads/", {"cursor": first.context["page"].next_cursor})
    assert names(second) == [f"Lead {n:02}" for n in range(4, -1, -1)]


def test_the_list_filters_and_says_which_filter_is_wrong(alice_client, as_alice):
    lead_create(
        actor=as_alice, values={"last_name": "Keen", "status": "qualified", "country": "DE"}
    )
    lead_create(actor=as_alice, values={"last_name": "Cold", "country": "FR"})
    assert names(alice_client.get("/leads/", {"status": "qualified"})) == ["Keen"]
    assert names(alice_client.get("/leads/", {"country": "fr"})) == ["Cold"]
    bad = alice_client.get("/leads/", {"score_min": "lots"})
    assert bad.status_code == 200 and bad.context["page"] is None
    assert "Some filters are not valid" in bad.content.decode()


def test_the_lead_page_shows_score_routing_and_the_record_panels(
    alice_client, as_alice, as_admin, bob, charlie
):
    scoring.scoring_rule_create(
        actor=as_admin,
        values={"name": "Has a phone", "field": "phone", "operator": "is_set", "points": 4},
    )
    routing.routing_rule_create(actor=as_admin, values={"name": "All to Bob", "user": bob})
    lead = lead_create(actor=as_alice, values={"last_name": "Babbage", "phone": "+44 20 7946 0958"})
    activity_create(actor=as_alice, kind="note", links=[lead], values={"body": "Keen on engines"})
    response = client_for(bob).get(f"/leads/{lead.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("Babbage", "Has a phone", "Score: 4", "All to Bob", "Timeline", "Tasks"):
        assert text in html, text
    timeline = client_for(bob).get(reverse("activities:timeline", args=["sales.lead", lead.pk]))
    assert "Keen on engines" in timeline.content.decode()
    assert alice_client.get(f"/leads/{lead.pk}/").status_code == 200
    assert client_for(charlie).get(f"/leads/{lead.pk}/").status_code == 404
    history = client_for(bob).get(f"/history/sales.lead/{lead.pk}/")
    assert history.status_code == 200 and "routed by" in history.content.decode().lower()


def test_create_and_edit_through_the_form(alice_client, alice):
    mine = str(alice.pk)
    response = alice_client.post(
        "/leads/new/",
        {"first_name": "Ada", "email": "bad", "source": "manual", "status": "new"},
    )
    assert response.status_code == 200
    assert "Enter a valid email address." in response.content.decode()
    response = alice_client.post(
        "/leads/new/",
        {"first_name": "Ada", "email": "ADA@example.com", "source": "event", "status": "new"},
    )
    lead = Lead.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/leads/{lead.pk}/"
    assert (lead.email, lead.owner) == ("ada@example.com", alice)
    response = alice_client.post(
        f"/leads/{lead.pk}/edit/",
        {
            "first_name": "Ada",
            "source": "event",
            "status": "qualified",
            "owner": mine,
            "version": 1,
        },
    )
    assert response.status_code == 302
    stale = alice_client.post(
        f"/leads/{lead.pk}/edit/",
        {"first_name": "Late", "source": "event", "status": "new", "owner": mine, "version": 1},
    )
    assert "Someone else changed this lead" in stale.content.decode()
    lead.refresh_from_db()
    assert (lead.status, lead.email, lead.first_name) == ("qualified", "", "Ada")


def test_the_conversion_page_offers_existing_records(alice_client, as_alice, as_admin):
    pipeline = pipeline_create(actor=as_admin, values={"name": "Pilots"})
    known = contact_create(actor=as_alice, values={"first_name": "Ada", "email": "ada@example.com"})
    lead = lead_create(
        actor=as_alice,
        values={"first_name": "Ada", "email": "ada@example.com", "company_name": "Engines"},
    )
    page = alice_client.get(f"/leads/{lead.pk}/convert/")
    html = page.content.decode()
    assert "Use Ada" in html and "Create the company Engines" in html
    response = alice_client.post(
        f"/leads/{lead.pk}/convert/",
        {
            "contact": str(known.pk),
            "company": "new",
            "create_deal": "on",
            "deal_name": "Engines pilot",
            "amount": "250",
            "pipeline": str(pipeline.pk),
            "version": "1",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == known.get_absolute_url()
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED and lead.converted_contact == known
    assert Contact.objects.count() == 1 and Company.objects.get().name == "Engines"
    assert Deal.objects.get().name == "Engines pilot"
    assert alice_client.get(known.get_absolute_url()).status_code == 200
    detail = alice_client.get(f"/leads/{lead.pk}/").content.decode()
    assert "Converted on" in detail and "Engines pilot" in detail
    again = alice_client.get(f"/leads/{lead.pk}/convert/")
    assert again.status_code == 302
    assert alice_client.get(f"/leads/{lead.pk}/edit/").status_code == 302


def test_a_converted_leads_history_shows_on_its_contact(alice_client, as_alice):
    lead = lead_create(actor=as_alice, values={"first_name": "Ada"})
    activity_create(actor=as_alice, kind="note", links=[lead], values={"body": "Wants a pilot"})
    contact = lead_convert(lead, actor=as_alice).contact
    html = alice_client.get(f"/leads/{lead.pk}/").content.decode()
    assert f"/leads/{lead.pk}/convert/" not in html
    timeline = alice_client.get(
        reverse("activities:timeline", args=["contacts.contact", contact.pk])
    )
    assert "Wants a pilot" in timeline.content.decode()


def test_delete_moves_to_the_trash(alice_client, as_alice):
    lead = lead_create(actor=as_alice, values={"first_name": "Ada"})
    assert alice_client.get(f"/leads/{lead.pk}/delete/").status_code == 200
    assert alice_client.post(f"/leads/{lead.pk}/delete/").status_code == 302
    assert Lead.all_objects.get().is_deleted


def test_admins_keep_the_rules_through_the_settings_pages(admin_client, east):
    response = admin_client.post(
        "/settings/lead-scoring/new/",
        {
            "name": "Directors",
            "active": "on",
            "field": "job_title",
            "operator": "contains",
            "value": "director",
            "points": "15",
        },
    )
    assert response.status_code == 302
    assert ScoringRule.objects.get().points == 15
    bad = admin_client.post(
        "/settings/lead-scoring/new/", {"name": "Broken", "operator": "equals", "points": "1"}
    )
    assert bad.status_code == 200 and "Choose a lead field." in bad.content.decode()
    listing = admin_client.get("/settings/lead-scoring/").content.decode()
    assert "Job title contains “director”" in listing
    response = admin_client.post(
        "/settings/lead-routing/new/",
        {
            "name": "DACH",
            "active": "on",
            "countries": "de at",
            "team": str(east.pk),
            "round_robin": "on",
        },
    )
    assert response.status_code == 302
    assert RoutingRule.objects.get().countries == ["DE", "AT"]
    listing = admin_client.get("/settings/lead-routing/").content.decode()
    assert "country in DE, AT" in listing and "each member of East in turn" in listing
    rescore = admin_client.post("/settings/lead-scoring/rescore/")
    assert rescore.status_code == 302 and "/jobs/" in rescore["Location"]
