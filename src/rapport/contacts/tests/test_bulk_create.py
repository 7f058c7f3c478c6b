"""``contacts_create_many`` writes what ``contact_create`` writes, contact by contact."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError

from rapport.contacts.bulk_create import ContactDraft, contacts_create_many
from rapport.contacts.models import Company, Contact, Tag
from rapport.contacts.services import contact_create
from rapport.core.audit import snapshot
from rapport.core.customfields import customfield_create
from rapport.core.models import AuditEntry, OutboxEvent, SearchEntry

pytestmark = pytest.mark.django_db
IGNORED = {"id", "created_at", "updated_at"}


def _draft(email: str, company: Company, tag: Tag, bob) -> ContactDraft:
    return ContactDraft(
        values={
            "first_name": " Ada ",
            "last_name": "Lovelace",
            "email": email.upper(),
            "phone": "+44 20 7946 0018",
            "company": company,
            "job_title": "Analyst",
            "owner": bob,
        },
        custom={"tier": "gold"},
        addresses=[{"city": "London", "country": "United Kingdom"}],
        tags=[tag],
    )


def _written(contact: Contact) -> dict:
    contact.refresh_from_db()
    entry = AuditEntry.objects.get(
        content_type=ContentType.objects.get_for_model(Contact),
        object_id=str(contact.pk),
        action="create",
    )
    return {
        "fields": {k: v for k, v in snapshot(contact).items() if k not in IGNORED},
        "emails": list(contact.emails.values_list("email", "kind", "is_primary")),
        "phones": list(contact.phones.values_list("number", "is_primary")),
        "addresses": list(contact.addresses.values_list("city", "country")),
        "tags": list(contact.tags.values_list("name", flat=True)),
        "jobs": list(contact.employments.values_list("company_id", "job_title", "is_current")),
        "audit": {k: v for k, v in entry.changes.items() if k not in IGNORED},
        "event": OutboxEvent.objects.get(
            name="contact.created", aggregate_id=str(contact.pk)
        ).payload,
        "search": SearchEntry.objects.get(
            object_type="contacts.contact", object_id=contact.pk
        ).text,
    }


def test_the_same_rows_as_one_by_one(as_alice, as_admin, bob):
    customfield_create(
        actor=as_admin,
        content_type=ContentType.objects.get_for_model(Contact),
        key="tier",
        label="Tier",
        field_type="text",
    )
    company = Company.objects.create(name="Analytical Engines", owner=as_alice.user)
    tag = Tag.objects.create(name="VIP")
    single = contact_create(actor=as_alice, **_kwargs(_draft("one@example.com", company, tag, bob)))
    [bulk] = contacts_create_many(
        actor=as_alice, drafts=[_draft("one@example.com", company, tag, bob)]
    )
    first, second = _written(single), _written(bulk)
    assert first == second
    assert second["fields"]["email"] == "one@example.com" and second["phones"] == [
        ("+442079460018", True)
    ]


def test_a_refused_draft_does_not_stop_the_others(as_alice):
    outcomes = contacts_create_many(
        actor=as_alice,
        drafts=[
            ContactDraft(values={"email": "nope"}),
            ContactDraft(values={"last_name": "Hopper", "company": 999_999}),
            ContactDraft(values={"last_name": "Turing"}),
        ],
    )
    assert isinstance(outcomes[0], ValidationError) and "email" in outcomes[0].message_dict
    assert outcomes[1].message_dict == {"company": ["Choose a company you can see."]}
    assert outcomes[2].last_name == "Turing"
    assert list(Contact.objects.values_list("last_name", flat=True)) == ["Turing"]


def test_a_role_that_may_not_create_is_refused(db):
    from rapport.conftest import make_user
    from rapport.core.actors import Actor
    from rapport.core.models import Source

    reader = make_user("reader@example.com", role_slug="read-only")
    with pytest.raises(PermissionDenied):
        contacts_create_many(actor=Actor(user=reader, source=Source.UI), drafts=[])


def _kwargs(draft: ContactDraft) -> dict:
    return {
        "values": draft.values,
        "custom": draft.custom,
        "addresses": draft.addresses,
        "tags": draft.tags,
    }
