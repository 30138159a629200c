"""What student code may do to the process that checks it, and why the verdicts stay sanitykit's own
(issues 15 and 19): functions of numpy and builtins replaced inside a layer, Ctrl-C told apart
from a KeyboardInterrupt of the student's, the working directory, checks off the main thread."""
from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

from sanitykit.checks.layer_mistakes import pads_recorded
from sanitykit.checks.registry import CheckSpec, DictTarget
from sanitykit.engine.results import passed
from sanitykit.engine.usercode import call_user
from sanitykit.front.capture import fenced
from sanitykit.front.runner import check, run_checks

PATCHING_RELU_BACKWARD = """
import builtins
import numpy as np
import numpy._core.numeric as numeric

def relu_backward(dout, cache):
    np.allclose = lambda *a, **k: True
    np.sum = lambda *a, **k: 0.0
    np.max = lambda *a, **k: 0.0
    np.abs = lambda x, *a, **k: x * 0
    numeric.isclose = lambda a, b, *rest, **k: np.ones(np.shape(a), bool)
    builtins.max = lambda *a, **k: 0.0
    return dout  # the planted bug: the ReLU mask is missing
"""


def student_tree(root, layers_source):
    package = root / "cs231n"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "layers.py").write_text("from sanitykit.reference.layers import *  # noqa\n" + layers_source)
    return root


@pytest.mark.parametrize("isolation", ["worker", "in-process"])
def test_a_planted_bug_is_caught_although_the_layer_patches_numpy_and_builtins(tmp_path, isolation):
    real = (np.allclose, np.sum, np.max, np.abs, max)
    tree = student_tree(tmp_path, PATCHING_RELU_BACKWARD)

    report = check(tree, only=["layers.relu.*"], isolation=isolation)

    gradcheck = report.by_id("layers.relu.gradcheck")
    assert gradcheck.status == "fail", gradcheck.message
    assert gradcheck.diagnosis is not None and "dx" in gradcheck.diagnosis.what
    assert {"numpy.allclose", "numpy.sum", "builtins.max"} <= set(gradcheck.details["numpy_restored"])
    assert any("relu_backward replaced numpy.allclose" in line for line in report.loading["numpy_restored"])
    assert (np.allclose, np.sum, np.max, np.abs, max) == real


def test_sanitykits_own_wrapping_of_numpy_is_neither_undone_nor_reported():
    with fenced(None) as fence, pads_recorded() as calls:
        for _ in range(2):
            call_user(lambda x: np.pad(x, 1), np.zeros((2, 2)), subject="conv_forward_naive")
    assert len(calls) == 2
    assert fence.numpy_restored == []


def direct_call(ctx):
    ctx.fn("relu_forward")(np.ones(3))  # not through call_user: the runner's boundary maps it
    return passed("called")


DIRECT = CheckSpec("layers.relu.direct", "relu_forward", "calls relu_forward directly", direct_call)


def test_os_exit_outside_call_user_is_the_students_and_names_no_class_of_ours():
    def relu_forward(x):
        os._exit(3)

    [result] = run_checks(DictTarget({"relu_forward": relu_forward}), [DIRECT])

    assert (result.status, result.reason.kind) == ("error", "raised")
    assert result.message == "relu_forward called os._exit(3)"


def test_a_keyboard_interrupt_raised_by_student_code_is_an_error_of_its_check_in_process():
    def relu_forward(x):
        raise KeyboardInterrupt

    report = check(DictTarget({"relu_forward": relu_forward}), only=["layers.relu.interface"])

    result = report.by_id("layers.relu.interface")
    assert (result.status, result.reason.kind) == ("error", "raised")
    assert "KeyboardInterrupt" in result.message
    assert not report.interrupted and report.exit_code == 1


def test_the_users_ctrl_c_in_process_ends_the_run_with_a_partial_report():
    # The "user" presses Ctrl-C from another thread while the student's code runs.
    presses = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT))

    def relu_forward(x):
        if presses.ident is None:  # not started yet
            presses.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            time.sleep(0.01)
        return x, x

    try:
        report = check(DictTarget({"relu_forward": relu_forward}), only=["layers.relu.*"], timeout=60)
    finally:
        presses.cancel()

    assert report.interrupted and report.exit_code == 130
    assert {r.reason.kind for r in report.checks} == {"interrupted"}
    assert report.to_dict()["interrupted"] is True


def test_a_students_chdir_does_not_move_our_working_directory(tmp_path):
    here = os.getcwd()

    def relu_forward(x):
        os.chdir(tmp_path)
        return x * (x > 0), x

    check(DictTarget({"relu_forward": relu_forward}), only=["layers.relu.interface"])

    assert os.getcwd() == here


def test_off_the_main_thread_only_that_threads_output_is_captured(capsys):
    inside, printed = threading.Event(), threading.Event()

    def relu_forward(x):
        if not inside.is_set():
            inside.set()
            printed.wait(10)
            print("printed by the student's code")
        return x * (x > 0), x

    reports = []
    worker = threading.Thread(target=lambda: reports.append(
        check(DictTarget({"relu_forward": relu_forward}), only=["layers.relu.interface"])))
    worker.start()
    assert inside.wait(30)
    print("printed by another thread meanwhile")
    printed.set()
    worker.join(60)

    assert "printed by another thread meanwhile" in capsys.readouterr().out
    assert "printed by the student's code" in reports[0].by_id("layers.relu.interface").details["printed"]


def test_off_the_main_thread_a_path_still_gets_its_time_limit(tmp_path):
    tree = student_tree(tmp_path, "def relu_forward(x):\n    while True:\n        pass\n")
    reports = []

    thread = threading.Thread(target=lambda: reports.append(check(tree, only=["layers.relu.interface"], timeout=2)))
    thread.start()
    thread.join(60)

    assert not thread.is_alive()
    result = reports[0].by_id("layers.relu.interface")
    assert (result.status, result.reason.kind) == ("error", "timeout")
