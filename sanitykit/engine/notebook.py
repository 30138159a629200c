"""Jupyter display of sanitykit's results: HTML drawn by rich, text/plain without escape codes.

A notebook shows the last value of a cell through `_repr_mimebundle_` (HTML) and IPython's
terminal through `_repr_pretty_` (text). Rich's own JupyterMixin puts ANSI colour codes into
the text/plain part, which then shows as `[1;31m` garbage wherever the plain part is read
(nbconvert, a doctest, an email of the notebook). Here the plain part is rendered without
colour, and each result says what its plain text is (a gradcheck's: its diagnosis).
"""
from __future__ import annotations

import io
from typing import Any, Iterable

# Wide enough for a report's rows, narrow enough for a notebook cell without scrolling.
NOTEBOOK_WIDTH = 100
PRE_STYLE = ("white-space:pre;overflow-x:auto;line-height:normal;"
             "font-family:Menlo,'DejaVu Sans Mono',consolas,'Courier New',monospace")


def _drawn(renderable: Any, width: int, *, html: bool):
    """The console that printed `renderable`: recording styles for HTML, colourless for text."""
    from rich.console import Console

    console = Console(file=io.StringIO(), width=width, record=html, force_terminal=html,
                      force_jupyter=False, color_system="truecolor" if html else None,
                      no_color=not html, highlight=False, markup=False, emoji=False,
                      legacy_windows=False, _environ={})
    console.print(renderable)
    return console


def plain_text(renderable: Any, width: int = NOTEBOOK_WIDTH) -> str:
    """`renderable` drawn by rich as plain text: no colour, no escape codes, no trailing spaces.

    Args:
        renderable: anything rich can print.
        width: columns, default NOTEBOOK_WIDTH.
    """
    text = _drawn(renderable, width, html=False).file.getvalue()
    return "\n".join(line.rstrip() for line in text.splitlines())


def rich_html(renderable: Any, width: int = NOTEBOOK_WIDTH) -> str:
    """`renderable` drawn by rich as one `<pre>` of HTML with inline styles (no stylesheet needed).

    Args:
        renderable: anything rich can print.
        width: columns, default NOTEBOOK_WIDTH.
    """
    console = _drawn(renderable, width, html=True)
    return console.export_html(inline_styles=True, code_format=f'<pre style="{PRE_STYLE}">{{code}}</pre>\n')


def mimebundle(html: str, text: str, include: Iterable[str] | None = None,
               exclude: Iterable[str] | None = None) -> dict[str, str]:
    """The bundle Jupyter asks `_repr_mimebundle_` for, honouring its include / exclude lists.

    Args:
        html: the text/html part.
        text: the text/plain part (no escape codes).
        include, exclude: mime types Jupyter wants or does not want (None: no restriction).
    """
    data = {"text/plain": text, "text/html": html}
    if include:
        data = {k: v for k, v in data.items() if k in include}
    if exclude:
        data = {k: v for k, v in data.items() if k not in exclude}
    return data


class NotebookDisplay:
    """Mixin for a result with a rich view (`__rich_console__`): HTML and plain text in Jupyter.

    A subclass may override `_plain_text()` (what text/plain and IPython's terminal show) and
    `_html()`; by default both draw the rich view.
    """

    def _plain_text(self) -> str:
        return plain_text(self)

    def _html(self) -> str:
        return rich_html(self)

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs: Any) -> dict[str, str]:
        return mimebundle(self._html(), self._plain_text(), include, exclude)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # IPython's terminal (and its plain formatter): the same words as the notebook's text part.
        printer.text(repr(self) if cycle else self._plain_text())
