"""Charts as plain geometry: a trend line and horizontal bars laid out once, drawn as SVG (the desk) or PNG
(chat). Pure computation: no drawing library here, so both renderers show exactly the same figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

WIDTH = 640
PALETTE = ("#b71c1c", "#0b5cad", "#2f8132", "#8d6708")
GRID_COLOUR = "#d9dee3"
TEXT_COLOUR = "#323f4b"


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    size: int = 12
    anchor: str = "start"  # "start" | "middle" | "end"
    colour: str = TEXT_COLOUR


@dataclass(frozen=True)
class Segment:
    x1: float
    y1: float
    x2: float
    y2: float
    colour: str = GRID_COLOUR
    width: float = 1.0


@dataclass(frozen=True)
class Path:
    points: tuple[tuple[float, float], ...]
    colour: str
    width: float = 2.0


@dataclass(frozen=True)
class Box:
    """A bar or a point's target; `href` links it to the orders behind it, `title` is its tooltip."""

    x: float
    y: float
    w: float
    h: float
    colour: str
    href: str = ""
    title: str = ""
    round: bool = False  # a dot on a line


Shape = Text | Segment | Path | Box


@dataclass
class Figure:
    width: int
    height: int
    title: str
    shapes: list[Shape] = field(default_factory=list)


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]
    hrefs: Sequence[str] = ()


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    href: str = ""
    note: str = ""  # shown after the value ("12 张")


def nice_top(value: float) -> float:
    """The axis maximum: 1, 2 or 5 times a power of ten at or above `value`; at least 4, so the four
    gridlines of a small count fall on whole numbers."""
    if value <= 4:
        return 4.0
    scale = 1.0
    while scale * 10 < value:
        scale *= 10
    for step in (1, 2, 5, 10):
        if step * scale >= value:
            return step * scale
    return 10 * scale


def _fmt(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def line_chart(title: str, labels: Sequence[str], series: Sequence[Series], width: int = WIDTH) -> Figure:
    """Lines over periods (`labels`, oldest first), a legend on top, at most ~8 labels on the x axis."""
    height, left, right, top, bottom = 260, 40, 12, 44, 28
    figure = Figure(width, height, title)
    plot_w, plot_h = width - left - right, height - top - bottom
    highest = nice_top(max((v for s in series for v in s.values), default=0))
    for step in range(5):
        y = top + plot_h - plot_h * step / 4
        figure.shapes.append(Segment(left, y, width - right, y))
        figure.shapes.append(Text(left - 4, y + 4, _fmt(highest * step / 4), 11, "end"))
    count = len(labels)

    def x_of(index: int) -> float:
        return left + (plot_w * index / (count - 1) if count > 1 else plot_w / 2)

    every = max(1, -(-count // 8))
    shown = [i for i in range(count) if i % every == 0]
    if shown and shown[-1] != count - 1 and count - 1 - shown[-1] >= max(every // 2, 1) + 1:
        shown.append(count - 1)  # the last period too, unless it would sit on its neighbour's label
    for index in shown:
        figure.shapes.append(Text(x_of(index), height - 8, labels[index], 11, "middle"))
    legend_x = left
    for number, one in enumerate(series):
        colour = PALETTE[number % len(PALETTE)]
        figure.shapes.append(Box(legend_x, 14, 12, 12, colour))
        figure.shapes.append(Text(legend_x + 16, 25, one.name, 12))
        legend_x += 24 + 13 * len(one.name)
        points = tuple(
            (x_of(i), top + plot_h - plot_h * v / highest) for i, v in enumerate(one.values[:count])
        )
        if len(points) > 1:
            figure.shapes.append(Path(points, colour))
        for i, (x, y) in enumerate(points):
            href = one.hrefs[i] if i < len(one.hrefs) else ""
            tip = f"{labels[i]} {one.name} {_fmt(one.values[i])}"
            figure.shapes.append(Box(x - 4, y - 4, 8, 8, colour, href, tip, round=True))
    return figure


def bar_chart(title: str, bars: Sequence[Bar], width: int = WIDTH, colour: str = PALETTE[1]) -> Figure:
    """Horizontal bars, biggest first as given, a label on the left and the value at the bar's end."""
    row, top, label_w, right = 26, 8, 96, 56
    height = top * 2 + row * max(len(bars), 1)
    figure = Figure(width, height, title)
    highest = max((b.value for b in bars), default=0) or 1
    plot_w = width - label_w - right
    for index, bar in enumerate(bars):
        y = top + index * row
        length = max(plot_w * bar.value / highest, 1 if bar.value else 0)
        figure.shapes.append(Text(label_w - 6, y + 17, bar.label[:7], 12, "end"))
        tip = f"{bar.label} {_fmt(bar.value)}{bar.note}"
        figure.shapes.append(Box(label_w, y + 4, length, row - 8, colour, bar.href, tip))
        figure.shapes.append(Text(label_w + length + 4, y + 17, _fmt(bar.value) + bar.note, 11))
    return figure
