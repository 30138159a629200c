"""The rich view of a GradcheckResult: a table per input, the diagnosis, an error strip per row.

A renderer: it reads the result and the sentences of sanitykit.engine.wording, and takes
its styles from the theme by name; it never decides a verdict.
"""
from __future__ import annotations

import numpy as np

from sanitykit.engine.status import PASS
from sanitykit.engine.theme import resolve, status_style
from sanitykit.engine.wording import STATUS_WORD, gradcheck_hint, gradcheck_message, number

BARS_UNICODE = " ▁▂▃▄▅▆▇█"
BARS_ASCII = " .:-=+*#%"


def error_strip(r, ascii_only: bool = False) -> str | None:
    """Max relative error per row (first axis), log-scaled to one character each; None if unhelpful."""
    if r.errors is None or len(r.shape) < 2 or r.shape[0] < 2 or r.status == PASS:
        return None
    rows = r.errors.reshape(r.shape[0], -1)
    per_row = np.array([np.nanmax(row) if np.any(np.isfinite(row)) else np.nan for row in rows])
    bars = BARS_ASCII if ascii_only else BARS_UNICODE
    chars = []
    for e in per_row[:64]:
        if not np.isfinite(e):
            chars.append("?")
            continue
        level = np.clip((np.log10(max(e, 1e-12)) + 12) / 12, 0, 1)  # 1e-12 .. 1 -> 0 .. 1
        chars.append(bars[int(round(level * (len(bars) - 1)))])
    return "".join(chars)


def rich_renderables(result, console, options):
    """Yield the verdict, one small table for the inputs, the diagnosis and the error strips."""
    from rich.table import Table
    from rich.text import Text

    ascii_only = getattr(options, "ascii_only", False)

    def style(name: str):
        return resolve(console, name)

    head = Text(f"gradcheck of {result.subject}: " if result.subject else "gradcheck: ")
    head.append(result.status.upper(), style=style(status_style(result.status)))
    if result.mode:
        head.append(f"  mode {result.mode}", style=style("sanitykit.note"))
    yield head
    if result.per_input:
        table = Table(show_header=True, header_style=style("sanitykit.table_header"), box=None,
                      padding=(0, 1))
        for col in ("gradient", "shape", "verdict", "rel error", "worst at", "pattern"):
            table.add_column(col)
        for r in result.per_input:
            table.add_row(r.grad, str(r.shape),
                          Text(STATUS_WORD[r.status], style=style(status_style(r.status))),
                          number(r.rel_error), r.where if r.worst_index is not None else "-",
                          r.pattern or "-")
        yield table
    message = gradcheck_message(result)
    if message and result.status != PASS:
        yield Text(message, style=style("sanitykit.message"))
    for r in result.per_input:
        strip = error_strip(r, ascii_only)
        if strip:
            yield Text(f"{r.grad} error per row (first index 0..{r.shape[0] - 1}): [{strip}]",
                       style=style("sanitykit.note"))
    hint = gradcheck_hint(result)
    if hint and result.status != PASS:
        yield Text(hint, style=style("sanitykit.hint"))
    for note in result.notes:
        yield Text(f"note: {note}", style=style("sanitykit.note"))
