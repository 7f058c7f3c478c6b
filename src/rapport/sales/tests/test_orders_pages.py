"""Order pages: list, detail with status buttons, the new-order form with its lines, and
the purchase history panel on contact and company pages."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rapport.sales import orders
from rapport.sales.models import Order, OrderStatus
from rapport.sales.tests.conftest import client_for

pytestmark = pytest.mark.django_db


def line_data(rows: list[dict], **header) -> dict:
    data = {
        "currency": "USD",
        "order_date": "2030-03-15",
        "lines-TOTAL_FORMS": str(len(rows)),
        "lines-INITIAL_FORMS": "0",
        **header,
    }
    for index, row in enumerate(rows):
        data |= {f"lines-{index}-{key}": value for key, value in row.items()}
    return data


def make_order(actor, customer, product, quantity=2):
    return orders.order_create(
        actor=actor,
        values={"contact": customer},
        lines=[{"product": product.pk, "quantity": quantity}],
    )


def test_the_form_creates_an_order_with_its_lines(alice_client, customer, stocked):
    page = alice_client.get(f"/orders/new/?contact={customer.pk}")
    assert page.status_code == 200
    assert 'name="lines-TOTAL_FORMS"' in page.content.decode()
    response = alice_client.post(
        "/orders/new/",
        line_data(
            [
                {"product": stocked.pk, "quantity": "3"},
                {"name": "Assembly", "quantity": "1", "unit_price": "40"},
                {},
            ],
            contact=customer.pk,
        ),
    )
    assert response.status_code == 302, (
        response.context["form"].errors,
        [row.errors for row in response.context["formset"].forms],
    )
    order = Order.objects.get()
    assert response["Location"] == f"/orders/{order.pk}/"
    assert [(line.name, line.quantity) for line in order.lines.all()] == [
        ("Desk", 3),
        ("Assembly", 1),
    ]
    assert order.total == Decimal("400.00")


def test_bad_lines_show_on_their_row_and_nothing_is_written(alice_client, customer, stocked):
    response = alice_client.post(
        "/orders/new/",
        line_data(
            [
                {"name": "Assembly", "quantity": "1", "unit_price": "40"},
                {"product": stocked.pk, "quantity": "-2", "discount_percent": "120"},
            ],
            contact=customer.pk,
        ),
    )
    assert response.status_code == 200
    rows = response.context["formset"].forms
    assert rows[0].errors == {}
    assert set(rows[1].errors) == {"quantity", "discount_percent"}
    assert not Order.objects.exists()
    no_customer = alice_client.post(
        "/orders/new/", line_data([{"product": stocked.pk, "quantity": "1"}])
    )
    assert "contact" in no_customer.context["form"].errors


def test_status_buttons_move_the_order_and_explain_refusals(
    alice_client, as_alice, customer, stocked
):
    order = make_order(as_alice, customer, stocked, quantity=12)
    page = alice_client.get(f"/orders/{order.pk}/")
    content = page.content.decode()
    assert 'name="csrfmiddlewaretoken"' in content
    assert 'value="confirmed"' in content and 'value="fulfilled"' not in content

    refused = alice_client.post(
        f"/orders/{order.pk}/status/", {"status": "confirmed", "version": order.version}
    )
    assert refused.status_code == 422
    assert "Only 10 of Desk (DESK-1) are available; the order needs 12." in refused.content.decode()

    small = make_order(as_alice, customer, stocked, quantity=2)
    moved = alice_client.post(f"/orders/{small.pk}/status/", {"status": "confirmed", "version": 1})
    assert moved.status_code == 302
    small.refresh_from_db()
    assert small.status == OrderStatus.CONFIRMED
    stale = alice_client.post(f"/orders/{small.pk}/status/", {"status": "cancelled", "version": 1})
    assert stale.status_code == 302
    small.refresh_from_db()
    assert small.status == OrderStatus.CONFIRMED


def test_the_list_filters_pages_and_hides_what_others_may_not_see(
    alice_client, as_alice, customer, stocked, charlie, django_assert_max_num_queries
):
    made = [make_order(as_alice, customer, stocked, quantity=1) for _ in range(3)]
    orders.order_transition(made[0], actor=as_alice, status=OrderStatus.CONFIRMED)
    alice_client.get("/orders/")
    with django_assert_max_num_queries(8):
        page = alice_client.get("/orders/")
    assert [order.pk for order in page.context["page"].items] == [order.pk for order in made[::-1]]
    confirmed = alice_client.get("/orders/", {"status": "confirmed"})
    assert [order.pk for order in confirmed.context["page"].items] == [made[0].pk]
    assert alice_client.get("/orders/", {"status": "nope"}).context["page"] is None
    outsider = client_for(charlie)
    assert outsider.get("/orders/").context["page"].items == []
    assert outsider.get(f"/orders/{made[0].pk}/").status_code == 404
    assert (
        outsider.post(f"/orders/{made[1].pk}/status/", {"status": "confirmed"}).status_code == 404
    )


def test_purchase_history_on_contact_and_company_pages(alice_client, as_alice, customer, stocked):
    shipped = make_order(as_alice, customer, stocked, quantity=2)
    orders.order_transition(shipped, actor=as_alice, status=OrderStatus.CONFIRMED)
    orders.order_transition(shipped, actor=as_alice, status=OrderStatus.FULFILLED)
    make_order(as_alice, customer, stocked, quantity=5)  # a draft: not yet value

    for url in (f"/contacts/{customer.pk}/", f"/companies/{customer.company_id}/"):
        content = alice_client.get(url).content.decode()
        assert "Purchase history" in content
        assert "240.00 USD" in content  # lifetime value: the fulfilled order only
        assert "5 \N{MULTIPLICATION SIGN} Desk" in content
        assert "2 \N{MULTIPLICATION SIGN} Desk" in content
        assert "Orders and their totals will be listed here" not in content


def test_orders_are_found_by_number_and_customer_and_have_a_history(
    alice_client, as_alice, customer, stocked, charlie
):
    from rapport.core import search

    order = make_order(as_alice, customer, stocked)
    assert order in search.filter_queryset(Order.objects.all(), order.number)
    assert order in search.filter_queryset(Order.objects.all(), "Acme")
    history = alice_client.get(f"/history/sales.order/{order.pk}/")
    assert history.status_code == 200


def test_a_draft_order_is_edited_on_its_form_and_then_no_more(
    alice_client, as_alice, customer, stocked
):
    order = make_order(as_alice, customer, stocked)
    page = alice_client.get(f"/orders/{order.pk}/")
    assert f'href="/orders/{order.pk}/edit/"' in page.content.decode()
    form = alice_client.get(f"/orders/{order.pk}/edit/")
    assert form.status_code == 200
    assert 'name="lines-0-quantity" value="2"' in form.content.decode()
    response = alice_client.post(
        f"/orders/{order.pk}/edit/",
        line_data(
            [{"product": stocked.pk, "quantity": "5"}, {"name": "Setup", "unit_price": "40"}],
            contact=customer.pk,
            notes="Deliver before noon",
        ),
    )
    assert response.status_code == 302, response.context["form"].errors
    order.refresh_from_db()
    assert [(line.name, line.quantity) for line in order.lines.order_by("position", "id")] == [
        ("Desk", 5),
        ("Setup", 1),
    ]
    assert (order.notes, order.net_total, order.version) == ("Deliver before noon", 540, 2)

    orders.order_transition(order, actor=as_alice, status=OrderStatus.CONFIRMED)
    assert (
        f"/orders/{order.pk}/edit/" not in alice_client.get(f"/orders/{order.pk}/").content.decode()
    )
    refused = alice_client.post(
        f"/orders/{order.pk}/edit/",
        line_data([{"product": stocked.pk, "quantity": "9"}], contact=customer.pk),
    )
    assert refused.status_code == 200
    assert "Only a draft order can be changed." in refused.content.decode()
    assert order.lines.get(product=stocked).quantity == 5
