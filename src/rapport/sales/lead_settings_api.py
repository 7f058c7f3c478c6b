"""API for the lead settings: web forms (admins), scoring rules and routing rules (read
by every signed-in user, changed by admins) and rescoring every lead. Thin: schemas →
``sales.webforms`` / ``sales.scoring`` / ``sales.routing``."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Query, Router
from ninja.responses import Status

from rapport.accounts.models import Team, User
from rapport.core.api import (
    PageOut,
    PageParams,
    actor,
    created,
    current_user,
    objects_by_ids,
    paginate,
    problems,
)
from rapport.core.permissions import require_admin
from rapport.sales import routing, scoring, webforms
from rapport.sales.lead_schemas import (
    JobStarted,
    RoutingRuleIn,
    RoutingRuleOut,
    RoutingRulePatch,
    ScoringRuleIn,
    ScoringRuleOut,
    ScoringRulePatch,
    WebFormIn,
    WebFormOut,
    WebFormPatch,
)
from rapport.sales.models import RoutingRule, ScoringRule, WebForm

router = Router(tags=["lead settings"])


def _people(data: dict[str, Any], user_field: str) -> dict[str, Any]:
    """``data`` with its user and team ids as a user and a team."""
    if data.get(user_field) is not None:
        users = User.objects.filter(is_active=True)
        data[user_field] = objects_by_ids(users, [data[user_field]], field=user_field)[0]
    if data.get("team") is not None:
        data["team"] = objects_by_ids(Team.objects.all(), [data["team"]], field="team")[0]
    return data


def _without_unset_position(data: dict[str, Any]) -> dict[str, Any]:
    if data.get("position") is None:
        data.pop("position", None)
    return data


# Web forms


def _web_form(form_id: int) -> WebForm:
    return get_object_or_404(WebForm.objects.prefetch_related("fields"), pk=form_id)


@router.get("/web-forms", response={200: PageOut[WebFormOut], **problems(400, 403, 422)})
def webform_list(request: HttpRequest, response: HttpResponse, page: Query[PageParams]) -> dict:
    """Every web form, by id (admins)."""
    require_admin(current_user(request))
    forms = WebForm.objects.prefetch_related("fields")
    return paginate(request, response, forms, ordering=["id"], params=page)


@router.post("/web-forms", response={201: WebFormOut, **problems(403, 422)})
def webform_create(request: HttpRequest, response: HttpResponse, payload: WebFormIn) -> Status:
    """Add a web form with its fields (admins); its public key is made for it."""
    data = _people(payload.model_dump(), "owner")
    fields = data.pop("fields")
    form = webforms.webform_create(actor=actor(request), values=data, fields=fields)
    return created(response, _web_form(form.pk), "api:webform_detail", form_id=form.pk)


@router.get("/web-forms/{int:form_id}", response={200: WebFormOut, **problems(403, 404)})
def webform_detail(request: HttpRequest, form_id: int) -> WebForm:
    require_admin(current_user(request))
    return _web_form(form_id)


@router.patch("/web-forms/{int:form_id}", response={200: WebFormOut, **problems(403, 404, 422)})
def webform_update(request: HttpRequest, form_id: int, payload: WebFormPatch) -> WebForm:
    """Change a form's settings; ``fields``, when given, replaces all its fields (admins)."""
    data = _people(payload.model_dump(exclude_unset=True), "owner")
    fields = data.pop("fields", None)
    form = webforms.webform_update(
        _web_form(form_id), actor=actor(request), values=data, fields=fields
    )
    return _web_form(form.pk)


@router.delete("/web-forms/{int:form_id}", response={204: None, **problems(403, 404)})
def webform_delete(request: HttpRequest, form_id: int) -> Status:
    """Delete a form (admins); the leads it made stay."""
    webforms.webform_delete(_web_form(form_id), actor=actor(request))
    return Status(204, None)


# Scoring rules


@router.get("/lead-scoring-rules", response={200: list[ScoringRuleOut], **problems()})
def scoring_rule_list(request: HttpRequest) -> models.QuerySet:
    """Every scoring rule, in order."""
    return ScoringRule.objects.order_by("position", "id")


@router.post("/lead-scoring-rules", response={201: ScoringRuleOut, **problems(403, 422)})
def scoring_rule_create(
    request: HttpRequest, response: HttpResponse, payload: ScoringRuleIn
) -> Status:
    """Add a rule (admins). Existing leads follow once rescored (see /rescore)."""
    data = _without_unset_position(payload.model_dump())
    rule = scoring.scoring_rule_create(actor=actor(request), values=data)
    return created(response, rule, "api:scoring_rule_detail", rule_id=rule.pk)


@router.get("/lead-scoring-rules/{int:rule_id}", response={200: ScoringRuleOut, **problems(404)})
def scoring_rule_detail(request: HttpRequest, rule_id: int) -> ScoringRule:
    return get_object_or_404(ScoringRule, pk=rule_id)


@router.patch(
    "/lead-scoring-rules/{int:rule_id}", response={200: ScoringRuleOut, **problems(403, 404, 422)}
)
def scoring_rule_update(
    request: HttpRequest, rule_id: int, payload: ScoringRulePatch
) -> ScoringRule:
    return scoring.scoring_rule_update(
        get_object_or_404(ScoringRule, pk=rule_id),
        actor=actor(request),
        values=payload.model_dump(exclude_unset=True),
    )


@router.delete("/lead-scoring-rules/{int:rule_id}", response={204: None, **problems(403, 404)})
def scoring_rule_delete(request: HttpRequest, rule_id: int) -> Status:
    scoring.scoring_rule_delete(get_object_or_404(ScoringRule, pk=rule_id), actor=actor(request))
    return Status(204, None)


@router.post("/lead-scoring-rules/rescore", response={202: JobStarted, **problems(403)})
def rescore_leads(request: HttpRequest) -> Status:
    """Recompute every lead's score in the background (admins)."""
    job = scoring.rescore_all(actor=actor(request))
    return Status(202, {"job": str(job.pk), "status": job.status})


# Routing rules


@router.get("/lead-routing-rules", response={200: list[RoutingRuleOut], **problems()})
def routing_rule_list(request: HttpRequest) -> models.QuerySet:
    """Every routing rule, in the order they are tried."""
    return RoutingRule.objects.order_by("position", "id")


@router.post("/lead-routing-rules", response={201: RoutingRuleOut, **problems(403, 422)})
def routing_rule_create(
    request: HttpRequest, response: HttpResponse, payload: RoutingRuleIn
) -> Status:
    """Add a rule (admins), last unless ``position`` says where."""
    data = _people(_without_unset_position(payload.model_dump()), "user")
    rule = routing.routing_rule_create(actor=actor(request), values=data)
    return created(response, rule, "api:routing_rule_detail", rule_id=rule.pk)


@router.get("/lead-routing-rules/{int:rule_id}", response={200: RoutingRuleOut, **problems(404)})
def routing_rule_detail(request: HttpRequest, rule_id: int) -> RoutingRule:
    return get_object_or_404(RoutingRule, pk=rule_id)


@router.patch(
    "/lead-routing-rules/{int:rule_id}", response={200: RoutingRuleOut, **problems(403, 404, 422)}
)
def routing_rule_update(
    request: HttpRequest, rule_id: int, payload: RoutingRulePatch
) -> RoutingRule:
    return routing.routing_rule_update(
        get_object_or_404(RoutingRule, pk=rule_id),
        actor=actor(request),
        values=_people(payload.model_dump(exclude_unset=True), "user"),
    )


@router.delete("/lead-routing-rules/{int:rule_id}", response={204: None, **problems(403, 404)})
def routing_rule_delete(request: HttpRequest, rule_id: int) -> Status:
    routing.routing_rule_delete(get_object_or_404(RoutingRule, pk=rule_id), actor=actor(request))
    return Status(204, None)
