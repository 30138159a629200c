"""The rich view of one CheckResult: verdict line, then the finding's words, then its pattern.

What `report.by_id("layers.affine.gradcheck")` shows in a notebook cell or `rich.print`.
A renderer: it reads the result's fields (message and hint were made by wording from the
finding) and takes its styles from the theme by name; it never decides a verdict.
"""
from __future__ import annotations

from sanitykit.engine.theme import ASCII_GLYPHS, GLYPHS, WORDS, resolve, status_style

HINT_LABEL = "hint: "


def check_result_renderables(result, console, options):
    """Yield the verdict line, the message, the hint (under "hint: ") and the pattern or reason kind."""
    from rich.text import Text

    def style(name: str):
        return resolve(console, name)

    glyph = (ASCII_GLYPHS if options.ascii_only else GLYPHS)[result.status]
    status = style(status_style(result.status))
    head = Text.assemble((f"{glyph} {WORDS[result.status]}", status), "  ", (result.id, style("sanitykit.id")))
    if result.subject:
        head.append(f"  {result.subject}", style("sanitykit.subject"))
    if result.title:
        head.append(f"  {result.title}", style("sanitykit.title"))
    yield head
    if result.message:
        yield Text(result.message, style=style("sanitykit.message"))
    for i, line in enumerate(result.hint.splitlines() if result.hint else []):
        yield Text((HINT_LABEL if i == 0 else " " * len(HINT_LABEL)) + line, style=style("sanitykit.hint"))
    if result.diagnosis is not None:
        yield Text(f"pattern: {result.diagnosis.pattern}", style=style("sanitykit.note"))
    elif result.reason is not None:
        see = f" (see {', '.join(result.reason.see)})" if result.reason.see else ""
        yield Text(f"reason: {result.reason.kind}{see}", style=style("sanitykit.note"))
