"""Retention policies: preview, apply, anonymise or delete, recent records kept."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from rapport.core.models import AuditEntry, SearchEntry, SearchTerm
from rapport.core.schedule import run_all
from rapport.privacy import retention
from rapport.privacy.models import RetentionAction, RetentionPolicy, RetentionRun
from rapport.sales.leads import lead_convert, lead_create
from rapport.sales.models import Lead


def _lead(actor, name: str, *, days_old: int) -> Lead:
    lead = lead_create(
        actor=actor, values={"first_name": name, "email": f"{name.lower()}@example.com"}
    )
    Lead.all_objects.filter(pk=lead.pk).update(
        updated_at=timezone.now() - datetime.timedelta(days=days_old)
    )
    return lead


@pytest.fixture
def leads(as_admin) -> dict[str, Lead]:
    old = _lead(as_admin, "Olga", days_old=800)
    converted = _lead(as_admin, "Conrad", days_old=10)
    lead_convert(converted, actor=as_admin, create_company=False)
    Lead.all_objects.filter(pk=converted.pk).update(
        updated_at=timezone.now() - datetime.timedelta(days=900)
    )
    return {
        "old": old,
        "recent": _lead(as_admin, "Rita", days_old=30),
        "converted": converted,
        "old_too": _lead(as_admin, "Otto", days_old=731),
    }


def _policy(admin, action: str) -> RetentionPolicy:
    return RetentionPolicy.objects.create(
        name="Stale leads",
        object_type="sales.lead",
        condition="not_converted",
        action=action,
        days=730,
        created_by=admin,
    )


def test_preview_lists_only_old_unconverted_leads(leads, admin):
    found = retention.preview(_policy(admin, RetentionAction.DELETE))
    assert found.count == 2
    assert [lead.pk for lead in found.first] == [leads["old"].pk, leads["old_too"].pk]
    assert Lead.all_objects.count() == 4  # a preview changes nothing


def test_apply_deletes_old_leads_and_keeps_recent_ones(leads, admin):
    run = retention.apply(_policy(admin, RetentionAction.DELETE))
    assert (run.processed, run.failed) == (2, 0)
    assert set(Lead.all_objects.values_list("first_name", flat=True)) == {"Rita", "Conrad"}
    assert not SearchEntry.objects.filter(
        object_type="sales.lead", object_id=leads["old"].pk
    ).exists()
    # Their history keeps that they existed, not who they were.
    history = AuditEntry.objects.filter(object_id=str(leads["old"].pk), content_type__model="lead")
    assert history.exists() and "Olga" not in str(list(history.values("object_repr", "changes")))


def test_apply_anonymises_once(leads, admin):
    policy = _policy(admin, RetentionAction.ANONYMISE)
    assert SearchTerm.objects.filter(term="olga").exists()
    assert retention.apply(policy).processed == 2
    old = Lead.all_objects.get(pk=leads["old"].pk)
    assert (old.first_name, old.email) == ("", "")
    entry = SearchEntry.objects.get(object_type="sales.lead", object_id=old.pk)
    assert "olga" not in entry.text
    assert not SearchTerm.objects.filter(term="olga").exists()
    assert SearchTerm.objects.filter(term="rita").exists()
    assert Lead.all_objects.get(pk=leads["recent"].pk).first_name == "Rita"
    assert retention.preview(policy).count == 0
    assert retention.apply(policy).processed == 0


def test_only_enabled_policies_run_on_schedule(leads, admin):
    policy = _policy(admin, RetentionAction.DELETE)
    run_all()
    assert Lead.all_objects.count() == 4 and not RetentionRun.objects.exists()
    RetentionPolicy.objects.filter(pk=policy.pk).update(enabled=True)
    run_all()
    assert RetentionRun.objects.get().processed == 2
    assert Lead.all_objects.count() == 2


def test_retention_command(leads, admin, capsys):
    RetentionPolicy.objects.filter(pk=_policy(admin, RetentionAction.DELETE).pk).update(
        enabled=True
    )
    call_command("retention", "--preview")
    assert "would delete 2 records" in capsys.readouterr().out
    assert Lead.all_objects.count() == 4
    call_command("retention", "--apply")
    assert "delete 2 records, 0 failed" in capsys.readouterr().out
    assert Lead.all_objects.count() == 2


def test_settings_page_saves_and_previews(leads, admin_client, alice_client):
    assert alice_client.get("/settings/privacy/").status_code == 403
    saved = admin_client.post(
        "/settings/privacy/policies/new/",
        {
            "name": "Stale leads",
            "object_type": "sales.lead",
            "condition": "not_converted",
            "action": "delete",
            "days": "730",
        },
    )
    policy = RetentionPolicy.objects.get()
    assert saved.status_code == 302 and not policy.enabled
    page = admin_client.get(f"/settings/privacy/policies/{policy.pk}/").content.decode()
    assert "Would delete 2 records now." in page and "Olga" in page and "Rita" not in page
    bad = admin_client.post(
        f"/settings/privacy/policies/{policy.pk}/",
        {
            "name": "x",
            "object_type": "activities.activity",
            "condition": "not_converted",
            "action": "delete",
            "days": "1",
        },
    )
    assert bad.status_code == 200 and "does not apply" in bad.content.decode()
    admin_client.post(f"/settings/privacy/policies/{policy.pk}/enable/", {"enabled": "1"})
    assert RetentionPolicy.objects.get().enabled
    retention.apply(RetentionPolicy.objects.get())
    page = admin_client.get(f"/settings/privacy/policies/{policy.pk}/").content.decode()
    assert 'id="retention-runs"' in page and "Would delete 0 records now." in page
    listing = admin_client.get("/settings/privacy/").content.decode()
    assert "Stale leads" in listing and "Leads not converted" in listing


def test_anonymising_contacts_erases_only_the_old_ones(as_admin, admin):
    from rapport.contacts import services as contacts
    from rapport.contacts.models import Contact
    from rapport.privacy.models import ErasureRecord

    old = contacts.contact_create(
        actor=as_admin, values={"first_name": "Cher", "email": "cher@example.com"}
    )
    namesake = contacts.contact_create(
        actor=as_admin, values={"first_name": "Cher", "last_name": "Lloyd"}
    )
    Contact.objects.filter(pk=old.pk).update(
        updated_at=timezone.now() - datetime.timedelta(days=400)
    )
    policy = RetentionPolicy.objects.create(
        name="Old contacts",
        object_type="contacts.contact",
        action="anonymise",
        days=365,
        created_by=admin,
    )
    assert [contact.pk for contact in retention.preview(policy).first] == [old.pk]

    assert retention.apply(policy).processed == 1
    assert Contact.objects.get(pk=old.pk).email == ""
    # A one-word name is not hunted across the database: the namesake keeps hers.
    assert Contact.objects.get(pk=namesake.pk).first_name == "Cher"
    assert list(ErasureRecord.objects.values_list("object_id", flat=True)) == [old.pk]
    assert retention.apply(policy).processed == 0


def test_deleting_contacts_erases_then_removes_them(as_admin, admin):
    from rapport.contacts import services as contacts
    from rapport.contacts.models import Contact
    from rapport.privacy.consent import record_consent
    from rapport.privacy.models import ConsentEvent, ErasureRecord

    old = contacts.contact_create(
        actor=as_admin,
        values={"first_name": "Olive", "last_name": "Oldham", "email": "olive@example.com"},
    )
    record_consent(
        actor=as_admin, contact=old, purpose="sms", granted=True, method="user", proof="yes"
    )
    Contact.objects.filter(pk=old.pk).update(
        updated_at=timezone.now() - datetime.timedelta(days=400)
    )
    policy = RetentionPolicy.objects.create(
        name="Old contacts",
        object_type="contacts.contact",
        action="delete",
        days=365,
        created_by=admin,
    )

    assert retention.apply(policy).processed == 1
    assert not Contact.all_objects.filter(pk=old.pk).exists()
    assert not ConsentEvent.objects.exists()
    assert ErasureRecord.objects.get().object_id == old.pk
    history = AuditEntry.objects.filter(object_id=str(old.pk), content_type__model="contact")
    assert history.filter(action="purge").exists()
    assert "Oldham" not in str(list(history.values("object_repr", "changes")))
