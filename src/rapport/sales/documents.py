"""What orders and quotes share: their numbers, their priced lines and their totals
(deals build their line items with the same rules).

A number (``SO-000123``, ``Q-000045``) is taken from a ``NumberSequence`` row
incremented inside the writing transaction: the UPDATE holds the row's lock until
commit, so concurrent writers queue there and never get the same number.

Lines are checked and priced here for both: the product must be one the actor may
see and still sold; the unit price defaults to the product's price in the
document's currency (its default price book) and the tax rate to the product's.
Bad input raises one ``ValidationError`` keyed ``lines.<index>.<field>``.
Totals come from ``sales.pricing`` and are stored on the lines and the document.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils.translation import gettext as _

from rapport.contacts.models import Company, Contact
from rapport.core import services as records
from rapport.core.actors import Actor
from rapport.core.permissions import scope
from rapport.sales.models import (
    PRICE_DECIMALS,
    TAX_DECIMALS,
    Deal,
    NumberSequence,
    PricedDocument,
    PricedLine,
    Product,
)
from rapport.sales.money import convert, decimal_places
from rapport.sales.pricing import totals
from rapport.sales.queries import unit_price
from rapport.sales.services import _as_decimal, _only

LineT = TypeVar("LineT", bound=PricedLine)

LINE_FIELDS = frozenset(
    {"product", "name", "quantity", "unit_price", "discount_percent", "tax_rate"}
)
MAX_LINES = 200
LINES = "lines"
# The fields a line's totals are computed into, never taken from input.
COMPUTED_LINE_FIELDS = ("net_amount", "tax_amount", "total_amount")


def next_number(sequence: str, prefix: str) -> str:
    """The next number of ``sequence`` as ``<prefix>-000123``; call inside the transaction
    that writes the document, which then holds the sequence's row lock until it ends."""
    taken = NumberSequence.objects.filter(pk=sequence).update(last=F("last") + 1)
    if not taken:
        NumberSequence.objects.get_or_create(name=sequence)
        NumberSequence.objects.filter(pk=sequence).update(last=F("last") + 1)
    last = NumberSequence.objects.filter(pk=sequence).values_list("last", flat=True).get()
    return f"{prefix}-{last:06d}"


def visible_or_error(model: type, value: Any, actor: Actor, field: str) -> Any:
    """The record of ``model`` that ``value`` (a record or an id) names, if the actor may
    see it; a ``ValidationError`` on ``field`` otherwise."""
    if value is None or value == "":
        return None
    pk = value.pk if isinstance(value, model) else value
    found = None
    if (isinstance(pk, int) and not isinstance(pk, bool)) or str(pk).isdigit():
        found = scope(model.objects.filter(pk=int(pk)), actor.user).first()
    if found is None:
        raise ValidationError({field: [_("No such record, or not one you may see.")]})
    return found


def resolve_customer(values: dict[str, Any], actor: Actor) -> None:
    """Turn ``contact``, ``company`` and ``deal`` ids in ``values`` into records the actor
    may see; errors of all three together."""
    errors: dict[str, list[str]] = {}
    for field, model in (("contact", Contact), ("company", Company), ("deal", Deal)):
        if field in values:
            try:
                values[field] = visible_or_error(model, values[field], actor, field)
            except ValidationError as error:
                errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)


def _quantity(value: Any) -> int:
    if isinstance(value, bool):
        raise ValidationError({"quantity": [_("Enter a whole number.")]})
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    raise ValidationError({"quantity": [_("Enter a whole number.")]})


def _product_ids(items: Sequence[Mapping[str, Any]]) -> list[int]:
    ids = []
    for item in items:
        product = item.get("product")
        pk = product.pk if isinstance(product, Product) else product
        if (isinstance(pk, int) and not isinstance(pk, bool)) or str(pk).isdigit():
            ids.append(int(pk))
    return ids


def _line(
    model: type[LineT],
    raw: Mapping[str, Any],
    position: int,
    products: dict[int, Product],
    currency: str,
) -> LineT:
    values = _only(raw, LINE_FIELDS)
    errors: dict[str, list[str]] = {}
    product = values.get("product")
    if product not in (None, ""):
        pk = product.pk if isinstance(product, Product) else product
        product = products.get(int(pk)) if str(pk).isdigit() else None
        if product is None:
            errors["product"] = [_("No such product, or not one you may see.")]
        elif not product.active:
            errors["product"] = [_("%(product)s is no longer sold.") % {"product": product}]
    else:
        product = None
    name = str(values.get("name") or (product.name if product else "")).strip()
    if not name and "product" not in errors:
        errors["name"] = [_("Choose a product or name the item.")]
    line = model(product=product if "product" not in errors else None, name=name)
    line.position = position
    for field, convert_value in (
        ("quantity", lambda: _quantity(values.get("quantity", 1))),
        (
            "discount_percent",
            lambda: _as_decimal(values.get("discount_percent") or 0, "discount_percent", places=2),
        ),
    ):
        try:
            setattr(line, field, convert_value())
        except ValidationError as error:
            errors.update(error.message_dict)
    price = values.get("unit_price")
    if price in (None, "") and product is not None:
        price = unit_price(product, currency)
        if price is None:
            errors["unit_price"] = [
                _("%(product)s has no price in %(currency)s: enter the unit price.")
                % {"product": product, "currency": currency}
            ]
    try:
        line.unit_price = _as_decimal(
            price if price not in (None, "") else 0, "unit_price", places=PRICE_DECIMALS
        )
        tax = values.get("tax_rate")
        default_tax = product.tax_rate if product else 0
        line.tax_rate = _as_decimal(
            default_tax if tax in (None, "") else tax, "tax_rate", places=TAX_DECIMALS
        )
    except ValidationError as error:
        errors.update(error.message_dict)
    try:
        line.full_clean(exclude=[*errors, *COMPUTED_LINE_FIELDS, *_parent_fields(model)])
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    return line


def _parent_fields(model: type[PricedLine]) -> list[str]:
    return [
        field.name
        for field in model._meta.concrete_fields
        if field.is_relation and field.name != "product"
    ]


def build_lines(
    model: type[LineT],
    items: Sequence[Mapping[str, Any]],
    *,
    actor: Actor,
    currency: str,
    field: str = LINES,
    required: bool = True,
) -> list[LineT]:
    """Unsaved lines of ``model`` from ``items`` (mappings of ``LINE_FIELDS``), priced in
    ``currency``; errors keyed ``<field>.<index>.<name>``. At least one is needed when
    ``required`` (a document; a deal may have none)."""
    if required and not items:
        raise ValidationError({field: [_("Add at least one line.")]})
    if len(items) > MAX_LINES:
        raise ValidationError({field: [_("At most %(count)d lines.") % {"count": MAX_LINES}]})
    visible = scope(Product.objects.filter(pk__in=_product_ids(items)), actor.user)
    products = {product.pk: product for product in visible}
    errors: dict[str, list[str]] = {}
    built: list[LineT] = []
    for index, raw in enumerate(items):
        try:
            built.append(_line(model, raw, index, products, currency))
        except ValidationError as error:
            errors.update(
                {f"{field}.{index}.{key}": value for key, value in error.message_dict.items()}
            )
    if errors:
        raise ValidationError(errors)
    return built


def apply_totals(
    document: PricedDocument, lines: Sequence[PricedLine], *, day: datetime.date
) -> dict[str, Any]:
    """Compute the lines' totals onto the lines, and return the document's (the total in
    the base currency at the rate of ``day`` included)."""
    computed = totals(lines, decimal_places(document.currency_id))
    for line, line_total in zip(lines, computed.lines, strict=True):
        line.net_amount = line_total.net
        line.tax_amount = line_total.tax
        line.total_amount = line_total.total
    return {
        "subtotal": computed.subtotal,
        "discount_total": computed.discount,
        "net_total": computed.net,
        "tax_total": computed.tax,
        "total": computed.total,
        "total_base": convert(computed.total, document.currency_id, day),
    }


def document_lines(document: PricedDocument) -> list[dict[str, Any]]:
    """The document's lines as input to write them again (an order from a quote, an
    edited document's)."""
    return [
        {name: getattr(line, f"{name}_id" if name == "product" else name) for name in LINE_FIELDS}
        for line in document.lines.order_by("position", "id")
    ]


def rewrite_document(
    current: PricedDocument,
    *,
    actor: Actor,
    line_model: type[PricedLine],
    values: dict[str, Any],
    lines: Sequence[Mapping[str, Any]] | None,
    day: datetime.date,
) -> PricedDocument:
    """Save a draft document's changed ``values`` and totals, its lines replaced by
    ``lines`` when given (priced again either way: the currency may have changed). Call
    inside the transaction holding ``current``'s lock, ``values`` already set on it."""
    items = document_lines(current) if lines is None else lines
    built = build_lines(line_model, items, actor=actor, currency=current.currency_id)
    values |= apply_totals(current, built, day=day)
    fresh = type(current).all_objects.get(pk=current.pk)
    updated = records.record_update(fresh, actor=actor, values=values)
    if lines is not None:
        updated.lines.all().delete()
        parent = _parent_fields(line_model)[0]
        for line in built:
            setattr(line, parent, updated)
        line_model.objects.bulk_create(built)
    return updated
