"""Sending a quote (email with the PDF, over SMTP) and the customer's public page: the
link's secret, accepting once, declining, and a quote past its validity."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from rapport.activities.models import Activity
from rapport.core.models import OutboxEvent
from rapport.sales import quotes
from rapport.sales.models import Order, OrderStatus, Quote, QuoteStatus, StageKind

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SITE_URL = "https://crm.example"


@pytest.fixture
def send(monkeypatch, django_capture_on_commit_callbacks):
    """``quote_send`` with the delivery run after commit; returns the quote and the
    secret link the email carried."""

    def sending(quote: Quote, actor, **arguments) -> tuple[Quote, str]:
        links = []
        real = quotes.public_url
        monkeypatch.setattr(quotes, "public_url", lambda raw: links.append(raw) or real(raw))
        with django_capture_on_commit_callbacks(execute=True):
            quote = quotes.quote_send(quote, actor=actor, **arguments)
        return quote, links[-1]

    return sending


def test_sending_emails_the_pdf_and_a_public_link(
    as_alice, deal, customer, smtp_server, send, settings
):
    settings.COMPANY_NAME = "Northwind Furniture"
    quote = quotes.quote_create(actor=as_alice, deal=deal)

    quote, token = send(quote, as_alice, message="As discussed on the phone.")

    assert quote.status == QuoteStatus.SENT and quote.sent_at is not None
    assert token not in quote.public_token_digest and len(quote.public_token_digest) == 64
    [message] = smtp_server.messages
    assert message["To"] == "carla@acme.example"
    assert message["Subject"] == f"Quote {quote.number} from Northwind Furniture"
    body = message.get_body(("plain",)).get_content()
    assert "As discussed on the phone." in body
    assert f"https://crm.example/q/{token}/" in body
    [pdf] = list(message.iter_attachments())
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_filename() == f"{quote.number}.pdf"
    assert pdf.get_content().startswith(b"%PDF-")
    email = Activity.objects.get(kind="email")
    assert email.subject == message["Subject"]
    assert OutboxEvent.objects.filter(name="quote.sent", aggregate_id=str(quote.pk)).exists()


def test_a_quote_without_a_contact_or_past_its_validity_is_not_sent(as_alice, deal):
    from django.core.exceptions import ValidationError

    quote = quotes.quote_create(actor=as_alice, deal=deal, values={"contact": None})
    with pytest.raises(ValidationError) as error:
        quotes.quote_send(quote, actor=as_alice)
    assert "contact" in error.value.message_dict
    old = quotes.quote_create(
        actor=as_alice,
        deal=deal,
        values={
            "quote_date": datetime.date(2020, 1, 1),
            "valid_until": datetime.date(2020, 1, 31),
        },
    )
    with pytest.raises(ValidationError) as error:
        quotes.quote_send(old, actor=as_alice)
    assert "valid_until" in error.value.message_dict


def test_the_customer_accepts_once_and_an_order_is_made(as_alice, deal, stocked, smtp_server, send):
    quote = quotes.quote_create(actor=as_alice, deal=deal)
    Quote.objects.filter(pk=quote.pk).update(confirm_order_on_accept=True)
    quote.refresh_from_db()
    quote, token = send(quote, as_alice)
    visitor = Client(enforce_csrf_checks=True)

    page = visitor.get(f"/q/{token}/")
    assert page.status_code == 200
    content = page.content.decode()
    assert quote.number in content and "Accept quote" in content
    csrf = page.cookies["csrftoken"].value
    accepted = visitor.post(
        f"/q/{token}/answer/", {"answer": "accept", "csrfmiddlewaretoken": csrf}
    )
    assert accepted.status_code == 302

    quote.refresh_from_db()
    assert quote.status == QuoteStatus.ACCEPTED and quote.responded_at is not None
    order = Order.objects.get(quote=quote)
    assert order.status == OrderStatus.CONFIRMED
    assert order.total == quote.total
    assert [(line.name, line.quantity) for line in order.lines.all()] == [
        ("Desk", 3),
        ("Assembly", 1),
    ]
    stocked.refresh_from_db()
    assert stocked.reserved_quantity == 3
    deal.refresh_from_db()
    assert deal.status == StageKind.WON
    assert OutboxEvent.objects.filter(name="quote.accepted", aggregate_id=str(quote.pk)).exists()

    again = visitor.post(f"/q/{token}/answer/", {"answer": "decline", "csrfmiddlewaretoken": csrf})
    assert again.status_code == 409
    assert "already answered" in again.content.decode()
    assert Order.objects.count() == 1
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.ACCEPTED


def test_without_the_csrf_token_the_answer_is_refused(as_alice, deal, smtp_server, send):
    quote, token = send(quotes.quote_create(actor=as_alice, deal=deal), as_alice)
    visitor = Client(enforce_csrf_checks=True)
    assert visitor.post(f"/q/{token}/answer/", {"answer": "accept"}).status_code == 403
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SENT


def test_declining_leaves_the_deal_open(as_alice, deal, smtp_server, send, client):
    quote, token = send(quotes.quote_create(actor=as_alice, deal=deal), as_alice)
    response = client.post(f"/q/{token}/answer/", {"answer": "decline"})
    assert response.status_code == 302
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.DECLINED
    assert not Order.objects.exists()
    deal.refresh_from_db()
    assert deal.status == StageKind.OPEN
    assert OutboxEvent.objects.filter(name="quote.declined").count() == 1


def test_wrong_and_replaced_links_are_404(as_alice, deal, smtp_server, send, client):
    quote, first = send(quotes.quote_create(actor=as_alice, deal=deal), as_alice)
    quote, second = send(quote, as_alice)
    wrong = f"{quote.pk}-{'x' * 43}"
    for token in (first, wrong, "nonsense", f"{quote.pk + 1}-{second.partition('-')[2]}"):
        assert client.get(f"/q/{token}/").status_code == 404
        assert client.post(f"/q/{token}/answer/", {"answer": "accept"}).status_code == 404
    assert client.get(f"/q/{second}/").status_code == 200
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SENT


def test_an_expired_quote_cannot_be_accepted(as_alice, deal, smtp_server, send, client):
    quote, token = send(quotes.quote_create(actor=as_alice, deal=deal), as_alice)
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    Quote.objects.filter(pk=quote.pk).update(valid_until=yesterday)

    page = client.get(f"/q/{token}/")
    assert "Accept quote" not in page.content.decode()
    response = client.post(f"/q/{token}/answer/", {"answer": "accept"})
    assert response.status_code == 409
    assert "can no longer be answered" in response.content.decode()
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.EXPIRED
    assert not Order.objects.exists()


def test_a_quote_whose_owner_left_cannot_be_answered_online(
    as_alice, alice, deal, smtp_server, send, client
):
    quote, token = send(quotes.quote_create(actor=as_alice, deal=deal), as_alice)
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    response = client.post(f"/q/{token}/answer/", {"answer": "accept"})
    assert response.status_code == 409
    assert "cannot be answered online" in response.content.decode()
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SENT
    assert not Order.objects.exists()


def test_the_worker_marks_sent_quotes_past_their_validity_expired(
    as_alice, deal, smtp_server, send
):
    past, _token = send(quotes.quote_create(actor=as_alice, deal=deal), as_alice)
    current, _token = send(quotes.quote_create(actor=as_alice, deal=deal), as_alice)
    draft = quotes.quote_create(actor=as_alice, deal=deal)
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    Quote.objects.filter(pk__in=[past.pk, draft.pk]).update(valid_until=yesterday)

    assert quotes.expire_quotes() == 1
    assert quotes.expire_quotes() == 0
    statuses = dict(Quote.objects.values_list("pk", "status"))
    assert statuses == {
        past.pk: QuoteStatus.EXPIRED,
        current.pk: QuoteStatus.SENT,
        draft.pk: QuoteStatus.DRAFT,
    }
    assert OutboxEvent.objects.filter(name="quote.expired", aggregate_id=str(past.pk)).exists()
