"""``rapport demo`` fills contacts and companies, quickly with ``--contacts N``, and
indexes them for search."""

from __future__ import annotations

import io

import phonenumbers
import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import QuerySet

from rapport.accounts.models import Team, User
from rapport.contacts import services
from rapport.contacts.models import (
    Company,
    Contact,
    ContactEmail,
    ListMembership,
    Phone,
    StaticList,
    Tag,
)
from rapport.core import search
from rapport.core.actors import Actor
from rapport.core.models import AuditEntry, SearchEntry, Source


def run_demo(*args: str) -> None:
    call_command("demo", *args, stdout=io.StringIO())


def quick_path(model: type[Contact] | type[Company]) -> QuerySet:
    """The records the contacts demo made: its quick path writes no audit entries, where
    the sales demo's converted leads go through the services."""
    created = AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(model), action="create"
    ).values_list("object_id", flat=True)
    return model.objects.exclude(pk__in=[int(pk) for pk in created])


def snapshot() -> list[tuple]:
    owners = dict(User.objects.values_list("pk", "email"))
    return sorted(
        (first, last, email, phone, stage, owners.get(owner), company)
        for first, last, email, phone, stage, owner, company in quick_path(Contact).values_list(
            "first_name",
            "last_name",
            "email",
            "phone",
            "lifecycle_stage",
            "owner_id",
            "company__name",
        )
    )


def empty_database() -> None:
    for model in (Contact, Company, Tag, StaticList, User, Team):
        model.objects.all().delete()
    SearchEntry.objects.all().delete()


@pytest.mark.django_db
def test_the_default_demo_builds_thousands_of_realistic_records():
    run_demo("--seed", "2")

    contacts = Contact.objects.count()
    assert 1_000 <= contacts <= 10_000
    assert quick_path(Company).count() == quick_path(Contact).count() // 5
    assert ContactEmail.objects.filter(is_primary=True).count() == contacts
    assert (
        Phone.objects.filter(contact__isnull=False).count()
        == Contact.objects.exclude(phone="").count()
    )
    assert Contact.objects.filter(email__contains="@", phone__startswith="+").exists()
    reps = User.objects.filter(role__slug__in=["sales-rep", "sales-manager"])
    assert Contact.objects.values("owner").distinct().count() == reps.count()
    assert not Contact.objects.filter(owner__isnull=True).exists()
    assert Contact.objects.filter(tags__isnull=False).exists()
    assert ListMembership.objects.count() > 0
    assert StaticList.objects.count() == 4
    assert SearchEntry.objects.filter(object_type="contacts.contact").count() == contacts


@pytest.mark.django_db
def test_the_demo_is_deterministic_per_seed():
    run_demo("--seed", "5", "--contacts", "300")
    first = snapshot()
    empty_database()

    run_demo("--seed", "5", "--contacts", "300")

    assert snapshot() == first
    empty_database()
    run_demo("--seed", "6", "--contacts", "300")
    assert snapshot() != first


@pytest.mark.django_db
def test_the_quick_path_builds_n_contacts_indexed_for_search_without_audit_entries():
    run_demo("--contacts", "2000")

    assert quick_path(Contact).count() == 2_000
    assert quick_path(Company).count() == 400
    assert SearchEntry.objects.filter(object_type="contacts.contact").count() == (
        Contact.objects.count()
    )
    assert SearchEntry.objects.filter(object_type="contacts.company").count() == (
        Company.objects.count()
    )
    audited = AuditEntry.objects.filter(content_type__app_label="contacts")
    # Only the sales demo's converted leads, which go through the services.
    assert audited.count() == Contact.objects.count() + Company.objects.count() - 2_400

    contact = Contact.objects.exclude(phone="").select_related("company").order_by("pk")[10]
    admin = User.objects.get(email="admin@example.com")
    national = phonenumbers.format_number(
        phonenumbers.parse(contact.phone), phonenumbers.PhoneNumberFormat.NATIONAL
    )
    for query in (contact.last_name, contact.email, contact.phone, national):
        hits = search.filter_queryset(Contact.objects.all(), query)
        assert hits.filter(pk=contact.pk).exists(), query
    groups = search.search(admin, f"{contact.first_name} {contact.last_name}")
    assert groups[0].key == "contacts.contact"


def indexes_of(model) -> set[str]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return {name for name, details in found.items() if details["index"]}


@pytest.mark.django_db
def test_the_quick_path_leaves_indexes_and_id_sequences_as_services_need_them():
    before = {model: indexes_of(model) for model in (Contact, Company, SearchEntry)}

    run_demo("--contacts", "500")

    assert {model: indexes_of(model) for model in before} == before
    admin = User.objects.get(email="admin@example.com")
    contact = services.contact_create(
        actor=Actor(user=admin, source=Source.CLI),
        values={"first_name": "Zebulon", "last_name": "Quarrie"},
    )
    assert contact.pk > 500
    assert [group.key for group in search.search(admin, "zebulon")] == ["contacts.contact"]


@pytest.mark.django_db
def test_zero_contacts_is_allowed_and_negative_is_refused():
    run_demo("--contacts", "0")
    assert not quick_path(Contact).exists()

    with pytest.raises(CommandError):
        call_command("demo", "--contacts", "-1", stdout=io.StringIO())
