"""Charts drawn on the server as SVG geometry (no script, no CDN): bars per day, plain or
stacked by outcome. The templates draw the shapes; each chart also has a table."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT = 320, 110  # the viewBox, drawn at the card's width
GAP = 1


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: str
    label: str  # the day and the value, for the bar's <title>
    value: int


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    top: int  # the value at the top of the scale
    series: tuple[str, ...]
    first: str  # the first and last days, under the axis
    last: str

    @property
    def empty(self) -> bool:
        return not any(bar.value for bar in self.bars)


def _scale(top: int) -> int:
    """A round value at or above `top` for the scale (1, 2, 5 × 10^n)."""
    if top <= 0:
        return 1
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= top:
                return step * factor
        step *= 10


def stacked_chart(labels: list[str], series: dict[str, list[int]]) -> Chart:
    days = len(labels)
    totals = [sum(values[i] for values in series.values()) for i in range(days)]
    top = _scale(max(totals, default=0))
    width = WIDTH / max(days, 1)
    bars = []
    for i, label in enumerate(labels):
        base = float(HEIGHT)
        for name, values in series.items():
            value = values[i]
            height = HEIGHT * value / top
            base -= height
            bars.append(
                Bar(
                    i * width + GAP / 2,
                    base,
                    max(width - GAP, 1),
                    height,
                    name,
                    f"{label}: {value}",
                    value,
                )
            )
    first, last = (labels[0], labels[-1]) if labels else ("", "")
    return Chart(WIDTH, HEIGHT, tuple(bars), top, tuple(series), first, last)


def bar_chart(labels: list[str], values: list[int]) -> Chart:
    return stacked_chart(labels, {"value": values})
