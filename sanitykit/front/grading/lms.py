"""LMS export: <out>/canvas.csv, a gradebook Canvas imports (Grades > Import).

    Student,ID,SIS User ID,SIS Login ID,Section,<assignment>
    Points Possible,,,,,100
    Alice Doe,1234,s001,alice,CS231n,94.31

Canvas matches rows to students by ID, SIS User ID or SIS Login ID. With a roster (the
gradebook Canvas exports, same columns), each submission is matched to its row: its name
is a student's SIS Login ID, SIS User ID or ID, or holds the ID between underscores (the
names of Canvas's "Download submissions": `doealice_1234_5678_layers.py`). Without a
roster, Student and SIS Login ID are the submission's name (folders named by login).
The assignment column is a new assignment unless named as Canvas names one: "Assignment 2 (5678)".
"""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Sequence

from sanitykit.front.grading.outputs import write_atomic
from sanitykit.front.grading.result import SubmissionResult

CANVAS_FILE = "canvas.csv"
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
DEFAULT_ASSIGNMENT = "sanitykit"


class RosterError(Exception):
    """The roster cannot be read; str() is one line."""


def read_roster(path: Path) -> list[dict[str, str]]:
    """The students of a Canvas gradebook export (its "Points Possible" and test-student rows left out)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as stream:
            rows = list(csv.DictReader(stream))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise RosterError(f"{path}: cannot read the roster ({exc})") from None
    if rows and not {"ID", "SIS Login ID"} & set(rows[0]):
        raise RosterError(f"{path}: not a Canvas gradebook export (no ID or SIS Login ID column)")
    return [r for r in rows if (r.get("Student") or "").strip() not in ("", "Points Possible", "Student, Test")]


def match_student(name: str, roster: Sequence[dict[str, str]]) -> dict[str, str] | None:
    """The roster row of submission `name`, or None (see the module docstring for the rule)."""
    lowered = name.lower()
    for key in ("SIS Login ID", "SIS User ID", "ID"):
        for row in roster:
            if (row.get(key) or "").strip().lower() == lowered:
                return row
    tokens = set(name.split("_"))
    matches = [row for row in roster if (row.get("ID") or "").strip() in tokens]
    return matches[0] if len(matches) == 1 else None


def canvas_rows(results: Sequence[SubmissionResult], roster: Sequence[dict[str, str]] | None,
                assignment: str) -> tuple[list[dict[str, str]], list[str]]:
    """(rows of canvas.csv, submissions the roster does not know)."""
    max_score = max((r.max_score for r in results), default=0.0)
    rows = [{"Student": "Points Possible", **{c: "" for c in CANVAS_COLUMNS[1:]}, assignment: f"{max_score:g}"}]
    unmatched = []
    for r in results:
        student = match_student(r.name, roster) if roster else None
        if roster and student is None:
            unmatched.append(r.name)
        identity = ({c: student.get(c, "") for c in CANVAS_COLUMNS} if student
                    else {"Student": r.name, "ID": "", "SIS User ID": "", "SIS Login ID": r.name, "Section": ""})
        rows.append({**identity, assignment: f"{r.score:g}"})
    return rows, unmatched


def write_canvas_csv(out: Path, results: Sequence[SubmissionResult], roster: Sequence[dict[str, str]] | None = None,
                     assignment: str = DEFAULT_ASSIGNMENT) -> list[str]:
    """Write <out>/canvas.csv; the submissions the roster does not know (written with their name)."""
    rows, unmatched = canvas_rows(results, roster, assignment)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*CANVAS_COLUMNS, assignment], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(out / CANVAS_FILE, buffer.getvalue())
    return unmatched
