"""`sanitykit grade` end to end: a hostile class mixed with correct submissions, reruns, zips, Gradescope.

Every submission is a tiny cs231n/ package on disk, written here. The correct ones
re-export the reference; the hostile ones replace one function (or their import) with
something that crashes, hangs, exits, allocates, prints or tampers. The rubric grades
only the affine layer and the softmax loss, with small limits, to keep the run short.
"""
from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sanitykit.front.cli import app
from sanitykit.front.grading.supervise import TIMEOUT_MESSAGE

RUBRIC = """
[[rule]]
checks = ["layers.affine.interface", "layers.affine.forward", "layers.affine.gradcheck",
          "losses.softmax.value", "losses.softmax.gradcheck"]
points = 2
"""
# The submission limit leaves room for one per-check timeout and a restart of the worker.
LIMITS = ["--timeout", "2", "--submission-timeout", "15", "--memory", "512", "--jobs", "2"]
CORRECT = "from sanitykit.reference.layers import *\n"

# name -> source of cs231n/layers.py
HOSTILE = {
    "hangs": CORRECT + (
        "import time\n"
        "def affine_forward(x, w, b):\n"
        "    while True:  # would swallow an alarm: the worker's parent stops it at --timeout\n"
        "        try:\n"
        "            time.sleep(100)\n"
        "        except BaseException:\n"
        "            pass\n"),
    "hangs_at_import": (
        "import time\n"
        "while True:  # outside any check: only the submission limit stops it\n"
        "    try:\n"
        "        time.sleep(100)\n"
        "    except BaseException:\n"
        "        pass\n"),
    "allocates_10gb": CORRECT + (
        "import numpy as np\n"
        "def affine_forward(x, w, b):\n"
        "    big = np.ones(10 * 2**30 // 8)\n"
        "    return big, None\n"),
    "os_exit": CORRECT + "import os\ndef affine_forward(x, w, b):\n    os._exit(0)\n",
    # posix._exit is os._exit under another name, out of reach of the fences: the process ends.
    "posix_exit": CORRECT + "import posix\ndef affine_forward(x, w, b):\n    posix._exit(0)\n",
    "sys_exit": "import sys\nsys.exit(1)\n" + CORRECT,
    "segfault": CORRECT + "import ctypes\ndef affine_forward(x, w, b):\n    return ctypes.string_at(0), None\n",
    "prints_50mb": ("import os, sys\nprint('x' * 50_000_000)\n"
                    "os.write(1, b'y' * 50_000_000)\n" + CORRECT),
    "reads_stdin": "answer = input('learning rate? ')\n" + CORRECT,
    "deletes_files": ("import os\nhere = os.path.dirname(os.path.abspath(__file__))\n"
                      "for name in os.listdir(here):\n    os.remove(os.path.join(here, name))\n"
                      "for name in os.listdir('.'):\n    os.path.isfile(name) and os.remove(name)\n" + CORRECT),
    "tampers_numpy": ("import numpy as np\nnp.random.seed(123)\n"
                      "np.dot = lambda a, b: 0\nnp.sum = lambda *a, **k: 0\n" + CORRECT),
    "raises_at_import": CORRECT + "raise RuntimeError('half-finished homework')\n",
}


def write_package(root: Path, layers_source: str) -> None:
    """An assignment root: root/cs231n/{__init__,layers}.py."""
    package = root / "cs231n"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "layers.py").write_text(layers_source)


def write_zip(path: Path, members: dict[str, str]) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)


def grade(*args: str):
    return CliRunner().invoke(app, ["grade", *args])


def rows_of(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "class.csv", newline="") as stream:
        return {row["submission"]: row for row in csv.DictReader(stream)}


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """Grade the hostile class once; (result, class folder, out folder, rubric file)."""
    base = tmp_path_factory.mktemp("hostile")
    submissions = base / "class"
    for name, source in HOSTILE.items():
        write_package(submissions / name, source)
    write_package(submissions / "good_root", CORRECT)
    # The cs231n package itself handed in, and a zip that wraps an assignment folder.
    (submissions / "good_package").mkdir()
    (submissions / "good_package" / "__init__.py").write_text("")
    (submissions / "good_package" / "layers.py").write_text(CORRECT)
    write_zip(submissions / "good_zip.zip", {"assignment2/cs231n/__init__.py": "",
                                              "assignment2/cs231n/layers.py": CORRECT})
    (submissions / "not_a_zip.zip").write_bytes(b"this is not a zip file")
    write_zip(submissions / "escapes.zip", {"../../evil.py": "print('escaped')", "cs231n/layers.py": CORRECT})
    rubric = base / "rubric.toml"
    rubric.write_text(RUBRIC)
    out = base / "out"
    result = grade(str(submissions), "--out", str(out), "--rubric", str(rubric), *LIMITS)
    return result, submissions, out, rubric


def test_every_submission_gets_a_row_and_the_run_completes(hostile_run):
    result, submissions, out, _ = hostile_run
    rows = rows_of(out)
    expected = set(HOSTILE) | {"good_root", "good_package", "good_zip", "not_a_zip", "escapes"}
    assert set(rows) == expected, result.output
    for name in expected:
        assert (out / name / "report.json").is_file() and (out / name / "results.json").is_file()
    # Some submissions could not be graded to the end: exit 1, and the summary was printed.
    assert result.exit_code == 1, result.output
    assert "checks most often missed" in result.output


def test_correct_submissions_get_full_marks(hostile_run):
    _, _, out, _ = hostile_run
    rows = rows_of(out)
    for name in ("good_root", "good_package", "good_zip"):
        row = rows[name]
        # 5 rubric checks x 2 points, from the rubric above.
        assert (float(row["score"]), float(row["max_score"])) == (10.0, 10.0), row
        assert row["status"] == "graded" and row["errors"] == "", row


def test_hostile_submissions_get_errors_with_reasons(hostile_run):
    _, _, out, _ = hostile_run
    rows = rows_of(out)
    # A hang inside a check costs that check (the functions it hung in are not called again);
    # a hang outside any check costs the submission.
    assert rows["hangs"]["status"] == "graded"
    assert "stopped after 2 s in affine_forward" in rows["hangs"]["errors"]
    assert rows["hangs_at_import"]["status"] == "error"
    assert TIMEOUT_MESSAGE.format(seconds=15, flag="--submission-timeout") in rows["hangs_at_import"]["errors"]
    assert "ran out of memory at 512 MB (--memory)" in rows["allocates_10gb"]["errors"]
    # os._exit inside a check costs that check only; so does a process exit the fences cannot
    # intercept, or a segfault: the check worker ends, and a fresh one runs the next check.
    assert rows["os_exit"]["status"] == "graded"
    assert "affine_forward called os._exit(0)" in rows["os_exit"]["errors"]
    assert rows["posix_exit"]["status"] == "graded"
    assert "affine_forward ended the process with exit code 0" in rows["posix_exit"]["errors"]
    assert rows["segfault"]["status"] == "graded"
    assert "affine_forward crashed the process: segmentation fault (SIGSEGV)" in rows["segfault"]["errors"]
    assert "sys.exit(1)" in rows["sys_exit"]["errors"]
    assert "EOFError" in rows["reads_stdin"]["errors"]
    assert "RuntimeError: half-finished homework" in rows["raises_at_import"]["errors"]
    assert "replaced numpy.dot" in rows["tampers_numpy"]["errors"]
    assert "printed" in rows["prints_50mb"]["errors"]
    assert "not a readable zip" in rows["not_a_zip"]["errors"]
    assert "unsafe zip" in rows["escapes"]["errors"]
    for name in ("allocates_10gb", "sys_exit", "reads_stdin", "raises_at_import", "os_exit", "posix_exit",
                 "segfault", "hangs", "hangs_at_import"):
        assert float(rows[name]["score"]) < float(rows[name]["max_score"]), name


@pytest.mark.parametrize("name, kind", [("posix_exit", "crashed"), ("segfault", "crashed"), ("hangs", "timeout")])
def test_a_crash_or_a_hang_costs_only_the_check_that_ran(hostile_run, name, kind):
    _, _, out, _ = hostile_run
    report = json.loads((out / name / "report.json").read_text())
    checks = {c["id"]: c for c in report["checks"]}
    assert report["grading"]["status"] == "graded"
    assert (checks["layers.affine.interface"]["status"], checks["layers.affine.interface"]["reason"]["kind"]) == (
        "error", kind)
    assert checks["losses.softmax.value"]["status"] == checks["losses.softmax.gradcheck"]["status"] == "pass"


def test_a_hang_outside_any_check_costs_the_submissions_remaining_checks(hostile_run):
    _, _, out, _ = hostile_run
    report = json.loads((out / "hangs_at_import" / "report.json").read_text())
    assert report["grading"]["status"] == "error"
    not_run = [c for c in report["checks"] if c["message"].startswith("not run: ")]
    assert len(not_run) == len(report["checks"]) == 5
    assert all("per-submission limit" in c["message"] for c in not_run)


def test_tampering_stays_inside_the_submission(hostile_run):
    _, submissions, out, _ = hostile_run
    # Deleting files deleted only the temporary copy; numpy was put back, so the correct
    # code under the tampering still scores fully.
    assert (submissions / "deletes_files" / "cs231n" / "layers.py").read_text().endswith(CORRECT)
    assert not (submissions.parent / "evil.py").exists() and not (out.parent / "evil.py").exists()
    rows = rows_of(out)
    assert float(rows["tampers_numpy"]["score"]) == float(rows["tampers_numpy"]["max_score"])


def test_output_is_captured_and_bounded(hostile_run):
    _, _, out, _ = hostile_run
    report = json.loads((out / "prints_50mb" / "report.json").read_text())
    assert len(report["grading"]["output"]) < 100_000
    # Captured by the fences at import (os.write included), its beginning kept, the rest counted.
    assert report["grading"]["output"].startswith("x" * 1000)
    assert "more characters not kept" in report["grading"]["output"]


def small_class(base: Path) -> tuple[Path, Path, Path]:
    submissions = base / "class"
    write_package(submissions / "ann", CORRECT)
    write_package(submissions / "ben", CORRECT + "def softmax_loss(x, y):\n    return 0.0, x * 0\n")
    rubric = base / "rubric.toml"
    rubric.write_text(RUBRIC)
    return submissions, base / "out", rubric


def test_rerun_skips_unchanged_and_force_redoes(tmp_path):
    submissions, out, rubric = small_class(tmp_path)
    args = [str(submissions), "--out", str(out), "--rubric", str(rubric), *LIMITS]
    first = grade(*args)
    assert first.exit_code == 0, first.output
    scores = {k: r["score"] for k, r in rows_of(out).items()}
    assert float(scores["ann"]) == 10.0 and float(scores["ben"]) < 10.0

    again = grade(*args)
    assert again.exit_code == 0, again.output
    assert again.output.count("unchanged, kept") == 2
    assert {k: r["score"] for k, r in rows_of(out).items()} == scores

    # A changed file regrades that submission only; --force regrades all, with the same scores.
    (submissions / "ben" / "cs231n" / "layers.py").write_text(CORRECT)
    changed = grade(*args)
    assert changed.output.count("unchanged, kept") == 1
    assert float(rows_of(out)["ben"]["score"]) == 10.0
    before = json.loads((out / "ben" / "report.json").read_text())["checks"]
    forced = grade(*args, "--force")
    assert forced.output.count("unchanged, kept") == 0
    assert float(rows_of(out)["ann"]["score"]) == 10.0
    # Same seed, same verdicts and diagnoses.
    after = json.loads((out / "ben" / "report.json").read_text())["checks"]
    assert [(c["id"], c["status"], c["message"]) for c in after] == \
        [(c["id"], c["status"], c["message"]) for c in before]


def test_a_changed_rubric_regrades(tmp_path):
    submissions, out, rubric = small_class(tmp_path)
    args = [str(submissions), "--out", str(out), "--rubric", str(rubric), *LIMITS]
    assert grade(*args).exit_code == 0
    rubric.write_text(RUBRIC.replace("points = 2", "points = 3"))
    result = grade(*args)
    assert result.output.count("unchanged, kept") == 0
    assert float(rows_of(out)["ann"]["max_score"]) == 15.0


def test_gradescope_mode_writes_results_where_gradescope_reads(tmp_path):
    root = tmp_path / "autograder"
    write_package(root / "submission", CORRECT)
    rubric = tmp_path / "rubric.toml"
    rubric.write_text(RUBRIC + '\n[[rule]]\nchecks = "losses.softmax.stability"\npoints = 1\n'
                      'visibility = "hidden"\n')
    result = grade("--gradescope", "--gradescope-root", str(root), "--rubric", str(rubric), *LIMITS)
    assert result.exit_code == 0, result.output
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == sum(t["max_score"] for t in results["tests"]) == 11
    hidden = [t for t in results["tests"] if t.get("visibility") == "hidden"]
    assert [t["name"].split(":")[0] for t in hidden] == ["losses.softmax.stability"]
    # Hidden checks exist: the student never reads "all passed".
    assert "all" not in results["output"].lower() and "hidden" in results["output"]


def test_gradescope_mode_without_a_submission_is_a_usage_error(tmp_path):
    result = grade("--gradescope", "--gradescope-root", str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert "no submission folder" in result.output


def test_rubric_errors_say_where_they_came_from(tmp_path):
    submissions, out, _ = small_class(tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\nchecks = "layers.affine.*"\npoints = "two"\n')
    result = grade(str(submissions), "--out", str(out), "--rubric", str(bad))
    assert result.exit_code == 2
    assert f"rule 1 in {bad}: points must be a number" in result.output
    bad.write_text('[[rule]]\nchecks = "layers.afine.*"\npoints = 1\n')
    result = grade(str(submissions), "--out", str(out), "--rubric", str(bad))
    assert result.exit_code == 2 and "matches no check" in result.output
    assert not out.exists()


def test_print_rubric_shows_the_default(tmp_path):
    result = grade("--print-rubric")
    assert result.exit_code == 0
    assert 'checks = "layers.*"' in result.output and "[[rule]]" in result.output


def test_a_correct_tree_without_optional_functions_gets_full_marks_by_default(tmp_path):
    # Layers and losses only, correct, without leaky_relu/sigmoid/tanh, the fast layers or
    # any model: with the default rubric what it does not have does not apply.
    layers = ("from sanitykit.reference.layers import (affine_forward, affine_backward, relu_forward, "
              "relu_backward, softmax_loss, svm_loss)\n")
    write_package(tmp_path / "class" / "lean", layers)
    out = tmp_path / "out"
    result = grade(str(tmp_path / "class"), "--out", str(out), "--timeout", "20", "--jobs", "1")
    row = rows_of(out)["lean"]
    assert row["status"] == "graded", result.output
    assert float(row["score"]) == float(row["max_score"]) > 0, row
    # The same submission under a rubric that names leaky_relu: absent is zero there.
    rubric = tmp_path / "rubric.toml"
    rubric.write_text('[[rule]]\nchecks = ["layers.affine.*", "layers.leaky_relu.*"]\npoints = 1\n')
    strict_out = tmp_path / "strict"
    grade(str(tmp_path / "class"), "--out", str(strict_out), "--rubric", str(rubric), "--timeout", "20")
    strict = rows_of(strict_out)["lean"]
    assert float(strict["score"]) < float(strict["max_score"]), strict
