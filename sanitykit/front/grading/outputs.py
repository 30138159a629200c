"""What grading leaves in --out, and the class-wide numbers; computed here, shown by cli.py.

    <out>/class.csv               submission,score,max_score,status,errors,<one column per suite>
    <out>/<name>/report.json      the DESIGN.md report, plus a "grading" block
    <out>/<name>/results.json     Gradescope's results format
    <out>/<name>/grading.json     fingerprint and statuses, so a rerun can skip the unchanged

Every file is written to a temporary name and renamed into place, so an interrupted
run never leaves half a file.
"""
from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from sanitykit.engine.results import ERROR, FAIL
from sanitykit.front.grading.limits import Limits
from sanitykit.front.grading.result import ERRORED, SubmissionResult
from sanitykit.front.scoring import CREDIT, NOT_APPLICABLE

if TYPE_CHECKING:
    from sanitykit.front.grading.plan import GradingPlan

CSV_COLUMNS = ("submission", "score", "max_score", "status", "errors")
# Gradescope shows this when visible checks all pass but hidden ones exist: never "all passed".
HIDDEN_MESSAGE = ("{passed} of {visible} visible checks passed. {hidden} more checks are hidden "
                  "from you for now; they count toward your score.")
ALL_VISIBLE_MESSAGE = "All {visible} checks passed."
SOME_MESSAGE = "{passed} of {visible} visible checks passed."
STOPPED_MESSAGE = "Grading of your submission stopped early: {reasons}"


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file and a rename (never half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def grading_block(result: SubmissionResult, limits: Limits) -> dict[str, Any]:
    """The "grading" block of report.json: status, reasons, points and the limits used."""
    return {"status": result.status, "reasons": list(result.reasons), "score": result.score,
            "max_score": result.max_score, "suite_scores": result.suite_scores(),
            "limits": {"timeout_s": limits.check_timeout, "submission_timeout_s": limits.submission_timeout,
                       "memory_mb": limits.memory_mb, "seed": limits.seed},
            "duration_s": round(result.duration_s, 2), "output": result.output}


# ---------------------------------------------------------------- Gradescope

def gradescope_results(result: SubmissionResult) -> dict[str, Any]:
    """Gradescope's results.json for one submission: a test per graded check that applies.

    The tests come from the library's renderer (render/gradescope.py) with this rubric's
    points, visibility and feedback; the top-level output is ours, so that hidden checks are
    never summed into an "all passed", and say the kind of mistake they found.

    Args:
        result: the graded submission (its report holds every graded check).
    """
    from sanitykit.front.render.gradescope import hidden_feedback, results_dict
    from sanitykit.front.report import Report

    report = Report.from_dict(result.report)
    output = "\n".join([student_summary(result), *hidden_feedback(report, result.scores)])
    results = results_dict(report, result.scores, output)
    results["stdout_visibility"] = "hidden"
    results["execution_time"] = int(round(result.duration_s))  # whole seconds (Gradescope's optional field)
    return results


def staff_notes(result: SubmissionResult) -> str:
    """The full diagnoses of the checks students get less of (feedback category or none).

    `grade --gradescope` prints them on stdout, which Gradescope shows to the course staff
    only (stdout_visibility hidden): the staff keep what the students do not see.
    """
    lines = []
    for s in result.missed():
        if s.check.feedback != "full":
            lines += [f"{s.check.id} ({s.status}, feedback {s.check.feedback} for students):",
                      *("    " + line for line in s.message.splitlines())]
    return "\n".join(lines)


def student_summary(result: SubmissionResult) -> str:
    """The top line a student reads; it never says "all passed" while hidden checks exist."""
    # Counted as the tests read: a check that does not apply to this submission (no
    # TwoLayerNet in 2023) is neither passed nor missed, and a credited skip is passed.
    applicable = [s for s in result.scores if s.credit != NOT_APPLICABLE]
    visible = [s for s in applicable if s.check.visibility == "visible"]
    passed = sum(s.credit == CREDIT for s in visible)
    hidden = len(applicable) - len(visible)
    if hidden:
        line = HIDDEN_MESSAGE.format(passed=passed, visible=len(visible), hidden=hidden)
    elif passed == len(visible):
        line = ALL_VISIBLE_MESSAGE.format(visible=len(visible))
    else:
        line = SOME_MESSAGE.format(passed=passed, visible=len(visible))
    if result.status == ERRORED:
        return STOPPED_MESSAGE.format(reasons="; ".join(result.reasons)) + "\n" + line
    # Import problems and the like: a student needs them to understand the errors below.
    return "\n".join([line, *result.reasons])


# ---------------------------------------------------------------- per submission

def write_submission(out: Path, result: SubmissionResult, plan: "GradingPlan") -> None:
    """Write report.json, results.json and grading.json of one submission (grading.json last).

    grading.json goes last: a run stopped in between leaves no fingerprint, so the rerun redoes it.
    """
    folder = out / result.name
    write_atomic(folder / "report.json", json.dumps(result.report, indent=2))
    write_atomic(folder / "results.json", json.dumps(gradescope_results(result), indent=2))
    stored = {"fingerprint": result.fingerprint, "status": result.status, "reasons": result.reasons,
              "score": result.score, "max_score": result.max_score,
              "checks": {s.check.id: [s.status, s.message[:500], s.credit, s.reason_kind]
                         for s in result.scores}}
    write_atomic(folder / "grading.json", json.dumps(stored, indent=2))


def load_stored(out: Path, name: str) -> dict[str, Any] | None:
    """A previous run's grading.json for `name`, when it and its outputs are all there."""
    folder = out / name
    if not all((folder / f).is_file() for f in ("report.json", "results.json", "grading.json")):
        return None
    try:
        stored = json.loads((folder / "grading.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    needed = {"fingerprint", "status", "reasons", "checks"}
    return stored if isinstance(stored, dict) and needed <= set(stored) else None


# ---------------------------------------------------------------- the class

def class_rows(results: Sequence[SubmissionResult], suites: Sequence[str]) -> list[dict[str, Any]]:
    """One class.csv row per submission: the fixed columns, then a score per suite."""
    rows = []
    for r in results:
        per_suite = r.suite_scores()
        rows.append({"submission": r.name, "score": r.score, "max_score": r.max_score, "status": r.status,
                     "errors": r.error_summary(), **{s: per_suite.get(s, 0.0) for s in suites}})
    return rows


def write_class_csv(out: Path, results: Sequence[SubmissionResult], plan: "GradingPlan") -> Path:
    """Write <out>/class.csv (DESIGN.md columns, then one score column per suite)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*CSV_COLUMNS, *plan.suites], lineterminator="\n")
    writer.writeheader()
    writer.writerows(class_rows(results, plan.suites))
    path = out / "class.csv"
    write_atomic(path, buffer.getvalue())
    return path


def histogram(results: Sequence[SubmissionResult], bins: int = 10) -> list[tuple[float, float, int]]:
    """Counts of scores as a percentage of the maximum, in `bins` equal bins: (low %, high %, count).

    Args:
        results: the class.
        bins: number of bins over 0..100 % (default 10); 100 % falls in the last.
    """
    counts = [0] * bins
    for r in results:
        fraction = r.score / r.max_score if r.max_score else 0.0
        counts[min(bins - 1, int(fraction * bins))] += 1
    width = 100 / bins
    return [(round(i * width, 1), round((i + 1) * width, 1), n) for i, n in enumerate(counts)]


def most_failed(results: Sequence[SubmissionResult], limit: int = 10) -> list[tuple[str, int, int]]:
    """The checks most often failed or errored across the class: (check id, failed, errored).

    A check not run because its submission's process stopped says nothing about the
    topic, so it is not counted.

    Args:
        results: the class.
        limit: how many to return (default 10).
    """
    failed: Counter[str] = Counter()
    errored: Counter[str] = Counter()
    for r in results:
        for s in r.scores:
            if s.status == FAIL:
                failed[s.check.id] += 1
            elif s.status == ERROR and s.reason_kind != "not_run":
                errored[s.check.id] += 1
    ids = sorted(set(failed) | set(errored), key=lambda i: (-(failed[i] + errored[i]), i))
    return [(i, failed[i], errored[i]) for i in ids[:limit]]
