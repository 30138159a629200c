"""sanitykit.engine.training against hand-derived values and statistical bounds."""
from __future__ import annotations

import math

import numpy as np
import pytest

import sanitykit.reference as reference
from sanitykit.engine import training as tr


def test_log_uniform_stays_in_bounds_and_is_uniform_in_the_exponent():
    samples = tr.log_uniform(1e-6, 1e-2, np.random.default_rng(0), size=4000)
    assert samples.min() >= 1e-6 and samples.max() <= 1e-2
    exponents = np.log10(samples)
    # Uniform on [-6, -2]: mean -4, std 4 / sqrt(12); 5 standard errors of slack.
    assert abs(exponents.mean() + 4) < 5 * (4 / math.sqrt(12)) / math.sqrt(4000)
    assert abs(np.mean(exponents < -5) - 0.25) < 0.03


def test_log_uniform_rejects_bad_bounds():
    with pytest.raises(ValueError):
        tr.log_uniform(0.0, 1.0, np.random.default_rng(0))


@pytest.mark.parametrize("losses, verdict", [
    ([2.0, 2.0, 2.0, 2.0], tr.NO_PROGRESS),
    ([2.0, 1.5, 1.2, 1.0], tr.PROGRESS),
    ([2.0, 3.0, 7.0], tr.DIVERGED),          # above 3x the initial loss
    ([2.0, 1.0, float("nan")], tr.DIVERGED),
    ([2.0, float("inf")], tr.DIVERGED),
])
def test_classify_losses(losses, verdict):
    assert tr.classify_losses(losses) == verdict


def test_bracket_binary_search_finds_both_edges_of_a_known_window():
    # Oracle: progress exactly for 1e-3 <= lr <= 0.5, divergence above.
    def run_at(lr):
        if lr > 0.5:
            losses = [1.0, 10.0]
        elif lr >= 1e-3:
            losses = [1.0, 0.5, 0.4, 0.3]
        else:
            losses = [1.0, 1.0, 1.0]
        run = tr.TrainRun(lr)
        run.losses = losses
        return run

    bracket = tr.bracket_learning_rate(run_at, refine_steps=6)
    assert 1e-3 <= bracket.lower <= 1e-3 * 10 ** (1 / 64) * 1.0001
    assert 0.5 / 10 ** (1 / 64) / 1.0001 <= bracket.upper <= 0.5
    low, high = bracket.recommended
    assert bracket.lower <= low < high < bracket.upper
    assert bracket.verdict_at(1e6) == tr.DIVERGED


def test_bracket_without_progress_has_no_edges():
    def run_at(lr):
        run = tr.TrainRun(lr)
        run.losses = [1.0, 1.0, 1.0]
        return run

    bracket = tr.bracket_learning_rate(run_at)
    assert bracket.lower is None and bracket.upper is None and bracket.recommended is None
    assert len(bracket.runs) == 9  # 1e-7 .. 1e1, one per decade


class LinearModel:
    """scores = X @ W; loss = 0.5 * mean ||scores - 1||^2, so dW = X.T @ (scores - 1) / N by hand."""

    def __init__(self, W):
        self.params = {"W": W.copy()}

    def loss(self, X, y=None):
        scores = X @ self.params["W"]
        if y is None:
            return scores
        residual = scores - 1.0
        return 0.5 * np.mean(np.sum(residual**2, axis=1)), {"W": X.T @ residual / len(X)}


def test_update_ratio_of_sgd_is_lr_times_gradient_norm_over_weight_norm():
    rng = np.random.default_rng(0)
    X, W = rng.standard_normal((8, 3)), rng.standard_normal((3, 2))
    dW = X.T @ (X @ W - 1.0) / len(X)
    expected = 1e-3 * np.linalg.norm(dW) / np.linalg.norm(W)
    run = tr.train_run(LinearModel(W), X, np.zeros(8, dtype=int), update_rule=reference.sgd,
                       learning_rate=1e-3, num_iters=1)
    assert run.update_ratios["W"] == pytest.approx(expected, rel=1e-12)


def test_train_run_stops_once_diverged():
    rng = np.random.default_rng(0)
    X, W = rng.standard_normal((8, 3)), rng.standard_normal((3, 2))
    run = tr.train_run(LinearModel(W), X, np.zeros(8, dtype=int), update_rule=reference.sgd,
                       learning_rate=1e6, num_iters=50)
    assert run.verdict == tr.DIVERGED
    assert len(run.losses) < 50


def test_curve_departure_names_the_first_step():
    assert tr.curve_departure([1.0, 0.9, 0.8], [1.0, 0.9, 0.8]) is None
    assert tr.curve_departure([1.0, 0.9, 0.5], [1.0, 0.9, 0.8]) == 2
    assert tr.curve_departure([1.0, float("nan")], [1.0, 0.9]) == 1


def test_curve_departure_ignores_rounding_once_both_curves_have_converged():
    # Both runs reach ~1e-8 from 1.6: a factor 2 at that level is rounding, not a different rule.
    assert tr.curve_departure([1.6, 0.5, 1e-3, 2e-8], [1.6, 0.5, 1e-3, 1e-8]) is None
    # Before convergence a 3% gap is still a departure.
    assert tr.curve_departure([1.6, 0.515, 1e-3], [1.6, 0.5, 1e-3]) == 1


def test_depth_regime_thresholds_on_geometric_std_factor():
    def stats(stds):
        return [tr.LayerStats(i + 1, 0.0, s, 0.0, 0.0) for i, s in enumerate(stds)]

    assert tr.depth_regime(stats([1.0] * 10)) == tr.HOLDS
    assert tr.depth_regime(stats([0.7**i for i in range(10)])) == tr.SHRINKS
    assert tr.depth_regime(stats([0.2**i for i in range(10)])) == tr.COLLAPSES
    assert tr.depth_regime(stats([1.5**i for i in range(10)])) == tr.EXPLODES
    assert tr.depth_regime(stats([0.0] * 10)) == tr.COLLAPSES


def test_layer_stats_by_hand():
    out = np.array([[0.0, 1.0, 0.995], [0.0, -1.0, 0.0]])
    s = tr.layer_stats(1, out)
    assert s.mean == pytest.approx(0.995 / 6)
    assert s.dead_fraction == pytest.approx(1 / 3)       # column 0 is zero for both examples
    assert s.saturated_fraction == pytest.approx(3 / 6)  # 1, -1, 0.995


def test_relu_he_stack_holds_its_variance_as_the_theory_says():
    # He: Var(out) = 2 * fan_in * Var(w) * E[x^2] / 2 keeps E[x^2] fixed; the std of a ReLU of a
    # Gaussian with E[a^2] = 2 is sqrt(2 * (1/2 - 1/(2 pi))) ~ 0.83 at layer 1.
    profile = tr.deep_stack_profile(reference.affine_forward, reference.relu_forward, "relu", "he",
                                    num_layers=4, hidden_dim=300, batch=200)
    assert profile.stats[0].std == pytest.approx(math.sqrt(2 * (0.5 - 1 / (2 * math.pi))), rel=0.05)


def test_mean_fitted_on_tells_the_splits_apart():
    rng = np.random.default_rng(0)
    X_train, X_val = 1 + rng.standard_normal((30, 4)), -2 + rng.standard_normal((10, 4))
    assert tr.mean_fitted_on(X_val - X_train.mean(0), X_train, X_val) == "train"
    assert tr.mean_fitted_on(X_val - X_val.mean(0), X_train, X_val) == "val"
    assert tr.mean_fitted_on(X_val, X_train, X_val) == "nothing"


def test_coarse_to_fine_zooms_in_on_the_best_rate():
    # Validation accuracy peaks at lr = 1e-3 (a bump in log space).
    def score(hyperparams, epochs):
        return 0.0, math.exp(-(math.log10(hyperparams["learning_rate"]) + 3) ** 2)

    trials = tr.coarse_to_fine(score, {"learning_rate": (1e-6, 1e0)}, np.random.default_rng(0),
                               num_coarse=10, num_fine=10)
    assert [t.val_acc for t in trials] == sorted((t.val_acc for t in trials), reverse=True)
    fine = [t for t in trials if t.stage == "fine"]
    best_coarse = max((t for t in trials if t.stage == "coarse"), key=lambda t: t.val_acc)
    for t in fine:  # within sqrt(10) of the best coarse value
        ratio = t.hyperparams["learning_rate"] / best_coarse.hyperparams["learning_rate"]
        assert 10 ** -0.5 - 1e-9 <= ratio <= 10 ** 0.5 + 1e-9
    assert abs(math.log10(trials[0].hyperparams["learning_rate"]) + 3) < 0.5


def test_sparkline_draws_extremes_and_marks_nonfinite():
    line = tr.sparkline([3.0, 2.0, 1.0, float("nan")])
    assert line[0] == "█" and line[2] == "▁" and line[3] == "!"
    assert len(tr.sparkline(range(100), width=20)) == 20
    assert len(set(tr.sparkline([1.0, 1.0 + 1e-9, 1.0]))) == 1  # flat stays flat


def test_build_fc_net_restores_global_state_and_is_repeatable():
    np.random.seed(5)
    state = np.random.get_state()[1].copy()

    class CourseNet(reference.FullyConnectedNet):
        """A course-year signature: weights from np.random, old use_batchnorm flag, no seed."""

        def __init__(self, hidden_dims, input_dim=10, num_classes=3, use_batchnorm=False,
                     reg=0.0, weight_scale=1e-2, dtype=np.float32):
            super().__init__(hidden_dims, input_dim, num_classes, reg=reg, weight_scale=weight_scale,
                             dtype=dtype, normalization="batchnorm" if use_batchnorm else None)

    a = tr.build_fc_net(CourseNet, [7], 10, 3, weight_scale=0.1, normalization="batchnorm", seed=1)
    b = tr.build_fc_net(CourseNet, [7], 10, 3, weight_scale=0.1, normalization="batchnorm", seed=1)
    assert np.array_equal(a.params["W1"], b.params["W1"]) and "gamma1" in a.params
    assert a.params["W1"].dtype == np.float64
    assert np.array_equal(np.random.get_state()[1], state)
