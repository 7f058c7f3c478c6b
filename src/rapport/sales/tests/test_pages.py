"""The sales pages through HTTP: the product list, page and form, stock adjustments,
price books and currencies (admins), and who may open what."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType

from rapport.core.models import CustomFieldDefinition, FieldType
from rapport.sales import services
from rapport.sales.models import Currency, ExchangeRate, PriceBook, PriceBookEntry, Product
from rapport.sales.tests.conftest import DAY, client_for, make_product

pytestmark = pytest.mark.django_db


def names(response) -> list[str]:
    return [product.name for product in response.context["page"].items]


# The product list


def test_the_list_searches_filters_and_shows_base_prices(
    alice_client, as_manager, as_admin, usd_list, eur_list
):
    chair = make_product(as_manager, "CHR-1", "Office chair", description="Mesh back")
    lamp = make_product(as_manager, "LMP-1", "Desk lamp", active=False)
    make_product(as_manager, "DSK-1", "Standing desk")
    services.product_adjust_stock(chair, actor=as_manager, change=3, reason="Count")
    services.price_set(usd_list, actor=as_admin, product=chair, unit_price="389.5")
    services.price_set(eur_list, actor=as_admin, product=lamp, unit_price="59")

    response = alice_client.get("/products/")
    assert response.status_code == 200
    assert names(response) == ["Desk lamp", "Office chair", "Standing desk"]
    assert "389.50" in response.content.decode()
    assert names(alice_client.get("/products/", {"q": "mesh"})) == ["Office chair"]
    assert names(alice_client.get("/products/", {"q": "lmp-1"})) == ["Desk lamp"]
    assert names(alice_client.get("/products/", {"active": "false"})) == ["Desk lamp"]
    assert names(alice_client.get("/products/", {"in_stock": "true"})) == ["Office chair"]
    assert names(alice_client.get("/products/", {"in_stock": "false", "active": "true"})) == [
        "Standing desk"
    ]
    assert names(alice_client.get("/products/", {"sort": "-stock_on_hand"}))[0] == "Office chair"
    # A rep may not add products: no button.
    assert "/products/new/" not in response.content.decode()


def test_bad_filters_are_shown_not_failed(alice_client):
    response = alice_client.get("/products/", {"sort": "price", "active": "perhaps"})
    assert response.status_code == 200
    assert response.context["page"] is None
    assert any("Sort by one of" in error for error in response.context["filter_errors"])


def test_the_list_pages_by_keyset_in_constant_queries(
    alice_client, as_manager, as_admin, usd_list, django_assert_max_num_queries
):
    for number in range(55):
        product = make_product(as_manager, f"P-{number:02}", f"Product {number:02}")
        services.price_set(usd_list, actor=as_admin, product=product, unit_price=number)
    with django_assert_max_num_queries(6):
        first = alice_client.get("/products/")
    assert len(first.context["page"].items) == 50
    cursor = first.context["page"].next_cursor
    with django_assert_max_num_queries(6):
        second = alice_client.get("/products/", {"cursor": cursor})
    assert names(second) == [f"Product {number}" for number in range(50, 55)]


# A product's page


def test_the_product_page_shows_prices_stock_and_custom_fields(
    alice_client, widget, as_admin, usd_list
):
    CustomFieldDefinition.objects.create(
        content_type=ContentType.objects.get_for_model(Product),
        key="colour",
        label="Colour",
        field_type=FieldType.TEXT,
    )
    services.product_update(widget, actor=as_admin, custom={"colour": "Teal"})
    services.price_set(usd_list, actor=as_admin, product=widget, unit_price="0.0035")
    page = alice_client.get(widget.get_absolute_url()).content.decode()
    assert "Widget" in page and "Teal" in page and "0.0035" in page and "List USD" in page
    # A rep sees the product but neither edits it nor adjusts its stock.
    assert "Adjust stock" not in page
    assert f"/products/{widget.pk}/edit/" not in page


def test_a_product_outside_the_role_is_not_found(widget, outsider):
    client = client_for(outsider)
    assert client.get(widget.get_absolute_url()).status_code == 404
    assert client.get("/products/").context["page"].items == []


def test_a_rep_may_not_create_edit_adjust_or_delete(alice_client, widget):
    assert alice_client.get("/products/new/").status_code == 403
    assert alice_client.post("/products/new/", {"sku": "X", "name": "X"}).status_code == 403
    assert alice_client.get(f"/products/{widget.pk}/edit/").status_code == 403
    adjust = alice_client.post(f"/products/{widget.pk}/stock/", {"change": 5, "reason": "Hm"})
    assert adjust.status_code == 403
    assert alice_client.post(f"/products/{widget.pk}/delete/").status_code == 403
    assert Product.objects.get().stock_on_hand == 0 and Product.objects.count() == 1


def test_a_manager_creates_edits_and_deletes_a_product(manager, widget):
    client = client_for(manager)
    created = client.post(
        "/products/new/",
        {"sku": "CHR-9", "name": "Chair", "tax_rate": "19", "active": "on", "description": ""},
    )
    chair = Product.objects.get(sku="CHR-9")
    assert created.status_code == 302 and created["Location"] == chair.get_absolute_url()
    assert chair.tax_rate == Decimal("19") and chair.owner == manager

    refused = client.post(
        f"/products/{chair.pk}/edit/",
        {"sku": "wid-1", "name": "Chair", "tax_rate": "120", "version": chair.version},
    )
    assert refused.status_code == 200
    assert refused.context["form"].errors == {
        "sku": ["A live product already has this SKU."],
        "tax_rate": ["Ensure this value is less than or equal to 100."],
    }
    saved = client.post(
        f"/products/{chair.pk}/edit/",
        {"sku": "CHR-9", "name": "Chair, black", "tax_rate": "19", "version": chair.version},
    )
    assert saved.status_code == 302
    chair.refresh_from_db()
    assert chair.name == "Chair, black" and not chair.active
    stale = client.post(
        f"/products/{chair.pk}/edit/",
        {"sku": "CHR-9", "name": "Too late", "tax_rate": "19", "version": 1},
    )
    assert "Someone else changed this product" in stale.content.decode()

    assert client.post(f"/products/{chair.pk}/delete/").status_code == 302
    assert not Product.objects.filter(pk=chair.pk).exists()


def test_stock_is_adjusted_with_a_reason_from_the_product_page(manager, widget):
    client = client_for(manager)
    url = f"/products/{widget.pk}/stock/"
    missing = client.post(url, {"change": "5", "reason": "", "version": widget.version})
    assert missing.status_code == 200 and "reason" in missing.context["stock_form"].errors
    too_many = client.post(url, {"change": "-1", "reason": "Sold", "version": widget.version})
    assert "stock cannot go below zero" in too_many.content.decode()
    done = client.post(url, {"change": "5", "reason": "Delivery", "version": widget.version})
    assert done.status_code == 302
    assert Product.objects.get().stock_on_hand == 5
    history = client.get(f"/history/sales.product/{widget.pk}/").content.decode()
    assert "Delivery" in history


def test_restoring_a_product_whose_sku_was_taken_says_why(admin_client, as_admin, widget):
    services.product_delete(widget, actor=as_admin)
    make_product(as_admin, "WID-1", "Widget 2")
    response = admin_client.post(f"/trash/sales.product/{widget.pk}/restore/", follow=True)
    assert "cannot be restored: A live product already has this SKU." in response.content.decode()
    assert Product.all_objects.get(pk=widget.pk).is_deleted


def test_products_are_found_by_global_search(alice_client, widget):
    response = alice_client.get("/search/", {"q": "wid-1"})
    assert "Widget" in response.content.decode()


# Price books (admins)


def test_settings_pages_are_for_admins(alice_client, manager, usd_list):
    for url in (
        "/settings/price-books/",
        f"/settings/price-books/{usd_list.pk}/",
        "/settings/currencies/",
        "/settings/currencies/EUR/",
    ):
        assert alice_client.get(url).status_code == 403, url
        assert client_for(manager).get(url).status_code == 403, url
    refused = client_for(manager).post("/settings/currencies/rates/new/", {"currency": "EUR"})
    assert refused.status_code == 403
    nav = alice_client.get("/products/").content.decode()
    assert "/settings/price-books/" not in nav


def test_an_admin_keeps_a_price_book_and_its_prices(admin_client, widget, usd_list):
    created = admin_client.post(
        "/settings/price-books/new/",
        {"name": "Wholesale USD", "currency": "USD", "active": "on", "is_default": "on"},
    )
    book = PriceBook.objects.get(name="Wholesale USD")
    assert created.status_code == 302 and book.is_default
    usd_list.refresh_from_db()
    assert not usd_list.is_default

    url = f"/settings/price-books/{book.pk}/prices/"
    negative = admin_client.post(url, {"sku": "WID-1", "unit_price": "-3"})
    assert "unit_price" in negative.context["price_form"].errors
    unknown = admin_client.post(url, {"sku": "NOPE", "unit_price": "3"})
    assert unknown.context["price_form"].errors == {"sku": ["No live product has this SKU."]}
    assert admin_client.post(url, {"sku": "wid-1", "unit_price": "12.30"}).status_code == 302
    page = admin_client.get(f"/settings/price-books/{book.pk}/").content.decode()
    assert "12.30" in page and "Widget" in page

    removed = admin_client.post(f"/settings/price-books/{book.pk}/prices/{widget.pk}/remove/")
    assert removed.status_code == 302 and not PriceBookEntry.objects.exists()

    inactive_default = admin_client.post(
        f"/settings/price-books/{book.pk}/",
        {"name": "Wholesale USD", "currency": "USD", "is_default": "on"},
    )
    assert inactive_default.context["form"].errors == {
        "is_default": ["A default price book must be active."]
    }
    assert admin_client.post(f"/settings/price-books/{book.pk}/delete/").status_code == 302
    assert not PriceBook.objects.filter(pk=book.pk).exists()


# Currencies and rates (admins)


def test_an_admin_adds_currencies_and_rates(admin_client):
    assert admin_client.post("/settings/currencies/new/", {"code": "isk"}).status_code == 302
    iceland = Currency.objects.get(code="ISK")
    assert (iceland.name, iceland.decimal_places) == ("Iceland Krona", 0)
    duplicate = admin_client.post("/settings/currencies/new/", {"code": "NOK"})
    assert duplicate.context["currency_form"].errors == {
        "code": ["This currency is already listed."]
    }

    url = "/settings/currencies/rates/new/"
    added = admin_client.post(url, {"currency": "EUR", "rate": "1.0825", "valid_from": DAY})
    assert added.status_code == 302
    again = admin_client.post(url, {"currency": "EUR", "rate": "1.09", "valid_from": DAY})
    assert again.context["rate_form"].errors == {
        "valid_from": ["EUR already has a rate from 2030-03-15."]
    }
    zero = admin_client.post(url, {"currency": "GBP", "rate": "0", "valid_from": DAY})
    assert "rate" in zero.context["rate_form"].errors

    page = admin_client.get("/settings/currencies/EUR/").content.decode()
    assert "1.0825" in page
    rate = ExchangeRate.objects.get()
    assert admin_client.post(f"/settings/currencies/rates/{rate.pk}/delete/").status_code == 302
    assert not ExchangeRate.objects.exists()


def test_an_admin_deactivates_a_currency_but_not_the_base(admin_client):
    base = admin_client.post(
        "/settings/currencies/USD/", {"name": "US Dollar", "decimal_places": 2}
    )
    assert base.context["form"].errors == {"active": ["The base currency stays active."]}
    saved = admin_client.post(
        "/settings/currencies/SEK/", {"name": "Swedish krona", "decimal_places": 2}
    )
    assert saved.status_code == 302
    sek = Currency.objects.get(code="SEK")
    assert (sek.name, sek.active) == ("Swedish krona", False)
