"""Assignments 1 and 3 as students hand them in: trees of several course years, a tree holding all
three assignments, partial uploads, the demo, and grading.

The trees under assets/course/ were written for these tests from the course's API of each year:
- a1_2016: Python 2 (xrange, print statements), 0.5 * reg * sum(W**2) with gradient reg * W,
  a no-loops distance through np.matrix, the two-layer net in classifiers/neural_net.py;
- a1_2019: `past.builtins`, reg * sum(W**2) with gradient 2 * reg * W, np.linalg.norm distances,
  ties broken by hand, the 2019 neural_net.py;
- a3_2016: Python 2 with the course's `if verbose: print ...`, layers.py beside rnn_layers.py,
  caches as dicts, a sampler through a (N, 1) word array;
- a3_2021: affine_forward inside rnn_layers.py, `from ..rnn_layers import *`, np.hsplit gates.
Every tree is correct: no check may fail or error on it.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sanitykit.front.cli import app
from sanitykit.front.course import CourseTarget
from sanitykit.front.loading import load_target
from sanitykit.front.runner import check

ASSETS = Path(__file__).parent / "assets"
COURSE = ASSETS / "course"
TREES = {"a1_2016": ("linear", "knn", "models"), "a1_2019": ("linear", "knn", "models"),
         "a3_2016": ("rnn", "models", "layers", "losses", "optim"), "a3_2021": ("rnn", "models", "layers", "optim")}


def alarms(report) -> list[tuple[str, str]]:
    return [(c.id, c.message) for c in report.checks if c.status in ("fail", "error")]


@pytest.fixture(scope="module")
def reports():
    return {name: check(COURSE / name, suites=suites) for name, suites in TREES.items()}


@pytest.mark.parametrize("tree", TREES)
def test_a_correct_tree_of_each_year_raises_no_alarm(reports, tree):
    report = reports[tree]
    assert alarms(report) == []
    assert not [p for p in report.loading["problems"] if not p.get("note")]  # only helpers needing h5py, scipy...


def test_every_check_of_the_assignment_runs_on_its_trees(reports):
    for tree in ("a1_2016", "a1_2019"):
        passed = {c.id.rsplit(".", 1)[0] for c in reports[tree].checks if c.status == "pass"}
        assert {"linear.svm_naive", "linear.softmax_vectorized", "linear.classifier", "knn.no_loops",
                "knn.predict_labels", "models.two_layer_net"} <= passed, tree
    for tree in ("a3_2016", "a3_2021"):
        rnn = [c for c in reports[tree].checks if c.suite == "rnn" or c.id.startswith("models.captioning_rnn")]
        assert [c.id for c in rnn if c.status != "pass"] == [], tree


def test_conventions_are_measured_per_year(reports):
    assert reports["a1_2016"].loading["conventions"]["linear_reg"] == 0.5
    assert reports["a1_2019"].loading["conventions"]["linear_reg"] == 1.0
    assert reports["a1_2016"].loading["conventions"]["two_layer_net"] == "assignment1"
    assert reports["a3_2016"].loading["conventions"]["captioning_dtype"] == "float32"
    assert "winter 2016" in reports["a1_2016"].loading["conventions_text"]
    assert "FullyConnectedNet" not in reports["a1_2016"].loading["conventions_text"]


def test_the_2016_python_2_trees_are_read_as_python_3(reports):
    shims = "\n".join(reports["a3_2016"].loading["shims"])
    assert "rnn_layers.py: 1 Python-2 print statement read as print()" in shims  # `if verbose: print ...`
    assert any("xrange" in line for line in reports["a1_2016"].loading["shims"])


# ---------------------------------------------------------------- a tree holding all three

@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("cs231n_course") / "course"
    for number, source in ((1, COURSE / "a1_2019"), (2, ASSETS / "students" / "y2017"), (3, COURSE / "a3_2021")):
        shutil.copytree(source, root / f"assignment{number}", ignore=shutil.ignore_patterns("__pycache__"))
    return root


def test_a_tree_of_three_assignments_loads_each_as_its_own_package(course):
    target = load_target(course)
    try:
        assert isinstance(target, CourseTarget)
        assert [folder for _, folder, _ in target.parts] == ["assignment2", "assignment1", "assignment3"]
        # Each name from the assignment that owns it; a name two share is assignment 2's.
        assert target.get("KNearestNeighbor") is not None and target.get("CaptioningRNN") is not None
        assert "fc_net" in target.get("TwoLayerNet").__module__
        assert "assignment1/, assignment2/, assignment3/" in target.loading_info()["source"]
    finally:
        target.close()


def test_checking_a_course_tree_runs_every_assignment(course):
    report = check(course, only=["linear.*", "knn.*", "rnn.*", "models.captioning_rnn.*", "layers.affine.*",
                                 "layers.dropout.*"])
    assert alarms(report) == []
    suites = {c.suite for c in report.checks if c.status == "pass"}
    assert suites == {"linear", "knn", "rnn", "models", "layers"}
    assert not report.loading.get("candidates")  # three assignments, not three attempts to choose from


# ---------------------------------------------------------------- partial uploads

def test_an_upload_of_rnn_py_alone_gets_the_course_files_stood_in(tmp_path):
    package = tmp_path / "upload" / "cs231n" / "classifiers"
    package.mkdir(parents=True)
    shutil.copy(COURSE / "a3_2016" / "cs231n" / "classifiers" / "rnn.py", package / "rnn.py")
    report = check(tmp_path / "upload", only=["models.captioning_rnn.*", "rnn.rnn_step.forward"])
    stood_in = {s["module"] for s in report.loading["substitutions"]}
    assert {"cs231n.layers", "cs231n.rnn_layers"} <= stood_in
    statuses = {c.id: c.status for c in report.checks}
    assert {statuses[i] for i in statuses if i.startswith("models.captioning_rnn")} == {"pass"}
    assert statuses["rnn.rnn_step.forward"] == "skip"  # sanitykit's own, never graded as the student's


def test_a_rnn_layers_without_the_course_helpers_gets_them(tmp_path):
    tree = tmp_path / "a3" / "cs231n"
    shutil.copytree(COURSE / "a3_2021" / "cs231n", tree, ignore=shutil.ignore_patterns("__pycache__"))
    source = (tree / "rnn_layers.py").read_text()
    helpers = source[source.index("def temporal_affine_forward"):]
    (tree / "rnn_layers.py").write_text(source.replace(helpers, ""))
    report = check(tmp_path / "a3", only=["models.captioning_rnn.loss", "models.captioning_rnn.gradcheck"])
    assert [c.status for c in report.checks] == ["pass", "pass"]
    substituted = report.loading["substitutions"][0]
    assert set(substituted["names"]) == {"temporal_affine_forward", "temporal_affine_backward", "temporal_softmax_loss"}


def test_a_helper_file_left_out_is_stood_in_when_a_student_module_imports_it(tmp_path):
    tree = tmp_path / "a1" / "cs231n"
    shutil.copytree(COURSE / "a1_2019" / "cs231n", tree, ignore=shutil.ignore_patterns("__pycache__", "data_utils.py"))
    knn = tree / "classifiers" / "k_nearest_neighbor.py"
    knn.write_text("from cs231n.data_utils import load_CIFAR10\n" + knn.read_text())
    report = check(tmp_path / "a1", only=["knn.*"])
    assert alarms(report) == [] and report.checks
    assert any(s["module"] == "cs231n.data_utils" for s in report.loading["substitutions"])


# ---------------------------------------------------------------- demo and grading

@pytest.mark.parametrize("assignment, failing", [
    (1, {"linear.svm_vectorized.reg", "linear.classifier.train", "knn.no_loops.vectorised", "knn.predict_labels.ties",
         "models.two_layer_net.gradcheck"}),
    (3, {"rnn.rnn.gradcheck", "rnn.rnn.through_time", "rnn.word_embedding.repeated", "rnn.lstm_step.cell_path",
         "models.captioning_rnn.loss", "models.captioning_rnn.sample"}),
])
def test_the_demo_of_each_assignment_shows_its_bugs(assignment, failing):
    result = CliRunner().invoke(app, ["demo", "--assignment", str(assignment), "--format", "json"])
    assert result.exit_code == 0, result.output
    import json

    report = json.loads(result.stdout)
    failed = {c["id"] for c in report["checks"] if c["status"] == "fail"}
    assert failing <= failed
    assert all(report_check["diagnosis"] for report_check in report["checks"] if report_check["status"] == "fail")
    assert f"sanitykit check path/to/assignment{assignment}" in result.stderr


def test_a_class_of_assignment_1_and_3_submissions_is_graded(tmp_path):
    submissions = tmp_path / "submissions"
    shutil.copytree(COURSE / "a1_2019", submissions / "alice", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(COURSE / "a3_2021", submissions / "bob", ignore=shutil.ignore_patterns("__pycache__"))
    result = CliRunner().invoke(app, ["grade", str(submissions), "--out", str(tmp_path / "out"), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    rows = (tmp_path / "out" / "class.csv").read_text().splitlines()
    header = rows[0].split(",")
    scores = {row.split(",")[0]: dict(zip(header, row.split(","))) for row in rows[1:]}
    assert scores["alice"]["score"] == scores["alice"]["max_score"]
    assert float(scores["alice"]["linear"]) == 45 and float(scores["alice"]["knn"]) == 30
    assert float(scores["bob"]["rnn"]) == 60 and scores["bob"]["score"] == scores["bob"]["max_score"]


def test_the_suites_of_other_assignments_fold_to_one_row_each():
    from sanitykit.front.render.text import render_text

    lines = render_text(check(COURSE / "a1_2019", suites=("rnn", "knn")), width=120).splitlines()
    rnn = [line for line in lines if "rnn." in line]
    assert len(rnn) == 1 and "19 checks: nothing of this suite" in rnn[0]
    assert sum("knn." in line for line in lines) == 8  # a suite the tree has keeps a row per check
