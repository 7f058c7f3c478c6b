"""API input and output of products, price books, currencies and exchange rates.

Amounts, prices, rates and tax rates are decimals, written in JSON as strings
("12.50") so no precision is lost; input may be a string or a number.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict

from rapport.core.api import RecordOut
from rapport.sales.money import base_currency


class PriceOut(Schema):
    currency: str
    unit_price: Decimal
    price_book: int = Field(alias="price_book_id")


class ProductOut(RecordOut):
    id: int
    sku: str
    name: str
    description: str
    tax_rate: Decimal = Field(description="Percent, 0 to 100.")
    active: bool
    stock_on_hand: int
    reserved_quantity: int
    available_quantity: int = Field(description="On hand less reserved.")
    prices: list[PriceOut] = Field(
        description="Unit price per currency, from each currency's default price book."
    )
    owner: int | None = Field(alias="owner_id")
    team: int | None = Field(alias="team_id")
    custom: dict[str, Any]
    version: int
    created_at: datetime.datetime
    updated_at: datetime.datetime


class ProductIn(Schema):
    # Stock fields and other unknown names are refused, not ignored: stock moves only
    # through stock-adjustments.
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    tax_rate: Decimal = Field(Decimal(0), description="Percent, 0 to 100.")
    active: bool = True
    owner: int | None = Field(None, description="A user id; you when not given.")
    team: int | None = Field(None, description="A team id.")
    custom: dict[str, Any] | None = None


class ProductPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(None, min_length=1, max_length=64)
    name: str = Field(None, min_length=1, max_length=200)
    description: str = None
    tax_rate: Decimal = None
    active: bool = None
    owner: int | None = None
    team: int | None = None
    custom: dict[str, Any] | None = None


class StockAdjustmentIn(Schema):
    change: int = Field(description="Units added to the stock on hand; negative to remove.")
    reason: str = Field(description="Why: a delivery, a stock count, breakage…")


class ProductFilters(Schema):
    q: str | None = Field(None, description="Quick search of SKU, name and description.")
    active: bool | None = None
    in_stock: bool | None = Field(None, description="Some stock on hand is not reserved.")
    sku: str | None = Field(None, description="This SKU exactly (any case).")
    sort: str | None = Field(
        None,
        description="name (default), sku, stock_on_hand, created_at, updated_at; - first "
        "for descending.",
    )


class PriceBookOut(Schema):
    id: int
    name: str
    currency: str = Field(alias="currency_id")
    description: str
    active: bool
    is_default: bool
    created_at: datetime.datetime
    updated_at: datetime.datetime


class PriceBookIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    currency: str = Field(description="An active currency's ISO 4217 code.")
    description: str = ""
    active: bool = True
    is_default: bool = Field(False, description="Replaces the currency's default book.")


class PriceBookPatch(Schema):
    name: str = Field(None, min_length=1, max_length=100)
    currency: str = Field(None, description="Only while the book holds no prices.")
    description: str = None
    active: bool = None
    is_default: bool = None


class EntryOut(Schema):
    product: int = Field(alias="product_id")
    sku: str = Field(alias="product.sku")
    product_name: str = Field(alias="product.name")
    unit_price: Decimal
    updated_at: datetime.datetime


class PriceIn(Schema):
    unit_price: Decimal = Field(description="In the price book's currency; 0 or more.")


class CurrencyOut(Schema):
    code: str
    name: str
    decimal_places: int
    active: bool
    is_base: bool

    @staticmethod
    def resolve_is_base(currency: Any) -> bool:
        return currency.code == base_currency()


class CurrencyIn(Schema):
    code: str = Field(description="ISO 4217, e.g. NOK.")
    name: str = Field("", description="ISO's name when empty.")
    decimal_places: int | None = Field(None, description="ISO's when not given.")
    active: bool = True


class CurrencyPatch(Schema):
    name: str = None
    decimal_places: int = None
    active: bool = None


class RateOut(Schema):
    id: int
    currency: str = Field(alias="currency_id")
    rate: Decimal = Field(description="The value of one unit in the base currency.")
    valid_from: datetime.date
    created_at: datetime.datetime


class RateIn(Schema):
    rate: Decimal
    valid_from: datetime.date


class RatePatch(Schema):
    rate: Decimal = None
    valid_from: datetime.date = None


class ConvertParams(Schema):
    amount: Decimal
    currency: str = Field(description="The amount's currency.")
    on: datetime.date = Field(description="The day whose rates apply.")
    to: str | None = Field(None, description="The target currency; the base currency if not given.")


class ConvertOut(Schema):
    amount: Decimal
    currency: str
    to: str
    on: datetime.date
    converted: Decimal = Field(description="Rounded half to even to the target's decimal places.")
