"""The read side of sales: products the user may see, the filtered product list that the
page and the API share, and prices from the default price books."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import django_filters
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F
from django.http import QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.contacts.filtersets import SORT_PARAM, sort_orders
from rapport.contacts.queries import as_query_dict
from rapport.core import search
from rapport.core.permissions import scope
from rapport.sales.models import PriceBookEntry, Product
from rapport.sales.money import base_currency

if TYPE_CHECKING:
    from rapport.accounts.models import User


def visible_products(user: User | None) -> models.QuerySet[Product]:
    return scope(Product.objects.all(), user)


class ProductFilterSet(django_filters.FilterSet):
    """The product list's query contract: ``q`` (quick search of SKU, name and
    description), ``active``, ``in_stock`` (some stock neither sold nor reserved) and
    ``sort``."""

    q = django_filters.CharFilter(
        method="filter_search", label=gettext_lazy("Search"), max_length=10_000
    )
    active = django_filters.BooleanFilter(label=gettext_lazy("Active"))
    in_stock = django_filters.BooleanFilter(
        method="filter_in_stock", label=gettext_lazy("In stock")
    )
    sku = django_filters.CharFilter(lookup_expr="iexact", label=gettext_lazy("SKU"))

    sorts = sort_orders(
        {
            "name": ["name", "id"],
            "sku": ["sku", "id"],
            "stock_on_hand": ["stock_on_hand", "id"],
            "created_at": ["created_at", "id"],
            "updated_at": ["updated_at", "id"],
        }
    )
    default_sort = "name"

    class Meta:
        model = Product
        fields: list[str] = []

    @property
    def sort(self) -> str:
        return (self.data or {}).get(SORT_PARAM) or self.default_sort

    @property
    def ordering(self) -> list[str]:
        return self.sorts[self.sort]

    def sort_errors(self) -> dict[str, list[str]]:
        if self.sort in self.sorts:
            return {}
        keys = ", ".join(key for key in self.sorts if not key.startswith("-"))
        return {
            SORT_PARAM: [
                _("Sort by one of %(keys)s, with - in front for descending.") % {"keys": keys}
            ]
        }

    def filter_search(self, queryset: models.QuerySet, name: str, value: str) -> models.QuerySet:
        return search.filter_queryset(queryset, value)

    def filter_in_stock(
        self, queryset: models.QuerySet, name: str, value: bool | None
    ) -> models.QuerySet:
        available = queryset.filter(stock_on_hand__gt=F("reserved_quantity"))
        return available if value else queryset.exclude(stock_on_hand__gt=F("reserved_quantity"))


class InvalidProductFilters(ValidationError):
    """Filter values that do not validate, keyed by parameter; ``filterset`` holds the bound
    form so the page can show the errors."""

    def __init__(self, errors: dict[str, list[str]], filterset: ProductFilterSet) -> None:
        super().__init__(errors)
        self.filterset = filterset


def product_list(
    user: User | None, params: QueryDict | Mapping[str, Any]
) -> tuple[ProductFilterSet, list[str]]:
    """The products ``user`` may see that match ``params``: the filterset (its ``qs``) and
    the keyset ordering of the requested sort; ``InvalidProductFilters`` for bad values."""
    filterset = ProductFilterSet(as_query_dict(params), visible_products(user))
    errors = filterset.sort_errors()
    if not filterset.is_valid():
        errors |= {name: list(messages) for name, messages in filterset.form.errors.items()}
    if errors:
        raise InvalidProductFilters(errors, filterset)
    return filterset, filterset.ordering


@dataclass(frozen=True)
class Price:
    currency: str
    decimal_places: int
    unit_price: Decimal
    price_book_id: int
    price_book_name: str


def default_prices(product_ids: Iterable[int]) -> dict[int, list[Price]]:
    """Each product's unit price per currency, from the default price book of that
    currency (base currency first, then by code): one query for any number of products."""
    entries = (
        PriceBookEntry.objects.filter(product_id__in=list(product_ids), price_book__is_default=True)
        .select_related("price_book__currency")
        .order_by("price_book__currency_id")
    )
    prices: dict[int, list[Price]] = defaultdict(list)
    base = base_currency()
    for entry in entries:
        book = entry.price_book
        prices[entry.product_id].append(
            Price(
                book.currency_id, book.currency.decimal_places, entry.unit_price, book.pk, book.name
            )
        )
    for listed in prices.values():
        listed.sort(key=lambda price: (price.currency != base, price.currency))
    return prices


def unit_price(product: Product, currency: str) -> Decimal | None:
    """``product``'s price in ``currency``: its entry in that currency's default price
    book; ``None`` when it has none."""
    return (
        PriceBookEntry.objects.filter(
            product=product, price_book__currency_id=currency, price_book__is_default=True
        )
        .values_list("unit_price", flat=True)
        .first()
    )


def with_prices(products: list[Product]) -> list[Product]:
    """Set ``prices`` (``default_prices``) on each product, and ``base_price``, its price
    in the base currency or ``None``, for pages and the API."""
    prices = default_prices(product.pk for product in products)
    base = base_currency()
    for product in products:
        product.prices = prices.get(product.pk, [])
        product.base_price = next((p for p in product.prices if p.currency == base), None)
    return products
