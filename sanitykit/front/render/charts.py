"""Terminal charts at the console's width: uniplot when installed, a plain scatter otherwise.

uniplot (the optional extra `sanitykit[charts]`) is pure Python on top of numpy, which
sanitykit needs anyway, draws log axes and several series at quarter-character resolution,
and returns its chart as a string (`plot_to_string`), so the chart is one more rich Text
at whatever width the view is given. Without it, `plain_chart` draws the same points with
one character each.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

# Columns uniplot adds around its plot area: the frame and the y labels on the right.
AXIS_COLUMNS = 10
PLAIN_MARKS = "*ox+#@"


@dataclass(frozen=True)
class Series:
    """One set of points: a label, x and y values, and whether to join them by lines."""

    label: str
    xs: Sequence[float]
    ys: Sequence[float]
    lines: bool = False


def chart(series: list[Series], *, width: int, height: int = 12, title: str = "", x_log: bool = False,
          y_log: bool = False, ascii_only: bool = False) -> str:
    """The series drawn in `width` columns (uniplot, else plain_chart); non-finite points are left out.

    Args:
        series: what to draw.
        width: columns of the whole chart, labels included.
        height: rows of the plot area (default 12).
        title: a line above the plot.
        x_log, y_log: log scale on that axis (points <= 0 are left out).
        ascii_only: ASCII characters only.
    """
    kept = [s for s in (_finite(s, x_log, y_log) for s in series) if s.xs]
    if not kept:
        return title
    try:
        import uniplot
    except ImportError:
        return plain_chart(kept, width=width, height=height, title=title, x_log=x_log, y_log=y_log)
    options, several = {}, len(kept) > 1
    if ascii_only or several:
        # Without colour, series are told apart by their mark: points, not lines, then.
        options["force_ascii_characters"] = [PLAIN_MARKS[i % len(PLAIN_MARKS)] for i in range(len(kept))]
        options["character_set"] = "ascii"
    drawn = uniplot.plot_to_string(
        [list(s.ys) for s in kept], [list(s.xs) for s in kept], width=max(width - AXIS_COLUMNS, 10),
        height=height, x_as_log=x_log, y_as_log=y_log, lines=[s.lines and not several for s in kept],
        color=False, title=title or None, **options)
    return drawn + (legend(kept) if len(kept) > 1 else "")


def legend(series: list[Series]) -> str:
    return "\n   " + "   ".join(f"{PLAIN_MARKS[i % len(PLAIN_MARKS)]} {s.label}" for i, s in enumerate(series))


def _finite(s: Series, x_log: bool, y_log: bool) -> Series:
    def usable(v: float, log: bool) -> bool:
        return math.isfinite(v) and (v > 0 or not log)

    pairs = [(float(x), float(y)) for x, y in zip(s.xs, s.ys) if usable(float(x), x_log) and usable(float(y), y_log)]
    return Series(s.label, [x for x, _ in pairs], [y for _, y in pairs], s.lines)


def plain_chart(series: list[Series], *, width: int, height: int = 12, title: str = "",
                x_log: bool = False, y_log: bool = False) -> str:
    """One character per point on a grid `width` columns wide, one mark per series, a legend below."""
    def scale(v: float, log: bool) -> float:
        return math.log10(v) if log else v

    xs = [scale(x, x_log) for s in series for x in s.xs]
    ys = [scale(y, y_log) for s in series for y in s.ys]
    plot_width = max(width - 11, 10)
    lo_x, span_x = min(xs), (max(xs) - min(xs)) or 1.0
    lo_y, span_y = min(ys), (max(ys) - min(ys)) or 1.0
    grid = [[" "] * plot_width for _ in range(height)]
    for i, s in enumerate(series):
        mark = PLAIN_MARKS[i % len(PLAIN_MARKS)]
        for x, y in zip(s.xs, s.ys):
            col = round((scale(x, x_log) - lo_x) / span_x * (plot_width - 1))
            row = height - 1 - round((scale(y, y_log) - lo_y) / span_y * (height - 1))
            grid[row][col] = mark
    top, bottom = (10 ** v if y_log else v for v in (lo_y + span_y, lo_y))
    lines = [title] if title else []
    for i, row in enumerate(grid):
        label = f"{top:8.3g}" if i == 0 else f"{bottom:8.3g}" if i == height - 1 else " " * 8
        lines.append(f"{label} |" + "".join(row).rstrip())
    left, right = (10 ** v if x_log else v for v in (lo_x, lo_x + span_x))
    lines.append(" " * 9 + "+" + "-" * plot_width)
    lines.append(" " * 10 + f"{left:<.3g}".ljust(plot_width - 8) + f"{right:.3g}")
    return "\n".join(lines) + legend(series)
