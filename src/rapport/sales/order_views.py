"""Order pages: the list (filters, keyset pages), an order's page with its status
buttons, the form of a new order with its lines, and the contact lookup of that form.
Thin: parse a form, call ``sales.orders`` or ``sales.order_queries``, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from rapport.contacts import queries as contact_queries
from rapport.contacts.forms import LOOKUP_LIMIT
from rapport.contacts.views import search_params
from rapport.core.actors import Actor
from rapport.core.exceptions import VersionConflict
from rapport.core.pagination import keyset_page
from rapport.core.permissions import can, can_create, get_visible_or_404, mask_hidden_fields
from rapport.sales import order_queries, orders
from rapport.sales.documents import document_lines
from rapport.sales.models import Order, OrderLine, OrderStatus
from rapport.sales.order_forms import (
    OrderForm,
    line_formset,
    save_document,
)

PAGE_SIZE = 50
# The label of the button that moves an order to each status.
ACTIONS = {
    OrderStatus.CONFIRMED: gettext_lazy("Confirm"),
    OrderStatus.FULFILLED: gettext_lazy("Mark fulfilled"),
    OrderStatus.DELIVERED: gettext_lazy("Mark delivered"),
    OrderStatus.CANCELLED: gettext_lazy("Cancel order"),
    OrderStatus.RETURNED: gettext_lazy("Record return"),
}


@login_required
def order_list(request: HttpRequest) -> HttpResponse:
    """Orders, newest first, filtered by status, contact, company or deal."""
    page, errors = None, []
    try:
        filterset = order_queries.order_list(request.user, request.GET)
    except order_queries.InvalidOrderFilters as invalid:
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
        "sales/orders/list.html",
        {
            "page": page,
            "filter_errors": errors,
            "query": request.GET,
            "statuses": OrderStatus.choices,
            "filtered": any(
                request.GET.get(name) for name in ("status", "contact", "company", "deal", "number")
            ),
            "can_create": can_create(request.user, Order),
        },
    )


def _detail(request: HttpRequest, order: Order, *, error: ValidationError | None = None) -> Any:
    lines = OrderLine.objects.filter(order=order).select_related("product")
    can_edit = can(request.user, "edit", order)
    return render(
        request,
        "sales/orders/detail.html",
        {
            "record": order,
            "order": order,
            "lines": lines,
            "actions": [
                (status, ACTIONS[status]) for status in orders.next_statuses(order) if can_edit
            ],
            "editable": can_edit and order.status == OrderStatus.DRAFT,
            "errors": error.messages if error else [],
        },
        status=422 if error else 200,
    )


def _visible(request: HttpRequest, pk: int) -> Order:
    queryset = Order.objects.select_related(
        "contact", "company", "deal", "quote", "currency", "owner"
    )
    return get_visible_or_404(queryset, request.user, pk=pk)


@login_required
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, mask_hidden_fields(request.user, _visible(request, pk)))


@login_required
@require_POST
def order_transition(request: HttpRequest, pk: int) -> HttpResponse:
    """A status button: move the order, or show why it cannot move."""
    order = _visible(request, pk)
    version = request.POST.get("version", "")
    try:
        orders.order_transition(
            order,
            actor=Actor.for_request(request),
            status=request.POST.get("status", ""),
            expected_version=int(version) if version.isdigit() else None,
        )
    except ValidationError as error:
        return _detail(request, order, error=error)
    except VersionConflict:
        messages.error(
            request, _("Someone else changed this order since you opened it; look again.")
        )
        return redirect(order)
    messages.success(request, _("Order %(number)s updated.") % {"number": order.number})
    return redirect(order)


@login_required
def order_create(request: HttpRequest) -> HttpResponse:
    """A new order; ``?contact=``, ``?company=`` and ``?deal=`` fill the form in."""
    if not can_create(request.user, Order):
        raise PermissionDenied
    initial = {
        name: request.GET[name] for name in ("contact", "company", "deal") if name in request.GET
    }
    data = request.POST if request.method == "POST" else None
    form = OrderForm(data, user=request.user, initial=initial)
    formset = line_formset(data, user=request.user)
    order = save_document(
        data,
        form,
        formset,
        lambda lines: orders.order_create(
            actor=Actor.for_request(request), values=form.values(), lines=lines
        ),
    )
    if order is not None:
        messages.success(request, _("Order %(number)s created.") % {"number": order.number})
        return redirect(order)
    return render(request, "sales/orders/form.html", {"form": form, "formset": formset})


@login_required
def order_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a draft order: its customer, currency, date, notes and lines."""
    order = _visible(request, pk)
    if not can(request.user, "edit", order):
        raise PermissionDenied
    header = {
        "contact": order.contact_id,
        "company": order.company_id,
        "currency": order.currency_id,
        "order_date": order.order_date,
        "allow_backorder": order.allow_backorder,
        "notes": order.notes,
        "deal": order.deal_id,
    }
    data = request.POST if request.method == "POST" else None
    form = OrderForm(data, user=request.user, initial=header)
    formset = line_formset(data, user=request.user, initial=document_lines(order))
    saved = save_document(
        data,
        form,
        formset,
        lambda lines: orders.order_update(
            order, actor=Actor.for_request(request), values=form.cleaned_data, lines=lines
        ),
    )
    if saved is not None:
        messages.success(request, _("Order %(number)s saved.") % {"number": order.number})
        return redirect(order)
    return render(
        request, "sales/orders/form.html", {"form": form, "formset": formset, "order": order}
    )


@login_required
def order_contact_lookup(request: HttpRequest) -> HttpResponse:
    """Options of the order form's contact field: visible contacts matching what was
    typed."""
    text = request.GET.get("lookup", "").strip()[:100]
    contacts = []
    if text:
        filterset, ordering = contact_queries.contact_list(request.user, search_params(text))
        contacts = list(filterset.qs.order_by(*ordering)[:LOOKUP_LIMIT])
    return render(
        request, "sales/orders/_contact_options.html", {"contacts": contacts, "text": text}
    )
