"""Forms of the deal pages and the board. The services decide what is valid; these
forms parse input and show the services' errors on their fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from rapport.accounts.models import Team, User
from rapport.contacts.forms import LookupSelect
from rapport.contacts.models import Company, Contact
from rapport.core import customfields
from rapport.sales.deals import DEAL_FIELDS
from rapport.sales.forms import DATE_WIDGET
from rapport.sales.models import (
    PRICE_DECIMALS,
    PRICE_DIGITS,
    Currency,
    Deal,
    DealRole,
    ForecastCategory,
    LostReason,
    Pipeline,
    Product,
    Stage,
    StageKind,
)

FORM_FIELDS = tuple(name for name in DEAL_FIELDS if name not in ("lost_reason", "lost_note"))


def _stage_label(stage: Stage) -> str:
    return f"{stage.pipeline.name} · {stage.name}"


class StageChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Stage) -> str:
        return _stage_label(obj)


class DealForm(forms.Form):
    """A deal's own fields and its custom fields. Leaving the probability empty lets it
    follow the stage."""

    name = forms.CharField(label=_("Name"), max_length=200)
    pipeline = forms.ModelChoiceField(label=_("Pipeline"), queryset=Pipeline.objects.none())
    stage = StageChoiceField(
        label=_("Stage"),
        queryset=Stage.objects.none(),
        required=False,
        help_text=_("Empty: the pipeline's first stage."),
    )
    company = forms.ModelChoiceField(
        label=_("Company"), queryset=Company.objects.none(), required=False
    )
    amount = forms.DecimalField(
        label=_("Amount"), max_digits=PRICE_DIGITS, decimal_places=PRICE_DECIMALS, min_value=0
    )
    currency = forms.ModelChoiceField(label=_("Currency"), queryset=Currency.objects.none())
    expected_close_date = forms.DateField(
        label=_("Expected close date"), widget=DATE_WIDGET, required=False
    )
    probability = forms.IntegerField(
        label=_("Probability (%)"),
        min_value=0,
        max_value=100,
        required=False,
        help_text=_("Empty: the stage's default."),
    )
    forecast_category = forms.ChoiceField(
        label=_("Forecast category"), choices=ForecastCategory.choices
    )
    next_step = forms.CharField(label=_("Next step"), max_length=200, required=False)
    source = forms.CharField(label=_("Source"), max_length=20, required=False)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    owner = forms.ModelChoiceField(
        label=_("Owner"), queryset=User.objects.filter(is_active=True), required=False
    )
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.all(), required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(
        self,
        *args: Any,
        deal: Deal | None = None,
        companies: Any = None,
        **kwargs: Any,
    ) -> None:
        if deal is not None:
            initial = {name: getattr(deal, name) for name in FORM_FIELDS}
            initial["probability"] = deal.probability if deal.probability_is_set else None
            initial["version"] = deal.version
            initial |= {f"custom_{key}": value for key, value in (deal.custom or {}).items()}
            kwargs["initial"] = initial | (kwargs.get("initial") or {})
        super().__init__(*args, **kwargs)
        active = Pipeline.objects.filter(active=True)
        if deal is not None:
            active = active | Pipeline.objects.filter(pk=deal.pipeline_id)
        self.fields["pipeline"].queryset = active.distinct()
        self.fields["stage"].queryset = Stage.objects.filter(
            pipeline__in=self.fields["pipeline"].queryset
        ).select_related("pipeline")
        self.fields["currency"].queryset = Currency.objects.filter(active=True)
        # The widget first: setting the queryset hands it the choices.
        self.fields["company"].widget = LookupSelect("contacts:company_lookup")
        self.fields["company"].queryset = companies if companies is not None else Company.objects
        if deal is None:
            del self.fields["version"]
            self.fields["owner"].empty_label = _("Me")
        self.fields.update(customfields.form_fields(Deal))

    def values(self) -> dict[str, Any]:
        values = {name: self.cleaned_data[name] for name in FORM_FIELDS if name in self.fields}
        if values.get("stage") is None:
            values.pop("stage", None)
        if values.get("expected_close_date") is None:
            values.pop("expected_close_date")
        return values

    def custom(self) -> dict[str, Any] | None:
        return customfields.form_values(self.cleaned_data) or None


class MoveForm(forms.Form):
    """Move a card to another stage: the board's keyboard alternative to dragging, and
    what dragging submits."""

    stage = forms.ModelChoiceField(label=_("Move to"), queryset=Stage.objects.none())
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    lost_reason = forms.ModelChoiceField(
        label=_("Lost reason"), queryset=LostReason.objects.filter(active=True), required=False
    )
    lost_note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args: Any, deal: Deal, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"stage": deal.stage_id, "version": deal.version})
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = deal.pipeline.stages.all()


class LostForm(forms.Form):
    lost_reason = forms.ModelChoiceField(
        label=_("Why was it lost?"), queryset=LostReason.objects.filter(active=True)
    )
    lost_note = forms.CharField(label=_("Note"), max_length=300, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class ParticipantForm(forms.Form):
    contact = forms.ModelChoiceField(label=_("Contact"), queryset=Contact.objects.none())
    role = forms.ChoiceField(
        label=_("Role"), choices=[("", "—"), *DealRole.choices], required=False
    )

    def __init__(self, *args: Any, contacts: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contact"].widget = LookupSelect(
            "contacts:contact_lookup",
            placeholder=_("Type to find a contact…"),
            search_label=_("Find a contact"),
        )
        self.fields["contact"].queryset = contacts


class LineItemForm(forms.Form):
    product = forms.ModelChoiceField(
        label=_("Product"), queryset=Product.objects.filter(active=True), required=False
    )
    name = forms.CharField(
        label=_("Item"), max_length=200, required=False, help_text=_("Empty: the product's name.")
    )
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, initial=1)
    unit_price = forms.DecimalField(
        label=_("Unit price"),
        max_digits=PRICE_DIGITS,
        decimal_places=PRICE_DECIMALS,
        min_value=0,
        required=False,
        help_text=_("Empty: the product's price in the deal's currency."),
    )
    discount_percent = forms.DecimalField(
        label=_("Discount %"), max_digits=5, decimal_places=2, min_value=0, max_value=100, initial=0
    )
    tax_rate = forms.DecimalField(
        label=_("Tax %"), max_digits=6, decimal_places=3, min_value=0, max_value=100, required=False
    )

    def item(self) -> dict[str, Any]:
        data = {name: value for name, value in self.cleaned_data.items() if name != "DELETE"}
        data["product"] = data["product"].pk if data.get("product") else None
        return {name: value for name, value in data.items() if value is not None}


LineItemFormSet = forms.formset_factory(LineItemForm, extra=2, can_delete=True, max_num=200)


def closing_stages(deal: Deal) -> dict[str, Stage]:
    return {stage.kind: stage for stage in deal.pipeline.stages.exclude(kind=StageKind.OPEN)}
