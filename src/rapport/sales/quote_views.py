"""Quote pages: the list, a new quote from a deal (its lines to edit), a quote's page
with its PDF and the Send button, editing a draft, and the public page where the
customer accepts or declines. Thin: parse a form, call ``sales.quotes``, render."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.core.actors import Actor
from rapport.core.client_ip import client_ip
from rapport.core.forms import apply_service_errors
from rapport.core.pagination import keyset_page
from rapport.core.permissions import can, can_create, get_visible_or_404, mask_hidden_fields
from rapport.core.throttle import Throttled, counter_key, throttle
from rapport.sales import order_queries, quotes
from rapport.sales.documents import document_lines
from rapport.sales.models import Deal, Quote, QuoteStatus
from rapport.sales.order_forms import (
    QuoteForm,
    SendQuoteForm,
    line_formset,
    save_document,
)
from rapport.sales.quote_pdf import quote_pdf

PAGE_SIZE = 50


def _visible(request: HttpRequest, pk: int) -> Quote:
    queryset = Quote.objects.select_related("contact", "company", "deal", "currency", "owner")
    return get_visible_or_404(queryset, request.user, pk=pk)


@login_required
def quote_list(request: HttpRequest) -> HttpResponse:
    page, errors = None, []
    try:
        filterset = order_queries.quote_list(request.user, request.GET)
    except ValidationError as invalid:
        errors = invalid.messages
    else:
        page = keyset_page(
            filterset.qs.select_related("contact", "company", "currency"),
            ordering=order_queries.ORDERING,
            cursor=request.GET.get("cursor"),
            limit=PAGE_SIZE,
        )
    return render(
        request,
        "sales/quotes/list.html",
        {
            "page": page,
            "filter_errors": errors,
            "query": request.GET,
            "statuses": QuoteStatus.choices,
            "filtered": any(request.GET.get(name) for name in ("status", "deal")),
        },
    )


def _deal_initial(deal: Deal) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    contact = deal.participants.order_by("id").values_list("contact", flat=True).first()
    header = {
        "contact": contact,
        "company": deal.company_id,
        "currency": deal.currency_id,
        "valid_until": quotes.default_valid_until(),
        "win_deal_on_accept": True,
    }
    return header, quotes.deal_lines(deal)


@login_required
def quote_create(request: HttpRequest) -> HttpResponse:
    """A new quote for ``?deal=``: its lines copied from the deal's, to edit."""
    if not can_create(request.user, Quote):
        raise PermissionDenied
    deal_id = request.GET.get("deal", "")
    if not deal_id.isdigit():
        raise Http404
    deal = get_visible_or_404(Deal.objects.all(), request.user, pk=int(deal_id))
    header, lines = _deal_initial(deal)
    data = request.POST if request.method == "POST" else None
    form = QuoteForm(data, user=request.user, initial=header)
    formset = line_formset(data, user=request.user, initial=lines)
    quote = save_document(
        data,
        form,
        formset,
        lambda lines: quotes.quote_create(
            actor=Actor.for_request(request), deal=deal, values=form.values(), lines=lines
        ),
    )
    if quote is not None:
        messages.success(request, _("Quote %(number)s created.") % {"number": quote.number})
        return redirect(quote)
    return render(
        request, "sales/quotes/form.html", {"form": form, "formset": formset, "deal": deal}
    )


@login_required
def quote_edit(request: HttpRequest, pk: int) -> HttpResponse:
    quote = _visible(request, pk)
    if not can(request.user, "edit", quote):
        raise PermissionDenied
    header = {
        "contact": quote.contact_id,
        "company": quote.company_id,
        "currency": quote.currency_id,
        "valid_until": quote.valid_until,
        "confirm_order_on_accept": quote.confirm_order_on_accept,
        "win_deal_on_accept": quote.win_deal_on_accept,
        "terms": quote.terms,
        "notes": quote.notes,
    }
    data = request.POST if request.method == "POST" else None
    form = QuoteForm(data, user=request.user, initial=header)
    formset = line_formset(data, user=request.user, initial=document_lines(quote))
    saved = save_document(
        data,
        form,
        formset,
        lambda lines: quotes.quote_update(
            quote, actor=Actor.for_request(request), values=form.values(), lines=lines
        ),
    )
    if saved is not None:
        messages.success(request, _("Quote saved."))
        return redirect(quote)
    return render(
        request,
        "sales/quotes/form.html",
        {"form": form, "formset": formset, "deal": quote.deal, "quote": quote},
    )


def _detail(request: HttpRequest, quote: Quote, *, send_form: SendQuoteForm | None = None) -> Any:
    can_edit = can(request.user, "edit", quote)
    sendable = can_edit and quote.status in (QuoteStatus.DRAFT, QuoteStatus.SENT)
    return render(
        request,
        "sales/quotes/detail.html",
        {
            "record": quote,
            "quote": quote,
            "lines": quote.lines.select_related("product"),
            "orders": quote.orders.all(),
            "can_edit": can_edit and quote.status == QuoteStatus.DRAFT,
            "send_form": (send_form or SendQuoteForm()) if sendable else None,
            "can_mark_sent": can_edit and quote.status == QuoteStatus.DRAFT,
            "can_record_answer": can_edit and quote.status == QuoteStatus.SENT,
        },
        status=422 if send_form is not None and send_form.errors else 200,
    )


@login_required
def quote_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, mask_hidden_fields(request.user, _visible(request, pk)))


@login_required
def quote_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The quote as a PDF file."""
    quote = _visible(request, pk)
    response = HttpResponse(quote_pdf(quote), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{quote.number}.pdf"'
    return response


@login_required
@require_POST
def quote_send(request: HttpRequest, pk: int) -> HttpResponse:
    """Email the quote to its contact, with the PDF and the link to answer it."""
    quote = _visible(request, pk)
    form = SendQuoteForm(request.POST)
    if form.is_valid():
        try:
            quotes.quote_send(
                quote, actor=Actor.for_request(request), message=form.cleaned_data["message"]
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request,
                _("Quote %(number)s sent to %(contact)s.")
                % {"number": quote.number, "contact": quote.contact},
            )
            return redirect(quote)
    return _detail(request, quote, send_form=form)


# The customer's page: no login, reached through the secret link.

# Requests a minute one address may make to quote links: plenty for a customer, far
# too few to guess a link.
PUBLIC_LINK_LIMIT = 30


def _rate_limited(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Count the request against its address (one upsert, see core.throttle); past the
    limit, 429 with Retry-After."""

    @wraps(view)
    def limited(request: HttpRequest, token: str) -> HttpResponse:
        key = counter_key("quote-link", client_ip(request))
        try:
            throttle(key, limit=PUBLIC_LINK_LIMIT, window=datetime.timedelta(minutes=1))
        except Throttled as throttled:
            response = HttpResponse(
                _("Too many requests: try again in %(seconds)d seconds.")
                % {"seconds": throttled.retry_after},
                status=429,
                content_type="text/plain; charset=utf-8",
            )
            response["Retry-After"] = str(throttled.retry_after)
            return response
        return view(request, token)

    return limited


def _public(request: HttpRequest, quote: Quote, *, error: str = "", status: int = 200) -> Any:
    return render(
        request,
        "sales/quotes/public.html",
        {
            "quote": quote,
            "lines": quote.lines.all(),
            "token": request.resolver_match.kwargs["token"],
            "answerable": quote.status == QuoteStatus.SENT and not quote.is_expired,
            "error": error,
            "company_name": settings.COMPANY_NAME,
            "company_address": settings.COMPANY_ADDRESS,
        },
        status=status,
    )


@_rate_limited
def quote_public(request: HttpRequest, token: str) -> HttpResponse:
    quote = quotes.quote_by_token(token)
    if quote is None:
        raise Http404
    return _public(request, quote)


@require_POST
@_rate_limited
def quote_public_answer(request: HttpRequest, token: str) -> HttpResponse:
    """Accept or decline: ``answer`` is ``accept`` or ``decline``."""
    answer = request.POST.get("answer")
    if answer not in ("accept", "decline"):
        raise Http404
    try:
        quote, _order = quotes.quote_answer(token, accept=answer == "accept")
    except ValidationError as error:
        quote = quotes.quote_by_token(token)
        return _public(request, quote, error=" ".join(error.messages), status=409)
    return redirect("sales:quote_public", token=token)


@login_required
@require_POST
def quote_mark_sent(request: HttpRequest, pk: int) -> HttpResponse:
    """A draft handed to the customer another way than by email."""
    quote = _visible(request, pk)
    try:
        quotes.quote_mark_sent(quote, actor=Actor.for_request(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect(quote)


@login_required
@require_POST
def quote_record_answer(request: HttpRequest, pk: int) -> HttpResponse:
    """The customer's answer given by phone or on paper: ``answer`` accept or decline."""
    quote = _visible(request, pk)
    answer = request.POST.get("answer")
    if answer not in ("accept", "decline"):
        messages.error(request, _("Choose accept or decline."))
        return redirect(quote)
    try:
        quotes.quote_record_answer(
            quote, actor=Actor.for_request(request), accept=answer == "accept"
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect(quote)
