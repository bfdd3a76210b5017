"""Charts as SVG, drawn on the server: no script, nothing fetched, readable without colour.

Each chart is ``role="img"`` with a title; the page puts the same numbers in a table beside it
(``web/templates/chart.html``), which is what screen readers and the tests read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from markupsafe import Markup

#: Series colours: distinguishable, each at least 4.5:1 on white (WCAG AA for the legend).
COLOURS = ("#1f5f99", "#b3541e", "#2e7d32", "#6a3d9a", "#8c2d04", "#00695c")
WIDTH = 640


def bars(title: str, rows: Sequence[tuple[str, float]], fmt: Callable[[float], str]) -> Markup:
    """Horizontal bars, one per (label, value), longest first as given."""
    row_height, label_width, value_width = 22, 170, 90
    height = row_height * len(rows) + 10
    top = max((v for _, v in rows), default=0) or 1
    room = WIDTH - label_width - value_width
    parts = [_open(title, height)]
    for i, (label, value) in enumerate(rows):
        y = 5 + i * row_height
        width = max(room * value / top, 0)
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end">{escape(_cut(label))}'
            f'</text><rect class="bar" x="{label_width}" y="{y + 3}" width="{width:.1f}" '
            f'height="{row_height - 6}" fill="{COLOURS[0]}"><title>{escape(label)}: '
            f"{escape(fmt(value))}</title></rect>"
            f'<text x="{label_width + width + 6:.1f}" y="{y + 15}">{escape(fmt(value))}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def lines(
    title: str,
    x_labels: Sequence[str],
    series: dict[str, Sequence[float | None]],
    fmt: Callable[[float], str],
) -> Markup:
    """One line per series over ``x_labels`` (a gap where a value is None), with a legend."""
    height, left, right, top_pad, bottom = 260, 56, 150, 10, 40
    values = [v for s in series.values() for v in s if v is not None]
    high = max(values, default=0) or 1
    plot_w, plot_h = WIDTH - left - right, height - top_pad - bottom
    step = plot_w / max(len(x_labels) - 1, 1)

    def point(i: int, v: float) -> str:
        return f"{left + i * step:.1f},{top_pad + plot_h * (1 - v / high):.1f}"

    parts = [_open(title, height)]
    for k in range(5):  # horizontal guides with their values
        v = high * k / 4
        y = top_pad + plot_h * (1 - k / 4)
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" class="guide"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(fmt(v))}</text>'
        )
    every = max(len(x_labels) // 6, 1)
    for i, label in enumerate(x_labels):
        if i % every == 0:
            parts.append(
                f'<text x="{left + i * step:.1f}" y="{height - bottom + 18}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    for n, (name, ys) in enumerate(series.items()):
        colour = COLOURS[n % len(COLOURS)]
        for run in _runs(ys):
            points = " ".join(point(i, ys[i]) for i in run)
            parts.append(
                f'<polyline class="series" fill="none" stroke="{colour}" stroke-width="2" '
                f'points="{points}"><title>{escape(name)}</title></polyline>'
            )
        y = top_pad + 16 * n + 8
        parts.append(
            f'<rect x="{WIDTH - right + 12}" y="{y - 8}" width="12" height="4" fill="{colour}"/>'
            f'<text x="{WIDTH - right + 30}" y="{y}">{escape(_cut(name, 16))}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _open(title: str, height: int) -> str:
    return (
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>"
    )


def _runs(values: Sequence[float | None]) -> list[list[int]]:
    """Indexes of the unbroken stretches of values (a line is not drawn across a gap)."""
    out: list[list[int]] = []
    for i, v in enumerate(values):
        if v is None:
            continue
        if out and out[-1][-1] == i - 1:
            out[-1].append(i)
        else:
            out.append([i])
    return out


def _cut(text: str, width: int = 24) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
