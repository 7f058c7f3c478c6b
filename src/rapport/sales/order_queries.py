"""The read side of orders: the orders a user may see, the filtered list the page and the
API share, and a contact's or company's purchase history and lifetime value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import django_filters
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Prefetch, Sum
from django.http import QueryDict
from django.utils.translation import gettext_lazy

from rapport.contacts.models import Company, Contact
from rapport.contacts.queries import as_query_dict
from rapport.core.permissions import scope
from rapport.sales.models import SOLD_STATUSES, Order, OrderLine, OrderStatus, Quote, QuoteStatus

if TYPE_CHECKING:
    from rapport.accounts.models import User

# Newest first; ``id`` grows with the number, so it is the keyset too.
ORDERING = ["-id"]


def visible_orders(user: User | None) -> models.QuerySet[Order]:
    return scope(Order.objects.all(), user)


class OrderFilterSet(django_filters.FilterSet):
    """The order list's query contract: ``status``, ``contact``, ``company``, ``deal`` (ids)
    and ``number``."""

    status = django_filters.ChoiceFilter(choices=OrderStatus.choices, label=gettext_lazy("Status"))
    contact = django_filters.NumberFilter(field_name="contact_id", label=gettext_lazy("Contact"))
    company = django_filters.NumberFilter(field_name="company_id", label=gettext_lazy("Company"))
    deal = django_filters.NumberFilter(field_name="deal_id", label=gettext_lazy("Deal"))
    number = django_filters.CharFilter(lookup_expr="iexact", label=gettext_lazy("Number"))

    class Meta:
        model = Order
        fields: list[str] = []


class InvalidOrderFilters(ValidationError):
    """Filter values that do not validate; ``filterset`` holds the bound form."""

    def __init__(self, errors: dict[str, list[str]], filterset: OrderFilterSet) -> None:
        super().__init__(errors)
        self.filterset = filterset


def order_list(user: User | None, params: QueryDict | Mapping[str, Any]) -> OrderFilterSet:
    """The orders ``user`` may see that match ``params`` (``filterset.qs``, ordered by
    ``ORDERING``); ``InvalidOrderFilters`` for bad values."""
    filterset = OrderFilterSet(as_query_dict(params), visible_orders(user))
    if not filterset.is_valid():
        errors = {name: list(messages) for name, messages in filterset.form.errors.items()}
        raise InvalidOrderFilters(errors, filterset)
    return filterset


@dataclass(frozen=True)
class PurchaseHistory:
    orders: list[Order]
    more: bool
    lifetime_value: Decimal
    sold_count: int


def purchase_history(
    user: User | None, customer: Contact | Company, *, size: int
) -> PurchaseHistory:
    """The customer's latest ``size`` orders the user may see, with their lines and
    products, and the lifetime value: the base-currency total of those of its orders the
    user may see that were fulfilled or delivered."""
    field = "contact" if isinstance(customer, Contact) else "company"
    orders = visible_orders(user).filter(**{field: customer})
    latest = list(
        orders.select_related("currency")
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.select_related("product")))
        .order_by("-order_date", "-id")[: size + 1]
    )
    sold = orders.filter(status__in=SOLD_STATUSES).aggregate(
        value=Sum("total_base"), count=models.Count("id")
    )
    return PurchaseHistory(
        orders=latest[:size],
        more=len(latest) > size,
        lifetime_value=sold["value"] or Decimal(0),
        sold_count=sold["count"],
    )


# Quotes


def visible_quotes(user: User | None) -> models.QuerySet[Quote]:
    return scope(Quote.objects.all(), user)


class QuoteFilterSet(django_filters.FilterSet):
    """The quote list's query contract: ``status``, ``deal``, ``contact``, ``company``."""

    status = django_filters.ChoiceFilter(choices=QuoteStatus.choices, label=gettext_lazy("Status"))
    deal = django_filters.NumberFilter(field_name="deal_id", label=gettext_lazy("Deal"))
    contact = django_filters.NumberFilter(field_name="contact_id", label=gettext_lazy("Contact"))
    company = django_filters.NumberFilter(field_name="company_id", label=gettext_lazy("Company"))

    class Meta:
        model = Quote
        fields: list[str] = []


def quote_list(user: User | None, params: QueryDict | Mapping[str, Any]) -> QuoteFilterSet:
    """The quotes ``user`` may see that match ``params``; ``ValidationError`` for bad
    values."""
    filterset = QuoteFilterSet(as_query_dict(params), visible_quotes(user))
    if not filterset.is_valid():
        raise ValidationError(
            {name: list(messages) for name, messages in filterset.form.errors.items()}
        )
    return filterset
