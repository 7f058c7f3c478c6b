"""The rules of sales services: who may change the catalogue and the settings, what is
valid, and that each write is audited and announced."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from rapport.core import services as records
from rapport.core.exceptions import VersionConflict
from rapport.core.models import AuditEntry, OutboxEvent
from rapport.core.permissions import can, scope
from rapport.sales import services
from rapport.sales.models import Currency, ExchangeRate, PriceBook, PriceBookEntry, Product
from rapport.sales.queries import default_prices, unit_price
from rapport.sales.tests.conftest import DAY, actor_for, make_book, make_product

pytestmark = pytest.mark.django_db


def audit_of(obj) -> list[AuditEntry]:
    content_type = ContentType.objects.get_for_model(obj)
    return list(AuditEntry.objects.filter(content_type=content_type, object_id=str(obj.pk)))


def events_named(name: str) -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(name=name))


# Products: who may


def test_reps_see_every_product_but_only_managers_keep_the_catalogue(
    widget, alice, as_alice, charlie, manager
):
    assert list(scope(Product.objects.all(), alice)) == [widget]
    assert list(scope(Product.objects.all(), charlie)) == [widget]  # another team
    assert not can(alice, "edit", widget)
    with pytest.raises(PermissionDenied):
        make_product(as_alice, "WID-2")
    with pytest.raises(PermissionDenied):
        services.product_update(widget, actor=as_alice, values={"name": "Mine"})
    with pytest.raises(PermissionDenied):
        services.product_adjust_stock(widget, actor=as_alice, change=5, reason="Found")
    assert Product.objects.get().name == "Widget"
    assert can(manager, "delete", widget)


def test_a_role_without_products_sees_none(widget, outsider):
    assert not scope(Product.objects.all(), outsider).exists()
    with pytest.raises(Http404):
        services.product_update(widget, actor=actor_for(outsider), values={"name": "X"})


# Products: what is valid


def test_create_audits_announces_and_indexes(as_manager, manager):
    product = make_product(
        as_manager, "  WID-9 ", " Widget nine ", tax_rate="7.5", description="Blue"
    )
    assert (product.sku, product.name, product.tax_rate) == ("WID-9", "Widget nine", Decimal("7.5"))
    assert product.owner == manager and product.stock_on_hand == 0
    [entry] = audit_of(product)
    assert entry.changes["sku"] == [None, "WID-9"]
    assert [event.aggregate_id for event in events_named("product.created")] == [str(product.pk)]


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"tax_rate": Decimal("100.5")}, "tax_rate"),
        ({"tax_rate": Decimal("-1")}, "tax_rate"),
        ({"tax_rate": "NaN"}, "tax_rate"),
        ({"tax_rate": "lots"}, "tax_rate"),
        ({"name": ""}, "name"),
        ({"stock_on_hand": 50}, "stock_on_hand"),
        ({"reserved_quantity": 1}, "reserved_quantity"),
    ],
)
def test_bad_product_values_are_refused_by_field(as_manager, values, field):
    with pytest.raises(ValidationError) as caught:
        make_product(as_manager, "BAD-1", **values)
    assert field in caught.value.message_dict
    assert not Product.all_objects.exists()


def test_a_sku_is_unique_among_live_products_whatever_its_case(widget, as_manager):
    with pytest.raises(ValidationError) as caught:
        make_product(as_manager, "wid-1", "Another widget")
    assert caught.value.message_dict == {"sku": ["A live product already has this SKU."]}
    other = make_product(as_manager, "WID-2")
    with pytest.raises(ValidationError) as caught:
        services.product_update(other, actor=as_manager, values={"sku": "WID-1"})
    assert "sku" in caught.value.message_dict

    services.product_delete(widget, actor=as_manager)
    replacement = make_product(as_manager, "WID-1", "Widget, new model")
    with pytest.raises(ValidationError) as caught:
        records.record_restore(Product.all_objects.get(pk=widget.pk), actor=as_manager)
    assert caught.value.messages == ["A live product already has this SKU."]
    assert Product.all_objects.get(pk=widget.pk).is_deleted

    services.product_update(replacement, actor=as_manager, values={"sku": "WID-1B"})
    records.record_restore(Product.all_objects.get(pk=widget.pk), actor=as_manager)
    assert Product.objects.filter(sku="WID-1").exists()


def test_a_sku_taken_between_validation_and_writing_is_a_field_error(
    widget, as_manager, monkeypatch
):
    """What a concurrent create of the same SKU meets: the unique index refuses it."""
    monkeypatch.setattr(Product, "validate_constraints", lambda self, exclude=None: None)
    with pytest.raises(ValidationError) as caught:
        make_product(as_manager, "Wid-1", "Twin")
    assert caught.value.message_dict == {"sku": ["A live product already has this SKU."]}
    other = make_product(as_manager, "WID-2")
    with pytest.raises(ValidationError):
        services.product_update(other, actor=as_manager, values={"sku": "WID-1"})
    assert Product.objects.count() == 2


def test_update_honours_the_version_read(widget, as_manager):
    services.product_update(widget, actor=as_manager, values={"active": False})
    with pytest.raises(VersionConflict):
        services.product_update(
            widget, actor=as_manager, values={"name": "Late"}, expected_version=1
        )
    assert Product.objects.get().name == "Widget"


# Stock


def test_adjusting_stock_keeps_the_reason_in_history_and_the_event(widget, as_manager):
    product = services.product_adjust_stock(
        widget, actor=as_manager, change=12, reason="  Delivery from Acme  "
    )
    product = services.product_adjust_stock(
        product, actor=as_manager, change=-2, reason="Broken in transit"
    )
    assert product.stock_on_hand == 10 and product.version == 3
    assert Product.objects.get().stock_on_hand == 10
    latest = audit_of(product)[0]
    assert latest.changes == {"stock_on_hand": [12, 10], "reason": [None, "Broken in transit"]}
    [first, second] = events_named("product.stock_adjusted")
    assert first.payload == {"change": 12, "stock_on_hand": 12, "reason": "Delivery from Acme"}
    assert second.payload["change"] == -2


@pytest.mark.parametrize(
    ("change", "reason", "field"),
    [
        (0, "Count", "change"),
        (3, "   ", "reason"),
        (3, "x" * 201, "reason"),
        (-1, "Count", "change"),
    ],
)
def test_stock_adjustments_need_a_change_a_reason_and_stock_to_take(
    widget, as_manager, change, reason, field
):
    with pytest.raises(ValidationError) as caught:
        services.product_adjust_stock(widget, actor=as_manager, change=change, reason=reason)
    assert field in caught.value.message_dict
    assert Product.objects.get().stock_on_hand == 0 and Product.objects.get().version == 1


def test_stock_cannot_go_below_zero_and_names_what_is_on_hand(widget, as_manager):
    services.product_adjust_stock(widget, actor=as_manager, change=3, reason="Count")
    with pytest.raises(ValidationError) as caught:
        services.product_adjust_stock(widget, actor=as_manager, change=-4, reason="Sold")
    assert caught.value.message_dict == {
        "change": ["Only 3 units are on hand: stock cannot go below zero."]
    }
    with pytest.raises(VersionConflict):
        services.product_adjust_stock(
            widget, actor=as_manager, change=1, reason="Count", expected_version=1
        )


def test_a_trashed_product_has_no_stock_to_adjust(widget, as_manager):
    services.product_delete(widget, actor=as_manager)
    with pytest.raises(Http404):
        services.product_adjust_stock(
            Product.all_objects.get(), actor=as_manager, change=1, reason="Count"
        )


# Currencies


def test_an_iso_currency_is_added_with_iso_facts_and_only_by_admins(as_admin, as_manager):
    with pytest.raises(PermissionDenied):
        services.currency_create(actor=as_manager, code="NOK")
    Currency.objects.filter(code="NOK").delete()
    currency = services.currency_create(actor=as_admin, code=" kwd ")
    assert (currency.code, currency.name, currency.decimal_places) == ("KWD", "Kuwaiti Dinar", 3)
    assert audit_of(currency)[0].changes["name"] == [None, "Kuwaiti Dinar"]
    assert events_named("currency.created")[0].aggregate_id == "KWD"


def test_a_currency_iso_does_not_list_needs_a_name_and_decimal_places(as_admin):
    with pytest.raises(ValidationError) as caught:
        services.currency_create(actor=as_admin, code="BTC")
    assert set(caught.value.message_dict) == {"name", "decimal_places"}
    with pytest.raises(ValidationError) as caught:
        services.currency_create(actor=as_admin, code="B1", name="Odd", decimal_places=2)
    assert "code" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        services.currency_create(actor=as_admin, code="EUR")
    assert caught.value.message_dict == {"code": ["This currency is already listed."]}
    coin = services.currency_create(actor=as_admin, code="BTC", name="Bitcoin", decimal_places=4)
    assert coin.decimal_places == 4


def test_the_base_currency_and_one_in_use_stay_active(as_admin, eur_list):
    with pytest.raises(ValidationError) as caught:
        services.currency_update(Currency.objects.get(code="USD"), actor=as_admin, active=False)
    assert caught.value.message_dict == {"active": ["The base currency stays active."]}
    with pytest.raises(ValidationError) as caught:
        services.currency_update(Currency.objects.get(code="EUR"), actor=as_admin, active=False)
    assert caught.value.message_dict == {
        "active": ["Active price books use this currency: List EUR."]
    }
    services.currency_update(Currency.objects.get(code="SEK"), actor=as_admin, active=False)
    assert not Currency.objects.get(code="SEK").active
    with pytest.raises(ValidationError):
        services.currency_update(Currency.objects.get(code="SEK"), actor=as_admin, code="XXX")


# Exchange rates


def test_rates_are_positive_one_per_day_and_never_of_the_base(as_admin, as_manager):
    with pytest.raises(PermissionDenied):
        services.rate_create(actor=as_manager, currency="EUR", rate="1.1", valid_from=DAY)
    rate = services.rate_create(actor=as_admin, currency="eur", rate="1.1", valid_from=DAY)
    bad = [
        ({"currency": "EUR", "rate": "1.2", "valid_from": DAY}, "valid_from"),
        ({"currency": "USD", "rate": "1", "valid_from": DAY}, "currency"),
        ({"currency": "XYZ", "rate": "1", "valid_from": DAY}, "currency"),
        ({"currency": "GBP", "rate": "0", "valid_from": DAY}, "rate"),
        ({"currency": "GBP", "rate": "-1.2", "valid_from": DAY}, "rate"),
        ({"currency": "GBP", "rate": "1.12345678901", "valid_from": DAY}, "rate"),
        ({"currency": "GBP", "rate": "Infinity", "valid_from": DAY}, "rate"),
    ]
    for values, field in bad:
        with pytest.raises(ValidationError) as caught:
            services.rate_create(actor=as_admin, **values)
        assert field in caught.value.message_dict, values
    assert list(ExchangeRate.objects.all()) == [rate]


def test_a_rate_is_corrected_or_deleted_with_history(as_admin):
    rate = services.rate_create(actor=as_admin, currency="EUR", rate="1.1", valid_from=DAY)
    services.rate_create(
        actor=as_admin, currency="EUR", rate="1.3", valid_from=DAY + datetime.timedelta(days=1)
    )
    with pytest.raises(ValidationError):
        services.rate_update(rate, actor=as_admin, valid_from=DAY + datetime.timedelta(days=1))
    rate = services.rate_update(rate, actor=as_admin, rate="1.15")
    assert audit_of(rate)[0].changes == {"rate": ["1.1000000000", "1.1500000000"]}
    services.rate_delete(rate, actor=as_admin)
    assert ExchangeRate.objects.count() == 1
    assert [
        event.name for event in OutboxEvent.objects.filter(aggregate_type="sales.exchangerate")
    ] == [
        "exchangerate.created",
        "exchangerate.created",
        "exchangerate.updated",
        "exchangerate.deleted",
    ]


# Price books and prices


def test_one_default_book_per_currency(as_admin, usd_list):
    wholesale = make_book(as_admin, "Wholesale USD", "USD")
    assert not wholesale.is_default
    wholesale = services.price_book_update(wholesale, actor=as_admin, values={"is_default": True})
    usd_list.refresh_from_db()
    assert wholesale.is_default and not usd_list.is_default
    assert audit_of(usd_list)[0].changes == {"is_default": [True, False]}
    # Another currency keeps its own default.
    euro = make_book(as_admin, "List EUR", "EUR", is_default=True)
    assert PriceBook.objects.filter(is_default=True).count() == 2 and euro.is_default


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"name": "X", "currency": "XYZ"}, "currency"),
        ({"name": "X", "currency": "NOK"}, "currency"),  # made inactive below
        ({"name": "X", "currency": "EUR", "is_default": True, "active": False}, "is_default"),
        ({"name": "List USD", "currency": "USD"}, "name"),
        ({"name": "", "currency": "USD"}, "name"),
        ({"name": "X"}, "currency"),
        ({"name": "X", "currency": "USD", "colour": "red"}, "colour"),
    ],
)
def test_bad_price_books_are_refused_by_field(as_admin, usd_list, values, field):
    Currency.objects.filter(code="NOK").update(active=False)
    with pytest.raises(ValidationError) as caught:
        services.price_book_create(actor=as_admin, values=values)
    assert field in caught.value.message_dict
    assert PriceBook.objects.count() == 1


def test_only_admins_keep_price_books(as_manager, usd_list, widget):
    with pytest.raises(PermissionDenied):
        make_book(as_manager, "Mine", "USD")
    with pytest.raises(PermissionDenied):
        services.price_set(usd_list, actor=as_manager, product=widget, unit_price=1)
    with pytest.raises(PermissionDenied):
        services.price_book_delete(usd_list, actor=as_manager)


def test_prices_are_set_replaced_and_removed(as_admin, usd_list, eur_list, widget):
    entry = services.price_set(usd_list, actor=as_admin, product=widget, unit_price="19.99")
    services.price_set(eur_list, actor=as_admin, product=widget, unit_price=Decimal("18.5"))
    services.price_set(usd_list, actor=as_admin, product=widget, unit_price="21")
    assert PriceBookEntry.objects.count() == 2
    assert unit_price(widget, "USD") == Decimal("21") and unit_price(widget, "GBP") is None
    prices = default_prices([widget.pk])[widget.pk]
    assert [(price.currency, price.unit_price) for price in prices] == [
        ("USD", Decimal("21")),
        ("EUR", Decimal("18.5")),
    ]
    assert [entry.action for entry in audit_of(entry)] == ["update", "create"]
    services.price_remove(usd_list, actor=as_admin, product=widget)
    with pytest.raises(Http404):
        services.price_remove(usd_list, actor=as_admin, product=widget)
    assert unit_price(widget, "USD") is None


@pytest.mark.parametrize("price", ["-0.01", "NaN", "abc", "1.23456", "1" * 20])
def test_bad_prices_are_refused(as_admin, usd_list, widget, price):
    with pytest.raises(ValidationError) as caught:
        services.price_set(usd_list, actor=as_admin, product=widget, unit_price=price)
    assert list(caught.value.message_dict) == ["unit_price"]
    assert not PriceBookEntry.objects.exists()


def test_a_book_holding_prices_keeps_its_currency(as_admin, usd_list, widget):
    services.price_set(usd_list, actor=as_admin, product=widget, unit_price=5)
    with pytest.raises(ValidationError) as caught:
        services.price_book_update(usd_list, actor=as_admin, values={"currency": "EUR"})
    assert list(caught.value.message_dict) == ["currency"]
    services.price_remove(usd_list, actor=as_admin, product=widget)
    book = services.price_book_update(usd_list, actor=as_admin, values={"currency": "EUR"})
    assert book.currency_id == "EUR"


def test_a_trashed_product_gets_no_price(as_admin, as_manager, usd_list, widget):
    services.product_delete(widget, actor=as_manager)
    with pytest.raises(ValidationError) as caught:
        services.price_set(
            usd_list, actor=as_admin, product=Product.all_objects.get(), unit_price=1
        )
    assert list(caught.value.message_dict) == ["product"]
