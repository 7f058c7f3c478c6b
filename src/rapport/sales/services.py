"""The verbs of sales settings and products.

Currencies, exchange rates and price books are workspace settings: only admins
change them. Products are CRM records: their writes go through
``core.services`` (the role's grants for ``sales.product``, validation, custom
fields, version, audit, events, search). Stock is never set through a
product's fields: ``product_adjust_stock`` moves it with a reason, audited;
orders will reserve and release it through services of their own.

Every function raises ``ValidationError`` keyed by field for bad input,
``PermissionDenied`` for an actor who may not, ``Http404`` for a product the
actor may not see and ``VersionConflict`` when ``expected_version`` is stale.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.http import Http404
from django.utils.translation import gettext as _

from rapport.core import services as records
from rapport.core.actors import Actor
from rapport.core.audit import audit_log, diff, snapshot
from rapport.core.events import emit
from rapport.core.models import AuditAction
from rapport.core.permissions import require, require_admin
from rapport.sales.models import (
    PRICE_DECIMALS,
    PRICE_DIGITS,
    RATE_DECIMALS,
    TAKEN_SKU_MESSAGE,
    TAX_DECIMALS,
    Currency,
    ExchangeRate,
    PriceBook,
    PriceBookEntry,
    Product,
)
from rapport.sales.money import UnknownCurrency, base_currency, iso_facts, normalize_code

PRODUCT_FIELDS = frozenset({"sku", "name", "description", "tax_rate", "active", "owner", "team"})
CURRENCY_FIELDS = frozenset({"name", "decimal_places", "active"})
RATE_FIELDS = frozenset({"rate", "valid_from"})
PRICE_BOOK_FIELDS = frozenset({"name", "currency", "description", "active", "is_default"})
STOCK_FIELDS = ("stock_on_hand", "reserved_quantity")
MAX_REASON_LENGTH = 200
# Beyond what any amount field holds: validation refuses it as it is.
MAX_INTEGER_DIGITS = PRICE_DIGITS


# Shared helpers


def _only(values: Mapping[str, Any], allowed: frozenset[str]) -> dict[str, Any]:
    unknown = set(values) - allowed
    if unknown:
        raise ValidationError({name: [_("This field cannot be set.")] for name in sorted(unknown)})
    return dict(values)


def _as_decimal(value: Any, field: str, *, places: int) -> Decimal:
    """``value`` (a Decimal, number or numeric text) as a finite Decimal with ``places``
    decimal places, as the database stores it, so History compares like with like. One
    with more places is left as it is, for validation to refuse rather than to round."""
    if isinstance(value, bool):
        raise ValidationError({field: [_("Enter a number.")]})
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({field: [_("Enter a number.")]}) from None
    if not number.is_finite():
        raise ValidationError({field: [_("Enter a number.")]})
    if number.as_tuple().exponent < -places or number.adjusted() > MAX_INTEGER_DIGITS:
        return number
    return number.quantize(Decimal(1).scaleb(-places))


def _announce(
    obj: models.Model,
    *,
    actor: Actor,
    action: AuditAction,
    event: str,
    changes: dict[str, list[Any]],
    payload: dict[str, Any] | None = None,
) -> None:
    """Audit a settings write already saved in the caller's transaction, and emit its
    event."""
    audit_log(actor=actor, action=action, obj=obj, changes=changes)
    emit(event, obj=obj, actor=actor, payload=payload or {"changes": sorted(changes)})


def _currency(code: Any, *, field: str = "currency", active_only: bool = False) -> Currency:
    """The workspace currency ``code`` names (an active one when ``active_only``)."""
    if isinstance(code, Currency):
        code = code.code
    normalized = normalize_code(str(code or ""))
    if not normalized:
        raise ValidationError({field: [_("Choose a currency.")]})
    found = Currency.objects.filter(code=normalized).first()
    if found is None:
        raise UnknownCurrency(normalized, field=field)
    if active_only and not found.active:
        raise ValidationError(
            {field: [_("%(code)s is not an active currency.") % {"code": found.code}]}
        )
    return found


# Currencies


def currency_create(
    *,
    actor: Actor,
    code: str,
    name: str = "",
    decimal_places: int | None = None,
    active: bool = True,
) -> Currency:
    """Add a currency. For an ISO 4217 code, the name and decimal places default to
    ISO's; any other three-letter code needs both."""
    require_admin(actor.user)
    code = normalize_code(code)
    facts = iso_facts(code)
    errors: dict[str, list[str]] = {}
    if facts is None and not name.strip():
        errors["name"] = [_("Name a currency that ISO 4217 does not list.")]
    if facts is None and decimal_places is None:
        errors["decimal_places"] = [_("Give the decimal places of a currency ISO does not list.")]
    if Currency.objects.filter(code=code).exists():
        errors["code"] = [_("This currency is already listed.")]
    if errors:
        raise ValidationError(errors)
    currency = Currency(
        code=code,
        name=name.strip() or facts[0],
        decimal_places=facts[1] if decimal_places is None else decimal_places,
        active=active,
    )
    # The primary key is typed in, so Django's unique check would be a second lookup.
    currency.full_clean(validate_unique=False)
    with transaction.atomic():
        currency.save(force_insert=True)
        changes = diff({}, snapshot(currency))
        _announce(
            currency,
            actor=actor,
            action=AuditAction.CREATE,
            event="currency.created",
            changes=changes,
        )
    return currency


def currency_update(currency: Currency, *, actor: Actor, **values: Any) -> Currency:
    """Change a currency's name, decimal places or whether it is active. The base
    currency, and one an active price book uses, stay active."""
    require_admin(actor.user)
    values = _only(values, CURRENCY_FIELDS)
    with transaction.atomic():
        currency = Currency.objects.select_for_update().get(pk=currency.pk)
        before = snapshot(currency)
        for name, value in values.items():
            setattr(currency, name, value.strip() if isinstance(value, str) else value)
        if before["active"] and not currency.active:
            _check_can_deactivate(currency)
        currency.full_clean(validate_unique=False)
        changes = diff(before, snapshot(currency))
        if not changes:
            return currency
        currency.save()
        _announce(
            currency,
            actor=actor,
            action=AuditAction.UPDATE,
            event="currency.updated",
            changes=changes,
        )
    return currency


def _check_can_deactivate(currency: Currency) -> None:
    if currency.code == base_currency():
        raise ValidationError({"active": [_("The base currency stays active.")]})
    books = currency.price_books.filter(active=True).values_list("name", flat=True)
    in_use = list(books[:3])
    if in_use:
        raise ValidationError(
            {
                "active": [
                    _("Active price books use this currency: %(books)s.")
                    % {"books": ", ".join(in_use)}
                ]
            }
        )


# Exchange rates


def _rate_errors(rate: ExchangeRate) -> None:
    if rate.currency_id == base_currency():
        raise ValidationError(
            {"currency": [_("The base currency is worth 1 of itself; it has no rates.")]}
        )
    taken = ExchangeRate.objects.filter(currency_id=rate.currency_id, valid_from=rate.valid_from)
    if rate.pk is not None:
        taken = taken.exclude(pk=rate.pk)
    if taken.exists():
        raise ValidationError(
            {
                "valid_from": [
                    _("%(code)s already has a rate from %(day)s.")
                    % {"code": rate.currency_id, "day": rate.valid_from.isoformat()}
                ]
            }
        )
    rate.full_clean(validate_unique=False, validate_constraints=False)


def rate_create(
    *, actor: Actor, currency: str | Currency, rate: Any, valid_from: datetime.date
) -> ExchangeRate:
    """Add the value of one unit of ``currency`` in the base currency from ``valid_from``."""
    require_admin(actor.user)
    exchange_rate = ExchangeRate(
        currency=_currency(currency),
        rate=_as_decimal(rate, "rate", places=RATE_DECIMALS),
        valid_from=valid_from,
        created_by=actor.user,
        updated_by=actor.user,
    )
    _rate_errors(exchange_rate)
    with transaction.atomic():
        exchange_rate.save()
        _announce(
            exchange_rate,
            actor=actor,
            action=AuditAction.CREATE,
            event="exchangerate.created",
            changes=diff({}, snapshot(exchange_rate)),
        )
    return exchange_rate


def rate_update(exchange_rate: ExchangeRate, *, actor: Actor, **values: Any) -> ExchangeRate:
    """Correct a rate's value or the day it is valid from."""
    require_admin(actor.user)
    values = _only(values, RATE_FIELDS)
    if "rate" in values:
        values["rate"] = _as_decimal(values["rate"], "rate", places=RATE_DECIMALS)
    with transaction.atomic():
        exchange_rate = ExchangeRate.objects.select_for_update().get(pk=exchange_rate.pk)
        before = snapshot(exchange_rate)
        for name, value in values.items():
            setattr(exchange_rate, name, value)
        exchange_rate.updated_by = actor.user
        _rate_errors(exchange_rate)
        changes = diff(before, snapshot(exchange_rate))
        if not changes:
            return exchange_rate
        exchange_rate.save()
        _announce(
            exchange_rate,
            actor=actor,
            action=AuditAction.UPDATE,
            event="exchangerate.updated",
            changes=changes,
        )
    return exchange_rate


def rate_delete(exchange_rate: ExchangeRate, *, actor: Actor) -> None:
    """Remove a rate entered by mistake; the previous rate then applies again."""
    require_admin(actor.user)
    with transaction.atomic():
        _announce(
            exchange_rate,
            actor=actor,
            action=AuditAction.PURGE,
            event="exchangerate.deleted",
            changes=diff(snapshot(exchange_rate), {}),
            payload={"currency": exchange_rate.currency_id, "valid_from": exchange_rate.valid_from},
        )
        exchange_rate.delete()


# Price books


def _unset_other_default(book: PriceBook, actor: Actor) -> None:
    """Make ``book`` the only default of its currency: the previous one stops being it."""
    previous = PriceBook.objects.select_for_update().filter(
        currency_id=book.currency_id, is_default=True
    )
    if book.pk is not None:
        previous = previous.exclude(pk=book.pk)
    for other in previous:
        other.is_default = False
        other.save(update_fields=["is_default", "updated_at"])
        _announce(
            other,
            actor=actor,
            action=AuditAction.UPDATE,
            event="pricebook.updated",
            changes={"is_default": [True, False]},
        )


def _price_book_values(values: Mapping[str, Any]) -> dict[str, Any]:
    values = _only(values, PRICE_BOOK_FIELDS)
    if "currency" in values:
        values["currency"] = _currency(values["currency"], active_only=True)
    for name in ("name", "description"):
        if isinstance(values.get(name), str):
            values[name] = values[name].strip()
    return values


def _check_default(book: PriceBook) -> None:
    if book.is_default and not book.active:
        raise ValidationError({"is_default": [_("A default price book must be active.")]})


def price_book_create(*, actor: Actor, values: Mapping[str, Any]) -> PriceBook:
    """Add a price book in an active currency; made the default, it replaces the
    currency's previous default."""
    require_admin(actor.user)
    values = _price_book_values(values)
    if "currency" not in values:
        raise ValidationError({"currency": [_("Choose the price book's currency.")]})
    book = PriceBook(created_by=actor.user, updated_by=actor.user, **values)
    _check_default(book)
    with transaction.atomic():
        if book.is_default:
            _unset_other_default(book, actor)
        book.full_clean()
        book.save()
        _announce(
            book,
            actor=actor,
            action=AuditAction.CREATE,
            event="pricebook.created",
            changes=diff({}, snapshot(book)),
        )
    return book


def price_book_update(book: PriceBook, *, actor: Actor, values: Mapping[str, Any]) -> PriceBook:
    """Change a price book. Its currency is fixed once it holds prices, which are amounts
    in that currency."""
    require_admin(actor.user)
    values = _price_book_values(values)
    with transaction.atomic():
        book = PriceBook.objects.select_for_update().get(pk=book.pk)
        before = snapshot(book)
        for name, value in values.items():
            setattr(book, name, value)
        if book.currency_id != before["currency"] and book.entries.exists():
            raise ValidationError(
                {"currency": [_("This price book holds prices: its currency cannot change.")]}
            )
        book.updated_by = actor.user
        _check_default(book)
        if book.is_default:
            _unset_other_default(book, actor)
        book.full_clean()
        changes = diff(before, snapshot(book))
        if not changes:
            return book
        book.save()
        _announce(
            book,
            actor=actor,
            action=AuditAction.UPDATE,
            event="pricebook.updated",
            changes=changes,
        )
    return book


def price_book_delete(book: PriceBook, *, actor: Actor) -> None:
    """Delete a price book and its prices."""
    require_admin(actor.user)
    with transaction.atomic():
        _announce(
            book,
            actor=actor,
            action=AuditAction.PURGE,
            event="pricebook.deleted",
            changes={},
            payload={"name": book.name, "currency": book.currency_id},
        )
        book.delete()


def price_set(
    book: PriceBook, *, actor: Actor, product: Product, unit_price: Any
) -> PriceBookEntry:
    """Set ``product``'s unit price in ``book`` (added, or changed if it has one)."""
    require_admin(actor.user)
    if product.is_deleted:
        raise ValidationError({"product": [_("This product is in the trash.")]})
    price = _as_decimal(unit_price, "unit_price", places=PRICE_DECIMALS)
    with transaction.atomic():
        entry = (
            PriceBookEntry.objects.select_for_update()
            .filter(price_book=book, product=product)
            .first()
        )
        before = snapshot(entry) if entry is not None else {}
        if entry is None:
            entry = PriceBookEntry(price_book=book, product=product)
        entry.unit_price = price
        entry.full_clean(validate_unique=False, validate_constraints=False)
        changes = diff(before, snapshot(entry))
        if before and not changes:
            return entry
        entry.save()
        audit_log(
            actor=actor,
            action=AuditAction.UPDATE if before else AuditAction.CREATE,
            obj=entry,
            changes=changes,
        )
        emit(
            "pricebook.price_set",
            obj=book,
            actor=actor,
            payload={"product": product.pk, "unit_price": entry.unit_price},
        )
    return entry


def price_remove(book: PriceBook, *, actor: Actor, product: Product) -> None:
    """Take ``product`` out of ``book``; 404 when it has no price there."""
    require_admin(actor.user)
    with transaction.atomic():
        entry = PriceBookEntry.objects.filter(price_book=book, product=product).first()
        if entry is None:
            raise Http404
        audit_log(
            actor=actor, action=AuditAction.PURGE, obj=entry, changes=diff(snapshot(entry), {})
        )
        emit("pricebook.price_removed", obj=book, actor=actor, payload={"product": product.pk})
        entry.delete()


# Products


def _product_values(values: Mapping[str, Any]) -> dict[str, Any]:
    values = _only(values, PRODUCT_FIELDS)
    for name in ("sku", "name"):
        if isinstance(values.get(name), str):
            values[name] = values[name].strip()
    if "tax_rate" in values and values["tax_rate"] is not None:
        values["tax_rate"] = _as_decimal(values["tax_rate"], "tax_rate", places=TAX_DECIMALS)
    return values


def _refusing_a_taken_sku(write: Callable[[], Product], sku: Any) -> Product:
    """``write()``, with the unique index's refusal of a SKU that a concurrent write took
    after validation passed turned into the same field error as validation's."""
    try:
        return write()
    except IntegrityError:
        if isinstance(sku, str) and Product.objects.filter(sku__iexact=sku.strip()).exists():
            raise ValidationError({"sku": [TAKEN_SKU_MESSAGE]}) from None
        raise


def product_create(
    *, actor: Actor, values: Mapping[str, Any], custom: Mapping[str, Any] | None = None
) -> Product:
    """Add a product, owned by the actor unless ``values`` names an owner. Its stock
    starts at zero: receive goods with ``product_adjust_stock``."""
    values = _product_values(values)
    return _refusing_a_taken_sku(
        lambda: records.record_create(Product, actor=actor, values=values, custom=custom),
        values.get("sku"),
    )


def product_update(
    product: Product,
    *,
    actor: Actor,
    values: Mapping[str, Any] | None = None,
    custom: Mapping[str, Any] | None = None,
    expected_version: int | None = None,
) -> Product:
    """Change a product's fields (not its stock) and custom fields."""
    values = _product_values(values or {})
    return _refusing_a_taken_sku(
        lambda: records.record_update(
            product,
            actor=actor,
            values=values,
            custom=custom,
            expected_version=expected_version,
        ),
        values.get("sku"),
    )


def product_delete(
    product: Product, *, actor: Actor, expected_version: int | None = None
) -> Product:
    """Move a product to the trash; its SKU is free for a new product until it is
    restored."""
    return records.record_delete(product, actor=actor, expected_version=expected_version)


def product_adjust_stock(
    product: Product,
    *,
    actor: Actor,
    change: int,
    reason: str,
    expected_version: int | None = None,
) -> Product:
    """Add ``change`` units to the stock on hand (a negative change removes them), for
    ``reason`` (a delivery, a count, breakage), which History and the event keep. Stock
    on hand never goes below zero."""
    require(actor.user, "edit", product)
    if product.is_deleted:
        raise Http404
    reason = (reason or "").strip()
    errors: dict[str, list[str]] = {}
    if isinstance(change, bool) or not isinstance(change, int) or change == 0:
        errors["change"] = [_("Enter a whole number of units other than zero.")]
    if not reason:
        errors["reason"] = [_("Say why the stock changes.")]
    elif len(reason) > MAX_REASON_LENGTH:
        errors["reason"] = [
            _("Keep the reason under %(count)d characters.") % {"count": MAX_REASON_LENGTH}
        ]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        product = records.lock_record(product, expected_version)
        before = product.stock_on_hand
        if before + change < 0:
            raise ValidationError(
                {
                    "change": [
                        _("Only %(count)d units are on hand: stock cannot go below zero.")
                        % {"count": before}
                    ]
                }
            )
        product.stock_on_hand = before + change
        product.version += 1
        product.updated_by = actor.user
        product.save(update_fields=["stock_on_hand", "version", "updated_by", "updated_at"])
        audit_log(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=product,
            changes={"stock_on_hand": [before, product.stock_on_hand], "reason": [None, reason]},
        )
        emit(
            "product.stock_adjusted",
            obj=product,
            actor=actor,
            payload={"change": change, "stock_on_hand": product.stock_on_hand, "reason": reason},
        )
    return product
