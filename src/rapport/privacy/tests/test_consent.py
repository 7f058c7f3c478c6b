"""The consent ledger: append-only, current state, audience queries, forms, API, panel."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from rapport.contacts import services as contacts
from rapport.contacts.models import Contact
from rapport.core.models import AuditEntry
from rapport.core.tasks import dispatch_until_empty
from rapport.privacy.consent import consent_state, consenting_contacts, may_contact, record_consent
from rapport.privacy.models import AppendOnlyError, ConsentEvent, ConsentMethod, Purpose
from rapport.sales.leads import lead_convert
from rapport.sales.models import WebForm
from rapport.sales.webforms import Client, webform_submit


@pytest.fixture
def ann(as_alice) -> Contact:
    return contacts.contact_create(
        actor=as_alice, values={"first_name": "Ann", "email": "ann@example.com"}
    )


def _record(actor, contact, granted, **more):
    return record_consent(
        actor=actor,
        contact=contact,
        purpose=more.pop("purpose", Purpose.EMAIL_MARKETING),
        granted=granted,
        method=ConsentMethod.USER,
        **more,
    )


def test_latest_event_is_the_state_and_flags_win(ann, as_alice):
    _record(as_alice, ann, True)
    assert may_contact(ann, Purpose.EMAIL_MARKETING)
    assert list(consenting_contacts(Purpose.EMAIL_MARKETING)) == [ann]
    # A back-dated withdrawal is history, not the current state.
    _record(as_alice, ann, False, at=timezone.now() - datetime.timedelta(days=3))
    assert may_contact(ann, Purpose.EMAIL_MARKETING)
    _record(as_alice, ann, False)
    assert not may_contact(ann, Purpose.EMAIL_MARKETING)
    assert list(consenting_contacts(Purpose.EMAIL_MARKETING)) == []

    _record(as_alice, ann, True, purpose=Purpose.SMS)
    Contact.objects.filter(pk=ann.pk).update(do_not_sms=True)
    ann.refresh_from_db()
    assert not may_contact(ann, Purpose.SMS)
    assert list(consenting_contacts(Purpose.SMS)) == []
    sms = next(state for state in consent_state(ann) if state.purpose == Purpose.SMS)
    assert (sms.granted, sms.blocked_by_flag, sms.may_contact) == (True, True, False)
    assert ConsentEvent.objects.filter(contact=ann).count() == 4
    changes = [
        entry.changes for entry in AuditEntry.objects.filter(object_id=str(ann.pk)).order_by("id")
    ]
    assert {"consent.email_marketing": [True, False]} in changes


def test_audience_query_is_one_query(ann, as_alice, django_assert_num_queries):
    _record(as_alice, ann, True)
    with django_assert_num_queries(1):
        assert list(consenting_contacts(Purpose.EMAIL_MARKETING).values_list("pk", flat=True)) == [
            ann.pk
        ]


def test_ledger_is_append_only(ann, as_alice):
    event = _record(as_alice, ann, True, proof="said yes")
    event.proof = "changed"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        ConsentEvent.objects.filter(pk=event.pk).update(granted=False)
    with pytest.raises(AppendOnlyError):
        ConsentEvent.objects.all().delete()
    assert ConsentEvent.objects.get().proof == "said yes"


def test_recording_needs_edit_rights(ann, bob, charlie):
    from rapport.core.actors import Actor
    from rapport.core.models import Source

    with pytest.raises(PermissionDenied):
        _record(Actor(user=bob, source=Source.UI), ann, True)
    assert not ConsentEvent.objects.exists()


def test_web_form_consent_lands_on_the_converted_contact(as_admin, admin):
    form = WebForm.objects.create(
        name="Newsletter",
        consent_text="I agree to receive news.",
        created_by=admin,
        public_key="k1",
    )
    form.fields.create(target="email", label="Email", required=True)
    outcome = webform_submit(
        form, data={"email": "new@example.com", "consent": "1"}, client=Client("127.0.0.1")
    )
    conversion = lead_convert(outcome.lead, actor=as_admin, create_company=False)
    dispatch_until_empty(worker_id="test")
    dispatch_until_empty(worker_id="test")  # a redelivery adds nothing
    event = ConsentEvent.objects.get(contact=conversion.contact)
    assert (event.purpose, event.granted, event.method, event.proof) == (
        Purpose.EMAIL_MARKETING,
        True,
        ConsentMethod.FORM,
        "I agree to receive news.",
    )
    assert may_contact(conversion.contact, Purpose.EMAIL_MARKETING)


def test_consent_api(ann, alice_client, charlie, bob, django_assert_max_num_queries):
    from django.test import Client as HttpClient

    url = f"/api/v1/contacts/{ann.pk}/consents"
    created = alice_client.post(
        url,
        {"purpose": "sms", "granted": True, "proof": "by text"},
        content_type="application/json",
    )
    assert created.status_code == 201 and created.json()["method"] == "api"
    for proof in ("again", "and again"):
        alice_client.post(
            url,
            {"purpose": "phone", "granted": True, "proof": proof},
            content_type="application/json",
        )
    with django_assert_max_num_queries(8):
        body = alice_client.get(url).json()
    sms = next(state for state in body["state"] if state["purpose"] == "sms")
    assert sms["granted"] and sms["may_contact"]
    assert [event["proof"] for event in body["events"]] == ["and again", "again", "by text"]

    bad = alice_client.post(
        url, {"purpose": "fax", "granted": True}, content_type="application/json"
    )
    assert bad.status_code == 422 and bad["Content-Type"] == "application/problem+json"
    outsider = HttpClient()
    outsider.force_login(charlie)
    assert outsider.get(url).status_code == 404
    teammate = HttpClient()
    teammate.force_login(bob)
    refused = teammate.post(
        url, {"purpose": "sms", "granted": False}, content_type="application/json"
    )
    assert refused.status_code == 403
    assert ConsentEvent.objects.count() == 3


def test_consent_panel_records_with_htmx(ann, alice_client, admin_client):
    page = alice_client.get(f"/contacts/{ann.pk}/").content.decode()
    assert 'id="consent-panel"' in page and "Not asked" in page
    assert "Export personal data" not in page
    assert "Export personal data" in admin_client.get(f"/contacts/{ann.pk}/").content.decode()
    answer = alice_client.post(
        f"/contacts/{ann.pk}/consents/",
        {"purpose": "phone", "granted": "1", "proof": "asked at the fair"},
        HTTP_HX_REQUEST="true",
    )
    assert answer.status_code == 200
    assert "asked at the fair" in answer.content.decode()
    event = ConsentEvent.objects.get()
    assert (event.method, event.actor.email) == (ConsentMethod.USER, "alice@example.com")


def test_merged_contacts_keep_the_latest_consent(ann, as_alice, as_admin):
    from rapport.contacts.services import contact_merge

    loser = contacts.contact_create(actor=as_alice, values={"first_name": "Ann", "last_name": "B"})
    _record(as_alice, ann, True, at=timezone.now() - datetime.timedelta(days=2))
    _record(as_alice, loser, False, at=timezone.now() - datetime.timedelta(days=1))
    _record(as_alice, loser, True, purpose=Purpose.PHONE)

    contact_merge(ann, loser, actor=as_admin, choices={})
    dispatch_until_empty(worker_id="test")

    ann.refresh_from_db()
    assert ConsentEvent.objects.filter(contact=ann).count() == 3
    assert not may_contact(ann, Purpose.EMAIL_MARKETING)
    assert may_contact(ann, Purpose.PHONE)
