"""The read side of deals: the deals a user may see, the filtered list the table, the
board, the API and saved views share (``DealFilterSet``), the kanban board of a
pipeline, a deal's stage history and the deals of a company or contact."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import django_filters
from django.db import models
from django.db.models import Count, F, Sum
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy

from rapport.contacts.filtersets import ME, OWNER_SORT, IdsFilter, RecordFilterSet, sort_orders
from rapport.contacts.queries import as_query_dict, filtered_records
from rapport.core.pagination import Page, keyset_page
from rapport.core.permissions import scope, scope_filter, scope_of
from rapport.sales import board_totals
from rapport.sales.models import (
    Currency,
    Deal,
    DealContact,
    DealStageChange,
    ForecastCategory,
    LostReason,
    Pipeline,
    Stage,
    StageKind,
)
from rapport.sales.money import base_currency, decimal_places, round_to

if TYPE_CHECKING:
    from rapport.accounts.models import User

CARDS_PER_STAGE = 50
BOARD_ORDERING = ["expected_close_date", "id"]
# What a card shows and what deciding whether it may be moved reads.
CARD_FIELDS = (
    "id",
    "name",
    "pipeline_id",
    "stage_id",
    "status",
    "amount",
    "currency_id",
    "probability",
    "expected_close_date",
    "company_id",
    "owner_id",
    "team_id",
    "version",
    "deleted_at",
)
CARD_RELATED_FIELDS = ("company__name", "owner__first_name", "owner__last_name", "owner__email")
# Parameters the board sets itself: which pipeline, and where a column's next page starts.
BOARD_STATE = frozenset({"pipeline", "stage", "status", "cursor"})


def visible_deals(user: User | None, action: str = "view") -> models.QuerySet[Deal]:
    return scope(Deal.objects.all(), user, action)


class DealFilterSet(RecordFilterSet):
    """The deal list's query contract, shared by the table, the board, the API and saved
    views: the record filters (search, ids, owner, team, dates, custom fields) and the
    deal's own."""

    # Deals carry no tags, and no engagement dates of their own.
    tag = None
    last_contacted = None
    next_activity = None

    pipeline = django_filters.ModelChoiceFilter(
        queryset=Pipeline.objects.all(), label=gettext_lazy("Pipeline")
    )
    stage = django_filters.ModelMultipleChoiceFilter(
        queryset=Stage.objects.all(), distinct=False, label=gettext_lazy("Stage")
    )
    status = django_filters.MultipleChoiceFilter(
        choices=StageKind.choices, distinct=False, label=gettext_lazy("Status")
    )
    company = IdsFilter(label=gettext_lazy("Company (ids)"))
    contact = IdsFilter(method="filter_contact", label=gettext_lazy("Contact (ids)"))
    amount = django_filters.RangeFilter(
        field_name="amount_base", label=gettext_lazy("Amount (base currency)")
    )
    currency = django_filters.CharFilter(method="filter_currency", label=gettext_lazy("Currency"))
    probability = django_filters.RangeFilter(label=gettext_lazy("Probability"))
    expected_close = django_filters.DateFromToRangeFilter(
        field_name="expected_close_date", label=gettext_lazy("Expected close")
    )
    closed = django_filters.DateFromToRangeFilter(
        field_name="closed_at", label=gettext_lazy("Closed")
    )
    forecast_category = django_filters.MultipleChoiceFilter(
        choices=ForecastCategory.choices, distinct=False, label=gettext_lazy("Forecast category")
    )
    lost_reason = django_filters.ModelMultipleChoiceFilter(
        queryset=LostReason.objects.all(), distinct=False, label=gettext_lazy("Lost reason")
    )
    source = django_filters.CharFilter(lookup_expr="iexact", label=gettext_lazy("Source"))

    sorts = sort_orders(
        {
            "name": ["name", "id"],
            "amount": ["amount_base", "id"],
            "probability": ["probability", "id"],
            "expected_close_date": ["expected_close_date", "id"],
            "stage": ["sort_stage", "id"],
            "company": ["sort_company", "id"],
            "status": ["status", "id"],
            "closed_at": ["sort_closed", "id"],
            "owner": [OWNER_SORT, "id"],
            "team": ["sort_team", "id"],
            "created_at": ["created_at", "id"],
            "updated_at": ["updated_at", "id"],
        }
    )
    default_sort = "-created_at"
    sort_annotations = {
        name: build
        for name, build in RecordFilterSet.sort_annotations.items()
        if name in (OWNER_SORT, "sort_team")
    } | {
        "sort_stage": lambda: F("stage__position"),
        "sort_company": lambda: models.functions.Coalesce(F("company__name"), models.Value("")),
        "sort_closed": lambda: models.functions.Coalesce(
            F("closed_at"), models.Value(datetime.datetime(1, 1, 1, tzinfo=datetime.UTC))
        ),
    }

    class Meta:
        model = Deal
        fields: list[str] = []

    def filter_contact(
        self, queryset: models.QuerySet, name: str, value: list[int]
    ) -> models.QuerySet:
        if not value:
            return queryset
        involved = DealContact.objects.filter(contact_id__in=value).values("deal_id")
        return queryset.filter(pk__in=involved)

    def filter_currency(self, queryset: models.QuerySet, name: str, value: str) -> models.QuerySet:
        return queryset.filter(currency_id=value.strip().upper())


def deal_list(
    user: User, params: QueryDict | Mapping[str, Any], *, search_cap: int | None = None
) -> tuple[DealFilterSet, list[str]]:
    """The deals ``user`` may see that match ``params``: the filterset (its ``qs``) and the
    keyset ordering of the requested sort. Bad values raise ``InvalidFilters``."""
    return filtered_records(DealFilterSet, visible_deals(user), user, params, search_cap)


# The kanban board


@dataclass
class Column:
    stage: Stage
    count: int = 0
    amount: Decimal = Decimal(0)
    weighted: Decimal = Decimal(0)
    page: Page | None = None
    cards: list[Deal] = field(default_factory=list)


@dataclass
class Board:
    pipeline: Pipeline
    columns: list[Column]
    filterset: DealFilterSet
    # The drop targets that close a deal.
    won: Stage
    lost: Stage

    @property
    def count(self) -> int:
        return sum(column.count for column in self.columns)

    @property
    def amount(self) -> Decimal:
        return sum((column.amount for column in self.columns), Decimal(0))

    @property
    def weighted(self) -> Decimal:
        return sum((column.weighted for column in self.columns), Decimal(0))


def board_filters(params: QueryDict | Mapping[str, Any]) -> QueryDict:
    """The filters of ``params`` without what the board sets itself."""
    query = as_query_dict(params).copy()
    for name in BOARD_STATE:
        query.pop(name, None)
    return query


def card_page(
    queryset: models.QuerySet[Deal],
    stage: Stage,
    cursor: str | None = None,
    places: dict[str, int] | None = None,
) -> Page:
    """One page of a stage's cards, soonest to close first: only the columns a card
    shows (a board is hundreds of cards), each with ``currency_places`` for its amount."""
    cards = (
        queryset.filter(stage=stage)
        .select_related("company", "owner")
        .only(*CARD_FIELDS, *CARD_RELATED_FIELDS)
    )
    page = keyset_page(cards, ordering=BOARD_ORDERING, cursor=cursor, limit=CARDS_PER_STAGE)
    places = places if places is not None else currency_places()
    for card in page.items:
        card.currency_places = places.get(card.currency_id, 2)
    return page


def currency_places() -> dict[str, int]:
    """Each currency's decimal places: one small query instead of a join per card."""
    return dict(Currency.objects.values_list("code", "decimal_places"))


def given_filters(filterset: DealFilterSet) -> set[str]:
    """The filters the request gives a value, read as each one's widget reads it (a
    range is two boxes, a choice may be repeated)."""
    given = set()
    for name, declared in filterset.filters.items():
        raw = declared.field.widget.value_from_datadict(filterset.data, {}, name)
        values = raw if isinstance(raw, (list, tuple)) else [raw]
        if any(value not in (None, "") for value in values):
            given.add(name)
    return given


# Filters the kept totals can answer: the rest need the deals counted.
TOTALS_FILTERS = frozenset({"owner", "team"})


def _column_totals(
    user: User, filterset: DealFilterSet, deals: models.QuerySet[Deal], stages: list[Stage]
) -> dict[int, dict[str, Any]]:
    """Each open stage's count, amount and weighted amount: from the totals kept by
    every deal write when the filters allow, else counted from the matching deals."""
    data = filterset.form.cleaned_data
    if given_filters(filterset) <= TOTALS_FILTERS:
        owners = [user.pk if choice == ME else int(choice) for choice in data.get("owner") or []]
        teams = [team.pk for team in data.get("team") or []]
        condition = scope_filter(user, scope_of(user, Deal, "view"), Deal)
        return board_totals.column_totals(condition, stages, owners=owners, teams=teams)
    return {
        row["stage_id"]: row
        for row in deals.filter(stage__in=stages)
        .order_by()
        .values("stage_id")
        .annotate(
            count=Count("*"),
            amount=Sum("amount_base"),
            weighted=Sum(F("amount_base") * F("probability") / 100),
        )
    }


def board(user: User, pipeline: Pipeline, params: QueryDict | Mapping[str, Any]) -> Board:
    """The open stages of ``pipeline`` as columns of the deals ``user`` may see that match
    the filters in ``params``: each column's first cards and its count, amount and
    weighted amount in the base currency (kept totals, or one grouped query for all
    columns when filtered). Won and lost are drop targets."""
    filterset, _ordering = deal_list(user, board_filters(params))
    # Filtered by stage, not by pipeline: a stage names its pipeline, and the totals
    # index starts with the stage.
    deals = filterset.qs
    stages = list(pipeline.stages.all())
    open_stages = [stage for stage in stages if stage.kind == StageKind.OPEN]
    totals = _column_totals(user, filterset, deals, open_stages)
    places = decimal_places(base_currency())
    currency_decimals = currency_places()
    columns = []
    for stage in open_stages:
        row = totals.get(stage.pk, {})
        column = Column(
            stage=stage,
            count=row.get("count", 0),
            amount=round_to(Decimal(row.get("amount") or 0), places),
            weighted=round_to(Decimal(row.get("weighted") or 0), places),
        )
        if column.count:
            column.page = card_page(deals, stage, places=currency_decimals)
            column.cards = column.page.items
        columns.append(column)
    closing = {stage.kind: stage for stage in stages if stage.kind != StageKind.OPEN}
    return Board(
        pipeline=pipeline,
        columns=columns,
        filterset=filterset,
        won=closing[StageKind.WON],
        lost=closing[StageKind.LOST],
    )


# One deal


@dataclass(frozen=True)
class StageSpell:
    stage: Stage
    entered_at: datetime.datetime
    left_at: datetime.datetime | None
    actor_name: str

    @property
    def duration(self) -> datetime.timedelta:
        return (self.left_at or timezone.now()) - self.entered_at


def stage_history(deal: Deal) -> list[StageSpell]:
    """Each stage the deal entered, oldest first, and how long it stayed."""
    changes = list(DealStageChange.objects.filter(deal=deal).select_related("to_stage", "actor"))
    spells = []
    for index, change in enumerate(changes):
        following = changes[index + 1] if index + 1 < len(changes) else None
        spells.append(
            StageSpell(
                stage=change.to_stage,
                entered_at=change.at,
                left_at=following.at if following else None,
                actor_name=str(change.actor) if change.actor else "",
            )
        )
    return spells


def deals_of(user: User, record: models.Model) -> models.QuerySet[Deal]:
    """The deals of a company or contact that ``user`` may see, open ones first."""
    deals = visible_deals(user).select_related("stage", "currency", "owner")
    if record._meta.label_lower == "contacts.company":
        deals = deals.filter(company=record)
    else:
        deals = deals.filter(participants__contact=record)
    return deals.order_by(
        models.Case(models.When(status=StageKind.OPEN, then=0), default=1),
        "expected_close_date",
        "id",
    )
