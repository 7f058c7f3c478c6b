"""Sales metrics over a date range, for the deals a user may see (narrowed to owners, a
team or a pipeline), by rep and by period.

Definitions (amounts in the base currency):
- win rate: deals won / deals won or lost, among those closed in the range;
- average deal size: the mean amount of the deals won in the range;
- sales cycle: the mean days from opening to winning, of the deals won in the range;
- pipeline velocity: open deals x average deal size x win rate / sales cycle, the value
  the pipeline turns into bookings per 30 days at the current pace;
- stage-to-stage conversion: of the deals opened in the range in a pipeline, the share
  of those that reached a stage which went on to reach the next one (won counts as
  the end of the pipeline, so the last open stage converts to won).
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db.models import Count, Sum
from django.utils.translation import gettext as _

from rapport.accounts.models import Team, User
from rapport.sales.forecasting import ZERO, deals_in_view
from rapport.sales.models import PeriodKind, Pipeline, Stage, StageKind
from rapport.sales.money import base_currency, decimal_places, round_to
from rapport.sales.periods import Period, at_midnight, period_of
from rapport.sales.pipelines import default_pipeline

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from rapport.sales.models import Deal

DAYS_PER_MONTH = 30
MAX_DAYS = 3 * 366


@dataclass
class Outcome:
    """Deals closed in the range: how many won and lost, the won amount and cycle days."""

    won: int = 0
    lost: int = 0
    won_amount: Decimal = ZERO
    cycle_days: int = 0

    @property
    def win_rate(self) -> Decimal | None:
        closed = self.won + self.lost
        return round_to(Decimal(self.won * 100) / closed, 1) if closed else None

    @property
    def average_size(self) -> Decimal | None:
        return round_to(self.won_amount / self.won, 2) if self.won else None

    @property
    def average_cycle(self) -> Decimal | None:
        return round_to(Decimal(self.cycle_days) / self.won, 1) if self.won else None

    def add(self, other: Outcome) -> None:
        self.won += other.won
        self.lost += other.lost
        self.won_amount += other.won_amount
        self.cycle_days += other.cycle_days


@dataclass
class RepOutcome:
    user: User | None
    outcome: Outcome


@dataclass
class TeamOutcome:
    team: Team | None
    outcome: Outcome


@dataclass(frozen=True)
class Conversion:
    stage: Stage
    reached: int
    advanced: int

    @property
    def rate(self) -> Decimal | None:
        return round_to(Decimal(self.advanced * 100) / self.reached, 1) if self.reached else None


@dataclass
class Metrics:
    start: datetime.date
    end: datetime.date
    currency: str
    outcome: Outcome
    open_count: int
    open_amount: Decimal
    pipeline: Pipeline | None
    conversions: list[Conversion] = field(default_factory=list)
    reps: list[RepOutcome] = field(default_factory=list)
    teams: list[TeamOutcome] = field(default_factory=list)
    by_period: list[tuple[Period, Outcome]] = field(default_factory=list)

    @property
    def velocity(self) -> Decimal | None:
        """Bookings per 30 days at the current pace (see the module's definitions)."""
        outcome = self.outcome
        if not outcome.won or outcome.win_rate is None or not outcome.average_cycle:
            return None
        value = (
            self.open_count
            * outcome.average_size
            * outcome.win_rate
            / 100
            / outcome.average_cycle
            * DAYS_PER_MONTH
        )
        return round_to(value, 2)


def _money(total: Decimal | None, places: int) -> Decimal:
    """A sum of base amounts as the base currency writes it (the databases differ)."""
    return round_to(Decimal(total or 0), places)


def _closed(deals: QuerySet[Deal], start: datetime.date, end: datetime.date) -> QuerySet[Deal]:
    return deals.filter(
        status__in=[StageKind.WON, StageKind.LOST],
        closed_at__gte=at_midnight(start),
        closed_at__lt=at_midnight(end),
    )


Key = tuple[int | None, int | None]


def _outcomes_by_owner_and_team(
    deals: QuerySet[Deal], start: datetime.date, end: datetime.date, places: int
) -> dict[Key, Outcome]:
    """Won and lost counts, won amount and cycle days per (owner, team) of the deals
    closed in ``[start, end)``: one range of the closed-deals index."""
    rows = (
        _closed(deals, start, end)
        .values("owner_id", "team_id", "status")
        .annotate(count=Count("*"), amount=Sum("amount_base"), days=Sum("days_to_close"))
    )
    outcomes: dict[Key, Outcome] = defaultdict(Outcome)
    for row in rows:
        outcome = outcomes[(row["owner_id"], row["team_id"])]
        if row["status"] == StageKind.WON:
            outcome.won = row["count"]
            outcome.won_amount = _money(row["amount"], places)
            outcome.cycle_days = row["days"] or 0
        else:
            outcome.lost = row["count"]
    return outcomes


def _by_period_owner_and_team(
    deals: QuerySet[Deal],
    spans: Sequence[Period],
    start: datetime.date,
    end: datetime.date,
    places: int,
) -> tuple[list[tuple[Period, Outcome]], dict[Key, Outcome]]:
    """Per period (each clipped to ``[start, end)``) and per (owner, team) over the whole
    range, from one grouped query per period: each reads its own range of the index
    once, where one query summing every period would test every row against each."""
    periods: list[tuple[Period, Outcome]] = []
    keyed: dict[Key, Outcome] = defaultdict(Outcome)
    for period in spans:
        found = _outcomes_by_owner_and_team(
            deals, max(period.start, start), min(period.end, end), places
        )
        total = Outcome()
        for key, outcome in found.items():
            total.add(outcome)
            keyed[key].add(outcome)
        periods.append((period, total))
    return periods, keyed


def _rolled_up(keyed: dict[Key, Outcome], position: int) -> dict[int | None, Outcome]:
    """The outcomes summed by owner (``position`` 0) or by team (1)."""
    rolled: dict[int | None, Outcome] = defaultdict(Outcome)
    for key, outcome in keyed.items():
        rolled[key[position]].add(outcome)
    return rolled


def _furthest_counts(
    deals: QuerySet[Deal], pipeline: Pipeline, spans: Sequence[Period], start, end
) -> Counter[int]:
    """How many deals opened in ``[start, end)`` got furthest to each stage: a period at
    a time, each a short range of the conversion index, which the database reads alone
    where one query over the whole range would read the table."""
    counts: Counter[int] = Counter()
    for period in spans:
        opened = deals.filter(
            pipeline=pipeline,
            created_at__gte=at_midnight(max(period.start, start)),
            created_at__lt=at_midnight(min(period.end, end)),
        )
        counts.update(
            dict(
                opened.values("furthest_stage_id")
                .annotate(count=Count("*"))
                .values_list("furthest_stage_id", "count")
            )
        )
    return counts


def _conversions(
    deals: QuerySet[Deal],
    pipeline: Pipeline,
    spans: Sequence[Period],
    start: datetime.date,
    end: datetime.date,
) -> list[Conversion]:
    """Of the deals opened in the range, how many reached each open stage and went on."""
    stages = list(pipeline.stages.all())
    open_stages = [stage for stage in stages if stage.kind == StageKind.OPEN]
    counts = _furthest_counts(deals, pipeline, spans, start, end)
    by_id = {stage.pk: stage for stage in stages}

    def reach(stage: Stage | None) -> int:
        """Deals whose furthest stage is at least ``stage`` (``None``: won)."""
        total = 0
        for stage_id, count in counts.items():
            furthest = by_id.get(stage_id)
            if furthest is None:
                continue
            if furthest.kind == StageKind.WON:
                total += count
            elif stage is not None and furthest.kind == StageKind.OPEN:
                total += count if furthest.position >= stage.position else 0
            elif stage is not None and furthest.kind == StageKind.LOST:
                # Lost before reaching any open stage beyond the first.
                total += count if stage == open_stages[0] else 0
        return total

    conversions = []
    for index, stage in enumerate(open_stages):
        following = open_stages[index + 1] if index + 1 < len(open_stages) else None
        conversions.append(Conversion(stage=stage, reached=reach(stage), advanced=reach(following)))
    return conversions


def sales_metrics(
    user: User,
    *,
    start: datetime.date,
    end: datetime.date,
    kind: str = PeriodKind.MONTH,
    owners: Sequence[User] = (),
    team: Team | None = None,
    pipeline: Pipeline | None = None,
) -> Metrics:
    """The metrics of deals closed (and, for conversion, opened) from ``start`` up to but
    not including ``end``, with the same per ``kind`` of period."""
    if end <= start:
        raise ValidationError({"end": [_("End after the start.")]})
    if (end - start).days > MAX_DAYS:
        raise ValidationError({"end": [_("Look at three years at most.")]})
    deals = deals_in_view(user, owners=owners, team=team, pipeline=pipeline)
    first = period_of(kind, start)
    spans = []
    period = first
    while period.start < end:
        spans.append(period)
        period = period.shifted(1)
    places = decimal_places(base_currency())
    by_period, keyed = _by_period_owner_and_team(deals, spans, start, end, places)
    outcome = Outcome()
    for each in keyed.values():
        outcome.add(each)
    per_owner, per_team = _rolled_up(keyed, 0), _rolled_up(keyed, 1)
    users = User.objects.in_bulk([pk for pk in per_owner if pk is not None])
    reps = sorted(
        (RepOutcome(users.get(pk) if pk else None, each) for pk, each in per_owner.items()),
        key=lambda rep: (-rep.outcome.won_amount, str(rep.user)),
    )
    named = Team.objects.in_bulk([pk for pk in per_team if pk is not None])
    teams = sorted(
        (TeamOutcome(named.get(pk) if pk else None, each) for pk, each in per_team.items()),
        key=lambda row: (-row.outcome.won_amount, str(row.team)),
    )
    still_open = deals.filter(status=StageKind.OPEN).aggregate(
        count=Count("*"), amount=Sum("amount_base")
    )
    shown = pipeline or default_pipeline()
    return Metrics(
        start=start,
        end=end,
        currency=base_currency(),
        outcome=outcome,
        open_count=still_open["count"],
        open_amount=_money(still_open["amount"], places),
        pipeline=shown,
        conversions=_conversions(deals, shown, spans, start, end) if shown else [],
        reps=reps,
        teams=teams,
        by_period=by_period,
    )
