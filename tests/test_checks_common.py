"""Shared check helpers: what user code returned, array comparisons with a pattern, mutation, inputs."""
from __future__ import annotations

import numpy as np
import pytest

from sanitykit.checks.common import (
    away_from_zero, compare_arrays, deterministic, distinct_values, dtype_problem, elements_wrong,
    expect_array, global_random_preserved, inputs_unchanged, shape_problem, unpack,
)
from sanitykit.engine.usercode import NotImplementedYet, UserCodeError


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_unpack_names_what_came_back():
    assert unpack((1, 2), ("out", "cache"), "f") == (1, 2)
    with pytest.raises(NotImplementedYet, match="returned None"):
        unpack(None, ("out", "cache"), "f")
    with pytest.raises(UserCodeError, match=r"f returned an ndarray of shape \(2, 3\).*\(out, cache\)"):
        unpack(np.zeros((2, 3)), ("out", "cache"), "f")
    with pytest.raises(UserCodeError, match=r"a tuple of 2, expected 3 values \(dx, dw, db\)"):
        unpack((1, 2), ("dx", "dw", "db"), "affine_backward")


def test_expect_array_tells_stub_from_garbage():
    a = np.zeros(3)
    assert expect_array(a, "out", subject="f") is a
    with pytest.raises(NotImplementedYet, match="out = None"):
        expect_array(None, "out", subject="f")
    with pytest.raises(UserCodeError, match="returned dw as a list of 2, expected a numpy array"):
        expect_array([1.0, 2.0], "dw", subject="f")


def test_shape_and_dtype_problems_are_failures_with_hints():
    assert shape_problem(np.zeros((5, 3)), "dw", (5, 3), subject="affine_backward") is None
    outcome = shape_problem(np.zeros((3, 5)), "dw", (5, 3), subject="affine_backward")
    assert outcome.status == "fail"
    assert outcome.message == "affine_backward returned dw of shape (3, 5), expected (5, 3)"
    assert "transposed" in outcome.hint
    assert dtype_problem(np.zeros(2), "out", subject="f") is None
    assert "float32" in dtype_problem(np.zeros(2, np.float32), "out", subject="f").message


def test_compare_arrays_passes_round_off_and_names_the_worst_element(rng):
    expected = rng.standard_normal((4, 5))
    assert compare_arrays(expected * (1 + 1e-13), expected, "out", subject="f").status == "pass"
    got = expected.copy()
    got[2, 3] += 0.5
    outcome = compare_arrays(got, expected, "out", subject="f")
    assert outcome.status == "fail"
    assert "1 / 20 elements" in outcome.message and "out[2, 3]" in outcome.message
    assert outcome.details["worst"] == "out[2, 3]"


def test_elements_near_zero_in_both_are_not_counted_wrong():
    expected = np.array([1e3, 1e-14])
    assert not elements_wrong(np.array([1e3, -1e-14]), expected).any()


@pytest.mark.parametrize("transform, words", [
    (lambda e: 2 * e, "2 x the expected value"),
    (lambda e: e / 8, "1/8 x the expected value"),
    (lambda e: -e, "sign flipped"),
    (lambda e: np.zeros_like(e), "all zeros"),
    (lambda e: e + 0.25, "same constant 0.25"),
    (lambda e: e + np.arange(e.shape[1]), "same amount in every row"),
    (lambda e: np.where(e > 0, e, 0.0), "only where the expected value is <= 0"),
    (lambda e: np.where(e > 0, np.nan, e), "NaN"),
])
def test_compare_arrays_names_the_pattern(rng, transform, words):
    expected = rng.standard_normal((4, 6))
    outcome = compare_arrays(transform(expected), expected, "out", subject="f")
    assert outcome.status == "fail"
    assert words in outcome.message


def test_compare_arrays_recognises_a_transposed_result(rng):
    expected = rng.standard_normal((4, 6))
    outcome = compare_arrays(expected.T.copy(), expected, "dw", subject="affine_backward")
    assert outcome.status == "fail" and "transposed" in outcome.message


def test_inputs_unchanged_catches_in_place_updates(rng):
    x = rng.standard_normal((3, 3))
    assert inputs_unchanged(lambda: x + 1, {"x": x}, subject="f") is None

    def relu_in_place():
        x[x < 0] = 0

    outcome = inputs_unchanged(relu_in_place, {"x": x, "bn_param": {}}, subject="relu_forward")
    assert outcome.status == "fail" and "modified its input x in place" in outcome.message


def test_deterministic_catches_hidden_state():
    assert deterministic(lambda: np.ones(3), subject="f") is None
    counter = iter(range(10))
    assert deterministic(lambda: np.full(3, next(counter)), subject="f").status == "fail"


def test_random_inputs_keep_away_from_kinks_and_ties(rng):
    x = away_from_zero(rng, 50, 40, margin=0.1)
    assert np.abs(x).min() >= 0.1 and 0.3 < (x < 0).mean() < 0.7
    d = distinct_values(rng, 2, 3, 4, 4)
    assert d.dtype == np.float64 and len(np.unique(d)) == d.size
    assert np.diff(np.sort(d.ravel())).min() >= 1e-2 - 1e-12


def test_global_random_state_is_restored():
    before = np.random.get_state()[1].copy()
    with global_random_preserved():
        np.random.seed(123)
        np.random.rand(5)
    assert np.array_equal(np.random.get_state()[1], before)
