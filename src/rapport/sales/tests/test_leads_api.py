"""The leads API through HTTP: CRUD with ETags, filters and keyset pages, conversion,
submissions; bad input as problems naming the field; what others may see."""

from __future__ import annotations

import pytest

from rapport.contacts.models import Contact
from rapport.sales import scoring
from rapport.sales.leads import lead_create
from rapport.sales.models import Lead
from rapport.sales.tests.conftest import client_for
from rapport.sales.tests.test_webforms import answers, make_form

PROBLEM = "application/problem+json"
JSON = "application/json"

pytestmark = pytest.mark.django_db


def fields_of(response) -> set[str | None]:
    assert response["Content-Type"] == PROBLEM, response.content
    return {error["field"] for error in response.json()["errors"]}


def test_create_read_update_and_delete_a_lead(alice_client, alice, as_admin):
    scoring.scoring_rule_create(
        actor=as_admin,
        values={
            "name": "Germany",
            "field": "country",
            "operator": "equals",
            "value": "de",
            "points": 10,
        },
    )
    created = alice_client.post(
        "/api/v1/leads",
        {
            "first_name": "Ada",
            "email": "ADA@example.com",
            "country": "de",
            "phone": "+49 30 1234567",
        },
        content_type=JSON,
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["email"], body["country"], body["owner"], body["score"]) == (
        "ada@example.com",
        "DE",
        alice.pk,
        10,
    )
    assert body["score_explanation"] == [
        {"rule": body["score_explanation"][0]["rule"], "name": "Germany", "points": 10, "times": 1}
    ]
    url = created["Location"]
    assert url == f"/api/v1/leads/{body['id']}" and created["ETag"] == 'W/"1"'
    read = alice_client.get(url)
    assert alice_client.get(url, HTTP_IF_NONE_MATCH=read["ETag"]).status_code == 304
    patched = alice_client.patch(
        url, {"status": "qualified"}, content_type=JSON, HTTP_IF_MATCH=read["ETag"]
    )
    assert patched.status_code == 200 and patched.json()["status"] == "qualified"
    assert patched["ETag"] == 'W/"2"'
    stale = alice_client.patch(
        url, {"job_title": "X"}, content_type=JSON, HTTP_IF_MATCH=read["ETag"]
    )
    assert stale.status_code == 412
    assert alice_client.delete(url, HTTP_IF_MATCH='W/"2"').status_code == 204
    assert alice_client.get(url).status_code == 404


def test_bad_input_is_a_problem_naming_each_field(alice_client):
    response = alice_client.post(
        "/api/v1/leads",
        {"email": "nope", "country": "XY", "phone": "1", "status": "unqualified"},
        content_type=JSON,
    )
    assert response.status_code == 422
    assert fields_of(response) == {"email", "country", "phone"}
    response = alice_client.post(
        "/api/v1/leads", {"email": "a@example.com", "score": 100}, content_type=JSON
    )
    assert response.status_code == 422 and fields_of(response) == {"score"}
    response = alice_client.post(
        "/api/v1/leads",
        {"email": "a@example.com", "status": "unqualified"},
        content_type=JSON,
    )
    assert fields_of(response) == {"disqualification_reason"}
    assert not Lead.objects.exists()


def test_others_see_what_their_role_allows(as_alice, bob, charlie):
    lead = lead_create(actor=as_alice, values={"email": "a@example.com"})
    url = f"/api/v1/leads/{lead.pk}"
    assert client_for(bob).get(url).status_code == 200
    assert client_for(bob).patch(url, {"job_title": "X"}, content_type=JSON).status_code == 403
    assert client_for(charlie).get(url).status_code == 404
    assert client_for(charlie).get("/api/v1/leads").json()["items"] == []


def test_the_list_filters_sorts_and_pages_in_constant_queries(
    alice_client, as_alice, django_assert_max_num_queries
):
    for n in range(7):
        lead_create(
            actor=as_alice,
            values={
                "email": f"p{n}@example.com",
                "country": "DE" if n % 2 else "FR",
                "status": "qualified" if n < 3 else "new",
            },
        )
    # (8: one reads the sensitive custom fields the role hides, one counts the call
    # against the rate limit.)
    with django_assert_max_num_queries(8):
        first = alice_client.get("/api/v1/leads", {"limit": 3})
    body = first.json()
    assert [item["email"] for item in body["items"]] == [
        "p6@example.com",
        "p5@example.com",
        "p4@example.com",
    ]
    with django_assert_max_num_queries(8):
        second = alice_client.get("/api/v1/leads", {"limit": 3, "cursor": body["next_cursor"]})
    assert [item["email"] for item in second.json()["items"]] == [
        "p3@example.com",
        "p2@example.com",
        "p1@example.com",
    ]

    def emails(**params) -> list[str]:
        return [item["email"] for item in alice_client.get("/api/v1/leads", params).json()["items"]]

    assert emails(country="de", sort="created_at") == [
        "p1@example.com",
        "p3@example.com",
        "p5@example.com",
    ]
    assert emails(status=["qualified"], sort="created_at") == [
        f"p{n}@example.com" for n in range(3)
    ]
    assert emails(q="p4") == ["p4@example.com"]
    bad = alice_client.get("/api/v1/leads", {"sort": "salary"})
    assert bad.status_code == 422 and fields_of(bad) == {"sort"}


def test_convert_through_the_api_once(alice_client, as_alice):
    lead = lead_create(
        actor=as_alice,
        values={"first_name": "Ada", "email": "ada@example.com", "company_name": "Engines"},
    )
    url = f"/api/v1/leads/{lead.pk}/convert"
    response = alice_client.post(
        url, {"deal": {"name": "Engines deal", "amount": "500"}}, content_type=JSON
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["lead"]["status"] == "converted"
    assert body["contact"] == Contact.objects.get().pk and body["deal"] is not None
    assert body["contact_created"] and body["company_created"]
    again = alice_client.post(url, {}, content_type=JSON)
    assert again.status_code == 422
    assert "already" in again.json()["errors"][0]["message"]
    bad = alice_client.post(url, {"deal": {"colour": "red"}}, content_type=JSON)
    assert bad.status_code == 422


def test_a_leads_submissions_are_listed(alice_client, as_admin, alice):
    form = make_form(as_admin, owner=alice)
    client = client_for(alice)
    client.post(f"/f/{form.public_key}/", answers())
    lead = Lead.objects.get()
    response = alice_client.get(f"/api/v1/leads/{lead.pk}/submissions")
    assert response.status_code == 200
    [item] = response.json()["items"]
    assert item["form_name"] == "Contact us" and item["consent_given"] is True
    assert item["data"]["company_name"] == "Engines"
