"""Sales forecasts: per month or quarter, for the deals a user may see (narrowed to an
owner, a team or a pipeline): closed won so far, the open pipeline expected to close
(in full and weighted by probability), the commit and best-case categories, quotas and
attainment, per period and per rep; and a statistical forecast of bookings fitted to
closed-won history, with its interval, to set beside the weighted figure.

Definitions (every amount in the base currency):
- closed won: deals won with ``closed_at`` in the period;
- pipeline: open deals expected to close in the period, except those in the omitted
  category; weighted: each of those times its probability;
- commit: closed won plus the open commit deals; best case: commit plus the open
  best-case deals;
- attainment: closed won as a percentage of the quota.

Every total of a range of periods comes from one query, its sums filtered per period
(``SUM(...) FILTER (WHERE ...)``), over indexes that hold the summed columns.
"""

from __future__ import annotations

import datetime
import warnings
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils.translation import gettext as _

from rapport.accounts.models import Scope, Team, User
from rapport.core.actors import Actor
from rapport.core.audit import diff, snapshot
from rapport.core.models import AuditAction
from rapport.core.permissions import scope_of, team_ids
from rapport.sales.deal_queries import visible_deals
from rapport.sales.models import Deal, ForecastCategory, PeriodKind, Pipeline, Quota, StageKind
from rapport.sales.money import base_currency, decimal_places, round_to
from rapport.sales.periods import Period, period_of, periods
from rapport.sales.services import _announce, _as_decimal

if TYPE_CHECKING:
    from django.db.models import QuerySet

ZERO = Decimal(0)
# Closed-won history the statistical forecast learns from.
HISTORY_MONTHS = 24
# Fewer non-empty periods than this and there is no trend to speak of.
MIN_HISTORY = 6
# The prediction interval shown: 80 %, as sales forecasts usually quote.
INTERVAL_ALPHA = 0.2
MAX_PERIODS = 12


@dataclass
class PeriodFigures:
    period: Period
    closed_won: Decimal = ZERO
    pipeline: Decimal = ZERO
    weighted: Decimal = ZERO
    commit: Decimal = ZERO
    best_case: Decimal = ZERO
    quota: Decimal | None = None

    @property
    def attainment(self) -> Decimal | None:
        if not self.quota:
            return None
        return round_to(self.closed_won * 100 / self.quota, 1)


@dataclass
class RepFigures:
    user: User | None
    closed_won: Decimal = ZERO
    weighted: Decimal = ZERO
    commit: Decimal = ZERO
    best_case: Decimal = ZERO
    quota: Decimal | None = None

    @property
    def attainment(self) -> Decimal | None:
        if not self.quota:
            return None
        return round_to(self.closed_won * 100 / self.quota, 1)


@dataclass(frozen=True)
class Predicted:
    period: Period
    mean: Decimal
    lower: Decimal
    upper: Decimal


@dataclass
class StatisticalForecast:
    history: list[tuple[Period, Decimal]]
    predicted: list[Predicted] = field(default_factory=list)
    method: str = ""
    # Why there is no prediction, when there is none.
    missing: str = ""


@dataclass
class Forecast:
    kind: str
    currency: str
    periods: list[PeriodFigures]
    reps: list[RepFigures]
    statistical: StatisticalForecast

    @property
    def totals(self) -> PeriodFigures:
        total = PeriodFigures(period=self.periods[0].period)
        for figures in self.periods:
            total.closed_won += figures.closed_won
            total.pipeline += figures.pipeline
            total.weighted += figures.weighted
            total.commit += figures.commit
            total.best_case += figures.best_case
            if figures.quota is not None:
                total.quota = (total.quota or ZERO) + figures.quota
        return total


# The deals in view


def deals_in_view(
    user: User, *, owners: Sequence[User] = (), team: Team | None, pipeline: Pipeline | None
) -> QuerySet[Deal]:
    deals = visible_deals(user)
    if owners:
        deals = deals.filter(owner__in=owners)
    if team is not None:
        # A subquery, not a join: a member of several teams must not count twice.
        members = User.objects.filter(teams=team).values("pk")
        deals = deals.filter(Q(team=team) | Q(owner_id__in=members))
    if pipeline is not None:
        deals = deals.filter(pipeline=pipeline)
    return deals.order_by()


def _won_sums(deals: QuerySet[Deal], spans: Sequence[Period]) -> dict[Period, Decimal]:
    """Closed won per period: one sum per period over its own range of the closed-deals
    index (one query summing every period would test every row against each)."""
    places = decimal_places(base_currency())
    won = deals.filter(status=StageKind.WON)
    sums = {}
    for period in spans:
        total = won.filter(_closed_in(period)).aggregate(total=Sum("amount_base"))["total"]
        sums[period] = round_to(Decimal(total or 0), places)
    return sums


def _closed_in(period: Period) -> Q:
    start, end = period.bounds()
    return Q(closed_at__gte=start, closed_at__lt=end)


def _expected_in(period: Period) -> Q:
    return Q(expected_close_date__gte=period.start, expected_close_date__lt=period.end)


WEIGHTED = F("amount_base") * F("probability") / 100


def _open_sums(deals: QuerySet[Deal], spans: Sequence[Period]) -> dict[str, Decimal | None]:
    """Per period: the open pipeline, weighted, commit and best-case sums in one query."""
    counted = deals.filter(
        status=StageKind.OPEN,
        expected_close_date__gte=spans[0].start,
        expected_close_date__lt=spans[-1].end,
    ).exclude(forecast_category=ForecastCategory.OMITTED)
    sums = {}
    for index, period in enumerate(spans):
        within = _expected_in(period)
        sums |= {
            f"pipeline{index}": Sum("amount_base", filter=within),
            f"weighted{index}": Sum(WEIGHTED, filter=within),
            f"commit{index}": Sum(
                "amount_base", filter=within & Q(forecast_category=ForecastCategory.COMMIT)
            ),
            f"best{index}": Sum(
                "amount_base", filter=within & Q(forecast_category=ForecastCategory.BEST_CASE)
            ),
        }
    return counted.aggregate(**sums)


def _rep_rows(deals: QuerySet[Deal], spans: Sequence[Period]) -> dict[int | None, RepFigures]:
    """Per owner over the whole range: closed won, weighted, commit and best case."""
    first, _ = spans[0].bounds()
    _, last = spans[-1].bounds()
    reps: dict[int | None, RepFigures] = defaultdict(lambda: RepFigures(user=None))
    won = (
        deals.filter(status=StageKind.WON, closed_at__gte=first, closed_at__lt=last)
        .values("owner_id")
        .annotate(total=Sum("amount_base"))
    )
    for row in won:
        reps[row["owner_id"]].closed_won = row["total"] or ZERO
    expected = Q(expected_close_date__gte=spans[0].start, expected_close_date__lt=spans[-1].end)
    open_rows = (
        deals.filter(expected, status=StageKind.OPEN)
        .exclude(forecast_category=ForecastCategory.OMITTED)
        .values("owner_id")
        .annotate(
            weighted=Sum(WEIGHTED),
            commit=Sum("amount_base", filter=Q(forecast_category=ForecastCategory.COMMIT)),
            best=Sum("amount_base", filter=Q(forecast_category=ForecastCategory.BEST_CASE)),
        )
    )
    for row in open_rows:
        rep = reps[row["owner_id"]]
        rep.weighted = row["weighted"] or ZERO
        rep.commit = row["commit"] or ZERO
        rep.best_case = row["best"] or ZERO
    return reps


# Quotas


def _quota_holders(user: User, *, owners: Sequence[User], team: Team | None) -> QuerySet[User]:
    """Whose quotas a forecast adds up: the owners or team asked for, else the people
    whose deals the reader's role shows (everyone, their teams or themselves)."""
    if owners:
        return User.objects.filter(pk__in=[owner.pk for owner in owners])
    if team is not None:
        return User.objects.filter(teams=team)
    reach = scope_of(user, Deal, "view")
    if reach == Scope.ALL:
        return User.objects.all()
    if reach == Scope.TEAM:
        return User.objects.filter(Q(teams__in=team_ids(user)) | Q(pk=user.pk)).distinct()
    return User.objects.filter(pk=user.pk)


def quotas(holders: Iterable[int], spans: Sequence[Period]) -> dict[tuple[int, Period], Decimal]:
    """Each holder's quota per period. A quarter without a quota of its own takes the sum
    of its months' quotas."""
    holders = list(holders)
    first, last = spans[0].start, spans[-1].end
    rows = Quota.objects.filter(
        user_id__in=holders, period_start__gte=first, period_start__lt=last
    ).values_list("user_id", "period", "period_start", "amount")
    own: dict[tuple[int, Period], Decimal] = {}
    months: dict[tuple[int, Period], Decimal] = defaultdict(lambda: ZERO)
    for user_id, kind, start, amount in rows:
        if kind == spans[0].kind:
            own[(user_id, Period(kind, start))] = amount
        elif kind == PeriodKind.MONTH:
            months[(user_id, period_of(spans[0].kind, start))] += amount
    return months | own


# The forecast


def forecast(
    user: User,
    *,
    kind: str = PeriodKind.MONTH,
    start: datetime.date,
    count: int = 3,
    owners: Sequence[User] = (),
    team: Team | None = None,
    pipeline: Pipeline | None = None,
) -> Forecast:
    """The forecast of ``count`` periods of ``kind`` from the one holding ``start``."""
    if kind not in PeriodKind.values:
        raise ValidationError({"period": [_("Choose month or quarter.")]})
    if not 1 <= count <= MAX_PERIODS:
        raise ValidationError(
            {"count": [_("Show from 1 to %(max)d periods.") % {"max": MAX_PERIODS}]}
        )
    spans = periods(kind, period_of(kind, start), count)
    deals = deals_in_view(user, owners=owners, team=team, pipeline=pipeline)
    won = _won_sums(deals, spans)
    open_sums = _open_sums(deals, spans)
    holders = list(_quota_holders(user, owners=owners, team=team).values_list("pk", flat=True))
    quota_of = quotas(holders, spans)
    places = decimal_places(base_currency())
    figures = []
    for index, period in enumerate(spans):
        commit = round_to(Decimal(open_sums[f"commit{index}"] or 0), places)
        best = round_to(Decimal(open_sums[f"best{index}"] or 0), places)
        period_quotas = [quota_of[(pk, period)] for pk in holders if (pk, period) in quota_of]
        figures.append(
            PeriodFigures(
                period=period,
                closed_won=won[period],
                pipeline=round_to(Decimal(open_sums[f"pipeline{index}"] or 0), places),
                weighted=round_to(Decimal(open_sums[f"weighted{index}"] or 0), places),
                commit=won[period] + commit,
                best_case=won[period] + commit + best,
                quota=sum(period_quotas, ZERO) if period_quotas else None,
            )
        )
    return Forecast(
        kind=kind,
        currency=base_currency(),
        periods=figures,
        reps=_reps(deals, spans, quota_of, places),
        statistical=statistical_forecast(deals, kind=kind, first=spans[0], count=count),
    )


def _reps(
    deals: QuerySet[Deal],
    spans: Sequence[Period],
    quota_of: dict[tuple[int, Period], Decimal],
    places: int,
) -> list[RepFigures]:
    reps = _rep_rows(deals, spans)
    for (user_id, _period), amount in quota_of.items():
        rep = reps[user_id]
        rep.quota = (rep.quota or ZERO) + amount
    users = User.objects.in_bulk([pk for pk in reps if pk is not None])
    for pk, rep in reps.items():
        rep.user = users.get(pk) if pk is not None else None
        rep.closed_won = round_to(Decimal(rep.closed_won), places)
        rep.weighted = round_to(Decimal(rep.weighted), places)
        rep.commit = round_to(Decimal(rep.commit), places)
        rep.best_case = round_to(Decimal(rep.best_case), places)
    return sorted(reps.values(), key=lambda rep: (-rep.closed_won, -rep.weighted, str(rep.user)))


# The statistical forecast


def statistical_forecast(
    deals: QuerySet[Deal], *, kind: str, first: Period, count: int
) -> StatisticalForecast:
    """Closed won per period over the last two years before ``first``, and an
    exponential smoothing forecast (ETS with additive error and damped additive trend)
    of ``count`` periods from ``first`` with its 80 % prediction interval."""
    length = HISTORY_MONTHS // (3 if kind == PeriodKind.QUARTER else 1)
    past = [first.shifted(offset - length) for offset in range(length)]
    won = _won_sums(deals, past)
    history = [(period, won[period]) for period in past]
    # Periods before the first booking are before the company used Rapport, not zeros.
    while history and history[0][1] == 0:
        history.pop(0)
    result = StatisticalForecast(history=history)
    if sum(1 for _period, value in history if value) < MIN_HISTORY:
        result.missing = _(
            "Not enough closed-won history yet: a statistical forecast needs at least %(n)d "
            "periods with bookings."
        ) % {"n": MIN_HISTORY}
        return result
    means, lowers, uppers = _ets(
        [float(value) for _period, value in history], steps=count, trend=len(history) >= 10
    )
    places = decimal_places(base_currency())
    for offset in range(count):
        result.predicted.append(
            Predicted(
                period=first.shifted(offset),
                mean=round_to(Decimal(max(means[offset], 0.0)), places),
                lower=round_to(Decimal(max(lowers[offset], 0.0)), places),
                upper=round_to(Decimal(max(uppers[offset], 0.0)), places),
            )
        )
    result.method = (
        _("Exponential smoothing with a damped trend")
        if len(history) >= 10
        else _("Exponential smoothing")
    )
    return result


def _ets(values: list[float], *, steps: int, trend: bool) -> tuple[list, list, list]:
    """Mean and interval bounds of ``steps`` periods after ``values``."""
    # Imported here: statsmodels takes a second to load, which pages without a forecast
    # should not pay.
    import pandas
    from statsmodels.tools.sm_exceptions import ConvergenceWarning
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    model = ETSModel(
        pandas.Series(values, dtype=float),
        error="add",
        trend="add" if trend else None,
        damped_trend=trend,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        fitted = model.fit(disp=False)
    start = len(values)
    frame = fitted.get_prediction(start=start, end=start + steps - 1).summary_frame(
        alpha=INTERVAL_ALPHA
    )
    return list(frame["mean"]), list(frame["pi_lower"]), list(frame["pi_upper"])


# Quotas: who sets them


def can_set_quotas(user: User | None) -> bool:
    """Admins, and whoever's role edits every deal (sales managers)."""
    if user is None or not user.is_authenticated:
        return False
    return user.is_superuser or scope_of(user, Deal, "edit") == Scope.ALL


def quota_set(
    *, actor: Actor, user: User, period: str, period_start: datetime.date, amount: object
) -> Quota:
    """Set ``user``'s quota of the month or quarter holding ``period_start``."""
    if not can_set_quotas(actor.user):
        raise PermissionDenied
    if period not in PeriodKind.values:
        raise ValidationError({"period": [_("Choose month or quarter.")]})
    value = _as_decimal(amount, "amount", places=2)
    start = period_of(period, period_start).start
    with transaction.atomic():
        quota = (
            Quota.objects.select_for_update()
            .filter(user=user, period=period, period_start=start)
            .first()
        )
        before = snapshot(quota) if quota else {}
        if quota is None:
            quota = Quota(user=user, period=period, period_start=start, created_by=actor.user)
        quota.amount = value
        quota.updated_by = actor.user
        quota.full_clean(validate_unique=False)
        changes = diff(before, snapshot(quota))
        if changes:
            quota.save()
            _announce(
                quota,
                actor=actor,
                action=AuditAction.UPDATE if before else AuditAction.CREATE,
                event="quota.set",
                changes=changes,
            )
    return quota
