"""Currencies and conversion: the latest rate on or before a day, through the base
currency, rounded half to even; clear errors for unknown currencies and missing rates."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from rapport import config
from rapport.sales import services
from rapport.sales.models import Currency
from rapport.sales.money import NoExchangeRate, UnknownCurrency, convert, iso_facts, rate_on
from rapport.sales.tests.conftest import DAY

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(as_admin) -> None:
    for code, rate, day in [
        ("EUR", "1.10", DAY - datetime.timedelta(days=30)),
        ("EUR", "1.0850", DAY),
        ("EUR", "1.20", DAY + datetime.timedelta(days=1)),
        ("GBP", "1.25", DAY - datetime.timedelta(days=2)),
        ("JPY", "0.0067", DAY - datetime.timedelta(days=2)),
    ]:
        services.rate_create(actor=as_admin, currency=code, rate=Decimal(rate), valid_from=day)


def test_the_migration_seeds_the_common_currencies_with_iso_facts():
    assert Currency.objects.filter(active=True).count() == 30
    assert Currency.objects.get(code="JPY").decimal_places == 0
    assert Currency.objects.get(code="EUR").name == "Euro"
    assert iso_facts("KWD") == ("Kuwaiti Dinar", 3)
    assert iso_facts("XAU") is None  # gold is not money with cents
    assert iso_facts("ABC") is None


def test_the_rate_of_a_day_is_the_latest_on_or_before_it(rates):
    assert rate_on("EUR", DAY) == Decimal("1.085")
    assert rate_on("EUR", DAY - datetime.timedelta(days=1)) == Decimal("1.10")
    assert rate_on("eur", DAY + datetime.timedelta(days=400)) == Decimal("1.20")
    assert rate_on("USD", datetime.date(1990, 1, 1)) == 1


def test_convert_to_the_base_currency_rounds_to_its_decimal_places(rates):
    assert convert(Decimal("100"), "EUR", DAY) == Decimal("108.50")
    assert convert(Decimal("0.5"), "EUR", DAY) == Decimal("0.54")  # 0.5425
    assert convert(Decimal("1.5"), "EUR", DAY) == Decimal("1.63")  # 1.6275
    assert convert(Decimal("5"), "JPY", DAY) == Decimal("0.03")  # 0.0335
    assert convert(Decimal("15"), "JPY", DAY) == Decimal("0.10")  # 0.1005


def test_convert_between_two_currencies_goes_through_the_base(rates):
    # 100 GBP = 125 USD = 115.207… EUR at 1.085
    assert convert(Decimal("100"), "GBP", DAY, to="EUR") == Decimal("115.21")
    # Yen have no decimal places: 10 USD / 0.0067 = 1492.537… → 1493
    assert convert(Decimal("10"), "USD", DAY, to="JPY") == Decimal("1493")
    assert convert(Decimal("12.345"), "USD", DAY, to="USD") == Decimal("12.34")


def test_an_exact_half_rounds_to_the_even_digit(as_admin):
    services.rate_create(actor=as_admin, currency="CHF", rate=Decimal("1"), valid_from=DAY)
    assert convert(Decimal("2.345"), "CHF", DAY) == Decimal("2.34")
    assert convert(Decimal("2.355"), "CHF", DAY) == Decimal("2.36")
    services.rate_create(actor=as_admin, currency="SEK", rate=Decimal("0.5"), valid_from=DAY)
    assert convert(Decimal("0.05"), "SEK", DAY) == Decimal("0.02")  # 0.025


def test_no_rate_before_the_day_is_a_clear_error(rates):
    with pytest.raises(NoExchangeRate) as caught:
        convert(Decimal("1"), "GBP", DAY - datetime.timedelta(days=3))
    assert caught.value.message_dict == {
        "currency": ["No exchange rate of GBP is valid on 2030-03-12: add one from that day."]
    }
    with pytest.raises(NoExchangeRate) as caught:
        convert(Decimal("1"), "USD", DAY, to="CHF")
    assert list(caught.value.message_dict) == ["to"]


def test_an_unknown_currency_is_named(rates):
    with pytest.raises(UnknownCurrency) as caught:
        convert(Decimal("1"), "XYZ", DAY)
    assert caught.value.message_dict == {"currency": ["Unknown currency XYZ."]}
    with pytest.raises(UnknownCurrency) as caught:
        convert(Decimal("1"), "EUR", DAY, to="QQQ")
    assert list(caught.value.message_dict) == ["to"]
    with pytest.raises(ValidationError):
        convert(Decimal("1"), "QQQ", DAY, to="QQQ")


def test_the_base_currency_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("RAPPORT_BASE_CURRENCY", raising=False)
    assert config.base_currency() == "USD"
    monkeypatch.setenv("RAPPORT_BASE_CURRENCY", " eur ")
    assert config.base_currency() == "EUR"
    monkeypatch.setenv("RAPPORT_BASE_CURRENCY", "euro")
    with pytest.raises(config.ConfigError, match="RAPPORT_BASE_CURRENCY"):
        config.base_currency()
