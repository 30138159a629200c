"""The one theme of sanitykit's rich views: style names, default styles and glyphs.

Renderers (the report in sanitykit.front.render, a GradcheckResult's own rich view) use
style *names* ("sanitykit.fail"); a user's rich Theme may override any of them, and
`DEFAULT_STYLES` is the fallback when the console's theme does not define one. Data only:
it sits in the engine so that both layers can read it.
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
    "sanitykit.note": "dim",
    "sanitykit.table_header": "bold",
}

# One column each; ASCII when the console cannot show Unicode (options.ascii_only).
GLYPHS = {"pass": "✓", "warn": "!", "fail": "✗", "error": "✗", "skip": "○"}
ASCII_GLYPHS = {"pass": "+", "warn": "!", "fail": "x", "error": "E", "skip": "-"}
WORDS = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "error": "ERROR", "skip": "SKIP"}


def status_style(status: str) -> str:
    """The style name of a status ("fail" -> "sanitykit.fail")."""
    return f"sanitykit.{status}"


def resolve(console, name: str):
    """The console's style for `name`: the user's theme first, sanitykit's default second."""
    return console.get_style(name, default=DEFAULT_STYLES.get(name) or "none")


def theme():
    """A rich Theme with sanitykit's defaults, for `Console(theme=...)` (imports rich lazily)."""
    from rich.theme import Theme

    return Theme(DEFAULT_STYLES)
