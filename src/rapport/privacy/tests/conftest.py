"""Fixtures of the privacy tests: a media dir of each test's own and a person about
whom much is known."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile

from rapport.activities import services as activities
from rapport.attachments.services import attachment_upload
from rapport.attachments.tests.conftest import media  # noqa: F401 - each test's own media dir
from rapport.contacts import services as contacts
from rapport.contacts.models import Company, Contact
from rapport.core.actors import Actor
from rapport.core.models import CustomFieldDefinition, FieldType
from rapport.privacy.consent import record_consent
from rapport.privacy.models import ConsentMethod, Purpose
from rapport.sales.deals import Participant, deal_create
from rapport.sales.leads import lead_create
from rapport.sales.models import Deal, Lead, WebForm
from rapport.sales.webforms import Client, webform_submit
from rapport.tasks.services import RecordRef, task_create

FIRST, LAST = "Zephyrine", "Quillfeather"
EMAIL, HOME_EMAIL = "zephyrine.q@example.org", "zq@home.example"
PHONE, PHONE_NATIONAL = "+442079460958", "020 7946 0958"


@dataclass
class Person:
    contact: Contact
    company: Company
    bystander: Contact
    deal: Deal
    lead: Lead


@pytest.fixture
def person(as_admin: Actor) -> Person:
    """Zephyrine, with everything a CRM gathers about someone over time."""
    company = contacts.company_create(actor=as_admin, values={"name": "Acme"})
    contact = contacts.contact_create(
        actor=as_admin,
        values={
            "first_name": FIRST,
            "last_name": "Quill",
            "company": company,
            "birthday": "1990-04-01",
        },
        emails=[{"email": EMAIL}, {"email": HOME_EMAIL, "kind": "personal", "is_primary": False}],
        phones=[{"number": "+44 20 7946 0958", "kind": "mobile"}],
        addresses=[
            {"kind": "home", "street": "12 Quillfeather Lane", "city": "London", "country": "gb"}
        ],
        social_profiles=[{"url": "linkedin.com/in/zephyrine-quillfeather"}],
    )
    CustomFieldDefinition.objects.create(
        content_type=ContentType.objects.get_for_model(Contact),
        key="nickname",
        label="Nickname",
        field_type=FieldType.TEXT,
    )
    # A change, so the history holds her old and new names.
    contact = contacts.contact_update(
        contact,
        actor=as_admin,
        values={"last_name": LAST},
        custom={"nickname": f"{FIRST} the Great"},
    )
    bystander = contacts.contact_create(
        actor=as_admin,
        values={"first_name": "Ann", "last_name": "Other", "email": "ann@example.com"},
    )
    activities.activity_create(
        actor=as_admin, kind="note", links=[contact], values={"body": f"{FIRST} liked the demo."}
    )
    activities.activity_create(
        actor=as_admin,
        kind="email",
        links=[contact],
        values={
            "subject": "Your offer",
            "body": f"Dear {FIRST}, call me on {PHONE_NATIONAL}.",
            "email_from": "admin@example.com",
            "email_to": [EMAIL],
            "direction": "out",
        },
    )
    activities.activity_create(
        actor=as_admin,
        kind="email",
        links=[contact, bystander, company],
        values={
            "subject": f"Meeting with {FIRST} {LAST}",
            "body": f"Ann, {LAST} will join. Her number is {PHONE}.",
            "email_from": EMAIL,
            "email_to": ["ann@example.com"],
            "email_cc": [HOME_EMAIL],
            "direction": "in",
        },
    )
    task_create(
        actor=as_admin,
        values={"title": f"Call {FIRST} back"},
        related=[RecordRef("contacts.contact", contact.pk)],
    )
    deal = deal_create(
        actor=as_admin,
        values={"name": f"{LAST} renewal", "amount": "5000", "company": company},
        contacts=[Participant(contact)],
    )
    lead = lead_create(
        actor=as_admin,
        values={"first_name": FIRST, "last_name": LAST, "email": EMAIL, "company_name": "Acme"},
    )
    form = WebForm.objects.create(
        name="Newsletter", consent_text="I agree.", created_by=as_admin.user, public_key="news"
    )
    for target in ("first_name", "last_name", "email", "phone"):
        form.fields.create(target=target, label=target)
    webform_submit(
        form,
        data={
            "first_name": FIRST,
            "last_name": LAST,
            "email": EMAIL,
            "phone": PHONE,
            "consent": "1",
        },
        client=Client("203.0.113.7", "Firefox", f"https://example.com/?email={EMAIL}"),
    )
    record_consent(
        actor=as_admin,
        contact=contact,
        purpose=Purpose.EMAIL_MARKETING,
        granted=True,
        method=ConsentMethod.USER,
        proof=f"{FIRST} {LAST} said yes on the phone ({PHONE_NATIONAL}).",
    )
    attachment_upload(
        actor=as_admin,
        record=contact,
        file=SimpleUploadedFile("passport.txt", f"{FIRST} {LAST} {EMAIL}".encode(), "text/plain"),
    )
    return Person(contact=contact, company=company, bystander=bystander, deal=deal, lead=lead)
