"""Charts as SVG markup drawn on the server: bars (grouped or stacked), horizontal bars
(league tables) and lines (trends), each with its axes, labels and the table of the same
numbers behind it.

Why SVG from Python and no chart library: the pages carry a strict Content-Security-Policy
(``default-src 'self'``: no inline script or style), leaders print them, and Arabic pages
must read right to left with Arabic-Indic digits. A drawing made here is the same in every
browser, needs no script, prints as vectors, and mirrors exactly as we say. Colours are SVG
presentation attributes (allowed by the policy, unlike ``style=""``) from the Okabe-Ito
palette, each series also has its own pattern and every bar its value written beside it,
so grey print and colour-blind readers lose nothing.

Pure functions of their arguments: the page gives the words in its language.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from markupsafe import Markup, escape

WIDTH = 640
# Okabe-Ito: told apart by the three kinds of colour blindness, and darkening steadily
# enough to stay apart in grey.
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
# One pattern per series, drawn over its colour: none, stripes, dots, cross-hatch...
PATTERNS = ("solid", "stripes", "dots", "cross", "back-stripes", "grid", "solid")
MAX_LABEL_CHARS = 18
LEGEND_CHARS = 36
_ARABIC_DIGITS = str.maketrans("0123456789,.-", "٠١٢٣٤٥٦٧٨٩٬٫−")


@dataclass(frozen=True)
class Series:
    """One named row of numbers, one per label."""

    name: str
    values: tuple[float, ...]


@dataclass(frozen=True)
class Chart:
    """What a chart says: its title and description (read aloud), the labels along its
    axis, the series, and the words of its table (first column's heading)."""

    key: str  # unique on the page: prefixes the drawing's ids
    title: str
    description: str
    labels: tuple[str, ...]
    series: tuple[Series, ...]
    label_heading: str = ""
    links: tuple[str | None, ...] = field(default=())  # a drill-down URL per label


# --- numbers in the page's language -------------------------------------------------------


def digits(text: str, lang: str) -> str:
    """ASCII digits as Arabic-Indic on Arabic pages (with the Arabic separators)."""
    return text.translate(_ARABIC_DIGITS) if lang == "ar" else text


def number_text(value: float, lang: str) -> str:
    """A figure as people read it: grouped thousands, at most one decimal."""
    if isinstance(value, float) and not value.is_integer():
        rounded = Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        text = f"{rounded:,}"
    else:
        text = f"{int(value):,}"
    return digits(text, lang)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round steps (1, 2 or 5 × 10ⁿ) from at most ``low`` to at least ``high``, zero
    included."""
    low, high = min(low, 0.0), max(high, 0.0)
    if high == low:
        high = low + 1
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(power * m for m in (1, 2, 5, 10) if power * m >= raw)
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    return [float(round(k * step, 10)) + 0.0 for k in range(first, last + 1)]


# --- drawing --------------------------------------------------------------------------------


class _Canvas:
    """Elements in left-to-right coordinates, mirrored on a right-to-left page. The
    drawing itself says ``direction="ltr"`` (an inline SVG would inherit the page's
    ``rtl``, which turns every text anchor round): the mirroring is all ours."""

    def __init__(self, width: int, height: int, rtl: bool) -> None:
        self.width, self.height, self.rtl = width, height, rtl
        self.parts: list[str] = []

    def x(self, x: float) -> float:
        return self.width - x if self.rtl else x

    def anchor(self, anchor: str) -> str:
        if not self.rtl:
            return anchor
        return {"start": "end", "end": "start"}.get(anchor, anchor)

    def rect(self, x: float, y: float, w: float, h: float, fill: str, css: str,
             title: str) -> None:
        left = self.x(x + w) if self.rtl else x
        self.parts.append(
            f'<rect class="{css}" x="{left:.1f}" y="{y:.1f}" width="{w:.1f}" '
            f'height="{h:.1f}" fill="{fill}" stroke="#000" stroke-width="0.5">'
            f"<title>{escape(title)}</title></rect>")

    def line(self, x1: float, y1: float, x2: float, y2: float, css: str) -> None:
        self.parts.append(f'<line class="{css}" x1="{self.x(x1):.1f}" y1="{y1:.1f}" '
                          f'x2="{self.x(x2):.1f}" y2="{y2:.1f}" stroke="#555"/>')

    def text(self, x: float, y: float, words: str, anchor: str = "start",
             css: str = "chart-label", fit: int = MAX_LABEL_CHARS) -> None:
        short = words if len(words) <= fit else words[:max(fit - 1, 1)] + "…"
        self.parts.append(f'<text class="{css}" x="{self.x(x):.1f}" y="{y:.1f}" '
                          f'text-anchor="{self.anchor(anchor)}">{escape(short)}</text>')

    def raw(self, markup: str) -> None:
        self.parts.append(markup)


def _patterns(chart: Chart) -> str:
    """One fill per series: its colour, and over it its pattern."""
    defs = []
    for index, _series in enumerate(chart.series):
        colour = COLOURS[index % len(COLOURS)]
        kind = PATTERNS[index % len(PATTERNS)]
        marks = {
            "solid": "",
            "stripes": '<path d="M0,8 L8,0" stroke="#fff" stroke-width="2"/>',
            "back-stripes": '<path d="M0,0 L8,8" stroke="#fff" stroke-width="2"/>',
            "dots": '<circle cx="4" cy="4" r="1.8" fill="#fff"/>',
            "cross": '<path d="M0,8 L8,0 M0,0 L8,8" stroke="#fff" stroke-width="1.2"/>',
            "grid": '<path d="M4,0 V8 M0,4 H8" stroke="#fff" stroke-width="1.2"/>',
        }[kind]
        defs.append(f'<pattern id="{_fill_id(chart, index)}" width="8" height="8" '
                    f'patternUnits="userSpaceOnUse"><rect width="8" height="8" '
                    f'fill="{colour}"/>{marks}</pattern>')
    return f"<defs>{''.join(defs)}</defs>"


def _fill_id(chart: Chart, index: int) -> str:
    return f"{chart.key}-fill-{index}"


def _fill(chart: Chart, index: int) -> str:
    return f"url(#{_fill_id(chart, index)})"


def _open(chart: Chart, canvas: _Canvas, lang: str) -> None:
    canvas.raw(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {canvas.width} {canvas.height}" width="{canvas.width}" '
        f'height="{canvas.height}" direction="ltr" '
        f'aria-labelledby="{chart.key}-title {chart.key}-desc" font-family="sans-serif" '
        f'font-size="12"><title id="{chart.key}-title">{escape(chart.title)}</title>'
        f'<desc id="{chart.key}-desc">{escape(chart.description)}</desc>{_patterns(chart)}')


def _legend(chart: Chart, canvas: _Canvas, y: float) -> None:
    """The series' names with their fills, along the top (only when more than one)."""
    if len(chart.series) < 2:
        return
    x = 8.0
    for index, series in enumerate(chart.series):
        canvas.rect(x, y - 10, 12, 12, _fill(chart, index), "chart-key", series.name)
        canvas.text(x + 16, y, series.name, css="chart-legend", fit=LEGEND_CHARS)
        x += 28 + 6.5 * min(len(series.name), LEGEND_CHARS)


def _empty(chart: Chart, canvas: _Canvas, message: str) -> Markup:
    canvas.text(canvas.width / 2, canvas.height / 2, message, anchor="middle",
                css="chart-empty", fit=len(message))
    canvas.raw("</svg>")
    return Markup("".join(canvas.parts))


def _has_data(chart: Chart) -> bool:
    return bool(chart.labels) and any(series.values for series in chart.series)


def _chars_in(width: float) -> int:
    """About how many characters of a label fit ``width`` (the table has them whole)."""
    return max(3, min(MAX_LABEL_CHARS, int(width / 6.5)))


def _value_axis(canvas: _Canvas, ticks: list[float], to_y: Callable[[float], float],
                left: float, right: float, lang: str) -> None:
    for tick in ticks:
        y = to_y(tick)
        canvas.line(left, y, right, y, "chart-grid" if tick else "chart-axis")
        canvas.text(left - 4, y + 4, number_text(tick, lang), anchor="end",
                    css="chart-tick")


def bar_chart(chart: Chart, lang: str, *, stacked: bool = False,
              empty: str = "No data", at_least: float = 0.0) -> Markup:
    """Vertical bars, one group (or stack) per label, the value written on each bar;
    the axis reaches at least ``at_least`` (100 for a percentage)."""
    height = 300
    canvas = _Canvas(WIDTH, height, lang == "ar")
    _open(chart, canvas, lang)
    if not _has_data(chart):
        return _empty(chart, canvas, empty)
    _legend(chart, canvas, 16)
    top, bottom, left, right = 32.0, height - 40.0, 64.0, WIDTH - 12.0
    if stacked:
        sums = [sum(max(s.values[i], 0) for s in chart.series) for i in range(len(chart.labels))]
        lows = [sum(min(s.values[i], 0) for s in chart.series) for i in range(len(chart.labels))]
        ticks = nice_ticks(min(lows), max(max(sums), at_least))
    else:
        values = [v for s in chart.series for v in s.values]
        ticks = nice_ticks(min(values), max(max(values), at_least))
    low, high = ticks[0], ticks[-1]

    def to_y(value: float) -> float:
        return bottom - (value - low) / (high - low) * (bottom - top)

    _value_axis(canvas, ticks, to_y, left, right, lang)
    slot = (right - left) / len(chart.labels)
    groups = 1 if stacked else len(chart.series)
    bar = max(min(slot * 0.8 / groups, 60.0), 1.0)
    for i, label in enumerate(chart.labels):
        start = left + slot * i + (slot - bar * groups) / 2
        up, down = 0.0, 0.0
        for index, series in enumerate(chart.series):
            value = series.values[i]
            if stacked:
                base = up if value >= 0 else down
                x = start
            else:
                base = 0.0
                x = start + bar * index
            y1, y2 = to_y(base), to_y(base + value)
            words = f"{series.name}: {label}: {number_text(value, lang)}"
            canvas.rect(x, min(y1, y2), bar, abs(y2 - y1), _fill(chart, index), "chart-bar",
                        words)
            if stacked:
                up, down = (up + value, down) if value >= 0 else (up, down + value)
            if not stacked or index == len(chart.series) - 1:
                total = up + down if stacked else value
                at = to_y(max(up, 0.0) if stacked else max(value, 0.0)) - 3
                if not stacked and value < 0:
                    at = to_y(value) + 12
                canvas.text(x + (bar / 2 if not stacked else bar / 2), at,
                            number_text(total, lang), anchor="middle", css="chart-value")
        canvas.text(left + slot * (i + 0.5), bottom + 16, label, anchor="middle",
                    fit=_chars_in(slot))
    canvas.raw("</svg>")
    return Markup("".join(canvas.parts))


def hbar_chart(chart: Chart, lang: str, *, empty: str = "No data",
               at_least: float = 0.0) -> Markup:
    """Horizontal bars, one row per label in the order given (a league table: best
    first), the label at the line's start and the value after each bar."""
    rows = len(chart.labels)
    row = 24.0
    series = chart.series[:1]
    height = int(24 + row * max(rows, 1) + 28)
    canvas = _Canvas(WIDTH, height, lang == "ar")
    _open(chart, canvas, lang)
    if not _has_data(chart):
        return _empty(chart, canvas, empty)
    top, left, right = 12.0, 150.0, WIDTH - 60.0
    bottom = top + row * rows
    values = series[0].values
    ticks = nice_ticks(min(values), max(max(values), at_least))
    low, high = ticks[0], ticks[-1]

    def to_x(value: float) -> float:
        return left + (value - low) / (high - low) * (right - left)

    for tick in ticks:
        canvas.line(to_x(tick), top, to_x(tick), bottom, "chart-grid" if tick else "chart-axis")
        canvas.text(to_x(tick), bottom + 16, number_text(tick, lang), anchor="middle",
                    css="chart-tick")
    for i, (label, value) in enumerate(zip(chart.labels, values, strict=True)):
        y = top + row * i
        x1, x2 = to_x(0.0), to_x(value)
        canvas.rect(min(x1, x2), y + 4, abs(x2 - x1), row - 8, _fill(chart, 0), "chart-bar",
                    f"{label}: {number_text(value, lang)}")
        canvas.text(left - 6, y + row / 2 + 4, label, anchor="end")
        canvas.text(max(x1, x2) + 4, y + row / 2 + 4, number_text(value, lang),
                    css="chart-value")
    canvas.raw("</svg>")
    return Markup("".join(canvas.parts))


def line_chart(chart: Chart, lang: str, *, empty: str = "No data") -> Markup:
    """Lines over the labels in order (time runs with the reading direction), a marker
    of its own shape at each point and the last value written at the line's end."""
    height = 300
    canvas = _Canvas(WIDTH, height, lang == "ar")
    _open(chart, canvas, lang)
    if not _has_data(chart):
        return _empty(chart, canvas, empty)
    _legend(chart, canvas, 16)
    top, bottom, left, right = 32.0, height - 40.0, 64.0, WIDTH - 48.0
    values = [v for s in chart.series for v in s.values]
    ticks = nice_ticks(min(values), max(values))
    low, high = ticks[0], ticks[-1]

    def to_y(value: float) -> float:
        return bottom - (value - low) / (high - low) * (bottom - top)

    _value_axis(canvas, ticks, to_y, left, right, lang)
    count = len(chart.labels)
    step = (right - left) / max(count - 1, 1)

    def to_x(i: int) -> float:
        return left + step * i if count > 1 else (left + right) / 2

    every = max(1, math.ceil(count / 12))
    for i, label in enumerate(chart.labels):
        if i % every == 0:
            canvas.text(to_x(i), bottom + 16, label, anchor="middle")
    for index, series in enumerate(chart.series):
        colour = COLOURS[index % len(COLOURS)]
        points = " ".join(f"{canvas.x(to_x(i)):.1f},{to_y(v):.1f}"
                          for i, v in enumerate(series.values))
        dash = ' stroke-dasharray="6 3"' if index % 2 else ""
        canvas.raw(f'<polyline class="chart-line" points="{points}" fill="none" '
                   f'stroke="{colour}" stroke-width="2"{dash}/>')
        for i, value in enumerate(series.values):
            canvas.raw(_marker(index, canvas.x(to_x(i)), to_y(value), colour,
                               f"{series.name}: {chart.labels[i]}: {number_text(value, lang)}"))
        last = len(series.values) - 1
        canvas.text(to_x(last) + 6, to_y(series.values[last]) + 4,
                    number_text(series.values[last], lang), css="chart-value")
    canvas.raw("</svg>")
    return Markup("".join(canvas.parts))


def _marker(index: int, x: float, y: float, colour: str, title: str) -> str:
    """A circle, square, triangle or diamond: series told apart without colour."""
    shape = index % 4
    tip = f"<title>{escape(title)}</title>"
    if shape == 0:
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}">{tip}</circle>'
    if shape == 1:
        return (f'<rect x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7" '
                f'fill="{colour}">{tip}</rect>')
    if shape == 2:
        return (f'<path d="M{x:.1f},{y - 4.5:.1f} L{x + 4:.1f},{y + 3:.1f} '
                f'L{x - 4:.1f},{y + 3:.1f} Z" fill="{colour}">{tip}</path>')
    return (f'<path d="M{x:.1f},{y - 4.5:.1f} L{x + 4.5:.1f},{y:.1f} L{x:.1f},{y + 4.5:.1f} '
            f'L{x - 4.5:.1f},{y:.1f} Z" fill="{colour}">{tip}</path>')


# --- the table behind the chart ---------------------------------------------------------------


def chart_table(chart: Chart, lang: str) -> Markup:
    """The chart's numbers as a table: a row per label, a column per series; a label
    with a drill-down link carries it."""
    head = "".join(f'<th scope="col">{escape(s.name)}</th>' for s in chart.series)
    rows = []
    for i, label in enumerate(chart.labels):
        link = chart.links[i] if i < len(chart.links) else None
        name = (f'<a href="{escape(link)}">{escape(label)}</a>' if link else escape(label))
        cells = "".join(f'<td class="number">{escape(number_text(s.values[i], lang))}</td>'
                        for s in chart.series)
        rows.append(f'<tr><th scope="row">{name}</th>{cells}</tr>')
    return Markup(f'<table class="chart-table"><caption>{escape(chart.title)}</caption>'
                  f'<thead><tr><th scope="col">{escape(chart.label_heading)}</th>{head}</tr>'
                  f'</thead><tbody>{"".join(rows)}</tbody></table>')


def figure(chart: Chart, drawing: Markup, lang: str, table_summary: str) -> Markup:
    """The chart and, folded under it, its table (open when printing: see dashboards.css)."""
    return Markup(f'<figure class="chart-figure" id="{escape(chart.key)}">'
                  f'<figcaption class="chart-caption">{escape(chart.title)}</figcaption>{drawing}'
                  f'<details class="chart-details"><summary>{escape(table_summary)}</summary>'
                  f"{chart_table(chart, lang)}</details></figure>")


def series_of(name: str, values: Sequence[float]) -> Series:
    return Series(name, tuple(float(v) for v in values))
