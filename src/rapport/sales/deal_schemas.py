"""API input and output of pipelines, stages, lost reasons, deals and the board.

Amounts and prices are decimals written in JSON as strings ("12.50"); input may be a
string or a number. ``amount_base`` is the amount in the base currency.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict

from rapport.core.api import RecordOut
from rapport.sales.models import DealRole, ForecastCategory, PeriodKind, StageKind


class StageOut(Schema):
    id: int
    name: str
    position: int
    kind: StageKind
    probability: int = Field(description="Default win probability, percent.")


class PipelineOut(Schema):
    id: int
    name: str
    position: int
    active: bool
    is_default: bool
    stages: list[StageOut]


class StageIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    probability: int = Field(ge=0, le=100)


class PipelineIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    active: bool = True
    is_default: bool = False
    stages: list[StageIn] | None = Field(
        None, description="Open stages in order; the usual four when left out."
    )


class PipelinePatch(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(None, min_length=1, max_length=100)
    position: int = Field(None, ge=0)
    active: bool = None
    is_default: bool = None


class StagePatch(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(None, min_length=1, max_length=100)
    probability: int = Field(None, ge=0, le=100)


class LostReasonOut(Schema):
    id: int
    name: str
    active: bool


class ParticipantOut(Schema):
    contact: int = Field(alias="contact_id")
    role: str


class ParticipantIn(Schema):
    model_config = ConfigDict(extra="forbid")

    contact: int = Field(description="A contact id.")
    role: DealRole | None = None


class LineItemOut(Schema):
    product: int | None = Field(alias="product_id")
    name: str
    quantity: int
    unit_price: Decimal
    discount_percent: Decimal
    tax_rate: Decimal


class LineItemIn(Schema):
    model_config = ConfigDict(extra="forbid")

    product: int | None = Field(None, description="A product id.")
    name: str = Field("", max_length=200, description="The product's name when left out.")
    quantity: int = 1
    unit_price: Decimal | None = Field(
        None, description="The product's price in the deal's currency when left out."
    )
    discount_percent: Decimal = Decimal(0)
    tax_rate: Decimal | None = Field(None, description="The product's tax rate when left out.")


class DealOut(RecordOut):
    id: int
    name: str
    pipeline: int = Field(alias="pipeline_id")
    stage: int = Field(alias="stage_id")
    status: StageKind
    company: int | None = Field(alias="company_id")
    amount: Decimal
    currency: str = Field(alias="currency_id")
    amount_base: Decimal
    expected_close_date: datetime.date
    probability: int
    probability_is_set: bool
    forecast_category: ForecastCategory
    next_step: str
    source: str
    description: str
    stage_entered_at: datetime.datetime
    closed_at: datetime.datetime | None
    lost_reason: int | None = Field(alias="lost_reason_id")
    lost_note: str
    owner: int | None = Field(alias="owner_id")
    team: int | None = Field(alias="team_id")
    custom: dict[str, Any]
    version: int
    created_at: datetime.datetime
    updated_at: datetime.datetime


class DealDetailOut(DealOut):
    contacts: list[ParticipantOut] = Field(alias="participants")
    line_items: list[LineItemOut]


class DealFields(Schema):
    model_config = ConfigDict(extra="forbid")

    pipeline: int | None = Field(None, description="The default pipeline when left out.")
    stage: int | None = Field(None, description="The pipeline's first open stage when left out.")
    company: int | None = None
    amount: Decimal = None
    currency: str = Field(None, description="ISO 4217 code; the base currency when left out.")
    expected_close_date: datetime.date = None
    probability: int | None = Field(
        None, ge=0, le=100, description="Percent; null follows the stage's default."
    )
    forecast_category: ForecastCategory = None
    next_step: str = None
    source: str = None
    description: str = None
    lost_reason: int | None = None
    lost_note: str = None
    owner: int | None = Field(None, description="A user id; you when not given.")
    team: int | None = None
    custom: dict[str, Any] | None = None


class DealIn(DealFields):
    name: str = Field(min_length=1, max_length=200)
    contacts: list[ParticipantIn] = []
    line_items: list[LineItemIn] | None = None


class DealPatch(DealFields):
    name: str = Field(None, min_length=1, max_length=200)


class MoveIn(Schema):
    model_config = ConfigDict(extra="forbid")

    stage: int
    lost_reason: int | None = Field(None, description="Needed when the stage is the lost one.")
    lost_note: str = ""


class StageSpellOut(Schema):
    stage: int
    stage_name: str
    entered_at: datetime.datetime
    left_at: datetime.datetime | None
    seconds: int = Field(description="Time in the stage; so far for the current one.")


class CardOut(Schema):
    id: int
    name: str
    company: int | None = Field(alias="company_id")
    amount: Decimal
    currency: str = Field(alias="currency_id")
    amount_base: Decimal
    probability: int
    expected_close_date: datetime.date
    owner: int | None = Field(alias="owner_id")
    version: int


class ColumnOut(Schema):
    stage: StageOut
    count: int
    amount: Decimal = Field(description="In the base currency.")
    weighted: Decimal = Field(description="Amount times probability, in the base currency.")
    cards: list[CardOut]
    next_cursor: str | None = Field(
        None, description="Pass as cursor to /pipelines/{id}/stages/{stage}/cards for more."
    )


class BoardOut(Schema):
    pipeline: int
    currency: str = Field(description="The base currency of the totals.")
    columns: list[ColumnOut]


class ForecastParams(Schema):
    period: PeriodKind = PeriodKind.MONTH
    start: datetime.date | None = Field(None, description="A day of the first period; today.")
    count: int = Field(3, ge=1, le=12, description="How many periods.")
    owner: int | None = Field(None, description="Only this user's deals.")
    team: int | None = Field(None, description="Only this team's deals.")
    pipeline: int | None = None


class PeriodFiguresOut(Schema):
    period_start: datetime.date
    period_end: datetime.date
    label: str
    closed_won: Decimal
    pipeline: Decimal
    weighted: Decimal
    commit: Decimal
    best_case: Decimal
    quota: Decimal | None
    attainment: Decimal | None = Field(description="Closed won as a percentage of the quota.")
    statistical: Decimal | None = Field(description="The statistical forecast's mean.")
    statistical_lower: Decimal | None = Field(description="Its 80 % interval's lower end.")
    statistical_upper: Decimal | None


class RepFiguresOut(Schema):
    owner: int | None
    closed_won: Decimal
    weighted: Decimal
    commit: Decimal
    best_case: Decimal
    quota: Decimal | None
    attainment: Decimal | None


class ForecastOut(Schema):
    currency: str = Field(description="The base currency of every amount.")
    periods: list[PeriodFiguresOut]
    reps: list[RepFiguresOut]
    statistical_method: str
    statistical_missing: str = Field(description="Why there is no statistical forecast.")


class MetricsParams(Schema):
    start: datetime.date | None = Field(None, description="First day; a year before end.")
    end: datetime.date | None = Field(None, description="Day after the last; next month's.")
    period: PeriodKind = PeriodKind.MONTH
    owner: int | None = None
    team: int | None = None
    pipeline: int | None = None


class OutcomeOut(Schema):
    won: int
    lost: int
    won_amount: Decimal
    win_rate: Decimal | None
    average_size: Decimal | None
    average_cycle_days: Decimal | None = Field(alias="average_cycle")


class PeriodOutcomeOut(OutcomeOut):
    period_start: datetime.date
    label: str


class RepOutcomeOut(OutcomeOut):
    owner: int | None


class TeamOutcomeOut(OutcomeOut):
    team: int | None


class ConversionOut(Schema):
    stage: int
    stage_name: str
    reached: int
    advanced: int
    rate: Decimal | None


class MetricsOut(Schema):
    currency: str
    start: datetime.date
    end: datetime.date
    outcome: OutcomeOut
    open_count: int
    open_amount: Decimal
    velocity: Decimal | None = Field(description="Bookings per 30 days at the current pace.")
    pipeline: int | None
    conversions: list[ConversionOut]
    by_period: list[PeriodOutcomeOut]
    reps: list[RepOutcomeOut]
    teams: list[TeamOutcomeOut]
