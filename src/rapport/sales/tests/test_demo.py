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


def test_the_demo_has_a_year_of_deals_in_two_pipelines():
    from rapport.sales.models import Deal, DealStageChange, Pipeline, Quota

    call_command("demo", "--seed", "3", "--contacts", "40", stdout=io.StringIO())

    assert set(Pipeline.objects.values_list("name", flat=True)) == {"Sales", "Renewals"}
    deals = Deal.objects.all()
    history = deals.filter(name__contains=" #")
    # The year of history, besides the deals the demo's quotes and converted leads made.
    assert history.count() == 600
    assert {"open", "won", "lost"} <= set(deals.values_list("status", flat=True))
    assert not deals.filter(status="lost", lost_reason__isnull=True).exists()
    assert not deals.filter(status="open", closed_at__isnull=False).exists()
    year_ago = timezone.now() - datetime.timedelta(days=366)
    assert not deals.filter(created_at__lt=year_ago).exists()
    for deal in deals.filter(status="won")[:20]:
        moves = list(DealStageChange.objects.filter(deal=deal).order_by("at"))
        assert moves[0].from_stage is None and moves[-1].to_stage == deal.stage
        assert deal.full_clean() is None
    assert Quota.objects.exists()
    with_people = history.filter(participants__isnull=False).distinct()
    assert with_people.count() > history.count() // 2
    for deal in with_people[:20]:
        assert all(row.contact.company_id == deal.company_id for row in deal.participants.all())
    assert SearchEntry.objects.filter(object_type="sales.deal").count() == deals.count()
