"""Lead pages: the list, a lead's 360 page, its form, deletion and conversion. Thin:
parse a form, call ``sales.leads`` or ``sales.lead_queries``, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.contacts.columns import plain
from rapport.core.actors import Actor
from rapport.core.customfields import definitions_for
from rapport.core.exceptions import VersionConflict
from rapport.core.forms import apply_field_rules, apply_service_errors, call_service
from rapport.core.pagination import keyset_page
from rapport.core.permissions import can, can_create, get_visible_or_404, mask_hidden_fields
from rapport.sales import lead_queries, leads
from rapport.sales.lead_forms import ConvertForm, LeadForm
from rapport.sales.models import Lead, LeadSource, LeadStatus

PAGE_SIZE = 50
SUBMISSIONS_SHOWN = 10
FILTER_PARAMS = ("q", "status", "source", "country", "score_min", "score_max", "owner")
CONFLICT_MESSAGE = gettext_lazy(
    "Someone else changed this lead since you opened it. Reload the page to see their "
    "changes, then try again."
)


def _visible(request: HttpRequest, pk: int) -> Lead:
    queryset = Lead.objects.select_related(
        "owner",
        "team",
        "routing_rule",
        "converted_contact",
        "converted_company",
        "converted_deal",
    )
    return get_visible_or_404(queryset, request.user, pk=pk)


@login_required
def lead_list(request: HttpRequest) -> HttpResponse:
    """Leads, newest first (or the chosen sort), filtered, a keyset page at a time."""
    page, errors = None, []
    try:
        filterset, ordering = lead_queries.lead_list(request.user, request.GET)
    except lead_queries.InvalidLeadFilters as invalid:
        errors = invalid.messages
    else:
        page = keyset_page(
            filterset.qs, ordering=ordering, cursor=request.GET.get("cursor"), limit=PAGE_SIZE
        )
    return render(
        request,
        "sales/leads/lead_list.html",
        {
            "page": page,
            "filter_errors": errors,
            "query": request.GET,
            "statuses": LeadStatus.choices,
            "sources": LeadSource.choices,
            "chosen_statuses": request.GET.getlist("status"),
            "filtered": any(request.GET.get(name) for name in FILTER_PARAMS),
            "can_create": can_create(request.user, Lead),
        },
    )


def _custom_rows(lead: Lead) -> list[dict[str, str]]:
    return [
        {"label": definition.label, "value": plain((lead.custom or {}).get(definition.key))}
        for definition in definitions_for(Lead)
    ]


@login_required
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lead = mask_hidden_fields(request.user, _visible(request, pk))
    submissions = list(lead_queries.submissions_of(lead)[: SUBMISSIONS_SHOWN + 1])
    can_edit = can(request.user, "edit", lead)
    return render(
        request,
        "sales/leads/lead_detail.html",
        {
            "record": lead,
            "lead": lead,
            "custom_fields": _custom_rows(lead),
            "submissions": submissions[:SUBMISSIONS_SHOWN],
            "more_submissions": len(submissions) > SUBMISSIONS_SHOWN,
            "can_edit": can_edit and not lead.is_converted,
            "can_convert": can_edit and not lead.is_converted,
            "can_delete": can(request.user, "delete", lead),
        },
    )


@login_required
def lead_create(request: HttpRequest) -> HttpResponse:
    if not can_create(request.user, Lead):
        raise PermissionDenied
    form = apply_field_rules(LeadForm(request.POST or None), request.user, Lead)
    if request.method == "POST" and form.is_valid():
        lead = call_service(
            form,
            lambda: leads.lead_create(
                actor=Actor.for_request(request), values=form.values(), custom=form.custom()
            ),
        )
        if lead is not None:
            messages.success(request, _("Lead created."))
            return redirect(lead)
    return render(request, "sales/leads/lead_form.html", {"form": form, "lead": None})


@login_required
def lead_edit(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _visible(request, pk)
    if not can(request.user, "edit", lead):
        raise PermissionDenied
    if lead.is_converted:
        messages.error(request, _("A converted lead stays as it was."))
        return redirect(lead)
    form = apply_field_rules(LeadForm(request.POST or None, lead=lead), request.user, Lead)
    if request.method == "POST" and form.is_valid():
        saved = call_service(
            form,
            lambda: leads.lead_update(
                lead,
                actor=Actor.for_request(request),
                values=form.values(),
                custom=form.custom(),
                expected_version=form.cleaned_data.get("version"),
            ),
            conflict=CONFLICT_MESSAGE,
        )
        if saved is not None:
            messages.success(request, _("Lead saved."))
            return redirect(saved)
    return render(request, "sales/leads/lead_form.html", {"form": form, "lead": lead})


@login_required
def lead_delete(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _visible(request, pk)
    if not can(request.user, "delete", lead):
        raise PermissionDenied
    if request.method == "POST":
        leads.lead_delete(lead, actor=Actor.for_request(request))
        messages.success(request, _("The lead is in the trash."))
        return redirect("sales:lead_list")
    return render(
        request,
        "web/confirm_delete.html",
        {
            "title": _("Delete lead “%(name)s”?") % {"name": lead},
            "explanation": _("It moves to the trash, from where it can be restored."),
            "cancel_url": lead.get_absolute_url(),
        },
    )


def _convert_page(
    request: HttpRequest, lead: Lead, form: ConvertForm, candidates: Any
) -> HttpResponse:
    return render(
        request,
        "sales/leads/lead_convert.html",
        {"lead": lead, "form": form, "candidates": candidates},
    )


@login_required
def lead_convert(request: HttpRequest, pk: int) -> HttpResponse:
    """Pick the contact and company the lead becomes (existing ones with its email,
    domain or company name, or new ones) and whether a deal opens; then convert."""
    lead = _visible(request, pk)
    if not can(request.user, "edit", lead):
        raise PermissionDenied
    if lead.is_converted:
        messages.error(request, _("This lead is converted already."))
        return redirect(lead)
    candidates = leads.conversion_candidates(lead, request.user)
    form = ConvertForm(request.POST or None, lead=lead, candidates=candidates)
    if request.method == "POST" and form.is_valid():
        try:
            conversion = leads.lead_convert(
                lead, actor=Actor.for_request(request), **form.service_arguments()
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        except VersionConflict:
            form.add_error(None, CONFLICT_MESSAGE)
        else:
            messages.success(request, _("Lead converted."))
            return redirect(conversion.contact)
    return _convert_page(request, lead, form, candidates)
