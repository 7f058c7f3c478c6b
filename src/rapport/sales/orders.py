"""The verbs of orders: create one with its lines, and move it through its statuses
with the stock they move.

Statuses: draft → confirmed → fulfilled → delivered; a draft or confirmed order
may be cancelled, a fulfilled or delivered one returned. Stock:

- confirming reserves each product's quantity (``reserved_quantity``); it is
  refused, naming the line, when the product's available stock (on hand less
  reserved) is short, unless the order allows backorder;
- fulfilling ships it: stock on hand and the reservation go down; refused when
  fewer units are on hand than the order ships (a backorder waits for stock);
- cancelling a confirmed order releases its reservation;
- returning a fulfilled or delivered order puts its units back on hand.

Product rows are locked (``select_for_update``) in id order after the order's own
row, so two orders that share products queue rather than deadlock, and two
confirmations can never both take the last units. Every change of status is
audited on the order (and the stock on each product) and emits
``order.status_changed``; creation emits ``order.created`` (``core.services``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core import services as records
from rapport.core.actors import Actor
from rapport.core.audit import audit_log
from rapport.core.events import emit
from rapport.core.models import AuditAction
from rapport.core.permissions import require
from rapport.sales.documents import (
    apply_totals,
    build_lines,
    next_number,
    resolve_customer,
    rewrite_document,
    visible_or_error,
)
from rapport.sales.models import Order, OrderLine, OrderStatus, Product, Quote
from rapport.sales.money import base_currency
from rapport.sales.services import STOCK_FIELDS, _currency, _only

ORDER_FIELDS = frozenset(
    {
        "contact",
        "company",
        "deal",
        "quote",
        "currency",
        "order_date",
        "allow_backorder",
        "notes",
        "owner",
        "team",
    }
)
NUMBER_PREFIX = "SO"
SEQUENCE = "order"

# The statuses an order may move to from each status.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    OrderStatus.DRAFT: (OrderStatus.CONFIRMED, OrderStatus.CANCELLED),
    OrderStatus.CONFIRMED: (OrderStatus.FULFILLED, OrderStatus.CANCELLED),
    OrderStatus.FULFILLED: (OrderStatus.DELIVERED, OrderStatus.RETURNED),
    OrderStatus.DELIVERED: (OrderStatus.RETURNED,),
}


def next_statuses(order: Order) -> tuple[str, ...]:
    return TRANSITIONS.get(order.status, ())


def _cleaned(values: Mapping[str, Any], actor: Actor) -> dict[str, Any]:
    """The given order fields, checked: records the actor may see, an active currency."""
    values = _only(values, ORDER_FIELDS)
    resolve_customer(values, actor)
    if values.get("quote") is not None:
        values["quote"] = visible_or_error(Quote, values["quote"], actor, "quote")
    if values.get("currency"):
        values["currency"] = _currency(values["currency"], active_only=True)
    if isinstance(values.get("notes"), str):
        values["notes"] = values["notes"].strip()
    return values


def _check_customer(order: Order) -> None:
    if order.contact_id is None and order.company_id is None:
        raise ValidationError({"contact": [_("Choose a contact or a company.")]})


def _prepared(values: Mapping[str, Any], actor: Actor) -> dict[str, Any]:
    values = _cleaned(values, actor)
    deal = values.get("deal")
    default_currency = deal.currency_id if deal is not None else base_currency()
    if not values.get("currency"):
        values["currency"] = _currency(default_currency, active_only=True)
    contact = values.get("contact")
    if values.get("company") is None and contact is not None and contact.company_id:
        values["company"] = contact.company
    values.setdefault("order_date", timezone.localdate())
    _check_customer(Order(**values))
    return values


def order_create(
    *,
    actor: Actor,
    values: Mapping[str, Any],
    lines: Sequence[Mapping[str, Any]],
    custom: Mapping[str, Any] | None = None,
) -> Order:
    """Write a draft order for a contact and/or company (a contact's company when only
    the contact is named), in the deal's currency or the base currency unless told,
    with ``lines`` (``sales.documents.LINE_FIELDS``) priced and totalled."""
    prepared = _prepared(values, actor)
    built = build_lines(OrderLine, lines, actor=actor, currency=prepared["currency"].code)
    draft = Order(**prepared)
    prepared |= apply_totals(draft, built, day=prepared["order_date"])
    with transaction.atomic():
        prepared["number"] = next_number(SEQUENCE, NUMBER_PREFIX)
        order = records.record_create(Order, actor=actor, values=prepared, custom=custom)
        for line in built:
            line.order = order
        OrderLine.objects.bulk_create(built)
    return order


def order_update(
    order: Order,
    *,
    actor: Actor,
    values: Mapping[str, Any] | None = None,
    lines: Sequence[Mapping[str, Any]] | None = None,
    expected_version: int | None = None,
) -> Order:
    """Change a draft order's fields and, when ``lines`` are given, replace its lines.
    Once confirmed an order holds stock for its lines, so it no longer changes: cancel
    it and write another."""
    require(actor.user, "edit", order)
    if order.is_deleted:
        raise Http404
    prepared = _cleaned(values or {}, actor)
    with transaction.atomic():
        current = records.lock_record(order, expected_version)
        if current.status != OrderStatus.DRAFT:
            raise ValidationError({"status": [_("Only a draft order can be changed.")]})
        for name, value in prepared.items():
            setattr(current, name, value)
        _check_customer(current)
        return rewrite_document(
            current,
            actor=actor,
            line_model=OrderLine,
            values=prepared,
            lines=lines,
            day=current.order_date,
        )


def order_transition(
    order: Order, *, actor: Actor, status: str, expected_version: int | None = None
) -> Order:
    """Move ``order`` to ``status``, with the stock that moves (see the module)."""
    require(actor.user, "edit", order)
    if order.is_deleted:
        raise Http404
    if status not in OrderStatus.values:
        raise ValidationError({"status": [_("Choose a status from the list.")]})
    with transaction.atomic():
        order = records.lock_record(order, expected_version)
        previous = order.status
        if status not in next_statuses(order):
            raise ValidationError(
                {
                    "status": [
                        _("A %(current)s order cannot become %(next)s.")
                        % {
                            "current": order.get_status_display().lower(),
                            "next": OrderStatus(status).label.lower(),
                        }
                    ]
                }
            )
        _move_stock(order, previous, status, actor)
        order.status = status
        order.status_changed_at = timezone.now()
        order.version += 1
        order.updated_by = actor.user
        order.save(
            update_fields=["status", "status_changed_at", "version", "updated_by", "updated_at"]
        )
        audit_log(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=order,
            changes={"status": [previous, status]},
        )
        emit(
            "order.status_changed",
            obj=order,
            actor=actor,
            payload={
                "number": order.number,
                "from": previous,
                "to": status,
                "total": order.total,
                "currency": order.currency_id,
            },
        )
    return order


def _quantities(order: Order) -> tuple[dict[int, int], dict[int, int]]:
    """Units per product on the order, and each product's first line (for errors)."""
    quantities: dict[int, int] = defaultdict(int)
    first_line: dict[int, int] = {}
    for index, (product_id, quantity) in enumerate(
        order.lines.order_by("position", "id").values_list("product_id", "quantity")
    ):
        if product_id is not None:
            quantities[product_id] += quantity
            first_line.setdefault(product_id, index)
    return quantities, first_line


def _moves_stock(previous: str, status: str) -> bool:
    if status == OrderStatus.CANCELLED:
        return previous == OrderStatus.CONFIRMED
    return status in (OrderStatus.CONFIRMED, OrderStatus.FULFILLED, OrderStatus.RETURNED)


def _move_stock(order: Order, previous: str, status: str, actor: Actor) -> None:
    if not _moves_stock(previous, status):
        return
    quantities, first_line = _quantities(order)
    if not quantities:
        return
    # In id order, whoever locks them: two orders sharing products queue, never deadlock.
    products = list(
        Product.all_objects.select_for_update().filter(pk__in=list(quantities)).order_by("pk")
    )
    before = {product.pk: _stock(product) for product in products}
    errors: dict[str, list[str]] = {}
    for product in products:
        quantity = quantities[product.pk]
        shortage = _apply_move(product, quantity, status, order.allow_backorder)
        if shortage:
            errors[f"lines.{first_line[product.pk]}.quantity"] = [shortage]
    if errors:
        raise ValidationError(errors)
    for product in products:
        _save_stock(product, before[product.pk], order, actor)


def _apply_move(product: Product, quantity: int, status: str, backorder: bool) -> str | None:
    """Change ``product``'s stock in memory for ``quantity`` units moving to ``status``;
    the reason it cannot, if it cannot."""
    if status == OrderStatus.CONFIRMED:
        if not backorder and product.available_quantity < quantity:
            return _(
                "Only %(available)d of %(product)s are available; the order needs %(quantity)d."
            ) % {
                "available": max(product.available_quantity, 0),
                "product": product,
                "quantity": quantity,
            }
        product.reserved_quantity += quantity
    elif status == OrderStatus.CANCELLED:
        product.reserved_quantity = max(product.reserved_quantity - quantity, 0)
    elif status == OrderStatus.FULFILLED:
        if product.stock_on_hand < quantity:
            return _("Only %(count)d of %(product)s are on hand; the order ships %(quantity)d.") % {
                "count": product.stock_on_hand,
                "product": product,
                "quantity": quantity,
            }
        product.stock_on_hand -= quantity
        product.reserved_quantity = max(product.reserved_quantity - quantity, 0)
    elif status == OrderStatus.RETURNED:
        product.stock_on_hand += quantity
    return None


def _stock(product: Product) -> dict[str, int]:
    return {name: getattr(product, name) for name in STOCK_FIELDS}


def _save_stock(product: Product, before: dict[str, int], order: Order, actor: Actor) -> None:
    product.version += 1
    product.save(update_fields=[*STOCK_FIELDS, "version", "updated_at"])
    after = _stock(product)
    changes: dict[str, list[Any]] = {
        name: [before[name], after[name]] for name in STOCK_FIELDS if before[name] != after[name]
    }
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=product,
        changes=changes | {"order": [None, order.number]},
    )
