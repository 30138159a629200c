"""Reference update rules against first steps derived by hand, and their config protocol."""
import numpy as np
import pytest

from sanitykit import rel_error
from sanitykit.reference.optim import adam, rmsprop, sgd, sgd_momentum


@pytest.fixture
def w_dw():
    rng = np.random.default_rng(0)
    return rng.standard_normal((4, 5)), rng.standard_normal((4, 5))


def test_sgd_step_is_learning_rate_times_gradient(w_dw):
    w, dw = w_dw
    next_w, config = sgd(w, dw)
    assert config["learning_rate"] == 1e-2
    assert rel_error(next_w, w - 0.01 * dw) < 1e-12


def test_sgd_momentum_first_two_steps_and_velocity(w_dw):
    w, dw = w_dw
    next_w, config = sgd_momentum(w, dw, {"learning_rate": 0.1})
    assert config["momentum"] == 0.9
    # First step from zero velocity: v = -lr dw.
    assert rel_error(config["velocity"], -0.1 * dw) < 1e-12
    assert rel_error(next_w, w - 0.1 * dw) < 1e-12
    dw2 = np.full_like(dw, 0.5)
    next_w2, config = sgd_momentum(next_w, dw2, config)
    v2 = 0.9 * (-0.1 * dw) - 0.1 * dw2
    assert rel_error(config["velocity"], v2) < 1e-12
    assert rel_error(next_w2, next_w + v2) < 1e-12


def test_rmsprop_first_step_and_cache(w_dw):
    w, dw = w_dw
    next_w, config = rmsprop(w, dw)
    assert (config["learning_rate"], config["decay_rate"], config["epsilon"]) == (1e-2, 0.99, 1e-8)
    # cache = (1 - 0.99) dw^2, so sqrt(cache) = 0.1 |dw|: the step is about lr * 10 * sign(dw).
    assert rel_error(config["cache"], 0.01 * dw**2) < 1e-12
    assert rel_error(next_w, w - 0.01 * dw / (0.1 * np.abs(dw) + 1e-8)) < 1e-10


def test_rmsprop_cache_decays(w_dw):
    w, dw = w_dw
    _, config = rmsprop(w, dw, {"cache": np.ones_like(w), "decay_rate": 0.5})
    assert rel_error(config["cache"], 0.5 + 0.5 * dw**2) < 1e-12


def test_adam_first_step_is_bias_corrected(w_dw):
    w, dw = w_dw
    next_w, config = adam(w, dw)
    # t = 1 after the increment: m_hat = dw and v_hat = dw^2, so the step is lr dw / (|dw| + eps).
    assert config["t"] == 1
    assert rel_error(config["m"], 0.1 * dw) < 1e-12
    assert rel_error(config["v"], 0.001 * dw**2) < 1e-12
    assert rel_error(next_w, w - 1e-3 * dw / (np.abs(dw) + 1e-8)) < 1e-10


def test_adam_second_step_by_hand():
    w, dw1, dw2 = np.array([1.0]), np.array([2.0]), np.array([-1.0])
    w1, config = adam(w, dw1, {"learning_rate": 0.1})
    w2, config = adam(w1, dw2, config)
    m = 0.9 * 0.2 + 0.1 * -1.0          # 0.08
    v = 0.999 * 0.004 + 0.001 * 1.0     # 0.004996
    m_hat, v_hat = m / (1 - 0.9**2), v / (1 - 0.999**2)
    w1_by_hand = 1.0 - 0.1 * 2.0 / (2.0 + 1e-8)   # first step: lr dw / (|dw| + eps)
    expected = w1_by_hand - 0.1 * m_hat / (np.sqrt(v_hat) + 1e-8)
    assert config["t"] == 2
    assert rel_error(w1, np.array([w1_by_hand])) < 1e-12
    assert rel_error(w2, np.array([expected])) < 1e-12


@pytest.mark.parametrize("rule", [sgd, sgd_momentum, rmsprop, adam])
def test_rule_does_not_mutate_inputs_and_accepts_no_config(rule, w_dw):
    w, dw = w_dw
    w0, dw0 = w.copy(), dw.copy()
    next_w, config = rule(w, dw)
    assert isinstance(config, dict) and next_w.shape == w.shape
    assert np.array_equal(w, w0) and np.array_equal(dw, dw0)


@pytest.mark.parametrize("rule, lr", [(sgd, 0.1), (sgd_momentum, 0.05), (rmsprop, 0.05), (adam, 0.05)])
def test_rule_descends_a_quadratic_bowl(rule, lr):
    w = np.array([3.0, -2.0, 1.0])
    scales = np.array([1.0, 2.0, 0.5])   # loss = 0.5 sum(scales w^2), gradient scales * w
    config = {"learning_rate": lr}
    for _ in range(200):
        w, config = rule(w, scales * w, config)
    assert 0.5 * np.sum(scales * w**2) < 1e-2 * 0.5 * np.sum(scales * np.array([9.0, 4.0, 1.0]))
