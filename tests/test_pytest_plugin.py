"""The pytest plugin through pytester: a fake project with a correct and a buggy affine layer."""
from __future__ import annotations

from sanitykit import __version__

import fnmatch
import textwrap
import xml.etree.ElementTree as ET

import pytest

from sanitykit.checks import catalogue
from sanitykit.checks.registry import REGISTRY

pytest_plugins = ["pytester"]

AFFINE = """\
import numpy as np


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1).dot(w) + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    dx = dout.dot(w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T.dot(dout)
    db = dout.sum(axis=0)
    return dx, dw, db
"""
# The classic mistake: dw divided by the batch size although dout already carries 1/N.
BUGGY_AFFINE = AFFINE.replace("    db = dout.sum(axis=0)\n",
                              "    db = dout.sum(axis=0)\n    dw = dw / x.shape[0]\n")
ONLY_AFFINE = ["--sanitykit-only", "layers.affine.*"]


def affine_check_count() -> int:
    """How many checks the catalogue declares for the affine layer (the items per target)."""
    return sum(fnmatch.fnmatchcase(s.id, "layers.affine.*") for s in catalogue(["layers"]))


# Counted at import: pytester restores sys.modules after each test, and importing the
# catalogue's modules a second time would declare every check twice.
N_AFFINE = affine_check_count()
N_ALL = len(catalogue())


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """good.py (correct affine layer), buggy.py (dw / N) and one ordinary test."""
    monkeypatch.setenv("COLUMNS", "240")  # whole lines in pytest's short summary
    pytester.makepyfile(good=AFFINE, buggy=BUGGY_AFFINE,
                        test_plain="def test_plain():\n    assert 1 + 1 == 2\n")
    return pytester


def test_without_the_option_the_plugin_adds_nothing_and_imports_nothing_heavy(project):
    project.makepyfile(test_light="""
        import sys

        def test_light():
            heavy = ("numpy", "rich", "sanitykit.checks", "sanitykit.front.runner")
            assert [m for m in heavy if m in sys.modules] == []
    """)
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["collected 2 items"])
    result.stdout.no_fnmatch_line(f"*sanitykit {__version__}:*")
    result.stdout.no_fnmatch_line("*sanitykit::*")


def test_correct_and_buggy_layers_give_passed_and_failed_items_with_the_diagnosis(project):
    n = N_AFFINE
    result = project.runpytest_subprocess("--sanitykit", "good.py", "--sanitykit", "buggy.py",
                                          *ONLY_AFFINE, "-rA", "--junitxml=out.xml")
    # Only the backward pass of buggy.py is wrong: one failed item, everything else passes.
    result.assert_outcomes(passed=1 + 2 * n - 1, failed=1)
    result.stdout.fnmatch_lines([
        "*FAIL layers.affine.gradcheck (affine_backward)*",
        "dw is wrong*",
        "*divided by N*",
        "rerun: sanitykit check buggy.py --only 'layers.affine.gradcheck' --seed 0",
    ])
    result.stdout.fnmatch_lines([
        "PASSED sanitykit::good.py::layers.affine.gradcheck",
        "FAILED sanitykit::buggy.py::layers.affine.gradcheck - dw is wrong*",
    ])
    result.stdout.no_fnmatch_line("*Traceback*")
    result.stdout.no_fnmatch_line("*sanitykit/front/pytest_plugin.py*")

    cases = ET.parse(project.path / "out.xml").getroot().iter("testcase")
    ours = [c for c in cases if c.get("classname", "").startswith("sanitykit.")]
    assert len(ours) == 2 * n
    failed = [c for c in ours if c.find("failure") is not None]
    assert [(c.get("classname"), c.get("name")) for c in failed] == \
        [("sanitykit.buggy.py", "layers.affine.gradcheck")]
    assert failed[0].find("failure").get("message").startswith("dw is wrong")
    assert "rerun: sanitykit check buggy.py" in failed[0].find("failure").text


def test_keyword_selection_works_on_check_ids_and_targets(project):
    result = project.runpytest_subprocess("--sanitykit", "good.py", "--sanitykit", "buggy.py",
                                          *ONLY_AFFINE, "-k", "gradcheck")
    result.assert_outcomes(passed=1, failed=1, deselected=2 * N_AFFINE - 2 + 1)
    result = project.runpytest_subprocess("--sanitykit", "good.py", "--sanitykit", "buggy.py",
                                          *ONLY_AFFINE, "-k", "buggy and gradcheck", "-q")
    result.assert_outcomes(failed=1, deselected=2 * N_AFFINE - 1 + 1)


def test_ini_keys_ask_for_the_suite_without_command_line_options(project):
    project.makepyprojecttoml("""
        [tool.pytest.ini_options]
        sanitykit_targets = ["buggy.py"]
        sanitykit_only = ["layers.affine.gradcheck"]
        sanitykit_seed = "3"
    """)
    result = project.runpytest_subprocess()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*rerun: sanitykit check buggy.py --only 'layers.affine.gradcheck' --seed 3"])


# A stand-in runner: every status once, and a count of the runs, to test the mechanics
# (skip, warn, error, one run per target) independently of the catalogue's verdicts.
FAKE_RUNNER_CONFTEST = """
import sanitykit.front.runner as runner
from sanitykit.engine.results import CheckResult
from sanitykit.front.report import Report

STATUS = {"interface": "pass", "forward": "warn", "gradcheck": "error"}


def fake_check(target, suites=None, only=None, seed=0, timeout=30.0, name_map=None, progress=None):
    with open("runs.txt", "a") as runs:
        runs.write(target + " " + ",".join(only or ["*"]) + "\\n")
    results = []
    for spec in runner.select(runner.catalogue(suites), only):
        status = STATUS.get(spec.id.split(".")[2], "skip")
        message = {"warn": "x[2, 0] is 4e-6 from the ReLU kink at 0",
                   "error": "affine_backward raised ValueError: shapes do not align (layers.py:9)",
                   "skip": "affine_forward is not implemented yet"}.get(status, "")
        results.append(CheckResult(spec.id, spec.suite, spec.subject, status, spec.title, message))
    return Report(target, seed, results)


runner.check = fake_check
"""


def test_skip_warn_and_error_statuses_and_one_run_per_target(project):
    project.makeconftest(FAKE_RUNNER_CONFTEST)
    n = N_AFFINE
    result = project.runpytest_subprocess("--sanitykit", "good.py", "--sanitykit", "buggy.py",
                                          *ONLY_AFFINE, "-rA")
    skips = n - 3
    result.assert_outcomes(passed=1 + 2 * 2, failed=2, skipped=2 * skips, warnings=2)
    result.stdout.fnmatch_lines([
        "*good.py:0: SanitykitWarning: layers.affine.forward*: x*is 4e-6 from the ReLU kink at 0",
    ])
    result.stdout.fnmatch_lines([
        "FAILED sanitykit::good.py::layers.affine.gradcheck - error: affine_backward raised ValueError*",
    ])
    if skips:
        result.stdout.fnmatch_lines(["SKIPPED [[]1[]] good.py:1: affine_forward is not implemented yet"])
    runs = (project.path / "runs.txt").read_text().splitlines()
    assert [run.split()[0] for run in runs] == ["good.py", "buggy.py"]


def test_keyword_selection_runs_only_the_selected_checks_and_their_dependencies(project):
    project.makeconftest(FAKE_RUNNER_CONFTEST)
    result = project.runpytest_subprocess("--sanitykit", "good.py", "-k", "layers.affine.gradcheck")
    result.assert_outcomes(failed=1, deselected=N_ALL + 1 - 1)
    target, only = (project.path / "runs.txt").read_text().split()
    wanted = {"layers.affine.gradcheck"} | set(REGISTRY["layers.affine.gradcheck"].depends_on)
    assert (target, set(only.split(","))) == ("good.py", wanted)


def test_unknown_suite_is_a_usage_error(project):
    result = project.runpytest_subprocess("--sanitykit", "good.py", "--sanitykit-suite", "layer")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown suite 'layer'*"])


def test_gradcheck_fixture_uses_the_marker_and_carries_the_diagnosis(project):
    project.makepyfile(test_hand_written=textwrap.dedent("""
        import numpy as np
        import pytest

        import buggy
        import good


        def inputs():
            rng = np.random.default_rng(0)
            return rng.standard_normal((4, 5)), rng.standard_normal((5, 3)), rng.standard_normal(3)


        @pytest.mark.sanitykit(seed=3, mode="full")
        def test_correct_layer(sanitykit_gradcheck):
            assert sanitykit_gradcheck.options == {"seed": 3, "mode": "full"}
            sanitykit_gradcheck(good.affine_forward, good.affine_backward, *inputs())


        def test_buggy_layer(sanitykit_gradcheck):
            sanitykit_gradcheck(buggy.affine_forward, buggy.affine_backward, *inputs())


        def test_reexported_helper():
            from sanitykit.front.pytest_plugin import assert_gradients_match
            with pytest.raises(AssertionError, match="dw"):
                assert_gradients_match(buggy.affine_forward, buggy.affine_backward, *inputs())
    """))
    result = project.runpytest_subprocess("test_hand_written.py")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["E   *dw*", "FAILED test_hand_written.py::test_buggy_layer*"])


def test_marker_with_an_unknown_key_is_refused_naming_it(project):
    project.makepyfile(test_marked="""
        import pytest

        @pytest.mark.sanitykit(sed=3)
        def test_marked():
            pass
    """)
    result = project.runpytest_subprocess("test_marked.py")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*test_marked.py::test_marked: @pytest.mark.sanitykit: unknown key 'sed'*"])


def test_items_are_the_same_on_every_xdist_worker(project):
    pytest.importorskip("xdist")
    result = project.runpytest_subprocess("--sanitykit", "good.py", "--sanitykit", "buggy.py",
                                          *ONLY_AFFINE, "-n", "2")
    result.assert_outcomes(passed=1 + 2 * N_AFFINE - 1, failed=1)


def test_a_target_that_cannot_be_loaded_fails_once_and_skips_its_other_items(project):
    result = project.runpytest_subprocess("--sanitykit", "missing_dir", *ONLY_AFFINE, "-rA")
    # One failure line for the target, whatever the number of its checks.
    result.assert_outcomes(passed=1, failed=1, skipped=N_AFFINE - 1)
    result.stdout.fnmatch_lines(["FAILED sanitykit::missing_dir::layers.affine.* - "
                                 "sanitykit could not load the target: missing_dir*"])
    result.stdout.no_fnmatch_line("*Traceback*")


def test_warnings_turned_into_errors_fail_with_the_diagnosis_not_a_traceback(project):
    project.makeconftest(FAKE_RUNNER_CONFTEST)
    result = project.runpytest_subprocess("--sanitykit", "good.py", "--sanitykit-only",
                                          "layers.affine.forward", "-W", "error", "-rA")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["FAILED sanitykit::good.py::layers.affine.forward - "
                                 "warning: x*is 4e-6 from the ReLU kink at 0"])
    result.stdout.no_fnmatch_line("*sanitykit/front/pytest_plugin.py*")


def test_a_bad_marker_under_xdist_fails_that_test_instead_of_crashing_the_worker(project):
    pytest.importorskip("xdist")
    project.makepyfile(test_marked="""
        import pytest

        @pytest.mark.sanitykit(mode="slow")
        def test_marked(sanitykit_gradcheck):
            pass
    """)
    result = project.runpytest_subprocess("test_marked.py", "test_plain.py", "-n", "2")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*test_marked.py::test_marked: @pytest.mark.sanitykit: mode must be one of*"])
    result.stdout.no_fnmatch_line("*INTERNALERROR*")
