"""Regrade history: every run of `sanitykit grade` appends one line to <out>/history.jsonl.

    {"run": "2026-12-02T18:30:00+00:00", "sanitykit": "0.2.0", "rubric": "<sha256>",
     "rubric_source": "rubric.toml", "limits": "<sha256>", "starter": "<sha256 or ''>",
     "submissions": {"alice": {"files": "<sha256>", "score": 9.5, "max_score": 10,
                               "status": "graded", "checks": {"layers.affine.gradcheck": ["fail", 0.0]}}}}

`sanitykit grade --diff` compares, for each student, their last two runs: which checks
changed (status and points) and why, from these fields as data: the student's files
changed, the rubric changed, sanitykit's version changed, the starter or the limits
changed; when none did, the change is the grader's (a time limit met on a busy machine).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from sanitykit._version import __version__
from sanitykit.front.grading.plan import GradingPlan
from sanitykit.front.grading.result import SubmissionResult

HISTORY_FILE = "history.jsonl"
# Why a student's checks changed between two runs, in the order they are told.
CAUSES = (("files", "code changed"), ("rubric", "rubric changed"), ("sanitykit", "sanitykit version changed"),
          ("starter", "starter changed"), ("limits", "limits changed"))
SAME_INPUTS = "same code, rubric and version (a time limit or the machine's load?)"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def run_record(results: Sequence[SubmissionResult], plan: GradingPlan, digests: dict[str, str]) -> dict[str, Any]:
    """One history line: what the run graded with, and each submission's checks.

    Args:
        results: the class, as graded (reused ones included).
        plan: the run's plan.
        digests: submission name -> submissions.content_digest (its files).
    """
    graded = json.dumps([[c.id, c.points, c.visibility, c.feedback] for c in plan.graded])
    return {"run": datetime.now(timezone.utc).isoformat(timespec="seconds"), "sanitykit": __version__,
            "rubric": _sha(plan.rubric.fingerprint_data() + graded), "rubric_source": plan.rubric.source,
            "limits": _sha(json.dumps(plan.limits.fingerprint_data(), sort_keys=True)),
            "starter": plan.starter_digest,
            "submissions": {r.name: {"files": digests.get(r.name, ""), "score": r.score, "max_score": r.max_score,
                                     "status": r.status,
                                     "checks": {s.check.id: [s.status, s.score] for s in r.scores}}
                            for r in results}}


def append_run(out: Path, record: dict[str, Any]) -> Path:
    """Append `record` as one line of <out>/history.jsonl (a line at a time: never half a file)."""
    path = out / HISTORY_FILE
    with open(path, "a", encoding="utf-8") as stream:
        stream.write(json.dumps(record, sort_keys=True) + "\n")
    return path


def read_history(out: Path) -> list[dict[str, Any]]:
    """The runs of <out>/history.jsonl, oldest first; a torn or foreign line is skipped."""
    runs = []
    try:
        lines = (out / HISTORY_FILE).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    for line in lines:
        try:
            run = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(run, dict) and isinstance(run.get("submissions"), dict):
            runs.append(run)
    return runs


@dataclass
class StudentChange:
    """How one student's grade changed between their last two runs.

    Args:
        name: the submission.
        before, after: the scores.
        causes: why, in words (CAUSES), or SAME_INPUTS.
        checks: (check id, status before, status after, points after - before), for changed checks.
        when: (run before, run after) timestamps.
    """

    name: str
    before: float
    after: float
    causes: list[str] = field(default_factory=list)
    checks: list[tuple[str, str, str, float]] = field(default_factory=list)
    when: tuple[str, str] = ("", "")


def _causes(old_run: dict, new_run: dict, old: dict, new: dict) -> list[str]:
    values = {"files": (old.get("files"), new.get("files"))}
    values.update({key: (old_run.get(key), new_run.get(key)) for key, _ in CAUSES if key != "files"})
    return [words for key, words in CAUSES if values[key][0] != values[key][1]] or [SAME_INPUTS]


def changes(runs: Sequence[dict[str, Any]]) -> list[StudentChange]:
    """Per student, what changed between the last two runs that graded them (unchanged students left out)."""
    seen: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        for name in run["submissions"]:
            seen.setdefault(name, []).append(run)
    found = []
    for name in sorted(seen):
        if len(seen[name]) < 2:
            continue
        old_run, new_run = seen[name][-2:]
        old, new = old_run["submissions"][name], new_run["submissions"][name]
        checks = []
        for check_id in dict.fromkeys([*old.get("checks", {}), *new.get("checks", {})]):
            was = old.get("checks", {}).get(check_id, ["not graded", 0.0])
            now = new.get("checks", {}).get(check_id, ["not graded", 0.0])
            if was != now:
                checks.append((check_id, was[0], now[0], round(now[1] - was[1], 2)))
        if checks or old.get("score") != new.get("score"):
            found.append(StudentChange(name, old.get("score", 0.0), new.get("score", 0.0),
                                       _causes(old_run, new_run, old, new), checks,
                                       (old_run.get("run", ""), new_run.get("run", ""))))
    return found


def diff_lines(found: Sequence[StudentChange], students: int) -> list[str]:
    """The --diff text: one block per student whose grade changed, then how many did not."""
    lines = []
    for change in found:
        lines.append(f"{change.name}: {change.before:g} -> {change.after:g} ({'; '.join(change.causes)})")
        for check_id, was, now, points in change.checks:
            lines.append(f"    {check_id:45} {was} -> {now} ({points:+g})")
    lines.append(f"{students - len(found)} of {students} students unchanged")
    return lines
