"""/companies and /contacts through HTTP: CRUD, ETag and If-Match, problems, expand."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client

from rapport.contacts import services
from rapport.contacts.models import Company, Contact, Employment
from rapport.core.actors import Actor
from rapport.core.customfields import customfield_create
from rapport.core.models import AuditEntry, Source

API = "/api/v1"


@pytest.fixture
def charlie_client(charlie) -> Client:
    client = Client()
    client.force_login(charlie)
    return client


@pytest.fixture
def bob_client(bob) -> Client:
    client = Client()
    client.force_login(bob)
    return client


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    return response.json()


def error_fields(body: dict) -> set[str | None]:
    return {error["field"] for error in body["errors"]}


def post(client: Client, path: str, body: dict, **headers):
    return client.post(f"{API}{path}", body, "application/json", headers=headers)


def patch(client: Client, path: str, body: dict, **headers):
    return client.patch(f"{API}{path}", body, "application/json", headers=headers)


# Contacts


def test_create_and_read_a_contact(alice_client, alice, as_admin):
    vip = services.tag_create(actor=as_admin, name="VIP", color="#ff0000")
    acme = services.company_create(
        actor=Actor(user=alice, source=Source.UI), values={"name": "Acme"}
    )

    response = post(
        alice_client,
        "/contacts",
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "emails": [{"email": "ADA@example.com"}, {"email": "ada@home.example"}],
            "phones": [{"number": "(202) 555-0143", "kind": "mobile"}],
            "company": acme.pk,
            "job_title": "Analyst",
            "tags": [vip.pk],
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert response["ETag"] == 'W/"1"'
    assert response["Location"] == f"{API}/contacts/{body['id']}"
    assert (body["full_name"], body["email"], body["phone"]) == (
        "Ada Lovelace",
        "ada@example.com",
        "+12025550143",
    )
    assert body["phones"] == [{"number": "+12025550143", "kind": "mobile", "is_primary": True}]
    assert (body["company"], body["owner"], body["source"]) == (acme.pk, alice.pk, "api")
    assert body["tags"] == [{"id": vip.pk, "name": "VIP", "color": "#ff0000"}]
    entry = AuditEntry.objects.get(
        content_type__model="contact", object_id=str(body["id"]), action="create"
    )
    assert entry.source == "api"
    assert alice_client.get(response["Location"]).json() == body


def test_expand_company(alice_client, as_alice):
    acme = services.company_create(actor=as_alice, values={"name": "Acme", "domain": "acme.com"})
    contact = services.contact_create(actor=as_alice, values={"first_name": "Ada", "company": acme})

    plain = alice_client.get(f"{API}/contacts/{contact.pk}").json()
    expanded = alice_client.get(f"{API}/contacts/{contact.pk}?expand=company").json()
    listed = alice_client.get(f"{API}/contacts?expand=company").json()

    assert plain["company"] == acme.pk
    assert expanded["company"] == {"id": acme.pk, "name": "Acme", "domain": "acme.com"}
    assert listed["items"][0]["company"] == expanded["company"]
    assert_problem(alice_client.get(f"{API}/contacts?expand=owner"), 422)


def test_expand_shows_only_the_id_of_a_company_the_caller_cannot_see(bob_client, as_alice, charlie):
    west = services.company_create(
        actor=Actor(user=charlie, source=Source.UI), values={"name": "West Co"}
    )
    contact = services.contact_create(actor=as_alice, values={"first_name": "Ada"})
    Contact.objects.filter(pk=contact.pk).update(company=west)

    body = bob_client.get(f"{API}/contacts/{contact.pk}?expand=company").json()

    assert body["company"] == west.pk


def test_patch_with_if_match(alice_client, as_alice):
    contact = services.contact_create(actor=as_alice, values={"first_name": "Ada"})
    url = f"/contacts/{contact.pk}"

    changed = patch(alice_client, url, {"last_name": "Lovelace"}, **{"If-Match": 'W/"1"'})
    stale = patch(alice_client, url, {"last_name": "Byron"}, **{"If-Match": 'W/"1"'})

    assert changed.status_code == 200, changed.content
    assert (changed.json()["last_name"], changed["ETag"]) == ("Lovelace", 'W/"2"')
    body = assert_problem(stale, 412)
    assert body["current_version"] == 2
    contact.refresh_from_db()
    assert contact.last_name == "Lovelace"


def test_patch_replaces_only_the_lists_given(alice_client, as_alice):
    contact = services.contact_create(
        actor=as_alice,
        values={"first_name": "Ada"},
        emails=[{"email": "a@example.com"}],
        phones=[{"number": "+12025550143"}],
    )

    body = patch(
        alice_client, f"/contacts/{contact.pk}", {"phones": [{"number": "+44 20 7946 0958"}]}
    ).json()

    assert body["emails"] == [{"email": "a@example.com", "kind": "work", "is_primary": True}]
    assert body["phone"] == "+442079460958"


def test_company_change_through_the_api_keeps_the_work_history(alice_client, as_alice):
    acme = services.company_create(actor=as_alice, values={"name": "Acme"})
    globex = services.company_create(actor=as_alice, values={"name": "Globex"})
    contact = services.contact_create(actor=as_alice, values={"first_name": "Ada", "company": acme})

    patch(alice_client, f"/contacts/{contact.pk}", {"company": globex.pk})

    assert list(
        Employment.objects.filter(contact=contact)
        .order_by("id")
        .values_list("company_id", "is_current")
    ) == [(acme.pk, False), (globex.pk, True)]


def test_etag_and_if_none_match(alice_client, as_alice):
    contact = services.contact_create(actor=as_alice, values={"first_name": "Ada"})
    url = f"{API}/contacts/{contact.pk}"

    first = alice_client.get(url)
    again = alice_client.get(url, headers={"If-None-Match": first["ETag"]})

    assert first["ETag"] == 'W/"1"'
    assert (again.status_code, again.content) == (304, b"")


def test_delete_with_stale_if_match_is_refused(alice_client, as_alice):
    contact = services.contact_create(actor=as_alice, values={"first_name": "Ada"})
    url = f"{API}/contacts/{contact.pk}"

    assert_problem(alice_client.delete(url, headers={"If-Match": 'W/"7"'}), 412)
    assert alice_client.delete(url, headers={"If-Match": 'W/"1"'}).status_code == 204
    assert Contact.all_objects.get(pk=contact.pk).is_deleted
    assert_problem(alice_client.get(url), 404)


def test_validation_problems_name_the_fields(alice_client, as_admin):
    customfield_create(
        actor=as_admin,
        content_type=ContentType.objects.get_for_model(Contact),
        key="score",
        label="Score",
        field_type="integer",
    )

    body = assert_problem(
        post(
            alice_client,
            "/contacts",
            {
                "first_name": "Ada",
                "emails": [{"email": "nope"}],
                "phones": [{"number": "12"}],
                "social_profiles": [{"url": "not a url"}],
                "custom": {"score": "many", "unknown": 1},
            },
        ),
        422,
    )

    assert error_fields(body) == {
        "emails.0.email",
        "phones.0.number",
        "social_profiles.0.url",
        "custom.score",
        "custom.unknown",
    }
    assert not Contact.all_objects.exists()


def test_shape_errors_are_422_too(alice_client):
    body = assert_problem(
        post(alice_client, "/contacts", {"first_name": "Ada", "emails": [{"kind": "work"}]}), 422
    )

    assert error_fields(body) == {"emails.0.email"}


def test_explicit_null_is_refused_where_it_means_nothing(alice_client, as_alice):
    contact = services.contact_create(actor=as_alice, values={"first_name": "Ada"})

    body = assert_problem(patch(alice_client, f"/contacts/{contact.pk}", {"first_name": None}), 422)

    assert error_fields(body) == {"first_name"}


def test_hidden_records_are_404(charlie_client, as_alice):
    contact = services.contact_create(actor=as_alice, values={"first_name": "Ada"})
    company = services.company_create(actor=as_alice, values={"name": "Acme"})

    for path in (f"/contacts/{contact.pk}", f"/companies/{company.pk}"):
        assert_problem(charlie_client.get(f"{API}{path}"), 404)
        assert_problem(patch(charlie_client, path, {"description": "x"}), 404)
        assert_problem(charlie_client.delete(f"{API}{path}"), 404)
    contact.refresh_from_db()
    assert not contact.is_deleted


def test_visible_but_not_editable_is_403(bob_client, as_alice):
    contact = services.contact_create(actor=as_alice, values={"first_name": "Ada"})

    assert bob_client.get(f"{API}/contacts/{contact.pk}").status_code == 200
    assert_problem(patch(bob_client, f"/contacts/{contact.pk}", {"first_name": "Bob"}), 403)


def test_unknown_tag_is_a_field_error(alice_client):
    body = assert_problem(post(alice_client, "/contacts", {"first_name": "A", "tags": [999]}), 422)

    assert error_fields(body) == {"tags"}


# Companies


def test_company_crud(alice_client, as_alice):
    parent = services.company_create(actor=as_alice, values={"name": "Holding"})

    created = post(
        alice_client,
        "/companies",
        {
            "name": "Acme",
            "domain": "https://www.acme.com/",
            "annual_revenue": "2500000.00",
            "currency": "usd",
            "parent": parent.pk,
            "addresses": [{"kind": "billing", "city": "Boston", "country": "US"}],
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["domain"], body["currency"], body["parent"]) == ("acme.com", "USD", parent.pk)
    assert body["annual_revenue"] == "2500000.00"
    assert body["addresses"][0]["city"] == "Boston"

    url = f"/companies/{body['id']}"
    updated = patch(alice_client, url, {"value_tier": "key"}, **{"If-Match": created["ETag"]})
    assert (updated.status_code, updated.json()["value_tier"]) == (200, "key")
    assert alice_client.delete(f"{API}{url}").status_code == 204
    assert Company.all_objects.get(pk=body["id"]).is_deleted


def test_bad_company_values(alice_client):
    body = assert_problem(
        post(
            alice_client,
            "/companies",
            {"name": "Acme", "currency": "EURO", "website": "http://exa mple", "domain": "x"},
        ),
        422,
    )

    assert error_fields(body) == {"currency", "website", "domain"}
    assert not Company.all_objects.exists()


def test_openapi_documents_filters_and_custom(alice_client):
    schema = alice_client.get(f"{API}/openapi.json").json()

    parameters = {
        parameter["name"] for parameter in schema["paths"][f"{API}/contacts"]["get"]["parameters"]
    }
    assert {"q", "tag", "owner", "list", "created_after", "sort", "custom__{key}"} <= parameters
    contact_schema = schema["components"]["schemas"]["ContactOut"]
    assert "GET /custom-fields" in contact_schema["properties"]["custom"]["description"]
