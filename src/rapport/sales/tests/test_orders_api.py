"""The orders API: list with filters and keyset pages, detail, create with idempotency
keys, transitions, and bad input as problem documents naming the field."""

from __future__ import annotations

import json

import pytest

from rapport.accounts.models import TokenScope
from rapport.accounts.tokens import token_create
from rapport.sales import orders
from rapport.sales.models import IdempotencyKey, Order, OrderStatus

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders"


def post(client, url, body, **headers):
    return client.post(url, json.dumps(body), content_type="application/json", headers=headers)


def order_body(customer, product, quantity=2, **extra):
    return {
        "contact": customer.pk,
        "lines": [{"product": product.pk, "quantity": quantity}],
        **extra,
    }


def fields_of(response) -> list[str]:
    assert response["Content-Type"] == "application/problem+json", response.content
    return [error["field"] for error in response.json()["errors"]]


def test_create_read_and_move_an_order(alice_client, customer, stocked):
    created = post(alice_client, URL, order_body(customer, stocked, quantity=3))
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["number"].startswith("SO-")
    assert body["status"] == "draft"
    assert body["company"] == customer.company_id
    assert (body["net_total"], body["tax_total"], body["total"]) == (
        "300.0000",
        "60.0000",
        "360.0000",
    )
    assert body["lines"][0]["unit_price"] == "100.0000"
    assert body["next_statuses"] == ["confirmed", "cancelled"]
    assert created["Location"] == f"{URL}/{body['id']}"
    assert created["ETag"] == 'W/"1"'

    detail = alice_client.get(created["Location"])
    assert detail.status_code == 200
    assert detail.json() == body

    moved = post(
        alice_client,
        f"{URL}/{body['id']}/transition",
        {"status": "confirmed"},
        **{"If-Match": 'W/"1"'},
    )
    assert moved.status_code == 200, moved.content
    assert moved.json()["status"] == "confirmed"
    assert moved["ETag"] == 'W/"2"'
    stale = post(
        alice_client,
        f"{URL}/{body['id']}/transition",
        {"status": "fulfilled"},
        **{"If-Match": 'W/"1"'},
    )
    assert stale.status_code == 412
    stocked.refresh_from_db()
    assert stocked.reserved_quantity == 3


def test_overselling_is_a_problem_naming_the_line(alice_client, customer, stocked):
    order = post(alice_client, URL, order_body(customer, stocked, quantity=11)).json()
    refused = post(alice_client, f"{URL}/{order['id']}/transition", {"status": "confirmed"})
    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {
            "field": "lines.0.quantity",
            "message": "Only 10 of Desk (DESK-1) are available; the order needs 11.",
        }
    ]
    wrong_move = post(alice_client, f"{URL}/{order['id']}/transition", {"status": "delivered"})
    assert wrong_move.status_code == 422
    assert fields_of(wrong_move) == ["status"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lines": [{"product": "P", "quantity": -2}]}, "lines.0.quantity"),
        ({"lines": [{"product": "P", "quantity": "many"}]}, "lines.0.quantity"),
        ({"lines": [{"product": 987654, "quantity": 1}]}, "lines.0.product"),
        ({"lines": [{"product": "P", "discount_percent": "150"}]}, "lines.0.discount_percent"),
        ({"currency": "ZZZ"}, "currency"),
        ({"contact": None}, "contact"),
        ({"lines": []}, "lines"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_422_naming_the_field(alice_client, customer, stocked, change, field):
    body = order_body(customer, stocked) | change
    for line in body["lines"]:
        if line.get("product") == "P":
            line["product"] = stocked.pk
    response = post(alice_client, URL, body)
    assert response.status_code == 422
    assert field in fields_of(response)
    assert not Order.all_objects.exists()


def test_the_same_idempotency_key_answers_the_first_order_again(alice_client, customer, stocked):
    body = order_body(customer, stocked)
    first = post(alice_client, URL, body, **{"Idempotency-Key": "order-7f3a"})
    again = post(
        alice_client,
        URL,
        json.loads(json.dumps(body)),
        **{"Idempotency-Key": "order-7f3a"},
    )
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Location"] == first["Location"]
    assert Order.objects.count() == 1

    other = post(
        alice_client,
        URL,
        order_body(customer, stocked, quantity=5),
        **{"Idempotency-Key": "order-7f3a"},
    )
    assert other.status_code == 422
    assert other.json()["type"].endswith("/idempotency-key-reused")
    assert Order.objects.count() == 1

    fresh = post(alice_client, URL, body, **{"Idempotency-Key": "order-8b21"})
    assert fresh.status_code == 201
    assert fresh.json()["id"] != first.json()["id"]


def test_a_failed_request_leaves_its_key_free(alice_client, customer, stocked):
    bad = post(
        alice_client, URL, order_body(customer, stocked, quantity=0), **{"Idempotency-Key": "k1"}
    )
    assert bad.status_code == 422
    assert not IdempotencyKey.objects.exists()
    good = post(alice_client, URL, order_body(customer, stocked), **{"Idempotency-Key": "k1"})
    assert good.status_code == 201


def test_keys_belong_to_their_user(alice, bob, customer, stocked, client):
    _token, alice_secret = token_create(
        actor=orders_actor(alice), name="shop", scope=TokenScope.READ_WRITE
    )
    _token, bob_secret = token_create(
        actor=orders_actor(bob), name="shop", scope=TokenScope.READ_WRITE
    )
    body = order_body(customer, stocked)
    as_alice = post(
        client, URL, body, **{"Idempotency-Key": "same", "Authorization": f"Bearer {alice_secret}"}
    )
    as_bob = post(
        client, URL, body, **{"Idempotency-Key": "same", "Authorization": f"Bearer {bob_secret}"}
    )
    assert as_alice.status_code == as_bob.status_code == 201
    assert as_alice.json()["id"] != as_bob.json()["id"]


def orders_actor(user):
    from rapport.sales.tests.conftest import actor_for

    return actor_for(user)


def test_list_filters_pages_and_scopes(
    alice_client, as_alice, customer, stocked, charlie, django_assert_max_num_queries
):
    from rapport.contacts.services import contact_create
    from rapport.sales.tests.conftest import actor_for, client_for

    other = contact_create(actor=as_alice, values={"first_name": "Otto"})
    made = [
        orders.order_create(
            actor=as_alice,
            values={"contact": customer if index % 2 else other},
            lines=[{"product": stocked.pk, "quantity": 1}],
        )
        for index in range(5)
    ]
    orders.order_transition(made[1], actor=as_alice, status=OrderStatus.CONFIRMED)

    # Session, user, the rate limit's counter, role, teams, the sensitive custom fields
    # the role hides and the page, however many orders it lists.
    with django_assert_max_num_queries(7):
        first_page = alice_client.get(URL, {"limit": 3})
    assert first_page.status_code == 200
    page = first_page.json()
    assert [item["id"] for item in page["items"]] == [order.pk for order in made[::-1][:3]]
    rest = alice_client.get(URL, {"limit": 3, "cursor": page["next_cursor"]}).json()
    assert [item["id"] for item in rest["items"]] == [made[1].pk, made[0].pk]
    assert rest["next_cursor"] is None

    by_contact = alice_client.get(URL, {"contact": customer.pk}).json()["items"]
    assert {item["id"] for item in by_contact} == {made[1].pk, made[3].pk}
    confirmed = alice_client.get(URL, {"status": "confirmed"}).json()["items"]
    assert [item["id"] for item in confirmed] == [made[1].pk]
    by_company = alice_client.get(URL, {"company": customer.company_id}).json()["items"]
    assert len(by_company) == 2
    assert alice_client.get(URL, {"status": "lost"}).status_code == 422
    assert alice_client.get(URL, {"cursor": "forged"}).status_code == 400

    outsider = client_for(charlie)
    assert outsider.get(URL).json()["items"] == []
    assert outsider.get(f"{URL}/{made[0].pk}").status_code == 404
    moved = post(outsider, f"{URL}/{made[0].pk}/transition", {"status": "confirmed"})
    assert moved.status_code == 404
    assert actor_for(charlie)


def test_keys_are_forgotten_after_a_day(alice_client, customer, stocked):
    import datetime

    from django.utils import timezone

    from rapport.sales.idempotency import forget_old_keys

    post(alice_client, URL, order_body(customer, stocked), **{"Idempotency-Key": "old"})
    assert forget_old_keys() == 0
    assert forget_old_keys(now=timezone.now() + datetime.timedelta(hours=25)) == 1
    again = post(alice_client, URL, order_body(customer, stocked), **{"Idempotency-Key": "old"})
    assert again.status_code == 201
    assert Order.objects.count() == 2


def patch(client, url, body, **headers):
    return client.patch(url, json.dumps(body), content_type="application/json", headers=headers)


def test_a_draft_order_changes_by_patch(alice_client, customer, stocked):
    order = post(alice_client, URL, order_body(customer, stocked)).json()
    url = f"{URL}/{order['id']}"
    changed = patch(alice_client, url, {"notes": "Gift wrap"}, **{"If-Match": 'W/"1"'})
    assert changed.status_code == 200, changed.content
    assert (changed.json()["notes"], changed.json()["lines"][0]["quantity"]) == ("Gift wrap", 2)
    assert changed["ETag"] == 'W/"2"'
    relined = patch(alice_client, url, {"lines": [{"product": stocked.pk, "quantity": 4}]})
    assert relined.json()["net_total"] == "400.0000"
    bad = patch(alice_client, url, {"lines": [{"product": stocked.pk, "quantity": 0}]})
    assert bad.status_code == 422
    assert fields_of(bad) == ["lines.0.quantity"]
    assert patch(alice_client, url, {"contact": None, "company": None}).status_code == 422
    stale = patch(alice_client, url, {"notes": "x"}, **{"If-Match": 'W/"1"'})
    assert stale.status_code == 412
    post(alice_client, f"{url}/transition", {"status": "confirmed"})
    frozen = patch(alice_client, url, {"notes": "Too late"})
    assert frozen.status_code == 422
    assert fields_of(frozen) == ["status"]
    assert Order.objects.get().notes == "Gift wrap"
