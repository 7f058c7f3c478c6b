"""API for quotes: list, make one from a deal, detail, send it to its contact, and its
PDF. Thin: schemas → ``sales.quotes`` / ``sales.order_queries``."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict

from rapport.core.api import (
    PageOut,
    PageParams,
    RecordOut,
    actor,
    created,
    current_user,
    paginate,
    problems,
)
from rapport.core.etag import set_etag
from rapport.core.permissions import get_visible_or_404
from rapport.sales import order_queries, quotes
from rapport.sales.models import Deal, Quote, QuoteStatus
from rapport.sales.order_api import LineIn, LineOut
from rapport.sales.quote_pdf import quote_pdf

router = Router(tags=["quotes"])


class QuoteIn(Schema):
    model_config = ConfigDict(extra="forbid")

    deal: int = Field(description="The deal the quote is for.")
    contact: int | None = Field(None, description="The deal's first contact when left out.")
    company: int | None = Field(None, description="The deal's company when left out.")
    currency: str | None = Field(None, description="ISO 4217; the deal's when left out.")
    quote_date: datetime.date | None = Field(None, description="Today when left out.")
    valid_until: datetime.date | None = Field(None, description="30 days on when left out.")
    confirm_order_on_accept: bool = False
    win_deal_on_accept: bool = True
    terms: str = ""
    notes: str = ""
    lines: list[LineIn] | None = Field(None, description="The deal's line items when left out.")


class QuoteSummaryOut(RecordOut):
    id: int
    number: str
    status: QuoteStatus
    deal: int | None = Field(alias="deal_id")
    contact: int | None = Field(alias="contact_id")
    company: int | None = Field(alias="company_id")
    currency: str = Field(alias="currency_id")
    quote_date: datetime.date
    valid_until: datetime.date
    net_total: Decimal
    tax_total: Decimal
    total: Decimal
    total_base: Decimal
    sent_at: datetime.datetime | None
    responded_at: datetime.datetime | None
    owner: int | None = Field(alias="owner_id")
    version: int
    created_at: datetime.datetime
    updated_at: datetime.datetime


class QuoteOut(QuoteSummaryOut):
    subtotal: Decimal
    discount_total: Decimal
    confirm_order_on_accept: bool
    win_deal_on_accept: bool
    terms: str
    notes: str
    orders: list[int] = Field(description="The order accepting it made.")
    lines: list[LineOut]

    @staticmethod
    def resolve_orders(quote: Quote) -> list[int]:
        return list(quote.orders.values_list("id", flat=True))

    @staticmethod
    def resolve_lines(quote: Quote) -> list[Any]:
        return list(quote.lines.all())


class QuoteFilters(Schema):
    status: QuoteStatus | None = None
    deal: int | None = None
    contact: int | None = None
    company: int | None = None


class SendIn(Schema):
    message: str = Field("", max_length=2000, description="Put above the link in the email.")


def _visible(request: HttpRequest, quote_id: int) -> Quote:
    return get_visible_or_404(Quote.objects.all(), current_user(request), pk=quote_id)


@router.get("/quotes", response={200: PageOut[QuoteSummaryOut], **problems(400, 422)})
def quote_list(
    request: HttpRequest,
    response: HttpResponse,
    filters: Query[QuoteFilters],
    page: Query[PageParams],
) -> dict:
    """The quotes you may see, newest first."""
    filterset = order_queries.quote_list(current_user(request), request.GET)
    return paginate(request, response, filterset.qs, ordering=order_queries.ORDERING, params=page)


@router.post("/quotes", response={201: QuoteOut, **problems(403, 404, 422)})
def quote_create(request: HttpRequest, response: HttpResponse, payload: QuoteIn) -> Any:
    """A draft quote for a deal: the deal's line items, company, first contact and
    currency unless the body says otherwise."""
    data = payload.model_dump(exclude_unset=True)
    deal = get_visible_or_404(Deal.objects.all(), current_user(request), pk=data.pop("deal"))
    lines = data.pop("lines", None)
    quote = quotes.quote_create(actor=actor(request), deal=deal, values=data, lines=lines)
    quote = Quote.objects.get(pk=quote.pk)
    return created(response, quote, "api:quote_detail", quote_id=quote.pk)


@router.get("/quotes/{int:quote_id}", response={200: QuoteOut, **problems(404)})
def quote_detail(request: HttpRequest, response: HttpResponse, quote_id: int) -> Quote:
    quote = _visible(request, quote_id)
    set_etag(response, quote)
    return quote


@router.post("/quotes/{int:quote_id}/send", response={200: QuoteOut, **problems(403, 404, 422)})
def quote_send(request: HttpRequest, quote_id: int, payload: SendIn) -> Quote:
    """Email the quote's PDF to its contact with a link to accept or decline it online
    (a new link each time: the previous one stops working)."""
    return quotes.quote_send(
        _visible(request, quote_id), actor=actor(request), message=payload.message
    )


@router.get(
    "/quotes/{int:quote_id}/pdf",
    response={200: None, **problems(404)},
    openapi_extra={"responses": {"200": {"content": {"application/pdf": {}}}}},
)
def quote_download(request: HttpRequest, quote_id: int) -> HttpResponse:
    """The quote as a PDF."""
    quote = _visible(request, quote_id)
    response = HttpResponse(quote_pdf(quote), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{quote.number}.pdf"'
    return response
