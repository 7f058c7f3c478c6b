"""Settings → Pipelines (admins): pipelines and their stages, and lost reasons. Thin:
each POST calls one ``sales.pipelines`` service and comes back to the page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from rapport.core.actors import Actor
from rapport.sales import pipelines
from rapport.sales.models import LostReason, Pipeline, Stage, StageKind
from rapport.web.decorators import admin_required


class PipelineForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)
    is_default = forms.BooleanField(label=gettext_lazy("Default"), required=False)


class StageForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    probability = forms.IntegerField(
        label=gettext_lazy("Win probability (%)"), min_value=0, max_value=100
    )


class LostReasonForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)


def _report(request: HttpRequest, error: ValidationError) -> None:
    for problem in error.messages:
        messages.error(request, problem)


def _settings_page(request: HttpRequest) -> HttpResponse:
    return redirect("sales:pipeline_settings")


@admin_required
def pipeline_settings(request: HttpRequest) -> HttpResponse:
    rows: list[dict[str, Any]] = []
    for pipeline in Pipeline.objects.prefetch_related("stages"):
        stages = list(pipeline.stages.all())
        rows.append(
            {
                "pipeline": pipeline,
                "form": PipelineForm(
                    prefix=f"pipeline-{pipeline.pk}",
                    initial={
                        "name": pipeline.name,
                        "active": pipeline.active,
                        "is_default": pipeline.is_default,
                    },
                ),
                "stages": [
                    {
                        "stage": stage,
                        "form": StageForm(
                            prefix=f"stage-{stage.pk}",
                            initial={"name": stage.name, "probability": stage.probability},
                        ),
                    }
                    for stage in stages
                ],
                "open_count": sum(stage.kind == StageKind.OPEN for stage in stages),
                "new_stage_form": StageForm(prefix=f"new-stage-{pipeline.pk}"),
            }
        )
    reasons = [
        {
            "reason": reason,
            "form": LostReasonForm(
                prefix=f"reason-{reason.pk}",
                initial={"name": reason.name, "active": reason.active},
            ),
        }
        for reason in LostReason.objects.all()
    ]
    return render(
        request,
        "sales/pipelines/settings.html",
        {
            "rows": rows,
            "reasons": reasons,
            "new_pipeline_form": PipelineForm(prefix="new"),
            "new_reason_form": LostReasonForm(prefix="new-reason"),
        },
    )


def _apply(
    request: HttpRequest,
    form: forms.Form,
    change: Callable[[dict[str, Any]], object],
    *,
    done: str,
    invalid: str,
) -> HttpResponse:
    """Call ``change`` with the form's values, say how it went, and back to the page."""
    if not form.is_valid():
        messages.error(request, invalid)
    else:
        try:
            change(form.cleaned_data)
        except ValidationError as error:
            _report(request, error)
        else:
            messages.success(request, done)
    return _settings_page(request)


STAGE_INVALID = gettext_lazy("Give the stage a name and a probability from 0 to 100.")


@admin_required
@require_POST
def pipeline_create(request: HttpRequest) -> HttpResponse:
    return _apply(
        request,
        PipelineForm(request.POST, prefix="new"),
        lambda values: pipelines.pipeline_create(actor=Actor.for_request(request), values=values),
        done=_("Pipeline created with the usual stages."),
        invalid=_("Give the pipeline a name."),
    )


@admin_required
@require_POST
def pipeline_edit(request: HttpRequest, pk: int) -> HttpResponse:
    pipeline = get_object_or_404(Pipeline, pk=pk)
    return _apply(
        request,
        PipelineForm(request.POST, prefix=f"pipeline-{pk}"),
        lambda values: pipelines.pipeline_update(
            pipeline, actor=Actor.for_request(request), values=values
        ),
        done=_("Pipeline saved."),
        invalid=_("Give the pipeline a name."),
    )


@admin_required
@require_POST
def stage_create(request: HttpRequest, pk: int) -> HttpResponse:
    pipeline = get_object_or_404(Pipeline, pk=pk)
    return _apply(
        request,
        StageForm(request.POST, prefix=f"new-stage-{pk}"),
        lambda values: pipelines.stage_create(pipeline, actor=Actor.for_request(request), **values),
        done=_("Stage added."),
        invalid=str(STAGE_INVALID),
    )


@admin_required
@require_POST
def stage_edit(request: HttpRequest, pk: int) -> HttpResponse:
    stage = get_object_or_404(Stage, pk=pk)
    return _apply(
        request,
        StageForm(request.POST, prefix=f"stage-{pk}"),
        lambda values: pipelines.stage_update(
            stage, actor=Actor.for_request(request), values=values
        ),
        done=_("Stage saved."),
        invalid=str(STAGE_INVALID),
    )


@admin_required
@require_POST
def stage_shift(request: HttpRequest, pk: int, direction: str) -> HttpResponse:
    """Move an open stage one place earlier (``up``) or later (``down``)."""
    if direction not in ("up", "down"):
        raise Http404
    stage = get_object_or_404(Stage, pk=pk, kind=StageKind.OPEN)
    order = list(
        stage.pipeline.stages.filter(kind=StageKind.OPEN)
        .order_by("position", "id")
        .values_list("pk", flat=True)
    )
    index = order.index(stage.pk)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(order):
        order[index], order[other] = order[other], order[index]
        pipelines.stages_reorder(stage.pipeline, actor=Actor.for_request(request), stage_ids=order)
    return _settings_page(request)


@admin_required
@require_POST
def stage_delete(request: HttpRequest, pk: int) -> HttpResponse:
    stage = get_object_or_404(Stage, pk=pk)
    try:
        pipelines.stage_delete(stage, actor=Actor.for_request(request))
    except ValidationError as error:
        _report(request, error)
    else:
        messages.success(request, _("Stage deleted."))
    return _settings_page(request)


@admin_required
@require_POST
def lost_reason_create(request: HttpRequest) -> HttpResponse:
    return _apply(
        request,
        LostReasonForm(request.POST, prefix="new-reason"),
        lambda values: pipelines.lost_reason_create(
            actor=Actor.for_request(request), values=values
        ),
        done=_("Lost reason added."),
        invalid=_("Give the lost reason a name."),
    )


@admin_required
@require_POST
def lost_reason_edit(request: HttpRequest, pk: int) -> HttpResponse:
    reason = get_object_or_404(LostReason, pk=pk)
    return _apply(
        request,
        LostReasonForm(request.POST, prefix=f"reason-{pk}"),
        lambda values: pipelines.lost_reason_update(
            reason, actor=Actor.for_request(request), values=values
        ),
        done=_("Lost reason saved."),
        invalid=_("Give the lost reason a name."),
    )
