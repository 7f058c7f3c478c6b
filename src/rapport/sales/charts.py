"""Bar charts drawn on the server as SVG: no script, no CDN, readable by the template
that places them. A chart is groups of bars (one group per period, say) on a shared
scale, with optional interval whiskers, gridlines and labels; the pages show the same
figures in a table beside it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import formats

WIDTH = 720
HEIGHT = 240
MARGIN_LEFT = 72
MARGIN_BOTTOM = 28
MARGIN_TOP = 12
GRIDLINES = 4


@dataclass(frozen=True)
class Value:
    amount: Decimal | None
    series: str
    title: str
    low: Decimal | None = None
    high: Decimal | None = None


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: str
    title: str


@dataclass(frozen=True)
class Whisker:
    x: float
    top: float
    bottom: float
    title: str


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class Label:
    x: float
    text: str


@dataclass
class Chart:
    width: int = WIDTH
    height: int = HEIGHT
    bars: list[Bar] = field(default_factory=list)
    whiskers: list[Whisker] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    baseline: float = HEIGHT - MARGIN_BOTTOM
    left: int = MARGIN_LEFT
    tick_x: int = MARGIN_LEFT - 6
    label_y: int = HEIGHT - 8


def _scale_top(values: Sequence[Decimal]) -> Decimal:
    """A round maximum above every value: 1, 2 or 5 times a power of ten."""
    top = max(values, default=Decimal(0))
    if top <= 0:
        return Decimal(1)
    magnitude = Decimal(10) ** (len(str(int(top))) - 1)
    for step in (1, 2, 5, 10):
        if top <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def bar_chart(groups: Sequence[tuple[str, Sequence[Value]]]) -> Chart:
    """Grouped bars: each group a label and its values side by side."""
    chart = Chart()
    amounts = [
        value.high if value.high is not None else value.amount
        for _label, values in groups
        for value in values
        if value.amount is not None
    ]
    top = _scale_top([amount for amount in amounts if amount is not None])
    plot_height = chart.baseline - MARGIN_TOP
    plot_width = WIDTH - MARGIN_LEFT - 8
    slot = plot_width / max(len(groups), 1)
    for step in range(GRIDLINES + 1):
        share = Decimal(step) / GRIDLINES
        chart.ticks.append(
            Tick(
                y=float(chart.baseline - float(share) * plot_height),
                label=formats.number_format(top * share, decimal_pos=0, force_grouping=True),
            )
        )

    def height_of(amount: Decimal) -> float:
        return float(amount / top) * plot_height

    for index, (label, values) in enumerate(groups):
        left = MARGIN_LEFT + index * slot
        chart.labels.append(Label(x=left + slot / 2, text=label))
        width = slot * 0.8 / max(len(values), 1)
        for position, value in enumerate(values):
            if value.amount is None:
                continue
            x = left + slot * 0.1 + position * width
            bar_height = height_of(value.amount)
            chart.bars.append(
                Bar(
                    x=x,
                    y=chart.baseline - bar_height,
                    width=width * 0.9,
                    height=bar_height,
                    series=value.series,
                    title=value.title,
                )
            )
            if value.low is not None and value.high is not None:
                chart.whiskers.append(
                    Whisker(
                        x=x + width * 0.45,
                        top=chart.baseline - height_of(value.high),
                        bottom=chart.baseline - height_of(value.low),
                        title=value.title,
                    )
                )
    return chart
