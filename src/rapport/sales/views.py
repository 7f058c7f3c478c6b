"""Sales pages: the product list, a product's page, form and stock adjustment; price
books and their prices, currencies and exchange rates (admins). Thin: parse a form,
call ``sales.services`` or ``sales.queries``, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from rapport.contacts.columns import plain
from rapport.core.actors import Actor
from rapport.core.customfields import definitions_for
from rapport.core.forms import apply_field_rules, apply_service_errors, call_service
from rapport.core.pagination import keyset_page
from rapport.core.permissions import can, can_create, get_visible_or_404, mask_hidden_fields
from rapport.sales import queries, services
from rapport.sales.forms import (
    CurrencyForm,
    PriceBookForm,
    PriceForm,
    ProductForm,
    RateForm,
    StockAdjustmentForm,
)
from rapport.sales.models import Currency, ExchangeRate, PriceBook, PriceBookEntry, Product
from rapport.sales.money import base_currency
from rapport.web.decorators import admin_required

PAGE_SIZE = 50
CONFLICT_MESSAGE = gettext_lazy(
    "Someone else changed this product since you opened it. Reload the page to see their "
    "changes, then try again."
)


def _visible(request: HttpRequest, pk: int) -> Product:
    products = Product.objects.select_related("owner", "team")
    return get_visible_or_404(products, request.user, pk=pk)


# Products


@login_required
def product_list(request: HttpRequest) -> HttpResponse:
    """Products by name (or the chosen sort), filtered, a keyset page at a time."""
    page, errors = None, []
    try:
        filterset, ordering = queries.product_list(request.user, request.GET)
    except queries.InvalidProductFilters as invalid:
        errors = invalid.messages
    else:
        page = keyset_page(
            filterset.qs, ordering=ordering, cursor=request.GET.get("cursor"), limit=PAGE_SIZE
        )
        queries.with_prices(page.items)
    return render(
        request,
        "sales/product_list.html",
        {
            "page": page,
            "filter_errors": errors,
            "base": base_currency(),
            "query": request.GET,
            "filtered": any(request.GET.get(name) for name in ("q", "active", "in_stock")),
            "can_create": can_create(request.user, Product),
        },
    )


def _custom_rows(product: Product) -> list[dict[str, str]]:
    return [
        {"label": definition.label, "value": plain((product.custom or {}).get(definition.key))}
        for definition in definitions_for(Product)
    ]


def _detail(
    request: HttpRequest, product: Product, *, stock_form: StockAdjustmentForm | None = None
) -> HttpResponse:
    can_edit = can(request.user, "edit", product)
    if stock_form is None and can_edit:
        stock_form = StockAdjustmentForm(initial={"version": product.version})
    entries = (
        PriceBookEntry.objects.filter(product=product)
        .select_related("price_book__currency")
        .order_by("-price_book__is_default", "price_book__currency_id", "price_book__name")
    )
    return render(
        request,
        "sales/product_detail.html",
        {
            "record": product,
            "product": product,
            "entries": entries,
            "custom_fields": _custom_rows(product),
            "can_edit": can_edit,
            "can_delete": can(request.user, "delete", product),
            "stock_form": stock_form if can_edit else None,
        },
    )


@login_required
def product_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, mask_hidden_fields(request.user, _visible(request, pk)))


@login_required
def product_create(request: HttpRequest) -> HttpResponse:
    if not can_create(request.user, Product):
        raise PermissionDenied
    form = apply_field_rules(ProductForm(request.POST or None), request.user, Product)
    if request.method == "POST" and form.is_valid():
        product = call_service(
            form,
            lambda: services.product_create(
                actor=Actor.for_request(request), values=form.values(), custom=form.custom()
            ),
        )
        if product is not None:
            messages.success(request, _("Product created."))
            return redirect(product)
    return render(request, "sales/product_form.html", {"form": form, "product": None})


@login_required
def product_edit(request: HttpRequest, pk: int) -> HttpResponse:
    product = _visible(request, pk)
    if not can(request.user, "edit", product):
        raise PermissionDenied
    form = apply_field_rules(
        ProductForm(request.POST or None, product=product), request.user, Product
    )
    if request.method == "POST" and form.is_valid():
        saved = call_service(
            form,
            lambda: services.product_update(
                product,
                actor=Actor.for_request(request),
                values=form.values(),
                custom=form.custom(),
                expected_version=form.cleaned_data.get("version"),
            ),
            conflict=CONFLICT_MESSAGE,
        )
        if saved is not None:
            messages.success(request, _("Product saved."))
            return redirect(saved)
    return render(request, "sales/product_form.html", {"form": form, "product": product})


@login_required
@require_POST
def product_adjust_stock(request: HttpRequest, pk: int) -> HttpResponse:
    product = _visible(request, pk)
    form = StockAdjustmentForm(request.POST)
    if form.is_valid():
        adjusted = call_service(
            form,
            lambda: services.product_adjust_stock(
                product,
                actor=Actor.for_request(request),
                change=form.cleaned_data["change"],
                reason=form.cleaned_data["reason"],
                expected_version=form.cleaned_data.get("version"),
            ),
            conflict=CONFLICT_MESSAGE,
        )
        if adjusted is not None:
            messages.success(
                request,
                _("Stock on hand is now %(count)d.") % {"count": adjusted.stock_on_hand},
            )
            return redirect(adjusted)
    return _detail(request, product, stock_form=form)


@login_required
def product_delete(request: HttpRequest, pk: int) -> HttpResponse:
    product = _visible(request, pk)
    if not can(request.user, "delete", product):
        raise PermissionDenied
    if request.method == "POST":
        services.product_delete(product, actor=Actor.for_request(request))
        messages.success(request, _("The product is in the trash."))
        return redirect("sales:product_list")
    return render(
        request,
        "web/confirm_delete.html",
        {
            "title": _("Delete product “%(name)s”?") % {"name": product.name},
            "explanation": _(
                "It moves to the trash, from where it can be restored. Its SKU is free for "
                "another product meanwhile."
            ),
            "cancel_url": product.get_absolute_url(),
        },
    )


# Price books (admins)


@admin_required
def price_book_list(request: HttpRequest) -> HttpResponse:
    books = PriceBook.objects.select_related("currency").order_by(
        "currency_id", "-is_default", "name"
    )
    return render(request, "sales/price_book_list.html", {"books": books})


@admin_required
def price_book_create(request: HttpRequest) -> HttpResponse:
    form = PriceBookForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            book = services.price_book_create(
                actor=Actor.for_request(request), values=form.values()
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("Price book created: add its prices below."))
            return redirect(book)
    return render(request, "sales/price_book_form.html", {"form": form, "book": None})


def _book_page(
    request: HttpRequest,
    book: PriceBook,
    *,
    form: PriceBookForm | None = None,
    price_form: PriceForm | None = None,
) -> HttpResponse:
    entries = book.entries.filter(product__deleted_at__isnull=True).select_related("product")
    page = keyset_page(entries, ordering=["id"], cursor=request.GET.get("cursor"), limit=PAGE_SIZE)
    return render(
        request,
        "sales/price_book_detail.html",
        {
            "book": book,
            "page": page,
            "form": form or PriceBookForm(book=book),
            "price_form": price_form or PriceForm(),
        },
    )


@admin_required
def price_book_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The book's settings form (POST saves it) and its prices."""
    book = get_object_or_404(PriceBook.objects.select_related("currency"), pk=pk)
    if request.method != "POST":
        return _book_page(request, book)
    form = PriceBookForm(request.POST, book=book)
    if form.is_valid():
        try:
            book = services.price_book_update(
                book, actor=Actor.for_request(request), values=form.values()
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("Price book saved."))
            return redirect(book)
    return _book_page(request, book, form=form)


@admin_required
@require_POST
def price_book_set_price(request: HttpRequest, pk: int) -> HttpResponse:
    book = get_object_or_404(PriceBook.objects.select_related("currency"), pk=pk)
    form = PriceForm(request.POST)
    if form.is_valid():
        product = Product.objects.filter(sku__iexact=form.cleaned_data["sku"].strip()).first()
        if product is None:
            form.add_error("sku", _("No live product has this SKU."))
        else:
            try:
                services.price_set(
                    book,
                    actor=Actor.for_request(request),
                    product=product,
                    unit_price=form.cleaned_data["unit_price"],
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, _("Price of %(product)s saved.") % {"product": product})
                return redirect(book)
    return _book_page(request, book, price_form=form)


@admin_required
@require_POST
def price_book_remove_price(request: HttpRequest, pk: int, product_id: int) -> HttpResponse:
    book = get_object_or_404(PriceBook, pk=pk)
    product = get_object_or_404(Product.all_objects, pk=product_id)
    services.price_remove(book, actor=Actor.for_request(request), product=product)
    messages.success(
        request, _("%(product)s is no longer in this price book.") % {"product": product}
    )
    return redirect(book)


@admin_required
def price_book_delete(request: HttpRequest, pk: int) -> HttpResponse:
    book = get_object_or_404(PriceBook, pk=pk)
    if request.method == "POST":
        services.price_book_delete(book, actor=Actor.for_request(request))
        messages.success(request, _("The price book is deleted."))
        return redirect("sales:price_book_list")
    return render(
        request,
        "web/confirm_delete.html",
        {
            "title": _("Delete price book “%(name)s”?") % {"name": book.name},
            "explanation": _("Its prices are deleted with it. This cannot be undone."),
            "cancel_url": book.get_absolute_url(),
        },
    )


# Currencies and exchange rates (admins)


def _currencies_page(
    request: HttpRequest,
    *,
    currency_form: CurrencyForm | None = None,
    rate_form: RateForm | None = None,
) -> HttpResponse:
    base = base_currency()
    today = timezone.localdate()
    latest = ExchangeRate.objects.filter(currency=OuterRef("pk"), valid_from__lte=today).order_by(
        "-valid_from"
    )
    currencies = Currency.objects.annotate(
        rate=Subquery(latest.values("rate")[:1]),
        rate_from=Subquery(latest.values("valid_from")[:1]),
    ).order_by("-active", "code")
    return render(
        request,
        "sales/currency_list.html",
        {
            "base": base,
            "today": today,
            "currencies": currencies,
            "currency_form": currency_form or CurrencyForm(),
            "rate_form": rate_form
            or RateForm(base=base, initial={"valid_from": today.isoformat()}),
        },
    )


@admin_required
def currency_list(request: HttpRequest) -> HttpResponse:
    return _currencies_page(request)


@admin_required
@require_POST
def currency_create(request: HttpRequest) -> HttpResponse:
    form = CurrencyForm(request.POST)
    if form.is_valid():
        try:
            currency = services.currency_create(
                actor=Actor.for_request(request),
                code=form.cleaned_data["code"],
                name=form.cleaned_data["name"],
                decimal_places=form.cleaned_data["decimal_places"],
                active=form.cleaned_data["active"],
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("%(currency)s added.") % {"currency": currency})
            return redirect("sales:currency_list")
    return _currencies_page(request, currency_form=form)


@admin_required
@require_POST
def rate_create(request: HttpRequest) -> HttpResponse:
    form = RateForm(request.POST, base=base_currency())
    if form.is_valid():
        try:
            services.rate_create(actor=Actor.for_request(request), **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("Exchange rate added."))
            return redirect("sales:currency_list")
    return _currencies_page(request, rate_form=form)


@admin_required
def currency_edit(request: HttpRequest, code: str) -> HttpResponse:
    currency = get_object_or_404(Currency, code=code)
    form = CurrencyForm(request.POST or None, currency=currency)
    if request.method == "POST" and form.is_valid():
        values: dict[str, Any] = {
            name: form.cleaned_data[name] for name in ("name", "decimal_places", "active")
        }
        try:
            services.currency_update(currency, actor=Actor.for_request(request), **values)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("Currency saved."))
            return redirect("sales:currency_edit", code=currency.code)
    rates = keyset_page(
        currency.rates.select_related("created_by"),
        ordering=["-valid_from", "-id"],
        cursor=request.GET.get("cursor"),
        limit=PAGE_SIZE,
    )
    return render(
        request,
        "sales/currency_form.html",
        {
            "currency": currency,
            "form": form,
            "page": rates,
            "is_base": currency.code == base_currency(),
        },
    )


@admin_required
@require_POST
def rate_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rate = get_object_or_404(ExchangeRate, pk=pk)
    services.rate_delete(rate, actor=Actor.for_request(request))
    messages.success(request, _("Exchange rate deleted."))
    return redirect("sales:currency_edit", code=rate.currency_id)
