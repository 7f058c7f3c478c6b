"""Forms of the lead pages and the lead settings (web forms, scoring and routing rules).
The services decide what is valid; these forms parse input and show the services'
errors on their fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from rapport.accounts.models import Team, User
from rapport.core import customfields
from rapport.sales.lead_fields import target_choices
from rapport.sales.leads import LEAD_FIELDS
from rapport.sales.models import (
    Currency,
    Engagement,
    Lead,
    LeadSource,
    LeadStatus,
    Pipeline,
    RoutingRule,
    RuleOperator,
    ScoringRule,
    WebForm,
)
from rapport.sales.routing import RULE_FIELDS as ROUTING_FIELDS
from rapport.sales.scoring import RULE_FIELDS as SCORING_FIELDS
from rapport.sales.webforms import FORM_FIELDS

NEW = "new"
NONE = "none"


def _users() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        label=_("Owner"), queryset=User.objects.filter(is_active=True), required=False
    )


def _teams() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.all(), required=False)


class LeadForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=100, required=False)
    email = forms.CharField(label=_("Email"), max_length=254, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=100, required=False)
    company_name = forms.CharField(label=_("Company"), max_length=200, required=False)
    job_title = forms.CharField(label=_("Job title"), max_length=150, required=False)
    website = forms.CharField(label=_("Website"), max_length=300, required=False)
    country = forms.CharField(
        label=_("Country"), max_length=2, required=False, help_text=_("ISO 3166 code, such as DE.")
    )
    source = forms.ChoiceField(label=_("Source"), choices=LeadSource.choices)
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[(value, label) for value, label in LeadStatus.choices if value != "converted"],
    )
    disqualification_reason = forms.CharField(
        label=_("Why not qualified"), max_length=300, required=False
    )
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    owner = _users()
    team = _teams()
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, lead: Lead | None = None, **kwargs: Any) -> None:
        if lead is not None:
            initial = {name: getattr(lead, name) for name in LEAD_FIELDS}
            initial["version"] = lead.version
            initial |= {f"custom_{key}": value for key, value in (lead.custom or {}).items()}
            kwargs["initial"] = initial | (kwargs.get("initial") or {})
        super().__init__(*args, **kwargs)
        if lead is None:
            del self.fields["version"]
            self.fields["owner"].empty_label = _("Routing rules decide (else me)")
        self.fields.update(customfields.form_fields(Lead))

    def values(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in LEAD_FIELDS if name in self.fields}

    def custom(self) -> dict[str, Any] | None:
        return customfields.form_values(self.cleaned_data) or None


class ConvertForm(forms.Form):
    """Which contact and company the lead becomes (existing ones the page found, or new),
    and the deal to open, if any."""

    contact = forms.ChoiceField(label=_("Contact"), widget=forms.RadioSelect)
    company = forms.ChoiceField(label=_("Company"), widget=forms.RadioSelect)
    create_deal = forms.BooleanField(label=_("Open a deal"), required=False)
    deal_name = forms.CharField(label=_("Deal name"), max_length=200, required=False)
    amount = forms.DecimalField(
        label=_("Amount"), max_digits=18, decimal_places=4, required=False, min_value=0
    )
    currency = forms.ModelChoiceField(
        label=_("Currency"), queryset=Currency.objects.filter(active=True), required=False
    )
    pipeline = forms.ModelChoiceField(
        label=_("Pipeline"), queryset=Pipeline.objects.filter(active=True), required=False
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, lead: Lead, candidates: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "contact": str(candidates.contacts[0].pk) if candidates.contacts else NEW,
                "company": str(candidates.companies[0].pk)
                if candidates.companies
                else (NEW if lead.company_name else NONE),
                "deal_name": lead.company_name or str(lead),
                "version": lead.version,
            },
        )
        super().__init__(*args, **kwargs)
        self.fields["contact"].choices = [
            *((str(c.pk), _("Use %(name)s") % {"name": c}) for c in candidates.contacts),
            (NEW, _("Create a new contact from the lead")),
        ]
        company_choices = [
            (str(c.pk), _("Use %(name)s") % {"name": c}) for c in candidates.companies
        ]
        if lead.company_name:
            company_choices.append(
                (NEW, _("Create the company %(name)s") % {"name": lead.company_name})
            )
        company_choices.append((NONE, _("No company")))
        self.fields["company"].choices = company_choices

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        deal = None
        if data["create_deal"]:
            deal = {"name": data["deal_name"] or None, "amount": data["amount"]}
            if data["currency"] is not None:
                deal["currency"] = data["currency"]
            if data["pipeline"] is not None:
                deal["pipeline"] = data["pipeline"]
            deal = {key: value for key, value in deal.items() if value is not None}
        return {
            "contact": None if data["contact"] == NEW else int(data["contact"]),
            "company": None if data["company"] in (NEW, NONE) else int(data["company"]),
            "create_company": data["company"] == NEW,
            "deal": deal,
            "expected_version": data.get("version"),
        }


class WebFormForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    title = forms.CharField(label=_("Title shown"), max_length=200, required=False)
    introduction = forms.CharField(
        label=_("Introduction"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    submit_label = forms.CharField(label=_("Button label"), max_length=50, required=False)
    consent_text = forms.CharField(
        label=_("Consent text"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("When set, the form shows a checkbox with this text."),
    )
    consent_required = forms.BooleanField(label=_("Consent required"), required=False)
    thank_you_message = forms.CharField(
        label=_("Thank-you message"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    redirect_url = forms.CharField(label=_("Redirect to"), max_length=500, required=False)
    source = forms.ChoiceField(
        label=_("Lead source"), choices=LeadSource.choices, initial=LeadSource.WEB_FORM
    )
    owner = forms.ModelChoiceField(
        label=_("Assign to"),
        queryset=User.objects.filter(is_active=True),
        required=False,
        empty_label=_("Routing rules decide"),
    )
    team = _teams()
    rate_limit = forms.IntegerField(
        label=_("Submissions per minute per address"), min_value=1, max_value=1000, initial=10
    )

    def __init__(self, *args: Any, web_form: WebForm | None = None, **kwargs: Any) -> None:
        if web_form is not None:
            kwargs["initial"] = {name: getattr(web_form, name) for name in FORM_FIELDS}
        super().__init__(*args, **kwargs)

    def values(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in FORM_FIELDS}


class WebFormFieldForm(forms.Form):
    target = forms.ChoiceField(label=_("Lead field"), required=False)
    label = forms.CharField(label=_("Label"), max_length=200, required=False)
    required = forms.BooleanField(label=_("Required"), required=False)
    help_text = forms.CharField(label=_("Help text"), max_length=300, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = [("", "—"), *target_choices()]


WebFormFieldFormSet = forms.formset_factory(WebFormFieldForm, extra=3, can_delete=True)


def field_rows(formset: Any) -> list[dict[str, Any]]:
    """The fields a formset describes, in order, leaving out blank and deleted rows."""
    return [
        {name: form.cleaned_data[name] for name in ("target", "label", "required", "help_text")}
        for form in formset.forms
        if form.cleaned_data.get("target") and not form.cleaned_data.get("DELETE")
    ]


class ScoringRuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    engagement = forms.ChoiceField(
        label=_("Engagement"),
        required=False,
        choices=[("", _("— a field's value instead —")), *Engagement.choices],
    )
    max_times = forms.IntegerField(
        label=_("At most (times)"), required=False, min_value=1, help_text=_("Engagement only.")
    )
    field = forms.ChoiceField(label=_("Lead field"), required=False)
    operator = forms.ChoiceField(
        label=_("Condition"), required=False, choices=[("", "—"), *RuleOperator.choices]
    )
    value = forms.CharField(label=_("Value"), max_length=200, required=False)
    points = forms.IntegerField(label=_("Points"), min_value=-1000, max_value=1000)
    position = forms.IntegerField(label=_("Position"), min_value=0, required=False)

    def __init__(self, *args: Any, rule: ScoringRule | None = None, **kwargs: Any) -> None:
        if rule is not None:
            kwargs["initial"] = {name: getattr(rule, name) for name in SCORING_FIELDS}
        super().__init__(*args, **kwargs)
        self.fields["field"].choices = [("", "—"), *target_choices(for_rules=True)]

    def values(self) -> dict[str, Any]:
        values = {name: self.cleaned_data[name] for name in SCORING_FIELDS}
        if values["position"] is None:
            values.pop("position")
        return values


class RoutingRuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    countries = forms.CharField(
        label=_("Countries"),
        required=False,
        help_text=_("ISO 3166 codes separated by spaces or commas; empty for any country."),
    )
    field = forms.ChoiceField(label=_("Lead field"), required=False)
    value = forms.CharField(
        label=_("Equals"), max_length=200, required=False, help_text=_("Any case.")
    )
    user = forms.ModelChoiceField(
        label=_("Assign to"), queryset=User.objects.filter(is_active=True), required=False
    )
    team = _teams()
    round_robin = forms.BooleanField(label=_("Round robin within the team"), required=False)
    position = forms.IntegerField(label=_("Position"), min_value=0, required=False)

    def __init__(self, *args: Any, rule: RoutingRule | None = None, **kwargs: Any) -> None:
        if rule is not None:
            initial = {name: getattr(rule, name) for name in ROUTING_FIELDS}
            initial["countries"] = " ".join(rule.countries)
            kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        self.fields["field"].choices = [("", "—"), *target_choices(for_rules=True)]

    def values(self) -> dict[str, Any]:
        values = {name: self.cleaned_data[name] for name in ROUTING_FIELDS}
        if values["position"] is None:
            values.pop("position")
        return values
