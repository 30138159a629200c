"""The one theme of sanitykit's terminal report: style names, default styles and glyphs.

Renderers use style *names* ("sanitykit.fail"); a user's rich Theme may override any of
them, and `DEFAULT_STYLES` is the fallback when the console's theme does not define one.
"""
from __future__ import annotations

DEFAULT_STYLES = {
    "sanitykit.pass": "green",
    "sanitykit.warn": "yellow",
    "sanitykit.fail": "bold red",
    "sanitykit.error": "bold magenta",
    "sanitykit.skip": "dim",
    "sanitykit.header": "bold",
    "sanitykit.suite": "bold underline",
    "sanitykit.id": "",
    "sanitykit.subject": "cyan",
    "sanitykit.title": "",
    "sanitykit.duration": "dim",
    "sanitykit.message": "",
    "sanitykit.hint": "italic",
    "sanitykit.rerun": "dim",
    "sanitykit.problem": "red",
}

# One column each; ASCII when the console cannot show Unicode (options.ascii_only).
GLYPHS = {"pass": "✓", "warn": "!", "fail": "✗", "error": "✗", "skip": "○"}
ASCII_GLYPHS = {"pass": "+", "warn": "!", "fail": "x", "error": "E", "skip": "-"}
WORDS = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "error": "ERROR", "skip": "SKIP"}


def status_style(status: str) -> str:
    """The style name of a status ("fail" -> "sanitykit.fail")."""
    return f"sanitykit.{status}"


def theme():
    """A rich Theme with sanitykit's defaults, for `Console(theme=...)` (imports rich lazily)."""
    from rich.theme import Theme

    return Theme(DEFAULT_STYLES)
