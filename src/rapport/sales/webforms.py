"""Web forms: admins design them, the public fills them in, each answer becomes a lead.

A form's fields fill lead fields or lead custom fields (``sales.lead_fields``). The
public page (``/f/<key>/``) and the JSON endpoint
(``POST /api/v1/web-forms/<key>/submissions``) both call ``webform_submit``, which

1. counts the submission against the form's rate limit for the client address
   (``throttle``: one upsert of a per-minute counter row, so a flood from one address
   costs one indexed statement per request and holds up no one else) and refuses the
   one over the limit with ``Throttled`` (429 and ``Retry-After``);
2. answers a submission whose honeypot field is filled as if it succeeded, and keeps
   nothing of it;
3. checks the fields (required ones, a valid email…) and the consent box;
4. stores the submission (with the consent text shown and whether it was ticked) and
   creates a lead from it, or, when a live unconverted lead has the same email
   address, attaches the submission to that lead; either way the lead is rescored
   and ``lead.form_submitted`` is emitted.

The lead is created as the form's creator, through automation: its owner is the
form's, else the routing rules', else the creator.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _

from rapport.core import throttle as rate_limits
from rapport.core.actors import Actor
from rapport.core.audit import diff, snapshot
from rapport.core.events import emit
from rapport.core.models import AuditAction, Source
from rapport.core.permissions import require_admin
from rapport.core.throttle import counter_key
from rapport.sales import scoring
from rapport.sales.lead_fields import CUSTOM_PREFIX, LEAD_FIELD_LABELS, validate_target
from rapport.sales.leads import clean_email, lead_create, live_lead_with_email
from rapport.sales.models import (
    Lead,
    WebForm,
    WebFormField,
    WebFormSubmission,
)
from rapport.sales.services import _announce, _only

FORM_FIELDS = frozenset(
    {
        "name",
        "active",
        "title",
        "introduction",
        "submit_label",
        "consent_text",
        "consent_required",
        "thank_you_message",
        "redirect_url",
        "source",
        "owner",
        "team",
        "rate_limit",
    }
)
FIELD_FIELDS = frozenset({"target", "label", "required", "help_text"})
# The hidden input people never see and robots fill: named like something worth filling.
HONEYPOT = "fax_number"
CONSENT = "consent"
MAX_FIELDS = 40
MAX_VALUE_LENGTH = 5000
# Fields of which a form must ask at least one: a lead needs something to reach them by.
IDENTIFYING = ("email", "phone", "first_name", "last_name", "company_name")
WINDOW = datetime.timedelta(minutes=1)


# Designing forms (admins)


def new_public_key() -> str:
    return secrets.token_urlsafe(18)


def _clean_fields(fields: Sequence[Mapping[str, Any]]) -> list[WebFormField]:
    errors: dict[str, list[str]] = {}
    cleaned: list[WebFormField] = []
    seen: set[str] = set()
    if len(fields) > MAX_FIELDS:
        raise ValidationError(
            {"fields": [_("A form has at most %(n)d fields.") % {"n": MAX_FIELDS}]}
        )
    for index, raw in enumerate(fields):
        try:
            item = _only(raw, FIELD_FIELDS)
        except ValidationError as error:
            errors.update({f"fields.{index}.{k}": v for k, v in error.message_dict.items()})
            continue
        target = str(item.get("target") or "").strip()
        label = str(item.get("label") or "").strip()
        try:
            validate_target(target, field=f"fields.{index}.target", for_rules=False)
        except ValidationError as error:
            errors.update(error.message_dict)
        if target in seen:
            errors[f"fields.{index}.target"] = [_("This field is already on the form.")]
        seen.add(target)
        field = WebFormField(
            target=target,
            label=label or str(LEAD_FIELD_LABELS.get(target, "")) or target,
            required=bool(item.get("required")),
            help_text=str(item.get("help_text") or "").strip(),
            position=index + 1,
        )
        try:
            field.full_clean(exclude=["form"])
        except ValidationError as error:
            errors.update({f"fields.{index}.{k}": v for k, v in error.message_dict.items()})
        cleaned.append(field)
    if not errors and not seen & set(IDENTIFYING):
        errors["fields"] = [_("Ask for at least an email, a phone, a name or a company.")]
    if errors:
        raise ValidationError(errors)
    return cleaned


def _clean_form_values(values: Mapping[str, Any]) -> dict[str, Any]:
    values = _only(values, FORM_FIELDS)
    return {
        key: value.strip() if isinstance(value, str) else value for key, value in values.items()
    }


def _field_rows(form: WebForm) -> list[dict[str, Any]]:
    return [
        {"target": f.target, "label": f.label, "required": f.required, "help_text": f.help_text}
        for f in form.fields.all()
    ]


def _replace_fields(form: WebForm, fields: list[WebFormField]) -> None:
    form.fields.all().delete()
    for field in fields:
        field.form = form
    WebFormField.objects.bulk_create(fields)


def webform_create(
    *, actor: Actor, values: Mapping[str, Any], fields: Sequence[Mapping[str, Any]]
) -> WebForm:
    """Add a web form with ``fields`` (``target``, ``label``, ``required``,
    ``help_text``), in that order (admins)."""
    require_admin(actor.user)
    values = _clean_form_values(values)
    errors: dict[str, list[str]] = {}
    form = WebForm(**values, public_key=new_public_key(), created_by=actor.user)
    form.updated_by = actor.user
    try:
        form.full_clean()
    except ValidationError as error:
        errors.update(error.message_dict)
    try:
        cleaned = _clean_fields(fields)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        form.save()
        _replace_fields(form, cleaned)
        changes = diff({}, snapshot(form)) | {"fields": [None, _field_rows(form)]}
        _announce(
            form, actor=actor, action=AuditAction.CREATE, event="webform.created", changes=changes
        )
    return form


def webform_update(
    form: WebForm,
    *,
    actor: Actor,
    values: Mapping[str, Any],
    fields: Sequence[Mapping[str, Any]] | None = None,
) -> WebForm:
    """Change a form's settings and, when ``fields`` is given, replace its fields."""
    require_admin(actor.user)
    values = _clean_form_values(values)
    with transaction.atomic():
        form = WebForm.objects.select_for_update().get(pk=form.pk)
        before = snapshot(form)
        fields_before = _field_rows(form)
        for name, value in values.items():
            setattr(form, name, value)
        errors: dict[str, list[str]] = {}
        try:
            form.full_clean()
        except ValidationError as error:
            errors.update(error.message_dict)
        cleaned = None
        if fields is not None:
            try:
                cleaned = _clean_fields(fields)
            except ValidationError as error:
                errors.update(error.message_dict)
        if errors:
            raise ValidationError(errors)
        changes = diff(before, snapshot(form))
        if cleaned is not None:
            _replace_fields(form, cleaned)
            if _field_rows(form) != fields_before:
                changes["fields"] = [fields_before, _field_rows(form)]
        if changes:
            form.updated_by = actor.user
            form.save()
            _announce(
                form,
                actor=actor,
                action=AuditAction.UPDATE,
                event="webform.updated",
                changes=changes,
            )
    return form


def webform_delete(form: WebForm, *, actor: Actor) -> None:
    """Delete a form; its leads stay, and so do their submissions, without the form."""
    require_admin(actor.user)
    with transaction.atomic():
        _announce(
            form,
            actor=actor,
            action=AuditAction.PURGE,
            event="webform.deleted",
            changes=diff(snapshot(form), {}),
        )
        form.delete()


# The rate limit


def throttle(form: WebForm, client_ip: str, *, now: datetime.datetime | None = None) -> None:
    """Count a submission; ``Throttled`` once the address passed the form's limit this
    minute."""
    key = counter_key("webform", form.pk, client_ip)
    rate_limits.throttle(key, limit=form.rate_limit, window=WINDOW, now=now)


# Submitting


@dataclass(frozen=True)
class Client:
    ip: str
    user_agent: str = ""
    page_url: str = ""


@dataclass(frozen=True)
class Outcome:
    """What came of a submission: ``spam`` when the honeypot caught it (nothing kept)."""

    submission: WebFormSubmission | None
    lead: Lead | None
    created: bool
    spam: bool = False


def active_form(public_key: str) -> WebForm:
    """The active form of ``public_key``; ``Http404`` for any other."""
    form = WebForm.objects.filter(public_key=public_key, active=True).first()
    if form is None:
        raise Http404
    return form


def _text(raw: Any) -> str:
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return "yes" if raw else ""
    return str(raw).strip()


def _answers(
    form: WebForm, data: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, str], dict[str, list[str]]]:
    """Lead values, custom values and the answers as stored, from ``data``; or errors
    keyed by input name."""
    values: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    answers: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for field in form.fields.all():
        text = _text(data.get(field.input_name))
        if len(text) > MAX_VALUE_LENGTH:
            errors[field.input_name] = [
                _("Keep this under %(n)d characters.") % {"n": MAX_VALUE_LENGTH}
            ]
            continue
        if field.required and not text:
            errors[field.input_name] = [_("This field is required.")]
            continue
        if not text:
            continue
        answers[field.input_name] = text
        if field.target.startswith(CUSTOM_PREFIX):
            custom[field.target.removeprefix(CUSTOM_PREFIX)] = text
        else:
            values[field.target] = text
    if "email" in values:
        try:
            values["email"] = clean_email(values["email"])
        except ValidationError as error:
            errors["email"] = error.messages
    return values, custom, answers, errors


def _as_input_names(error: ValidationError) -> ValidationError:
    """A lead service's errors keyed as the form's inputs are named."""
    if not hasattr(error, "error_dict"):
        return error
    return ValidationError(
        {name.replace(".", "_"): messages for name, messages in error.message_dict.items()}
    )


def webform_submit(
    form: WebForm, *, data: Mapping[str, Any], client: Client, now: datetime.datetime | None = None
) -> Outcome:
    """Take one submission of ``form`` (see the module's description)."""
    if not form.active:
        raise Http404
    throttle(form, client.ip, now=now)
    if _text(data.get(HONEYPOT)):
        return Outcome(None, None, created=False, spam=True)
    values, custom, answers, errors = _answers(form, data)
    consent_given = bool(form.consent_text) and _text(data.get(CONSENT)) not in ("", "0", "false")
    if form.consent_required and not consent_given:
        errors[CONSENT] = [_("Tick the box to agree.")]
    if errors:
        raise ValidationError(errors)
    creator = form.created_by or form.owner
    if creator is None or not creator.is_active:
        raise ValidationError(_("This form takes no submissions: ask its owner to check it."))
    actor = Actor(user=creator, source=Source.AUTOMATION)
    with transaction.atomic():
        lead = live_lead_with_email(values.get("email", ""))
        created = lead is None
        if lead is None:
            assigned: dict[str, Any] = {}
            if form.owner_id:
                assigned["owner"] = form.owner
            if form.team_id:
                assigned["team"] = form.team
            try:
                lead = lead_create(
                    actor=actor,
                    values=values | {"source": form.source} | assigned,
                    custom=custom or None,
                )
            except ValidationError as error:
                raise _as_input_names(error) from None
        submission = WebFormSubmission.objects.create(
            form=form,
            lead=lead,
            created_lead=created,
            data=answers,
            consent_given=consent_given,
            consent_text=form.consent_text if consent_given else "",
            ip_address=client.ip or None,
            user_agent=client.user_agent[:300],
            page_url=client.page_url[:500],
        )
        scoring.rescore_ids([lead.pk])
        emit(
            "lead.form_submitted",
            obj=lead,
            actor=actor,
            payload={"form": form.pk, "submission": submission.pk, "created": created},
        )
    lead.refresh_from_db()
    return Outcome(submission, lead, created=created)
