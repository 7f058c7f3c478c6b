"""Totals of priced lines — a deal's items, a quote's, an order's — in Decimal.

A line's net is ``quantity * unit price * (1 - discount %)``, rounded to the
currency's decimal places; its tax is the net times its tax rate, rounded the same
way. Each line is rounded before the lines are added up, as an invoice prints them,
so the printed lines always add up to the printed totals. Rounding is half to even
(``sales.money``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Protocol

from rapport.sales.money import PRECISION, round_to

HUNDRED = Decimal(100)


class PricedLine(Protocol):
    quantity: int
    unit_price: Decimal
    discount_percent: Decimal
    tax_rate: Decimal


@dataclass(frozen=True)
class LineTotal:
    gross: Decimal
    discount: Decimal
    net: Decimal
    tax: Decimal

    @property
    def total(self) -> Decimal:
        return self.net + self.tax


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    discount: Decimal
    net: Decimal
    tax: Decimal
    lines: tuple[LineTotal, ...]

    @property
    def total(self) -> Decimal:
        return self.net + self.tax


def line_total(line: PricedLine, places: int) -> LineTotal:
    with localcontext(prec=PRECISION):
        gross = Decimal(line.quantity) * Decimal(line.unit_price)
        discount = gross * Decimal(line.discount_percent) / HUNDRED
        net = round_to(gross - discount, places)
        tax = round_to(net * Decimal(line.tax_rate) / HUNDRED, places)
    gross = round_to(gross, places)
    return LineTotal(gross=gross, discount=gross - net, net=net, tax=tax)


def totals(lines: Iterable[PricedLine], places: int) -> Totals:
    """The lines' totals in a currency with ``places`` decimal places."""
    computed = tuple(line_total(line, places) for line in lines)
    zero = round_to(Decimal(0), places)
    return Totals(
        subtotal=sum((line.gross for line in computed), zero),
        discount=sum((line.discount for line in computed), zero),
        net=sum((line.net for line in computed), zero),
        tax=sum((line.tax for line in computed), zero),
        lines=computed,
    )
