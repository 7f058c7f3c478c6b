"""The verbs of pipelines, their stages and lost reasons: workspace settings that
admins keep, audited and announced like the other sales settings.

A pipeline always has at least one open stage, exactly one won and one lost stage
(created with it); stages are ordered by ``position``. A stage that deals are in
is not deleted: its deals move to another stage of the pipeline first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core.actors import Actor
from rapport.core.audit import snapshot
from rapport.core.permissions import require_admin
from rapport.sales.models import LostReason, Pipeline, Stage, StageKind
from rapport.sales.settings_rows import cleaned, delete_setting, next_position, save_setting

PIPELINE_FIELDS = frozenset({"name", "position", "active", "is_default"})
STAGE_FIELDS = frozenset({"name", "probability", "position"})
LOST_REASON_FIELDS = frozenset({"name", "position", "active"})

# A new pipeline's stages unless the admin names others: (name, win probability).
DEFAULT_OPEN_STAGES = (
    (gettext_lazy("Qualification"), 10),
    (gettext_lazy("Needs analysis"), 25),
    (gettext_lazy("Proposal"), 50),
    (gettext_lazy("Negotiation"), 75),
)


def _make_only_default(pipeline: Pipeline, actor: Actor) -> None:
    for other in (
        Pipeline.objects.select_for_update().filter(is_default=True).exclude(pk=pipeline.pk)
    ):
        before = snapshot(other)
        other.is_default = False
        save_setting(other, before, actor=actor)


def pipeline_create(
    *,
    actor: Actor,
    values: Mapping[str, Any],
    open_stages: Sequence[tuple[str, int]] | None = None,
) -> Pipeline:
    """Add a pipeline with ``open_stages`` (name, win probability) in order — the usual
    four when none are given — and its won and lost stages. The first pipeline is the
    default."""
    require_admin(actor.user)
    values = cleaned(values, PIPELINE_FIELDS)
    stages = (
        list(open_stages)
        if open_stages is not None
        else [(str(name), probability) for name, probability in DEFAULT_OPEN_STAGES]
    )
    if not stages:
        raise ValidationError({"stages": [_("A pipeline needs at least one open stage.")]})
    with transaction.atomic():
        pipeline = Pipeline(**values)
        if not Pipeline.objects.exists():
            pipeline.is_default = True
        if "position" not in values:
            pipeline.position = next_position(Pipeline)
        if pipeline.is_default:
            _make_only_default(pipeline, actor)
        save_setting(pipeline, None, actor=actor)
        closing = [(_("Won"), 100, StageKind.WON), (_("Lost"), 0, StageKind.LOST)]
        for position, (name, probability, kind) in enumerate(
            [*((name, probability, StageKind.OPEN) for name, probability in stages), *closing],
            start=1,
        ):
            stage = Stage(
                pipeline=pipeline,
                name=str(name).strip(),
                probability=probability,
                kind=kind,
                position=position,
            )
            try:
                save_setting(stage, None, actor=actor)
            except ValidationError as error:
                raise ValidationError(
                    {
                        f"stages.{position - 1}.{key}": value
                        for key, value in error.message_dict.items()
                    }
                ) from None
    return pipeline


def pipeline_update(pipeline: Pipeline, *, actor: Actor, values: Mapping[str, Any]) -> Pipeline:
    """Rename, reorder, (de)activate or make default a pipeline. The default stays
    active; deals keep their pipeline when it is deactivated."""
    require_admin(actor.user)
    values = cleaned(values, PIPELINE_FIELDS)
    with transaction.atomic():
        pipeline = Pipeline.objects.select_for_update().get(pk=pipeline.pk)
        before = snapshot(pipeline)
        for name, value in values.items():
            setattr(pipeline, name, value)
        if before["is_default"] and not pipeline.is_default:
            raise ValidationError({"is_default": [_("Make another pipeline the default instead.")]})
        if pipeline.is_default and not pipeline.active:
            raise ValidationError({"active": [_("The default pipeline stays active.")]})
        if pipeline.is_default and not before["is_default"]:
            _make_only_default(pipeline, actor)
        save_setting(pipeline, before, actor=actor)
    return pipeline


def default_pipeline() -> Pipeline | None:
    return (
        Pipeline.objects.filter(is_default=True).first()
        or Pipeline.objects.filter(active=True).first()
    )


def stage_create(
    pipeline: Pipeline, *, actor: Actor, name: str, probability: int, position: int | None = None
) -> Stage:
    """Add an open stage, before the won and lost stages unless ``position`` says where."""
    require_admin(actor.user)
    with transaction.atomic():
        stages = list(Stage.objects.select_for_update().filter(pipeline=pipeline))
        open_positions = [stage.position for stage in stages if stage.kind == StageKind.OPEN]
        position = position if position is not None else max(open_positions, default=0) + 1
        for stage in stages:
            if stage.position >= position:
                Stage.objects.filter(pk=stage.pk).update(position=stage.position + 1)
        stage = Stage(
            pipeline=pipeline,
            name=(name or "").strip(),
            probability=probability,
            kind=StageKind.OPEN,
            position=position,
        )
        save_setting(stage, None, actor=actor)
    return stage


def stage_update(stage: Stage, *, actor: Actor, values: Mapping[str, Any]) -> Stage:
    """Rename a stage or change its default win probability (deals whose probability
    was not set by hand follow it) or its position."""
    from rapport.sales.deals import follow_stage_probability

    require_admin(actor.user)
    values = cleaned(values, STAGE_FIELDS)
    with transaction.atomic():
        stage = Stage.objects.select_for_update().get(pk=stage.pk)
        before = snapshot(stage)
        for name, value in values.items():
            setattr(stage, name, value)
        save_setting(stage, before, actor=actor)
        if stage.probability != before["probability"]:
            follow_stage_probability(stage)
    return stage


def stages_reorder(pipeline: Pipeline, *, actor: Actor, stage_ids: Sequence[int]) -> None:
    """Put the pipeline's open stages in the order of ``stage_ids`` (all of them, once);
    won and lost stay last."""
    require_admin(actor.user)
    with transaction.atomic():
        stages = {
            stage.pk: stage for stage in Stage.objects.select_for_update().filter(pipeline=pipeline)
        }
        open_ids = {pk for pk, stage in stages.items() if stage.kind == StageKind.OPEN}
        if sorted(stage_ids) != sorted(open_ids):
            raise ValidationError({"stages": [_("Give every open stage of the pipeline once.")]})
        closing = sorted(
            (stage for stage in stages.values() if stage.kind != StageKind.OPEN),
            key=lambda stage: stage.kind != StageKind.WON,
        )
        ordered = [stages[pk] for pk in stage_ids] + closing
        for position, stage in enumerate(ordered, start=1):
            if stage.position != position:
                before = snapshot(stage)
                stage.position = position
                save_setting(stage, before, actor=actor)


def stage_delete(stage: Stage, *, actor: Actor) -> None:
    """Remove an open stage no deal is in, and that is not the pipeline's last open one."""
    require_admin(actor.user)
    with transaction.atomic():
        stage = Stage.objects.select_for_update().get(pk=stage.pk)
        if stage.kind != StageKind.OPEN:
            raise ValidationError({"stage": [_("The won and lost stages stay.")]})
        if (
            not Stage.objects.filter(pipeline=stage.pipeline_id, kind=StageKind.OPEN)
            .exclude(pk=stage.pk)
            .exists()
        ):
            raise ValidationError({"stage": [_("A pipeline keeps at least one open stage.")]})
        if stage.deals.exists() or stage.entries.exists():
            raise ValidationError(
                {"stage": [_("Deals are or were in this stage: rename it rather than delete it.")]}
            )
        delete_setting(stage, actor=actor)


def lost_reason_create(*, actor: Actor, values: Mapping[str, Any]) -> LostReason:
    require_admin(actor.user)
    values = cleaned(values, LOST_REASON_FIELDS)
    with transaction.atomic():
        reason = LostReason(**values)
        save_setting(reason, None, actor=actor)
    return reason


def lost_reason_update(
    reason: LostReason, *, actor: Actor, values: Mapping[str, Any]
) -> LostReason:
    """Rename, reorder or retire a lost reason; deals lost for it keep it."""
    require_admin(actor.user)
    values = cleaned(values, LOST_REASON_FIELDS)
    with transaction.atomic():
        reason = LostReason.objects.select_for_update().get(pk=reason.pk)
        before = snapshot(reason)
        for name, value in values.items():
            setattr(reason, name, value)
        save_setting(reason, before, actor=actor)
    return reason
