"""Merging two contacts or two companies into one."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError

from rapport.contacts import services
from rapport.contacts.models import Company, Contact, Employment
from rapport.core.actors import Actor
from rapport.core.customfields import customfield_create
from rapport.core.models import AuditEntry, OutboxEvent, Source


@pytest.fixture
def as_bob(bob) -> Actor:
    return Actor(user=bob, source=Source.UI)


@pytest.fixture
def tags(as_admin):
    return services.tag_create(actor=as_admin, name="VIP"), services.tag_create(
        actor=as_admin, name="Press"
    )


def merge_entries() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action="merge"))


def test_contact_merge_joins_everything_into_the_winner(as_alice, tags):
    vip, press = tags
    acme = services.company_create(actor=as_alice, values={"name": "Acme"})
    globex = services.company_create(actor=as_alice, values={"name": "Globex"})
    winner = services.contact_create(
        actor=as_alice,
        values={"first_name": "Ada", "last_name": "", "job_title": "Analyst", "company": acme},
        emails=[{"email": "ada@acme.com"}, {"email": "ada@example.com"}],
        phones=[{"number": "+12025550143"}],
        tags=[vip],
    )
    loser = services.contact_create(
        actor=as_alice,
        values={"first_name": "Ada L.", "last_name": "Lovelace", "company": globex},
        emails=[{"email": "ada@example.com"}, {"email": "ada@home.example"}],
        phones=[{"number": "+442079460958"}],
        addresses=[{"city": "London", "country": "GB"}],
        tags=[press],
    )
    newsletter = services.list_create(actor=as_alice, name="Newsletter")
    services.list_add(newsletter, [loser], actor=as_alice)
    entries_before = AuditEntry.objects.count()

    merged = services.contact_merge(
        winner, loser, actor=as_alice, choices={"company": "loser", "email": "loser"}
    )

    merged.refresh_from_db()
    # Chosen, kept and filled-in values.
    assert (merged.first_name, merged.last_name, merged.company) == ("Ada", "Lovelace", globex)
    # Children joined; the loser's primary email won.
    assert merged.email == "ada@example.com"
    assert sorted(merged.emails.values_list("email", "is_primary")) == [
        ("ada@acme.com", False),
        ("ada@example.com", True),
        ("ada@home.example", False),
    ]
    assert merged.phone == "+12025550143"
    assert merged.phones.count() == 2
    assert merged.addresses.get().city == "London"
    assert set(merged.tags.all()) == {vip, press}
    assert list(newsletter.members.all()) == [merged]
    # Work history: the loser's position at Globex is now the current one.
    current = Employment.objects.get(contact=merged, is_current=True)
    assert current.company == globex
    assert Employment.objects.filter(contact=merged).count() == 2
    # The loser waits in the trash; one audit entry tells the story.
    assert Contact.all_objects.get(pk=loser.pk).is_deleted
    assert AuditEntry.objects.count() == entries_before + 1
    [entry] = merge_entries()
    assert (entry.object_id, entry.changes["merged_from"]) == (str(merged.pk), [None, loser.pk])
    assert {"company", "email", "emails", "phones", "addresses", "tags"} <= set(entry.changes)
    assert OutboxEvent.objects.filter(name="contact.merged", aggregate_id=str(merged.pk)).exists()
    assert OutboxEvent.objects.filter(name="contact.deleted", aggregate_id=str(loser.pk)).exists()


def test_merge_takes_chosen_custom_values(as_alice, as_admin):
    customfield_create(
        actor=as_admin,
        content_type=ContentType.objects.get_for_model(Contact),
        key="tier",
        label="Tier",
        field_type="text",
    )
    winner = services.contact_create(
        actor=as_alice, values={"first_name": "A"}, custom={"tier": "gold"}
    )
    loser = services.contact_create(
        actor=as_alice, values={"first_name": "B"}, custom={"tier": "silver"}
    )

    merged = services.contact_merge(winner, loser, actor=as_alice, choices={"custom.tier": "loser"})

    assert merged.custom == {"tier": "silver"}


def test_merge_refuses_unknown_choices_and_one_record_twice(as_alice):
    winner = services.contact_create(actor=as_alice, values={"first_name": "A"})
    loser = services.contact_create(actor=as_alice, values={"first_name": "B"})

    with pytest.raises(ValidationError) as error:
        services.contact_merge(
            winner, loser, actor=as_alice, choices={"version": "loser", "first_name": "both"}
        )
    assert set(error.value.message_dict) == {"choices.version", "choices.first_name"}
    with pytest.raises(ValidationError):
        services.contact_merge(winner, winner, actor=as_alice, choices={})
    assert not merge_entries()
    assert not Contact.all_objects.filter(deleted_at__isnull=False).exists()


def test_merge_needs_the_merge_permission_on_both(as_alice, as_bob):
    mine = services.contact_create(actor=as_alice, values={"first_name": "A"})
    bobs = services.contact_create(actor=as_bob, values={"first_name": "B"})

    with pytest.raises(PermissionDenied):
        services.contact_merge(mine, bobs, actor=as_alice, choices={})

    assert not Contact.all_objects.get(pk=bobs.pk).is_deleted
    assert not merge_entries()


def test_company_merge_repoints_contacts_and_subsidiaries(as_alice):
    holding = services.company_create(actor=as_alice, values={"name": "Holding"})
    winner = services.company_create(
        actor=as_alice,
        values={"name": "Acme", "parent": holding},
        phones=[{"number": "+12025550143"}],
    )
    loser = services.company_create(
        actor=as_alice,
        values={"name": "ACME Inc", "domain": "acme.com"},
        phones=[{"number": "+12025550143"}, {"number": "+442079460958"}],
    )
    branch = services.company_create(actor=as_alice, values={"name": "Branch", "parent": loser})
    employee = services.contact_create(
        actor=as_alice, values={"first_name": "Ada", "company": loser}
    )

    merged = services.company_merge(winner, loser, actor=as_alice, choices={})

    merged.refresh_from_db()
    assert (merged.name, merged.domain, merged.parent) == ("Acme", "acme.com", holding)
    assert sorted(merged.phones.values_list("number", flat=True)) == [
        "+12025550143",
        "+442079460958",
    ]
    employee.refresh_from_db()
    branch.refresh_from_db()
    assert (employee.company, branch.parent) == (merged, merged)
    assert Employment.objects.get(contact=employee).company == merged
    assert Company.all_objects.get(pk=loser.pk).is_deleted
    assert len(merge_entries()) == 1


def test_company_merge_never_makes_a_company_its_own_parent(as_alice):
    loser = services.company_create(actor=as_alice, values={"name": "Parent"})
    winner = services.company_create(actor=as_alice, values={"name": "Child", "parent": loser})

    merged = services.company_merge(winner, loser, actor=as_alice, choices={})

    merged.refresh_from_db()
    assert merged.parent is None
