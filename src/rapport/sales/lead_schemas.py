"""API input and output of leads, their conversion and web form submissions."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict

from rapport.core.api import RecordOut


class ScoreItem(Schema):
    rule: int | None
    name: str
    points: int
    times: int = 1


class LeadOut(RecordOut):
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


# Lead settings (admins): web forms, scoring and routing rules


class WebFormFieldIO(Schema):
    model_config = ConfigDict(extra="forbid")

    target: str = Field(description="A lead field (email) or custom field (custom.budget).")
    label: str = ""
    required: bool = False
    help_text: str = ""


class WebFormOut(Schema):
    id: int
    name: str
    public_key: str = Field(description="The key of /f/<key>/ and of the submission endpoint.")
    active: bool
    title: str
    introduction: str
    submit_label: str
    consent_text: str
    consent_required: bool
    thank_you_message: str
    redirect_url: str
    source: str
    owner: int | None = Field(alias="owner_id")
    team: int | None = Field(alias="team_id")
    rate_limit: int = Field(description="Submissions per minute from one address.")
    fields: list[WebFormFieldIO]
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @staticmethod
    def resolve_fields(form: Any) -> list[dict[str, Any]]:
        return [
            {"target": f.target, "label": f.label, "required": f.required, "help_text": f.help_text}
            for f in form.fields.all()
        ]


class WebFormIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    active: bool = True
    title: str = ""
    introduction: str = ""
    submit_label: str = ""
    consent_text: str = ""
    consent_required: bool = False
    thank_you_message: str = ""
    redirect_url: str = ""
    source: str = "web_form"
    owner: int | None = Field(None, description="A user id to give the leads to.")
    team: int | None = None
    rate_limit: int = 10
    fields: list[WebFormFieldIO]


class WebFormPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(None, min_length=1, max_length=100)
    active: bool = None
    title: str = None
    introduction: str = None
    submit_label: str = None
    consent_text: str = None
    consent_required: bool = None
    thank_you_message: str = None
    redirect_url: str = None
    source: str = None
    owner: int | None = None
    team: int | None = None
    rate_limit: int = None
    fields: list[WebFormFieldIO] = Field(None, description="Replaces every field, in order.")


class ScoringRuleOut(Schema):
    id: int
    name: str
    active: bool
    field: str
    operator: str
    value: str
    engagement: str
    max_times: int | None
    points: int
    position: int


class ScoringRuleIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    active: bool = True
    field: str = Field("", description="For an attribute rule: a lead field or custom.<key>.")
    operator: str = Field("", description="equals, contains, is_set or is_not_set.")
    value: str = ""
    engagement: str = Field(
        "", description="For an engagement rule: activity, email_reply, meeting, form_submission."
    )
    max_times: int | None = None
    points: int
    position: int = Field(None, description="Last when not given.")


class ScoringRulePatch(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(None, min_length=1, max_length=100)
    active: bool = None
    field: str = None
    operator: str = None
    value: str = None
    engagement: str = None
    max_times: int | None = None
    points: int = None
    position: int = None


class RoutingRuleOut(Schema):
    id: int
    name: str
    active: bool
    position: int
    countries: list[str]
    field: str
    value: str
    user: int | None = Field(alias="user_id")
    team: int | None = Field(alias="team_id")
    round_robin: bool


class RoutingRuleIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    active: bool = True
    position: int = Field(None, description="Last when not given.")
    countries: list[str] = Field([], description="ISO 3166 codes; empty for any country.")
    field: str = ""
    value: str = ""
    user: int | None = None
    team: int | None = None
    round_robin: bool = False


class RoutingRulePatch(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(None, min_length=1, max_length=100)
    active: bool = None
    position: int = None
    countries: list[str] = None
    field: str = None
    value: str = None
    user: int | None = None
    team: int | None = None
    round_robin: bool = None


class JobStarted(Schema):
    job: str = Field(description="The job's id; its page is /jobs/<id>/.")
    status: str
