"""Calendar periods of forecasts and metrics: months and quarters, their first days and
their bounds as aware datetimes in the current time zone."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import formats, timezone

from rapport.sales.models import PeriodKind

MONTHS_IN = {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3}


@dataclass(frozen=True, order=True)
class Period:
    kind: str
    start: datetime.date

    @property
    def end(self) -> datetime.date:
        """The first day of the next period."""
        return add_months(self.start, MONTHS_IN[PeriodKind(self.kind)])

    @property
    def label(self) -> str:
        if self.kind == PeriodKind.QUARTER:
            return f"Q{(self.start.month - 1) // 3 + 1} {self.start.year}"
        return formats.date_format(self.start, "YEAR_MONTH_FORMAT")

    def bounds(self) -> tuple[datetime.datetime, datetime.datetime]:
        """The period as [start, end) aware datetimes at midnight in the current zone."""
        return at_midnight(self.start), at_midnight(self.end)

    def shifted(self, count: int) -> Period:
        return Period(self.kind, add_months(self.start, count * MONTHS_IN[PeriodKind(self.kind)]))


def add_months(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def at_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def period_of(kind: str, day: datetime.date) -> Period:
    """The month or quarter that holds ``day``."""
    month = day.month if kind == PeriodKind.MONTH else (day.month - 1) // 3 * 3 + 1
    return Period(kind, datetime.date(day.year, month, 1))


def periods(kind: str, first: Period, count: int) -> list[Period]:
    return [first.shifted(offset) for offset in range(count)]
