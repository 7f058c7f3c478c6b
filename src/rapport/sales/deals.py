"""The verbs of deals: create, change, move between stages, win, lose, the people
involved and the line items.

Writes go through ``core.services`` (permissions, validation, custom fields,
version, audit, ``deal.created``/``deal.updated`` events, search). On top of
that a deal's stage decides its status; entering a stage records a
``DealStageChange`` (time in each stage) and emits ``deal.stage_changed``, and
``deal.won`` or ``deal.lost`` when it closes. The probability follows the
stage's default until someone sets it by hand. ``amount_base`` is kept in the
base currency at the rate of the day (of the close day once closed).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.contacts.models import Company, Contact
from rapport.core import services as records
from rapport.core.actors import Actor
from rapport.core.audit import audit_log
from rapport.core.events import emit
from rapport.core.models import AuditAction
from rapport.core.permissions import require, scope
from rapport.sales import board_totals
from rapport.sales.documents import build_lines
from rapport.sales.models import (
    PRICE_DECIMALS,
    Deal,
    DealContact,
    DealLineItem,
    DealRole,
    DealStageChange,
    LostReason,
    Pipeline,
    Stage,
    StageKind,
)
from rapport.sales.money import base_currency, convert, decimal_places
from rapport.sales.pipelines import default_pipeline
from rapport.sales.pricing import totals
from rapport.sales.services import _as_decimal, _currency, _only

DEAL_FIELDS = frozenset(
    {
        "name",
        "pipeline",
        "stage",
        "company",
        "amount",
        "currency",
        "expected_close_date",
        "probability",
        "forecast_category",
        "next_step",
        "source",
        "description",
        "lost_reason",
        "lost_note",
        "owner",
        "team",
    }
)
# When a new deal names no expected close date.
DEFAULT_CLOSE_IN = datetime.timedelta(days=30)


@dataclass(frozen=True)
class Participant:
    contact: Contact | int
    role: str = ""


def _resolve_pipeline_and_stage(deal: Deal, values: dict[str, Any]) -> None:
    """Set ``pipeline`` and ``stage`` from ``values`` (objects or ids): a stage must be
    of the deal's pipeline; a new pipeline without a stage starts at its first open
    stage."""
    errors: dict[str, list[str]] = {}
    if "pipeline" in values:
        pipeline = values.pop("pipeline")
        if not isinstance(pipeline, Pipeline):
            pipeline = Pipeline.objects.filter(pk=pipeline).first() if pipeline else None
        if pipeline is None:
            errors["pipeline"] = [_("Choose a pipeline.")]
        elif not pipeline.active and pipeline.pk != deal.pipeline_id:
            errors["pipeline"] = [_("This pipeline is no longer used.")]
        else:
            deal.pipeline = pipeline
    elif deal.pipeline_id is None:
        pipeline = default_pipeline()
        if pipeline is None:
            errors["pipeline"] = [_("Ask an admin to set up a pipeline first.")]
        else:
            deal.pipeline = pipeline
    if errors:
        raise ValidationError(errors)
    stage = values.pop("stage", None)
    if stage is not None and not isinstance(stage, Stage):
        stage = Stage.objects.filter(pk=stage).first() if str(stage).isdigit() else None
        if stage is None:
            raise ValidationError({"stage": [_("No such stage.")]})
    if stage is None and (deal.stage_id is None or deal.stage.pipeline_id != deal.pipeline_id):
        stage = deal.pipeline.stages.filter(kind=StageKind.OPEN).order_by("position").first()
    if stage is not None:
        if stage.pipeline_id != deal.pipeline_id:
            raise ValidationError({"stage": [_("Choose a stage of the deal's pipeline.")]})
        deal.stage = stage


def _resolve_references(values: dict[str, Any], actor: Actor) -> None:
    if "currency" in values:
        values["currency"] = _currency(values["currency"], active_only=True)
    if "amount" in values:
        values["amount"] = _as_decimal(values["amount"], "amount", places=PRICE_DECIMALS)
    if values.get("company") is not None and not isinstance(values["company"], Company):
        company = scope(Company.objects.filter(pk=values["company"]), actor.user).first()
        if company is None:
            raise ValidationError({"company": [_("No such company, or not one you may see.")]})
        values["company"] = company
    if values.get("lost_reason") is not None and not isinstance(values["lost_reason"], LostReason):
        reason = LostReason.objects.filter(pk=values["lost_reason"]).first()
        if reason is None:
            raise ValidationError({"lost_reason": [_("No such lost reason.")]})
        values["lost_reason"] = reason
    for name in ("name", "next_step", "source", "description", "lost_note"):
        if isinstance(values.get(name), str):
            values[name] = values[name].strip()


def _follow_stage(deal: Deal, previous_stage_id: int | None, now: datetime.datetime) -> None:
    """Status, probability, close time and lost reason as the deal's stage says."""
    stage = deal.stage
    if deal.stage_id != previous_stage_id:
        deal.stage_entered_at = now
        deal.furthest_stage = _furthest(deal.furthest_stage, stage)
        if not deal.probability_is_set:
            deal.probability = stage.probability
    deal.status = stage.kind
    if stage.kind == StageKind.OPEN:
        deal.closed_at = None
        deal.lost_reason = None
        deal.lost_note = ""
    elif deal.closed_at is None or deal.stage_id != previous_stage_id:
        deal.closed_at = now
    deal.days_to_close = (
        max((deal.closed_at - (deal.created_at or now)).days, 0) if deal.closed_at else None
    )
    if stage.kind != StageKind.LOST:
        deal.lost_reason = None
        deal.lost_note = ""
    elif deal.lost_reason is None and LostReason.objects.filter(active=True).exists():
        raise ValidationError({"lost_reason": [_("Say why the deal was lost.")]})


def _furthest(reached: Stage | None, entered: Stage) -> Stage:
    """The furthest stage after entering ``entered``: won is the end, lost goes nowhere
    further, and another pipeline starts over."""
    if reached is None or reached.pipeline_id != entered.pipeline_id:
        return entered
    if entered.kind == StageKind.WON:
        return entered
    if entered.kind == StageKind.OPEN and entered.position > reached.position:
        return entered
    return reached


def _amount_in_base(deal: Deal) -> None:
    day = (deal.closed_at or timezone.now()).date()
    deal.amount_base = convert(deal.amount or 0, deal.currency_id, day)


def _prepared(deal: Deal, values: Mapping[str, Any], actor: Actor) -> dict[str, Any]:
    """``values`` with the derived fields a deal's write sets, checked; applied to a
    copy of ``deal`` to derive them."""
    values = _only(values, DEAL_FIELDS)
    _resolve_references(values, actor)
    previous_stage_id = deal.stage_id
    _resolve_pipeline_and_stage(deal, values)
    if "probability" in values:
        deal.probability_is_set = values["probability"] is not None
        if values["probability"] is None:
            values.pop("probability")
            deal.probability = deal.stage.probability
    for name, value in values.items():
        setattr(deal, name, value)
    if deal.currency_id is None:
        deal.currency_id = base_currency()
    if deal.expected_close_date is None:
        deal.expected_close_date = timezone.localdate() + DEFAULT_CLOSE_IN
    _follow_stage(deal, previous_stage_id, timezone.now())
    _amount_in_base(deal)
    derived = (
        "pipeline",
        "stage",
        "status",
        "probability",
        "probability_is_set",
        "stage_entered_at",
        "closed_at",
        "lost_reason",
        "lost_note",
        "amount_base",
        "currency",
        "expected_close_date",
        "days_to_close",
        "furthest_stage",
    )
    return values | {name: getattr(deal, name) for name in derived}


def _record_stage_entry(deal: Deal, previous: Stage | None, actor: Actor) -> None:
    DealStageChange.objects.create(
        deal=deal,
        from_stage=previous,
        to_stage=deal.stage,
        at=deal.stage_entered_at,
        actor=actor.user,
    )
    if previous is None:
        return
    payload = {
        "from_stage": previous.pk,
        "to_stage": deal.stage_id,
        "pipeline": deal.pipeline_id,
        "status": deal.status,
        "amount": deal.amount,
        "currency": deal.currency_id,
    }
    emit("deal.stage_changed", obj=deal, actor=actor, payload=payload)
    if deal.status == StageKind.WON and previous.kind != StageKind.WON:
        emit("deal.won", obj=deal, actor=actor, payload=payload)
    elif deal.status == StageKind.LOST and previous.kind != StageKind.LOST:
        emit(
            "deal.lost",
            obj=deal,
            actor=actor,
            payload=payload | {"lost_reason": deal.lost_reason_id},
        )


def deal_create(
    *,
    actor: Actor,
    values: Mapping[str, Any],
    custom: Mapping[str, Any] | None = None,
    contacts: Sequence[Participant] = (),
    line_items: Sequence[Mapping[str, Any]] | None = None,
) -> Deal:
    """Open a deal in ``values['pipeline']`` (the default pipeline otherwise) at its
    ``stage`` (the first open stage otherwise), in the base currency unless told."""
    draft = Deal()
    values = dict(values)
    if "team" not in values:
        # Counted with the owner's team (forecasts and metrics by team) unless told.
        owner = values.get("owner") or actor.user
        values["team"] = owner.teams.order_by("name").first() if owner is not None else None
    prepared = _prepared(draft, values, actor)
    people = _participants(contacts, actor)
    currency = prepared["currency"].code
    items = _line_items(line_items, actor, currency) if line_items is not None else None
    with transaction.atomic():
        deal = records.record_create(Deal, actor=actor, values=prepared, custom=custom)
        _record_stage_entry(deal, None, actor)
        DealContact.objects.bulk_create(
            [DealContact(deal=deal, contact=contact, role=role) for contact, role in people]
        )
        if items:
            _replace_items(deal, items, actor)
    return deal


def deal_update(
    deal: Deal,
    *,
    actor: Actor,
    values: Mapping[str, Any] | None = None,
    custom: Mapping[str, Any] | None = None,
    expected_version: int | None = None,
) -> Deal:
    """Change a deal's fields, its stage included (as ``deal_move``)."""
    require(actor.user, "edit", deal)
    if deal.is_deleted:
        raise Http404
    with transaction.atomic():
        current = records.lock_record(deal, expected_version)
        previous = current.stage
        prepared = _prepared(current, values or {}, actor)
        fresh = Deal.all_objects.get(pk=current.pk)
        deal = records.record_update(fresh, actor=actor, values=prepared, custom=custom)
        if deal.stage_id != previous.pk:
            _record_stage_entry(deal, previous, actor)
    return deal


def deal_move(
    deal: Deal,
    *,
    actor: Actor,
    stage: Stage | int,
    lost_reason: LostReason | int | None = None,
    lost_note: str = "",
    expected_version: int | None = None,
) -> Deal:
    """Move a deal to another stage of its pipeline; a lost stage wants the reason."""
    values: dict[str, Any] = {"stage": stage}
    if lost_reason is not None:
        values["lost_reason"] = lost_reason
    if lost_note:
        values["lost_note"] = lost_note
    return deal_update(deal, actor=actor, values=values, expected_version=expected_version)


def deal_close(
    deal: Deal,
    *,
    actor: Actor,
    won: bool,
    lost_reason: LostReason | int | None = None,
    lost_note: str = "",
    expected_version: int | None = None,
) -> Deal:
    """Mark a deal won or lost: moved to its pipeline's won or lost stage."""
    kind = StageKind.WON if won else StageKind.LOST
    stage = Stage.objects.get(pipeline_id=deal.pipeline_id, kind=kind)
    return deal_move(
        deal,
        actor=actor,
        stage=stage,
        lost_reason=lost_reason,
        lost_note=lost_note,
        expected_version=expected_version,
    )


def deal_delete(deal: Deal, *, actor: Actor, expected_version: int | None = None) -> Deal:
    return records.record_delete(deal, actor=actor, expected_version=expected_version)


def follow_stage_probability(stage: Stage) -> None:
    """Give the stage's new default probability to its deals that follow it."""
    Deal.all_objects.filter(stage=stage, probability_is_set=False).update(
        probability=stage.probability
    )
    board_totals.rebuild([stage])


# People involved


def _participants(contacts: Sequence[Participant], actor: Actor) -> list[tuple[Contact, str]]:
    ids = [
        item.contact.pk if isinstance(item.contact, Contact) else item.contact for item in contacts
    ]
    visible = {
        contact.pk: contact for contact in scope(Contact.objects.filter(pk__in=ids), actor.user)
    }
    errors: dict[str, list[str]] = {}
    found: list[tuple[Contact, str]] = []
    for index, (pk, item) in enumerate(zip(ids, contacts, strict=True)):
        if pk not in visible:
            errors[f"contacts.{index}.contact"] = [_("No such contact, or not one you may see.")]
        elif item.role and item.role not in DealRole.values:
            errors[f"contacts.{index}.role"] = [_("Choose a role from the list.")]
        elif pk not in {contact.pk for contact, _role in found}:
            found.append((visible[pk], item.role))
    if errors:
        raise ValidationError(errors)
    return found


def deal_set_contacts(
    deal: Deal, *, actor: Actor, contacts: Sequence[Participant]
) -> list[DealContact]:
    """Make ``contacts`` (with their roles) the people involved in the deal."""
    require(actor.user, "edit", deal)
    people = _participants(contacts, actor)
    with transaction.atomic():
        deal = records.lock_record(deal, None)
        before = sorted(deal.participants.values_list("contact_id", "role"))
        deal.participants.all().delete()
        created = DealContact.objects.bulk_create(
            [DealContact(deal=deal, contact=contact, role=role) for contact, role in people]
        )
        after = sorted((contact.pk, role) for contact, role in people)
        if before != after:
            _bump(
                deal,
                actor,
                {"contacts": [[list(row) for row in before], [list(row) for row in after]]},
            )
    return created


# Line items


def _line_items(
    items: Sequence[Mapping[str, Any]], actor: Actor, currency: str
) -> list[DealLineItem]:
    return build_lines(
        DealLineItem,
        items,
        actor=actor,
        currency=currency,
        field="line_items",
        required=False,
    )


def _replace_items(deal: Deal, items: list[DealLineItem], actor: Actor) -> None:
    deal.line_items.all().delete()
    for item in items:
        item.deal = deal
    DealLineItem.objects.bulk_create(items)
    if items:
        net = totals(items, decimal_places(deal.currency_id)).net
        if net != deal.amount:
            before = board_totals.share_of(deal)
            deal.amount = net
            _amount_in_base(deal)
            Deal.all_objects.filter(pk=deal.pk).update(amount=net, amount_base=deal.amount_base)
            board_totals.move(before, board_totals.share_of(deal))


def deal_set_line_items(
    deal: Deal,
    *,
    actor: Actor,
    items: Sequence[Mapping[str, Any]],
    expected_version: int | None = None,
) -> Deal:
    """Replace the deal's line items; while it has any, its amount is their net total."""
    require(actor.user, "edit", deal)
    built = _line_items(items, actor, deal.currency_id)
    with transaction.atomic():
        deal = records.lock_record(deal, expected_version)
        before_amount = deal.amount
        before = list(deal.line_items.values_list("name", "quantity", "unit_price"))
        _replace_items(deal, built, actor)
        after = [(item.name, item.quantity, item.unit_price) for item in built]
        changes: dict[str, list[Any]] = {}
        if before != after:
            changes["line_items"] = [len(before), len(after)]
        if deal.amount != before_amount:
            changes["amount"] = [str(before_amount), str(deal.amount)]
        if changes:
            _bump(deal, actor, changes)
    return deal


def _bump(deal: Deal, actor: Actor, changes: dict[str, list[Any]]) -> None:
    """A new version of a deal whose related rows changed, audited and announced."""
    Deal.all_objects.filter(pk=deal.pk).update(
        version=deal.version + 1, updated_by=actor.user, updated_at=timezone.now()
    )
    deal.version += 1
    audit_log(actor=actor, action=AuditAction.UPDATE, obj=deal, changes=changes)
    emit("deal.updated", obj=deal, actor=actor, payload={"changes": changes})
