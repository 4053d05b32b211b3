"""Server-side SVG charts: axes, tick labels, axis titles, a legend and one mark per point.

Drawn in Python rather than with a JavaScript library: the page then needs no asset from a
CDN and no vendored library to keep up to date, a chart is in the HTML the tests read, and
every label goes through the same escaping as the rest of the page. The colours come from
CSS classes (``app.css``): the page's Content-Security-Policy allows no inline style.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .html import esc

WIDTH, HEIGHT = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 150, 16, 64
MAX_X_LABELS = 10


@dataclass(frozen=True)
class Series:
    """One line of a chart: ``values`` by x position (None: no point there)."""

    name: str
    values: Sequence[float | None]


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``top`` (1, 2 or 5 times a power of ten apart)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def line_chart(
    *,
    chart_id: str,
    title: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    x_title: str,
    y_title: str,
    y_format: Callable[[float], str] = lambda v: f"{v:g}",
    y_max: float | None = None,
    point_titles: Sequence[str] | None = None,
) -> str:
    """An SVG line chart; each point is a ``circle.point`` with ``data-series`` and
    ``data-x``/``data-y`` (what the tests count), its title written by ``y_format`` as the
    axis's ticks are. An empty chart says so instead."""
    n = len(x_labels)
    if n == 0:
        return f'<p class="empty" id="{esc(chart_id)}">No data yet for {esc(title)}.</p>'
    values = [v for s in series for v in s.values if v is not None]
    ticks = nice_ticks(y_max if y_max is not None else max(values, default=0.0))
    top = ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x_at(i: int) -> float:
        return LEFT + (plot_w / 2 if n == 1 else plot_w * i / (n - 1))

    def y_at(v: float) -> float:
        return TOP + plot_h * (1 - v / top)

    parts = [
        f'<svg class="chart" id="{esc(chart_id)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{esc(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{esc(title)}</title>",
    ]
    parts += _y_axis(ticks, y_at, y_format, y_title, plot_h)
    parts += _x_axis(x_labels, x_at, x_title, plot_w)
    for k, s in enumerate(series):
        parts += _series(k, s, x_at, y_at, point_titles or x_labels, y_format=y_format)
    parts += _legend(series)
    parts.append("</svg>")
    return "\n".join(parts)


def _y_axis(
    ticks: list[float],
    y_at: Callable[[float], float],
    fmt: Callable[[float], str],
    title: str,
    plot_h: int,
) -> list[str]:
    x0 = LEFT
    out = [f'<line class="axis" x1="{x0}" y1="{TOP}" x2="{x0}" y2="{TOP + plot_h}"/>']
    for t in ticks:
        y = y_at(t)
        out.append(f'<line class="grid" x1="{x0}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}"/>')
        out.append(
            f'<text class="tick y-tick" x="{x0 - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{esc(fmt(t))}</text>'
        )
    mid = TOP + plot_h / 2
    out.append(
        f'<text class="axis-title y-title" x="14" y="{mid:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {mid:.1f})">{esc(title)}</text>'
    )
    return out


def _x_axis(
    labels: Sequence[str], x_at: Callable[[int], float], title: str, plot_w: int
) -> list[str]:
    y0 = HEIGHT - BOTTOM
    out = [f'<line class="axis" x1="{LEFT}" y1="{y0}" x2="{LEFT + plot_w}" y2="{y0}"/>']
    every = max(1, math.ceil(len(labels) / MAX_X_LABELS))
    for i, label in enumerate(labels):
        if i % every and i != len(labels) - 1:
            continue
        x = x_at(i)
        out.append(f'<line class="axis" x1="{x:.1f}" y1="{y0}" x2="{x:.1f}" y2="{y0 + 4}"/>')
        out.append(
            f'<text class="tick x-tick" x="{x:.1f}" y="{y0 + 18}" '
            f'text-anchor="middle">{esc(label)}</text>'
        )
    out.append(
        f'<text class="axis-title x-title" x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 12}" '
        f'text-anchor="middle">{esc(title)}</text>'
    )
    return out


def _series(
    k: int,
    s: Series,
    x_at: Callable[[int], float],
    y_at: Callable[[float], float],
    titles: Sequence[str],
    *,
    y_format: Callable[[float], str],
) -> list[str]:
    points = [(i, v) for i, v in enumerate(s.values) if v is not None]
    name = esc(s.name)
    out = []
    if len(points) > 1:
        path = " ".join(f"{x_at(i):.1f},{y_at(v):.1f}" for i, v in points)
        out.append(f'<polyline class="line c{k}" data-series="{name}" points="{path}"/>')
    for i, v in points:
        where = titles[i]
        out.append(
            f'<circle class="point c{k}" data-series="{name}" data-x="{i}" data-y="{v:g}" '
            f'cx="{x_at(i):.1f}" cy="{y_at(v):.1f}" r="4">'
            f"<title>{name}: {esc(y_format(v))} ({esc(where)})</title></circle>"
        )
    return out


def _legend(series: Sequence[Series]) -> list[str]:
    x = WIDTH - RIGHT + 16
    out = []
    for k, s in enumerate(series):
        y = TOP + 10 + 20 * k
        out.append(f'<circle class="legend-mark c{k}" cx="{x}" cy="{y}" r="5"/>')
        out.append(f'<text class="legend" x="{x + 10}" y="{y + 4}">{esc(s.name)}</text>')
    return out
