"""A line chart as SVG text: several series over shared periods, each point a link.

Plain Python without Django, so it is tested as a function of its inputs and could draw any
series. The chart scales to its container (a ``viewBox`` and no fixed width: the stylesheet
gives it ``width: 100%``), keeps its text large enough to read at a phone's 390 px, and is
accessible: a ``<title>`` and ``<desc>``, every point a link named by its series, period and
value. Lines differ by colour (the Okabe-Ito palette, told apart with the common colour vision
deficiencies) and by dash pattern, so they stay distinguishable in grey too. Every label is
escaped; the result is well-formed XML.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from html import escape

#: The drawing's size in its own units; it is scaled to the width it is given.
WIDTH, PLOT_HEIGHT = 600, 240
#: Room for the y-axis tick labels (left), the x-axis labels (bottom) and after the last point
#: (half an axis label, which is centred on its point).
LEFT, BOTTOM, RIGHT = 52, 34, 34
FONT = 13
#: Legend: the sample line's length, the gap after it, and an estimate of a character's width.
SWATCH, SWATCH_GAP, CHAR_WIDTH, LEGEND_ROW = 22, 6, 7.2, 20
#: About how many ticks the y axis has; the gap kept between two x-axis labels.
Y_TICKS, LABEL_GAP = 5, 14
#: One colour and one dash pattern per series, in order (Okabe-Ito, black left out).
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "12 4", "1 2")


@dataclass(frozen=True)
class ChartPoint:
    value: float
    href: str
    #: What the point says when focused or hovered: "oil, March 1987: 12 articles".
    title: str


@dataclass(frozen=True)
class Line:
    label: str
    points: list[ChartPoint] = field(default_factory=list)


def nice_ticks(peak: float, count: int = Y_TICKS, *, whole: bool = False) -> list[float]:
    """Tick values from 0 to at least ``peak``, at a step of 1, 2, 2.5 or 5 times a power of
    ten, about ``count`` of them; ``whole`` numbers only when the values are counts."""
    if peak <= 0:
        return [0.0, 1.0]
    raw = peak / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    if whole:
        step = max(1, math.ceil(step))
    top = math.ceil(peak / step - 1e-9) * step
    return [round(i * step, 10) for i in range(round(top / step) + 1)]


def tick_label(value: float) -> str:
    """A tick value as a reader writes it: 1,500; 2.5; 0.25."""
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.3f}".rstrip("0").rstrip(".")


def line_chart(
    x_labels: list[str], lines: list[Line], *, title: str, description: str, chart_id: str
) -> str:
    """The SVG of ``lines`` (one point per x label each) with axes, ticks and a legend."""
    legend = _legend_layout([line.label for line in lines])
    top = 12 + LEGEND_ROW * (max((row for _, row in legend), default=-1) + 1)
    height = top + PLOT_HEIGHT + BOTTOM
    values = [p.value for line in lines for p in line.points]
    ticks = nice_ticks(max(values, default=0), whole=all(v == int(v) for v in values))
    plot = _Plot(len(x_labels), ticks[-1], top)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="line-chart" id="{_e(chart_id)}" '
        f'viewBox="0 0 {WIDTH} {height}" role="group" '
        f'aria-labelledby="{_e(chart_id)}-title {_e(chart_id)}-desc" font-size="{FONT}">',
        f'<title id="{_e(chart_id)}-title">{_e(title)}</title>',
        f'<desc id="{_e(chart_id)}-desc">{_e(description)}</desc>',
        *_y_axis(plot, ticks),
        *_x_axis(plot, x_labels),
        *_legend(lines, legend),
    ]
    for n, line in enumerate(lines):
        parts += _series(plot, line, n)
    parts.append("</svg>")
    return "\n".join(parts)


class _Plot:
    """Where values land: x by period index, y by value, in the drawing's units."""

    def __init__(self, periods: int, top_value: float, top: float) -> None:
        self.periods = periods
        self.top_value = top_value or 1.0
        self.top = top
        self.bottom = top + PLOT_HEIGHT
        self.left, self.right = LEFT, WIDTH - RIGHT

    def x(self, index: int) -> float:
        if self.periods <= 1:
            return round((self.left + self.right) / 2, 2)
        return round(self.left + (self.right - self.left) * index / (self.periods - 1), 2)

    def y(self, value: float) -> float:
        return round(self.bottom - PLOT_HEIGHT * value / self.top_value, 2)


#: Characters XML 1.0 cannot hold even escaped: dropped from labels, so the SVG stays parseable.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _e(text: str) -> str:
    return escape(NOT_XML.sub("", str(text)), quote=True)


def _y_axis(plot: _Plot, ticks: list[float]) -> list[str]:
    out = ['<g class="line-chart__grid" aria-hidden="true">']
    for value in ticks:
        y = plot.y(value)
        out.append(
            f'<line x1="{plot.left}" y1="{y}" x2="{plot.right}" y2="{y}" stroke="#ddd" />'
            f'<text x="{plot.left - 6}" y="{y + 4}" text-anchor="end" fill="#444">'
            f"{_e(tick_label(value))}</text>"
        )
    out.append("</g>")
    return out


def _x_axis(plot: _Plot, labels: list[str]) -> list[str]:
    """The baseline and every n-th period's label, n chosen so that no two labels touch."""
    widest = max((len(label) for label in labels), default=0) * CHAR_WIDTH
    spacing = (plot.right - plot.left) / max(len(labels) - 1, 1)
    every = max(1, math.ceil((widest + LABEL_GAP) / spacing))
    y = plot.bottom
    out = [
        '<g class="line-chart__axis" aria-hidden="true">',
        f'<line x1="{plot.left}" y1="{y}" x2="{plot.right}" y2="{y}" stroke="#555" />',
    ]
    for n in range(0, len(labels), every):
        x = plot.x(n)
        out.append(
            f'<line x1="{x}" y1="{y}" x2="{x}" y2="{y + 5}" stroke="#555" />'
            f'<text x="{x}" y="{y + 20}" text-anchor="middle" fill="#444">{_e(labels[n])}</text>'
        )
    out.append("</g>")
    return out


def _legend_layout(labels: list[str]) -> list[tuple[float, int]]:
    """Each legend entry's x and row: entries flow left to right and wrap to the width."""
    placed: list[tuple[float, int]] = []
    x, row = float(LEFT), 0
    for label in labels:
        width = SWATCH + SWATCH_GAP + CHAR_WIDTH * len(label) + 18
        if x > LEFT and x + width > WIDTH - RIGHT:
            x, row = float(LEFT), row + 1
        placed.append((x, row))
        x += width
    return placed


def _legend(lines: list[Line], layout: list[tuple[float, int]]) -> list[str]:
    out = ['<g class="line-chart__legend" aria-hidden="true">']
    for n, (line, (x, row)) in enumerate(zip(lines, layout, strict=True)):
        y = 12 + LEGEND_ROW * row
        out.append(
            f'<line x1="{x}" y1="{y}" x2="{x + SWATCH}" y2="{y}" {_stroke(n)} />'
            f'<circle cx="{x + SWATCH / 2}" cy="{y}" r="3.5" fill="{_colour(n)}" />'
            f'<text x="{x + SWATCH + SWATCH_GAP}" y="{y + 4}" fill="#222">{_e(line.label)}</text>'
        )
    out.append("</g>")
    return out


def _colour(n: int) -> str:
    return COLOURS[n % len(COLOURS)]


def _stroke(n: int) -> str:
    dash = DASHES[n % len(DASHES)]
    dashes = f' stroke-dasharray="{dash}"' if dash else ""
    return f'stroke="{_colour(n)}" stroke-width="2.5" fill="none"{dashes}'


def _series(plot: _Plot, line: Line, n: int) -> list[str]:
    coords = [(plot.x(i), plot.y(p.value)) for i, p in enumerate(line.points)]
    path = " ".join(f"{x},{y}" for x, y in coords)
    out = [
        f'<g class="line-chart__series" data-series="{n}" role="group" '
        f'aria-label="{_e(line.label)}">',
        f'<polyline points="{path}" {_stroke(n)} aria-hidden="true" />',
    ]
    for point, (x, y) in zip(line.points, coords, strict=True):
        out.append(
            f'<a href="{_e(point.href)}" class="line-chart__point" '
            f'aria-label="{_e(point.title)}"><title>{_e(point.title)}</title>'
            f'<circle class="line-chart__hit" cx="{x}" cy="{y}" r="9" fill="transparent" />'
            f'<circle cx="{x}" cy="{y}" r="3.5" fill="{_colour(n)}" /></a>'
        )
    out.append("</g>")
    return out
