"""Trash, history, audit browser and custom field settings, through HTTP."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client

from rapport.core import services
from rapport.core.actors import Actor
from rapport.core.customfields import customfield_create
from rapport.core.models import CustomFieldDefinition
from rapport.testing.models import Specimen

SPECIMEN = "testing.specimen"


@pytest.fixture
def trashed(as_alice) -> Specimen:
    specimen = services.record_create(Specimen, actor=as_alice, values={"name": "Old deal <b>"})
    return services.record_delete(specimen, actor=as_alice)


def test_trash_lists_what_the_user_may_restore_escaped(alice_client, trashed):
    page = alice_client.get("/trash/", {"type": SPECIMEN})

    assert page.status_code == 200
    assert "Old deal &lt;b&gt;" in page.content.decode()
    assert "Delete for good" not in page.content.decode()


def test_trash_hides_records_of_other_teams(charlie, trashed):
    client = Client()
    client.force_login(charlie)

    assert "Old deal" not in client.get("/trash/", {"type": SPECIMEN}).content.decode()
    assert client.post(f"/trash/{SPECIMEN}/{trashed.pk}/restore/").status_code == 404


def test_restore_from_the_trash(alice_client, trashed):
    response = alice_client.post(f"/trash/{SPECIMEN}/{trashed.pk}/restore/")

    assert response.status_code == 302
    assert Specimen.objects.filter(pk=trashed.pk).exists()


def test_only_admins_purge(alice_client, admin_client, trashed):
    assert alice_client.post(f"/trash/{SPECIMEN}/{trashed.pk}/purge/").status_code == 403

    assert admin_client.post(f"/trash/{SPECIMEN}/{trashed.pk}/purge/").status_code == 302
    assert not Specimen.all_objects.filter(pk=trashed.pk).exists()


def test_trash_rejects_a_forged_cursor_and_unknown_types(alice_client, trashed):
    assert alice_client.get("/trash/", {"type": SPECIMEN, "cursor": "forged"}).status_code == 400
    assert alice_client.get("/trash/", {"type": "accounts.user"}).status_code == 404


def test_trash_pages_cost_the_same_however_full(
    alice_client, as_alice, django_assert_max_num_queries
):
    for number in range(30):
        specimen = services.record_create(Specimen, actor=as_alice, values={"name": f"S{number}"})
        services.record_delete(specimen, actor=as_alice)

    with django_assert_max_num_queries(12):
        page = alice_client.get("/trash/", {"type": SPECIMEN})
    assert page.content.decode().count("Restore") == 30


def test_history_shows_field_changes_with_names(alice_client, as_alice, bob):
    specimen = services.record_create(Specimen, actor=as_alice, values={"name": "Acme"})
    services.record_update(specimen, actor=as_alice, values={"name": "Acme Ltd", "owner": bob})

    body = alice_client.get(f"/history/{SPECIMEN}/{specimen.pk}/").content.decode()

    assert "Acme Ltd" in body
    assert "Bob" in body  # the owner by name, not by id
    assert "Created" in body and "Updated" in body


def test_history_of_a_hidden_record_is_404(charlie, as_alice):
    specimen = services.record_create(Specimen, actor=as_alice, values={"name": "Acme"})
    client = Client()
    client.force_login(charlie)

    assert client.get(f"/history/{SPECIMEN}/{specimen.pk}/").status_code == 404
    assert client.get(f"/history/accounts.team/{specimen.pk}/").status_code == 404
    assert client.get("/history/no.such/1/").status_code == 404


def test_history_tab_component_renders_recent_changes(as_alice):
    from django.template import Context, Template

    specimen = services.record_create(Specimen, actor=as_alice, values={"name": "Acme"})
    for number in range(12):
        services.record_update(specimen, actor=as_alice, values={"name": f"Acme {number}"})

    html = Template("{% load history %}{% history_tab record %}").render(
        Context({"record": specimen})
    )

    assert html.count("history-entry") == 10
    assert "All changes" in html


def test_audit_browser_filters_and_is_for_admins(admin_client, alice_client, as_alice, as_admin):
    specimen = services.record_create(Specimen, actor=as_alice, values={"name": "By Alice"})
    services.record_create(Specimen, actor=as_admin, values={"name": "By Admin"})

    assert alice_client.get("/settings/audit/").status_code == 403
    everything = admin_client.get("/settings/audit/").content.decode()
    assert "By Alice" in everything and "By Admin" in everything

    mine = admin_client.get("/settings/audit/", {"actor": as_alice.user.pk}).content.decode()
    assert "By Alice" in mine and "By Admin" not in mine

    one = admin_client.get(
        "/settings/audit/", {"object_type": SPECIMEN, "object_id": specimen.pk, "action": "create"}
    ).content.decode()
    assert "By Alice" in one and "By Admin" not in one


def test_audit_browser_reports_bad_filters_without_failing(admin_client):
    page = admin_client.get("/settings/audit/", {"since": "yesterday", "action": "explode"})

    assert page.status_code == 200
    assert "Enter a valid date." in page.content.decode()


def test_audit_browser_query_count_is_bounded(
    admin_client, as_alice, django_assert_max_num_queries
):
    for number in range(40):
        services.record_create(Specimen, actor=as_alice, values={"name": f"S{number}"})

    with django_assert_max_num_queries(14):
        assert admin_client.get("/settings/audit/").status_code == 200


def test_admin_adds_edits_and_deletes_a_custom_field(admin_client):
    specimen_type = ContentType.objects.get_for_model(Specimen)
    response = admin_client.post(
        "/settings/custom-fields/new/",
        {
            "content_type": specimen_type.pk,
            "label": "Tier",
            "key": "tier",
            "field_type": "choice",
            "choices": "gold\nsilver\n",
            "default": "silver",
            "position": 0,
            "active": "on",
        },
    )
    assert response.status_code == 302
    field = CustomFieldDefinition.objects.get(key="tier")
    assert field.choices == ["gold", "silver"]

    response = admin_client.post(
        f"/settings/custom-fields/{field.pk}/",
        {"label": "Value tier", "choices": "gold\nsilver", "position": 1, "active": "on"},
    )
    assert response.status_code == 302
    field.refresh_from_db()
    assert (field.label, field.key, field.field_type) == ("Value tier", "tier", "choice")

    assert admin_client.post(f"/settings/custom-fields/{field.pk}/delete/").status_code == 302
    assert not CustomFieldDefinition.objects.exists()


def test_custom_field_form_shows_service_errors(admin_client, as_admin):
    specimen_type = ContentType.objects.get_for_model(Specimen)
    customfield_create(
        actor=as_admin, content_type=specimen_type, key="tier", label="Tier", field_type="text"
    )

    page = admin_client.post(
        "/settings/custom-fields/new/",
        {
            "content_type": specimen_type.pk,
            "label": "Tier",
            "key": "tier",
            "field_type": "choice",
            "position": 0,
        },
    )

    assert page.status_code == 200
    body = page.content.decode()
    assert "already has a field with this key" in body
    assert "List at least one choice." in body
    assert CustomFieldDefinition.objects.count() == 1


def test_custom_field_settings_are_for_admins(alice_client):
    assert alice_client.get("/settings/custom-fields/").status_code == 403
    assert alice_client.post("/settings/custom-fields/new/", {}).status_code == 403


def test_a_record_write_through_the_api_source_is_recorded_as_such(alice):
    specimen = services.record_create(
        Specimen, actor=Actor(alice, "api"), values={"name": "Via API"}
    )
    from rapport.core.models import AuditEntry

    assert AuditEntry.objects.get(object_id=str(specimen.pk)).source == "api"


def test_history_of_a_team_shows_membership_changes(admin_client, as_admin, alice, bob):
    from rapport.accounts import services as accounts

    team = accounts.team_create(actor=as_admin, name="North", members=[alice])
    accounts.team_update(team, actor=as_admin, members=[alice, bob])

    page = admin_client.get(f"/history/accounts.team/{team.pk}/")
    assert page.status_code == 200
    assert "members" in page.content.decode()
    assert admin_client.get("/settings/audit/", {"object_type": "accounts.team"}).status_code == 200


def test_ids_that_cannot_exist_are_404_not_errors(admin_client):
    assert admin_client.get("/history/accounts.team/abc/").status_code == 404
    assert admin_client.get(f"/history/{SPECIMEN}/abc/").status_code == 404
    assert admin_client.post(f"/trash/{SPECIMEN}/abc/restore/").status_code == 404
    assert admin_client.post(f"/trash/{SPECIMEN}/abc/purge/").status_code == 404
