"""Deals on the timeline (``core.timeline``): a deal's page shows each stage it entered,
and a company's page the stage moves of its deals the reader may see (opened, moved,
won, lost), among the activities and tasks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from ninja import Field, Schema

from rapport.accounts.models import User
from rapport.contacts.models import Company
from rapport.core import timeline, timeline_api
from rapport.core.timeline import Position, TimelineItem
from rapport.sales.deal_queries import visible_deals
from rapport.sales.models import Deal, DealStageChange, StageKind

KIND = "deal_stage"


class DealStageSource:
    key = "deal_stages"
    kinds: Sequence[tuple[str, Promise | str]] = [(KIND, _("Deal stage changes"))]

    def applies_to(self, model: type[models.Model]) -> bool:
        return model in (Deal, Company)

    def items(
        self,
        user: User,
        record: models.Model,
        *,
        before: Position | None,
        kinds: set[str] | None,
        limit: int,
    ) -> list[TimelineItem]:
        if kinds is not None and KIND not in kinds:
            return []
        changes = DealStageChange.objects.select_related("deal", "to_stage", "from_stage", "actor")
        if isinstance(record, Deal):
            changes = changes.filter(deal=record)
        else:
            changes = changes.filter(deal__in=visible_deals(user).filter(company=record))
        changes = changes.filter(timeline.older_than(before, self.key)).order_by("-at", "-id")
        return [
            TimelineItem(
                at=change.at,
                source=self.key,
                id=change.pk,
                kind=KIND,
                template="sales/deals/_stage_item.html",
                obj=change,
                extra={"on_deal_page": isinstance(record, Deal)},
            )
            for change in changes[:limit]
        ]


class StageChangeOut(Schema):
    """A deal entering a stage (its first one when it was opened)."""

    deal: int = Field(alias="deal_id")
    deal_name: str
    from_stage: int | None = Field(alias="from_stage_id")
    to_stage: int = Field(alias="to_stage_id")
    to_stage_name: str
    status: StageKind = Field(description="The status the stage gives: open, won or lost.")
    actor: int | None = Field(alias="actor_id")


def _for_api(user: User, changes: list[DealStageChange]) -> Sequence[dict[str, Any]]:
    return [
        {
            "deal_id": change.deal_id,
            "deal_name": change.deal.name,
            "from_stage_id": change.from_stage_id,
            "to_stage_id": change.to_stage_id,
            "to_stage_name": change.to_stage.name,
            "status": change.to_stage.kind,
            "actor_id": change.actor_id,
        }
        for change in changes
    ]


def register() -> None:
    timeline.register(DealStageSource())
    timeline_api.register(
        DealStageSource.key,
        timeline_api.ItemShape(
            field="deal_stage",
            schema=StageChangeOut,
            prepare=_for_api,
            description="The deal's move, when the item is one (source deal_stages).",
        ),
    )
