"""`--format gradescope`: Gradescope's autograder results.json, the same for `check` and `grade`.

Format (gradescope-autograders.readthedocs.io/en/latest/specs/): a top-level "tests" list
of {"name", "number", "tags", "score", "max_score", "status": "passed"|"failed", "output"?,
"visibility"?}, plus "score", "output", "output_format" and "test_output_format" for the
whole submission. Optional keys appear only when they apply.

Points come from a rubric (sanitykit.front.grading.rubric; `check` uses the default
rubric, as `grade` does, so both give one score to one tree) and are scored by
sanitykit.front.scoring: pass and warn earn a check's points, fail and error nothing, a
skip "fails only because of" another check earns them (the bug is graded once), a stub
earns nothing. A check that does not apply (the function is absent, the model has no such
option) is left out: it is worth nothing and a student has nothing to do about it.

What a student reads under a test follows the check's `feedback`: "full" (the diagnosis),
"category" (the kind of mistake, from the diagnosis pattern, and the function; never the
inputs, indices or numbers), "none" (passed or failed only).
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from sanitykit.engine.findings import REASON_KINDS
from sanitykit.engine.patterns import PATTERNS
from sanitykit.engine.results import PASS, SKIP, WARN, CheckResult
from sanitykit.front.render.text import (describe_candidates, describe_loading_item, describe_problem_group,
                                         diagnosis_lines, is_note, printed_at_import_line, printed_note,
                                         problem_groups, summary_line)
from sanitykit.front.scoring import CREDIT, NOT_APPLICABLE

if TYPE_CHECKING:
    from sanitykit.front.grading.rubric import CheckScore, Rubric

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
# Gradescope renders "text" as preformatted text: the diagnoses' line breaks and columns stay.
OUTPUT_FORMAT = "text"
# A failed check of category feedback, in words: "affine_backward: a gradient with its sign flipped".
CATEGORY_MESSAGE = "{subject}: {kind}"
UNKNOWN_KIND = "a result that differs from the expected one"


# ---------------------------------------------------------------- what a student reads

def student_output(result: CheckResult, target: str, seed: int) -> str:
    """What the student reads under a test: the diagnosis (without the rerun line)."""
    if result.status == SKIP:
        return f"skipped: {result.message or 'not run'}"
    if result.status == PASS:
        return result.message
    lines = diagnosis_lines(result, target, seed)[:-1]
    return ("warning: " if result.status == WARN else "") + "\n".join(lines)


def mistake_kind(result: CheckResult) -> str:
    """The kind of mistake in the vocabulary's words: the diagnosis pattern, else the reason's kind."""
    if result.diagnosis is not None:
        return PATTERNS[result.diagnosis.pattern]
    if result.reason is not None and result.reason.kind in REASON_KINDS:
        return REASON_KINDS[result.reason.kind]
    return UNKNOWN_KIND


def category_output(result: CheckResult) -> str:
    """Category feedback: the function and the kind of mistake; nothing from the check's inputs."""
    if result.status == PASS:
        return ""
    return CATEGORY_MESSAGE.format(subject=result.subject or result.id.split(".")[1], kind=mistake_kind(result))


def test_output(result: CheckResult, feedback: str, target: str, seed: int) -> str:
    """The text under a test, at the check's feedback level (full, category or none)."""
    if feedback == "none":
        return ""
    if feedback == "category":
        return category_output(result)
    return student_output(result, target, seed)


# ---------------------------------------------------------------- tests

def test_numbers(scores: Sequence["CheckScore"]) -> dict[str, str]:
    """"2.5" for the 5th graded check of the 2nd suite: stable whatever applies to a submission."""
    suites: dict[str, int] = {}
    numbers = {}
    for score in scores:
        suite = score.check.suite
        suites.setdefault(suite, 0)
        suites[suite] += 1
        numbers[score.check.id] = f"{list(suites).index(suite) + 1}.{suites[suite]}"
    return numbers


def gradescope_test(result: CheckResult, score: "CheckScore", number: str, target: str, seed: int) -> dict[str, Any]:
    """One entry of results.json "tests" for a check that applies.

    Args:
        result: the check's result.
        score: its CheckScore (points, credit, visibility, feedback).
        number: its test number ("1.3").
    """
    earned = score.credit == CREDIT
    test: dict[str, Any] = {"name": f"{result.id}: {result.title}" if result.title else result.id,
                            "number": number, "tags": [result.suite],
                            "score": score.points if earned else 0, "max_score": score.points,
                            "status": "passed" if earned else "failed"}
    output = test_output(result, score.check.feedback, target, seed)
    if output:
        test["output"] = output
    test["visibility"] = score.check.visibility
    return test


def gradescope_tests(report, scores: Sequence["CheckScore"]) -> list[dict[str, Any]]:
    """The tests of results.json: one per graded check that applies, in rubric order."""
    by_id = {r.id: r for r in report.checks}
    numbers = test_numbers(scores)
    return [gradescope_test(by_id[s.check.id], s, numbers[s.check.id], report.target, report.seed)
            for s in scores if s.credit != NOT_APPLICABLE and s.check.id in by_id]


def hidden_feedback(report, scores: Sequence["CheckScore"]) -> list[str]:
    """Summary lines for the checks a student cannot see yet that did not earn their points.

    A hidden check's details never reach the student; the kind of mistake and the function
    do (feedback full or category), so "hidden" never means "no feedback".
    """
    by_id = {r.id: r for r in report.checks}
    lines = []
    for s in scores:
        hidden = s.check.visibility != "visible"
        if hidden and s.credit not in (CREDIT, NOT_APPLICABLE) and s.check.feedback != "none" and s.check.id in by_id:
            lines.append("hidden check, " + (category_output(by_id[s.check.id]) or mistake_kind(by_id[s.check.id])))
    return lines


def results_dict(report, scores: Sequence["CheckScore"], output: str) -> dict[str, Any]:
    """results.json: the tests, their exact sum as the score, the top-level output and formats."""
    tests = gradescope_tests(report, scores)
    # Shares are whole hundredths (rubric.split_points): this sum is the rubric's arithmetic.
    return {"score": round(sum(t["score"] for t in tests), 2), "output": output,
            "output_format": OUTPUT_FORMAT, "test_output_format": OUTPUT_FORMAT, "tests": tests}


# ---------------------------------------------------------------- `check --format gradescope`

def rubric_from_mapping(rubric: Mapping[str, Any]) -> "Rubric":
    """A Rubric from the older mapping form: {glob: points | {"points", "visibility", "feedback"}}
    or {"checks": {...}, "visibility": default}; ValueError naming the bad entry."""
    from sanitykit.front.grading.rubric import FEEDBACKS, Rubric, Rule

    checks = rubric["checks"] if isinstance(rubric.get("checks"), Mapping) else rubric
    default_visibility = (rubric.get("visibility") if checks is not rubric else None) or "visible"
    rules = []
    for i, (glob, value) in enumerate(checks.items(), 1):
        spec = value if isinstance(value, Mapping) else {"points": value}
        unknown = set(spec) - {"points", "visibility", "feedback"}
        if unknown:
            raise ValueError(f"rubric entry {glob!r}: unknown key {sorted(unknown)[0]!r}; "
                             "expected points, visibility, feedback")
        points = spec.get("points", 1)
        if isinstance(points, bool) or not isinstance(points, (int, float)) or points < 0:
            raise ValueError(f"rubric entry {glob!r}: points must be a number >= 0, not {points!r}")
        for key, choices in (("visibility", VISIBILITIES), ("feedback", FEEDBACKS)):
            if spec.get(key) is not None and spec[key] not in choices:
                raise ValueError(f"rubric entry {glob!r}: {key} {spec[key]!r} is not one of {', '.join(choices)}")
        rules.append(Rule((glob,), float(points), None, spec.get("visibility"), f"entry {i}", spec.get("feedback")))
    return Rubric(tuple(rules), "the rubric", strict=False, visibility=default_visibility)


def report_scores(report, rubric: "Rubric", absent_counts: bool | None = None) -> list["CheckScore"]:
    """Score a report's checks with `rubric`, as `sanitykit grade` scores a submission."""
    from sanitykit.front.grading.rubric import score_checks

    graded = rubric.grade(report.checks)
    results = {r.id: r.to_dict() for r in report.checks}
    counts = rubric.absent_counts if absent_counts is None else absent_counts
    return score_checks(graded, results, "not run", absent_counts=counts)


def gradescope_dict(report, rubric: Mapping[str, Any] | None = None, *,
                    absent_counts: bool | None = None) -> dict[str, Any]:
    """Gradescope's results.json as a dict.

    Args:
        report: a sanitykit.front.report.Report.
        rubric: None for the default rubric of `sanitykit grade`, or a mapping (see
            `rubric_from_mapping`), or a sanitykit.front.grading.rubric.Rubric.
        absent_counts: a check of a function the submission lacks earns 0 instead of not
            applying (default: the rubric's; the default rubric's is False).
    """
    from sanitykit.front.grading.rubric import Rubric, default_rubric

    if rubric is None:
        chosen = default_rubric()
    elif isinstance(rubric, Rubric):
        chosen = rubric
    else:
        chosen = rubric_from_mapping(rubric)
        absent_counts = True if absent_counts is None else absent_counts
    scores = report_scores(report, chosen, absent_counts)
    lines = [submission_output(report), *hidden_feedback(report, scores)]
    results = results_dict(report, scores, "\n".join(lines))
    for key in ("visibility", "stdout_visibility"):
        if isinstance(rubric, Mapping) and isinstance(rubric.get("checks"), Mapping) and rubric.get(key):
            results[key] = rubric[key]
    return results


def submission_output(report) -> str:
    """The text above the tests: the summary, the modules that could not be imported, and
    whether the submission printed while it was checked (a forgotten debugging print)."""
    loading = report.loading or {}
    lines = [f"sanitykit: {summary_line(report.summary)}"]
    if loading.get("candidates"):
        lines.append("warning: " + describe_candidates(loading["candidates"], report.target))
    problems = loading.get("problems") or []
    lines += ["could not import " + describe_problem_group(*group)
              for group in problem_groups(p for p in problems if not is_note(p))]
    lines += ["not checked: " + describe_loading_item(p) for p in problems if is_note(p)]
    if loading.get("printed_at_import"):
        lines.append("note: your code printed " + printed_at_import_line(loading["printed_at_import"]))
    printed = printed_note(report.checks)
    if printed:
        lines.append("note: " + printed.split("; --format json")[0])
    return "\n".join(lines)


def render_gradescope(report, rubric: Mapping[str, Any] | None = None) -> str:
    """results.json text for Gradescope (see `gradescope_dict`)."""
    return json.dumps(gradescope_dict(report, rubric), indent=2) + "\n"
