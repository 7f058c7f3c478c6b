"""API input and output of leads, their conversion and web form submissions."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict


class ScoreItem(Schema):
    rule: int | None
    name: str
    points: int
    times: int = 1


class LeadOut(Schema):
    id: int
    first_name: str
    last_name: str
    email: str
    phone: str = Field(description="E.164, such as +4930123456.")
    company_name: str
    job_title: str
    website: str
    country: str = Field(description="ISO 3166 code.")
    source: str
    description: str
    status: str = Field(description="new, contacted, qualified, unqualified or converted.")
    disqualification_reason: str
    score: int
    score_explanation: list[ScoreItem] = Field(
        description="Each scoring rule the lead matches, with the points it gives."
    )
    routing_rule: int | None = Field(
        alias="routing_rule_id", description="The routing rule that chose the owner."
    )
    owner: int | None = Field(alias="owner_id")
    team: int | None = Field(alias="team_id")
    converted_contact: int | None = Field(alias="converted_contact_id")
    converted_company: int | None = Field(alias="converted_company_id")
    converted_deal: int | None = Field(alias="converted_deal_id")
    converted_at: datetime.datetime | None
    last_contacted_at: datetime.datetime | None
    next_activity_at: datetime.datetime | None
    custom: dict[str, Any]
    version: int
    created_at: datetime.datetime
    updated_at: datetime.datetime


class LeadIn(Schema):
    model_config = ConfigDict(extra="forbid")

    first_name: str = Field("", max_length=100)
    last_name: str = Field("", max_length=100)
    email: str = Field("", max_length=254)
    phone: str = Field("", max_length=100, description="Any format; stored in E.164.")
    company_name: str = Field("", max_length=200)
    job_title: str = Field("", max_length=150)
    website: str = Field("", max_length=300)
    country: str = Field("", max_length=2, description="ISO 3166 code, such as DE.")
    source: str = "manual"
    description: str = ""
    status: str = "new"
    disqualification_reason: str = Field("", max_length=300)
    owner: int | None = Field(
        None, description="A user id; when not given the routing rules choose, else you."
    )
    team: int | None = Field(None, description="A team id.")
    custom: dict[str, Any] | None = None


class LeadPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    first_name: str = Field(None, max_length=100)
    last_name: str = Field(None, max_length=100)
    email: str = Field(None, max_length=254)
    phone: str = Field(None, max_length=100)
    company_name: str = Field(None, max_length=200)
    job_title: str = Field(None, max_length=150)
    website: str = Field(None, max_length=300)
    country: str = Field(None, max_length=2)
    source: str = None
    description: str = None
    status: str = None
    disqualification_reason: str = Field(None, max_length=300)
    owner: int | None = None
    team: int | None = None
    custom: dict[str, Any] | None = None


class LeadFilters(Schema):
    q: str | None = Field(None, description="Quick search of names, email, phone, company.")
    status: list[str] | None = Field(None, description="One or more statuses.")
    source: list[str] | None = None
    country: str | None = Field(None, description="ISO 3166 code.")
    score_min: int | None = None
    score_max: int | None = None
    owner: list[str] | None = Field(None, description='User ids, or "me".')
    sort: str | None = Field(
        None,
        description="created_at, updated_at, score, name, company_name; - first for "
        "descending (default -created_at).",
    )


class DealDraft(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, description="The lead's company name when not given.")
    amount: Decimal | None = None
    currency: str | None = Field(None, description="The base currency when not given.")
    pipeline: int | None = Field(None, description="The default pipeline when not given.")
    expected_close_date: datetime.date | None = None


class ConvertIn(Schema):
    model_config = ConfigDict(extra="forbid")

    contact: int | None = Field(None, description="An existing contact to use; else a new one.")
    company: int | None = Field(None, description="An existing company to use.")
    create_company: bool = Field(
        True, description="Without company: create one named as the lead's company."
    )
    deal: DealDraft | None = Field(None, description="Open a deal too.")


class ConvertOut(Schema):
    lead: LeadOut
    contact: int
    company: int | None
    deal: int | None
    contact_created: bool
    company_created: bool


class SubmissionOut(Schema):
    id: int
    form: int | None = Field(alias="form_id")
    form_name: str = Field(alias="form.name")
    data: dict[str, str]
    consent_given: bool
    consent_text: str
    created_lead: bool
    created_at: datetime.datetime


class SubmissionAccepted(Schema):
    message: str
    redirect_url: str | None = None
