"""Demo deals: a year of sales history in the pipelines, made fast.

Each deal walks its pipeline from the day it was opened: it moves on after a few days
in a stage, or is lost, until it is won, lost or still open today; every step is a
stage change, so the board, the timeline, forecasts and metrics all have a history to
show. Rows go in through ``core.bulk`` in batches, COPY on PostgreSQL (the demo's few
hundred deals and the benchmarks' million alike), and the search index and the board's
totals are rebuilt at the end; they are demo data, so they carry no audit entries or
events.
"""

from __future__ import annotations

import datetime
import random
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from rapport.accounts.models import User
from rapport.contacts.models import Contact
from rapport.core import bulk, search
from rapport.sales import board_totals
from rapport.sales.models import (
    Deal,
    DealContact,
    DealRole,
    DealStageChange,
    ForecastCategory,
    LostReason,
    PeriodKind,
    Pipeline,
    Quota,
    Stage,
    StageKind,
)
from rapport.sales.money import base_currency
from rapport.sales.periods import add_months

HISTORY_DAYS = 365
BATCH = 5000
# Mean days a deal stays in a stage before its next step, and the odds that the step
# is a move forward rather than a loss.
MEAN_DAYS_IN_STAGE = 12.0
ADVANCE_ODDS = 0.62
NAMES = ["Renewal", "Expansion", "Pilot", "Fleet upgrade", "Office fit-out", "Annual plan"]
SOURCES = ["web", "referral", "event", "partner", "campaign"]


@dataclass(frozen=True)
class Seller:
    user_id: int
    team_id: int | None


def _walk(
    rng: random.Random, stages: Sequence[Stage], opened: datetime.datetime, now: datetime.datetime
) -> list[tuple[Stage, datetime.datetime]]:
    """The stages a deal entered and when: open stages in order, then won or lost, or
    still open when its next step would come after ``now``."""
    open_stages = [stage for stage in stages if stage.kind == StageKind.OPEN]
    won = next(stage for stage in stages if stage.kind == StageKind.WON)
    lost = next(stage for stage in stages if stage.kind == StageKind.LOST)
    steps = [(open_stages[0], opened)]
    index = 0
    moment = opened
    while True:
        moment += datetime.timedelta(days=rng.expovariate(1 / MEAN_DAYS_IN_STAGE))
        if moment >= now:
            return steps
        if rng.random() >= ADVANCE_ODDS:
            steps.append((lost, moment))
            return steps
        index += 1
        if index == len(open_stages):
            steps.append((won, moment))
            return steps
        steps.append((open_stages[index], moment))


def _deal(
    rng: random.Random,
    number: int,
    pipeline: Pipeline,
    stages: Sequence[Stage],
    seller: Seller,
    company_id: int | None,
    reasons: Sequence[int],
    now: datetime.datetime,
) -> tuple[Deal, list[tuple[Stage | None, Stage, datetime.datetime]]]:
    opened = now - datetime.timedelta(seconds=rng.uniform(0, HISTORY_DAYS * 86400))
    steps = _walk(rng, stages, opened, now)
    stage, entered = steps[-1]
    furthest = max(
        (step for step, _at in steps if step.kind != StageKind.LOST),
        key=lambda step: step.position,
    )
    amount = Decimal(round(rng.lognormvariate(9.2, 0.8), -2) or 100)
    closed = entered if stage.kind != StageKind.OPEN else None
    if closed is not None:
        expected = closed.date()
        category = ForecastCategory.PIPELINE
    else:
        expected = now.date() + datetime.timedelta(days=rng.randint(3, 120))
        category = rng.choice(
            [ForecastCategory.PIPELINE] * 3 + [ForecastCategory.BEST_CASE, ForecastCategory.COMMIT]
        )
    deal = Deal(
        name=f"{rng.choice(NAMES)} #{number}",
        pipeline=pipeline,
        stage=stage,
        status=stage.kind,
        company_id=company_id,
        amount=amount,
        currency_id=base_currency(),
        amount_base=amount,
        expected_close_date=expected,
        probability=stage.probability,
        forecast_category=category,
        source=rng.choice(SOURCES),
        stage_entered_at=entered,
        closed_at=closed,
        lost_reason_id=rng.choice(reasons) if stage.kind == StageKind.LOST and reasons else None,
        furthest_stage=furthest,
        days_to_close=(closed - opened).days if closed else None,
        owner_id=seller.user_id,
        team_id=seller.team_id,
        created_at=opened,
    )
    moves = [
        (steps[index - 1][0] if index else None, step, at) for index, (step, at) in enumerate(steps)
    ]
    return deal, moves


def generate(
    *,
    count: int,
    seed: int,
    sellers: Sequence[Seller],
    company_ids: Sequence[int],
    pipelines: Sequence[Pipeline] | None = None,
    people: Mapping[int, Sequence[int]] | None = None,
) -> Iterator[int]:
    """Build ``count`` deals with their stage history, and, when ``people`` gives the
    contacts of each company, one of them on each deal with a role; yields the running
    total after each batch."""
    rng = random.Random(seed)
    now = timezone.now()
    pipelines = list(pipelines or Pipeline.objects.filter(active=True))
    stages = {pipeline.pk: list(pipeline.stages.all()) for pipeline in pipelines}
    weights = [6 if pipeline.is_default else 1 for pipeline in pipelines]
    reasons = list(LostReason.objects.filter(active=True).values_list("pk", flat=True))
    made = 0
    while made < count:
        size = min(BATCH, count - made)
        built = []
        for offset in range(size):
            pipeline = rng.choices(pipelines, weights)[0]
            company = rng.choice(company_ids) if company_ids and rng.random() < 0.9 else None
            built.append(
                _deal(
                    rng,
                    made + offset + 1,
                    pipeline,
                    stages[pipeline.pk],
                    rng.choice(sellers),
                    company,
                    reasons,
                    now,
                )
            )
        with transaction.atomic():
            _insert(built, rng, people or {})
        made += size
        yield made
    bulk.reset_sequences(Deal, DealStageChange, DealContact)


def _insert(
    built: list[tuple[Deal, list[tuple[Stage | None, Stage, datetime.datetime]]]],
    rng: random.Random,
    people: Mapping[int, Sequence[int]],
) -> None:
    """Write a batch of deals, their stage changes and their people (COPY on
    PostgreSQL)."""
    fields = [field.attname for field in Deal._meta.concrete_fields]
    deals, changes, involved = [], [], []
    for pk, (deal, moves) in zip(bulk.reserve_ids(Deal, len(built)), built, strict=True):
        deal.pk = pk
        deal.updated_at = deal.stage_entered_at
        deals.append({name: getattr(deal, name) for name in fields})
        changes += [
            {
                "deal_id": pk,
                "from_stage_id": before.pk if before else None,
                "to_stage_id": after.pk,
                "at": at,
                "actor_id": deal.owner_id,
            }
            for before, after, at in moves
        ]
        contacts = people.get(deal.company_id) or ()
        if contacts:
            role = rng.choice(DealRole.values)
            involved.append({"deal_id": pk, "contact_id": rng.choice(contacts), "role": role})
    bulk.insert(Deal, deals)
    bulk.insert(DealStageChange, changes)
    bulk.insert(DealContact, involved)


def sellers() -> list[Seller]:
    """The people who sell: users whose role is a sales one, with their first team."""
    people = User.objects.filter(
        is_active=True, role__slug__in=["sales-rep", "sales-manager"]
    ).prefetch_related("teams")
    return [Seller(user.pk, next((team.pk for team in user.teams.all()), None)) for user in people]


def add_quotas(people: Sequence[Seller], *, seed: int) -> None:
    """A monthly quota for each seller, from a year back to three months ahead."""
    rng = random.Random(seed)
    first = add_months(timezone.localdate().replace(day=1), -12)
    Quota.objects.bulk_create(
        [
            Quota(
                user_id=seller.user_id,
                period=PeriodKind.MONTH,
                period_start=add_months(first, offset),
                amount=Decimal(rng.choice([30_000, 40_000, 50_000])),
            )
            for seller in people
            for offset in range(16)
        ],
        ignore_conflicts=True,
    )


def load(*, seed: int, count: int, company_ids: Sequence[int]) -> None:
    """A second pipeline for renewals, ``count`` deals over the past year (with a contact
    of their company on them), and quotas."""
    from rapport.accounts.demo import demo_admin
    from rapport.core.actors import Actor
    from rapport.core.models import Source
    from rapport.sales.pipelines import pipeline_create

    if not Pipeline.objects.filter(name="Renewals").exists():
        pipeline_create(
            actor=Actor(user=demo_admin(), source=Source.CLI),
            values={"name": "Renewals"},
            open_stages=[("Renewal due", 60), ("Terms agreed", 85)],
        )
    selling = sellers()
    if not selling:
        return
    contacts: dict[int, list[int]] = defaultdict(list)
    employed = Contact.objects.filter(company_id__in=company_ids)
    for company_id, pk in employed.values_list("company_id", "pk"):
        contacts[company_id].append(pk)
    for _made in generate(
        count=count, seed=seed, sellers=selling, company_ids=company_ids, people=contacts
    ):
        pass
    board_totals.rebuild()
    add_quotas(selling, seed=seed)
    search.reindex(Deal)
