"""Tags, static lists and bulk actions."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from rapport.contacts import queries, services
from rapport.contacts.models import Contact, Tag
from rapport.core.actors import Actor
from rapport.core.models import AuditEntry, Source


@pytest.fixture
def as_bob(bob) -> Actor:
    return Actor(user=bob, source=Source.UI)


@pytest.fixture
def as_charlie(charlie) -> Actor:
    return Actor(user=charlie, source=Source.UI)


# Tags


def test_admins_manage_tags(as_admin):
    tag = services.tag_create(actor=as_admin, name=" VIP ", color="#FF0000")

    assert (tag.name, tag.color) == ("VIP", "#ff0000")
    services.tag_update(tag, actor=as_admin, description="Big accounts", color="#00ff00")
    tag.refresh_from_db()
    assert (tag.description, tag.color) == ("Big accounts", "#00ff00")
    tag_id = tag.pk
    services.tag_delete(tag, actor=as_admin)
    assert not Tag.objects.exists()
    entries = AuditEntry.objects.filter(content_type__model="tag", object_id=str(tag_id))
    assert list(entries.values_list("action", flat=True)) == ["purge", "update", "create"]


def test_reps_cannot_manage_tags(as_alice, as_admin):
    tag = services.tag_create(actor=as_admin, name="VIP")

    with pytest.raises(PermissionDenied):
        services.tag_create(actor=as_alice, name="Mine")
    with pytest.raises(PermissionDenied):
        services.tag_update(tag, actor=as_alice, name="Ours")
    with pytest.raises(PermissionDenied):
        services.tag_delete(tag, actor=as_alice)
    assert list(Tag.objects.values_list("name", flat=True)) == ["VIP"]


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"name": "x", "color": "red"}, "color"),
        ({"name": "x", "color": "#12345g"}, "color"),
        ({"name": "x", "color": "#1234567"}, "color"),
        ({"name": "  "}, "name"),
        ({"name": "vip"}, "name"),
        ({"name": "x" * 61}, "name"),
    ],
)
def test_bad_tags_are_refused(as_admin, values, field):
    services.tag_create(actor=as_admin, name="VIP")

    with pytest.raises(ValidationError) as error:
        services.tag_create(actor=as_admin, **values)

    assert field in error.value.message_dict
    assert Tag.objects.count() == 1


# Lists


def test_list_add_and_remove_count_and_skip(as_alice):
    ada = services.contact_create(actor=as_alice, values={"first_name": "Ada"})
    grace = services.contact_create(actor=as_alice, values={"first_name": "Grace"})
    static_list = services.list_create(actor=as_alice, name="Event")

    assert services.list_add(static_list, [ada, grace], actor=as_alice) == 2
    assert services.list_add(static_list, [ada, grace, ada], actor=as_alice) == 0
    assert services.list_remove(static_list, [ada], actor=as_alice) == 1
    assert services.list_remove(static_list, [ada], actor=as_alice) == 0

    assert list(static_list.members.all()) == [grace]
    entries = AuditEntry.objects.filter(
        content_type__model="staticlist", object_id=str(static_list.pk), action="update"
    )
    assert [entry.changes for entry in entries.order_by("id")] == [
        {"members_added": [None, [ada.pk, grace.pk]]},
        {"members_removed": [[ada.pk], None]},
    ]


def test_lists_are_scoped_like_records(as_alice, as_bob, as_charlie, bob, charlie):
    static_list = services.list_create(actor=as_alice, name="Event")
    ada = services.contact_create(actor=as_alice, values={"first_name": "Ada"})

    assert static_list in queries.visible_lists(bob)
    assert static_list not in queries.visible_lists(charlie)
    with pytest.raises(PermissionDenied):
        services.list_add(static_list, [ada], actor=as_bob)
    with pytest.raises(PermissionDenied):
        services.list_update(static_list, actor=as_bob, name="Bob's")


def test_list_add_refuses_contacts_the_actor_cannot_see(as_alice, as_charlie):
    static_list = services.list_create(actor=as_alice, name="Event")
    hidden = services.contact_create(actor=as_charlie, values={"first_name": "West"})

    with pytest.raises(ValidationError) as error:
        services.list_add(static_list, [hidden], actor=as_alice)

    assert set(error.value.message_dict) == {"contacts"}
    assert not static_list.members.exists()


def test_list_update_and_delete(as_alice, bob):
    static_list = services.list_create(actor=as_alice, name="Event")

    with pytest.raises(ValidationError) as error:
        services.list_update(static_list, actor=as_alice, name="", colour="red")
    assert set(error.value.message_dict) == {"name", "colour"}
    services.list_update(static_list, actor=as_alice, name="Gala", owner=bob.pk)
    static_list.refresh_from_db()
    assert (static_list.name, static_list.owner) == ("Gala", bob)


def test_list_delete_keeps_the_contacts(as_alice):
    static_list = services.list_create(actor=as_alice, name="Event")
    ada = services.contact_create(actor=as_alice, values={"first_name": "Ada"})
    services.list_add(static_list, [ada], actor=as_alice)

    services.list_delete(static_list, actor=as_alice)

    assert not queries.visible_lists(as_alice.user).exists()
    assert Contact.objects.filter(pk=ada.pk).exists()


# Bulk actions


def test_bulk_assign_owner_reports_each_refusal(as_alice, as_bob, bob, charlie):
    mine = [services.contact_create(actor=as_alice, values={"first_name": f"A{n}"}) for n in (1, 2)]
    bobs = services.contact_create(actor=as_bob, values={"first_name": "B"})

    result = services.bulk_assign_owner([*mine, bobs], actor=as_alice, owner=charlie)

    assert result.done == 2
    assert [pk for pk, _message in result.errors] == [bobs.pk]
    assert set(Contact.objects.filter(owner=charlie)) == set(mine)


def test_bulk_tag_adds_and_removes(as_alice, as_admin):
    vip = services.tag_create(actor=as_admin, name="VIP")
    company = services.company_create(actor=as_alice, values={"name": "Acme"})
    contact = services.contact_create(actor=as_alice, values={"first_name": "Ada"})

    added = services.bulk_tag([company, contact], actor=as_alice, tag=vip, add=True)
    again = services.bulk_tag([company, contact], actor=as_alice, tag=vip, add=True)

    assert (added.done, added.errors, again.done) == (2, [], 2)
    assert list(contact.tags.all()) == [vip]
    assert contact.version == 1
    contact.refresh_from_db()
    assert contact.version == 2
    removed = services.bulk_tag([contact], actor=as_alice, tag=vip, add=False)
    assert removed.done == 1
    assert not contact.tags.exists()


def test_bulk_delete_skips_what_the_actor_may_not_delete(as_alice, as_bob):
    mine = services.contact_create(actor=as_alice, values={"first_name": "A"})
    bobs = services.contact_create(actor=as_bob, values={"first_name": "B"})

    result = services.bulk_delete([mine, bobs], actor=as_alice)

    assert (result.done, [pk for pk, _m in result.errors]) == (1, [bobs.pk])
    assert Contact.all_objects.get(pk=mine.pk).is_deleted
    assert not Contact.all_objects.get(pk=bobs.pk).is_deleted
