"""The Report: every CheckResult of one run plus how the target was loaded.

Data only; `to_dict()` is the one serialisation every renderer reads. The rich
view lives in sanitykit.front.render.text and is attached lazily, so that
`Report` renders in a terminal (`rich.print(report)`) and in Jupyter.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sanitykit._version import __version__
from sanitykit.engine.results import ERROR, FAIL, STATUSES, CheckResult, to_jsonable


def empty_loading() -> dict[str, Any]:
    return {"conventions": {}, "substitutions": [], "shims": [], "problems": []}


@dataclass
class Report:
    """Results of `sanitykit check` on one target.

    Args:
        target: how the user named the target (path or module).
        seed: the seed every check's generator started from.
        checks: results in run order.
        loading: conventions detected, substitutions, shims, import problems (DESIGN.md).
        interrupted: Ctrl-C ended the run; the checks not finished are `skip` (reason interrupted).
    """

    target: str
    seed: int = 0
    checks: list[CheckResult] = field(default_factory=list)
    loading: dict[str, Any] = field(default_factory=empty_loading)
    interrupted: bool = False

    @property
    def summary(self) -> dict[str, int]:
        counts = {status: 0 for status in STATUSES}
        for result in self.checks:
            counts[result.status] += 1
        return counts

    @property
    def ok(self) -> bool:
        """True when no check failed or errored (warn and skip are fine)."""
        return not any(r.status in (FAIL, ERROR) for r in self.checks)

    @property
    def exit_code(self) -> int:
        """0 no check failed or errored, 1 some did, 130 interrupted (DESIGN.md)."""
        if self.interrupted:
            return 130
        return 0 if self.ok else 1

    def by_id(self, check_id: str) -> CheckResult:
        for result in self.checks:
            if result.id == check_id:
                return result
        raise KeyError(check_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sanitykit_version": __version__,
            "target": self.target,
            "seed": self.seed,
            "summary": self.summary,
            "loading": to_jsonable({**empty_loading(), **self.loading}),
            "checks": [r.to_dict() for r in self.checks],
            **({"interrupted": True} if self.interrupted else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Report":
        """Rebuild a Report from `to_dict()` output (grading reads the child's JSON back)."""
        checks = [CheckResult.from_dict(c) for c in data.get("checks", [])]
        return cls(target=data.get("target", ""), seed=data.get("seed", 0), checks=checks,
                   loading={**empty_loading(), **data.get("loading", {})},
                   interrupted=bool(data.get("interrupted", False)))

    def __rich_console__(self, console, options):
        from sanitykit.front.render.text import render_report_rich

        yield from render_report_rich(self, console, options)

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        # Jupyter: the HTML of `check --format html` (collapsible suites), and the plain text
        # report without escape codes (rich's own notebook view puts ANSI codes in text/plain).
        from sanitykit.engine.notebook import mimebundle
        from sanitykit.front.render.html import render_html_fragment

        return mimebundle(render_html_fragment(self), self._plain_text(), include, exclude)

    def _repr_pretty_(self, printer, cycle):
        # IPython's terminal: the text report, not the one-line repr.
        printer.text(repr(self) if cycle else self._plain_text())

    def _plain_text(self) -> str:
        from sanitykit.engine.notebook import NOTEBOOK_WIDTH
        from sanitykit.front.render.text import render_text

        return render_text(self, width=NOTEBOOK_WIDTH).rstrip("\n")

    def __repr__(self) -> str:
        s = self.summary
        return (f"Report(target={self.target!r}, ok={self.ok}, pass={s['pass']}, warn={s['warn']}, "
                f"fail={s['fail']}, error={s['error']}, skip={s['skip']})")
