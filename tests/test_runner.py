"""The runner: order, skips, fences, and the mapping from what a check raises to its status."""
from __future__ import annotations

import numpy as np

from sanitykit.checks.registry import CheckSpec, DictTarget, SkipCheck
from sanitykit.engine.findings import Finding
from sanitykit.engine.results import failed, passed
from sanitykit.engine.usercode import NotImplementedYet, UserCodeError, call_user
from sanitykit.front.runner import check, dependencies_first, run_checks, select


def spec(id, func, depends_on=(), needs=()):
    return CheckSpec(id, subject="affine_forward", title="t", func=func,
                     depends_on=tuple(depends_on), needs=tuple(needs))


def statuses(results):
    return {r.id: r.status for r in results}


def run(*specs, target=None, timeout=5.0):
    return run_checks(target or DictTarget({}), list(specs), seed=0, timeout=timeout)


def test_exceptions_map_to_statuses():
    def user_bug(ctx):
        raise UserCodeError("affine_forward raised ValueError: bad shapes (at layers.py:3)")

    def stub(ctx):
        raise NotImplementedYet("affine_forward", "returned None")

    def cannot_apply(ctx):
        raise SkipCheck("needs float64")

    def our_bug(ctx):
        return {}["missing"]

    results = run(spec("layers.a.user", user_bug), spec("layers.a.stub", stub),
                  spec("layers.a.skip", cannot_apply), spec("layers.a.ours", our_bug),
                  spec("layers.a.ok", lambda ctx: passed()), spec("layers.a.bad", lambda ctx: failed(Finding("unknown", "x"))))
    by_id = {r.id: r for r in results}

    assert statuses(results) == {"layers.a.user": "error", "layers.a.stub": "skip", "layers.a.skip": "skip",
                                 "layers.a.ours": "error", "layers.a.ok": "pass", "layers.a.bad": "fail"}
    assert by_id["layers.a.user"].message.startswith("affine_forward raised ValueError")
    assert "not implemented yet" in by_id["layers.a.stub"].message
    assert by_id["layers.a.skip"].message == "needs float64"
    assert by_id["layers.a.ours"].message.startswith("internal error in sanitykit: KeyError")
    assert "test_runner.py" in by_id["layers.a.ours"].details["traceback"]


def test_a_check_returning_something_else_is_an_internal_error():
    [result] = run(spec("layers.a.none", lambda ctx: None))

    assert result.status == "error" and "internal error in sanitykit" in result.message


def test_an_endless_loop_is_stopped_by_the_timeout():
    def spins(ctx):
        while True:
            pass

    [result, after] = run(spec("layers.a.spin", spins), spec("layers.a.ok", lambda ctx: passed()), timeout=0.5)

    assert result.status == "error"
    assert result.message.startswith("stopped after 0.5 s")
    assert after.status == "pass"  # the alarm is off again for the next check


def test_a_bare_except_in_user_code_cannot_swallow_the_timeout():
    def stubborn(ctx):
        while True:
            try:
                while True:
                    pass
            except Exception:  # what a student might write
                pass

    [result] = run(spec("layers.a.stubborn", stubborn), timeout=0.3)

    assert result.status == "error" and "stopped after" in result.message


def test_printing_is_captured_and_kept_in_details(capsys):
    def noisy(ctx):
        print("debug: x.shape =", (4, 5))
        return passed()

    [result] = run(spec("layers.a.noisy", noisy))

    assert capsys.readouterr() == ("", "")
    assert "debug: x.shape" in result.details["printed"]


def test_warnings_are_recorded_not_printed(capsys):
    def overflows(ctx):
        np.exp(np.array([1000.0]))
        return passed()

    [result] = run(spec("layers.a.overflow", overflows))

    assert capsys.readouterr().err == ""
    assert any("overflow" in line for line in result.details["warnings"])


def test_a_students_global_seed_does_not_leak_between_checks():
    before = np.random.get_state()[1].copy()

    def seeds(ctx):
        np.random.seed(123)
        np.seterr(all="raise")
        return passed()

    run(spec("layers.a.seeds", seeds))

    np.testing.assert_array_equal(np.random.get_state()[1], before)
    assert np.geterr()["over"] != "raise"


def test_every_check_gets_a_fresh_generator_from_the_seed():
    draws = []

    def draw(ctx):
        draws.append(ctx.rng.standard_normal(3))
        return passed()

    run(spec("layers.a.one", draw), spec("layers.a.two", draw))

    np.testing.assert_array_equal(draws[0], draws[1])


def test_a_missing_name_is_skipped_and_a_broken_module_is_an_error():
    class BrokenTarget(DictTarget):
        def problem_for(self, name):
            return "cs231n.optim could not be imported: cs231n/optim.py:5: SyntaxError" if name == "adam" else None

    target = BrokenTarget({})
    results = run(spec("optim.adam.step", lambda ctx: passed(), needs=("adam",)),
                  spec("layers.svm.value", lambda ctx: passed(), needs=("svm_loss",)), target=target)
    by_id = {r.id: r for r in results}

    assert by_id["optim.adam.step"].status == "error"
    assert "optim.py:5" in by_id["optim.adam.step"].message
    assert by_id["layers.svm.value"].status == "skip"
    assert by_id["layers.svm.value"].message == "svm_loss not found in the target"


def test_a_check_depending_on_a_failed_one_is_skipped_with_the_reason():
    results = run(spec("layers.a.interface", lambda ctx: failed(Finding("unknown", "wrong arity"))),
                  spec("layers.a.forward", lambda ctx: passed(), depends_on=["layers.a.interface"]))

    assert results[1].status == "skip"
    assert results[1].message == "depends on layers.a.interface, which failed"


def test_results_so_far_are_passed_to_the_context():
    seen = {}

    def look(ctx):
        seen.update(ctx.results)
        return passed()

    run(spec("layers.a.first", lambda ctx: failed(Finding("unknown", "x"))), spec("layers.a.second", look))

    assert seen["layers.a.first"].status == "fail"


def test_dependencies_run_first_otherwise_catalogue_order():
    a = spec("layers.a.x", lambda ctx: passed(), depends_on=["layers.b.y"])
    b = spec("layers.b.y", lambda ctx: passed())
    c = spec("layers.c.z", lambda ctx: passed())

    assert [s.id for s in dependencies_first([a, c, b])] == ["layers.b.y", "layers.a.x", "layers.c.z"]


def test_only_selects_by_glob():
    specs = [spec("layers.affine.forward", None), spec("layers.affine.gradcheck", None),
             spec("layers.relu.forward", None)]

    assert [s.id for s in select(specs, ["layers.affine.*"])] == ["layers.affine.forward", "layers.affine.gradcheck"]
    assert len(select(specs, None)) == 3


def test_user_code_raising_directly_inside_a_check_is_blamed_on_the_user(tmp_path):
    (tmp_path / "layers.py").write_text("def affine_forward(x, w, b):\n    raise ValueError('oops')\n")
    from sanitykit.front.loading import load_target

    target = load_target(tmp_path)

    def calls_directly(ctx):
        ctx.fn("affine_forward")(1, 2, 3)  # without call_user
        return passed()

    def calls_properly(ctx):
        call_user(ctx.fn("affine_forward"), 1, 2, 3)
        return passed()

    results = run(spec("layers.a.direct", calls_directly), spec("layers.a.proper", calls_properly), target=target)

    for result in results:
        assert result.status == "error"
        assert "raised ValueError: oops" in result.message and "layers.py:2" in result.message


TYPO_SOURCE = ("def affine_forward(x, w, b):\n"
               "    configs = {'w': {'learning_rate': 1.0}}\n"
               "    configs['W1']['learning_rate'] *= 0.9\n"
               "    return x, None\n")
TYPO_LINE = "configs['W1']['learning_rate'] *= 0.9"


def test_an_error_in_user_code_quotes_the_offending_line(tmp_path):
    (tmp_path / "layers.py").write_text(TYPO_SOURCE)
    from sanitykit.front.loading import load_target

    target = load_target(tmp_path)

    def calls_properly(ctx):
        call_user(ctx.fn("affine_forward"), 1, 2, 3)
        return passed()

    def calls_directly(ctx):
        ctx.fn("affine_forward")(1, 2, 3)  # without call_user
        return passed()

    def wraps_the_error(ctx):
        try:
            call_user(ctx.fn("affine_forward"), 1, 2, 3)
        except UserCodeError as exc:  # what blame does: its own outcome, more lines under it
            from dataclasses import replace

            from sanitykit.engine.results import errored
            from sanitykit.engine.usercode import user_error_reason
            outcome = errored(user_error_reason(exc))
            return replace(outcome, message=outcome.message + "\nstill errors with the reference substituted")
        return passed()

    results = run(spec("layers.a.proper", calls_properly), spec("layers.a.direct", calls_directly),
                  spec("layers.a.wrapped", wraps_the_error), target=target)

    for result in results:
        first, second, *rest = result.message.splitlines()
        assert result.status == "error"
        assert "raised KeyError: 'W1' (at layers.py:3)" in first  # the one-line reason is kept
        assert second.strip() == TYPO_LINE
        assert result.details["source_line"] == TYPO_LINE
    assert results[2].message.splitlines()[2] == "still errors with the reference substituted"


def test_a_failure_that_names_no_user_error_gets_no_source_line(tmp_path):
    (tmp_path / "layers.py").write_text(TYPO_SOURCE)
    from sanitykit.front.loading import load_target

    def swallows(ctx):
        try:
            call_user(ctx.fn("affine_forward"), 1, 2, 3)
        except UserCodeError:
            pass
        return failed(Finding("unknown", "out is wrong"))

    [result] = run(spec("layers.a.other", swallows), target=load_target(tmp_path))

    assert result.message.splitlines()[0] == "out is wrong" and "source_line" not in result.details


def test_check_runs_the_catalogue_on_a_dict_target_of_the_reference():
    import sanitykit.reference as reference

    report = check(DictTarget.from_modules(reference, name="reference"), only=["layers.affine.*"])

    assert report.checks and all(r.id.startswith("layers.affine.") for r in report.checks)
    assert report.ok, [r for r in report.checks if not r.ok]
    assert set(report.to_dict()["loading"]) >= {"conventions", "substitutions", "shims", "problems"}


def test_an_enclosing_alarm_survives_a_check_with_its_own_limit():
    import signal
    import time

    import pytest

    fired = []

    def outer(signum, frame):
        fired.append(signum)
        raise TimeoutError("outer limit")

    previous = signal.signal(signal.SIGALRM, outer)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.4)
        run(spec("layers.a.ok", lambda ctx: passed()), timeout=5.0)
        with pytest.raises(TimeoutError):
            give_up = time.monotonic() + 10  # bound the wait so a regression fails instead of hanging
            while time.monotonic() < give_up:
                pass
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert fired


def student_tree(tmp_path, layers_source):
    package = tmp_path / "cs231n"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "layers.py").write_text("from sanitykit.reference.layers import *\n" + layers_source)
    return tmp_path


def test_os_exit_in_student_code_costs_one_check_not_the_process(tmp_path):
    root = student_tree(tmp_path, "import os\ndef relu_forward(x):\n    os._exit(3)\n")
    report = check(root, only=["layers.relu.*", "layers.affine.interface"])
    relu = report.by_id("layers.relu.interface")
    assert relu.status == "error" and "relu_forward called os._exit(3)" in relu.message
    assert report.by_id("layers.affine.interface").status == "pass"


def test_input_in_student_code_reads_nothing_instead_of_waiting(tmp_path):
    root = student_tree(tmp_path, "def relu_forward(x):\n    input('value? ')\n    return x, x\n")
    relu = check(root, only=["layers.relu.interface"], timeout=10).by_id("layers.relu.interface")
    assert relu.status == "error" and "EOFError" in relu.message


def test_numpy_patched_by_a_student_is_put_back_and_reported(tmp_path):
    root = student_tree(tmp_path, "import numpy as np\nnp.sum = lambda *a, **k: 0.0\n")
    real_sum = np.sum
    report = check(root, only=["losses.softmax.value"])
    assert np.sum is real_sum
    assert report.by_id("losses.softmax.value").status == "pass"
    assert report.loading["numpy_restored"] == [
        "cs231n/layers.py replaced numpy.sum at import; sanitykit put numpy back"]


def test_an_array_shaped_as_the_transpose_of_its_partner_is_named_in_the_hint():
    def loss_with_transposed_gradient(ctx):
        W, dW = np.ones((4, 6)), np.ones((6, 4))  # planted: dW = dscores.T @ X
        return call_user(lambda: W + dW, subject="svm_loss_vectorized")

    def plain_mismatch(ctx):
        return call_user(lambda: np.ones((4, 6)) + np.ones((5, 3)), subject="svm_loss_vectorized")

    by_id = {r.id: r for r in run(spec("linear.a.reversed", loss_with_transposed_gradient),
                                  spec("linear.a.mismatch", plain_mismatch))}
    reversed_hint = by_id["linear.a.reversed"].hint
    assert by_id["linear.a.reversed"].status == "error"
    assert "(4, 6) and (6, 4)" in reversed_hint and "transpose" in reversed_hint
    assert "transpose" not in by_id["linear.a.mismatch"].hint
    assert "print the shapes" in by_id["linear.a.mismatch"].hint
