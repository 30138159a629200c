"""`--format gradescope`: Gradescope's autograder results.json.

Format (gradescope-autograders.readthedocs.io/en/latest/specs/): a top-level "tests" list
of {"name", "score", "max_score", "status": "passed"|"failed", "output"?, "visibility"?},
plus "score" and "output" for the whole submission. Optional keys appear only when they
apply. `gradescope_dict` is shared with `sanitykit grade`.

Scoring (a rubric maps check-id globs to points; without one every check is worth 1),
by sanitykit.front.scoring:
- pass and warn earn the check's points ("passed"; a warning goes in the output);
- fail and error earn 0 ("failed", the diagnosis is the output);
- a skip "fails only because of" another check earns the points (the bug is graded once);
- a stub ("not implemented yet") or a check skipped after a failure earns 0 and counts in
  max_score, so an unfinished assignment cannot score higher than a finished one;
- a check that does not apply (the function is absent without a rubric naming it, the
  model has no such option) is listed with max_score 0;
- with a rubric, a check matching none of its globs is not graded (left out).
"""
from __future__ import annotations

import fnmatch
import json
from typing import Any, Mapping

from sanitykit.engine.results import PASS, SKIP, WARN, CheckResult
from sanitykit.front.render.text import (describe_loading_item, diagnosis_lines, is_note,
                                         printed_note, summary_line)
from sanitykit.front.scoring import CREDIT, NOT_APPLICABLE, ZERO, credit_kinds

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")


def rubric_rules(rubric: Mapping[str, Any] | None) -> list[tuple[str, float, str | None]]:
    """(glob, points, visibility) rules in order; the first matching glob wins.

    Args:
        rubric: None (every check 1 point), {glob: points | {"points": p, "visibility": v}},
            or {"checks": {glob: ...}, "visibility": v} with a default visibility.
    """
    if rubric is None:
        return [("*", 1, None)]
    checks = rubric["checks"] if isinstance(rubric.get("checks"), Mapping) else rubric
    default_visibility = rubric.get("visibility") if checks is not rubric else None
    rules = []
    for glob, value in checks.items():
        spec = value if isinstance(value, Mapping) else {"points": value}
        unknown = set(spec) - {"points", "visibility"}
        if unknown:
            raise ValueError(f"rubric entry {glob!r}: unknown key {sorted(unknown)[0]!r}; "
                             "expected points, visibility")
        points = spec.get("points", 1)
        if isinstance(points, bool) or not isinstance(points, (int, float)) or points < 0:
            raise ValueError(f"rubric entry {glob!r}: points must be a number >= 0, not {points!r}")
        visibility = spec.get("visibility", default_visibility)
        if visibility is not None and visibility not in VISIBILITIES:
            raise ValueError(f"rubric entry {glob!r}: visibility {visibility!r} is not one of "
                             f"{', '.join(VISIBILITIES)}")
        rules.append((glob, points, visibility))
    return rules


def rule_for(check_id: str, rules: list[tuple[str, float, str | None]]) -> tuple[float, str | None] | None:
    """(points, visibility) of the first rule whose glob matches `check_id`, or None."""
    for glob, points, visibility in rules:
        if fnmatch.fnmatchcase(check_id, glob):
            return points, visibility
    return None


def student_output(result: CheckResult, target: str, seed: int) -> str:
    """What the student reads under a test: the diagnosis (without the rerun line)."""
    if result.status == SKIP:
        return f"skipped: {result.message or 'not run'}"
    if result.status == PASS:
        return result.message
    lines = diagnosis_lines(result, target, seed)[:-1]
    return ("warning: " if result.status == WARN else "") + "\n".join(lines)


def gradescope_test(result: CheckResult, points: float, visibility: str | None,
                    target: str, seed: int, kind: str = "") -> dict[str, Any]:
    """One entry of results.json "tests".

    Args:
        kind: credit / zero / not_applicable (sanitykit.front.scoring; default from the status).
    """
    kind = kind or (CREDIT if result.status in (PASS, WARN) else ZERO)
    earned = kind == CREDIT
    worth = 0 if kind == NOT_APPLICABLE else points
    test: dict[str, Any] = {"name": f"{result.id}: {result.title}" if result.title else result.id,
                            "score": worth if earned else 0, "max_score": worth,
                            "status": "passed" if earned or kind == NOT_APPLICABLE else "failed"}
    output = student_output(result, target, seed)
    if output:
        test["output"] = output
    if visibility:
        test["visibility"] = visibility
    return test


def gradescope_dict(report, rubric: Mapping[str, Any] | None = None, *,
                    absent_counts: bool | None = None,
                    kinds: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Gradescope's results.json as a dict.

    Args:
        report: a sanitykit.front.report.Report.
        rubric: check-id glob -> points (see `rubric_rules`); None: every check 1 point.
        absent_counts: a check of a function the submission lacks earns 0 instead of not
            applying (default: True with a rubric, False without).
        kinds: credit kinds already decided by a grader (check id -> credit/zero/not_applicable).
    """
    rules = rubric_rules(rubric)
    if kinds is None:
        counts = rubric is not None if absent_counts is None else absent_counts
        kinds = credit_kinds((r.to_dict() for r in report.checks), absent_counts=counts)
    tests = []
    for result in report.checks:
        rule = rule_for(result.id, rules)
        if rule is not None:
            tests.append(gradescope_test(result, *rule, report.target, report.seed,
                                         kinds.get(result.id, "")))
    results: dict[str, Any] = {"score": sum(t["score"] for t in tests), "tests": tests}
    output = submission_output(report)
    if output:
        results["output"] = output
    for key in ("visibility", "stdout_visibility"):
        if rubric is not None and isinstance(rubric.get("checks"), Mapping) and rubric.get(key):
            results[key] = rubric[key]
    return results


def submission_output(report) -> str:
    """The text above the tests: the summary, the modules that could not be imported, and
    whether the submission printed while it was checked (a forgotten debugging print)."""
    lines = [f"sanitykit: {summary_line(report.summary)}"]
    for problem in (report.loading or {}).get("problems") or []:
        label = "not checked: " if is_note(problem) else "could not import "
        lines.append(label + describe_loading_item(problem))
    printed = printed_note(report.checks)
    if printed:
        lines.append("note: " + printed.split("; --format json")[0])
    return "\n".join(lines)


def render_gradescope(report, rubric: Mapping[str, Any] | None = None) -> str:
    """results.json text for Gradescope (see `gradescope_dict`)."""
    return json.dumps(gradescope_dict(report, rubric), indent=2) + "\n"
