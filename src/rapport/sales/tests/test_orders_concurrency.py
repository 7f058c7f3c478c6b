"""Orders under real concurrency (PostgreSQL): transactions in threads, each with its own
connection, released together by a barrier."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from rapport.sales import orders
from rapport.sales.models import Order, OrderStatus

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="SQLite runs one write transaction at a time"
    ),
]


def run_together(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run ``calls`` at once in threads; each result, or the exception it raised."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = calls[index]()
        except Exception as error:  # the test reads what each call raised
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_confirmations_cannot_both_take_the_last_units(as_alice, customer, stocked):
    drafts = [
        orders.order_create(
            actor=as_alice,
            values={"contact": customer},
            lines=[{"product": stocked.pk, "quantity": 6}],
        )
        for _ in range(2)
    ]

    results = run_together(
        [
            lambda draft=draft: orders.order_transition(
                draft, actor=as_alice, status=OrderStatus.CONFIRMED
            )
            for draft in drafts
        ]
    )

    refused = [result for result in results if isinstance(result, ValidationError)]
    confirmed = [result for result in results if isinstance(result, Order)]
    assert len(confirmed) == 1
    assert len(refused) == 1
    assert refused[0].message_dict == {
        "lines.0.quantity": ["Only 4 of Desk (DESK-1) are available; the order needs 6."]
    }
    stocked.refresh_from_db()
    assert (stocked.stock_on_hand, stocked.reserved_quantity) == (10, 6)
    statuses = sorted(Order.objects.values_list("status", flat=True))
    assert statuses == [OrderStatus.CONFIRMED, OrderStatus.DRAFT]


def test_orders_created_at_once_get_different_numbers(as_alice, customer, stocked):
    results = run_together(
        [
            lambda: orders.order_create(
                actor=as_alice,
                values={"contact": customer},
                lines=[{"product": stocked.pk, "quantity": 1}],
            )
            for _ in range(4)
        ]
    )
    assert all(isinstance(result, Order) for result in results), results
    assert len({result.number for result in results}) == 4


def test_racing_requests_with_one_idempotency_key_create_one_order(alice, customer, stocked):
    import json

    from django.test import Client

    from rapport.accounts.models import TokenScope
    from rapport.accounts.tokens import token_create
    from rapport.sales.tests.conftest import actor_for

    _token, secret = token_create(actor=actor_for(alice), name="shop", scope=TokenScope.READ_WRITE)
    body = json.dumps({"contact": customer.pk, "lines": [{"product": stocked.pk, "quantity": 1}]})

    def send() -> Any:
        return Client().post(
            "/api/v1/orders",
            body,
            content_type="application/json",
            headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": "race-1"},
        )

    responses = run_together([send, send, send])

    assert [response.status_code for response in responses] == [201, 201, 201]
    first = responses[0].json()
    assert all(response.json() == first for response in responses)
    assert len({response["Location"] for response in responses}) == 1
    assert Order.objects.count() == 1
