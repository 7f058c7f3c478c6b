"""``rapport demo`` adds a product catalogue with stock, list price books in three
currencies (one default each), a partner book and a year of monthly rates."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from rapport.core.models import SearchEntry
from rapport.sales.models import ExchangeRate, PriceBook, Product
from rapport.sales.money import NoExchangeRate, convert
from rapport.sales.queries import unit_price

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_priced_catalogue_with_stock_and_rates():
    call_command("demo", "--seed", "3", "--contacts", "20", stdout=io.StringIO())

    products = Product.objects.all()
    assert products.count() == 15
    assert products.filter(active=False).exists()
    assert products.filter(stock_on_hand__gt=0).exists()
    assert products.filter(stock_on_hand=0, active=True).exists()
    for product in products:
        product.full_clean()
        for currency in ("USD", "EUR", "GBP"):
            assert unit_price(product, currency) > 0
    desk = products.get(sku="DSK-ELEC-140")
    assert unit_price(desk, "USD") == Decimal("649.00")
    defaults = PriceBook.objects.filter(is_default=True)
    assert sorted(defaults.values_list("currency", flat=True)) == ["EUR", "GBP", "USD"]
    assert PriceBook.objects.filter(is_default=False, currency="USD").exists()
    assert SearchEntry.objects.filter(object_type="sales.product").count() == 15

    assert ExchangeRate.objects.filter(currency="EUR").count() == 12
    today = timezone.localdate()
    in_dollars = convert(Decimal("100"), "EUR", today)
    assert Decimal("95") < in_dollars < Decimal("125")
    with pytest.raises(NoExchangeRate):
        convert(Decimal("1"), "EUR", today - datetime.timedelta(days=400))
