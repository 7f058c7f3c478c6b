"""Orders: creation with priced lines, numbering, the status flow and the stock it moves."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from rapport.core.models import AuditEntry, OutboxEvent
from rapport.sales import orders
from rapport.sales.models import Order, OrderStatus, Product

pytestmark = pytest.mark.django_db


def make_order(actor, customer, product, quantity=2, **values):
    return orders.order_create(
        actor=actor,
        values={"contact": customer, **values},
        lines=[{"product": product.pk, "quantity": quantity}],
    )


def stock_of(product: Product) -> tuple[int, int]:
    product.refresh_from_db()
    return product.stock_on_hand, product.reserved_quantity


def test_an_order_is_numbered_priced_and_announced(as_alice, customer, stocked):
    first = make_order(as_alice, customer, stocked, quantity=3)
    second = orders.order_create(
        actor=as_alice,
        values={"contact": customer},
        lines=[
            {"product": stocked.pk, "quantity": 1, "discount_percent": "12.5"},
            {"name": "Installation", "quantity": 2, "unit_price": "45.005", "tax_rate": "0"},
        ],
    )
    assert second.number == f"SO-{int(first.number[3:]) + 1:06d}"
    assert first.status == OrderStatus.DRAFT
    assert first.company == customer.company
    assert first.currency_id == "USD"
    assert (first.net_total, first.tax_total, first.total) == (
        Decimal("300.00"),
        Decimal("60.00"),
        Decimal("360.00"),
    )
    assert first.total_base == Decimal("360.00")
    lines = list(second.lines.all())
    # 100 less 12.5 %; 2 x 45.005 = 90.01 (no rounding: four places of price).
    assert [line.net_amount for line in lines] == [Decimal("87.50"), Decimal("90.01")]
    assert second.tax_total == Decimal("17.50")
    assert second.total == Decimal("195.01")
    assert OutboxEvent.objects.filter(name="order.created", aggregate_id=str(first.pk)).exists()
    assert stock_of(stocked) == (10, 0)


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"product": "PRODUCT", "quantity": -1}, "lines.0.quantity"),
        ({"product": "PRODUCT", "quantity": 0}, "lines.0.quantity"),
        ({"product": "PRODUCT", "quantity": "two"}, "lines.0.quantity"),
        ({"product": 999_999, "quantity": 1}, "lines.0.product"),
        ({"product": "PRODUCT", "discount_percent": "100.01"}, "lines.0.discount_percent"),
        ({"product": "PRODUCT", "discount_percent": "-1"}, "lines.0.discount_percent"),
        ({"product": "PRODUCT", "unit_price": "-3"}, "lines.0.unit_price"),
        ({"product": "PRODUCT", "tax_rate": "101"}, "lines.0.tax_rate"),
        ({"quantity": 1, "unit_price": "5"}, "lines.0.name"),
        ({"product": "PRODUCT", "colour": "red"}, "lines.0.colour"),
    ],
)
def test_bad_lines_are_refused_by_field_and_nothing_is_written(
    as_alice, customer, stocked, line, field
):
    line = {key: stocked.pk if value == "PRODUCT" else value for key, value in line.items()}
    with pytest.raises(ValidationError) as error:
        orders.order_create(actor=as_alice, values={"contact": customer}, lines=[line])
    assert field in error.value.message_dict
    assert not Order.all_objects.exists()


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"currency": "XYZ"}, "currency"),
        ({"contact": None}, "contact"),
        ({"contact": 999_999}, "contact"),
    ],
)
def test_bad_order_values_are_refused_by_field(as_alice, customer, stocked, values, field):
    with pytest.raises(ValidationError) as error:
        orders.order_create(
            actor=as_alice,
            values={"contact": customer, **values},
            lines=[{"product": stocked.pk, "quantity": 1, "unit_price": "1"}],
        )
    assert field in error.value.message_dict


def test_no_lines_and_a_product_without_a_price_are_refused(as_alice, customer, stocked):
    with pytest.raises(ValidationError) as error:
        orders.order_create(actor=as_alice, values={"contact": customer}, lines=[])
    assert "lines" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        make_order(as_alice, customer, stocked, currency="EUR")
    assert "lines.0.unit_price" in error.value.message_dict


def test_a_customer_the_actor_may_not_see_is_unknown(as_alice, charlie, customer, stocked):
    from rapport.sales.tests.conftest import actor_for

    with pytest.raises(ValidationError) as error:
        make_order(actor_for(charlie), customer, stocked)
    assert "contact" in error.value.message_dict


def test_the_status_flow_moves_stock_and_is_audited(as_alice, customer, stocked):
    order = make_order(as_alice, customer, stocked, quantity=4)
    order = orders.order_transition(order, actor=as_alice, status=OrderStatus.CONFIRMED)
    assert stock_of(stocked) == (10, 4)
    order = orders.order_transition(order, actor=as_alice, status=OrderStatus.FULFILLED)
    assert stock_of(stocked) == (6, 0)
    order = orders.order_transition(order, actor=as_alice, status=OrderStatus.DELIVERED)
    assert stock_of(stocked) == (6, 0)
    order = orders.order_transition(order, actor=as_alice, status=OrderStatus.RETURNED)
    assert stock_of(stocked) == (10, 0)
    changes = [
        entry.changes["status"]
        for entry in AuditEntry.objects.filter(
            object_id=str(order.pk), content_type__model="order", action="update"
        ).order_by("id")
    ]
    assert changes == [
        ["draft", "confirmed"],
        ["confirmed", "fulfilled"],
        ["fulfilled", "delivered"],
        ["delivered", "returned"],
    ]
    events = OutboxEvent.objects.filter(name="order.status_changed", aggregate_id=str(order.pk))
    assert [event.payload["to"] for event in events.order_by("id")] == [
        "confirmed",
        "fulfilled",
        "delivered",
        "returned",
    ]
    assert order.version == 5


def test_cancelling_releases_the_reservation(as_alice, customer, stocked):
    order = make_order(as_alice, customer, stocked, quantity=4)
    orders.order_transition(order, actor=as_alice, status=OrderStatus.CONFIRMED)
    orders.order_transition(order, actor=as_alice, status=OrderStatus.CANCELLED)
    assert stock_of(stocked) == (10, 0)
    draft = make_order(as_alice, customer, stocked)
    orders.order_transition(draft, actor=as_alice, status=OrderStatus.CANCELLED)
    assert stock_of(stocked) == (10, 0)


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ([], OrderStatus.FULFILLED),
        ([], OrderStatus.RETURNED),
        ([OrderStatus.CONFIRMED, OrderStatus.FULFILLED], OrderStatus.CANCELLED),
        ([OrderStatus.CANCELLED], OrderStatus.CONFIRMED),
        ([], "shipped"),
    ],
)
def test_moves_outside_the_flow_are_refused(as_alice, customer, stocked, path, refused):
    order = make_order(as_alice, customer, stocked)
    for status in path:
        order = orders.order_transition(order, actor=as_alice, status=status)
    before = stock_of(stocked)
    with pytest.raises(ValidationError) as error:
        orders.order_transition(order, actor=as_alice, status=refused)
    assert "status" in error.value.message_dict
    assert stock_of(stocked) == before


def test_an_order_that_would_oversell_is_refused_naming_the_line(as_alice, customer, stocked):
    first = make_order(as_alice, customer, stocked, quantity=7)
    orders.order_transition(first, actor=as_alice, status=OrderStatus.CONFIRMED)
    second = orders.order_create(
        actor=as_alice,
        values={"contact": customer},
        lines=[
            {"name": "Delivery", "quantity": 1, "unit_price": "10"},
            {"product": stocked.pk, "quantity": 2},
            {"product": stocked.pk, "quantity": 2},
        ],
    )
    with pytest.raises(ValidationError) as error:
        orders.order_transition(second, actor=as_alice, status=OrderStatus.CONFIRMED)
    assert error.value.message_dict == {
        "lines.1.quantity": ["Only 3 of Desk (DESK-1) are available; the order needs 4."]
    }
    second.refresh_from_db()
    assert second.status == OrderStatus.DRAFT
    assert stock_of(stocked) == (10, 7)


def test_a_backorder_reserves_beyond_stock_and_ships_once_stock_arrives(
    as_alice, as_manager, customer, stocked
):
    from rapport.sales.services import product_adjust_stock

    order = make_order(as_alice, customer, stocked, quantity=12, allow_backorder=True)
    orders.order_transition(order, actor=as_alice, status=OrderStatus.CONFIRMED)
    assert stock_of(stocked) == (10, 12)
    with pytest.raises(ValidationError) as error:
        orders.order_transition(order, actor=as_alice, status=OrderStatus.FULFILLED)
    assert "lines.0.quantity" in error.value.message_dict
    product_adjust_stock(stocked, actor=as_manager, change=5, reason="Delivery")
    orders.order_transition(order, actor=as_alice, status=OrderStatus.FULFILLED)
    assert stock_of(stocked) == (3, 0)


def test_only_who_may_edit_the_order_moves_it(as_alice, customer, stocked, charlie):
    from django.http import Http404

    from rapport.sales.tests.conftest import actor_for

    order = make_order(as_alice, customer, stocked)
    with pytest.raises(Http404):
        orders.order_transition(order, actor=actor_for(charlie), status=OrderStatus.CONFIRMED)
    assert stock_of(stocked) == (10, 0)


def test_a_stale_version_is_refused(as_alice, customer, stocked):
    from rapport.core.exceptions import VersionConflict

    order = make_order(as_alice, customer, stocked)
    orders.order_transition(order, actor=as_alice, status=OrderStatus.CONFIRMED)
    with pytest.raises(VersionConflict):
        orders.order_transition(
            order, actor=as_alice, status=OrderStatus.CANCELLED, expected_version=1
        )


def test_purging_a_customer_keeps_its_orders(as_alice, as_admin, stocked):
    from rapport.contacts.services import contact_create
    from rapport.core.services import record_delete, record_purge

    loner = contact_create(actor=as_alice, values={"first_name": "Lone", "last_name": "Buyer"})
    order = make_order(as_alice, loner, stocked)
    record_delete(loner, actor=as_admin)
    loner.refresh_from_db()
    record_purge(loner, actor=as_admin)
    order.refresh_from_db()
    assert order.contact is None and order.company is None
