"""Converting a lead: contact, company and deal in one transaction, the timeline kept."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from rapport.activities.models import ActivityLink
from rapport.activities.services import activity_create
from rapport.contacts.models import Company, Contact
from rapport.contacts.services import company_create, contact_create
from rapport.core.models import OutboxEvent
from rapport.sales.leads import conversion_candidates, lead_convert, lead_create
from rapport.sales.models import Deal, DealContact, Lead, LeadStatus
from rapport.sales.pipelines import pipeline_create
from rapport.sales.tests.conftest import actor_for


@pytest.fixture
def lead(as_alice) -> Lead:
    return lead_create(
        actor=as_alice,
        values={
            "first_name": "Grace",
            "last_name": "Hopper",
            "email": "grace@cobol.example",
            "phone": "+1 202 555 0143",
            "company_name": "Cobol Systems",
            "website": "https://www.cobol.example/about",
            "job_title": "Rear Admiral",
            "source": "event",
        },
    )


@pytest.fixture
def pipeline(as_admin):
    return pipeline_create(actor=as_admin, values={"name": "New business"})


def test_a_new_contact_company_and_deal_with_the_timeline(as_alice, lead, pipeline, alice):
    note = activity_create(
        actor=as_alice, kind="note", links=[lead], values={"body": "Met at the fair"}
    )
    conversion = lead_convert(
        lead,
        actor=as_alice,
        deal={"name": "Compiler licences", "amount": "1200.50", "pipeline": pipeline.pk},
    )
    contact, company, deal = conversion.contact, conversion.company, conversion.deal
    assert (contact.first_name, contact.email, contact.phone, contact.job_title) == (
        "Grace",
        "grace@cobol.example",
        "+12025550143",
        "Rear Admiral",
    )
    assert contact.company == company and contact.source == "event"
    assert (company.name, company.domain, company.website) == (
        "Cobol Systems",
        "cobol.example",
        "https://www.cobol.example/about",
    )
    assert (deal.name, deal.amount, deal.pipeline, deal.company) == (
        "Compiler licences",
        Decimal("1200.5000"),
        pipeline,
        company,
    )
    assert DealContact.objects.get(deal=deal).contact == contact
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED
    assert (lead.converted_contact, lead.converted_company, lead.converted_deal) == (
        contact,
        company,
        deal,
    )
    assert lead.converted_at is not None
    linked = set(ActivityLink.objects.filter(activity=note).values_list("object_type", "object_id"))
    assert linked == {
        ("sales.lead", lead.pk),
        ("contacts.contact", contact.pk),
        ("sales.deal", deal.pk),
    }
    event = OutboxEvent.objects.get(name="lead.converted")
    assert event.payload["deal"] == deal.pk and event.payload["contact_created"] is True
    assert contact.owner == alice


def test_existing_records_are_offered_and_used(as_alice, lead, alice):
    known = contact_create(
        actor=as_alice, values={"first_name": "G", "email": "grace@cobol.example"}
    )
    by_domain = company_create(
        actor=as_alice, values={"name": "COBOL Inc", "domain": "cobol.example"}
    )
    by_name = company_create(actor=as_alice, values={"name": "cobol systems"})
    candidates = conversion_candidates(lead, alice)
    assert candidates.contacts == [known]
    assert candidates.companies == [by_domain, by_name]
    conversion = lead_convert(lead, actor=as_alice, contact=known.pk, company=by_domain.pk)
    assert (conversion.contact, conversion.company, conversion.deal) == (known, by_domain, None)
    assert not conversion.contact_created and not conversion.company_created
    assert Contact.objects.count() == 1 and Company.objects.count() == 2


def test_converting_twice_is_refused(as_alice, lead):
    lead_convert(lead, actor=as_alice, create_company=False)
    with pytest.raises(ValidationError) as caught:
        lead_convert(lead, actor=as_alice)
    assert "already" in caught.value.messages[0]
    assert Contact.objects.count() == 1 and Company.objects.count() == 0


def test_a_bad_deal_writes_nothing(as_alice, lead):
    with pytest.raises(ValidationError) as caught:
        lead_convert(lead, actor=as_alice, deal={"name": "X", "amount": "-5"})
    assert any(key.startswith("deal.") for key in caught.value.message_dict)
    assert Contact.objects.count() == 0 and Company.objects.count() == 0
    assert Deal.objects.count() == 0
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW


def test_records_the_user_cannot_see_cannot_be_used(as_alice, lead, charlie):
    hidden = contact_create(actor=actor_for(charlie), values={"first_name": "Hidden"})
    with pytest.raises(ValidationError) as caught:
        lead_convert(lead, actor=as_alice, contact=hidden.pk)
    assert "contact" in caught.value.message_dict
    assert Company.objects.count() == 0
