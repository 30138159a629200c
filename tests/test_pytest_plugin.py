"""The pytest plugin through pytester: a fake project with a correct and a buggy affine layer."""
from __future__ import annotations

from sanitykit import __version__

import fnmatch
import os
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
    # pytest's default family, xunit2, has no <properties> in a testcase (its schema forbids them).
    assert all(c.find("properties") is None for c in ours)


def test_failures_are_located_at_the_users_function_with_a_pytest_rerun_line(project):
    result = project.runpytest_subprocess("--sanitykit", "buggy.py", *ONLY_AFFINE, "--tb=line",
                                          "-o", "junit_family=xunit1", "--junitxml=out.xml")
    backward_line = BUGGY_AFFINE.splitlines().index("def affine_backward(dout, cache):") + 1
    result.stdout.fnmatch_lines([f"buggy.py:{backward_line}: dw is wrong*"])
    project.runpytest_subprocess("--sanitykit", "buggy.py", *ONLY_AFFINE).stdout.fnmatch_lines([
        "rerun: sanitykit check buggy.py --only 'layers.affine.gradcheck' --seed 0",
        "   or: pytest --sanitykit buggy.py --sanitykit-only 'layers.affine.gradcheck' --sanitykit-seed 0",
    ])
    case = next(c for c in ET.parse(project.path / "out.xml").getroot().iter("testcase")
                if c.get("name") == "layers.affine.gradcheck")
    # JUnit's line is pytest's 0-based one, as for every other test.
    assert (case.get("file"), case.get("line")) == ("buggy.py", str(backward_line - 1))
    assert case.find("properties") is not None


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


# A stand-in for running a check: every status once, and a line per run, to test the
# mechanics (skip, warn, error, each check run once per target and process, only what the
# selection needs) independently of the catalogue's verdicts. SLEEP_S makes each run take time.
FAKE_SESSION_CONFTEST = """
import os
import time

from sanitykit.engine.findings import Finding, Reason
from sanitykit.engine.results import CheckResult, failed, errored, passed, skipped, warned
from sanitykit.front.session import CheckSession

STATUS = {"interface": "pass", "forward": "warn", "gradcheck": "error"}
SLEEP_S = float(os.environ.get("FAKE_SLEEP_S", "0"))


def outcome(aspect):
    status = STATUS.get(aspect, "skip")
    if status == "warn":
        return warned(Finding("kink", "x[2, 0] is 4e-6 from the ReLU kink at 0"))
    if status == "error":
        return errored(Reason("raised", ("affine_backward",),
                              note="affine_backward raised ValueError: shapes do not align (layers.py:9)"))
    if status == "skip":
        return skipped(Reason("not_implemented", ("affine_forward",)))
    return passed()


def fake_execute(self, spec):
    with open("runs.txt", "a") as runs:
        runs.write(f"{os.getpid()} {self.target.name} {spec.id}\\n")
    time.sleep(SLEEP_S)
    o = outcome(spec.id.split(".")[2])
    return CheckResult(spec.id, spec.suite, spec.subject, o.status, spec.title, o.message, o.hint,
                       diagnosis=o.finding, reason=o.reason, duration_s=SLEEP_S)


CheckSession.execute = fake_execute
"""


# The stand-in replaces how a check runs in this process: the items run in pytest's own.
IN_PROCESS = "--sanitykit-in-process"


def runs(project) -> list[tuple[str, str, str]]:
    """(process, target, check id) of every check the stand-in ran, in order."""
    path = project.path / "runs.txt"
    return [tuple(line.split()) for line in path.read_text().splitlines()] if path.exists() else []


def test_skip_warn_and_error_statuses_and_each_check_run_once_per_target(project):
    project.makeconftest(FAKE_SESSION_CONFTEST)
    n = N_AFFINE
    result = project.runpytest_subprocess(IN_PROCESS, "--sanitykit", "good.py", "--sanitykit", "buggy.py",
                                          *ONLY_AFFINE, "-rA")
    skips = n - 3
    result.assert_outcomes(passed=1 + 2 * 2, failed=2, skipped=2 * skips, warnings=2)
    forward_line = AFFINE.splitlines().index("def affine_forward(x, w, b):") + 1
    result.stdout.fnmatch_lines([
        f"*good.py:{forward_line}: SanitykitWarning: layers.affine.forward*: x*is 4e-6 from the ReLU kink at 0",
    ])
    result.stdout.fnmatch_lines([
        "FAILED sanitykit::good.py::layers.affine.gradcheck - error: affine_backward raised ValueError*",
    ])
    done = [(target, check_id) for _, target, check_id in runs(project)]
    assert len(done) == len(set(done))
    assert {target for target, _ in done} == {"good.py", "buggy.py"}


def test_keyword_selection_runs_only_the_selected_checks_and_what_they_read(project):
    from sanitykit.front.session import prerequisites

    project.makeconftest(FAKE_SESSION_CONFTEST)
    result = project.runpytest_subprocess(IN_PROCESS, "--sanitykit", "good.py", "-k", "layers.affine.gradcheck")
    result.assert_outcomes(failed=1, deselected=N_ALL + 1 - 1)
    spec = REGISTRY["layers.affine.gradcheck"]
    wanted = [s.id for s in prerequisites(spec, catalogue())] + [spec.id]
    assert [check_id for _, _, check_id in runs(project)] == wanted


def test_stopping_at_the_first_failure_runs_no_later_check(project):
    project.makeconftest(FAKE_SESSION_CONFTEST)
    result = project.runpytest_subprocess(IN_PROCESS, "--sanitykit", "good.py", "--sanitykit", "buggy.py",
                                          *ONLY_AFFINE, "-x")
    result.assert_outcomes(failed=1, passed=1 + 2, skipped=N_AFFINE - 3)
    assert "buggy.py" not in {target for _, target, _ in runs(project)}


def test_durations_show_the_work_of_each_item(project, monkeypatch):
    project.makeconftest(FAKE_SESSION_CONFTEST)
    monkeypatch.setenv("FAKE_SLEEP_S", "0.05")
    result = project.runpytest_subprocess(IN_PROCESS, "--sanitykit", "good.py", *ONLY_AFFINE, "--durations=0", "-vv")
    timed = [line for line in result.stdout.lines
             if fnmatch.fnmatch(line, "*s call *sanitykit::good.py::layers.affine.*")
             and float(line.split("s", 1)[0]) >= 0.05]
    # Each item did its own check: not the whole suite in the first item and nothing in the rest.
    assert len(timed) == N_AFFINE, result.stdout.str()


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


def test_a_target_that_cannot_be_loaded_is_one_collection_error(project):
    result = project.runpytest_subprocess("--sanitykit", "missing_dir", *ONLY_AFFINE, "-rA")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*sanitykit could not load the target missing_dir: missing_dir*",
                                 "*Interrupted: 1 error during collection*"])
    result.stdout.no_fnmatch_line("*Traceback*")


def test_named_test_files_get_no_items_from_the_ini_key_unless_asked(project, monkeypatch):
    project.makepyprojecttoml("""
        [tool.pytest.ini_options]
        sanitykit_targets = ["buggy.py"]
        sanitykit_only = ["layers.affine.gradcheck"]
    """)
    project.runpytest_subprocess("test_plain.py").assert_outcomes(passed=1)
    project.runpytest_subprocess("test_plain.py", "--sanitykit", "good.py").assert_outcomes(passed=2)
    monkeypatch.setenv("SANITYKIT_TARGET", "buggy.py")
    project.runpytest_subprocess("test_plain.py").assert_outcomes(passed=1, failed=1)


def test_the_environment_variable_names_the_target(project, monkeypatch):
    monkeypatch.setenv("SANITYKIT_TARGET", os.pathsep.join(["good.py", "buggy.py"]))
    result = project.runpytest_subprocess(*ONLY_AFFINE)
    result.assert_outcomes(passed=1 + 2 * N_AFFINE - 1, failed=1)


STOPPING_AFFINE = AFFINE.replace("    out = x.reshape", "    import pytest\n    {call}\n    out = x.reshape")


def test_pytest_exit_and_skip_from_the_users_code_are_let_through(project):
    project.makepyfile(stops=STOPPING_AFFINE.format(call="pytest.exit('stopped by the student', returncode=3)"),
                       skips=STOPPING_AFFINE.format(call="pytest.skip('not today')"))
    # In pytest's process: a supervised worker is another process, where pytest.exit means nothing.
    result = project.runpytest_subprocess(IN_PROCESS, "--sanitykit", "stops.py", "--sanitykit-only",
                                          "layers.affine.interface")
    assert result.ret == 3
    result.stdout.fnmatch_lines(["*stopped by the student*"])
    result = project.runpytest_subprocess(IN_PROCESS, "--sanitykit", "skips.py", "--sanitykit-only",
                                          "layers.affine.interface", "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*not today*"])


@pytest.mark.parametrize("isolation", [[], [IN_PROCESS]], ids=["worker", "in-process"])
def test_a_pytest_timeout_stops_the_check_as_pytest_timeout_reports_it(project, isolation):
    pytest.importorskip("pytest_timeout")
    project.makepyfile(slow=STOPPING_AFFINE.format(call="import time; time.sleep(30)"))
    result = project.runpytest_subprocess(*isolation, "--sanitykit", "slow.py", "--sanitykit-only",
                                          "layers.affine.interface", "--timeout", "3")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*Failed: Timeout (>3.0s) from pytest-timeout*"])
    result.stdout.no_fnmatch_line("*stopped after 30 s*")


def test_warnings_turned_into_errors_fail_with_the_diagnosis_not_a_traceback(project):
    project.makeconftest(FAKE_SESSION_CONFTEST)
    result = project.runpytest_subprocess(IN_PROCESS, "--sanitykit", "good.py", "--sanitykit-only",
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
