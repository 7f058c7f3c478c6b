""" "Last contacted" and "next activity" on the contact and company lists: as columns and
as date-range filters, on the pages and in the API (the same FilterSets)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from rapport.activities import services
from rapport.activities.tests.factories import ago, later, log_call
from rapport.contacts import services as contacts

pytestmark = pytest.mark.django_db


@pytest.fixture
def bea(as_alice):
    return contacts.contact_create(actor=as_alice, values={"first_name": "Bea", "last_name": "B"})


def day(moment) -> str:
    return timezone.localtime(moment).date().isoformat()


def test_contacts_filter_by_last_contacted(alice_client, as_alice, ann, bea):
    call = log_call(as_alice, ann, occurred_at=ago(days=3))

    html = alice_client.get(
        "/contacts/",
        {"last_contacted_after": day(ago(days=5)), "columns": ["name", "last_contacted_at"]},
    ).content.decode()

    assert "Ann Archer" in html and "Bea B" not in html
    assert timezone.localtime(call.occurred_at).strftime("%Y-%m-%d %H:%M") in html


def test_companies_filter_by_next_activity_in_the_api(alice_client, as_alice, acme):
    contacts.company_create(actor=as_alice, values={"name": "Idle"})
    services.activity_create(
        actor=as_alice,
        kind="meeting",
        links=[acme],
        values={"subject": "Visit", "starts_at": later(days=2)},
    )

    response = alice_client.get(
        "/api/v1/companies",
        {"next_activity_after": day(later(days=1)), "next_activity_before": day(later(days=3))},
    )

    assert [item["name"] for item in response.json()["items"]] == ["Acme"]
    bad = alice_client.get("/api/v1/companies", {"next_activity_after": "soon"})
    assert bad.status_code == 422
