"""The quotes API and the quote pages."""

from __future__ import annotations

import json

import pytest

from rapport.sales import quotes
from rapport.sales.models import Quote, QuoteStatus
from rapport.sales.tests.conftest import client_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/quotes"


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def test_make_read_list_send_and_download_a_quote(
    alice_client,
    deal,
    customer,
    smtp_server,
    django_capture_on_commit_callbacks,
    django_assert_max_num_queries,
):
    made = post(alice_client, URL, {"deal": deal.pk, "terms": "Net 30"})
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["number"].startswith("Q-") and body["status"] == "draft"
    assert body["contact"] == customer.pk and body["deal"] == deal.pk
    assert body["total"] == "404.0000"
    assert [line["name"] for line in body["lines"]] == ["Desk", "Assembly"]
    assert made["Location"] == f"{URL}/{body['id']}"

    post(alice_client, URL, {"deal": deal.pk})
    # The session, user, the rate limit's counter, role, teams, sensitive custom fields
    # and the page.
    with django_assert_max_num_queries(7):
        listed = alice_client.get(URL, {"deal": deal.pk})
    assert len(listed.json()["items"]) == 2

    with django_capture_on_commit_callbacks(execute=True):
        sent = post(alice_client, f"{URL}/{body['id']}/send", {"message": "Hi Carla"})
    assert sent.status_code == 200, sent.content
    assert sent.json()["status"] == "sent"
    assert len(smtp_server.messages) == 1

    pdf = alice_client.get(f"{URL}/{body['id']}/pdf")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lines": [{"name": "X", "quantity": -3, "unit_price": "1"}]}, "lines.0.quantity"),
        (
            {"lines": [{"name": "X", "unit_price": "1", "discount_percent": "100.5"}]},
            "lines.0.discount_percent",
        ),
        ({"currency": "ABC"}, "currency"),
    ],
)
def test_bad_quotes_are_422_naming_the_field(alice_client, deal, change, field):
    response = post(alice_client, URL, {"deal": deal.pk} | change)
    assert response.status_code == 422
    assert field in [error["field"] for error in response.json()["errors"]]
    assert not Quote.all_objects.exists()


def test_a_deal_or_quote_one_may_not_see_is_404(alice_client, deal, charlie, as_alice):
    outsider = client_for(charlie)
    assert post(outsider, URL, {"deal": deal.pk}).status_code == 404
    quote = quotes.quote_create(actor=as_alice, deal=deal)
    assert outsider.get(f"{URL}/{quote.pk}").status_code == 404
    assert outsider.get(f"{URL}/{quote.pk}/pdf").status_code == 404
    assert outsider.get(f"/quotes/{quote.pk}/").status_code == 404


def test_the_pages_make_edit_send_and_download_a_quote(
    alice_client, deal, smtp_server, django_capture_on_commit_callbacks
):
    form = alice_client.get(f"/quotes/new/?deal={deal.pk}")
    assert form.status_code == 200
    assert form.context["formset"].initial[0]["name"] == "Desk"
    data = {
        "contact": form.context["form"].initial["contact"],
        "currency": "USD",
        "valid_until": "2099-12-31",
        "win_deal_on_accept": "on",
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "0",
        "lines-0-name": "Desk",
        "lines-0-quantity": "2",
        "lines-0-unit_price": "100",
        "lines-0-tax_rate": "20",
        "lines-1-name": "Delivery",
        "lines-1-quantity": "-1",
        "lines-1-unit_price": "30",
    }
    refused = alice_client.post(f"/quotes/new/?deal={deal.pk}", data)
    assert refused.status_code == 200
    assert "quantity" in refused.context["formset"].forms[1].errors
    data["lines-1-quantity"] = "1"
    made = alice_client.post(f"/quotes/new/?deal={deal.pk}", data)
    quote = Quote.objects.get()
    assert made["Location"] == f"/quotes/{quote.pk}/"
    assert str(quote.total) == "270.0000"

    data["lines-1-unit_price"] = "50"
    edited = alice_client.post(f"/quotes/{quote.pk}/edit/", data)
    assert edited.status_code == 302
    quote.refresh_from_db()
    assert str(quote.total) == "290.0000"

    page = alice_client.get(f"/quotes/{quote.pk}/").content.decode()
    assert f"/quotes/{quote.pk}/pdf/" in page and "Send quote" in page
    with django_capture_on_commit_callbacks(execute=True):
        sent = alice_client.post(f"/quotes/{quote.pk}/send/", {"message": ""})
    assert sent.status_code == 302
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SENT
    assert len(smtp_server.messages) == 1
    download = alice_client.get(f"/quotes/{quote.pk}/pdf/")
    assert download["Content-Disposition"] == f'attachment; filename="{quote.number}.pdf"'
    listed = alice_client.get("/quotes/", {"status": "sent"})
    assert [item.pk for item in listed.context["page"].items] == [quote.pk]


def test_a_quote_handed_over_and_answered_by_phone(alice_client, as_alice, deal, charlie):
    quote = quotes.quote_create(actor=as_alice, deal=deal)
    outsider = client_for(charlie)
    assert outsider.post(f"/quotes/{quote.pk}/mark-sent/").status_code == 404
    assert alice_client.post(f"/quotes/{quote.pk}/mark-sent/").status_code == 302
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SENT and quote.public_token_digest == ""
    assert "Customer accepted" in alice_client.get(f"/quotes/{quote.pk}/").content.decode()
    answered = alice_client.post(f"/quotes/{quote.pk}/answer/", {"answer": "accept"})
    assert answered.status_code == 302
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.ACCEPTED
    assert quote.orders.count() == 1
    again = alice_client.post(f"/quotes/{quote.pk}/answer/", {"answer": "decline"}, follow=True)
    assert "already answered" in again.content.decode()
    assert quote.orders.count() == 1


def test_a_deal_page_panel_lists_its_quotes_and_orders(alice_client, as_alice, deal, charlie):
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    from rapport.core.panels import panels_for

    quote = quotes.quote_create(actor=as_alice, deal=deal)
    request = RequestFactory().get("/")
    request.user = deal.owner
    [panel] = [item for item in panels_for(request, deal) if item["panel"].key == "deal_quotes"]
    html = render_to_string(panel["template"], panel["context"], request=request)
    assert quote.number in html and f"/quotes/new/?deal={deal.pk}" in html
    request.user = charlie
    [hidden] = [item for item in panels_for(request, deal) if item["panel"].key == "deal_quotes"]
    assert hidden["context"]["quotes"] == []
