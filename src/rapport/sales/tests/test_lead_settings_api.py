"""The lead settings API through HTTP: web forms, scoring and routing rules, rescoring."""

from __future__ import annotations

import pytest

from rapport.core.models import Job
from rapport.sales.models import RoutingRule, ScoringRule, WebForm

JSON = "application/json"
PROBLEM = "application/problem+json"

pytestmark = pytest.mark.django_db


def fields_of(response) -> set[str | None]:
    assert response["Content-Type"] == PROBLEM, response.content
    return {error["field"] for error in response.json()["errors"]}


def test_admins_design_web_forms_through_the_api(admin_client, alice_client, bob):
    created = admin_client.post(
        "/api/v1/web-forms",
        {
            "name": "Demo request",
            "owner": bob.pk,
            "consent_text": "OK to call me",
            "fields": [
                {"target": "email", "label": "Email", "required": True},
                {"target": "phone"},
            ],
        },
        content_type=JSON,
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["owner"] == bob.pk and len(body["public_key"]) >= 20
    assert body["fields"] == [
        {"target": "email", "label": "Email", "required": True, "help_text": ""},
        {"target": "phone", "label": "Phone", "required": False, "help_text": ""},
    ]
    url = created["Location"]
    patched = admin_client.patch(
        url, {"active": False, "fields": [{"target": "company_name"}]}, content_type=JSON
    )
    assert patched.status_code == 200
    assert [f["target"] for f in patched.json()["fields"]] == ["company_name"]
    assert alice_client.get("/api/v1/web-forms").status_code == 403
    assert alice_client.patch(url, {"active": True}, content_type=JSON).status_code == 403
    bad = admin_client.post(
        "/api/v1/web-forms", {"name": "X", "fields": [{"target": "salary"}]}, content_type=JSON
    )
    assert bad.status_code == 422 and fields_of(bad) == {"fields.0.target"}
    assert admin_client.delete(url).status_code == 204
    assert not WebForm.objects.exists()


def test_admins_keep_the_rules_and_everyone_reads_them(admin_client, alice_client, east):
    scoring = admin_client.post(
        "/api/v1/lead-scoring-rules",
        {
            "name": "Directors",
            "field": "job_title",
            "operator": "contains",
            "value": "director",
            "points": 15,
        },
        content_type=JSON,
    )
    assert scoring.status_code == 201, scoring.content
    assert alice_client.get("/api/v1/lead-scoring-rules").json()[0]["name"] == "Directors"
    rule_url = scoring["Location"]
    assert admin_client.patch(rule_url, {"points": 20}, content_type=JSON).json()["points"] == 20
    assert alice_client.patch(rule_url, {"points": 1}, content_type=JSON).status_code == 403
    bad = admin_client.post(
        "/api/v1/lead-scoring-rules",
        {"name": "X", "points": 1, "operator": "equals"},
        content_type=JSON,
    )
    assert bad.status_code == 422 and fields_of(bad) == {"field", "value"}

    routing = admin_client.post(
        "/api/v1/lead-routing-rules",
        {"name": "East in turn", "countries": ["de", "fr"], "team": east.pk, "round_robin": True},
        content_type=JSON,
    )
    assert routing.status_code == 201, routing.content
    assert routing.json()["countries"] == ["DE", "FR"]
    assert alice_client.get("/api/v1/lead-routing-rules").json()[0]["team"] == east.pk
    bad = admin_client.post(
        "/api/v1/lead-routing-rules", {"name": "Y", "user": 999999}, content_type=JSON
    )
    assert bad.status_code == 422 and fields_of(bad) == {"user"}
    assert admin_client.delete(routing["Location"]).status_code == 204
    assert admin_client.delete(rule_url).status_code == 204
    assert not ScoringRule.objects.exists() and not RoutingRule.objects.exists()


def test_rescoring_starts_a_job_for_admins_only(admin_client, alice_client):
    started = admin_client.post("/api/v1/lead-scoring-rules/rescore")
    assert started.status_code == 202
    assert Job.objects.get(pk=started.json()["job"]).kind == "leads.rescore"
    assert alice_client.post("/api/v1/lead-scoring-rules/rescore").status_code == 403
