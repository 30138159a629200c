"""A TA's buggy copy of a correct student tree: each planted bug fails its own check, once.

The y2017 tree from assets/students/ is copied into tmp_path and four mistakes students
really make are planted by string replacement:
- max_pool_backward_naive routes dout to every element of the window, not only to the max;
- spatial_batchnorm_backward left as the course's stub (`pass`, returns None);
- sgd_momentum forgets to store the velocity in config;
- a Solver typo in the learning-rate decay: self.optim_config[k] for self.optim_configs[k].
Every other part of the tree is correct, so no other family may fail ("blame where it
belongs"). Assertions the product does not meet yet are strict xfails, with the reason.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sanitykit.front.runner import check

STUDENTS = Path(__file__).parent / "assets" / "students"

MAX_POOL_TO_ALL = ("cs231n/layers.py",
                   "                temp_binary_mask * (dout[:, :, i, j])[:, :, None, None]",
                   "                (dout[:, :, i, j])[:, :, None, None]")
SPATIAL_BN_STUB = ("cs231n/layers.py",
                   "    dout_new = dout.transpose(0, 2, 3, 1).reshape(N * H * W, C)\n"
                   "    dx, dgamma, dbeta = batchnorm_backward(dout_new, cache)\n"
                   "    dx = dx.reshape(N, H, W, C).transpose(0, 3, 1, 2)\n",
                   "    pass\n")
VELOCITY_NOT_STORED = ("cs231n/optim.py", "    config['velocity'] = v\n", "")
SOLVER_TYPO = ("cs231n/solver.py",
               'self.optim_configs[k]["learning_rate"] *= self.lr_decay',
               'self.optim_config[k]["learning_rate"] *= self.lr_decay')
BUGS = (MAX_POOL_TO_ALL, SPATIAL_BN_STUB, VELOCITY_NOT_STORED, SOLVER_TYPO)

# The checks each bug is expected to fail (or, for the stub, to report as not implemented).
PLANTED = {"layers.max_pool.gradcheck", "layers.spatial_batchnorm.gradcheck",
           "optim.sgd_momentum.defaults", "optim.sgd_momentum.state",
           "training.solver.lr_decay", "training.solver.best_params",
           "training.fc_net.overfit_user_optim"}


def plant(tree: Path, bugs) -> None:
    """Apply each (file, old, new) replacement once; a missing anchor is a broken test, not a pass."""
    for rel, old, new in bugs:
        path = tree / rel
        text = path.read_text()
        assert text.count(old) == 1, f"anchor not found once in {rel}: {old[:50]!r}"
        path.write_text(text.replace(old, new))


@pytest.fixture(scope="module")
def buggy_y2017(tmp_path_factory):
    tree = tmp_path_factory.mktemp("buggy") / "y2017"
    shutil.copytree(STUDENTS / "y2017", tree)
    plant(tree, BUGS)
    return tree


@pytest.fixture(scope="module")
def results(buggy_y2017):
    report = check(buggy_y2017)
    return {c.id: c for c in report.checks}


def line_of(path: Path, text: str) -> int:
    """1-based line number of the first line containing text (the oracle for 'at solver.py:N')."""
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


# ---------------------------------------------------------------- each planted bug found

def test_max_pool_backward_to_every_element_is_diagnosed(results):
    result = results["layers.max_pool.gradcheck"]

    assert result.status == "fail"
    assert "dx is wrong" in result.message
    # 2x2 windows, stride 2: 3 of every 4 elements are not the max, so their true gradient is 0.
    assert "72 / 96" in result.message
    assert "numerical gradient is 0" in result.message


def test_max_pool_to_every_element_hint_speaks_of_the_window_max(results):
    hint = results["layers.max_pool.gradcheck"].hint

    assert "max" in hint and "window" in hint
    assert "x > 0" not in hint


def test_a_stub_left_as_pass_is_reported_not_implemented(results):
    result = results["layers.spatial_batchnorm.gradcheck"]

    assert result.status in ("skip", "fail")
    assert "not implemented" in result.message
    # The forward pass is the student's and correct: the stub must not drag it down.
    assert results["layers.spatial_batchnorm.forward"].status == "pass"


def test_velocity_not_stored_fails_the_state_check_and_blames_the_step(results):
    state = results["optim.sgd_momentum.state"]

    assert state.status == "fail"
    assert "velocity" in state.message
    assert "config['velocity']" in state.hint
    # One bug, not a cascade: the step comparison is skipped as a consequence.
    assert results["optim.sgd_momentum.step"].status == "skip"


def test_solver_typo_is_an_error_at_the_line_of_the_typo(results, buggy_y2017):
    result = results["training.solver.lr_decay"]
    line = line_of(buggy_y2017 / "cs231n" / "solver.py", "self.optim_config[k]")

    assert result.status == "error"
    assert "KeyError" in result.message
    assert f"solver.py:{line}" in result.message


def test_solver_typo_message_shows_the_offending_source(results):
    result = results["training.solver.lr_decay"]

    assert "optim_config[k]" in result.message + result.hint


def test_solver_crash_is_not_blamed_on_the_model(results):
    result = results["training.fc_net.overfit_user_optim"]

    assert result.status == "skip" or "Solver" in result.message.split("so the bug is in")[-1]


# ---------------------------------------------------------------- no false alarm elsewhere

def test_unrelated_checks_raise_no_alarm(results):
    alarms = {id: r.message for id, r in results.items()
              if r.status in ("fail", "error") and id not in PLANTED}

    assert alarms == {}


@pytest.mark.parametrize("suite", ["losses", "models"])
def test_untouched_families_all_pass_or_skip(results, suite):
    statuses = {r.status for id, r in results.items() if id.startswith(suite + ".")}

    assert statuses <= {"pass", "skip"}


# ---------------------------------------------------------------- a single-bug variant

ADAM_T_AFTER = (("cs231n/optim.py", '    config["t"] += 1\n    t = config["t"]\n', '    t = config["t"]\n'),
                ("cs231n/optim.py",
                 '    next_w = w - config["learning_rate"] * mt / (np.sqrt(vt) + config["epsilon"])\n',
                 '    next_w = w - config["learning_rate"] * mt / (np.sqrt(vt) + config["epsilon"])\n'
                 '    config["t"] += 1\n'))


@pytest.fixture(scope="module")
def adam_results(tmp_path_factory):
    """The loops tree with adam's t += 1 moved after the update (t starts at 0: 1 - beta1**0 = 0)."""
    tree = tmp_path_factory.mktemp("adam") / "loops"
    shutil.copytree(STUDENTS / "loops", tree)
    plant(tree, ADAM_T_AFTER)
    return {c.id: c for c in check(tree, only=["optim.adam.*"]).checks}


def test_adam_with_t_incremented_after_the_update_fails(adam_results):
    assert "fail" in {r.status for r in adam_results.values()}


def test_adam_first_step_nan_fails_the_step_check_with_the_t_hint(adam_results):
    step = adam_results["optim.adam.step"]

    assert step.status == "fail"
    assert "t" in step.hint and "nan" in (step.message + step.hint).lower()


@pytest.mark.parametrize("left_out", [("layer_utils.py",), ("fast_layers.py", "layer_utils.py")])
def test_a_partial_upload_without_course_files_gets_stand_ins_not_errors(tmp_path, left_out):
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from mutants.generator import materialise

    root = materialise(tmp_path)
    for name in left_out:
        (root / "cs231n" / name).unlink()
    report = check(root, suites=["models"], seed=0)
    bad = {r.id: r.message for r in report.checks if r.status in ("fail", "error")}
    assert not bad, bad
    assert any(r.status == "pass" for r in report.checks if r.id.startswith("models.cnn."))
    stood_in = {s["module"] for s in report.to_dict()["loading"]["substitutions"]}
    assert {f"cs231n.{name[:-3]}" for name in left_out} <= stood_in
    assert not report.to_dict()["loading"]["problems"]
