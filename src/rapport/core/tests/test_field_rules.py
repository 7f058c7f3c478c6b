"""Field rules of a role: hidden and read-only fields, and sensitive custom fields,
through the services, the API, list pages, exports and history."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError

from rapport.accounts.models import Role
from rapport.contacts import services
from rapport.contacts.models import Company, Contact
from rapport.core.customfields import customfield_create
from rapport.core.permissions import hidden_fields, read_only_fields

API = "/api/v1"


@pytest.fixture
def restricted(alice) -> Role:
    """Alice's role, but contacts' birthdays hidden and companies' revenue read-only."""
    role = Role.objects.get(slug="sales-rep")
    role.pk = None
    role.slug, role.name, role.is_system = "restricted", "Restricted", False
    role.field_rules = {
        "contacts.contact": {"birthday": "hidden"},
        "contacts.company": {"annual_revenue": "read_only"},
    }
    role.save()
    alice.role = role
    alice.save()
    return role


@pytest.fixture
def secret_field(as_admin):
    return customfield_create(
        actor=as_admin,
        content_type=ContentType.objects.get_for_model(Contact),
        key="salary",
        label="Salary",
        field_type="integer",
        sensitive=True,
    )


def test_the_rules_name_hidden_and_read_only_fields(alice, restricted, secret_field, admin):
    assert hidden_fields(alice, Contact) == {"birthday", "custom.salary"}
    assert read_only_fields(alice, Company) == {"annual_revenue"}
    # Admin roles see sensitive fields unless their rules hide them.
    assert hidden_fields(admin, Contact) == frozenset()


def test_a_role_can_show_a_sensitive_field(alice, restricted, secret_field):
    restricted.field_rules["contacts.contact"]["custom.salary"] = "read_only"
    restricted.save()
    alice.refresh_from_db()
    assert "custom.salary" not in hidden_fields(alice, Contact)
    assert "custom.salary" in read_only_fields(alice, Contact)


def test_the_service_refuses_a_change_of_a_hidden_or_read_only_field(
    alice, as_alice, restricted, secret_field
):
    contact = services.contact_create(actor=as_alice, values={"first_name": "Ada"})
    with pytest.raises(ValidationError) as error:
        services.contact_update(
            contact, actor=as_alice, values={"birthday": datetime.date(1990, 1, 2)}
        )
    assert set(error.value.message_dict) == {"birthday"}
    with pytest.raises(ValidationError) as error:
        services.contact_update(contact, actor=as_alice, custom={"salary": 10})
    assert set(error.value.message_dict) == {"custom.salary"}
    contact.refresh_from_db()
    assert contact.birthday is None and contact.version == 1
    # Creating with a value is refused the same way; other changes go through.
    with pytest.raises(ValidationError):
        services.company_create(
            actor=as_alice, values={"name": "Acme", "annual_revenue": Decimal("5")}
        )
    assert not Company.objects.exists()
    services.contact_update(contact, actor=as_alice, values={"last_name": "Lovelace"})
    contact.refresh_from_db()
    assert contact.last_name == "Lovelace"


def test_the_api_leaves_hidden_fields_out_and_refuses_writes(
    alice, alice_client, as_alice, restricted, secret_field, as_admin
):
    contact = services.contact_create(
        actor=as_admin,
        values={"first_name": "Ada", "owner": alice, "birthday": datetime.date(1990, 1, 2)},
        custom={"salary": 100},
    )
    body = alice_client.get(f"{API}/contacts/{contact.pk}").json()
    assert "birthday" not in body
    assert body["custom"] == {}
    listed = alice_client.get(f"{API}/contacts").json()["items"][0]
    assert "birthday" not in listed and "salary" not in listed["custom"]

    response = alice_client.patch(
        f"{API}/contacts/{contact.pk}", {"birthday": "2000-01-01"}, "application/json"
    )
    assert response.status_code == 422
    assert {error["field"] for error in response.json()["errors"]} == {"birthday"}
    contact.refresh_from_db()
    assert contact.birthday == datetime.date(1990, 1, 2)


def test_list_pages_offer_no_column_filter_or_sort_on_a_hidden_field(
    alice, alice_client, restricted, as_admin
):
    services.contact_create(
        actor=as_admin,
        values={"first_name": "Ada", "owner": alice, "birthday": datetime.date(1990, 1, 2)},
    )
    page = alice_client.get("/contacts/?columns=name&columns=birthday").content.decode()
    assert "1990" not in page
    assert 'value="birthday"' not in page
    assert alice_client.get("/contacts/?sort=birthday").status_code == 200
    # A filter on the hidden field is not a filter: it cannot narrow the list to tell
    # what the field holds.
    api = alice_client.get(f"{API}/contacts?sort=birthday")
    assert api.status_code in (400, 422)


def test_history_leaves_out_changes_of_hidden_fields(alice, alice_client, restricted, as_admin):
    contact = services.contact_create(actor=as_admin, values={"first_name": "Ada", "owner": alice})
    services.contact_update(
        contact, actor=as_admin, values={"birthday": datetime.date(1990, 1, 2), "last_name": "L"}
    )
    page = alice_client.get(f"/history/contacts.contact/{contact.pk}/").content.decode()
    assert "1990" not in page
    assert "Last name" in page or "last_name" in page


def test_exports_leave_hidden_columns_out(
    alice, alice_client, restricted, as_admin, django_capture_on_commit_callbacks
):
    import json

    from rapport.core.models import Job

    restricted.permissions = {**restricted.permissions, "contacts.contact": {"view": "all"}}
    restricted.permissions["contacts.contact"]["export"] = "all"
    restricted.save()
    services.contact_create(
        actor=as_admin,
        values={"first_name": "Ada", "owner": alice, "birthday": datetime.date(1990, 1, 2)},
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(
            f"{API}/exports",
            {"object_type": "contacts", "format": "jsonl", "columns": ["name", "birthday"]},
            "application/json",
        )
    assert response.status_code == 202, response.content
    job = Job.objects.get(pk=response.json()["job"])
    with job.result_file.open("rb") as handle:
        rows = [json.loads(line) for line in handle.read().decode().splitlines()]
    assert rows and all("Birthday" not in row and "birthday" not in row for row in rows)
    assert "1990" not in json.dumps(rows)


def test_forms_disable_read_only_fields_and_leave_hidden_ones_out(
    alice, alice_client, as_alice, restricted
):
    company = services.company_create(actor=as_alice, values={"name": "Acme"})
    form = alice_client.get(f"/companies/{company.pk}/edit/").context["form"]
    assert form.fields["annual_revenue"].disabled
    contact = services.contact_create(actor=as_alice, values={"first_name": "Ada"})
    form = alice_client.get(f"/contacts/{contact.pk}/edit/").context["form"]
    assert "birthday" not in form.fields
    # Inline editing: a hidden field is not there, a read-only one is not editable.
    assert alice_client.get(f"/contacts/{contact.pk}/fields/birthday/").status_code == 404
    response = alice_client.post(
        f"/companies/{company.pk}/fields/annual_revenue/",
        {"annual_revenue": "5", "version": company.version},
    )
    assert response.status_code == 403
    company.refresh_from_db()
    assert company.annual_revenue is None


def test_imports_refuse_a_mapping_to_a_field_the_role_may_not_change(admin, admin_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    admin.role.field_rules = {"contacts.contact": {"job_title": "read_only"}}
    admin.role.save()
    file = SimpleUploadedFile("people.csv", b"E-mail,Job title\nada@example.com,CEO\n")
    run = admin_client.post(f"{API}/imports", {"object_type": "contacts", "file": file}).json()
    assert "job_title" not in run["mapping"].values()

    response = admin_client.put(
        f"{API}/imports/{run['id']}/mapping",
        {"columns": {"E-mail": "email", "Job title": "job_title"}, "options": {"key": "email"}},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert "Job title" in response.content.decode()


def test_search_subtitles_show_no_hidden_field(alice, alice_client, restricted, as_admin):
    restricted.field_rules["contacts.contact"]["job_title"] = "hidden"
    restricted.save()
    services.contact_create(
        actor=as_admin, values={"first_name": "Ada", "job_title": "Treasurer", "owner": alice}
    )
    groups = alice_client.get(f"{API}/search", {"q": "Ada"}).json()["groups"]
    hits = [hit for group in groups for hit in group["hits"]]
    assert [hit["title"] for hit in hits] == ["Ada"]
    assert "Treasurer" not in hits[0]["subtitle"]


def test_an_admin_marks_a_custom_field_sensitive_on_its_page(admin_client):
    content_type = ContentType.objects.get_for_model(Contact)
    response = admin_client.post(
        "/settings/custom-fields/new/",
        {
            "content_type": content_type.pk,
            "label": "Salary",
            "key": "salary",
            "field_type": "integer",
            "sensitive": "on",
            "position": 0,
            "active": "on",
        },
    )
    assert response.status_code == 302, response.context and response.context["form"].errors
    from rapport.core.models import CustomFieldDefinition

    assert CustomFieldDefinition.objects.get(key="salary").sensitive


def test_a_hidden_deal_amount_is_absent_with_what_derives_from_it(
    alice, alice_client, restricted, as_alice
):
    from rapport.sales import deals

    restricted.field_rules["sales.deal"] = {"amount": "hidden"}
    restricted.save()
    alice.refresh_from_db()
    # The services still compute what derives from the amount when the role writes.
    deal = deals.deal_create(actor=as_alice, values={"name": "Fleet"})
    body = alice_client.get(f"{API}/deals/{deal.pk}").json()
    assert body["name"] == "Fleet"
    assert "amount" not in body and "amount_base" not in body
    page = alice_client.get(f"/deals/{deal.pk}/").content.decode()
    assert "Fleet" in page
    response = alice_client.patch(f"{API}/deals/{deal.pk}", {"amount": "5"}, "application/json")
    assert response.status_code == 422
    assert (
        alice_client.patch(
            f"{API}/deals/{deal.pk}", {"name": "Fleet 2"}, "application/json"
        ).status_code
        == 200
    )


def test_the_activity_forms_leave_hidden_fields_out(alice, alice_client, as_alice, restricted):
    restricted.field_rules["activities.activity"] = {"location": "hidden"}
    restricted.save()
    contact = services.contact_create(actor=as_alice, values={"first_name": "Ada"})
    url = f"/timeline/contacts.contact/{contact.pk}/log/meeting/"
    form = alice_client.get(url, headers={"HX-Request": "true"}).context["form"]
    assert "location" not in form.fields and "subject" in form.fields
