"""Trees that used to pass silently (issue 19): the exit code and the report tell the truth.

Each tree in tests/assets/hostile/ (README.md there says what each holds) goes through the real
command line: undecodable files are errors naming the file and what is in it, blame at import goes
to the file that failed, several packages are named, student text never reaches the terminal raw,
and code written for NumPy 1 is told so.
"""
from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

from sanitykit.front.cli import app
from sanitykit.front.runner import check

HOSTILE = Path(__file__).parent / "assets" / "hostile"
AFFINE = "layers.affine.*"


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def json_report(tree: str, *only: str) -> tuple[int, dict]:
    result = invoke("check", HOSTILE / tree, "--format", "json", *[a for o in only for a in ("--only", o)])
    return result.exit_code, json.loads(result.stdout)


def problems_by_module(report: dict) -> dict[str, dict]:
    return {p["module"]: p for p in report["loading"]["problems"]}


# ---------------------------------------------------------------- decoding

@pytest.mark.parametrize("tree, line, found", [
    ("utf16", 1, "saved as UTF-16 (it starts with a UTF-16 byte-order mark)"),
    ("utf16_no_bom", 1, "UTF-16 text without a byte-order mark"),
    ("nul_byte", 16, "binary data (a NUL byte on line 16"),
    ("latin1", 6, "byte 0xe9 on line 6 is not UTF-8"),
])
def test_an_undecodable_layers_py_is_an_error_naming_the_file_and_what_is_in_it(tree, line, found):
    code, report = json_report(tree, AFFINE)

    assert code == 1
    problem = problems_by_module(report)["cs231n.layers"]
    assert (problem["file"], problem["line"], problem.get("unreadable")) == ("cs231n/layers.py", line, True)
    assert found in problem["message"]
    assert report["summary"]["error"] == 4 and report["summary"]["pass"] == 0
    for result in report["checks"]:
        assert result["reason"]["kind"] == "import_failed"
        assert "cs231n/layers.py" in result["message"]


def test_a_latin1_byte_is_blamed_on_the_file_that_has_it_not_on_its_importers():
    _, report = json_report("latin1", AFFINE)

    files = {p["file"] for p in report["loading"]["problems"]}
    assert files == {"cs231n/layers.py"}
    importers = problems_by_module(report)
    assert importers["cs231n.classifiers.fc_net"]["imported_by"] == ["cs231n/classifiers/fc_net.py"]
    assert importers["cs231n.layer_utils"]["imported_by"] == ["cs231n/layer_utils.py"]


def test_a_binary_layers_py_makes_the_missing_names_errors_not_skips():
    # Nothing of it can be read, so nothing says affine_forward is absent: "not found" would be a guess.
    code, report = json_report("binary", AFFINE)

    assert code == 1
    assert {c["status"] for c in report["checks"]} == {"error"}
    assert all("cs231n/layers.py:1 may define it" in c["message"] for c in report["checks"])


@pytest.mark.parametrize("tree", ["coding_line", "utf8_bom"])
def test_a_coding_line_and_a_utf8_bom_are_read_by_pythons_rules(tree):
    code, report = json_report(tree, AFFINE)

    assert code == 0, report["loading"]["problems"]
    assert report["loading"]["problems"] == []
    assert report["summary"]["pass"] == 4


def test_a_tree_of_which_nothing_can_be_read_exits_2_naming_the_file():
    result = invoke("check", HOSTILE / "all_utf16")

    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert "cs231n/layers.py" in result.stderr and "UTF-16" in result.stderr
    assert result.stderr.count("\n") == 1


def readable_twin(tree: Path, dest: Path) -> Path:
    """A copy of `tree` with its UTF-16 layers.py saved as UTF-8: what the student meant."""
    shutil.copytree(tree, dest)
    layers = dest / "cs231n" / "layers.py"
    layers.write_text(layers.read_bytes().decode("utf-16"), encoding="utf-8")
    return dest


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    base = tmp_path_factory.mktemp("class")
    submissions = base / "submissions"
    submissions.mkdir()
    shutil.copytree(HOSTILE / "utf16", submissions / "ann")
    readable_twin(HOSTILE / "utf16", submissions / "ann_twin")
    shutil.copytree(HOSTILE / "all_utf16", submissions / "bob")
    readable_twin(HOSTILE / "all_utf16", submissions / "bob_twin")
    result = CliRunner().invoke(app, ["grade", str(submissions), "--out", str(base / "out"), "--jobs", "2"])
    with open(base / "out" / "class.csv", newline="") as table:
        rows = {row["submission"]: row for row in csv.DictReader(table)}
    return result, rows, base / "out"


def test_grade_never_grades_an_unreadable_submission(graded_class):
    result, rows, _ = graded_class

    assert result.exit_code == 1, result.output  # some submission could not be graded
    for name in ("ann", "bob"):
        assert rows[name]["status"] == "error"
        assert "cs231n/layers.py" in rows[name]["errors"] and "UTF-16" in rows[name]["errors"]
    assert rows["ann_twin"]["status"] == rows["bob_twin"]["status"] == "graded"


def test_an_unreadable_submission_keeps_the_max_score_of_what_was_meant(graded_class):
    _, rows, _ = graded_class

    assert float(rows["ann"]["max_score"]) == float(rows["ann_twin"]["max_score"]) > 0
    assert float(rows["bob"]["max_score"]) >= float(rows["bob_twin"]["max_score"]) > 0


def test_gradescope_tells_the_student_the_file_was_not_read(graded_class):
    _, _, out = graded_class

    for name in ("ann", "bob"):
        results = json.loads((out / name / "results.json").read_text())
        assert "All 0" not in results["output"]
        assert "UTF-16" in results["output"]
        assert sum(t["max_score"] for t in results["tests"]) > 0


# ---------------------------------------------------------------- blame at import

def test_sys_exit_in_layers_py_is_blamed_on_layers_py_once():
    result = invoke("check", HOSTILE / "exit_at_import", "--only", AFFINE, "--only", "models.two_layer_net.*")

    assert result.exit_code == 1, result.output
    header = result.stdout.split("\nlayers")[0]
    assert header.count("called sys.exit(3)") == 1
    assert "cs231n/layers.py:3: called sys.exit(3) at import" in header
    for innocent in ("cs231n/classifiers/__init__.py:", "cs231n/classifiers/fc_net.py:", "cs231n/layer_utils.py:"):
        assert innocent not in header


def test_a_module_failing_because_of_its_import_names_the_chain():
    _, report = json_report("exit_at_import", "models.two_layer_net.*")

    problems = problems_by_module(report)
    assert {p["file"] for p in problems.values()} == {"cs231n/layers.py"}
    assert "imported_by" not in problems["cs231n.layers"]
    two_layer = [c for c in report["checks"] if c["status"] == "error"]
    assert two_layer, report["checks"]
    assert all("cs231n/layers.py:3 (imported by cs231n/classifiers/fc_net.py)" in c["message"] for c in two_layer)


def test_numpy_replaced_at_import_is_blamed_on_the_module_that_replaced_it():
    _, report = json_report("numpy_patch_at_import", AFFINE)

    [restored] = report["loading"]["numpy_restored"]
    assert restored.startswith("cs231n/layers.py replaced numpy.sum")


# ---------------------------------------------------------------- several packages

def test_several_course_packages_are_named_with_how_to_choose():
    _, report = json_report("attempts", AFFINE)
    text = invoke("check", HOSTILE / "attempts", "--only", AFFINE).stdout

    assert report["loading"]["candidates"] == {"chosen": "attempt1/cs231n",
                                               "found": ["attempt1/cs231n", "attempt2/cs231n"]}
    header = " ".join(text.split("\nlayers")[0].split())  # unwrapped
    assert "warning: 2 course packages in this folder: attempt1/cs231n (checked), attempt2/cs231n" in header
    command = f"sanitykit check {HOSTILE / 'attempts' / 'attempt2'}"
    assert command in header
    chosen = invoke(*command.split()[1:], "--only", AFFINE, "--format", "json")
    assert json.loads(chosen.stdout)["loading"]["source"].endswith("attempt2/")
    assert "candidates" not in json.loads(chosen.stdout)["loading"]


# ---------------------------------------------------------------- terminal hygiene

ESCAPES = ("\x1b", "\x07", "\x9b", "\r")


def test_no_escape_sequence_of_the_students_reaches_the_plain_report():
    result = invoke("check", HOSTILE / "escapes", "--only", AFFINE)

    assert result.exit_code == 1, result.output
    assert not [c for c in ESCAPES if c in result.stdout]
    assert "\\x1b[31mred\\x1b[0m" in result.stdout  # spelled out, so the student sees what is there


def test_no_escape_sequence_of_the_students_reaches_a_colour_terminal():
    report = check(str(HOSTILE / "escapes"), only=[AFFINE])
    console = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor", width=100)
    console.print(report)
    shown = console.file.getvalue()

    # rich's own colours are `ESC [ ... m`; the student's screen clear, title and bell are not there.
    for planted in ("\x1b[2J", "\x1b]0;", "\x07", "\x1b[31mred"):
        assert planted not in shown


def test_a_target_name_with_escapes_is_spelled_out_on_stderr(tmp_path):
    result = invoke("check", tmp_path / "evil\x1b]0;owned\x07name")

    assert result.exit_code == 2
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert "evil\\x1b]0;owned\\x07name" in result.stderr


def test_output_at_import_is_summarised_in_text_json_and_gradescope():
    text = invoke("check", HOSTILE / "prints_at_import", "--only", "layers.relu.*").stdout
    code, report = json_report("prints_at_import", "layers.relu.*")
    gradescope = json.loads(invoke("check", HOSTILE / "prints_at_import", "--only", "layers.relu.*",
                                   "--format", "gradescope").stdout)

    assert code == 0
    printed = report["loading"]["printed_at_import"]
    assert printed["characters"] == 100000 * len("epoch     0: loss 2.302585\n")
    assert printed["first_lines"][0] == "epoch     0: loss 2.302585"
    assert "printed: 2.6 MB at import; first lines: 'epoch" in text
    assert "your code printed 2.6 MB at import" in gradescope["output"]


def test_printing_escapes_at_import_is_summarised_spelled_out():
    text = invoke("check", HOSTILE / "escapes", "--only", AFFINE).stdout

    assert "at import; first lines: '\\x1b[2J\\x1b]0;owned\\x07hello from layers'" in " ".join(text.split())


# ---------------------------------------------------------------- NumPy 1 code on NumPy 2

needs_numpy2 = pytest.mark.skipif(int(np.__version__.split(".")[0]) < 2, reason="NumPy 2 behaviour")


@needs_numpy2
def test_numpy1_code_gets_the_one_line_fix_and_the_installed_version():
    code, report = json_report("numpy1", "layers.affine.gradcheck", "layers.relu.interface")

    assert code == 1
    hints = {c["id"]: c["hint"] for c in report["checks"]}
    assert f"NumPy {np.__version__}" in hints["layers.affine.gradcheck"]
    assert "write float instead of np.float" in hints["layers.affine.gradcheck"]
    assert "write np.prod instead of np.product" in hints["layers.relu.interface"]


@needs_numpy2
def test_numpy1_code_at_import_says_so_in_the_problem():
    _, report = json_report("numpy1_at_import", AFFINE)

    [problem] = report["loading"]["problems"]
    assert (problem["file"], problem["line"]) == ("layers.py", 3)
    assert "write float instead of np.float" in problem["message"]
    assert f"NumPy {np.__version__}" in problem["message"]

