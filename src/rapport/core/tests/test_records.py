"""The shared record write path, through ``core.services`` on the test-only Specimen."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404

from rapport.core import services
from rapport.core.customfields import customfield_create
from rapport.core.exceptions import VersionConflict
from rapport.core.models import AuditEntry, OutboxEvent
from rapport.core.permissions import scope
from rapport.testing.models import Specimen


def entries_of(obj) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(object_id=str(obj.pk)).order_by("id"))


def test_create_records_owner_audit_and_event(as_alice, alice):
    specimen = services.record_create(Specimen, actor=as_alice, values={"name": "Acme"})

    assert (specimen.owner, specimen.created_by, specimen.version) == (alice, alice, 1)
    [entry] = entries_of(specimen)
    assert (entry.action, entry.actor, entry.source) == ("create", alice, "ui")
    assert entry.changes["name"] == [None, "Acme"]
    assert OutboxEvent.objects.filter(
        name="specimen.created", aggregate_id=str(specimen.pk)
    ).exists()


def test_update_writes_field_level_changes_and_bumps_version(as_alice):
    specimen = services.record_create(Specimen, actor=as_alice, values={"name": "Acme"})

    services.record_update(
        specimen, actor=as_alice, values={"name": "Acme Ltd", "amount": Decimal("12.50")}
    )

    specimen.refresh_from_db()
    assert specimen.version == 2
    entry = entries_of(specimen)[-1]
    assert entry.action == "update"
    assert entry.changes == {"name": ["Acme", "Acme Ltd"], "amount": [None, "12.50"]}


def test_update_without_changes_writes_nothing(as_alice):
    specimen = services.record_create(Specimen, actor=as_alice, values={"name": "Acme"})

    services.record_update(specimen, actor=as_alice, values={"name": "Acme"})

    specimen.refresh_from_db()
    assert specimen.version == 1
    assert len(entries_of(specimen)) == 1


def test_stale_version_is_refused_and_nothing_changes(as_alice):
    specimen = services.record_create(Specimen, actor=as_alice, values={"name": "Acme"})
    services.record_update(specimen, actor=as_alice, values={"name": "Acme 2"})

    with pytest.raises(VersionConflict) as conflict:
        services.record_update(
            specimen, actor=as_alice, values={"name": "Mine"}, expected_version=1
        )

    assert conflict.value.current_version == 2
    specimen.refresh_from_db()
    assert specimen.name == "Acme 2"


def test_bad_values_are_reported_by_field_and_not_written(as_alice):
    with pytest.raises(ValidationError) as error:
        services.record_create(
            Specimen, actor=as_alice, values={"name": "x" * 101, "amount": "lots"}
        )

    assert {"name", "amount"} <= set(error.value.message_dict)
    assert not Specimen.all_objects.exists()
    assert not AuditEntry.objects.exists()


def test_services_refuse_fields_they_own(as_alice):
    with pytest.raises(ValidationError) as error:
        services.record_create(Specimen, actor=as_alice, values={"name": "A", "version": 9})
    assert "version" in error.value.message_dict


def test_teammate_sees_but_cannot_edit_and_stranger_cannot_see(as_alice, bob, charlie):
    from rapport.core.actors import Actor

    specimen = services.record_create(Specimen, actor=as_alice, values={"name": "Acme"})

    assert list(scope(Specimen.objects.all(), bob)) == [specimen]
    assert list(scope(Specimen.objects.all(), charlie)) == []
    with pytest.raises(PermissionDenied):
        services.record_update(specimen, actor=Actor(bob, "ui"), values={"name": "Bob's"})
    with pytest.raises(Http404):
        services.record_update(specimen, actor=Actor(charlie, "ui"), values={"name": "Charlie's"})


def test_own_only_keeps_the_records_a_user_owns_whatever_their_scope(
    as_alice, as_admin, alice, bob
):
    from rapport.core.actors import Actor

    alices = services.record_create(Specimen, actor=as_alice, values={"name": "Alice's"})
    services.record_create(Specimen, actor=Actor(bob, "ui"), values={"name": "Bob's"})
    admins = services.record_create(Specimen, actor=as_admin, values={"name": "Admin's"})

    assert list(scope(Specimen.objects.all(), alice, own_only=True)) == [alices]
    assert list(scope(Specimen.objects.all(), as_admin.user, own_only=True)) == [admins]
    alice.role = None
    assert list(scope(Specimen.objects.all(), alice, own_only=True)) == []


def test_trash_restore_and_purge(as_alice, as_admin):
    specimen = services.record_create(Specimen, actor=as_alice, values={"name": "Acme"})

    services.record_delete(specimen, actor=as_alice)
    assert not Specimen.objects.filter(pk=specimen.pk).exists()
    trashed = Specimen.all_objects.get(pk=specimen.pk)
    assert trashed.is_deleted

    services.record_restore(trashed, actor=as_alice)
    assert Specimen.objects.filter(pk=specimen.pk).exists()

    services.record_delete(Specimen.objects.get(pk=specimen.pk), actor=as_alice)
    trashed = Specimen.all_objects.get(pk=specimen.pk)
    with pytest.raises(PermissionDenied):
        services.record_purge(trashed, actor=as_alice)
    services.record_purge(trashed, actor=as_admin)

    assert not Specimen.all_objects.filter(pk=specimen.pk).exists()
    actions = [entry.action for entry in entries_of(specimen)]
    assert actions == ["create", "delete", "restore", "delete", "purge"]


def test_audit_entry_rolls_back_with_the_change(as_alice):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.record_create(Specimen, actor=as_alice, values={"name": "Acme"})
        raise RuntimeError("the caller fails after the write")

    assert not Specimen.all_objects.exists()
    assert not AuditEntry.objects.exists()
    assert not OutboxEvent.objects.exists()


@pytest.fixture
def tier_field(as_admin):
    return customfield_create(
        actor=as_admin,
        content_type=ContentType.objects.get_for_model(Specimen),
        key="tier",
        label="Tier",
        field_type="choice",
        choices=["gold", "silver"],
        required=True,
        default="silver",
    )


def test_custom_fields_default_validate_and_audit_by_key(as_alice, tier_field):
    specimen = services.record_create(Specimen, actor=as_alice, values={"name": "Acme"})
    assert specimen.custom == {"tier": "silver"}

    with pytest.raises(ValidationError) as error:
        services.record_update(specimen, actor=as_alice, custom={"tier": "bronze", "colour": "red"})
    assert set(error.value.message_dict) == {"custom.tier", "custom.colour"}

    services.record_update(specimen, actor=as_alice, custom={"tier": "gold"})
    assert entries_of(specimen)[-1].changes == {"custom.tier": ["silver", "gold"]}


def test_a_required_custom_field_cannot_be_emptied(as_alice, tier_field):
    specimen = services.record_create(Specimen, actor=as_alice, values={"name": "Acme"})

    with pytest.raises(ValidationError) as error:
        services.record_update(specimen, actor=as_alice, custom={"tier": ""})

    assert error.value.message_dict == {"custom.tier": ["Tier is required."]}
