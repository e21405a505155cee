"""Line charts as SVG text, drawn on the server: axes, ticks, legend, an accessible title.

Pure functions of their arguments (no Flask, no database), so they are tested alone.
Values may be None (a week without data): the line breaks there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

FONT = "-apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif"


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float | None]
    color: str
    dashed: bool = False


@dataclass(frozen=True)
class Frame:
    """Where the plot area sits inside the picture."""

    width: int = 640
    height: int = 280
    left: int = 72
    right: int = 28  # half of a centred x label sticks out past the last point
    top: int = 16
    bottom: int = 64  # x labels and the legend

    @property
    def plot_width(self) -> int:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> int:
        return self.height - self.top - self.bottom

    @property
    def baseline(self) -> int:
        return self.top + self.plot_height


def nice_ticks(high: float, count: int = 5) -> list[float]:
    """Round tick values from 0 up to at least ``high`` (1, 2, 2.5 or 5 times a power of 10)."""
    if high <= 0 or not math.isfinite(high):
        return [0.0, 1.0]
    raw = high / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    ticks = [0.0]
    while ticks[-1] < high - 1e-12 * high:
        ticks.append(round(ticks[-1] + step, 12))
    return ticks


def x_positions(n: int, frame: Frame) -> list[float]:
    """Evenly spaced x of n points across the plot (one point sits in the middle)."""
    if n == 1:
        return [frame.left + frame.plot_width / 2]
    return [frame.left + i * frame.plot_width / (n - 1) for i in range(n)]


def y_position(value: float, top_value: float, frame: Frame) -> float:
    """y of a value on an axis from 0 (baseline) to top_value (top of the plot)."""
    return frame.baseline - value / top_value * frame.plot_height


def _segments(points: list[tuple[float, float] | None]) -> list[list[tuple[float, float]]]:
    runs: list[list[tuple[float, float]]] = [[]]
    for point in points:
        if point is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(point)
    return [run for run in runs if run]


def _text(x: float, y: float, content: str, anchor: str = "middle", **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{escape(content)}</text>'


def describe(labels: Sequence[str], series: Sequence[Series], fmt: Callable[[float], str]) -> str:
    """A sentence per line for screen readers: where it starts and where it ends."""
    parts = []
    for s in series:
        known = [(labels[i], v) for i, v in enumerate(s.values) if v is not None]
        if not known:
            parts.append(f"{s.label}: —")
        else:
            (first_label, first), (last_label, last) = known[0], known[-1]
            parts.append(f"{s.label}: {fmt(first)} ({first_label}) → {fmt(last)} ({last_label})")
    return "; ".join(parts)


def line_chart(
    *,
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    y_format: Callable[[float], str],
    y_max: float | None = None,
    empty_text: str = "No data",
    frame: Frame | None = None,
) -> str:
    """An SVG line chart; ``labels`` name the x points, each series has one value per label."""
    frame = frame or Frame()
    for s in series:
        if len(s.values) != len(labels):
            raise ValueError(f"series {s.label!r} has {len(s.values)} values for {len(labels)}")
    known = [v for s in series for v in s.values if v is not None]
    ticks = nice_ticks(max([*known, y_max or 0.0]) if known else (y_max or 1.0))
    top_value = ticks[-1]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" '
        f'viewBox="0 0 {frame.width} {frame.height}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" '
        f'font-family="{escape(FONT)}" font-size="12">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(describe(labels, series, y_format))}</desc>',
        f'<rect x="0" y="0" width="{frame.width}" height="{frame.height}" fill="#fff"/>',
        '<g class="grid">',
    ]
    for tick in ticks:
        y = y_position(tick, top_value, frame)
        colour = "#9aa3af" if tick == 0 else "#e5e7eb"
        out.append(
            f'<line x1="{frame.left}" y1="{y:.1f}" x2="{frame.width - frame.right}" '
            f'y2="{y:.1f}" stroke="{colour}" stroke-width="1"/>'
        )
        out.append(_text(frame.left - 8, y + 4, y_format(tick), "end", fill="#4b5563"))
    out.append("</g>")
    xs = x_positions(len(labels), frame)
    step, last = max(1, math.ceil(len(labels) / 8)), len(labels) - 1
    out.append('<g class="x-labels">')
    for i, (x, label) in enumerate(zip(xs, labels, strict=True)):
        # every step-th label, and the last one unless it would crowd its neighbour
        if i % step == 0 or (i == last and last % step >= step / 2):
            out.append(_text(x, frame.baseline + 18, label, fill="#4b5563"))
    out.append("</g>")
    if not known:
        out.append(
            _text(
                frame.left + frame.plot_width / 2,
                frame.top + frame.plot_height / 2,
                empty_text,
                fill="#6b7280",
                font_size="14",
            )
        )
    for index, s in enumerate(series):
        points = [
            None if v is None else (x, y_position(v, top_value, frame))
            for x, v in zip(xs, s.values, strict=True)
        ]
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        out.append(f'<g class="series" data-series="{index}">')
        for run in _segments(points):
            coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
            out.append(
                f'<polyline points="{coords}" fill="none" stroke="{escape(s.color)}" '
                f'stroke-width="2.5" stroke-linejoin="round"{dash}/>'
            )
        for label, value, point in zip(labels, s.values, points, strict=True):
            if point is None or value is None:
                continue
            out.append(
                f'<circle cx="{point[0]:.1f}" cy="{point[1]:.1f}" r="3.5" '
                f'fill="{escape(s.color)}"><title>{escape(s.label)}, {escape(label)}: '
                f"{escape(y_format(value))}</title></circle>"
            )
        out.append("</g>")
    out.append(_legend(series, frame))
    out.append("</svg>")
    return "\n".join(out)


def _legend(series: Sequence[Series], frame: Frame) -> str:
    y = frame.height - 14
    x = float(frame.left)
    parts = ['<g class="legend">']
    for s in series:
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        parts.append(
            f'<line x1="{x:.1f}" y1="{y - 4}" x2="{x + 24:.1f}" y2="{y - 4}" '
            f'stroke="{escape(s.color)}" stroke-width="3"{dash}/>'
        )
        parts.append(_text(x + 30, y, s.label, "start", fill="#1b1b1f"))
        x += 30 + 7.5 * len(s.label) + 24
    parts.append("</g>")
    return "".join(parts)
