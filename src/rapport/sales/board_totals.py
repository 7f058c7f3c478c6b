"""The board's column totals kept as they change: every write of a deal moves its
count, amount and weighted amount (in the base currency) from the totals of the stage,
owner and team it was in to those it is in now, when it is open and live, in the
writing transaction. A board without filters other than owner and team then sums a
handful of rows per column; with other filters it counts the deals themselves.

Writes that bypass the record services (bulk loads, a stage's new default probability)
rebuild the totals they touch with ``rebuild``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, Sum

from rapport.sales.models import Deal, DealStageTotal, Stage, StageKind

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Share:
    """What one deal adds to the totals of its key."""

    stage_id: int
    owner_id: int
    team_id: int
    amount: Decimal
    probability: int

    @property
    def weighted(self) -> Decimal:
        return self.amount * self.probability / HUNDRED


def share_of(values: Mapping[str, Any] | Deal | None) -> Share | None:
    """A deal's share of the totals (from the deal or its audit snapshot), or ``None``
    when it counts in none: closed or in the trash."""
    if values is None:
        return None
    if isinstance(values, Deal):
        values = {
            "stage": values.stage_id,
            "status": values.status,
            "deleted_at": values.deleted_at,
            "owner": values.owner_id,
            "team": values.team_id,
            "amount_base": values.amount_base,
            "probability": values.probability,
        }
    if values.get("deleted_at") or values.get("status") != StageKind.OPEN:
        return None
    return Share(
        stage_id=int(values["stage"]),
        owner_id=int(values.get("owner") or 0),
        team_id=int(values.get("team") or 0),
        amount=Decimal(str(values.get("amount_base") or 0)),
        probability=int(values.get("probability") or 0),
    )


def _add(share: Share, sign: int) -> None:
    key = {"stage_id": share.stage_id, "owner_id": share.owner_id, "team_id": share.team_id}
    changes = {
        "count": F("count") + sign,
        "amount": F("amount") + sign * share.amount,
        "weighted": F("weighted") + sign * share.weighted,
    }
    if not DealStageTotal.objects.filter(**key).update(**changes):
        # The first deal of this key: the row is made (the writing transaction holds the
        # deal's lock, and a concurrent first deal of the same key retries the update).
        total, created = DealStageTotal.objects.get_or_create(
            **key,
            defaults={
                "count": sign,
                "amount": sign * share.amount,
                "weighted": sign * share.weighted,
            },
        )
        if not created:
            DealStageTotal.objects.filter(pk=total.pk).update(**changes)


def move(before: Share | None, after: Share | None) -> None:
    """Take a deal's old share out and put its new one in."""
    if before == after:
        return
    if before is not None:
        _add(before, -1)
    if after is not None:
        _add(after, +1)


def on_deal_written(deal: Deal, before: Mapping[str, Any] | None) -> None:
    """The ``core.services.on_write`` hook of deals."""
    move(share_of(before), share_of(deal))


def rebuild(stages: Iterable[Stage] | None = None) -> None:
    """Count the totals again from the deals (of ``stages``, or all)."""
    totals = DealStageTotal.objects.all()
    deals = Deal.objects.filter(status=StageKind.OPEN)
    if stages is not None:
        ids = [stage.pk for stage in stages]
        totals = totals.filter(stage_id__in=ids)
        deals = deals.filter(stage_id__in=ids)
    totals.delete()
    rows = (
        deals.order_by()
        .values("stage_id", "owner_id", "team_id")
        .annotate(
            total=Count("*"),
            amount=Sum("amount_base"),
            weighted=Sum(F("amount_base") * F("probability") / 100),
        )
    )
    DealStageTotal.objects.bulk_create(
        [
            DealStageTotal(
                stage_id=row["stage_id"],
                owner_id=row["owner_id"] or 0,
                team_id=row["team_id"] or 0,
                count=row["total"],
                amount=row["amount"] or 0,
                weighted=row["weighted"] or 0,
            )
            for row in rows
        ],
        batch_size=1000,
    )


def column_totals(
    condition: Q | None, stages: Iterable[Stage], *, owners: list[int], teams: list[int]
) -> dict[int, dict[str, Any]]:
    """Per stage: count, amount and weighted of the open deals that meet the permission
    ``condition`` (on owner and team) and the owner and team filters."""
    totals = DealStageTotal.objects.filter(stage__in=list(stages), count__gt=0)
    if condition is not None:
        totals = totals.filter(condition)
    if owners:
        totals = totals.filter(owner_id__in=owners)
    if teams:
        totals = totals.filter(team_id__in=teams)
    return {
        row["stage_id"]: row
        for row in totals.values("stage_id").annotate(
            count=Sum("count"), amount=Sum("amount"), weighted=Sum("weighted")
        )
    }
