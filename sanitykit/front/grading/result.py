"""One submission's grading result: data only (outputs.py writes it, cli.py shows it)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sanitykit.engine.results import ERROR, FAIL
from sanitykit.front.grading.rubric import CheckScore

GRADED, ERRORED = "graded", "error"
# Prefix of the message of a graded check the submission's process never reached.
NOT_RUN = "not run: "
# Points are shown to 2 decimals: a share of a `total = 40` rule is 40/21 points, and
# class.csv should read 91.52, not 91.5238 or a suite's 40.002 of 40.
DECIMALS = 2


@dataclass
class SubmissionResult:
    """A submission after grading.

    Args:
        name: the submission's name (class.csv, output folder).
        status: "graded" when its process finished, "error" when it could not be graded to the end.
        reasons: what went wrong at the submission level, in words with the limit.
        scores: one CheckScore per graded check.
        report: the report.json content (DESIGN.md format plus a "grading" block).
        fingerprint: what a rerun compares (files, rubric, limits, version, seed).
        output: what the submission printed outside the checks' capture (bounded).
        duration_s: wall-clock seconds of its process.
        reused: True when taken from a previous run (unchanged submission).
    """

    name: str
    status: str
    reasons: list[str] = field(default_factory=list)
    scores: list[CheckScore] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)
    fingerprint: str = ""
    output: str = ""
    duration_s: float = 0.0
    reused: bool = False

    @property
    def score(self) -> float:
        return round(sum(s.score for s in self.scores), DECIMALS)

    @property
    def max_score(self) -> float:
        return round(sum(s.max_points for s in self.scores), DECIMALS)

    def suite_scores(self) -> dict[str, float]:
        """Score per suite (family), in catalogue order."""
        totals: dict[str, float] = {}
        for s in self.scores:
            totals[s.check.suite] = totals.get(s.check.suite, 0.0) + s.score
        # Rounded once, at the end: rounding each partial sum drifts (40.002 of 40).
        return {suite: round(total, DECIMALS) for suite, total in totals.items()}

    def missed(self) -> list[CheckScore]:
        """Graded checks that failed or errored."""
        return [s for s in self.scores if s.status in (FAIL, ERROR)]

    def error_summary(self) -> str:
        """The `errors` column: submission-level reasons, then how many checks errored."""
        parts = list(self.reasons)
        # Checks "not run" because the process stopped are already told by the reason.
        errored = [s for s in self.scores if s.status == ERROR and s.reason_kind != "not_run"]
        if errored:
            first = errored[0]
            message = first.message.splitlines()[0] if first.message else ""
            parts.append(f"{len(errored)} check(s) errored, first {first.check.id}: {message}"[:300])
        return "; ".join(parts)
