"""Forms of the order pages (and the quote pages, which share the line formset): the
order's header, its lines as a formset, and the mapping of a service's
``lines.<index>.<field>`` errors back onto the formset's rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from django import forms
from django.core.exceptions import ValidationError
from django.forms import formset_factory
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rapport.contacts.forms import LookupSelect
from rapport.contacts.models import Company, Contact
from rapport.core.forms import apply_service_errors
from rapport.core.permissions import scope
from rapport.sales.documents import LINES
from rapport.sales.models import Currency, Product
from rapport.sales.money import base_currency

if TYPE_CHECKING:
    from rapport.accounts.models import User


T = TypeVar("T")

# A row holding none of these was left empty.
LINE_MARKERS = ("product", "name", "unit_price")


class ContactLookupSelect(LookupSelect):
    template_name = "sales/orders/_contact_lookup_select.html"


class DateInput(forms.DateInput):
    input_type = "date"


class OrderForm(forms.Form):
    contact = forms.ModelChoiceField(
        label=_("Contact"),
        queryset=Contact.objects.none(),
        required=False,
        widget=ContactLookupSelect("sales:order_contact_lookup"),
    )
    company = forms.ModelChoiceField(
        label=_("Company"),
        queryset=Company.objects.none(),
        required=False,
        help_text=_("The contact's company when left empty."),
        widget=LookupSelect("contacts:company_lookup"),
    )
    currency = forms.ModelChoiceField(label=_("Currency"), queryset=Currency.objects.none())
    order_date = forms.DateField(label=_("Order date"), widget=DateInput)
    allow_backorder = forms.BooleanField(
        label=_("Allow backorder"),
        required=False,
        help_text=_("Confirm even when stock is short: the order waits for stock to ship."),
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    deal = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("currency", base_currency())
        kwargs["initial"].setdefault("order_date", timezone.localdate())
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = scope(Contact.objects.all(), user)
        self.fields["company"].queryset = scope(Company.objects.all(), user)
        self.fields["currency"].queryset = Currency.objects.filter(active=True)

    def values(self) -> dict[str, Any]:
        return {name: value for name, value in self.cleaned_data.items() if value is not None}


class LineForm(forms.Form):
    product = forms.ModelChoiceField(
        label=_("Product"), queryset=Product.objects.none(), required=False
    )
    name = forms.CharField(
        label=_("Item"), max_length=200, required=False, help_text=_("The product's name if empty.")
    )
    quantity = forms.IntegerField(label=_("Quantity"), initial=1, required=False)
    unit_price = forms.DecimalField(
        label=_("Unit price"), required=False, help_text=_("The product's price if empty.")
    )
    discount_percent = forms.DecimalField(label=_("Discount %"), required=False, initial=0)
    tax_rate = forms.DecimalField(
        label=_("Tax %"), required=False, help_text=_("The product's rate if empty.")
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = scope(Product.objects.filter(active=True), user)


LineFormSet = formset_factory(LineForm, extra=1, can_delete=True)


def line_formset(data: Any, *, user: User, initial: list[dict[str, Any]] | None = None) -> Any:
    formset = LineFormSet(data, prefix=LINES, initial=initial, form_kwargs={"user": user})
    formset.title = _("Lines")
    return formset


def filled_rows(formset: Any) -> list[forms.Form]:
    """The rows that hold a line (a product, an item name or a price), not deleted."""
    return [
        row
        for row in formset.forms
        if not row.cleaned_data.get("DELETE")
        and any(row.cleaned_data.get(name) not in (None, "") for name in LINE_MARKERS)
    ]


def line_values(rows: list[forms.Form]) -> list[dict[str, Any]]:
    return [
        {
            name: value
            for name, value in row.cleaned_data.items()
            if name != "DELETE" and value not in (None, "")
        }
        for row in rows
    ]


def show_errors(form: forms.Form, rows: list[forms.Form], error: ValidationError) -> None:
    """A service's errors on the form's fields, and ``lines.<i>.<field>`` on row ``i``."""
    general: dict[str, list[str]] = {}
    for key, messages in error.message_dict.items():
        parts = key.split(".")
        if (
            len(parts) == 3
            and parts[0] == LINES
            and parts[1].isdigit()
            and int(parts[1]) < len(rows)
        ):
            row = rows[int(parts[1])]
            for message in messages:
                row.add_error(parts[2] if parts[2] in row.fields else None, message)
        else:
            general[key] = messages
    if general:
        apply_service_errors(form, ValidationError(general))


def save_document(
    data: Any, form: forms.Form, formset: Any, save: Callable[[list[dict[str, Any]]], T]
) -> T | None:
    """Check a posted document form and its lines, then ``save(lines)``; what it
    returned, or ``None`` with the service's errors shown on the header and the rows."""
    if data is None or not form.is_valid() & formset.is_valid():
        return None
    rows = filled_rows(formset)
    try:
        return save(line_values(rows))
    except ValidationError as error:
        show_errors(form, rows, error)
        return None


class QuoteForm(forms.Form):
    contact = OrderForm.base_fields["contact"]
    company = OrderForm.base_fields["company"]
    currency = forms.ModelChoiceField(label=_("Currency"), queryset=Currency.objects.none())
    valid_until = forms.DateField(label=_("Valid until"), widget=DateInput)
    confirm_order_on_accept = forms.BooleanField(
        label=_("Confirm the order on acceptance"),
        required=False,
        help_text=_("The order made when the customer accepts reserves its stock at once."),
    )
    win_deal_on_accept = forms.BooleanField(
        label=_("Mark the deal won on acceptance"), required=False, initial=True
    )
    terms = forms.CharField(
        label=_("Terms"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    notes = forms.CharField(
        label=_("Internal notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = scope(Contact.objects.all(), user)
        self.fields["company"].queryset = scope(Company.objects.all(), user)
        self.fields["currency"].queryset = Currency.objects.filter(active=True)

    def values(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class SendQuoteForm(forms.Form):
    message = forms.CharField(
        label=_("Message"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Put above the link and the PDF in the email."),
    )
