"""Company and contact services: validation, child rows, work history, permissions, search."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.test import override_settings

from rapport.contacts import queries, services
from rapport.contacts.models import Company, Contact, ContactEmail, Employment, Phone
from rapport.contacts.phones import normalize_phone
from rapport.core import search
from rapport.core.actors import Actor
from rapport.core.customfields import customfield_create
from rapport.core.exceptions import VersionConflict
from rapport.core.models import AuditEntry, OutboxEvent, Source


@pytest.fixture
def as_bob(bob) -> Actor:
    return Actor(user=bob, source=Source.UI)


@pytest.fixture
def as_charlie(charlie) -> Actor:
    return Actor(user=charlie, source=Source.UI)


def entries_of(obj) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(object_id=str(obj.pk)).order_by("id"))


def error_fields(error: pytest.ExceptionInfo) -> set[str]:
    return set(error.value.message_dict)


# Phones


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(202) 555-0143", None, "+12025550143"),
        ("+49 30 1234567", None, "+49301234567"),
        ("030 1234567", "DE", "+49301234567"),
        ("0044 20 7946 0958", "DE", "+442079460958"),
    ],
)
def test_normalize_phone_gives_e164(raw, region, expected):
    assert normalize_phone(raw, region=region) == expected


@override_settings(PHONE_REGION="DE")
def test_normalize_phone_reads_local_numbers_in_the_configured_region():
    assert normalize_phone("030 1234567") == "+49301234567"


@pytest.mark.parametrize("raw", ["", "12", "not a number", "+1 555", "9" * 10_000])
def test_normalize_phone_refuses_what_is_not_a_number(raw):
    with pytest.raises(ValidationError):
        normalize_phone(raw)


# Creating contacts


def test_create_contact_with_channels(as_alice, alice):
    contact = services.contact_create(
        actor=as_alice,
        values={"first_name": " Ada ", "last_name": "Lovelace", "job_title": "Analyst"},
        emails=[
            {"email": "ADA@Example.com", "kind": "work"},
            {"email": "ada@home.example", "kind": "personal", "is_primary": False},
        ],
        phones=[
            {"number": "(202) 555-0143", "kind": "work"},
            {"number": "+44 20 7946 0958", "kind": "mobile", "is_primary": True},
        ],
        addresses=[{"kind": "home", "street": "1 Main St", "city": "London", "country": "gb"}],
        social_profiles=[{"url": "linkedin.com/in/ada"}],
    )

    contact.refresh_from_db()
    assert (contact.first_name, contact.owner, contact.version) == ("Ada", alice, 1)
    assert (contact.email, contact.phone) == ("ada@example.com", "+442079460958")
    assert [(e.email, e.is_primary) for e in contact.emails.all()] == [
        ("ada@example.com", True),
        ("ada@home.example", False),
    ]
    assert sorted((p.number, p.is_primary) for p in contact.phones.all()) == [
        ("+12025550143", False),
        ("+442079460958", True),
    ]
    assert contact.addresses.get().country == "GB"
    profile = contact.social_profiles.get()
    assert (profile.network, profile.url) == ("linkedin", "https://linkedin.com/in/ada")
    [entry] = entries_of(contact)
    assert entry.action == "create"
    assert entry.changes["emails"][1][0]["email"] == "ada@example.com"
    assert OutboxEvent.objects.filter(name="contact.created", aggregate_id=str(contact.pk)).exists()


def test_email_and_phone_values_stand_for_one_primary_row(as_alice):
    contact = services.contact_create(
        actor=as_alice, values={"email": "Grace@Example.com", "phone": "202-555-0143"}
    )

    assert (contact.email, contact.phone) == ("grace@example.com", "+12025550143")
    assert contact.emails.get().is_primary
    assert contact.phones.get().is_primary


def test_two_primaries_are_refused(as_alice):
    with pytest.raises(ValidationError) as error:
        services.contact_create(
            actor=as_alice,
            values={"first_name": "Ada"},
            emails=[
                {"email": "a@example.com", "is_primary": True},
                {"email": "b@example.com", "is_primary": True},
            ],
        )

    assert error_fields(error) == {"emails"}


def test_the_same_address_twice_is_refused(as_alice):
    with pytest.raises(ValidationError) as error:
        services.contact_create(
            actor=as_alice,
            values={"first_name": "Ada"},
            emails=[{"email": "a@example.com"}, {"email": "A@example.com"}],
        )

    assert error_fields(error) == {"emails.1.email"}


def test_bad_values_name_every_field_and_write_nothing(as_alice, as_admin):
    customfield_create(
        actor=as_admin,
        content_type=ContentType.objects.get_for_model(Contact),
        key="score",
        label="Score",
        field_type="integer",
    )
    entries_before = AuditEntry.objects.count()

    with pytest.raises(ValidationError) as error:
        services.contact_create(
            actor=as_alice,
            values={"first_name": "Ada", "birthday": "yesterday", "timezone": "Mars/Olympus"},
            custom={"score": "many"},
            emails=[{"email": "not-an-email"}],
            phones=[{"number": "12"}],
            social_profiles=[{"network": "x", "url": "not a url"}],
            addresses=[{"city": "Paris", "country": "Atlantis"}],
        )

    assert error_fields(error) == {
        "birthday",
        "timezone",
        "custom.score",
        "emails.0.email",
        "phones.0.number",
        "social_profiles.0.url",
        "addresses.0.country",
    }
    assert not Contact.all_objects.exists()
    assert not ContactEmail.objects.exists()
    assert AuditEntry.objects.count() == entries_before


def test_a_contact_needs_a_name_an_email_or_a_phone(as_alice):
    with pytest.raises(ValidationError) as error:
        services.contact_create(actor=as_alice, values={"job_title": "Analyst"})

    assert error_fields(error) == {"__all__"}


def test_unknown_fields_are_refused(as_alice):
    with pytest.raises(ValidationError) as error:
        services.contact_create(actor=as_alice, values={"first_name": "Ada", "version": 7})

    assert error_fields(error) == {"version"}


# Updating contacts


def test_update_replaces_given_children_in_one_audit_entry(as_alice):
    contact = services.contact_create(
        actor=as_alice, values={"first_name": "Ada"}, emails=[{"email": "a@example.com"}]
    )

    contact = services.contact_update(
        contact,
        actor=as_alice,
        values={"last_name": "Lovelace"},
        emails=[{"email": "b@example.com"}, {"email": "a@example.com"}],
    )

    assert contact.version == 2
    assert contact.email == "b@example.com"
    assert sorted(contact.emails.values_list("email", flat=True)) == [
        "a@example.com",
        "b@example.com",
    ]
    entry = entries_of(contact)[-1]
    assert entry.action == "update"
    assert set(entry.changes) == {"last_name", "email", "emails"}


def test_update_without_changes_writes_nothing(as_alice):
    contact = services.contact_create(
        actor=as_alice, values={"first_name": "Ada"}, phones=[{"number": "+12025550143"}]
    )

    contact = services.contact_update(
        contact, actor=as_alice, values={"first_name": "Ada"}, phones=[{"number": "202 555 0143"}]
    )

    assert contact.version == 1
    assert len(entries_of(contact)) == 1


def test_email_value_replaces_the_primary_and_blank_promotes_the_next(as_alice):
    contact = services.contact_create(
        actor=as_alice,
        values={"first_name": "Ada"},
        emails=[{"email": "a@example.com"}, {"email": "b@example.com"}],
    )

    contact = services.contact_update(contact, actor=as_alice, values={"email": "c@example.com"})
    assert contact.email == "c@example.com"
    assert sorted(contact.emails.values_list("email", flat=True)) == [
        "b@example.com",
        "c@example.com",
    ]

    contact = services.contact_update(contact, actor=as_alice, values={"email": ""})
    assert contact.email == "b@example.com"
    assert contact.emails.get().is_primary


def test_bad_email_value_is_reported_on_email(as_alice):
    contact = services.contact_create(actor=as_alice, values={"first_name": "Ada"})

    with pytest.raises(ValidationError) as error:
        services.contact_update(contact, actor=as_alice, values={"email": "nope"})

    assert error_fields(error) == {"email"}


def test_stale_version_is_refused(as_alice):
    contact = services.contact_create(actor=as_alice, values={"first_name": "Ada"})
    services.contact_update(contact, actor=as_alice, values={"first_name": "Ada 2"})

    with pytest.raises(VersionConflict):
        services.contact_update(
            contact, actor=as_alice, values={"first_name": "Mine"}, expected_version=1
        )

    contact.refresh_from_db()
    assert contact.first_name == "Ada 2"


def test_tags_are_set_and_audited_by_name(as_alice, as_admin):
    vip = services.tag_create(actor=as_admin, name="VIP")
    press = services.tag_create(actor=as_admin, name="Press")
    contact = services.contact_create(actor=as_alice, values={"first_name": "Ada"}, tags=[vip])

    contact = services.contact_update(contact, actor=as_alice, tags=[vip, press])

    assert set(contact.tags.all()) == {vip, press}
    assert entries_of(contact)[-1].changes["tags"] == [["VIP"], ["Press", "VIP"]]


# Work history


def test_company_change_closes_the_current_position_and_opens_a_new_one(as_alice):
    acme = services.company_create(actor=as_alice, values={"name": "Acme"})
    globex = services.company_create(actor=as_alice, values={"name": "Globex"})
    contact = services.contact_create(
        actor=as_alice, values={"first_name": "Ada", "company": acme, "job_title": "Analyst"}
    )

    services.contact_update(
        contact, actor=as_alice, values={"company": globex.pk, "job_title": "Head of Data"}
    )

    old, new = Employment.objects.filter(contact=contact).order_by("id")
    assert (old.company, old.job_title, old.is_current) == (acme, "Analyst", False)
    assert old.ended_on == datetime.date.today()
    assert (new.company, new.job_title, new.is_current) == (globex, "Head of Data", True)
    assert new.started_on == datetime.date.today()


def test_job_title_change_updates_the_current_position(as_alice):
    acme = services.company_create(actor=as_alice, values={"name": "Acme"})
    contact = services.contact_create(
        actor=as_alice, values={"first_name": "Ada", "company": acme, "job_title": "Analyst"}
    )

    services.contact_update(contact, actor=as_alice, values={"job_title": "Lead"})

    assert list(contact.employments.values_list("job_title", "is_current")) == [("Lead", True)]


# Companies


def test_create_company_normalises_domain_website_currency_and_phones(as_alice):
    company = services.company_create(
        actor=as_alice,
        values={
            "name": "Acme",
            "domain": "https://www.Acme.COM/about",
            "website": "acme.com",
            "annual_revenue": "1250000.50",
            "currency": "eur",
        },
        phones=[{"number": "+49 30 1234567"}],
    )

    company.refresh_from_db()
    assert (company.domain, company.website, company.currency) == (
        "acme.com",
        "https://acme.com",
        "EUR",
    )
    assert company.phone == "+49301234567"
    assert str(company.annual_revenue) == "1250000.50"


def test_bad_company_values_name_their_fields(as_alice):
    with pytest.raises(ValidationError) as error:
        services.company_create(
            actor=as_alice,
            values={
                "name": "",
                "domain": "not a domain",
                "website": "http://exa mple",
                "currency": "EURO",
                "employee_count": -3,
            },
        )

    assert error_fields(error) == {"name", "domain", "website", "currency", "employee_count"}
    assert not Company.all_objects.exists()


def test_a_company_cannot_sit_under_its_own_subsidiary(as_alice):
    group = services.company_create(actor=as_alice, values={"name": "Group"})
    branch = services.company_create(actor=as_alice, values={"name": "Branch", "parent": group})

    with pytest.raises(ValidationError) as error:
        services.company_update(group, actor=as_alice, values={"parent": branch})

    assert error_fields(error) == {"parent"}


# Permissions


def test_a_company_the_actor_cannot_see_is_a_field_error(as_alice, as_charlie):
    west_company = services.company_create(actor=as_charlie, values={"name": "West Co"})

    with pytest.raises(ValidationError) as error:
        services.contact_create(
            actor=as_alice, values={"first_name": "Ada", "company": west_company.pk}
        )

    assert error_fields(error) == {"company"}


def test_reps_see_their_teams_records_and_edit_their_own(as_alice, as_bob, as_charlie, bob):
    contact = services.contact_create(actor=as_alice, values={"first_name": "Ada"})

    assert contact in queries.visible_contacts(bob)
    assert contact not in queries.visible_contacts(as_charlie.user)
    with pytest.raises(PermissionDenied):
        services.contact_update(contact, actor=as_bob, values={"first_name": "Bob's"})
    with pytest.raises(Http404):
        services.contact_update(contact, actor=as_charlie, values={"first_name": "Charlie's"})
    with pytest.raises(Http404):
        services.contact_delete(contact, actor=as_charlie)
    contact.refresh_from_db()
    assert (contact.first_name, contact.is_deleted) == ("Ada", False)


def test_delete_moves_to_trash_and_out_of_search(as_alice):
    contact = services.contact_create(actor=as_alice, values={"first_name": "Zebulon"})
    assert search.filter_queryset(Contact.objects.all(), "zebulon").get() == contact

    services.contact_delete(contact, actor=as_alice)

    assert Contact.all_objects.get(pk=contact.pk).is_deleted
    assert not search.filter_queryset(Contact.all_objects.all(), "zebulon").exists()


def test_search_follows_updates(as_alice):
    contact = services.contact_create(actor=as_alice, values={"first_name": "Zebulon"})

    services.contact_update(contact, actor=as_alice, values={"first_name": "Xavier"})

    assert search.filter_queryset(Contact.objects.all(), "xavier").get() == contact
    assert not search.filter_queryset(Contact.objects.all(), "zebulon").exists()


# Duplicates


def test_find_duplicates_by_email_phone_and_domain(as_alice, alice):
    ada = services.contact_create(
        actor=as_alice,
        values={"first_name": "Ada"},
        emails=[{"email": "ada@example.com"}, {"email": "ada@acme.com"}],
        phones=[{"number": "+12025550143"}],
    )
    acme = services.company_create(
        actor=as_alice,
        values={"name": "Acme", "domain": "acme.com"},
        phones=[{"number": "+12025550143"}],
    )

    by_email = services.find_duplicates(user=alice, email=" ADA@acme.com ")
    by_phone = services.find_duplicates(user=alice, phone="(202) 555-0143")
    by_domain = services.find_duplicates(user=alice, domain="https://www.acme.com/contact")

    assert by_email == {"contacts": [ada], "companies": []}
    assert by_phone == {"contacts": [ada], "companies": [acme]}
    assert by_domain == {"contacts": [], "companies": [acme]}
    assert services.find_duplicates(user=alice, email="ada@example.com", exclude=ada) == {
        "contacts": [],
        "companies": [],
    }
    assert services.find_duplicates(user=alice, phone="garbage", domain="x") == {
        "contacts": [],
        "companies": [],
    }


def test_find_duplicates_only_shows_what_the_user_may_see(as_alice, charlie):
    services.contact_create(actor=as_alice, values={"email": "ada@example.com"})

    assert services.find_duplicates(user=charlie, email="ada@example.com")["contacts"] == []


def test_phones_of_trashed_contacts_are_no_duplicates(as_alice, alice):
    ada = services.contact_create(actor=as_alice, values={"phone": "+12025550143"})
    services.contact_delete(ada, actor=as_alice)

    assert services.find_duplicates(user=alice, phone="+12025550143")["contacts"] == []
    assert Phone.objects.filter(contact=ada).exists()


def test_countries_are_stored_as_iso_codes_whatever_way_they_are_written(as_alice):
    contact = services.contact_create(
        actor=as_alice,
        values={"last_name": "Curie"},
        addresses=[{"city": "Paris", "country": "France"}, {"city": "Leeds", "country": "uk"}],
    )
    assert sorted(contact.addresses.values_list("country", flat=True)) == ["FR", "GB"]


def test_names_are_stored_single_spaced(as_alice):
    contact = services.contact_create(
        actor=as_alice, values={"first_name": "  Anna \t Maria ", "last_name": "von  Trapp"}
    )
    assert (contact.first_name, contact.last_name) == ("Anna Maria", "von Trapp")
    company = services.company_create(actor=as_alice, values={"name": " Acme   Corp "})
    assert company.name == "Acme Corp"
