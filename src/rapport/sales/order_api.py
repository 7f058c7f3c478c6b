"""API for orders: list, detail, create (idempotent with an ``Idempotency-Key``
header), changes to a draft and status transitions. Thin: schemas → ``sales.orders`` /
``sales.order_queries``.

Amounts are decimals written as strings ("12.50"). An order the caller may not see
answers 404; one they may see but not change, 403.
"""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.responses import NinjaJSONEncoder
from pydantic import ConfigDict

from rapport.accounts.models import Team, User
from rapport.core.api import (
    IF_MATCH,
    PageOut,
    PageParams,
    RecordOut,
    actor,
    current_user,
    objects_by_ids,
    paginate,
    problem,
    problems,
)
from rapport.core.etag import etag_for, expected_version, set_etag
from rapport.core.permissions import get_visible_or_404
from rapport.sales import idempotency, order_queries, orders
from rapport.sales.models import Order, OrderStatus

router = Router(tags=["orders"])

ENDPOINT = "orders.create"


class LineIn(Schema):
    model_config = ConfigDict(extra="forbid")

    product: int | None = Field(None, description="A product id; or leave out and name the item.")
    name: str = Field("", description="The product's name when not given.")
    quantity: int = Field(1, description="Whole units, 1 or more.")
    unit_price: Decimal | None = Field(
        None, description="In the order's currency; the product's default price when left out."
    )
    discount_percent: Decimal = Field(Decimal(0), description="Percent, 0 to 100.")
    tax_rate: Decimal | None = Field(
        None, description="Percent; the product's tax rate when left out."
    )


class OrderIn(Schema):
    model_config = ConfigDict(extra="forbid")

    contact: int | None = Field(None, description="A contact id; a contact or a company is needed.")
    company: int | None = Field(None, description="A company id; the contact's when left out.")
    deal: int | None = None
    quote: int | None = None
    currency: str | None = Field(None, description="ISO 4217; the deal's or the base currency.")
    order_date: datetime.date | None = Field(None, description="Today when left out.")
    allow_backorder: bool = False
    notes: str = ""
    owner: int | None = Field(None, description="A user id; you when not given.")
    team: int | None = None
    lines: list[LineIn] = Field(description="One or more.")


class OrderPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    contact: int | None = None
    company: int | None = None
    currency: str | None = Field(None, description="ISO 4217; the lines are priced again.")
    order_date: datetime.date | None = None
    allow_backorder: bool | None = None
    notes: str | None = None
    owner: int | None = Field(None, description="A user id.")
    team: int | None = None
    lines: list[LineIn] | None = Field(None, description="Replace all the lines when given.")


class LineOut(Schema):
    id: int
    product: int | None = Field(alias="product_id")
    name: str
    quantity: int
    unit_price: Decimal
    discount_percent: Decimal
    tax_rate: Decimal
    net_amount: Decimal
    tax_amount: Decimal
    total_amount: Decimal


class OrderSummaryOut(RecordOut):
    id: int
    number: str
    status: OrderStatus
    contact: int | None = Field(alias="contact_id")
    company: int | None = Field(alias="company_id")
    deal: int | None = Field(alias="deal_id")
    quote: int | None = Field(alias="quote_id")
    currency: str = Field(alias="currency_id")
    order_date: datetime.date
    allow_backorder: bool
    net_total: Decimal
    tax_total: Decimal
    total: Decimal
    total_base: Decimal = Field(description="The total in the base currency on the order date.")
    status_changed_at: datetime.datetime
    owner: int | None = Field(alias="owner_id")
    team: int | None = Field(alias="team_id")
    version: int
    created_at: datetime.datetime
    updated_at: datetime.datetime


class OrderOut(OrderSummaryOut):
    subtotal: Decimal
    discount_total: Decimal
    notes: str
    next_statuses: list[OrderStatus] = Field(description="The statuses it may move to now.")
    lines: list[LineOut]

    @staticmethod
    def resolve_next_statuses(order: Order) -> list[str]:
        return list(orders.next_statuses(order))

    @staticmethod
    def resolve_lines(order: Order) -> list[Any]:
        return list(order.lines.all())


class OrderFilters(Schema):
    status: OrderStatus | None = None
    contact: int | None = Field(None, description="A contact id.")
    company: int | None = Field(None, description="A company id.")
    deal: int | None = Field(None, description="A deal id.")
    number: str | None = Field(None, description="This number exactly (any case).")


class TransitionIn(Schema):
    status: OrderStatus = Field(
        description="confirmed (reserves stock), fulfilled (ships it), delivered, cancelled "
        "(releases the reservation) or returned (puts shipped stock back)."
    )


def _visible(request: HttpRequest, order_id: int) -> Order:
    return get_visible_or_404(Order.objects.all(), current_user(request), pk=order_id)


def _arguments(payload: OrderIn | OrderPatch) -> dict[str, Any]:
    data = payload.model_dump(exclude_unset=True)
    lines = data.pop("lines", None)
    if data.get("owner") is not None:
        users = User.objects.filter(is_active=True)
        data["owner"] = objects_by_ids(users, [data["owner"]], field="owner")[0]
    if data.get("team") is not None:
        data["team"] = objects_by_ids(Team.objects.all(), [data["team"]], field="team")[0]
    return {"values": data, "lines": lines}


def _body(order: Order) -> dict[str, Any]:
    """The order as the detail endpoint renders it, as JSON data to store and replay."""
    fresh = Order.objects.prefetch_related("lines").get(pk=order.pk)
    return json.loads(json.dumps(OrderOut.from_orm(fresh).model_dump(), cls=NinjaJSONEncoder))


def _answer(request: HttpRequest, answer: idempotency.Answer) -> HttpResponse:
    response = JsonResponse(answer.body, status=answer.status)
    if answer.location:
        response["Location"] = answer.location
        response["ETag"] = f'W/"{answer.body["version"]}"'
    return response


@router.get("/orders", response={200: PageOut[OrderSummaryOut], **problems(400, 422)})
def order_list(
    request: HttpRequest,
    response: HttpResponse,
    filters: Query[OrderFilters],
    page: Query[PageParams],
) -> dict:
    """The orders you may see, newest first, filtered by status, contact, company, deal."""
    filterset = order_queries.order_list(current_user(request), request.GET)
    return paginate(request, response, filterset.qs, ordering=order_queries.ORDERING, params=page)


@router.post("/orders", response={201: OrderOut, **problems(403, 422)})
def order_create(request: HttpRequest, payload: OrderIn) -> HttpResponse:
    """Create a draft order with its lines. Send an ``Idempotency-Key`` header (any text
    up to 200 characters, unique per request you mean) to make retrying safe: the same
    key with the same body answers the first order again and creates nothing; with a
    different body, 422."""

    def create() -> idempotency.Answer:
        order = orders.order_create(actor=actor(request), **_arguments(payload))
        location = reverse("api:order_detail", kwargs={"order_id": order.pk})
        return idempotency.Answer(status=201, body=_body(order), location=location)

    key = request.headers.get(idempotency.HEADER)
    if key is None:
        return _answer(request, create())
    try:
        answer = idempotency.once(
            user=current_user(request),
            key=key,
            endpoint=ENDPOINT,
            request_digest=idempotency.fingerprint(ENDPOINT, request.body),
            run=create,
        )
    except idempotency.KeyReused:
        return problem(
            request,
            422,
            _("Idempotency key reused"),
            detail=_(
                "This Idempotency-Key was sent before with a different request. Use a new key "
                "for a new order."
            ),
            kind="idempotency-key-reused",
        )
    return _answer(request, answer)


@router.get("/orders/{int:order_id}", response={200: OrderOut, **problems(404)})
def order_detail(request: HttpRequest, response: HttpResponse, order_id: int) -> Order:
    """One order with its lines and the statuses it may move to."""
    order = _visible(request, order_id)
    set_etag(response, order)
    return order


@router.patch(
    "/orders/{int:order_id}",
    response={200: OrderOut, **problems(400, 403, 404, 412, 422)},
    openapi_extra=IF_MATCH,
)
def order_update(
    request: HttpRequest, response: HttpResponse, order_id: int, payload: OrderPatch
) -> Order:
    """Change a draft order: the fields sent, and all its lines when ``lines`` is sent.
    A confirmed order no longer changes (422): cancel it and create another. Honours
    If-Match."""
    order = orders.order_update(
        _visible(request, order_id),
        actor=actor(request),
        expected_version=expected_version(request),
        **_arguments(payload),
    )
    response["ETag"] = etag_for(order)
    # Read back, so amounts show with the scale they are stored with, as on every read.
    return Order.objects.prefetch_related("lines").get(pk=order.pk)


@router.post(
    "/orders/{int:order_id}/transition",
    response={200: OrderOut, **problems(400, 403, 404, 412, 422)},
    openapi_extra=IF_MATCH,
)
def order_transition(
    request: HttpRequest, response: HttpResponse, order_id: int, payload: TransitionIn
) -> Order:
    """Move the order to another status: draft → confirmed → fulfilled → delivered; draft
    or confirmed → cancelled; fulfilled or delivered → returned. Confirming an order that
    would oversell is refused (422, naming the line) unless it allows backorder. Honours
    If-Match."""
    order = orders.order_transition(
        _visible(request, order_id),
        actor=actor(request),
        status=payload.status,
        expected_version=expected_version(request),
    )
    response["ETag"] = etag_for(order)
    return order
