"""Admins edit roles through the permission matrix; built-in and held roles stay."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.test import Client

from rapport.accounts import services
from rapport.accounts.forms import record_object_types
from rapport.accounts.models import ACTIONS, Role, User
from rapport.accounts.services import role_create, role_update
from rapport.contacts.models import Contact
from rapport.core.actors import Actor
from rapport.core.customfields import customfield_create

pytestmark = pytest.mark.django_db

SPECIMEN = "testing.specimen"


def matrix_data(grants: dict[str, dict[str, str]]) -> dict[str, str]:
    """The cells a browser posts for ``grants``: rows not given repeat "All other records"."""
    others = grants.get("*", every("none"))
    rows = {object_type: others for object_type, _label in record_object_types()}
    return {
        f"grant-{object_type}-{action}": scope
        for object_type, actions in ({"*": others} | rows | grants).items()
        for action, scope in actions.items()
    }


def every(scope: str) -> dict[str, str]:
    return dict.fromkeys(ACTIONS, scope)


def test_record_object_types_come_from_the_installed_apps() -> None:
    assert (SPECIMEN, "Specimens") in record_object_types()


def test_role_list_marks_built_in_roles(admin_client: Client, as_admin: Actor) -> None:
    role_create(actor=as_admin, name="Auditor")

    html = admin_client.get("/settings/roles/").content.decode()

    assert html.count("Built-in") == Role.objects.filter(is_system=True).count()
    assert "Auditor" in html


def test_role_editor_shows_a_matrix_of_object_types_and_actions(admin_client: Client) -> None:
    rep = Role.objects.get(slug="sales-rep")

    html = admin_client.get(f"/settings/roles/{rep.pk}/").content.decode()

    assert "All other records" in html
    assert SPECIMEN in html
    assert html.count('<select name="grant-') == len(ACTIONS) * (1 + len(record_object_types()))
    assert 'name="grant-*-view" aria-label="All other records: View"' in html
    # A type without its own grants shows what it gets from "All other records".
    assert f'<select name="grant-{SPECIMEN}-view"' in html
    specimen_view = html.split(f'name="grant-{SPECIMEN}-view"', 1)[1].split("</select>", 1)[0]
    assert '<option value="team" selected>' in specimen_view


def test_saving_the_matrix_stores_the_grants(admin_client: Client, as_admin: Actor) -> None:
    role = role_create(actor=as_admin, name="Specimen keeper")
    specimen = every("own") | {"view": "all"}

    response = admin_client.post(
        f"/settings/roles/{role.pk}/",
        {
            "name": "Specimen keeper",
            "description": "Looks after specimens",
            **matrix_data({"*": every("none"), SPECIMEN: specimen}),
        },
    )

    assert response.status_code == 302
    role.refresh_from_db()
    assert role.permissions == {"*": every("none"), SPECIMEN: specimen}
    assert role.description == "Looks after specimens"
    assert role.scope_for(SPECIMEN, "view") == "all"


def test_a_row_equal_to_all_other_records_keeps_following_it(
    admin_client: Client, as_admin: Actor
) -> None:
    role = role_create(
        actor=as_admin,
        name="Reader",
        permissions={"*": every("all"), SPECIMEN: every("own"), "gone.model": every("all")},
    )

    admin_client.post(
        f"/settings/roles/{role.pk}/",
        {"name": "Reader", **matrix_data({"*": every("team"), SPECIMEN: every("team")})},
    )

    role.refresh_from_db()
    assert role.permissions == {"*": every("team"), "gone.model": every("all")}


def test_admin_creates_a_role_with_the_matrix(admin_client: Client) -> None:
    response = admin_client.post(
        "/settings/roles/new/",
        {
            "name": "Intern",
            **matrix_data({"*": every("none"), SPECIMEN: every("none") | {"view": "own"}}),
        },
    )

    assert response.status_code == 302
    intern = Role.objects.get(name="Intern")
    assert intern.permissions[SPECIMEN]["view"] == "own"
    assert not intern.is_admin


def test_an_unknown_scope_is_a_form_error(admin_client: Client, as_admin: Actor) -> None:
    role = role_create(actor=as_admin, name="Tampered", permissions={"*": every("none")})

    response = admin_client.post(
        f"/settings/roles/{role.pk}/",
        {
            "name": "Tampered",
            **matrix_data({"*": every("none") | {"view": "everything"}, SPECIMEN: every("none")}),
        },
    )

    assert response.status_code == 200
    assert "Unknown scope everything." in response.content.decode()
    role.refresh_from_db()
    assert role.permissions == {"*": every("none")}


def test_a_built_in_role_keeps_its_name(admin_client: Client) -> None:
    rep = Role.objects.get(slug="sales-rep")

    response = admin_client.post(
        f"/settings/roles/{rep.pk}/",
        {
            "name": "Renamed",
            "is_admin": "on",
            **matrix_data({"*": every("own"), SPECIMEN: every("own")}),
        },
    )

    assert response.status_code == 302
    rep.refresh_from_db()
    assert (rep.name, rep.is_admin) == ("Sales rep", False)
    assert rep.permissions == {"*": every("own")}


def test_a_built_in_role_cannot_be_deleted(admin_client: Client) -> None:
    rep = Role.objects.get(slug="sales-rep")

    response = admin_client.post(f"/settings/roles/{rep.pk}/delete/")

    assert response.status_code == 200
    assert "Built-in roles cannot be deleted." in response.content.decode()
    assert Role.objects.filter(pk=rep.pk).exists()


def test_a_role_someone_holds_cannot_be_deleted(
    admin_client: Client, as_admin: Actor, alice: User
) -> None:
    role = role_create(actor=as_admin, name="Held")
    alice.role = role
    alice.save()

    response = admin_client.post(f"/settings/roles/{role.pk}/delete/")

    assert "Move the users who hold this role to another role first." in response.content.decode()
    assert Role.objects.filter(pk=role.pk).exists()


def test_admin_deletes_an_unused_role(admin_client: Client, as_admin: Actor) -> None:
    role = role_create(actor=as_admin, name="Unused")

    assert (
        "Delete the role Unused?"
        in admin_client.get(f"/settings/roles/{role.pk}/delete/").content.decode()
    )
    response = admin_client.post(f"/settings/roles/{role.pk}/delete/")

    assert response.status_code == 302
    assert not Role.objects.filter(pk=role.pk).exists()


def test_the_last_admin_role_keeps_its_admin_flag(as_admin, admin) -> None:
    custom = services.role_create(actor=as_admin, name="Owners", is_admin=True)
    services.user_update(admin, actor=as_admin, role=custom)

    with pytest.raises(ValidationError) as error:
        services.role_update(custom, actor=as_admin, is_admin=False)

    assert "is_admin" in error.value.message_dict
    custom.refresh_from_db()
    assert custom.is_admin


def test_the_role_editor_sets_field_rules(admin_client: Client, as_admin) -> None:
    content_type = ContentType.objects.get_for_model(Contact)
    customfield_create(
        actor=as_admin,
        content_type=content_type,
        key="salary",
        label="Salary",
        field_type="integer",
        sensitive=True,
    )
    rep = Role.objects.get(slug="sales-rep")
    page = admin_client.get(f"/settings/roles/{rep.pk}/")
    form = page.context["field_rules"]
    # Every field a rule may name, per object type; sensitive custom fields start hidden.
    assert 'name="field-contacts.contact-birthday"' in page.content.decode()
    assert form["field-contacts.contact-custom.salary"].value() == "hidden"
    data = {name: field.initial for name, field in page.context["matrix"].fields.items()}
    data |= {name: field.initial for name, field in form.fields.items()}
    data |= {"name": rep.name, "description": rep.description}
    data["field-contacts.company-annual_revenue"] = "read_only"
    data["field-contacts.contact-birthday"] = "hidden"
    data["field-contacts.contact-custom.salary"] = "normal"

    response = admin_client.post(f"/settings/roles/{rep.pk}/", data)

    assert response.status_code == 302, response.context and response.context["form"].errors
    rep.refresh_from_db()
    assert rep.field_rules == {
        "contacts.company": {"annual_revenue": "read_only"},
        "contacts.contact": {"birthday": "hidden", "custom.salary": "normal"},
    }


def test_field_rules_naming_unknown_fields_are_refused(as_admin) -> None:
    rep = Role.objects.get(slug="sales-rep")
    with pytest.raises(ValidationError) as error:
        role_update(rep, actor=as_admin, field_rules={"contacts.contact": {"nope": "hidden"}})
    assert "field_rules" in error.value.message_dict
    with pytest.raises(ValidationError):
        role_update(rep, actor=as_admin, field_rules={"contacts.contact": {"email": "secret"}})
    rep.refresh_from_db()
    assert rep.field_rules == {}
