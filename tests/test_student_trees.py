"""Correct student trees in four styles raise no alarm (false-alarm hunting).

The trees under assets/students/ were written for these tests, from the course's API of
several years, each in a different style:
- loops: current API, loops everywhere, batchnorm backward staged through the graph,
  no fast_layers.py (layer_utils uses the naive layers), in-place sgd as the course ships it;
- vectorised: current API, einsum/as_strided conv, one-line batchnorm_backward_alt,
  log-sum-exp softmax, the course's fast_layers.py and im2col.py without the Cython build;
- float32: 2018-19 API (`dropout` as keep ratio, `normalization`), float32 layers, dropout by
  np.random.binomial, layernorm through batchnorm on the transpose, groupnorm by (N, G, -1);
- y2017: `dropout` as drop probability, `use_batchnorm`, past.builtins.xrange, (x, dx) rmsprop
  and adam with the course's `config.setdefault('t', 1)`.
Every tree ships the course's solver.py, gradient_check.py and vis_utils.py.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sanitykit.engine.numeric import numerical_gradient, rel_error
from sanitykit.front.loading import load_target
from sanitykit.front.runner import check

STUDENTS = Path(__file__).parent / "assets" / "students"
TREES = ("loops", "vectorised", "float32", "y2017")


def alarms(report) -> list[tuple[str, str]]:
    return [(c.id, c.message) for c in report.checks if c.status in ("fail", "error")]


@pytest.fixture(scope="module")
def reports():
    """One full run per student tree (all suites), shared by the tests below."""
    return {name: check(STUDENTS / name) for name in TREES}


# ---------------------------------------------------------------- no alarm on correct code

@pytest.mark.parametrize("tree", TREES)
def test_a_correct_student_tree_raises_no_alarm(reports, tree):
    report = reports[tree]

    assert alarms(report) == []
    assert sum(c.status == "pass" for c in report.checks) >= 90


def test_the_2017_adam_t_convention_is_named_not_alarmed(reports):
    """config.setdefault('t', 1) is the 2017 course's own line: said in the message, never a failure."""
    state = next(c for c in reports["y2017"].checks if c.id == "optim.adam.state")

    assert state.status in ("pass", "warn")
    assert "t starts at 1" in state.message


# ---------------------------------------------------------------- conventions named

EXPECTED_CONVENTIONS = {
    "loops": {"dropout_p": "keep", "dropout_rescales": True, "model_dtype": "float32",
              "fc_net_args": "dropout_keep_ratio+normalization", "optim_signature": "(w, dw, config)",
              "groupnorm_param_shape": "4d"},
    "vectorised": {"dropout_p": "keep", "fc_net_args": "dropout_keep_ratio+normalization",
                   "groupnorm_param_shape": "4d"},
    "float32": {"dropout_p": "keep", "dropout_rescales": True, "model_dtype": "float32",
                "fc_net_args": "dropout+normalization", "groupnorm_param_shape": "4d"},
    "y2017": {"dropout_p": "drop", "dropout_rescales": True, "model_dtype": "float32",
              "fc_net_args": "dropout+use_batchnorm",
              "optim_signature": "(w, dw, config) / (x, dx, config)"},
}


@pytest.mark.parametrize("tree", TREES)
def test_the_loader_names_each_trees_conventions(reports, tree):
    conventions = reports[tree].loading["conventions"]

    for key, value in EXPECTED_CONVENTIONS[tree].items():
        assert conventions.get(key) == value, key


def test_the_course_fast_layers_without_cython_are_substituted(reports):
    for tree in ("vectorised", "y2017"):
        substituted = {n for s in reports[tree].loading["substitutions"] for n in s["names"]}
        assert {"conv_forward_fast", "conv_backward_fast"} <= substituted
    assert reports["loops"].loading["substitutions"] == []


def test_a_substitution_says_whether_the_machine_or_the_course_file_is_at_fault(reports):
    """Missing Cython: "cannot run here". The course's own NameError (it calls an `im2col` it never
    defines): "the course's own fast_layers.py raises". Each module named once, and only those
    whose code uses the names (not the packages that re-export them by import *)."""
    substitutions = {s["names"][0]: s["message"] for s in reports["vectorised"].loading["substitutions"]}
    conv, pool = substitutions["conv_forward_fast"], substitutions["max_pool_forward_fast"]

    assert "cannot run here" in conv and "col2im_6d_cython" in conv
    assert "cannot run here" not in pool
    assert "the course's own fast_layers.py raises (NameError: name 'im2col' is not defined)" in pool
    for message in (conv, pool):
        modules = message.rpartition("used instead in ")[2].split(", ")
        assert len(modules) == len(set(modules))
        assert "cs231n.layer_utils" in modules
        assert "cs231n.classifiers" not in modules and "cs231n.classifiers.fc_net" not in modules


def test_only_the_course_data_utils_fails_to_import(reports):
    """data_utils.py needs imageio (six has a stand-in); it defines nothing checked: only a note."""
    for tree in TREES:
        problems = reports[tree].loading["problems"]
        assert {p["file"] for p in problems} <= {"cs231n/data_utils.py"}
        assert all(p.get("note") and "six" not in p["message"] for p in problems)


def test_output_printed_by_student_code_does_not_leak(capfd):
    # fast_layers.py prints the Cython instructions at import; Solver prints its progress.
    check(STUDENTS / "y2017", suites=["losses"])

    out, err = capfd.readouterr()
    assert "setup.py build_ext" not in out + err
    assert "Iteration" not in out + err


# ---------------------------------------------------------------- the trees really are correct
# An independent oracle for the hand-written layers: finite differences, not sanitykit's checks.

def _layer_cases(rng):
    x4 = rng.standard_normal((2, 4, 5, 5))
    w = rng.standard_normal((3, 4, 3, 3))
    b = rng.standard_normal(3)
    x2 = rng.standard_normal((6, 5))
    gamma, beta = rng.uniform(0.5, 2, 5), rng.standard_normal(5)
    return [
        ("conv_forward_naive", "conv_backward_naive", x4, (w, b, {"stride": 2, "pad": 1})),
        ("max_pool_forward_naive", "max_pool_backward_naive", x4,
         ({"pool_height": 2, "pool_width": 3, "stride": 1},)),
        ("batchnorm_forward", "batchnorm_backward", x2, (gamma, beta, {"mode": "train"})),
        ("batchnorm_forward", "batchnorm_backward_alt", x2, (gamma, beta, {"mode": "train"})),
        ("layernorm_forward", "layernorm_backward", x2, (gamma, beta, {})),
        ("spatial_groupnorm_forward", "spatial_groupnorm_backward", x4,
         (rng.uniform(0.5, 2, (1, 4, 1, 1)), rng.standard_normal((1, 4, 1, 1)), 2, {})),
    ]


@pytest.mark.parametrize("tree", TREES)
def test_each_trees_backward_passes_match_finite_differences(tree):
    target = load_target(STUDENTS / tree)
    rng = np.random.default_rng(0)
    try:
        for forward_name, backward_name, x, args in _layer_cases(rng):
            forward, backward = target.get(forward_name), target.get(backward_name)
            if forward is None:
                continue  # 2017 has no layernorm or groupnorm
            out, cache = forward(x, *args)
            dout = rng.standard_normal(out.shape)
            dx = backward(dout, cache)
            dx = dx[0] if isinstance(dx, tuple) else dx
            expected = numerical_gradient(lambda v: forward(v, *args)[0], x, dout)
            assert rel_error(dx, expected) < 1e-6, (tree, backward_name)
    finally:
        target.close()
