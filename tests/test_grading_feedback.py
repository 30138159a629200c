"""Rubric points and what students read: weights, exact totals, hidden checks, category feedback.

The end-to-end cases grade real submissions on disk with `sanitykit grade`: a copy of the
reference whose affine_backward divides dw by N again (the classic batch-size mistake).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sanitykit.engine.patterns import PATTERNS
from sanitykit.front.cli import app
from sanitykit.front.grading.rubric import RubricError, default_rubric, parse_rubric, score_checks, split_points

CORRECT = "from sanitykit.reference.layers import *\n"
DW_OVER_N = CORRECT + (
    "import sanitykit.reference.layers as _ref\n"
    "def affine_backward(dout, cache):\n"
    "    dx, dw, db = _ref.affine_backward(dout, cache)\n"
    "    return dx, dw / dout.shape[0], db\n")
HIDDEN_RUBRIC = """
[[rule]]
checks = "layers.affine.gradcheck"
visibility = "hidden"
feedback = "category"
[[rule]]
checks = ["layers.affine.*", "layers.relu.*"]
total = 10
"""


class Spec:
    def __init__(self, check_id: str):
        self.id, self.suite, self.title = check_id, check_id.split(".")[0], ""


def write_student(folder: Path, layers: str) -> None:
    (folder / "cs231n").mkdir(parents=True)
    (folder / "cs231n" / "__init__.py").write_text("")
    (folder / "cs231n" / "layers.py").write_text(layers)


# ---------------------------------------------------------------- points

@pytest.mark.parametrize("total, weights", [(40, [1] * 21), (10, [3, 1, 2, 2, 3, 3, 1]), (25, [1, 1, 1]),
                                            (0.1, [1, 1, 1]), (7, [0, 0])])
def test_shares_are_hundredths_that_sum_exactly_to_the_total(total, weights):
    shares = split_points(total, weights)
    assert round(sum(shares), 2) == total
    assert all(round(s * 100) == s * 100 for s in shares)
    exact = ([total * w / sum(weights) for w in weights] if sum(weights)
             else [total / len(weights)] * len(weights))  # all weights 0: equal parts
    assert all(abs(s - e) < 0.01 for s, e in zip(shares, exact))


def test_the_default_rubric_weights_a_gradient_check_above_an_interface_check():
    graded = {c.id: c.points for c in default_rubric().grade(
        [Spec("layers.affine.interface"), Spec("layers.affine.forward"), Spec("layers.affine.gradcheck")])}
    assert graded["layers.affine.gradcheck"] > graded["layers.affine.forward"] > graded["layers.affine.interface"]


def test_a_rule_without_points_sets_visibility_and_feedback_only():
    rubric = parse_rubric(HIDDEN_RUBRIC)
    graded = {c.id: c for c in rubric.grade([Spec("layers.affine.forward"), Spec("layers.affine.gradcheck"),
                                             Spec("layers.relu.forward")])}
    assert set(graded) == {"layers.affine.forward", "layers.affine.gradcheck", "layers.relu.forward"}
    hidden = graded["layers.affine.gradcheck"]
    assert (hidden.visibility, hidden.feedback) == ("hidden", "category")
    assert (graded["layers.relu.forward"].visibility, graded["layers.relu.forward"].feedback) == ("visible", "full")
    scores = score_checks(list(graded.values()), {i: {"status": "pass"} for i in graded}, "not run")
    assert round(sum(s.score for s in scores), 2) == 10


@pytest.mark.parametrize("text, message", [
    ('[[rule]]\nchecks = "layers.*"\nfeedback = "some"\n', "feedback 'some' is not one of full, category, none"),
    ('[[rule]]\nchecks = "layers.*"\npoints = 1\nweights = { "*" = 2 }\n', "weights split a total"),
    ('[[rule]]\nchecks = "layers.*"\n', "give points"),
    ('[grading]\nfeedback = "all"\n[[rule]]\nchecks = "layers.*"\npoints = 1\n', "[grading] feedback 'all'"),
])
def test_rubric_mistakes_say_which_rule_and_what(text, message):
    with pytest.raises(RubricError) as caught:
        parse_rubric(text, "r.toml").grade([Spec("layers.affine.forward")])
    assert message in str(caught.value)


# ---------------------------------------------------------------- hidden checks, end to end

@pytest.fixture(scope="module")
def hidden_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("hidden")
    write_student(base / "class" / "bob", DW_OVER_N)
    (base / "rubric.toml").write_text(HIDDEN_RUBRIC)
    result = CliRunner().invoke(app, ["grade", str(base / "class"), "--out", str(base / "out"),
                                      "--rubric", str(base / "rubric.toml"), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    report = json.loads((base / "out" / "bob" / "report.json").read_text())
    results = json.loads((base / "out" / "bob" / "results.json").read_text())
    return report, results


def student_texts(results: dict) -> list[str]:
    """Everything of results.json a student can read (the top-level output and every test's)."""
    return [results["output"]] + [t.get("output", "") + t["name"] for t in results["tests"]]


def test_a_hidden_check_with_category_feedback_tells_the_kind_of_mistake(hidden_run):
    report, results = hidden_run
    check = next(c for c in report["checks"] if c["id"] == "layers.affine.gradcheck")
    assert check["status"] == "fail" and check["diagnosis"]["pattern"] == "batch_size"
    test = next(t for t in results["tests"] if t["name"].startswith("layers.affine.gradcheck"))
    assert test["visibility"] == "hidden" and test["status"] == "failed"
    kind = PATTERNS["batch_size"]
    assert f"affine_backward: {kind}" in test["output"]
    assert f"hidden check, affine_backward: {kind}" in results["output"]


def test_a_hidden_check_with_category_feedback_does_not_leak_its_inputs(hidden_run):
    report, results = hidden_run
    check = next(c for c in report["checks"] if c["id"] == "layers.affine.gradcheck")
    full_text = " ".join([check["message"], check["hint"], json.dumps(check["diagnosis"])])
    indices = set(re.findall(r"\w+\[[\d, ]+\]", full_text))
    numbers = set(re.findall(r"\d+\.\d+|\d+e-?\d+", full_text))
    assert indices and numbers  # the full diagnosis names places and values
    for text in student_texts(results):
        assert not [i for i in indices if i in text], text
        assert not [n for n in numbers if n in text], text
        assert check["message"].splitlines()[0] not in text


def test_visible_checks_keep_their_full_diagnosis(hidden_run):
    _, results = hidden_run
    visible = [t for t in results["tests"] if t["visibility"] == "visible"]
    assert visible and all(t["status"] == "passed" for t in visible)
    assert round(sum(t["max_score"] for t in results["tests"]), 2) == 10


def test_check_format_gradescope_scores_a_tree_as_grade_does(tmp_path):
    """One tree, one score: `check --format gradescope` uses grade's default rubric."""
    assignment = Path(__file__).parent / "assets" / "assignment"
    write_student(tmp_path / "class" / "amy", (assignment / "cs231n" / "layers.py").read_text() + DW_OVER_N)
    runner = CliRunner()
    checked = runner.invoke(app, ["check", str(tmp_path / "class" / "amy"), "--format", "gradescope"])
    graded = runner.invoke(app, ["grade", str(tmp_path / "class"), "--out", str(tmp_path / "out"), "--jobs", "1"])
    assert graded.exit_code == 0, graded.output
    results = json.loads(checked.stdout)
    row = (tmp_path / "out" / "class.csv").read_text().splitlines()[1].split(",")
    assert (results["score"], round(sum(t["max_score"] for t in results["tests"]), 2)) == (float(row[1]), float(row[2]))
    assert results["score"] < float(row[2])  # the planted bug costs points in both
