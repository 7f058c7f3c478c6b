"""API for products (with stock adjustments), price books and their prices, currencies,
exchange rates and conversion. Thin: schemas → ``sales.services`` / ``sales.queries``.

A product the caller may not see answers 404; one they may see but not change, 403.
Price books, currencies and rates are readable by every signed-in user and changed by
admins only.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Query, Router
from ninja.responses import Status

from rapport.accounts.models import Team, User
from rapport.core.api import (
    IF_MATCH,
    IF_NONE_MATCH,
    PageOut,
    PageParams,
    actor,
    created,
    current_user,
    objects_by_ids,
    paginate,
    problems,
    trashed,
)
from rapport.core.etag import conditional_read, expected_version, set_etag
from rapport.core.permissions import get_visible_or_404
from rapport.sales import queries, services
from rapport.sales.models import Currency, ExchangeRate, PriceBook, Product
from rapport.sales.money import base_currency, convert, normalize_code
from rapport.sales.schemas import (
    ConvertOut,
    ConvertParams,
    CurrencyIn,
    CurrencyOut,
    CurrencyPatch,
    EntryOut,
    PriceBookIn,
    PriceBookOut,
    PriceBookPatch,
    PriceIn,
    ProductFilters,
    ProductIn,
    ProductOut,
    ProductPatch,
    RateIn,
    RateOut,
    RatePatch,
    StockAdjustmentIn,
)

router = Router(tags=["sales"])


# Products


def _visible_product(request: HttpRequest, product_id: int) -> Product:
    return get_visible_or_404(Product.objects.all(), current_user(request), pk=product_id)


def _product_arguments(data: dict[str, Any]) -> dict[str, Any]:
    """Service arguments from a body: owner and team ids become a user and a team."""
    arguments: dict[str, Any] = {}
    if "custom" in data:
        arguments["custom"] = data.pop("custom")
    if data.get("owner") is not None:
        users = User.objects.filter(is_active=True)
        data["owner"] = objects_by_ids(users, [data["owner"]], field="owner")[0]
    if data.get("team") is not None:
        data["team"] = objects_by_ids(Team.objects.all(), [data["team"]], field="team")[0]
    arguments["values"] = data
    return arguments


def _read_back(response: HttpResponse, product: Product) -> Product:
    product = queries.with_prices([Product.objects.get(pk=product.pk)])[0]
    set_etag(response, product)
    return product


@router.get("/products", response={200: PageOut[ProductOut], **problems(400, 422)})
def product_list(
    request: HttpRequest,
    response: HttpResponse,
    filters: Query[ProductFilters],
    page: Query[PageParams],
) -> dict:
    """The products you may see, filtered and sorted as the products page does."""
    filterset, ordering = queries.product_list(current_user(request), request.GET)
    result = paginate(request, response, filterset.qs, ordering=ordering, params=page)
    queries.with_prices(result["items"])
    return result


@router.post("/products", response={201: ProductOut, **problems(403, 422)})
def product_create(request: HttpRequest, response: HttpResponse, payload: ProductIn) -> Status:
    """Add a product; its stock starts at zero (see stock-adjustments)."""
    product = services.product_create(
        actor=actor(request), **_product_arguments(payload.model_dump(exclude_unset=True))
    )
    product = _read_back(response, product)
    return created(response, product, "api:product_detail", product_id=product.pk)


@router.get(
    "/products/{int:product_id}",
    response={200: ProductOut, 304: None, **problems(404)},
    openapi_extra=IF_NONE_MATCH,
)
def product_detail(request: HttpRequest, response: HttpResponse, product_id: int) -> object:
    """One product, with its ETag; send it as If-None-Match to get 304 when unchanged."""
    product = queries.with_prices([_visible_product(request, product_id)])[0]
    return conditional_read(request, response, product)


@router.patch(
    "/products/{int:product_id}",
    response={200: ProductOut, **problems(400, 403, 404, 412, 422)},
    openapi_extra=IF_MATCH,
)
def product_update(
    request: HttpRequest, response: HttpResponse, product_id: int, payload: ProductPatch
) -> Product:
    """Change a product's fields (not its stock). Honours If-Match."""
    product = services.product_update(
        _visible_product(request, product_id),
        actor=actor(request),
        expected_version=expected_version(request),
        **_product_arguments(payload.model_dump(exclude_unset=True)),
    )
    return _read_back(response, product)


@router.delete(
    "/products/{int:product_id}",
    response={204: None, **problems(400, 403, 404, 412)},
    openapi_extra=IF_MATCH,
)
def product_delete(request: HttpRequest, product_id: int) -> Status:
    """Move a product to the trash. Honours If-Match."""
    return trashed(request, services.product_delete, _visible_product(request, product_id))


@router.post(
    "/products/{int:product_id}/stock-adjustments",
    response={200: ProductOut, **problems(400, 403, 404, 412, 422)},
    openapi_extra=IF_MATCH,
)
def product_adjust_stock(
    request: HttpRequest, response: HttpResponse, product_id: int, payload: StockAdjustmentIn
) -> Product:
    """Add (or, negative, remove) units of stock on hand, with the reason; the product
    answers. Stock on hand never goes below zero. Honours If-Match."""
    product = services.product_adjust_stock(
        _visible_product(request, product_id),
        actor=actor(request),
        change=payload.change,
        reason=payload.reason,
        expected_version=expected_version(request),
    )
    return _read_back(response, product)


# Price books


def _price_book(price_book_id: int) -> PriceBook:
    return get_object_or_404(PriceBook, pk=price_book_id)


@router.get("/price-books", response={200: PageOut[PriceBookOut], **problems(400, 422)})
def price_book_list(request: HttpRequest, response: HttpResponse, page: Query[PageParams]) -> dict:
    """Every price book, by id."""
    return paginate(request, response, PriceBook.objects.all(), ordering=["id"], params=page)


@router.post("/price-books", response={201: PriceBookOut, **problems(403, 422)})
def price_book_create(request: HttpRequest, response: HttpResponse, payload: PriceBookIn) -> Status:
    """Add a price book (admins)."""
    book = services.price_book_create(actor=actor(request), values=payload.model_dump())
    return created(response, book, "api:price_book_detail", price_book_id=book.pk)


@router.get("/price-books/{int:price_book_id}", response={200: PriceBookOut, **problems(404)})
def price_book_detail(request: HttpRequest, price_book_id: int) -> PriceBook:
    return _price_book(price_book_id)


@router.patch(
    "/price-books/{int:price_book_id}",
    response={200: PriceBookOut, **problems(403, 404, 422)},
)
def price_book_update(
    request: HttpRequest, price_book_id: int, payload: PriceBookPatch
) -> PriceBook:
    """Change a price book (admins); made the default, it replaces the currency's."""
    return services.price_book_update(
        _price_book(price_book_id),
        actor=actor(request),
        values=payload.model_dump(exclude_unset=True),
    )


@router.delete("/price-books/{int:price_book_id}", response={204: None, **problems(403, 404)})
def price_book_delete(request: HttpRequest, price_book_id: int) -> Status:
    """Delete a price book and its prices (admins)."""
    services.price_book_delete(_price_book(price_book_id), actor=actor(request))
    return Status(204, None)


@router.get(
    "/price-books/{int:price_book_id}/entries",
    response={200: PageOut[EntryOut], **problems(400, 404, 422)},
)
def price_book_entries(
    request: HttpRequest, response: HttpResponse, price_book_id: int, page: Query[PageParams]
) -> dict:
    """The book's prices of the products you may see, by product id."""
    book = _price_book(price_book_id)
    entries = book.entries.filter(
        product__in=queries.visible_products(current_user(request))
    ).select_related("product")
    return paginate(request, response, entries, ordering=["product_id"], params=page)


@router.put(
    "/price-books/{int:price_book_id}/entries/{int:product_id}",
    response={200: EntryOut, **problems(403, 404, 422)},
)
def price_set(
    request: HttpRequest, price_book_id: int, product_id: int, payload: PriceIn
) -> models.Model:
    """Set the product's unit price in this book (admins)."""
    return services.price_set(
        _price_book(price_book_id),
        actor=actor(request),
        product=_visible_product(request, product_id),
        unit_price=payload.unit_price,
    )


@router.delete(
    "/price-books/{int:price_book_id}/entries/{int:product_id}",
    response={204: None, **problems(403, 404)},
)
def price_remove(request: HttpRequest, price_book_id: int, product_id: int) -> Status:
    """Take the product out of this book (admins)."""
    services.price_remove(
        _price_book(price_book_id),
        actor=actor(request),
        product=_visible_product(request, product_id),
    )
    return Status(204, None)


# Currencies and rates


def _currency(code: str) -> Currency:
    return get_object_or_404(Currency, code=normalize_code(code))


@router.get("/currencies/convert", response={200: ConvertOut, **problems(422)})
def currency_convert(request: HttpRequest, params: Query[ConvertParams]) -> dict:
    """An amount in another currency at the rates valid on a day (422 naming the currency
    that has no rate then)."""
    target = normalize_code(params.to) if params.to else None
    converted = convert(params.amount, params.currency, params.on, to=target)
    return {
        "amount": params.amount,
        "currency": normalize_code(params.currency),
        "to": target or base_currency(),
        "on": params.on,
        "converted": converted,
    }


@router.get("/currencies", response={200: list[CurrencyOut], **problems()})
def currency_list(request: HttpRequest, active: bool | None = None) -> models.QuerySet:
    """Every currency of the workspace (or only the active ones, or inactive), by code."""
    currencies = Currency.objects.all()
    return currencies if active is None else currencies.filter(active=active)


@router.post("/currencies", response={201: CurrencyOut, **problems(403, 422)})
def currency_create(request: HttpRequest, response: HttpResponse, payload: CurrencyIn) -> Status:
    """Add a currency (admins); an ISO 4217 code gets ISO's name and decimal places."""
    currency = services.currency_create(actor=actor(request), **payload.model_dump())
    return created(response, currency, "api:currency_detail", code=currency.code)


@router.get("/currencies/{code}", response={200: CurrencyOut, **problems(404)})
def currency_detail(request: HttpRequest, code: str) -> Currency:
    return _currency(code)


@router.patch("/currencies/{code}", response={200: CurrencyOut, **problems(403, 404, 422)})
def currency_update(request: HttpRequest, code: str, payload: CurrencyPatch) -> Currency:
    """Rename a currency, change its decimal places or (de)activate it (admins)."""
    return services.currency_update(
        _currency(code), actor=actor(request), **payload.model_dump(exclude_unset=True)
    )


@router.get("/currencies/{code}/rates", response={200: PageOut[RateOut], **problems(400, 404, 422)})
def rate_list(
    request: HttpRequest, response: HttpResponse, code: str, page: Query[PageParams]
) -> dict:
    """The currency's exchange rates, latest first."""
    rates = _currency(code).rates.all()
    return paginate(request, response, rates, ordering=["-valid_from", "-id"], params=page)


@router.post("/currencies/{code}/rates", response={201: RateOut, **problems(403, 404, 422)})
def rate_create(request: HttpRequest, response: HttpResponse, code: str, payload: RateIn) -> Status:
    """Add a rate: one unit of the currency in the base currency, from a day on (admins)."""
    rate = services.rate_create(
        actor=actor(request), currency=_currency(code), **payload.model_dump()
    )
    return created(response, rate, "api:rate_detail", code=rate.currency_id, rate_id=rate.pk)


def _rate(code: str, rate_id: int) -> ExchangeRate:
    return get_object_or_404(ExchangeRate, currency_id=normalize_code(code), pk=rate_id)


@router.get("/currencies/{code}/rates/{int:rate_id}", response={200: RateOut, **problems(404)})
def rate_detail(request: HttpRequest, code: str, rate_id: int) -> ExchangeRate:
    return _rate(code, rate_id)


@router.patch(
    "/currencies/{code}/rates/{int:rate_id}",
    response={200: RateOut, **problems(403, 404, 422)},
)
def rate_update(request: HttpRequest, code: str, rate_id: int, payload: RatePatch) -> ExchangeRate:
    """Correct a rate or its day (admins)."""
    return services.rate_update(
        _rate(code, rate_id), actor=actor(request), **payload.model_dump(exclude_unset=True)
    )


@router.delete("/currencies/{code}/rates/{int:rate_id}", response={204: None, **problems(403, 404)})
def rate_delete(request: HttpRequest, code: str, rate_id: int) -> Status:
    """Delete a rate entered by mistake (admins); the one before applies again."""
    services.rate_delete(_rate(code, rate_id), actor=actor(request))
    return Status(204, None)
