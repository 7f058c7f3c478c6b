"""Admin pages of lead capture: web forms (with their embed snippet), scoring rules
(and rescoring every lead in the background) and routing rules. Thin: parse a form,
call ``sales.webforms`` / ``sales.scoring`` / ``sales.routing``, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.core.actors import Actor
from rapport.core.forms import apply_service_errors
from rapport.sales import routing, scoring, webforms
from rapport.sales.lead_fields import target_label
from rapport.sales.lead_forms import (
    RoutingRuleForm,
    ScoringRuleForm,
    WebFormFieldFormSet,
    WebFormForm,
    field_rows,
)
from rapport.sales.models import RoutingRule, ScoringRule, WebForm
from rapport.web.decorators import admin_required

# Web forms


@admin_required
def webform_list(request: HttpRequest) -> HttpResponse:
    forms = WebForm.objects.annotate(submission_count=Count("submissions")).order_by("name")
    return render(request, "sales/leads/webform_list.html", {"web_forms": forms})


def _formset_errors(formset: Any, error: ValidationError) -> None:
    """Put a service's ``fields.N.name`` errors on the formset's row N."""
    rows = [form for form in formset.forms if form.cleaned_data.get("target")]
    rows = [form for form in rows if not form.cleaned_data.get("DELETE")]
    for key, messages_ in error.message_dict.items():
        parts = key.split(".")
        if parts[0] != "fields":
            continue
        if len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(rows):
            row = rows[int(parts[1])]
            for message in messages_:
                row.add_error(parts[2] if parts[2] in row.fields else None, message)
        else:
            for message in messages_:
                formset.forms[0].add_error(None, message)


def _embed_snippet(request: HttpRequest, web_form: WebForm) -> str:
    url = request.build_absolute_uri(reverse("sales:webform_public", args=[web_form.public_key]))
    title = escape(web_form.title or web_form.name)
    return f'<iframe src="{escape(url)}" title="{title}" width="100%" height="640"></iframe>'


def _webform_page(
    request: HttpRequest, web_form: WebForm | None, form: WebFormForm, formset: Any
) -> HttpResponse:
    context: dict[str, Any] = {"web_form": web_form, "form": form, "formset": formset}
    if web_form is not None:
        context["public_url"] = request.build_absolute_uri(
            reverse("sales:webform_public", args=[web_form.public_key])
        )
        context["api_url"] = request.build_absolute_uri(
            reverse("api:webform_submission", args=[web_form.public_key])
        )
        context["embed_snippet"] = _embed_snippet(request, web_form)
        context["submissions"] = web_form.submissions.select_related("lead")[:20]
    return render(request, "sales/leads/webform_form.html", context)


def _save_webform(request: HttpRequest, web_form: WebForm | None) -> HttpResponse:
    initial_fields = (
        [
            {"target": f.target, "label": f.label, "required": f.required, "help_text": f.help_text}
            for f in web_form.fields.all()
        ]
        if web_form is not None
        else [{"target": "email", "label": _("Email"), "required": True}]
    )
    form = WebFormForm(request.POST or None, web_form=web_form)
    formset = WebFormFieldFormSet(request.POST or None, initial=initial_fields, prefix="fields")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        actor = Actor.for_request(request)
        try:
            if web_form is None:
                web_form = webforms.webform_create(
                    actor=actor, values=form.values(), fields=field_rows(formset)
                )
            else:
                web_form = webforms.webform_update(
                    web_form, actor=actor, values=form.values(), fields=field_rows(formset)
                )
        except ValidationError as error:
            apply_service_errors(form, error)
            _formset_errors(formset, error)
        else:
            messages.success(request, _("Web form saved."))
            return redirect(web_form)
    return _webform_page(request, web_form, form, formset)


@admin_required
def webform_create(request: HttpRequest) -> HttpResponse:
    return _save_webform(request, None)


@admin_required
def webform_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _save_webform(request, get_object_or_404(WebForm, pk=pk))


@admin_required
def webform_delete(request: HttpRequest, pk: int) -> HttpResponse:
    web_form = get_object_or_404(WebForm, pk=pk)
    if request.method == "POST":
        webforms.webform_delete(web_form, actor=Actor.for_request(request))
        messages.success(request, _("Web form deleted."))
        return redirect("sales:webform_list")
    return render(
        request,
        "web/confirm_delete.html",
        {
            "title": _("Delete web form “%(name)s”?") % {"name": web_form.name},
            "explanation": _(
                "Its page and endpoint stop working at once. The leads it created stay."
            ),
            "cancel_url": web_form.get_absolute_url(),
        },
    )


# Scoring rules


def _describe_scoring(rule: ScoringRule) -> str:
    if rule.engagement:
        text = str(rule.get_engagement_display())
        if rule.max_times:
            text += " " + _("(at most %(n)d times)") % {"n": rule.max_times}
        return text
    condition = f"{target_label(rule.field)} {rule.get_operator_display()}"
    return f"{condition} “{rule.value}”" if rule.value else condition


@admin_required
def scoring_rule_list(request: HttpRequest) -> HttpResponse:
    rules = [
        {"rule": rule, "condition": _describe_scoring(rule)}
        for rule in ScoringRule.objects.order_by("position", "id")
    ]
    return render(request, "sales/leads/scoring_rule_list.html", {"rules": rules})


def _save_scoring_rule(request: HttpRequest, rule: ScoringRule | None) -> HttpResponse:
    form = ScoringRuleForm(request.POST or None, rule=rule)
    if request.method == "POST" and form.is_valid():
        actor = Actor.for_request(request)
        try:
            if rule is None:
                scoring.scoring_rule_create(actor=actor, values=form.values())
            else:
                scoring.scoring_rule_update(rule, actor=actor, values=form.values())
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request, _("Rule saved. Every lead is being rescored in the background.")
            )
            return redirect("sales:scoring_rule_list")
    return render(
        request, "sales/leads/rule_form.html", {"form": form, "rule": rule, "kind": "scoring"}
    )


@admin_required
def scoring_rule_create(request: HttpRequest) -> HttpResponse:
    return _save_scoring_rule(request, None)


@admin_required
def scoring_rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _save_scoring_rule(request, get_object_or_404(ScoringRule, pk=pk))


@admin_required
@require_POST
def scoring_rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    scoring.scoring_rule_delete(
        get_object_or_404(ScoringRule, pk=pk), actor=Actor.for_request(request)
    )
    messages.success(request, _("Rule deleted. Every lead is being rescored in the background."))
    return redirect("sales:scoring_rule_list")


@admin_required
@require_POST
def rescore_leads(request: HttpRequest) -> HttpResponse:
    job = scoring.rescore_all(actor=Actor.for_request(request))
    messages.success(request, _("The scores are being recomputed in the background."))
    return redirect("core:job_detail", pk=job.pk)


# Routing rules


def _describe_routing(rule: RoutingRule) -> dict[str, str]:
    conditions = []
    if rule.countries:
        conditions.append(_("country in %(codes)s") % {"codes": ", ".join(rule.countries)})
    if rule.field:
        conditions.append(f"{target_label(rule.field)} = “{rule.value}”")
    if rule.round_robin:
        target = _("each member of %(team)s in turn") % {"team": rule.team}
    else:
        target = str(rule.user or rule.team)
    return {"when": " · ".join(conditions) or _("every lead"), "to": target}


@admin_required
def routing_rule_list(request: HttpRequest) -> HttpResponse:
    rules = [
        {"rule": rule, **_describe_routing(rule)}
        for rule in RoutingRule.objects.select_related("user", "team").order_by("position", "id")
    ]
    return render(request, "sales/leads/routing_rule_list.html", {"rules": rules})


def _save_routing_rule(request: HttpRequest, rule: RoutingRule | None) -> HttpResponse:
    form = RoutingRuleForm(request.POST or None, rule=rule)
    if request.method == "POST" and form.is_valid():
        actor = Actor.for_request(request)
        try:
            if rule is None:
                routing.routing_rule_create(actor=actor, values=form.values())
            else:
                routing.routing_rule_update(rule, actor=actor, values=form.values())
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("Rule saved."))
            return redirect("sales:routing_rule_list")
    return render(
        request, "sales/leads/rule_form.html", {"form": form, "rule": rule, "kind": "routing"}
    )


@admin_required
def routing_rule_create(request: HttpRequest) -> HttpResponse:
    return _save_routing_rule(request, None)


@admin_required
def routing_rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _save_routing_rule(request, get_object_or_404(RoutingRule, pk=pk))


@admin_required
@require_POST
def routing_rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    routing.routing_rule_delete(
        get_object_or_404(RoutingRule, pk=pk), actor=Actor.for_request(request)
    )
    messages.success(request, _("Rule deleted."))
    return redirect("sales:routing_rule_list")
