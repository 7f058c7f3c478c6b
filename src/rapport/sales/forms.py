"""Forms of the sales pages: a product and its stock adjustment, price books and their
prices, currencies and exchange rates. The services decide what is valid; these
forms parse input and show the services' errors on their fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from rapport.accounts.models import Team, User
from rapport.core import customfields
from rapport.sales.models import (
    MAX_DECIMAL_PLACES,
    PRICE_DECIMALS,
    PRICE_DIGITS,
    RATE_DECIMALS,
    RATE_DIGITS,
    Currency,
    PriceBook,
    Product,
)
from rapport.sales.services import MAX_REASON_LENGTH, PRICE_BOOK_FIELDS, PRODUCT_FIELDS

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ProductForm(forms.Form):
    """A product's own fields and its custom fields; never its stock."""

    sku = forms.CharField(label=_("SKU"), max_length=64)
    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    tax_rate = forms.DecimalField(
        label=_("Tax rate (%)"), max_digits=6, decimal_places=3, initial=0
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    owner = forms.ModelChoiceField(
        label=_("Owner"), queryset=User.objects.filter(is_active=True), required=False
    )
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.all(), required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, product: Product | None = None, **kwargs: Any) -> None:
        if product is not None:
            initial = {name: getattr(product, name) for name in PRODUCT_FIELDS}
            initial["version"] = product.version
            initial |= {f"custom_{key}": value for key, value in (product.custom or {}).items()}
            kwargs["initial"] = initial | (kwargs.get("initial") or {})
        super().__init__(*args, **kwargs)
        if product is None:
            del self.fields["version"]
            self.fields["owner"].empty_label = _("Me")
        self.fields.update(customfields.form_fields(Product))

    def values(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in PRODUCT_FIELDS if name in self.fields}

    def custom(self) -> dict[str, Any] | None:
        return customfields.form_values(self.cleaned_data) or None


class StockAdjustmentForm(forms.Form):
    change = forms.IntegerField(
        label=_("Change"),
        help_text=_("Units received (e.g. 20) or removed (e.g. -3)."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=MAX_REASON_LENGTH)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class PriceBookForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    currency = forms.ModelChoiceField(label=_("Currency"), queryset=Currency.objects.none())
    description = forms.CharField(label=_("Description"), max_length=300, required=False)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    is_default = forms.BooleanField(
        label=_("Default for its currency"),
        required=False,
        help_text=_("Its prices are the products' prices in this currency."),
    )

    def __init__(self, *args: Any, book: PriceBook | None = None, **kwargs: Any) -> None:
        if book is not None:
            kwargs["initial"] = {name: getattr(book, name) for name in PRICE_BOOK_FIELDS}
        super().__init__(*args, **kwargs)
        # Active currencies, and the book's own even if it was made inactive since.
        currencies = Q(active=True) | Q(code=book.currency_id) if book else Q(active=True)
        self.fields["currency"].queryset = Currency.objects.filter(currencies)

    def values(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in PRICE_BOOK_FIELDS}


class PriceForm(forms.Form):
    """A product's price in a price book, by SKU."""

    sku = forms.CharField(label=_("SKU"), max_length=64)
    unit_price = forms.DecimalField(
        label=_("Unit price"), max_digits=PRICE_DIGITS, decimal_places=PRICE_DECIMALS
    )


class CurrencyForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=3,
        min_length=3,
        help_text=_("ISO 4217, e.g. NOK: the name and decimal places are filled in for you."),
    )
    name = forms.CharField(label=_("Name"), max_length=100, required=False)
    decimal_places = forms.IntegerField(
        label=_("Decimal places"), min_value=0, max_value=MAX_DECIMAL_PLACES, required=False
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, currency: Currency | None = None, **kwargs: Any) -> None:
        if currency is not None:
            kwargs["initial"] = {
                "code": currency.code,
                "name": currency.name,
                "decimal_places": currency.decimal_places,
                "active": currency.active,
            }
        super().__init__(*args, **kwargs)
        if currency is not None:
            self.fields["code"].disabled = True
            self.fields["name"].required = True
            self.fields["decimal_places"].required = True


class RateForm(forms.Form):
    currency = forms.ModelChoiceField(label=_("Currency"), queryset=Currency.objects.none())
    rate = forms.DecimalField(
        label=_("Rate"),
        max_digits=RATE_DIGITS,
        decimal_places=RATE_DECIMALS,
        help_text=_("The value of one unit of the currency in the base currency."),
    )
    valid_from = forms.DateField(label=_("Valid from"), widget=DATE_WIDGET)

    def __init__(self, *args: Any, base: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["currency"].queryset = Currency.objects.filter(active=True).exclude(code=base)
