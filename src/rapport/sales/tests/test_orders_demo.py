"""``rapport demo`` adds a year of orders (purchase histories) and a few quotes."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from rapport.sales.models import Order, OrderStatus, Product, Quote, QuoteStatus

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_year_of_orders_and_some_quotes():
    call_command("demo", "--seed", "3", "--contacts", "40", stdout=io.StringIO())

    orders = Order.objects.all()
    assert orders.filter(quote__isnull=True).count() == 100
    statuses = set(orders.values_list("status", flat=True))
    assert {OrderStatus.DELIVERED, OrderStatus.CANCELLED} <= statuses
    assert orders.filter(status=OrderStatus.DELIVERED).count() > 50
    assert orders.exclude(currency_id="USD").exists()
    for order in orders.filter(pk__in=orders.values("pk")[:10]):
        assert order.lines.exists()
        assert order.total_base > 0
    for product in Product.objects.all():
        assert product.stock_on_hand >= 0 and product.reserved_quantity >= 0
    assert sorted(Quote.objects.values_list("status", flat=True)) == sorted(
        [QuoteStatus.DRAFT, QuoteStatus.SENT, QuoteStatus.ACCEPTED]
    )
    assert Order.objects.filter(quote__status=QuoteStatus.ACCEPTED).count() == 1
