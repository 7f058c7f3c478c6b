"""Web forms: designing them, the public page and JSON endpoint, the honeypot, consent,
attaching to a known lead, and the rate limit."""

from __future__ import annotations

import datetime
import json

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from rapport.core.models import CustomFieldDefinition, ThrottleCounter
from rapport.core.throttle import Throttled, forget_old_counters
from rapport.sales import routing, scoring, webforms
from rapport.sales.models import Lead, WebForm, WebFormSubmission

CONSENT_TEXT = "I agree that Rapport Ltd keeps my details to answer me."


def make_form(actor, **values) -> WebForm:
    fields = values.pop(
        "fields",
        [
            {"target": "first_name", "label": "First name"},
            {"target": "last_name", "label": "Last name"},
            {"target": "email", "label": "Work email", "required": True},
            {"target": "company_name", "label": "Company"},
            {"target": "country", "label": "Country"},
            {"target": "description", "label": "How can we help?"},
        ],
    )
    return webforms.webform_create(
        actor=actor,
        values={
            "name": "Contact us",
            "title": "Talk to sales",
            "consent_text": CONSENT_TEXT,
            "consent_required": True,
            "thank_you_message": "Thanks, we will call you.",
            **values,
        },
        fields=fields,
    )


@pytest.fixture
def web_form(as_admin) -> WebForm:
    return make_form(as_admin)


def answers(**overrides) -> dict[str, str]:
    return {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "Ada@Example.com",
        "company_name": "Engines",
        "country": "gb",
        "description": "Pricing please",
        "consent": "1",
        **overrides,
    }


def page_url(form: WebForm) -> str:
    return f"/f/{form.public_key}/"


def api_url(form: WebForm) -> str:
    return f"/api/v1/web-forms/{form.public_key}/submissions"


def from_address(ip: str) -> Client:
    return Client(REMOTE_ADDR=ip)


# Designing


def test_only_admins_design_forms_and_the_fields_are_checked(as_alice, as_admin):
    with pytest.raises(PermissionDenied):
        make_form(as_alice)
    with pytest.raises(ValidationError) as caught:
        make_form(as_admin, fields=[{"target": "salary"}, {"target": "job_title"}])
    assert set(caught.value.message_dict) == {"fields.0.target"}
    with pytest.raises(ValidationError) as caught:
        make_form(as_admin, fields=[{"target": "job_title"}])
    assert set(caught.value.message_dict) == {"fields"}
    with pytest.raises(ValidationError) as caught:
        make_form(as_admin, consent_text="", consent_required=True)
    assert "consent_text" in caught.value.message_dict
    assert not WebForm.objects.exists()


def test_the_admin_page_shows_the_embed_snippet_and_saves_fields(admin_client, web_form):
    response = admin_client.get(f"/settings/web-forms/{web_form.pk}/")
    assert response.status_code == 200
    assert f"/f/{web_form.public_key}/" in response.content.decode()
    assert "&lt;iframe" in response.content.decode()
    data = {
        "name": "Contact us",
        "active": "on",
        "source": "web_form",
        "rate_limit": "5",
        "consent_text": "",
        "fields-TOTAL_FORMS": "2",
        "fields-INITIAL_FORMS": "0",
        "fields-0-target": "email",
        "fields-0-label": "Email",
        "fields-0-required": "on",
        "fields-1-target": "phone",
        "fields-1-label": "Phone",
    }
    response = admin_client.post(f"/settings/web-forms/{web_form.pk}/", data)
    assert response.status_code == 302
    web_form.refresh_from_db()
    assert [f.target for f in web_form.fields.all()] == ["email", "phone"]
    assert web_form.rate_limit == 5


def test_reps_cannot_open_the_settings(alice_client, web_form):
    assert alice_client.get("/settings/web-forms/").status_code == 403
    assert alice_client.get("/settings/lead-scoring/").status_code == 403
    assert alice_client.get("/settings/lead-routing/").status_code == 403


# The public page


def test_the_public_page_is_embeddable_and_has_no_inline_script(web_form):
    response = from_address("203.0.113.1").get(page_url(web_form))
    assert response.status_code == 200
    html = response.content.decode()
    assert "X-Frame-Options" not in response.headers
    assert "<script" not in html and " onclick=" not in html and "style=" not in html
    assert 'name="fax_number"' in html and CONSENT_TEXT in html and "Work email" in html


def test_a_submission_creates_a_scored_lead_with_the_consent(web_form, as_admin, admin):
    scoring.scoring_rule_create(
        actor=as_admin,
        values={"name": "Filled a form", "engagement": "form_submission", "points": 12},
    )
    response = from_address("203.0.113.1").post(
        page_url(web_form), answers(), HTTP_USER_AGENT="Firefox", HTTP_REFERER="https://x.example/"
    )
    assert response.status_code == 200
    assert "Thanks, we will call you." in response.content.decode()
    lead = Lead.objects.get()
    assert (lead.email, lead.country, lead.source, lead.owner) == (
        "ada@example.com",
        "GB",
        "web_form",
        admin,
    )
    assert lead.score == 12
    submission = WebFormSubmission.objects.get()
    assert submission.lead == lead and submission.created_lead
    assert submission.consent_given and submission.consent_text == CONSENT_TEXT
    assert submission.data["email"] == "Ada@Example.com"
    assert (submission.ip_address, submission.user_agent, submission.page_url) == (
        "203.0.113.1",
        "Firefox",
        "https://x.example/",
    )


def test_the_same_email_joins_the_live_lead_and_rescores_it(web_form, as_admin):
    scoring.scoring_rule_create(
        actor=as_admin,
        values={"name": "Each form", "engagement": "form_submission", "points": 10},
    )
    visitor = from_address("203.0.113.1")
    visitor.post(page_url(web_form), answers())
    visitor.post(page_url(web_form), answers(email="ada@example.com", description="Again"))
    lead = Lead.objects.get()
    assert lead.score == 20
    assert [s.created_lead for s in lead.submissions.order_by("id")] == [True, False]


def test_missing_fields_and_consent_are_named_and_nothing_is_kept(web_form):
    response = from_address("203.0.113.1").post(page_url(web_form), answers(email="", consent=""))
    assert response.status_code == 422
    html = response.content.decode()
    assert "This field is required." in html and "Tick the box to agree." in html
    assert 'value="Engines"' in html  # what was typed stays
    response = from_address("203.0.113.1").post(page_url(web_form), answers(email="nope"))
    assert response.status_code == 422
    assert not Lead.objects.exists() and not WebFormSubmission.objects.exists()


def test_a_filled_honeypot_is_thanked_and_forgotten(web_form):
    response = from_address("203.0.113.1").post(
        page_url(web_form), answers(fax_number="+1 555 0100")
    )
    assert response.status_code == 200
    assert "Thanks, we will call you." in response.content.decode()
    assert not Lead.objects.exists() and not WebFormSubmission.objects.exists()


def test_a_redirect_url_sends_the_visitor_on(as_admin):
    web_form = make_form(as_admin, redirect_url="https://example.com/thanks")
    response = from_address("203.0.113.1").post(page_url(web_form), answers())
    assert response.status_code == 302
    assert response["Location"] == "https://example.com/thanks"


def test_inactive_and_unknown_forms_are_not_found(web_form, as_admin):
    webforms.webform_update(web_form, actor=as_admin, values={"active": False})
    assert from_address("203.0.113.1").get(page_url(web_form)).status_code == 404
    assert from_address("203.0.113.1").post(page_url(web_form), answers()).status_code == 404
    assert from_address("203.0.113.1").get("/f/nothing-here/").status_code == 404


def test_the_form_owner_or_the_routing_rules_get_the_lead(as_admin, bob, charlie, east):
    routing.routing_rule_create(
        actor=as_admin, values={"name": "UK", "countries": ["GB"], "user": bob}
    )
    routed = make_form(as_admin)
    assigned = make_form(as_admin, name="Partners", owner=charlie, team=east)
    from_address("203.0.113.1").post(page_url(routed), answers(email="one@example.com"))
    from_address("203.0.113.2").post(page_url(assigned), answers(email="two@example.com"))
    assert Lead.objects.get(email="one@example.com").owner == bob
    second = Lead.objects.get(email="two@example.com")
    assert (second.owner, second.team, second.routing_rule) == (charlie, east, None)


# The JSON endpoint


def test_the_api_takes_json_without_signing_in(web_form):
    client = from_address("198.51.100.7")
    response = client.post(api_url(web_form), answers(), content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json() == {"message": "Thanks, we will call you.", "redirect_url": None}
    assert Lead.objects.get().email == "ada@example.com"


def test_the_api_names_bad_fields_as_a_problem(web_form):
    response = from_address("198.51.100.7").post(
        api_url(web_form), answers(email="bad", consent=False), content_type="application/json"
    )
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert {error["field"] for error in response.json()["errors"]} == {"email", "consent"}
    response = from_address("198.51.100.7").post(
        "/api/v1/web-forms/unknown/submissions", answers(), content_type="application/json"
    )
    assert response.status_code == 404
    assert not Lead.objects.exists()


# The rate limit


@pytest.fixture
def one_minute(monkeypatch) -> datetime.datetime:
    """Stop the clock at ten seconds past a minute, so a test's requests all fall in one
    rate-limit window however long it runs."""
    now = timezone.now().replace(second=10, microsecond=0)
    monkeypatch.setattr(timezone, "now", lambda: now)
    return now


@pytest.mark.parametrize("door", ["page", "api"])
def test_the_eleventh_submission_in_a_minute_gets_429(web_form, door, one_minute):
    client = from_address("192.0.2.10")

    def send(n: int):
        data = answers(email=f"p{n}@example.com")
        if door == "page":
            return client.post(page_url(web_form), data)
        return client.post(api_url(web_form), json.dumps(data), content_type="application/json")

    statuses = [send(n).status_code for n in range(10)]
    assert set(statuses) == {200 if door == "page" else 201}
    refused = send(10)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "50"
    assert Lead.objects.count() == 10
    # Another address is not held up.
    other = from_address("192.0.2.11").post(page_url(web_form), answers(email="x@example.com"))
    assert other.status_code == 200


def test_the_counter_starts_again_each_minute(web_form):
    start = timezone.now().replace(second=5, microsecond=0)
    for _ in range(10):
        webforms.throttle(web_form, "192.0.2.1", now=start)
    with pytest.raises(Throttled) as caught:
        webforms.throttle(web_form, "192.0.2.1", now=start + datetime.timedelta(seconds=40))
    assert caught.value.retry_after == 15
    webforms.throttle(web_form, "192.0.2.1", now=start + datetime.timedelta(seconds=60))


def test_a_flood_costs_one_statement_a_request_and_slows_no_one_else(
    web_form, one_minute, django_assert_max_num_queries
):
    flooder = from_address("192.0.2.66")
    for n in range(10):
        flooder.post(page_url(web_form), answers(email=f"f{n}@example.com"))
    for _ in range(200):
        # Finding the form, then one upsert of the counter: nothing more for a refused one.
        with django_assert_max_num_queries(2):
            response = flooder.post(
                api_url(web_form), json.dumps(answers()), content_type="application/json"
            )
        assert response.status_code == 429
    assert ThrottleCounter.objects.count() == 1
    assert ThrottleCounter.objects.get().hits == 210
    ok = from_address("192.0.2.67").post(page_url(web_form), answers(email="calm@example.com"))
    assert ok.status_code == 200
    assert Lead.objects.count() == 11


def test_old_counters_are_forgotten(web_form):
    long_ago = timezone.now() - datetime.timedelta(days=2)
    webforms.throttle(web_form, "192.0.2.1", now=long_ago)
    webforms.throttle(web_form, "192.0.2.1")
    assert forget_old_counters() == 1
    assert ThrottleCounter.objects.count() == 1


def test_an_error_no_input_shows_is_shown_above_the_form(web_form):
    CustomFieldDefinition.objects.create(
        content_type=ContentType.objects.get_for_model(Lead),
        key="budget",
        label="Budget",
        field_type="text",
        required=True,
    )
    response = from_address("203.0.113.1").post(page_url(web_form), answers())
    assert response.status_code == 422
    assert "Budget is required." in response.content.decode()
    assert not Lead.objects.exists() and not WebFormSubmission.objects.exists()


def test_scripts_on_any_site_may_post_and_every_answer_says_so(web_form):
    client = from_address("198.51.100.8")
    preflight = client.options(
        api_url(web_form),
        HTTP_ORIGIN="https://shop.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight["Access-Control-Allow-Methods"]
    assert preflight["Access-Control-Allow-Headers"] == "Content-Type"
    sent = client.post(api_url(web_form), answers(), content_type="application/json")
    refused = client.post(api_url(web_form), answers(email=""), content_type="application/json")
    unknown = client.post(
        "/api/v1/web-forms/unknown/submissions", answers(), content_type="application/json"
    )
    assert [sent.status_code, refused.status_code, unknown.status_code] == [201, 422, 404]
    for answer in (sent, refused, unknown):
        assert answer["Access-Control-Allow-Origin"] == "*"


def test_a_plain_html_form_may_post_and_bad_json_is_refused(web_form):
    client = from_address("198.51.100.9")
    sent = client.post(api_url(web_form), answers())  # form-encoded, as an HTML form sends it
    assert sent.status_code == 201 and Lead.objects.get().email == "ada@example.com"
    for body in ("{not json", "[1, 2]"):
        bad = client.post(api_url(web_form), body, content_type="application/json")
        assert bad.status_code == 422
        assert bad.json()["errors"] == [
            {"field": None, "message": "Send the answers as a JSON object."}
        ]
