"""Quotes: made from a deal, totals in Decimal, sending with the PDF attached, and the
customer's answer through the public link."""

from __future__ import annotations

import base64
import datetime
import re
import zlib
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from rapport.core.models import OutboxEvent
from rapport.sales import quotes
from rapport.sales.models import Quote
from rapport.sales.quote_pdf import quote_pdf

pytestmark = pytest.mark.django_db


def pdf_text(pdf: bytes) -> str:
    """The strings a reportlab PDF's pages draw, from its content streams (ASCII85 and
    Flate encoded)."""
    text = []
    for stream in re.findall(rb"stream\r?\n(.*?)~>endstream", pdf, re.DOTALL):
        content = zlib.decompress(base64.a85decode(stream.replace(b"\n", b"")))
        text += re.findall(rb"\((.*?)\) Tj", content)
    return " ".join(part.decode("latin-1") for part in text)


def sent(quote, actor, monkeypatch) -> tuple[Quote, str]:
    """Send ``quote``, keeping the secret link the email carries."""
    tokens = []
    real = quotes.public_url

    def keep(raw):
        tokens.append(raw)
        return real(raw)

    monkeypatch.setattr(quotes, "public_url", keep)
    return quotes.quote_send(quote, actor=actor), tokens[-1]


def test_a_quote_copies_the_deal(as_alice, deal, customer):
    quote = quotes.quote_create(actor=as_alice, deal=deal)
    assert quote.number.startswith("Q-")
    assert (quote.contact, quote.company, quote.currency_id) == (
        customer,
        customer.company,
        "USD",
    )
    assert quote.valid_until == quote.quote_date + datetime.timedelta(days=30)
    assert [(line.name, line.quantity, line.net_amount) for line in quote.lines.all()] == [
        ("Desk", 3, Decimal("270.00")),
        ("Assembly", 1, Decimal("80.00")),
    ]
    assert (quote.net_total, quote.tax_total, quote.total) == (
        Decimal("350.00"),
        Decimal("54.00"),
        Decimal("404.00"),
    )
    assert OutboxEvent.objects.filter(name="quote.created").count() == 1


def test_totals_round_each_line_half_to_even(as_alice, as_admin, deal):
    from rapport.sales.services import rate_create

    rate_create(actor=as_admin, currency="JPY", rate="0.0067", valid_from=datetime.date(2020, 1, 1))
    # 3 x 0.335 = 1.005 -> 1.00 (half to even); 7 x 1.115 less 3 % = 7.570 85 -> 7.57;
    # tax 19 % of 1.00 = 0.19, of 7.57 = 1.4383 -> 1.44. In yen: no decimals.
    quote = quotes.quote_create(
        actor=as_alice,
        deal=deal,
        lines=[
            {"name": "Stamps", "quantity": 3, "unit_price": "0.335", "tax_rate": "19"},
            {
                "name": "Labels",
                "quantity": 7,
                "unit_price": "1.115",
                "discount_percent": "3",
                "tax_rate": "19",
            },
        ],
    )
    assert [line.net_amount for line in quote.lines.all()] == [Decimal("1.00"), Decimal("7.57")]
    # Gross 1.005 -> 1.00 and 7.805 -> 7.80; the discount is what the net takes off.
    assert (quote.subtotal, quote.discount_total) == (Decimal("8.80"), Decimal("0.23"))
    assert (quote.net_total, quote.tax_total, quote.total) == (
        Decimal("8.57"),
        Decimal("1.63"),
        Decimal("10.20"),
    )
    yen = quotes.quote_create(
        actor=as_alice,
        deal=deal,
        values={"currency": "JPY"},
        lines=[{"name": "Tea", "quantity": 5, "unit_price": "250.5", "tax_rate": "10"}],
    )
    # 1252.5 -> 1252 (even); tax 125.2 -> 125.
    assert (yen.net_total, yen.tax_total, yen.total) == (
        Decimal("1252"),
        Decimal("125"),
        Decimal("1377"),
    )


@pytest.mark.parametrize(
    ("values", "lines", "field"),
    [
        ({}, [{"name": "X", "quantity": -1, "unit_price": "1"}], "lines.0.quantity"),
        (
            {},
            [{"name": "X", "unit_price": "1", "discount_percent": "101"}],
            "lines.0.discount_percent",
        ),
        ({"currency": "QQQ"}, None, "currency"),
        ({"valid_until": datetime.date(2000, 1, 1)}, None, "valid_until"),
    ],
)
def test_bad_quotes_are_refused_by_field(as_alice, deal, values, lines, field):
    with pytest.raises(ValidationError) as error:
        quotes.quote_create(actor=as_alice, deal=deal, values=values, lines=lines)
    assert field in error.value.message_dict
    assert not Quote.all_objects.exists()


def test_a_draft_is_edited_and_a_sent_quote_is_not(as_alice, deal, monkeypatch, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    quote = quotes.quote_create(actor=as_alice, deal=deal)
    quote = quotes.quote_update(
        quote,
        actor=as_alice,
        values={"terms": "Net 30"},
        lines=[{"name": "Consulting", "quantity": 2, "unit_price": "500", "tax_rate": "0"}],
    )
    assert quote.total == Decimal("1000.00")
    assert [line.name for line in quote.lines.all()] == ["Consulting"]
    quote, _token = sent(quote, as_alice, monkeypatch)
    with pytest.raises(ValidationError) as error:
        quotes.quote_update(quote, actor=as_alice, values={"terms": "Net 60"})
    assert "status" in error.value.message_dict


def test_the_pdf_names_the_seller_the_lines_and_the_total(as_alice, deal, settings):
    settings.COMPANY_NAME = "Northwind Furniture"
    settings.COMPANY_ADDRESS = ["1 Harbour Road", "Bristol BS1 4RN"]
    quote = quotes.quote_create(actor=as_alice, deal=deal)
    pdf = quote_pdf(quote)
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf)
    for expected in ("Northwind Furniture", "Bristol BS1 4RN", quote.number, "Assembly", "404.00"):
        assert expected in text
