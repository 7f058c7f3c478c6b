"""The "Shared with" panel of every record page: who the record is shared with, and,
for those who may edit it, adding and removing shares through htmx."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from rapport.accounts.models import Team, User
from rapport.core.actors import Actor
from rapport.core.forms import call_service
from rapport.core.models import ShareAccess
from rapport.core.panels import Panel
from rapport.core.permissions import can, get_visible_or_404, object_type, shareable
from rapport.core.registry import primary_key, record_model
from rapport.core.sharing import share_of, share_record, shares_of, unshare_record


class ShareForm(forms.Form):
    user = forms.ModelChoiceField(
        label=_("User"), queryset=User.objects.filter(is_active=True), required=False
    )
    team = forms.ModelChoiceField(label=_("or team"), queryset=Team.objects.all(), required=False)
    access = forms.ChoiceField(label=_("Access"), choices=ShareAccess.choices)


def panel_context(
    request: HttpRequest, record: models.Model, *, form: ShareForm | None = None
) -> dict[str, Any]:
    editable = can(request.user, "edit", record)
    return {
        "shares": list(shares_of(record)),
        "share_form": (form or ShareForm()) if editable else None,
        "can_share": editable,
        "object_type": object_type(record),
        "record": record,
    }


def _context(request: HttpRequest, record: models.Model) -> dict[str, Any]:
    return panel_context(request, record)


PANEL = Panel(
    key="shares",
    title=_("Shared with"),
    template="core/_shares_panel.html",
    context=_context,
    applies_to=shareable,
    order=90,
)


def _record(request: HttpRequest, object_type: str, object_id: str) -> models.Model:
    model = record_model(object_type)
    return get_visible_or_404(model.objects.all(), request.user, pk=primary_key(model, object_id))


def _panel(request: HttpRequest, record: models.Model, form: ShareForm | None = None) -> Any:
    if not request.htmx:
        return redirect(record)
    return render(request, "core/_shares_panel.html", panel_context(request, record, form=form))


@login_required
@require_POST
def share_add(request: HttpRequest, object_type: str, object_id: str) -> HttpResponse:
    record = _record(request, object_type, object_id)
    form = ShareForm(request.POST)
    if form.is_valid():
        shared = call_service(
            form,
            lambda: share_record(
                record,
                actor=Actor.for_request(request),
                user=form.cleaned_data["user"],
                team=form.cleaned_data["team"],
                access=form.cleaned_data["access"],
            ),
        )
        if shared is not None:
            form = None
    return _panel(request, record, form)


@login_required
@require_POST
def share_remove(
    request: HttpRequest, object_type: str, object_id: str, share_id: int
) -> HttpResponse:
    record = _record(request, object_type, object_id)
    unshare_record(share_of(record, share_id), actor=Actor.for_request(request))
    return _panel(request, record)
