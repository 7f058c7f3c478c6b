"""The sales API through HTTP: products with ETags and stock adjustments, price books and
their prices, currencies, rates and conversion; bad input as problems naming the field,
and what reps, admins and other roles may do."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from rapport.sales import services
from rapport.sales.models import Currency, ExchangeRate, PriceBook, PriceBookEntry, Product
from rapport.sales.tests.conftest import DAY, actor_for, client_for, make_product

PROBLEM = "application/problem+json"
JSON = "application/json"

pytestmark = pytest.mark.django_db


def fields_of(response) -> list[str | None]:
    assert response["Content-Type"] == PROBLEM, response.content
    return [error["field"] for error in response.json()["errors"]]


# Products


def test_create_read_update_adjust_and_delete_a_product(manager, admin, usd_list):
    client = client_for(manager)
    created = client.post(
        "/api/v1/products",
        {"sku": "CHR-1", "name": "Chair", "tax_rate": "19.5", "custom": {}},
        content_type=JSON,
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["tax_rate"] == "19.500" and body["stock_on_hand"] == 0
    assert body["owner"] == manager.pk and body["prices"] == []
    url = created["Location"]
    assert url == f"/api/v1/products/{body['id']}" and created["ETag"] == 'W/"1"'

    services.price_set(
        usd_list, actor=actor_for(admin), product=Product.objects.get(), unit_price="99"
    )
    read = client.get(url)
    assert read.json()["prices"] == [
        {"currency": "USD", "unit_price": "99.0000", "price_book": usd_list.pk}
    ]
    assert client.get(url, HTTP_IF_NONE_MATCH=read["ETag"]).status_code == 304

    patched = client.patch(url, {"active": False}, content_type=JSON, HTTP_IF_MATCH=read["ETag"])
    assert patched.status_code == 200 and patched.json()["active"] is False
    assert patched["ETag"] == 'W/"2"'
    stale = client.patch(url, {"name": "Late"}, content_type=JSON, HTTP_IF_MATCH=read["ETag"])
    assert stale.status_code == 412 and stale.json()["current_version"] == 2
    unchanged = client.patch(url, {"tax_rate": 19.5}, content_type=JSON)
    assert unchanged.json()["version"] == 2

    adjusted = client.post(
        f"{url}/stock-adjustments",
        {"change": 7, "reason": "Delivery"},
        content_type=JSON,
        HTTP_IF_MATCH='W/"2"',
    )
    assert adjusted.status_code == 200
    assert (adjusted.json()["stock_on_hand"], adjusted.json()["available_quantity"]) == (7, 7)
    below = client.post(
        f"{url}/stock-adjustments", {"change": -8, "reason": "Sold"}, content_type=JSON
    )
    assert below.status_code == 422 and fields_of(below) == ["change"]

    assert client.delete(url, HTTP_IF_MATCH='W/"1"').status_code == 412
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"sku": "WID-1", "name": "Copy"}, "sku"),
        ({"sku": "wid-1", "name": "Copy"}, "sku"),
        ({"sku": "N-1", "name": "Taxing", "tax_rate": "100.01"}, "tax_rate"),
        ({"sku": "N-1", "name": "Taxing", "tax_rate": -5}, "tax_rate"),
        ({"sku": "N-1", "name": "Taxing", "tax_rate": "NaN"}, "tax_rate"),
        ({"sku": "N-1", "name": ""}, "name"),
        ({"sku": "N-1", "name": "Stocked", "stock_on_hand": 5}, "stock_on_hand"),
        ({"sku": "N-1", "name": "Owned", "owner": 10**6}, "owner"),
        ({"sku": "N-1", "name": "Custom", "custom": {"nope": 1}}, "custom.nope"),
    ],
)
def test_bad_products_are_422_naming_the_field(manager, widget, body, field):
    response = client_for(manager).post("/api/v1/products", body, content_type=JSON)
    assert response.status_code == 422
    assert field in fields_of(response)
    assert Product.all_objects.count() == 1


def test_stock_fields_cannot_be_patched(manager, widget):
    response = client_for(manager).patch(
        f"/api/v1/products/{widget.pk}", {"reserved_quantity": 3}, content_type=JSON
    )
    assert response.status_code == 422 and fields_of(response) == ["reserved_quantity"]


def test_a_rep_reads_products_but_may_not_change_them(alice_client, widget):
    url = f"/api/v1/products/{widget.pk}"
    assert alice_client.get(url).status_code == 200
    create = alice_client.post("/api/v1/products", {"sku": "A", "name": "A"}, content_type=JSON)
    assert create.status_code == 403 and create["Content-Type"] == PROBLEM
    assert alice_client.patch(url, {"name": "Mine"}, content_type=JSON).status_code == 403
    adjust = alice_client.post(
        f"{url}/stock-adjustments", {"change": 1, "reason": "x"}, content_type=JSON
    )
    assert adjust.status_code == 403
    assert alice_client.delete(url).status_code == 403
    assert Product.objects.get().name == "Widget"


def test_a_role_without_products_gets_404s(outsider, widget):
    client = client_for(outsider)
    url = f"/api/v1/products/{widget.pk}"
    assert client.get(url).status_code == 404
    assert client.patch(url, {"name": "X"}, content_type=JSON).status_code == 404
    assert client.get("/api/v1/products").json()["items"] == []


def test_the_list_filters_sorts_and_pages_in_constant_queries(
    alice_client, as_manager, as_admin, usd_list, eur_list, django_assert_max_num_queries
):
    for number in range(7):
        product = make_product(
            as_manager,
            f"P-{number}",
            f"Product {number}",
            active=number != 3,
            description="Blue ceramic" if number == 4 else "",
        )
        services.price_set(usd_list, actor=as_admin, product=product, unit_price=number)
        services.price_set(eur_list, actor=as_admin, product=product, unit_price=number + 1)
        if number % 2:
            services.product_adjust_stock(product, actor=as_manager, change=number, reason="In")

    with django_assert_max_num_queries(7):
        first = alice_client.get("/api/v1/products", {"limit": 3})
    body = first.json()
    assert [item["sku"] for item in body["items"]] == ["P-0", "P-1", "P-2"]
    assert [price["currency"] for price in body["items"][0]["prices"]] == ["USD", "EUR"]
    assert 'rel="next"' in first["Link"]
    with django_assert_max_num_queries(7):
        second = alice_client.get("/api/v1/products", {"limit": 3, "cursor": body["next_cursor"]})
    assert [item["sku"] for item in second.json()["items"]] == ["P-3", "P-4", "P-5"]

    def skus(**params) -> list[str]:
        return [
            item["sku"] for item in alice_client.get("/api/v1/products", params).json()["items"]
        ]

    assert skus(active="false") == ["P-3"]
    assert skus(in_stock="true") == ["P-1", "P-3", "P-5"]
    assert skus(q="ceramic") == ["P-4"]
    assert skus(sku="p-6") == ["P-6"]
    assert skus(sort="-stock_on_hand", limit=2) == ["P-5", "P-3"]
    bad = alice_client.get("/api/v1/products", {"sort": "price"})
    assert bad.status_code == 422 and fields_of(bad) == ["sort"]
    assert alice_client.get("/api/v1/products", {"cursor": "forged"}).status_code == 400


def test_anonymous_callers_are_401(client, widget):
    response = client.get("/api/v1/products")
    assert response.status_code == 401 and response["Content-Type"] == PROBLEM


# Price books and prices


def test_an_admin_keeps_price_books_and_prices(admin_client, widget):
    created = admin_client.post(
        "/api/v1/price-books",
        {"name": "List EUR", "currency": "eur", "is_default": True},
        content_type=JSON,
    )
    assert created.status_code == 201, created.content
    book = created.json()
    assert (book["currency"], book["is_default"]) == ("EUR", True)
    url = created["Location"]
    entry_url = f"{url}/entries/{widget.pk}"

    negative = admin_client.put(entry_url, {"unit_price": "-1"}, content_type=JSON)
    assert negative.status_code == 422 and fields_of(negative) == ["unit_price"]
    too_fine = admin_client.put(entry_url, {"unit_price": "1.00001"}, content_type=JSON)
    assert too_fine.status_code == 422 and fields_of(too_fine) == ["unit_price"]
    priced = admin_client.put(entry_url, {"unit_price": 18.5}, content_type=JSON)
    assert priced.status_code == 200
    assert priced.json()["unit_price"] == "18.5000" and priced.json()["sku"] == "WID-1"
    assert (
        admin_client.get(f"/api/v1/products/{widget.pk}").json()["prices"][0]["currency"] == "EUR"
    )

    entries = admin_client.get(f"{url}/entries").json()["items"]
    assert [(item["product"], item["product_name"]) for item in entries] == [(widget.pk, "Widget")]
    renamed = admin_client.patch(url, {"name": "Euro list"}, content_type=JSON)
    assert renamed.json()["name"] == "Euro list"
    moved = admin_client.patch(url, {"currency": "GBP"}, content_type=JSON)
    assert moved.status_code == 422 and fields_of(moved) == ["currency"]

    assert admin_client.delete(entry_url).status_code == 204
    assert admin_client.delete(entry_url).status_code == 404
    assert admin_client.delete(url).status_code == 204
    assert not PriceBook.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Book", "currency": "XYZ"}, "currency"),
        ({"name": "Book", "currency": "SEK"}, "currency"),  # inactive, below
        ({"name": "Book"}, "currency"),
        ({"name": "", "currency": "USD"}, "name"),
        ({"name": "Book", "currency": "USD", "active": False, "is_default": True}, "is_default"),
    ],
)
def test_bad_price_books_are_422_naming_the_field(admin_client, body, field):
    Currency.objects.filter(code="SEK").update(active=False)
    response = admin_client.post("/api/v1/price-books", body, content_type=JSON)
    assert response.status_code == 422 and field in fields_of(response)
    assert not PriceBook.objects.exists()


def test_reps_read_price_books_of_products_they_see(
    alice_client, outsider, widget, usd_list, as_admin
):
    services.price_set(usd_list, actor=as_admin, product=widget, unit_price=3)
    url = f"/api/v1/price-books/{usd_list.pk}"
    assert alice_client.get("/api/v1/price-books").json()["items"][0]["name"] == "List USD"
    assert len(alice_client.get(f"{url}/entries").json()["items"]) == 1
    assert client_for(outsider).get(f"{url}/entries").json()["items"] == []
    refused = [
        alice_client.post(
            "/api/v1/price-books", {"name": "B", "currency": "USD"}, content_type=JSON
        ),
        alice_client.patch(url, {"name": "Mine"}, content_type=JSON),
        alice_client.put(f"{url}/entries/{widget.pk}", {"unit_price": 1}, content_type=JSON),
        alice_client.delete(f"{url}/entries/{widget.pk}"),
        alice_client.delete(url),
    ]
    assert [response.status_code for response in refused] == [403] * 5
    assert PriceBookEntry.objects.get().unit_price == 3
    assert alice_client.get("/api/v1/price-books/999").status_code == 404


# Currencies, rates and conversion


def test_currencies_and_rates(admin_client, alice_client):
    listed = alice_client.get("/api/v1/currencies", {"active": "true"}).json()
    assert len(listed) == 30
    assert {
        "code": "USD",
        "name": "US Dollar",
        "decimal_places": 2,
        "active": True,
        "is_base": True,
    } in listed

    created = admin_client.post("/api/v1/currencies", {"code": "isk"}, content_type=JSON)
    assert created.status_code == 201 and created["Location"] == "/api/v1/currencies/ISK"
    assert created.json()["decimal_places"] == 0
    unknown = admin_client.post("/api/v1/currencies", {"code": "QQQ"}, content_type=JSON)
    assert unknown.status_code == 422 and set(fields_of(unknown)) == {"name", "decimal_places"}
    base_off = admin_client.patch("/api/v1/currencies/USD", {"active": False}, content_type=JSON)
    assert base_off.status_code == 422 and fields_of(base_off) == ["active"]

    rates = "/api/v1/currencies/EUR/rates"
    added = admin_client.post(
        rates, {"rate": "1.08", "valid_from": "2030-03-01"}, content_type=JSON
    )
    assert added.status_code == 201 and added.json()["rate"] == "1.0800000000"
    rate_url = added["Location"]
    same_day = admin_client.post(
        rates, {"rate": "1.1", "valid_from": "2030-03-01"}, content_type=JSON
    )
    assert same_day.status_code == 422 and fields_of(same_day) == ["valid_from"]
    negative = admin_client.post(
        rates, {"rate": "-1", "valid_from": "2030-03-02"}, content_type=JSON
    )
    assert negative.status_code == 422 and fields_of(negative) == ["rate"]
    of_base = admin_client.post(
        "/api/v1/currencies/USD/rates", {"rate": "1", "valid_from": "2030-03-02"}, content_type=JSON
    )
    assert of_base.status_code == 422 and fields_of(of_base) == ["currency"]
    assert (
        admin_client.post(
            "/api/v1/currencies/XYZ/rates",
            {"rate": "1", "valid_from": "2030-03-02"},
            content_type=JSON,
        ).status_code
        == 404
    )

    patched = admin_client.patch(rate_url, {"rate": "1.085"}, content_type=JSON)
    assert patched.json()["rate"] == "1.0850000000"
    assert alice_client.get(rates).json()["items"][0]["id"] == added.json()["id"]
    assert alice_client.patch(rate_url, {"rate": "2"}, content_type=JSON).status_code == 403
    assert (
        alice_client.post("/api/v1/currencies", {"code": "CUP"}, content_type=JSON).status_code
        == 403
    )
    assert admin_client.delete(rate_url).status_code == 204
    assert not ExchangeRate.objects.exists()


def test_convert(alice_client, as_admin):
    services.rate_create(actor=as_admin, currency="EUR", rate="1.085", valid_from=DAY)
    services.rate_create(actor=as_admin, currency="GBP", rate="1.25", valid_from=DAY)
    answer = alice_client.get(
        "/api/v1/currencies/convert", {"amount": "100", "currency": "gbp", "on": DAY, "to": "EUR"}
    )
    assert answer.status_code == 200
    assert answer.json() == {
        "amount": "100",
        "currency": "GBP",
        "to": "EUR",
        "on": "2030-03-15",
        "converted": "115.21",
    }
    to_base = alice_client.get(
        "/api/v1/currencies/convert", {"amount": "10", "currency": "EUR", "on": DAY}
    )
    assert to_base.json()["to"] == "USD" and to_base.json()["converted"] == "10.85"
    early = alice_client.get(
        "/api/v1/currencies/convert",
        {"amount": "1", "currency": "EUR", "on": DAY - datetime.timedelta(days=1)},
    )
    assert early.status_code == 422 and fields_of(early) == ["currency"]
    assert "No exchange rate of EUR" in early.json()["errors"][0]["message"]
    unknown = alice_client.get(
        "/api/v1/currencies/convert", {"amount": "1", "currency": "XYZ", "on": DAY}
    )
    assert unknown.status_code == 422 and fields_of(unknown) == ["currency"]
    not_a_number = alice_client.get(
        "/api/v1/currencies/convert", {"amount": "many", "currency": "EUR", "on": DAY}
    )
    assert not_a_number.status_code == 422 and fields_of(not_a_number) == ["amount"]
    assert Decimal(to_base.json()["converted"]) == Decimal("10.85")
