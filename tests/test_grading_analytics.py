"""What `sanitykit grade` writes about the class: summary.json/html, history.jsonl and --diff, canvas.csv.

A small class graded once with the CLI: two students divide dw by N again, one flips the
sign of relu_backward, one is correct, one hands in a broken zip.
"""
from __future__ import annotations

import csv
import json
import re
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sanitykit.engine.patterns import PATTERNS
from sanitykit.front.cli import app
from sanitykit.front.grading.lms import CANVAS_COLUMNS

CORRECT = "from sanitykit.reference.layers import *\nimport sanitykit.reference.layers as _ref\n"
DW_OVER_N = CORRECT + ("def affine_backward(dout, cache):\n"
                       "    dx, dw, db = _ref.affine_backward(dout, cache)\n"
                       "    return dx, dw / dout.shape[0], db\n")
RELU_SIGN = CORRECT + "def relu_backward(dout, cache):\n    return -_ref.relu_backward(dout, cache)\n"
CLASS = {"ann": DW_OVER_N, "ben": DW_OVER_N, "cat": RELU_SIGN, "dan": CORRECT}
RUBRIC = '[[rule]]\nchecks = ["layers.affine.*", "layers.relu.*"]\npoints = 1\n'
ROSTER = ("Student,ID,SIS User ID,SIS Login ID,Section\n"
          "Points Possible,,,,\n"
          "\"Doe, Ann\",101,s101,ann,A\n"
          "\"Roe, Ben\",102,s102,ben,A\n"
          "\"Poe, Cat\",103,s103,cat,B\n")


def write_class(folder: Path, sources: dict[str, str]) -> None:
    for name, layers in sources.items():
        (folder / name / "cs231n").mkdir(parents=True, exist_ok=True)
        (folder / name / "cs231n" / "__init__.py").write_text("")
        (folder / name / "cs231n" / "layers.py").write_text(layers)


def grade(*args: str):
    return CliRunner().invoke(app, ["grade", *args])


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("analytics")
    write_class(base / "class", CLASS)
    (base / "class" / "eve.zip").write_bytes(b"not a zip")
    (base / "rubric.toml").write_text(RUBRIC)
    (base / "roster.csv").write_text(ROSTER)
    result = grade(str(base / "class"), "--out", str(base / "out"), "--rubric", str(base / "rubric.toml"),
                   "--jobs", "2", "--roster", str(base / "roster.csv"), "--assignment-name", "A2 (77)")
    assert result.exit_code == 1, result.output  # eve could not be graded
    return base, result


def reports_of(out: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/report.json")}


def test_the_summary_counts_the_patterns_the_reports_diagnosed(graded):
    base, _ = graded
    summary = json.loads((base / "out" / "summary.json").read_text())
    expected: Counter = Counter()
    for report in reports_of(base / "out").values():
        found = {(c["subject"], c["diagnosis"]["pattern"]) for c in report["checks"] if c.get("diagnosis")}
        expected.update(found)
    counted = {(p["subject"], p["pattern"]): p["submissions"] for p in summary["patterns"]}
    assert counted == dict(expected)
    assert counted[("affine_backward", "batch_size")] == 2
    batch = next(p for p in summary["patterns"] if p["pattern"] == "batch_size")
    assert batch["percent"] == round(100 * 2 / len(reports_of(base / "out")), 1)
    assert batch["meaning"] == PATTERNS["batch_size"]


def test_the_summary_has_pass_rates_histogram_and_the_ungraded(graded):
    base, result = graded
    summary = json.loads((base / "out" / "summary.json").read_text())
    assert (summary["submissions"], summary["graded"]) == (5, 4)
    gradcheck = next(c for c in summary["checks"] if c["id"] == "layers.affine.gradcheck")
    assert (gradcheck["fail"], gradcheck["pass"]) == (2, 2)
    assert sum(b["count"] for b in summary["score"]["histogram"]) == 5
    assert [f["submission"] for f in summary["not_graded"]] == ["eve"]
    assert {s["submission"] for s in summary["slowest"]} <= set(CLASS) | {"eve"}
    page = (base / "out" / "summary.html").read_text()
    assert PATTERNS["batch_size"] in page and "eve" in page
    assert f"{PATTERNS['batch_size']} in affine_backward: 40%" in result.output


def test_canvas_csv_matches_the_roster_and_keeps_the_unknown(graded):
    base, result = graded
    with open(base / "out" / "canvas.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0]) == [*CANVAS_COLUMNS, "A2 (77)"]
    with open(base / "out" / "class.csv", newline="") as stream:
        class_rows = list(csv.DictReader(stream))
    scores = {r["submission"]: r["score"] for r in class_rows}
    assert rows[0]["Student"] == "Points Possible"
    assert float(rows[0]["A2 (77)"]) == max(float(r["max_score"]) for r in class_rows)
    by_login = {r["SIS Login ID"]: r for r in rows[1:]}
    assert by_login["ann"]["ID"] == "101" and by_login["ann"]["Student"] == "Doe, Ann"
    assert all(float(by_login[n]["A2 (77)"]) == float(scores[n]) for n in CLASS)
    # dan and eve are not in the roster: written under their own names, and said so.
    assert by_login["dan"]["ID"] == "" and "not in the roster" in result.output


def test_diff_says_which_checks_changed_and_why(tmp_path):
    write_class(tmp_path / "class", {"ann": DW_OVER_N, "ben": CORRECT})
    rubric = tmp_path / "rubric.toml"
    rubric.write_text(RUBRIC)
    common = ["--out", str(tmp_path / "out"), "--rubric", str(rubric), "--jobs", "1"]
    assert grade(str(tmp_path / "class"), *common).exit_code == 0
    write_class(tmp_path / "class", {"ann": CORRECT})  # ann fixes her bug
    again = grade(str(tmp_path / "class"), *common, "--diff")
    assert again.exit_code == 0, again.output
    before, after = map(float, re.search(r"ann: ([\d.]+) -> ([\d.]+) \(code changed\)", again.output).groups())
    assert after == before + 1  # the one gradient check she fixed
    assert "layers.affine.gradcheck" in again.output and "fail -> pass (+1)" in again.output
    diff = again.output.split("changes since the previous run")[1]
    assert "ben:" not in diff and "1 of 2 students unchanged" in diff
    # A new rubric: every student's points change, and the rubric is named as the cause.
    rubric.write_text(RUBRIC.replace("points = 1", "points = 2"))
    assert grade(str(tmp_path / "class"), *common).exit_code == 0
    shown = grade("--diff", "--out", str(tmp_path / "out"))
    assert shown.exit_code == 0, shown.output
    before, after = map(float, re.search(r"ben: ([\d.]+) -> ([\d.]+) \(rubric changed\)", shown.output).groups())
    assert after == 2 * before
    runs = (tmp_path / "out" / "history.jsonl").read_text().splitlines()
    assert len(runs) == 3


def test_diff_without_two_runs_is_a_command_line_error(tmp_path):
    result = grade("--diff", "--out", str(tmp_path))
    assert result.exit_code == 2 and "needs two runs" in result.output
