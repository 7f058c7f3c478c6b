"""The verbs of leads: capture (by hand, API or web form), change, delete and convert.

Writes go through ``core.services`` (the role's grants for ``sales.lead``, model and
custom-field validation, version, audit, ``lead.created``/``lead.updated`` events,
search). On top of that:

- values are normalised: the email lower-cased and checked, the phone in E.164, the
  website with its scheme, the country an ISO 3166 code in capitals;
- a lead created without an owner is routed (``sales.routing``);
- the score follows the scoring rules (``sales.scoring``) on every write;
- ``lead_convert`` turns a lead into a contact, a company and optionally a deal in one
  transaction, carries its timeline over, and emits ``lead.converted``. A converted
  lead is kept as it was: it is not edited or converted again.

Bad input raises one ``ValidationError`` keyed by field before anything is written; a
refused actor gets ``PermissionDenied``, a lead they cannot see ``Http404``, a stale
``expected_version`` ``VersionConflict``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from rapport.activities.engagement import refresh_targets
from rapport.activities.links import Target
from rapport.activities.models import ActivityLink
from rapport.contacts.children import (
    normalize_country,
    normalize_domain,
    single_spaced,
    with_scheme,
)
from rapport.contacts.models import Company, Contact, ContactSource, LifecycleStage
from rapport.contacts.phones import normalize_phone
from rapport.contacts.services import company_create, contact_create, find_duplicates
from rapport.contacts.writes import Errors, resolve_owner_and_team
from rapport.core import services as records
from rapport.core.actors import Actor
from rapport.core.events import emit
from rapport.core.permissions import object_type, require, scope
from rapport.sales import routing, scoring
from rapport.sales.deals import Participant, deal_create
from rapport.sales.models import Deal, DealRole, Lead, LeadSource, LeadStatus
from rapport.sales.services import _only

if TYPE_CHECKING:
    from rapport.accounts.models import User

LEAD_FIELDS = frozenset(
    {
        "first_name",
        "last_name",
        "email",
        "phone",
        "company_name",
        "job_title",
        "website",
        "country",
        "source",
        "description",
        "status",
        "disqualification_reason",
        "owner",
        "team",
    }
)
NAME_FIELDS = ("first_name", "last_name", "company_name", "job_title")
TEXT_FIELDS = ("description", "disqualification_reason")
DEAL_FIELDS = frozenset({"name", "amount", "currency", "pipeline", "stage", "expected_close_date"})
# A lead's source as the contact it becomes names it.
CONTACT_SOURCES = {
    LeadSource.WEB_FORM: ContactSource.WEB,
    LeadSource.MANUAL: ContactSource.MANUAL,
    LeadSource.REFERRAL: ContactSource.REFERRAL,
    LeadSource.EVENT: ContactSource.EVENT,
    LeadSource.ADVERTISING: ContactSource.CAMPAIGN,
    LeadSource.PARTNER: ContactSource.PARTNER,
    LeadSource.IMPORT: ContactSource.IMPORT,
}
CANDIDATES_PER_TYPE = 10


# Values


def clean_email(raw: str) -> str:
    """``raw`` trimmed and lower-cased, or ``ValidationError`` when it is not an address."""
    address = (raw or "").strip().lower()
    if address:
        validate_email(address)
    return address


NORMALIZERS = {
    "email": clean_email,
    "phone": lambda raw: normalize_phone(raw) if (raw or "").strip() else "",
    "website": with_scheme,
    "country": normalize_country,
}


def _clean(values: Mapping[str, Any], lead: Lead, errors: Errors) -> dict[str, Any]:
    values = _only(values, LEAD_FIELDS)
    resolve_owner_and_team(values, lead, errors)
    for name in NAME_FIELDS:
        if name in values:
            values[name] = single_spaced(values[name])
    for name in TEXT_FIELDS:
        if name in values:
            values[name] = str(values[name] or "").strip()
    for name, normalize in NORMALIZERS.items():
        if name in values:
            try:
                values[name] = normalize(str(values[name] or ""))
            except ValidationError as error:
                errors[name] = error.messages
    status = values.get("status", lead.status)
    if status == LeadStatus.CONVERTED and lead.status != LeadStatus.CONVERTED:
        errors["status"] = [_("Convert the lead to make it converted.")]
    if "status" in values and status != LeadStatus.UNQUALIFIED:
        values.setdefault("disqualification_reason", "")
    return values


def _draft(lead: Lead, values: Mapping[str, Any], custom: Mapping[str, Any] | None) -> Lead:
    """A copy of ``lead`` with ``values`` and ``custom`` applied, to score before writing."""
    draft = copy.copy(lead)
    for name, value in values.items():
        setattr(draft, name, value)
    draft.custom = {**(lead.custom or {}), **(custom or {})}
    return draft


def _scored(lead: Lead, values: dict[str, Any], custom: Mapping[str, Any] | None) -> dict[str, Any]:
    score, explanation = scoring.score_of(_draft(lead, values, custom))
    return values | {"score": score, "score_explanation": explanation}


# The verbs


def lead_create(
    *, actor: Actor, values: Mapping[str, Any], custom: Mapping[str, Any] | None = None
) -> Lead:
    """Capture a lead. Without an owner in ``values`` the routing rules choose one (the
    actor when none matches); ``values['team']``, when given, wins over the rule's."""
    errors: Errors = {}
    values = _clean(values, Lead(), errors)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        if values.get("owner") is None:
            found = routing.route(_draft(Lead(), values, custom))
            if found is not None:
                values["owner"] = found.owner
                values["team"] = values.get("team") or found.team
                values["routing_rule"] = found.rule
        lead = records.record_create(
            Lead, actor=actor, values=_scored(Lead(), values, custom), custom=custom
        )
    return lead


def lead_update(
    lead: Lead,
    *,
    actor: Actor,
    values: Mapping[str, Any] | None = None,
    custom: Mapping[str, Any] | None = None,
    expected_version: int | None = None,
) -> Lead:
    """Change a lead's fields and custom fields (only those given); rescored."""
    require(actor.user, "edit", lead)
    if lead.is_deleted:
        raise Http404
    with transaction.atomic():
        current = records.lock_record(lead, expected_version)
        if current.is_converted:
            raise ValidationError(
                _("A converted lead stays as it was: change its contact or deal instead.")
            )
        errors: Errors = {}
        cleaned = _clean(values or {}, current, errors)
        if errors:
            raise ValidationError(errors)
        lead = records.record_update(
            current, actor=actor, values=_scored(current, cleaned, custom), custom=custom
        )
    return lead


def lead_delete(lead: Lead, *, actor: Actor, expected_version: int | None = None) -> Lead:
    return records.record_delete(lead, actor=actor, expected_version=expected_version)


# Conversion


@dataclass(frozen=True)
class Candidates:
    """Existing records a lead may turn into rather than new ones."""

    contacts: list[Contact]
    companies: list[Company]


def lead_domain(lead: Lead) -> str:
    """The company domain a lead's website names, or ``""``."""
    try:
        return normalize_domain(lead.website)
    except ValidationError:
        return ""


def conversion_candidates(lead: Lead, user: User) -> Candidates:
    """Contacts ``user`` may see with the lead's email address; companies with the
    domain of its website or its company name (any case)."""
    found = find_duplicates(user=user, email=lead.email, domain=lead.website)
    companies = list(found["companies"])
    if lead.company_name:
        same_name = scope(Company.objects.filter(name__iexact=lead.company_name), user)
        known = {company.pk for company in companies}
        companies += [
            c for c in same_name.order_by("id")[:CANDIDATES_PER_TYPE] if c.pk not in known
        ]
    return Candidates(found["contacts"], companies[:CANDIDATES_PER_TYPE])


@dataclass(frozen=True)
class Conversion:
    lead: Lead
    contact: Contact
    company: Company | None
    deal: Deal | None
    contact_created: bool
    company_created: bool


def _prefixed(error: ValidationError, prefix: str) -> ValidationError:
    if not hasattr(error, "error_dict"):
        return ValidationError({prefix: error.messages})
    return ValidationError(
        {f"{prefix}.{name}": messages for name, messages in error.message_dict.items()}
    )


def _visible(model: type[Any], record: Any, user: User | None, field: str) -> Any:
    """The ``model`` row ``record`` (a row or an id) names, if ``user`` may see it."""
    pk = record.pk if hasattr(record, "pk") else record
    found = scope(model.objects.filter(pk=pk), user).first() if str(pk).isdigit() else None
    if found is None:
        raise ValidationError({field: [_("No such record, or not one you may see.")]})
    return found


def _new_company(lead: Lead, actor: Actor) -> Company:
    values = {
        "name": lead.company_name,
        "website": lead.website,
        "domain": lead_domain(lead),
        "owner": lead.owner,
        "team": lead.team,
    }
    try:
        return company_create(actor=actor, values=values)
    except ValidationError as error:
        raise _prefixed(error, "company") from None


def _new_contact(lead: Lead, company: Company | None, actor: Actor) -> Contact:
    values = {
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "email": lead.email,
        "phone": lead.phone,
        "job_title": lead.job_title,
        "company": company,
        "source": CONTACT_SOURCES.get(lead.source, ContactSource.OTHER),
        "lifecycle_stage": LifecycleStage.QUALIFIED,
        "owner": lead.owner,
        "team": lead.team,
    }
    try:
        return contact_create(
            actor=actor, values={name: value for name, value in values.items() if value}
        )
    except ValidationError as error:
        raise _prefixed(error, "contact") from None


def _new_deal(
    lead: Lead, values: Mapping[str, Any], contact: Contact, company: Company | None, actor: Actor
) -> Deal:
    values = _only(values, DEAL_FIELDS)
    values.setdefault("name", lead.company_name or str(lead))
    try:
        return deal_create(
            actor=actor,
            values={**values, "company": company, "owner": lead.owner, "team": lead.team}
            | {"source": lead.source},
            contacts=[Participant(contact, DealRole.DECISION_MAKER)],
        )
    except ValidationError as error:
        raise _prefixed(error, "deal") from None


def _carry_timeline(lead: Lead, records_: list[Contact | Deal]) -> None:
    """Link the lead's activities to ``records_`` too, so their history starts with it."""
    links = list(
        ActivityLink.objects.filter(object_type=object_type(Lead), object_id=lead.pk).values_list(
            "activity_id", "occurred_at"
        )
    )
    targets = [Target.of(record) for record in records_]
    ActivityLink.objects.bulk_create(
        [
            ActivityLink(
                activity_id=activity_id,
                object_type=target.object_type,
                object_id=target.object_id,
                occurred_at=occurred_at,
            )
            for target in targets
            for activity_id, occurred_at in links
        ],
        ignore_conflicts=True,
    )
    refresh_targets(targets)


def lead_convert(
    lead: Lead,
    *,
    actor: Actor,
    contact: Contact | int | None = None,
    company: Company | int | None = None,
    create_company: bool = True,
    deal: Mapping[str, Any] | None = None,
    expected_version: int | None = None,
) -> Conversion:
    """Turn ``lead`` into a contact (``contact``, an existing one, or a new one from the
    lead), at a company (``company``, an existing one, or a new one named as the lead's
    company when ``create_company``), and, when ``deal`` holds its values (``name``,
    ``amount``, ``currency``, ``pipeline``…), a deal with the contact as decision maker.
    All in one transaction: nothing is written unless everything is."""
    require(actor.user, "edit", lead)
    if lead.is_deleted:
        raise Http404
    with transaction.atomic():
        lead = records.lock_record(lead, expected_version)
        if lead.is_converted:
            raise ValidationError(
                _("This lead was converted on %(date)s already.")
                % {"date": date_format(timezone.localtime(lead.converted_at), "DATETIME_FORMAT")}
            )
        errors: Errors = {}
        try:
            if contact is not None:
                contact = _visible(Contact, contact, actor.user, "contact")
        except ValidationError as error:
            errors.update(error.message_dict)
        try:
            if company is not None:
                company = _visible(Company, company, actor.user, "company")
        except ValidationError as error:
            errors.update(error.message_dict)
        if errors:
            raise ValidationError(errors)
        company_created = company is None and create_company and bool(lead.company_name)
        if company_created:
            company = _new_company(lead, actor)
        contact_created = contact is None
        if contact is None:
            contact = _new_contact(lead, company, actor)
        new_deal = _new_deal(lead, deal, contact, company, actor) if deal is not None else None
        _carry_timeline(lead, [contact, *([new_deal] if new_deal else [])])
        lead = records.record_update(
            lead,
            actor=actor,
            values={
                "status": LeadStatus.CONVERTED,
                "converted_contact": contact,
                "converted_company": company,
                "converted_deal": new_deal,
                "converted_at": timezone.now(),
            },
        )
        emit(
            "lead.converted",
            obj=lead,
            actor=actor,
            payload={
                "contact": contact.pk,
                "company": company.pk if company else None,
                "deal": new_deal.pk if new_deal else None,
                "contact_created": contact_created,
                "company_created": company_created,
            },
        )
    return Conversion(lead, contact, company, new_deal, contact_created, company_created)


def live_lead_with_email(email: str) -> Lead | None:
    """The latest live, unconverted lead with ``email``, to which a new web form
    submission of that address is attached."""
    if not email:
        return None
    return (
        Lead.objects.filter(email=email)
        .filter(~Q(status=LeadStatus.CONVERTED))
        .order_by("-id")
        .first()
    )
