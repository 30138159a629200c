"""`--starter DIR`: the course's files laid first, the student's on top, for `grade` and `check`.

The course tree is tests/assets/assignment (cs231n/ with layers, layer_utils, optim,
classifiers/fc_net); the students edit layers.py, optim.py and classifiers/fc_net.py.
"""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from sanitykit.front.cli import app
from sanitykit.front.starter import lay_starter, placements, tree_files

ASSIGNMENT = Path(__file__).parent / "assets" / "assignment"
EDITED = ("cs231n/layers.py", "cs231n/optim.py", "cs231n/classifiers/fc_net.py")
# An instructor's rubric: a function the upload lacks (affine_relu_forward, from the course's
# layer_utils.py) earns 0.
RUBRIC = """
[[rule]]
checks = ["layers.affine.*", "layers.relu.*", "layers.affine_relu.*", "optim.sgd.*"]
points = 1
"""


def flat_upload(folder: Path) -> Path:
    """Only the three edited files, side by side, as students upload them to Gradescope."""
    folder.mkdir(parents=True)
    for rel in EDITED:
        shutil.copy(ASSIGNMENT / rel, folder / Path(rel).name)
    return folder


def course_starter(folder: Path) -> Path:
    """The course's handout: the whole tree, with the students' files as stubs."""
    shutil.copytree(ASSIGNMENT, folder)
    for rel in EDITED:
        (folder / rel).write_text("def affine_forward(x, w, b):\n    raise NotImplementedError\n")
    return folder


def rows_of(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "class.csv", newline="") as stream:
        return {row["submission"]: row for row in csv.DictReader(stream)}


def test_flat_files_find_their_places_in_the_starter_tree():
    starter = ["cs231n/__init__.py", "cs231n/layers.py", "cs231n/layer_utils.py",
               "cs231n/classifiers/__init__.py", "cs231n/classifiers/fc_net.py"]
    assert placements(["layers.py", "fc_net.py", "my_helpers.py"], starter) == {
        "layers.py": "cs231n/layers.py", "fc_net.py": "cs231n/classifiers/fc_net.py",
        "my_helpers.py": "cs231n/my_helpers.py"}
    # The cs231n package itself, and an assignment folder wrapped one level deeper.
    assert placements(["layers.py", "classifiers/fc_net.py"], starter)["classifiers/fc_net.py"] == \
        "cs231n/classifiers/fc_net.py"
    assert placements(["a2/cs231n/layers.py", "a2/cs231n/classifiers/fc_net.py"], starter) == {
        "a2/cs231n/layers.py": "cs231n/layers.py",
        "a2/cs231n/classifiers/fc_net.py": "cs231n/classifiers/fc_net.py"}
    # The same tree: every file stays where it is.
    assert placements(starter, starter) == {f: f for f in starter}


def test_the_layering_says_which_files_came_from_the_starter(tmp_path):
    starter = course_starter(tmp_path / "course")
    layering = lay_starter(starter, flat_upload(tmp_path / "alice"), tmp_path / "laid")
    assert set(layering.from_starter) == {"cs231n/__init__.py", "cs231n/layer_utils.py",
                                          "cs231n/classifiers/__init__.py"}
    assert set(layering.replaced) == set(EDITED)
    for rel in EDITED:  # the student's file, not the stub, is what was laid
        assert (tmp_path / "laid" / rel).read_text() == (ASSIGNMENT / rel).read_text()
    assert set(tree_files(tmp_path / "laid")) == set(tree_files(ASSIGNMENT))


def test_a_flat_upload_with_the_starter_grades_like_the_full_tree(tmp_path):
    submissions = tmp_path / "class"
    shutil.copytree(ASSIGNMENT, submissions / "full")
    flat_upload(submissions / "flat")
    flat_upload(tmp_path / "alone" / "flat")
    rubric = tmp_path / "rubric.toml"
    rubric.write_text(RUBRIC)
    starter = course_starter(tmp_path / "course")

    runner = CliRunner()
    with_starter = runner.invoke(app, ["grade", str(submissions), "--out", str(tmp_path / "out"),
                                       "--rubric", str(rubric), "--starter", str(starter), "--jobs", "2"])
    assert with_starter.exit_code == 0, with_starter.output
    alone = runner.invoke(app, ["grade", str(tmp_path / "alone"), "--out", str(tmp_path / "out_alone"),
                                "--rubric", str(rubric), "--jobs", "1"])
    rows, rows_alone = rows_of(tmp_path / "out"), rows_of(tmp_path / "out_alone")
    # The full tree overrides every starter file, so it is graded as itself.
    assert rows["flat"]["score"] == rows["full"]["score"]
    assert rows["flat"]["max_score"] == rows["full"]["max_score"]
    # Without the starter, the course's affine_relu_forward is missing: it scores less.
    assert float(rows_alone["flat"]["score"]) < float(rows["flat"]["score"]), alone.output
    report = json.loads((tmp_path / "out" / "flat" / "report.json").read_text())
    assert "cs231n/layer_utils.py" in report["loading"]["starter"]["files"]


def test_check_with_starter_reports_like_the_full_tree(tmp_path):
    starter = course_starter(tmp_path / "course")
    flat = flat_upload(tmp_path / "flat")
    runner = CliRunner()
    laid = runner.invoke(app, ["check", str(flat), "--starter", str(starter), "--format", "json",
                               "--suite", "layers", "--suite", "models"])
    full = runner.invoke(app, ["check", str(ASSIGNMENT), "--format", "json", "--suite", "layers",
                               "--suite", "models"])
    laid_report, full_report = json.loads(laid.stdout), json.loads(full.stdout)
    assert laid.exit_code == full.exit_code
    assert laid_report["summary"] == full_report["summary"]
    assert laid_report["target"] == str(flat)
    assert laid_report["loading"]["starter"]["placed"]["fc_net.py"] == "cs231n/classifiers/fc_net.py"


def test_a_starter_that_is_not_a_folder_is_a_command_line_error(tmp_path):
    result = CliRunner().invoke(app, ["grade", str(tmp_path), "--starter", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "--starter must be a folder" in result.output


def test_check_with_a_missing_starter_exits_2(tmp_path):
    result = CliRunner().invoke(app, ["check", str(flat_upload(tmp_path / "f")), "--starter",
                                      str(tmp_path / "nope")])
    assert result.exit_code == 2, result.output
    assert "starter must be a folder" in result.output
