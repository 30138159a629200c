"""Grading pieces on their own: rubric parsing and points, limit precedence, safe zips,
class statistics, the student's summary line, and Ctrl-C keeping finished results."""
from __future__ import annotations

import csv
import zipfile
from dataclasses import dataclass

import pytest

from sanitykit.front.grading import outputs
from sanitykit.front.grading.limits import LimitError, resolve_limits
from sanitykit.front.grading.result import SubmissionResult
from sanitykit.front.grading.rubric import (CheckScore, GradedCheck, RubricError, default_rubric,
                                            default_rubric_text, parse_rubric)
from sanitykit.front.grading.submissions import Submission, SubmissionError, extract_zip, materialize


@dataclass(frozen=True)
class Spec:
    """The part of a CheckSpec a rubric reads."""

    id: str
    title: str = ""

    @property
    def suite(self) -> str:
        return self.id.split(".")[0]


CATALOGUE = [Spec("layers.affine.forward"), Spec("layers.affine.gradcheck"), Spec("layers.relu.forward"),
             Spec("losses.softmax.value"), Spec("losses.svm.value"), Spec("optim.adam.step")]


# ---------------------------------------------------------------- rubric

def test_first_matching_rule_decides_points_and_visibility():
    rubric = parse_rubric("""
        [grading]
        visibility = "after_published"
        [[rule]]
        checks = "layers.affine.gradcheck"
        points = 5
        visibility = "hidden"
        [[rule]]
        checks = ["layers.*", "losses.softmax.*"]
        points = 1
        [[rule]]
        checks = "losses.*"
        total = 3
    """)
    graded = {c.id: (c.points, c.visibility) for c in rubric.grade(CATALOGUE)}
    assert graded == {"layers.affine.forward": (1, "after_published"),
                      "layers.affine.gradcheck": (5, "hidden"),
                      "layers.relu.forward": (1, "after_published"),
                      "losses.softmax.value": (1, "after_published"),
                      # total 3 over the one losses check the earlier rules left.
                      "losses.svm.value": (3, "after_published")}
    assert "optim.adam.step" not in graded  # no rule: not graded


def test_total_is_split_evenly_over_matching_checks():
    rubric = parse_rubric('[[rule]]\nchecks = "layers.*"\ntotal = 6\n')
    assert [c.points for c in rubric.grade(CATALOGUE)] == [2, 2, 2]


@pytest.mark.parametrize("text, expected", [
    ("[[rule]]\nchecks = 'layers.*'\npoints = 'two'\n", "rule 1 in r.toml: points must be a number"),
    ("[[rule]]\nchecks = 'layers.*'\npoints = -1\n", "rule 1 in r.toml: points must be a number"),
    ("[[rule]]\nchecks = 'layers.*'\npoints = 1\ntotal = 2\n", "rule 1 in r.toml: give either points"),
    ("[[rule]]\nchecks = 'a.*'\npoints = 1\n[[rule]]\npoints = 1\n", "rule 2 in r.toml: checks must be"),
    ("[[rule]]\nchecks = 'layers.*'\npoints = 1\nvisible = true\n", "rule 1 in r.toml: unknown key(s) visible"),
    ("[[rule]]\nchecks = 'layers.*'\npoints = 1\nvisibility = 'secret'\n", "visibility 'secret' is not one of"),
    ("[rules]\nx = 1\n", "r.toml: unknown table(s) rules"),
    ("[grading]\n", "r.toml: no [[rule]] tables"),
    ("[[rule]]\nchecks = 'layers.*\n", "r.toml: not valid TOML"),
])
def test_rubric_errors_name_the_file_and_the_rule(text, expected):
    with pytest.raises(RubricError) as info:
        parse_rubric(text, "r.toml")
    assert expected in str(info.value)


def test_a_glob_matching_no_check_is_an_error_in_a_user_rubric_only():
    rubric = parse_rubric("[[rule]]\nchecks = 'layers.afine.*'\npoints = 1\n", "r.toml")
    with pytest.raises(RubricError, match="rule 1 in r.toml: layers.afine.\\* matches no check"):
        rubric.grade(CATALOGUE)
    # The default rubric names every family; one with no checks yet is simply empty.
    assert {c.suite for c in default_rubric().grade(CATALOGUE)} == {"layers", "losses", "optim"}


def test_default_rubric_weights_families_and_parses_back():
    graded = default_rubric().grade(CATALOGUE)
    per_suite = {}
    for c in graded:
        per_suite[c.suite] = per_suite.get(c.suite, 0) + c.points
    assert per_suite == pytest.approx({"layers": 40, "losses": 10, "optim": 15})
    assert parse_rubric(default_rubric_text(), "the default rubric").rules == default_rubric().rules


# ---------------------------------------------------------------- limits

def test_limits_precedence_command_line_then_environment_then_rubric():
    env = {"SANITYKIT_MEMORY_MB": "1024", "SANITYKIT_TIMEOUT": "5"}
    limits = resolve_limits({"memory_mb": 2048}, env=env, rubric_limits={"memory": 512, "timeout": 9,
                                                                          "submission_timeout": 60})
    assert (limits.memory_mb, limits.check_timeout, limits.submission_timeout) == (2048, 5.0, 60.0)
    assert limits.flag("memory_mb") == "--memory" and limits.flag("check_timeout") == "SANITYKIT_TIMEOUT"
    defaults = resolve_limits({}, env={}, cpu_count=3)
    assert (defaults.memory_mb, defaults.submission_timeout, defaults.jobs) == (768, 600.0, 3)
    assert defaults.cpu_seconds > defaults.submission_timeout


@pytest.mark.parametrize("options, env, rubric_limits, expected", [
    ({"memory_mb": 10}, {}, {}, "memory 10 MB (from --memory): at least"),
    ({}, {"SANITYKIT_SUBMISSION_TIMEOUT": "soon"}, {}, "(from SANITYKIT_SUBMISSION_TIMEOUT): expected a number"),
    ({}, {}, {"timeout": 0}, "(from [limits] timeout in r.toml): must be more than 0"),
    ({}, {}, {"memroy": 512}, "r.toml: [limits] has unknown key(s) memroy"),
    ({"jobs": 1.5}, {}, {}, "(from --jobs): expected a whole number"),
])
def test_bad_limits_say_where_they_came_from(options, env, rubric_limits, expected):
    with pytest.raises(LimitError) as info:
        resolve_limits(options, env=env, rubric_limits=rubric_limits, rubric_file="r.toml")
    assert expected in str(info.value)


# ---------------------------------------------------------------- zips

@pytest.mark.parametrize("member", ["../escape.py", "/etc/evil.py", "a/../../escape.py"])
def test_zip_members_outside_the_folder_are_refused(tmp_path, member):
    archive = tmp_path / "s.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(member, "x = 1")
    (tmp_path / "dest").mkdir()
    with pytest.raises(SubmissionError, match="unsafe zip"):
        extract_zip(archive, tmp_path / "dest")
    assert not (tmp_path / "escape.py").exists()


def test_zip_symlinks_are_refused(tmp_path):
    archive = tmp_path / "s.zip"
    link = zipfile.ZipInfo("cs231n/layers.py")
    link.external_attr = (0o120777 << 16)  # a symbolic link, as `zip -y` stores it
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(link, "/etc/passwd")
    (tmp_path / "dest").mkdir()
    with pytest.raises(SubmissionError, match="symbolic link"):
        extract_zip(archive, tmp_path / "dest")


def test_a_wrapped_zip_and_a_bare_package_both_become_an_assignment_root(tmp_path):
    archive = tmp_path / "alice.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("alice/cs231n/layers.py", "x = 1")
    (tmp_path / "a").mkdir()
    assert (materialize(Submission("alice", archive), tmp_path / "a") / "cs231n" / "layers.py").is_file()
    package = tmp_path / "bob"
    package.mkdir()
    (package / "layers.py").write_text("x = 1")
    (tmp_path / "b").mkdir()
    assert (materialize(Submission("bob", package), tmp_path / "b") / "cs231n" / "layers.py").is_file()


# ---------------------------------------------------------------- class statistics

def scored(name: str, statuses: dict[str, str], points: float = 1.0) -> SubmissionResult:
    checks = [CheckScore(GradedCheck(cid, cid.split(".")[0], "", points), status) for cid, status in statuses.items()]
    return SubmissionResult(name, "graded", scores=checks)


def test_histogram_bins_scores_as_percent_of_max():
    ids = [f"layers.t{i}.a" for i in range(4)]
    # 4/4, 3/4, 0/4, 2/4 passed -> 100 %, 75 %, 0 %, 50 %
    results = [scored(n, {cid: ("pass" if i < k else "fail") for i, cid in enumerate(ids)})
               for n, k in (("a", 4), ("b", 3), ("c", 0), ("d", 2))]
    counts = {low: n for low, _, n in outputs.histogram(results, bins=4)}
    assert counts == {0.0: 1, 25.0: 0, 50.0: 1, 75.0: 2}


def test_most_failed_counts_fail_and_error_but_not_checks_never_run():
    results = [scored("a", {"layers.x.a": "fail", "layers.y.a": "pass"}),
               scored("b", {"layers.x.a": "error", "layers.y.a": "fail"}),
               scored("c", {"layers.x.a": "fail", "layers.y.a": "warn"})]
    results.append(SubmissionResult("d", "error", scores=[
        CheckScore(GradedCheck("layers.y.a", "layers", "", 1), "error", "not run: crashed", reason_kind="not_run")]))
    assert outputs.most_failed(results) == [("layers.x.a", 2, 1), ("layers.y.a", 1, 0)]


def test_student_summary_never_says_all_passed_with_hidden_checks():
    result = scored("a", {"layers.x.a": "pass", "layers.y.a": "pass"})
    assert outputs.student_summary(result).startswith("All 2 checks passed")
    hidden = CheckScore(GradedCheck("layers.z.a", "layers", "", 1, "hidden"), "pass")
    result.scores.append(hidden)
    line = outputs.student_summary(result)
    assert "all" not in line.lower() and "1 more checks are hidden" in line



def test_student_summary_counts_checks_as_the_tests_show_them():
    # A 2023 tree: TwoLayerNet absent (not applicable), a composite skipped because of
    # another check's bug (credited), one failure: 2 of 3 applicable checks earn points.
    result = scored("a", {"layers.x.a": "pass", "layers.y.a": "fail"})
    result.scores += [CheckScore(GradedCheck("models.two_layer_net.a", "models", "", 1), "skip",
                                 kind="not_applicable"),
                      CheckScore(GradedCheck("models.fc_net.a", "models", "", 1), "skip", kind="credit")]
    assert outputs.student_summary(result).startswith("2 of 3 visible checks passed")
    full = scored("b", {"layers.x.a": "pass"})
    full.scores.append(CheckScore(GradedCheck("models.two_layer_net.a", "models", "", 1), "skip",
                                  kind="not_applicable"))
    assert outputs.student_summary(full).startswith("All 1 checks passed")


def test_suite_scores_of_a_split_total_add_up_to_the_total():
    # 40 points split over 21 checks: each share is 40/21, rounded; passing all is 40, not 40.002.
    share = round(40 / 21, 6)
    result = scored("a", {f"layers.t{i}.a": "pass" for i in range(21)}, points=share)
    assert result.suite_scores() == {"layers": 40.0}
    assert result.score == result.max_score == 40.0
    one_missed = scored("b", {f"layers.t{i}.a": ("fail" if i == 0 else "pass") for i in range(21)}, points=share)
    assert one_missed.score == round(40 * 20 / 21, 2) == 38.1


def test_a_file_defining_nothing_checked_is_not_a_submission_error():
    from sanitykit.front.grading.limits import resolve_limits as limits_of
    from sanitykit.front.grading.runner import notes
    from sanitykit.front.grading.supervise import ChildRun

    problems = [{"module": "cs231n.data_utils", "file": "cs231n/data_utils.py", "line": 7, "note": True,
                 "message": "ModuleNotFoundError: No module named 'imageio'"},
                {"module": "cs231n.layers", "file": "cs231n/layers.py", "line": 3,
                 "message": "RuntimeError: oops"}]
    run = ChildRun(events=[{"event": "loaded", "loading": {"problems": problems}}])
    found = notes(run, {}, limits_of())
    assert len(found) == 1 and "cs231n.layers" in found[0]



def test_the_printed_default_rubric_grades_like_the_default():
    # An instructor copies `--print-rubric` into rubric.toml and passes it back: a course
    # year without TwoLayerNet must not lose its points for it.
    copied = parse_rubric(default_rubric_text(), "rubric.toml")
    assert copied.absent_counts is False and copied.absent_counts == default_rubric().absent_counts
    assert copied.fingerprint_data() == default_rubric().fingerprint_data()
    named = parse_rubric('[[rule]]\nchecks = "layers.*"\npoints = 1\n')
    assert named.absent_counts is True  # a rubric of its own names what the assignment has
    with pytest.raises(RubricError, match="absent"):
        parse_rubric('[grading]\nabsent = "free"\n[[rule]]\nchecks = "layers.*"\npoints = 1\n')


# ---------------------------------------------------------------- Ctrl-C

CORRECT = "from sanitykit.reference.layers import *\n"
RUBRIC = '[[rule]]\nchecks = ["layers.affine.interface", "layers.affine.forward"]\npoints = 1\n'


def test_interrupt_keeps_finished_results_and_the_rerun_continues(tmp_path):
    from sanitykit.checks.registry import catalogue
    from sanitykit.front.grading.runner import GradingPlan, grade_class
    from sanitykit.front.grading.submissions import discover

    for name in ("a", "b", "c"):
        (tmp_path / "class" / name / "cs231n").mkdir(parents=True)
        (tmp_path / "class" / name / "cs231n" / "layers.py").write_text(CORRECT)
    rubric = parse_rubric(RUBRIC)
    specs = catalogue()
    plan = GradingPlan(rubric, tuple(rubric.grade(specs)), resolve_limits({"jobs": 1}, env={}),
                       tuple(s.id for s in specs))
    submissions = discover(tmp_path / "class")
    out = tmp_path / "out"

    def interrupt(result):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        grade_class(submissions, plan, out, on_done=interrupt)
    with open(out / "class.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 1 and rows[0]["score"] == "2.0"
    assert (out / rows[0]["submission"] / "grading.json").is_file()

    reused = []
    results = grade_class(submissions, plan, out, on_done=lambda r: reused.append(r.reused))
    assert sorted(reused) == [False, False, True]
    assert [r.score for r in results] == [2.0, 2.0, 2.0]
