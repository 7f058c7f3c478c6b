"""The deals API through HTTP: pipelines and the board, deals with people and line
items, moves with If-Match, stage history; bad input as problems naming the field, and
deals one may not see or edit as 404."""

from __future__ import annotations

import pytest

from rapport.contacts.models import Contact
from rapport.core.models import OutboxEvent
from rapport.sales.models import Deal, LostReason, Pipeline
from rapport.sales.tests.conftest import client_for

PROBLEM = "application/problem+json"
JSON = "application/json"

pytestmark = pytest.mark.django_db


def fields_of(response) -> list[str | None]:
    assert response["Content-Type"] == PROBLEM, response.content
    return [error["field"] for error in response.json()["errors"]]


@pytest.fixture
def pipeline() -> Pipeline:
    return Pipeline.objects.get(is_default=True)


def stage_id(pipeline: Pipeline, name: str) -> int:
    return pipeline.stages.get(name=name).pk


def test_pipelines_with_their_stages(alice_client, admin, pipeline):
    listed = alice_client.get("/api/v1/pipelines").json()
    assert [stage["name"] for stage in listed[0]["stages"]] == [
        "Qualification",
        "Needs analysis",
        "Proposal",
        "Negotiation",
        "Won",
        "Lost",
    ]
    refused = alice_client.post("/api/v1/pipelines", {"name": "Mine"}, content_type=JSON)
    assert refused.status_code == 403
    admin_client = client_for(admin)
    created = admin_client.post(
        "/api/v1/pipelines",
        {"name": "Partners", "stages": [{"name": "Intro", "probability": 20}]},
        content_type=JSON,
    )
    assert created.status_code == 201, created.content
    assert [s["kind"] for s in created.json()["stages"]] == ["open", "won", "lost"]
    bad = admin_client.post(
        "/api/v1/pipelines",
        {"name": "Bad", "stages": [{"name": "X", "probability": 120}]},
        content_type=JSON,
    )
    assert bad.status_code == 422 and fields_of(bad) == ["stages.0.probability"]
    assert len(alice_client.get("/api/v1/lost-reasons").json()) == 6


def test_create_read_move_and_delete_a_deal(alice_client, alice, pipeline):
    anna = Contact.objects.create(first_name="Anna", last_name="Berg", owner=alice)
    created = alice_client.post(
        "/api/v1/deals",
        {
            "name": "Fleet renewal",
            "amount": "1200.50",
            "contacts": [{"contact": anna.pk, "role": "champion"}],
            "custom": {},
        },
        content_type=JSON,
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["stage"] == stage_id(pipeline, "Qualification") and body["status"] == "open"
    assert body["amount"] == "1200.5000" and body["currency"] == "USD"
    assert body["contacts"] == [{"contact": anna.pk, "role": "champion"}]
    url = created["Location"]
    read = alice_client.get(url)
    assert read.status_code == 200 and read["ETag"] == created["ETag"]
    assert alice_client.get(url, HTTP_IF_NONE_MATCH=read["ETag"]).status_code == 304
    moved = alice_client.post(
        f"{url}/move",
        {"stage": stage_id(pipeline, "Proposal")},
        content_type=JSON,
        HTTP_IF_MATCH=read["ETag"],
    )
    assert moved.status_code == 200, moved.content
    assert moved.json()["probability"] == 50
    stale = alice_client.post(
        f"{url}/move",
        {"stage": stage_id(pipeline, "Negotiation")},
        content_type=JSON,
        HTTP_IF_MATCH=read["ETag"],
    )
    assert stale.status_code == 412
    lost = alice_client.post(
        f"{url}/move", {"stage": stage_id(pipeline, "Lost")}, content_type=JSON
    )
    assert lost.status_code == 422 and fields_of(lost) == ["lost_reason"]
    reason = LostReason.objects.get(name="Price").pk
    lost = alice_client.post(
        f"{url}/move",
        {"stage": stage_id(pipeline, "Lost"), "lost_reason": reason},
        content_type=JSON,
    )
    assert lost.json()["status"] == "lost" and lost.json()["lost_reason"] == reason
    history = alice_client.get(f"{url}/stage-history").json()
    assert [spell["stage_name"] for spell in history] == ["Qualification", "Proposal", "Lost"]
    assert all(spell["seconds"] >= 0 for spell in history)
    names = set(
        OutboxEvent.objects.filter(aggregate_type="sales.deal").values_list("name", flat=True)
    )
    assert {"deal.created", "deal.stage_changed", "deal.lost"} <= names
    assert alice_client.delete(url).status_code == 204
    assert alice_client.get(url).status_code == 404


def test_line_items_and_people_through_the_api(alice_client, alice):
    deal = alice_client.post("/api/v1/deals", {"name": "Pilot", "amount": 1}, content_type=JSON)
    url = deal["Location"]
    items = alice_client.put(
        f"{url}/line-items",
        [{"name": "Licence", "quantity": 10, "unit_price": "99.99", "discount_percent": 5}],
        content_type=JSON,
    )
    assert items.status_code == 200, items.content
    # 10 x 99.99 = 999.90, less 5 % = 949.905: half to even gives 949.90.
    assert items.json()["amount"] == "949.9000"
    refused = alice_client.put(
        f"{url}/line-items",
        [{"name": "Licence", "quantity": -1, "unit_price": "1"}],
        content_type=JSON,
    )
    assert refused.status_code == 422 and fields_of(refused) == ["line_items.0.quantity"]
    anna = Contact.objects.create(first_name="Anna", last_name="Berg", owner=alice)
    people = alice_client.put(
        f"{url}/contacts", [{"contact": anna.pk, "role": "user"}], content_type=JSON
    )
    assert people.json()["contacts"] == [{"contact": anna.pk, "role": "user"}]
    unknown = alice_client.put(f"{url}/contacts", [{"contact": 999_999}], content_type=JSON)
    assert unknown.status_code == 422 and fields_of(unknown) == ["contacts.0.contact"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "amount": "-1"}, "amount"),
        ({"name": "X", "currency": "ZZZ"}, "currency"),
        ({"name": "X", "probability": 150}, "probability"),
        ({"name": "X", "stage": 999_999}, "stage"),
        ({"name": "X", "status": "won"}, "status"),
        ({"amount": "1"}, "name"),
    ],
)
def test_bad_deals_are_problems_naming_the_field(alice_client, body, field):
    response = alice_client.post("/api/v1/deals", body, content_type=JSON)
    assert response.status_code == 422
    assert field in fields_of(response)
    assert not Deal.objects.exists()


def test_deals_others_may_not_see_are_404_and_not_edit_403(alice_client, bob, charlie, pipeline):
    url = alice_client.post("/api/v1/deals", {"name": "Mine"}, content_type=JSON)["Location"]
    assert client_for(charlie).get(url).status_code == 404
    teammate = client_for(bob)
    assert teammate.get(url).status_code == 200
    move = teammate.post(
        f"{url}/move", {"stage": stage_id(pipeline, "Proposal")}, content_type=JSON
    )
    assert move.status_code == 403
    assert teammate.patch(url, {"name": "Taken"}, content_type=JSON).status_code == 403


def test_list_filters_sorts_and_pages_in_few_queries(alice_client, django_assert_max_num_queries):
    for number in range(12):
        alice_client.post(
            "/api/v1/deals", {"name": f"Deal {number}", "amount": number * 10}, content_type=JSON
        )
    with django_assert_max_num_queries(8):
        page = alice_client.get("/api/v1/deals", {"sort": "-amount", "limit": 5})
    body = page.json()
    assert [deal["name"] for deal in body["items"]] == [f"Deal {n}" for n in (11, 10, 9, 8, 7)]
    assert body["next_cursor"]
    filtered = alice_client.get("/api/v1/deals", {"amount_min": 100, "status": "open"}).json()
    assert len(filtered["items"]) == 2
    bad = alice_client.get("/api/v1/deals", {"sort": "nonsense"})
    assert bad.status_code == 422 and fields_of(bad) == ["sort"]


def test_the_board_endpoint(alice_client, pipeline):
    for number in range(3):
        alice_client.post(
            "/api/v1/deals", {"name": f"Deal {number}", "amount": 100}, content_type=JSON
        )
    board = alice_client.get(f"/api/v1/pipelines/{pipeline.pk}/board").json()
    first = board["columns"][0]
    assert (first["stage"]["name"], first["count"], first["amount"]) == (
        "Qualification",
        3,
        "300.00",
    )
    assert len(first["cards"]) == 3 and first["next_cursor"] is None
    assert alice_client.get("/api/v1/pipelines/999999/board").status_code == 404


def test_stage_moves_are_on_the_deal_and_company_timelines(alice_client, alice, pipeline):
    from rapport.contacts.models import Company

    acme = Company.objects.create(name="Acme", owner=alice)
    url = alice_client.post(
        "/api/v1/deals", {"name": "Acme pilot", "company": acme.pk}, content_type=JSON
    )["Location"]
    alice_client.post(f"{url}/move", {"stage": stage_id(pipeline, "Won")}, content_type=JSON)
    timeline = alice_client.get(f"{url}/timeline", {"kind": "deal_stage"}).json()
    moves = [item["deal_stage"] for item in timeline["items"]]
    assert [(move["to_stage_name"], move["status"]) for move in moves] == [
        ("Won", "won"),
        ("Qualification", "open"),
    ]
    company = alice_client.get(f"/api/v1/companies/{acme.pk}/timeline").json()
    assert [
        item["deal_stage"]["deal_name"] for item in company["items"] if item.get("deal_stage")
    ] == [
        "Acme pilot",
        "Acme pilot",
    ]
    page = alice_client.get(acme.get_absolute_url())
    assert page.status_code == 200
