"""API for pipelines (their stages and the board), lost reasons and deals (including
stage moves, people and line items), forecasts and sales metrics. Thin: schemas → ``sales.deals`` /
``sales.pipelines`` / ``sales.deal_queries``.

A deal the caller may not see answers 404, and so does moving or changing one they may
not edit; pipelines and lost reasons are read by everyone signed in and changed by
admins.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Query, Router
from ninja.responses import Status

from rapport.accounts.models import Team, User
from rapport.contacts.api import filter_parameters
from rapport.core.api import (
    IF_MATCH,
    IF_NONE_MATCH,
    PageOut,
    PageParams,
    actor,
    created,
    current_user,
    objects_by_ids,
    paginate,
    problems,
    trashed,
)
from rapport.core.etag import conditional_read, expected_version, set_etag
from rapport.core.permissions import can
from rapport.core.timeline_api import add_timeline_endpoint
from rapport.sales import deal_queries, deals, forecasting, metrics, pipelines
from rapport.sales.deal_queries import DealFilterSet
from rapport.sales.deal_schemas import (
    BoardOut,
    DealDetailOut,
    DealIn,
    DealOut,
    DealPatch,
    ForecastOut,
    ForecastParams,
    LineItemIn,
    LostReasonOut,
    MetricsOut,
    MetricsParams,
    MoveIn,
    ParticipantIn,
    PipelineIn,
    PipelineOut,
    PipelinePatch,
    StageIn,
    StageOut,
    StagePatch,
    StageSpellOut,
)
from rapport.sales.models import Deal, LostReason, Pipeline, Stage
from rapport.sales.money import base_currency
from rapport.sales.periods import add_months

router = Router(tags=["deals"])


# Pipelines


def _pipeline(pipeline_id: int) -> Pipeline:
    return get_object_or_404(Pipeline.objects.prefetch_related("stages"), pk=pipeline_id)


@router.get("/pipelines", response={200: list[PipelineOut], **problems()})
def pipeline_list(request: HttpRequest) -> list[Pipeline]:
    """Every pipeline with its stages in order."""
    return list(Pipeline.objects.prefetch_related("stages"))


@router.get("/pipelines/{int:pipeline_id}", response={200: PipelineOut, **problems(404)})
def pipeline_detail(request: HttpRequest, pipeline_id: int) -> Pipeline:
    return _pipeline(pipeline_id)


@router.post("/pipelines", response={201: PipelineOut, **problems(403, 422)})
def pipeline_create(request: HttpRequest, response: HttpResponse, payload: PipelineIn) -> Status:
    """Add a pipeline with its open stages (admins); won and lost stages come with it."""
    data = payload.model_dump(exclude={"stages"})
    stages = (
        [(stage.name, stage.probability) for stage in payload.stages]
        if payload.stages is not None
        else None
    )
    pipeline = pipelines.pipeline_create(actor=actor(request), values=data, open_stages=stages)
    return created(response, _pipeline(pipeline.pk), "api:pipeline_detail", pipeline_id=pipeline.pk)


@router.patch(
    "/pipelines/{int:pipeline_id}", response={200: PipelineOut, **problems(403, 404, 422)}
)
def pipeline_update(request: HttpRequest, pipeline_id: int, payload: PipelinePatch) -> Pipeline:
    pipelines.pipeline_update(
        _pipeline(pipeline_id), actor=actor(request), values=payload.model_dump(exclude_unset=True)
    )
    return _pipeline(pipeline_id)


@router.post(
    "/pipelines/{int:pipeline_id}/stages", response={201: StageOut, **problems(403, 404, 422)}
)
def stage_create(request: HttpRequest, pipeline_id: int, payload: StageIn) -> Status:
    """Add an open stage before the won and lost stages (admins)."""
    stage = pipelines.stage_create(
        _pipeline(pipeline_id), actor=actor(request), **payload.model_dump()
    )
    return Status(201, stage)


@router.patch("/stages/{int:stage_id}", response={200: StageOut, **problems(403, 404, 422)})
def stage_update(request: HttpRequest, stage_id: int, payload: StagePatch) -> Stage:
    """Rename a stage or change its default probability (admins)."""
    stage = get_object_or_404(Stage, pk=stage_id)
    return pipelines.stage_update(
        stage, actor=actor(request), values=payload.model_dump(exclude_unset=True)
    )


@router.get("/lost-reasons", response={200: list[LostReasonOut], **problems()})
def lost_reason_list(request: HttpRequest) -> list[LostReason]:
    return list(LostReason.objects.all())


# The board


def _column(column: deal_queries.Column) -> dict[str, Any]:
    page = column.page
    return {
        "stage": column.stage,
        "count": column.count,
        "amount": column.amount,
        "weighted": column.weighted,
        "cards": column.cards,
        "next_cursor": page.next_cursor if page else None,
    }


@router.get(
    "/pipelines/{int:pipeline_id}/board",
    response={200: BoardOut, **problems(404, 422)},
    openapi_extra=filter_parameters(DealFilterSet),
)
def pipeline_board(request: HttpRequest, pipeline_id: int) -> dict[str, Any]:
    """The pipeline's open stages with their totals and first cards, for the deals you may
    see that match the deal filters."""
    pipeline = _pipeline(pipeline_id)
    board = deal_queries.board(current_user(request), pipeline, request.GET)
    return {
        "pipeline": pipeline.pk,
        "currency": base_currency(),
        "columns": [_column(column) for column in board.columns],
    }


# Deals


def _visible_deal(request: HttpRequest, deal_id: int, action: str = "view") -> Deal:
    """404 for a deal the user may not see, 403 for one they may see but not ``action``."""
    user = current_user(request)
    deal = get_object_or_404(deal_queries.visible_deals(user), pk=deal_id)
    if action != "view" and not can(user, action, deal):
        raise PermissionDenied
    return deal


def _deal_arguments(data: dict[str, Any]) -> dict[str, Any]:
    """Service arguments from a body: owner and team ids become a user and a team."""
    arguments: dict[str, Any] = {}
    if "custom" in data:
        arguments["custom"] = data.pop("custom")
    if data.get("owner") is not None:
        users = User.objects.filter(is_active=True)
        data["owner"] = objects_by_ids(users, [data["owner"]], field="owner")[0]
    if data.get("team") is not None:
        data["team"] = objects_by_ids(Team.objects.all(), [data["team"]], field="team")[0]
    arguments["values"] = data
    return arguments


def _read_back(response: HttpResponse, deal: Deal) -> Deal:
    deal = Deal.objects.prefetch_related("participants", "line_items").get(pk=deal.pk)
    set_etag(response, deal)
    return deal


def _participants(rows: list[ParticipantIn]) -> list[deals.Participant]:
    return [deals.Participant(row.contact, row.role or "") for row in rows]


@router.get(
    "/deals",
    response={200: PageOut[DealOut], **problems(400, 422)},
    openapi_extra=filter_parameters(DealFilterSet),
)
def deal_list(request: HttpRequest, response: HttpResponse, page: Query[PageParams]) -> dict:
    """The deals you may see, filtered and sorted as the deal table does."""
    filterset, ordering = deal_queries.deal_list(current_user(request), request.GET)
    return paginate(request, response, filterset.qs, ordering=ordering, params=page)


@router.post("/deals", response={201: DealDetailOut, **problems(403, 422)})
def deal_create(request: HttpRequest, response: HttpResponse, payload: DealIn) -> Status:
    """Open a deal, with the people involved and line items if given."""
    data = payload.model_dump(exclude_unset=True, exclude={"contacts", "line_items"})
    data.pop("name", None)
    arguments = _deal_arguments(data)
    arguments["values"]["name"] = payload.name
    items = (
        [item.model_dump(exclude_unset=True) for item in payload.line_items]
        if payload.line_items is not None
        else None
    )
    deal = deals.deal_create(
        actor=actor(request),
        contacts=_participants(payload.contacts),
        line_items=items,
        **arguments,
    )
    return created(response, _read_back(response, deal), "api:deal_detail", deal_id=deal.pk)


@router.get(
    "/deals/{int:deal_id}",
    response={200: DealDetailOut, 304: None, **problems(404)},
    openapi_extra=IF_NONE_MATCH,
)
def deal_detail(request: HttpRequest, response: HttpResponse, deal_id: int) -> object:
    """One deal with its people and line items, and its ETag."""
    deal = _visible_deal(request, deal_id)
    return conditional_read(request, response, _read_back(response, deal))


@router.patch(
    "/deals/{int:deal_id}",
    response={200: DealDetailOut, **problems(400, 404, 412, 422)},
    openapi_extra=IF_MATCH,
)
def deal_update(
    request: HttpRequest, response: HttpResponse, deal_id: int, payload: DealPatch
) -> Deal:
    """Change a deal's fields (its stage too, as a move). Honours If-Match."""
    deal = deals.deal_update(
        _visible_deal(request, deal_id, "edit"),
        actor=actor(request),
        expected_version=expected_version(request),
        **_deal_arguments(payload.model_dump(exclude_unset=True)),
    )
    return _read_back(response, deal)


@router.post(
    "/deals/{int:deal_id}/move",
    response={200: DealDetailOut, **problems(400, 404, 412, 422)},
    openapi_extra=IF_MATCH,
)
def deal_move(request: HttpRequest, response: HttpResponse, deal_id: int, payload: MoveIn) -> Deal:
    """Move a deal to another stage of its pipeline; the lost stage wants a lost_reason.
    A deal you may not edit answers 404. Honours If-Match."""
    deal = deals.deal_move(
        _visible_deal(request, deal_id, "edit"),
        actor=actor(request),
        stage=payload.stage,
        lost_reason=payload.lost_reason,
        lost_note=payload.lost_note,
        expected_version=expected_version(request),
    )
    return _read_back(response, deal)


@router.put(
    "/deals/{int:deal_id}/contacts",
    response={200: DealDetailOut, **problems(404, 422)},
)
def deal_set_contacts(
    request: HttpRequest, response: HttpResponse, deal_id: int, payload: list[ParticipantIn]
) -> Deal:
    """Make these the people involved in the deal, with their roles."""
    deal = _visible_deal(request, deal_id, "edit")
    deals.deal_set_contacts(deal, actor=actor(request), contacts=_participants(payload))
    return _read_back(response, deal)


@router.put(
    "/deals/{int:deal_id}/line-items",
    response={200: DealDetailOut, **problems(400, 404, 412, 422)},
    openapi_extra=IF_MATCH,
)
def deal_set_line_items(
    request: HttpRequest, response: HttpResponse, deal_id: int, payload: list[LineItemIn]
) -> Deal:
    """Replace the deal's line items; its amount becomes their net total. Honours
    If-Match."""
    deal = deals.deal_set_line_items(
        _visible_deal(request, deal_id, "edit"),
        actor=actor(request),
        items=[item.model_dump(exclude_unset=True) for item in payload],
        expected_version=expected_version(request),
    )
    return _read_back(response, deal)


@router.get(
    "/deals/{int:deal_id}/stage-history",
    response={200: list[StageSpellOut], **problems(404)},
)
def deal_stage_history(request: HttpRequest, deal_id: int) -> list[dict[str, Any]]:
    """Each stage the deal entered, oldest first, and how long it stayed there."""
    return [
        {
            "stage": spell.stage.pk,
            "stage_name": spell.stage.name,
            "entered_at": spell.entered_at,
            "left_at": spell.left_at,
            "seconds": int(spell.duration.total_seconds()),
        }
        for spell in deal_queries.stage_history(_visible_deal(request, deal_id))
    ]


@router.delete(
    "/deals/{int:deal_id}",
    response={204: None, **problems(400, 403, 404, 412)},
    openapi_extra=IF_MATCH,
)
def deal_delete(request: HttpRequest, deal_id: int) -> Status:
    """Move a deal to the trash. Honours If-Match."""
    return trashed(request, deals.deal_delete, _visible_deal(request, deal_id))


add_timeline_endpoint(router, Deal, "deals")


# Forecasts and metrics


def _scope(params: ForecastParams | MetricsParams) -> dict[str, Any]:
    owners = (
        objects_by_ids(User.objects.all(), [params.owner], field="owner") if params.owner else []
    )
    team = (
        objects_by_ids(Team.objects.all(), [params.team], field="team")[0] if params.team else None
    )
    pipeline = (
        objects_by_ids(Pipeline.objects.all(), [params.pipeline], field="pipeline")[0]
        if params.pipeline
        else None
    )
    return {"owners": owners, "team": team, "pipeline": pipeline, "kind": params.period}


def _outcome(outcome: metrics.Outcome) -> dict[str, Any]:
    return {
        "won": outcome.won,
        "lost": outcome.lost,
        "won_amount": outcome.won_amount,
        "win_rate": outcome.win_rate,
        "average_size": outcome.average_size,
        "average_cycle": outcome.average_cycle,
    }


@router.get("/forecast", response={200: ForecastOut, **problems(422)})
def forecast(request: HttpRequest, params: Query[ForecastParams]) -> dict[str, Any]:
    """Closed won, pipeline (weighted), commit, best case, quota and attainment per period
    and per owner, with the statistical forecast of bookings, for the deals you may see."""
    result = forecasting.forecast(
        current_user(request),
        start=params.start or timezone.localdate(),
        count=params.count,
        **_scope(params),
    )
    predicted = {item.period: item for item in result.statistical.predicted}
    return {
        "currency": result.currency,
        "periods": [
            {
                "period_start": figures.period.start,
                "period_end": figures.period.end,
                "label": figures.period.label,
                "closed_won": figures.closed_won,
                "pipeline": figures.pipeline,
                "weighted": figures.weighted,
                "commit": figures.commit,
                "best_case": figures.best_case,
                "quota": figures.quota,
                "attainment": figures.attainment,
                "statistical": getattr(predicted.get(figures.period), "mean", None),
                "statistical_lower": getattr(predicted.get(figures.period), "lower", None),
                "statistical_upper": getattr(predicted.get(figures.period), "upper", None),
            }
            for figures in result.periods
        ],
        "reps": [
            {
                "owner": rep.user.pk if rep.user else None,
                "closed_won": rep.closed_won,
                "weighted": rep.weighted,
                "commit": rep.commit,
                "best_case": rep.best_case,
                "quota": rep.quota,
                "attainment": rep.attainment,
            }
            for rep in result.reps
        ],
        "statistical_method": result.statistical.method,
        "statistical_missing": result.statistical.missing,
    }


@router.get("/sales-metrics", response={200: MetricsOut, **problems(422)})
def sales_metrics(request: HttpRequest, params: Query[MetricsParams]) -> dict[str, Any]:
    """Win rate, average deal size, sales cycle, pipeline velocity, stage-to-stage
    conversion, by period and by owner, for the deals you may see."""
    end = params.end or add_months(timezone.localdate(), 1)
    start = params.start or add_months(end, -12)
    result = metrics.sales_metrics(current_user(request), start=start, end=end, **_scope(params))
    return {
        "currency": result.currency,
        "start": result.start,
        "end": result.end,
        "outcome": _outcome(result.outcome),
        "open_count": result.open_count,
        "open_amount": result.open_amount,
        "velocity": result.velocity,
        "pipeline": result.pipeline.pk if result.pipeline else None,
        "conversions": [
            {
                "stage": conversion.stage.pk,
                "stage_name": conversion.stage.name,
                "reached": conversion.reached,
                "advanced": conversion.advanced,
                "rate": conversion.rate,
            }
            for conversion in result.conversions
        ],
        "by_period": [
            _outcome(outcome) | {"period_start": period.start, "label": period.label}
            for period, outcome in result.by_period
        ],
        "reps": [
            _outcome(rep.outcome) | {"owner": rep.user.pk if rep.user else None}
            for rep in result.reps
        ],
        "teams": [
            _outcome(row.outcome) | {"team": row.team.pk if row.team else None}
            for row in result.teams
        ],
    }
