"""Privacy pages: the consent panel of a contact, a person's export and erasure, and
the privacy settings (erasures made, retention policies with their preview). Thin:
parse a form, call the privacy services, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from rapport.contacts.models import Contact
from rapport.core.actors import Actor
from rapport.core.forms import apply_service_errors
from rapport.core.panels import Panel
from rapport.core.permissions import can, get_visible_or_404, require_admin
from rapport.privacy import consent, exports, retention
from rapport.privacy.erasure import erase_person
from rapport.privacy.forms import ConsentForm, ErasureForm, RetentionPolicyForm
from rapport.privacy.models import ConsentMethod, ErasureRecord, RetentionPolicy

HISTORY_SHOWN = 20
RUNS_SHOWN = 10


def _contact(request: HttpRequest, pk: int) -> Contact:
    return get_visible_or_404(Contact.objects.all(), request.user, pk=pk)


def panel_context(
    request: HttpRequest, record: models.Model, *, form: ConsentForm | None = None
) -> dict[str, Any]:
    assert isinstance(record, Contact)
    events = list(consent.history(record)[: HISTORY_SHOWN + 1])
    editable = can(request.user, "edit", record)
    return {
        "contact": record,
        "states": consent.consent_state(record),
        "events": events[:HISTORY_SHOWN],
        "more_events": len(events) > HISTORY_SHOWN,
        "consent_form": (form or ConsentForm()) if editable else None,
        "privacy_actions": request.user.is_admin,
        "erased": ErasureRecord.objects.filter(
            object_id=record.pk, object_type="contacts.contact"
        ).first(),
    }


def _panel(request: HttpRequest, record: models.Model) -> dict[str, Any] | None:
    return panel_context(request, record)


CONSENT_PANEL = Panel(
    key="consent",
    title=gettext_lazy("Consent"),
    template="privacy/_consent_panel.html",
    context=_panel,
    applies_to=lambda model: model is Contact,
    order=60,
)


@login_required
@require_POST
def consent_record(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _contact(request, pk)
    form = ConsentForm(request.POST)
    if form.is_valid():
        try:
            consent.record_consent(
                actor=Actor.for_request(request),
                contact=contact,
                purpose=form.cleaned_data["purpose"],
                granted=form.cleaned_data["granted"],
                method=ConsentMethod.USER,
                proof=form.cleaned_data["proof"],
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            form = ConsentForm()
    if not request.htmx:
        return redirect(contact)
    context = panel_context(request, contact, form=form)
    return render(request, "privacy/_consent_panel.html", context)


@login_required
@require_POST
def export_start(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _contact(request, pk)
    job = exports.export_start(actor=Actor.for_request(request), contact=contact)
    return redirect("core:job_detail", pk=job.pk)


@login_required
def erase(request: HttpRequest, pk: int) -> HttpResponse:
    require_admin(request.user)
    contact = _contact(request, pk)
    form = ErasureForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            erase_person(
                contact=contact,
                actor=Actor.for_request(request),
                confirmation=form.cleaned_data["confirmation"],
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("The person's data was erased."))
            return redirect(contact)
    return render(request, "privacy/erase.html", {"contact": contact, "form": form})


@login_required
def privacy_settings(request: HttpRequest) -> HttpResponse:
    require_admin(request.user)
    context = {
        "policies": [
            (policy, retention.describe(policy)) for policy in RetentionPolicy.objects.all()
        ],
        "erasures": ErasureRecord.objects.select_related("erased_by")[:50],
    }
    return render(request, "privacy/settings.html", context)


@login_required
def policy_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    require_admin(request.user)
    policy = get_object_or_404(RetentionPolicy, pk=pk) if pk else None
    form = RetentionPolicyForm(request.POST or None, instance=policy)
    preview = runs = None
    if request.method == "POST" and form.is_valid():
        actor = Actor.for_request(request)
        try:
            policy = retention.policy_save(actor=actor, policy=form.save(commit=False))
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("Policy saved. Check its preview before enabling it."))
            return redirect("privacy:policy_edit", pk=policy.pk)
    if policy is not None and policy.pk:
        # The form changed ``policy`` in memory; the preview is of the policy as saved.
        policy = RetentionPolicy.objects.get(pk=policy.pk)
        preview = retention.preview(policy)
        runs = policy.runs.all()[:RUNS_SHOWN]
    context = {"form": form, "policy": policy, "preview": preview, "runs": runs}
    return render(request, "privacy/policy_form.html", context)


@login_required
@require_POST
def policy_enable(request: HttpRequest, pk: int) -> HttpResponse:
    require_admin(request.user)
    policy = get_object_or_404(RetentionPolicy, pk=pk)
    retention.policy_enable(
        actor=Actor.for_request(request), policy=policy, enabled=request.POST.get("enabled") == "1"
    )
    return redirect("privacy:policy_edit", pk=policy.pk)


@login_required
@require_POST
def policy_delete(request: HttpRequest, pk: int) -> HttpResponse:
    require_admin(request.user)
    policy = get_object_or_404(RetentionPolicy, pk=pk)
    retention.policy_delete(actor=Actor.for_request(request), policy=policy)
    return redirect("privacy:settings")
