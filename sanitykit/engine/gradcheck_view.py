"""Text and rich views of a GradcheckResult; they only read it, never decide a verdict."""
from __future__ import annotations

import numpy as np

from sanitykit.engine.diagnosis import format_index
from sanitykit.engine.results import ERROR, FAIL, PASS, SKIP, WARN

MAX_PLACES = 5
STATUS_WORD = {PASS: "right", WARN: "suspicious", FAIL: "wrong", ERROR: "error", SKIP: "skipped"}


def _fmt(x: float) -> str:
    return f"{x:.3g}" if np.isfinite(x) else str(x)


def input_headline(r) -> str:
    """`dw is wrong: 60 / 60 probed elements differ, max relative error 0.96 at dw[3, 1]`."""
    if r.status == PASS:
        return f"{r.grad} is right (max relative error {_fmt(r.rel_error)})"
    if r.pattern == "kink":
        where = f" at {r.where}" if r.worst_index is not None else ""
        return (f"{r.grad} is right away from kinks; {r.kinks} coordinate(s) straddle a "
                f"ReLU/max kink{where} (relative error {_fmt(r.rel_error)} there)")
    verdict = "wrong" if r.status == FAIL else "suspicious"
    if r.errors is None:
        return (f"{r.grad} is {verdict}: a random directional derivative differs, "
                f"relative error {_fmt(r.rel_error)}")
    of = f"{r.probed} probed" if r.probed < r.size else f"{r.size}"
    where = f" at {r.where}" if r.worst_index is not None else ""
    return (f"{r.grad} is {verdict}: {r.wrong} / {of} elements differ, "
            f"max relative error {_fmt(r.rel_error)}{where}")


def input_places(r) -> list[str]:
    """At most five wrong places with both values, then a count with a percentage."""
    lines = [f"  {format_index(r.grad, idx)}: analytic {a:.6g}, numerical {n:.6g}"
             for idx, a, n, _ in r.worst[:MAX_PLACES]]
    more = r.wrong - len(lines)
    if more > 0:
        lines.append(f"  ... and {more} more ({100 * r.wrong / max(r.probed, 1):.0f}% of the "
                     f"{'probed' if r.probed < r.size else ''} elements)".replace("  elements", " elements"))
    return lines


def result_message(result) -> str:
    """What is wrong, where and by how much (multi-line)."""
    if result.status in (ERROR, SKIP) and result.problem:
        return result.problem
    if result.pattern:
        return result.diagnosis
    lines = []
    bad = [r for r in result.per_input if r.status != PASS]
    for r in bad:
        lines.append(input_headline(r))
        lines.extend(input_places(r))
        if r.diagnosis:
            lines.append(r.diagnosis)
    good = [r for r in result.per_input if r.status == PASS]
    if good:
        worst = max(r.rel_error for r in good)
        names = ", ".join(r.grad for r in good)
        lines.append(f"{names} {'is' if len(good) == 1 else 'are'} right "
                     f"(max relative error {_fmt(worst)})")
    if result.sampled:
        lines.append(f"(localised on a sample of {result.probed} coordinates; "
                     "mode='full' probes every one)")
    return "\n".join(lines)


def result_hint(result) -> str:
    """The likely mistake and what to do, spoken to the student."""
    if result.status == SKIP:
        return "implement the function, then run the check again"
    if result.status == ERROR:
        return "fix the error above; the check needs the function to run and return arrays"
    parts = []
    if result.pattern:
        parts.append(f"likely: {result.likely}")
        if result.todo:
            parts.append(f"try: {result.todo}")
        return "\n".join(parts)
    for r in result.per_input:
        if r.status == PASS or not r.likely:
            continue
        parts.append(f"likely: {r.likely}")
        if r.todo:
            parts.append(f"try: {r.todo}")
    return "\n".join(parts)


def result_text(result) -> str:
    """str(result): verdict line, message, hint, notes."""
    where = f" of {result.subject}" if result.subject else ""
    probed = f", {result.probed} coordinates probed" if result.probed else ""
    mode = f"(mode {result.mode}{probed})" if result.mode else ""
    message = result.message.splitlines() or [""]
    # The first line is what pytest's short summary and an AssertionError headline show:
    # the verdict and what is wrong, not only the verdict.
    head = f"gradcheck{where}: {result.status.upper()}" + (f": {message[0]}" if message[0] else "")
    lines = [head, *message[1:], mode]
    hint = result.hint
    if hint and result.status != PASS:
        lines.append(hint)
    lines.extend(f"note: {n}" for n in result.notes)
    return "\n".join(line for line in lines if line)


# ------------------------------------------------------------------------------ rich

STYLE = {PASS: "green", WARN: "yellow", FAIL: "bold red", ERROR: "bold magenta", SKIP: "dim"}
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


def rich_renderables(result, options):
    """Yield the verdict, one small table for the inputs, the diagnosis and the error strips."""
    from rich.table import Table
    from rich.text import Text

    ascii_only = getattr(options, "ascii_only", False)
    head = Text(f"gradcheck of {result.subject}: " if result.subject else "gradcheck: ")
    head.append(result.status.upper(), style=STYLE.get(result.status, ""))
    if result.mode:
        head.append(f"  mode {result.mode}", style="dim")
    yield head
    if result.per_input:
        table = Table(show_header=True, header_style="bold", box=None, padding=(0, 1))
        for col in ("gradient", "shape", "verdict", "rel error", "worst at", "pattern"):
            table.add_column(col)
        for r in result.per_input:
            table.add_row(r.grad, str(r.shape), Text(STATUS_WORD[r.status], style=STYLE[r.status]),
                          _fmt(r.rel_error), r.where if r.worst_index is not None else "-",
                          r.pattern or "-")
        yield table
    message = result_message(result)
    if message and result.status != PASS:
        yield Text(message)
    for r in result.per_input:
        strip = error_strip(r, ascii_only)
        if strip:
            yield Text(f"{r.grad} error per row (first index 0..{r.shape[0] - 1}): [{strip}]",
                       style="dim")
    hint = result_hint(result)
    if hint and result.status != PASS:
        yield Text(hint, style="italic")
    for note in result.notes:
        yield Text(f"note: {note}", style="dim")
