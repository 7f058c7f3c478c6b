"""API for leads (CRUD, filters, ETag/If-Match, conversion, their form submissions) and
the public web form submission endpoint. Thin: schemas → ``sales.leads`` /
``sales.webforms`` / ``sales.lead_queries``.

A lead the caller may not see answers 404; one they may see but not change, 403. The
web form endpoint needs no authentication and answers 429 with ``Retry-After`` past
the form's rate limit.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import Query, Router
from ninja.responses import Status

from rapport.accounts.models import Team, User
from rapport.core.api import (
    EXCEPTION_HANDLERS,
    IF_MATCH,
    IF_NONE_MATCH,
    PageOut,
    PageParams,
    Problem,
    actor,
    created,
    current_user,
    objects_by_ids,
    paginate,
    problem,
    problems,
    trashed,
)
from rapport.core.client_ip import client_ip
from rapport.core.etag import conditional_read, expected_version, set_etag
from rapport.core.permissions import get_visible_or_404
from rapport.core.throttle import Throttled
from rapport.sales import lead_queries, leads, webforms
from rapport.sales.lead_schemas import (
    ConvertIn,
    ConvertOut,
    LeadFilters,
    LeadIn,
    LeadOut,
    LeadPatch,
    SubmissionAccepted,
    SubmissionOut,
)
from rapport.sales.models import Lead

router = Router(tags=["leads"])


def _visible_lead(request: HttpRequest, lead_id: int) -> Lead:
    return get_visible_or_404(Lead.objects.all(), current_user(request), pk=lead_id)


def _lead_arguments(data: dict[str, Any]) -> dict[str, Any]:
    """Service arguments from a body: owner and team ids become a user and a team."""
    arguments: dict[str, Any] = {}
    if "custom" in data:
        arguments["custom"] = data.pop("custom")
    if data.get("owner") is not None:
        users = User.objects.filter(is_active=True)
        data["owner"] = objects_by_ids(users, [data["owner"]], field="owner")[0]
    if data.get("team") is not None:
        data["team"] = objects_by_ids(Team.objects.all(), [data["team"]], field="team")[0]
    arguments["values"] = data
    return arguments


@router.get("/leads", response={200: PageOut[LeadOut], **problems(400, 422)})
def lead_list(
    request: HttpRequest,
    response: HttpResponse,
    filters: Query[LeadFilters],
    page: Query[PageParams],
) -> dict:
    """The leads you may see, filtered and sorted as the leads page does."""
    filterset, ordering = lead_queries.lead_list(current_user(request), request.GET)
    return paginate(request, response, filterset.qs, ordering=ordering, params=page)


@router.post("/leads", response={201: LeadOut, **problems(403, 422)})
def lead_create(request: HttpRequest, response: HttpResponse, payload: LeadIn) -> Status:
    """Capture a lead; without an owner, the routing rules choose one (else you)."""
    data = payload.model_dump(exclude_unset=True)
    lead = leads.lead_create(actor=actor(request), **_lead_arguments(data))
    return created(response, lead, "api:lead_detail", lead_id=lead.pk)


@router.get(
    "/leads/{int:lead_id}",
    response={200: LeadOut, 304: None, **problems(404)},
    openapi_extra=IF_NONE_MATCH,
)
def lead_detail(request: HttpRequest, response: HttpResponse, lead_id: int) -> object:
    """One lead with its score explanation and ETag; If-None-Match gives 304 when unchanged."""
    return conditional_read(request, response, _visible_lead(request, lead_id))


@router.patch(
    "/leads/{int:lead_id}",
    response={200: LeadOut, **problems(400, 403, 404, 412, 422)},
    openapi_extra=IF_MATCH,
)
def lead_update(
    request: HttpRequest, response: HttpResponse, lead_id: int, payload: LeadPatch
) -> Lead:
    """Change a lead's fields (a converted lead stays as it was). Honours If-Match."""
    lead = leads.lead_update(
        _visible_lead(request, lead_id),
        actor=actor(request),
        expected_version=expected_version(request),
        **_lead_arguments(payload.model_dump(exclude_unset=True)),
    )
    set_etag(response, lead)
    return lead


@router.delete(
    "/leads/{int:lead_id}",
    response={204: None, **problems(400, 403, 404, 412)},
    openapi_extra=IF_MATCH,
)
def lead_delete(request: HttpRequest, lead_id: int) -> Status:
    """Move a lead to the trash. Honours If-Match."""
    return trashed(request, leads.lead_delete, _visible_lead(request, lead_id))


@router.post(
    "/leads/{int:lead_id}/convert",
    response={200: ConvertOut, **problems(400, 403, 404, 412, 422)},
    openapi_extra=IF_MATCH,
)
def lead_convert(
    request: HttpRequest, response: HttpResponse, lead_id: int, payload: ConvertIn
) -> dict:
    """Turn the lead into a contact (an existing one or new), a company (existing, new or
    none) and optionally a deal, in one go; its timeline follows. A lead converts once
    (422 after). Honours If-Match."""
    data = payload.model_dump(exclude_unset=True)
    deal = data.get("deal")
    conversion = leads.lead_convert(
        _visible_lead(request, lead_id),
        actor=actor(request),
        contact=data.get("contact"),
        company=data.get("company"),
        create_company=data.get("create_company", True),
        deal={key: value for key, value in deal.items() if value is not None}
        if deal is not None
        else None,
        expected_version=expected_version(request),
    )
    set_etag(response, conversion.lead)
    return {
        "lead": conversion.lead,
        "contact": conversion.contact.pk,
        "company": conversion.company.pk if conversion.company else None,
        "deal": conversion.deal.pk if conversion.deal else None,
        "contact_created": conversion.contact_created,
        "company_created": conversion.company_created,
    }


@router.get(
    "/leads/{int:lead_id}/submissions",
    response={200: PageOut[SubmissionOut], **problems(400, 404, 422)},
)
def lead_submissions(
    request: HttpRequest, response: HttpResponse, lead_id: int, page: Query[PageParams]
) -> dict:
    """The web form submissions of the lead, latest first, with the consent given."""
    submissions = lead_queries.submissions_of(_visible_lead(request, lead_id))
    return paginate(request, response, submissions, ordering=["-id"], params=page)


# The public endpoint of web forms

SUBMISSIONS_PATH = "/web-forms/{key}/submissions"
SUBMISSION_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "additionalProperties": True,
                    "example": {
                        "email": "ada@example.com",
                        "custom_budget": "50k",
                        "consent": True,
                    },
                }
            }
        },
    }
}


def _open_to_any_site(response: HttpResponse) -> HttpResponse:
    """Let scripts on any site send the form (CORS): the endpoint takes no credentials."""
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _submitted_data(request: HttpRequest) -> dict[str, Any]:
    """The answers: a JSON object, or form fields (a plain HTML form posting here)."""
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return request.POST.dict()
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ValidationError(_("Send the answers as a JSON object."))
    return data


@router.post(
    SUBMISSIONS_PATH,
    auth=None,
    # No sign-in, so no 401.
    response={201: SubmissionAccepted, 404: Problem, 422: Problem, 429: Problem},
    openapi_extra=SUBMISSION_BODY,
)
def webform_submission(request: HttpRequest, key: str) -> HttpResponse:
    """Submit a web form without signing in, from a server or a script on any site (CORS
    allowed): a JSON object of the form's fields by input name (``email``,
    ``custom_budget``…) and ``consent`` (true when the box is ticked). Past the form's
    rate limit per address: 429 with Retry-After."""
    client = webforms.Client(
        ip=client_ip(request),
        user_agent=request.headers.get("User-Agent", ""),
        page_url=request.headers.get("Referer", ""),
    )
    try:
        form = webforms.active_form(key)
        webforms.webform_submit(form, data=_submitted_data(request), client=client)
    except Throttled as throttled:
        answer = problem(
            request,
            429,
            _("Too many submissions"),
            detail=_("Wait a minute before sending this form again."),
        )
        answer["Retry-After"] = str(throttled.retry_after)
        return _open_to_any_site(answer)
    except (ValidationError, Http404) as error:
        handle = EXCEPTION_HANDLERS[
            ValidationError if isinstance(error, ValidationError) else Http404
        ]
        return _open_to_any_site(handle(request, error))
    accepted = {"message": form.thank_you_message, "redirect_url": form.redirect_url or None}
    return _open_to_any_site(JsonResponse(accepted, status=201))


@router.api_operation(["OPTIONS"], SUBMISSIONS_PATH, auth=None, include_in_schema=False)
def webform_submission_preflight(request: HttpRequest, key: str) -> HttpResponse:
    """The browser's CORS preflight before a script posts JSON from another site."""
    answer = HttpResponse(status=204)
    answer["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    answer["Access-Control-Allow-Headers"] = "Content-Type"
    answer["Access-Control-Max-Age"] = "86400"
    return _open_to_any_site(answer)
