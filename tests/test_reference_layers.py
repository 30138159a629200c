"""The reference layers against independent oracles: numerical gradients, hand-computed values, statistical bounds."""
import math

import numpy as np
import pytest

from sanitykit import numerical_gradient, rel_error
from sanitykit.reference import fast_layers, layer_utils, layers

GRAD_TOL = 1e-7
SAME_TOL = 1e-10


# ---------------------------------------------------------------- inputs

def away_from_zero(x, gap=0.05):
    """Shift every element at least `gap` from 0, so ReLU-like kinks are far beyond the step h."""
    return np.where(x >= 0, x + gap, x - gap)


def distinct_values(rng, shape, spacing=0.01):
    """Values that differ pairwise by >= spacing, so no max-pool window has a (near) tie."""
    size = int(np.prod(shape))
    return (rng.permutation(size) * spacing - size * spacing / 2).reshape(shape)


def conv_args(rng, N=2, C=3, H=5, W=5, F=3, k=3, stride=1, pad=1):
    """x, w, b and conv_param for a small convolution."""
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((F, C, k, k))
    b = rng.standard_normal(F)
    return x, w, b, {"stride": stride, "pad": pad}


def pool_param(ph, pw, stride):
    """A pool_param dict."""
    return {"pool_height": ph, "pool_width": pw, "stride": stride}


def conv_bn_relu_args(rng):
    """Arguments of conv_bn_relu_forward: x, w, b, gamma, beta, conv_param, bn_param."""
    x, w, b, conv_param = conv_args(rng, H=4, W=4)
    return [x, w, b, rng.standard_normal(3), rng.standard_normal(3), conv_param, {"mode": "train"}]


def single(backward):
    """Wrap a backward that returns dx alone so it returns (dx,) like the others."""
    return lambda dout, cache: (backward(dout, cache),)


# Each case: rng -> (forward, backward returning a tuple, args); the backward's gradients
# belong to the first len(grads) args, in order (the course's convention).
LAYER_CASES = {
    "affine": lambda rng: (layers.affine_forward, layers.affine_backward,
                           [rng.standard_normal((3, 2, 3)), rng.standard_normal((6, 4)), rng.standard_normal(4)]),
    "relu": lambda rng: (layers.relu_forward, single(layers.relu_backward),
                         [away_from_zero(rng.standard_normal((3, 4)))]),
    "leaky_relu": lambda rng: (layers.leaky_relu_forward, single(layers.leaky_relu_backward),
                               [away_from_zero(rng.standard_normal((3, 4))), 0.1]),
    "sigmoid": lambda rng: (layers.sigmoid_forward, single(layers.sigmoid_backward),
                            [3 * rng.standard_normal((3, 4))]),
    "tanh": lambda rng: (layers.tanh_forward, single(layers.tanh_backward), [rng.standard_normal((3, 4))]),
    "batchnorm": lambda rng: (layers.batchnorm_forward, layers.batchnorm_backward,
                              [rng.standard_normal((4, 5)), rng.standard_normal(5), rng.standard_normal(5),
                               {"mode": "train"}]),
    "batchnorm_alt": lambda rng: (layers.batchnorm_forward, layers.batchnorm_backward_alt,
                                  [rng.standard_normal((4, 5)), rng.standard_normal(5), rng.standard_normal(5),
                                   {"mode": "train"}]),
    "layernorm": lambda rng: (layers.layernorm_forward, layers.layernorm_backward,
                              [rng.standard_normal((3, 5)), rng.standard_normal(5), rng.standard_normal(5), {}]),
    "dropout": lambda rng: (layers.dropout_forward, single(layers.dropout_backward),
                            [rng.standard_normal((4, 5)), {"p": 0.6, "mode": "train", "seed": 3}]),
    "dropout_test": lambda rng: (layers.dropout_forward, single(layers.dropout_backward),
                                 [rng.standard_normal((4, 5)), {"p": 0.6, "mode": "test"}]),
    "conv_naive": lambda rng: (layers.conv_forward_naive, layers.conv_backward_naive, list(conv_args(rng))),
    "conv_naive_stride2": lambda rng: (layers.conv_forward_naive, layers.conv_backward_naive,
                                       list(conv_args(rng, H=6, W=5, stride=2, pad=0))),
    "conv_fast": lambda rng: (fast_layers.conv_forward_fast, fast_layers.conv_backward_fast,
                              list(conv_args(rng, stride=2, pad=2))),
    "max_pool_naive": lambda rng: (layers.max_pool_forward_naive, single(layers.max_pool_backward_naive),
                                   [distinct_values(rng, (2, 2, 5, 5)), pool_param(3, 2, 2)]),
    "max_pool_fast_reshape": lambda rng: (fast_layers.max_pool_forward_fast, single(fast_layers.max_pool_backward_fast),
                                          [distinct_values(rng, (2, 2, 4, 6)), pool_param(2, 2, 2)]),
    "max_pool_fast_im2col": lambda rng: (fast_layers.max_pool_forward_fast, single(fast_layers.max_pool_backward_fast),
                                         [distinct_values(rng, (2, 2, 5, 5)), pool_param(3, 3, 1)]),
    "spatial_batchnorm": lambda rng: (layers.spatial_batchnorm_forward, layers.spatial_batchnorm_backward,
                                      [rng.standard_normal((2, 3, 3, 2)), rng.standard_normal(3),
                                       rng.standard_normal(3), {"mode": "train"}]),
    "spatial_groupnorm": lambda rng: (layers.spatial_groupnorm_forward, layers.spatial_groupnorm_backward,
                                      [rng.standard_normal((2, 4, 3, 2)), rng.standard_normal((1, 4, 1, 1)),
                                       rng.standard_normal((1, 4, 1, 1)), 2, {}]),
    "spatial_groupnorm_flat_gamma": lambda rng: (layers.spatial_groupnorm_forward, layers.spatial_groupnorm_backward,
                                                 [rng.standard_normal((2, 6, 2, 2)), rng.standard_normal(6),
                                                  rng.standard_normal(6), 3, {"eps": 1e-4}]),
    "affine_relu": lambda rng: (layer_utils.affine_relu_forward, layer_utils.affine_relu_backward,
                                [rng.standard_normal((3, 2, 2)), rng.standard_normal((4, 5)), rng.standard_normal(5)]),
    "affine_bn_relu": lambda rng: (layer_utils.affine_bn_relu_forward, layer_utils.affine_bn_relu_backward,
                                   [rng.standard_normal((4, 3)), rng.standard_normal((3, 5)), rng.standard_normal(5),
                                    rng.standard_normal(5), rng.standard_normal(5), {"mode": "train"}]),
    "affine_ln_relu": lambda rng: (layer_utils.affine_ln_relu_forward, layer_utils.affine_ln_relu_backward,
                                   [rng.standard_normal((4, 3)), rng.standard_normal((3, 5)), rng.standard_normal(5),
                                    rng.standard_normal(5), rng.standard_normal(5), {}]),
    "conv_relu": lambda rng: (layer_utils.conv_relu_forward, layer_utils.conv_relu_backward,
                              list(conv_args(rng, H=4, W=4))),
    "conv_relu_pool": lambda rng: (layer_utils.conv_relu_pool_forward, layer_utils.conv_relu_pool_backward,
                                   [*conv_args(rng, H=4, W=4), pool_param(2, 2, 2)]),
    "conv_bn_relu": lambda rng: (layer_utils.conv_bn_relu_forward, layer_utils.conv_bn_relu_backward,
                                 conv_bn_relu_args(rng)),
}


# A bias followed by batchnorm is cancelled by the mean subtraction: its true gradient is 0,
# where rel_error only compares rounding noise (1e-11 against 1e-19), so it is checked as zero.
ZERO_GRADIENTS = {("affine_bn_relu", 2), ("conv_bn_relu", 2)}


# ---------------------------------------------------------------- gradients of every input

@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_backward_matches_numerical_gradient_of_every_input(name):
    forward, backward, args = LAYER_CASES[name](np.random.default_rng(0))
    out, cache = forward(*args)
    dout = np.random.default_rng(1).standard_normal(out.shape)
    grads = backward(dout, cache)
    assert len(grads) >= 1
    for i, grad in enumerate(grads):
        # copy: a forward may return its input itself (dropout in test mode)
        numerical = numerical_gradient(lambda _: np.array(forward(*args)[0]), args[i], dout)
        assert grad.shape == args[i].shape, f"{name}: gradient {i} has shape {grad.shape}"
        if (name, i) in ZERO_GRADIENTS:
            assert np.allclose(grad, 0, atol=1e-12) and np.allclose(numerical, 0, atol=1e-8)
        else:
            assert rel_error(grad, numerical) < GRAD_TOL, f"{name}: gradient {i} off by {rel_error(grad, numerical)}"


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_layers_do_not_modify_their_inputs(name):
    forward, backward, args = LAYER_CASES[name](np.random.default_rng(0))
    arrays = [(a, a.copy()) for a in args if isinstance(a, np.ndarray)]
    out, cache = forward(*args)
    backward(np.ones_like(out), cache)
    for array, original in arrays:
        assert np.array_equal(array, original)


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_float32_in_gives_float32_out(name):
    forward, backward, args = LAYER_CASES[name](np.random.default_rng(0))
    args32 = [a.astype(np.float32) if isinstance(a, np.ndarray) else a for a in args]
    out, cache = forward(*args32)
    grads = backward(np.ones_like(out), cache)
    assert out.dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads)


@pytest.mark.parametrize("loss_fn", [layers.svm_loss, layers.softmax_loss])
def test_loss_gradient_matches_numerical_gradient(loss_fn):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 5))
    y = rng.integers(0, 5, size=4)
    _, dx = loss_fn(x, y)
    numerical = numerical_gradient(lambda x: loss_fn(x, y)[0], x)
    assert rel_error(dx, numerical) < GRAD_TOL


@pytest.mark.parametrize("loss_fn", [layers.svm_loss, layers.softmax_loss])
def test_losses_keep_float32(loss_fn):
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    _, dx = loss_fn(x, np.array([0, 1, 3]))
    assert dx.dtype == np.float32


# ---------------------------------------------------------------- affine and activations

def test_affine_reshapes_each_sample_of_a_4d_input():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4, 5))
    w = rng.standard_normal((60, 7))
    b = rng.standard_normal(7)
    out, cache = layers.affine_forward(x, w, b)
    expected = np.einsum("nijk,ijkm->nm", x, w.reshape(3, 4, 5, 7)) + b
    assert rel_error(out, expected) < SAME_TOL
    dx, dw, db = layers.affine_backward(np.ones((2, 7)), cache)
    assert dx.shape == x.shape and dw.shape == w.shape and db.shape == b.shape
    # with dout all ones: dx[n] = sum of w's columns, db = N
    assert rel_error(dx[1], w.sum(axis=1).reshape(3, 4, 5)) < SAME_TOL
    assert np.array_equal(db, np.full(7, 2.0))


def test_relu_gradient_is_zero_at_and_below_the_kink():
    x = np.array([[-2.0, 0.0, 3.0]])
    out, cache = layers.relu_forward(x)
    assert np.array_equal(out, [[0.0, 0.0, 3.0]])
    assert np.array_equal(layers.relu_backward(np.ones_like(x), cache), [[0.0, 0.0, 1.0]])


def test_leaky_relu_scales_negative_inputs_by_alpha():
    x = np.array([-2.0, 0.5])
    out, cache = layers.leaky_relu_forward(x)  # default alpha 0.01
    assert np.allclose(out, [-0.02, 0.5])
    assert np.allclose(layers.leaky_relu_backward(np.ones(2), cache), [0.01, 1.0])


def test_sigmoid_is_finite_and_saturates_for_huge_inputs():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out, _ = layers.sigmoid_forward(np.array([-1000.0, 0.0, 1000.0]))
    assert np.array_equal(out, [0.0, 0.5, 1.0])


def test_tanh_matches_its_definition():
    x = np.array([-1.5, 0.0, 0.7])
    out, _ = layers.tanh_forward(x)
    assert np.allclose(out, (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x)))


# ---------------------------------------------------------------- batchnorm, layernorm, groupnorm

def test_batchnorm_backward_and_alt_agree():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 4)) * 3 + 1
    out, cache = layers.batchnorm_forward(x, rng.standard_normal(4), rng.standard_normal(4), {"mode": "train"})
    dout = rng.standard_normal(out.shape)
    for graph, alt in zip(layers.batchnorm_backward(dout, cache), layers.batchnorm_backward_alt(dout, cache)):
        assert rel_error(graph, alt) < SAME_TOL


def test_batchnorm_train_output_has_mean_beta_and_std_gamma():
    rng = np.random.default_rng(0)
    x = 5 + 4 * rng.standard_normal((50, 3))
    gamma, beta = np.array([1.0, 2.0, 3.0]), np.array([0.0, -1.0, 11.0])
    out, _ = layers.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    assert np.allclose(out.mean(axis=0), beta, atol=1e-10)
    # eps = 1e-5 against a variance of ~16 shrinks the std by about 3e-7
    assert np.allclose(out.std(axis=0), gamma, rtol=1e-5)


def test_batchnorm_running_averages_follow_the_momentum_formula():
    rng = np.random.default_rng(0)
    x1, x2 = rng.standard_normal((8, 3)), 2 + rng.standard_normal((8, 3))
    gamma, beta = np.ones(3), np.zeros(3)
    bn_param = {"mode": "train", "momentum": 0.8}
    layers.batchnorm_forward(x1, gamma, beta, bn_param)
    assert np.allclose(bn_param["running_mean"], 0.2 * x1.mean(axis=0))
    assert np.allclose(bn_param["running_var"], 0.2 * x1.var(axis=0))
    layers.batchnorm_forward(x2, gamma, beta, bn_param)
    assert np.allclose(bn_param["running_mean"], 0.8 * 0.2 * x1.mean(axis=0) + 0.2 * x2.mean(axis=0))
    assert np.allclose(bn_param["running_var"], 0.8 * 0.2 * x1.var(axis=0) + 0.2 * x2.var(axis=0))


def test_batchnorm_default_momentum_is_0_9_and_running_stats_take_x_dtype():
    x = np.random.default_rng(0).standard_normal((5, 2)).astype(np.float32)
    bn_param = {"mode": "train"}
    layers.batchnorm_forward(x, np.ones(2, np.float32), np.zeros(2, np.float32), bn_param)
    assert bn_param["running_mean"].dtype == np.float32
    assert np.allclose(bn_param["running_mean"], 0.1 * x.mean(axis=0), atol=1e-6)


def test_batchnorm_test_mode_uses_running_statistics():
    x = np.array([[1.0, 2.0], [3.0, -4.0]])
    gamma, beta = np.array([2.0, 0.5]), np.array([1.0, -1.0])
    bn_param = {"mode": "test", "running_mean": np.array([1.0, -2.0]), "running_var": np.array([4.0, 9.0]),
                "eps": 0.0}
    out, _ = layers.batchnorm_forward(x, gamma, beta, bn_param)
    # by hand: (x - mean) / sqrt(var) * gamma + beta
    assert np.allclose(out, [[1.0, -1.0 / 3.0], [3.0, -4.0 / 3.0]])
    assert np.array_equal(bn_param["running_mean"], [1.0, -2.0])  # test mode leaves them alone


def test_layernorm_normalises_each_sample_over_its_features():
    x = 3 + 2 * np.random.default_rng(0).standard_normal((3, 40))
    out, _ = layers.layernorm_forward(x, np.ones(40), np.zeros(40), {})
    assert np.allclose(out.mean(axis=1), 0, atol=1e-10)
    assert np.allclose(out.std(axis=1), 1, rtol=1e-5)


def test_spatial_batchnorm_normalises_each_channel_over_batch_and_pixels():
    x = 2 + 3 * np.random.default_rng(0).standard_normal((4, 3, 5, 5))
    gamma, beta = np.array([1.0, 2.0, 0.5]), np.array([0.0, 3.0, -2.0])
    out, _ = layers.spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})
    assert np.allclose(out.mean(axis=(0, 2, 3)), beta, atol=1e-10)
    assert np.allclose(out.std(axis=(0, 2, 3)), gamma, rtol=1e-5)


def test_spatial_groupnorm_normalises_each_group_of_each_sample():
    x = 2 + 3 * np.random.default_rng(0).standard_normal((2, 6, 4, 4))
    gamma, beta = np.ones((1, 6, 1, 1)), np.zeros((1, 6, 1, 1))
    out, _ = layers.spatial_groupnorm_forward(x, gamma, beta, 3, {})
    groups = out.reshape(2, 3, 2, 4, 4)  # (N, G, C/G, H, W)
    assert np.allclose(groups.mean(axis=(2, 3, 4)), 0, atol=1e-10)
    assert np.allclose(groups.std(axis=(2, 3, 4)), 1, rtol=1e-5)


def test_spatial_groupnorm_returns_gradients_in_gammas_shape():
    x = np.random.default_rng(0).standard_normal((2, 4, 2, 2))
    for shape in [(1, 4, 1, 1), (4,)]:
        out, cache = layers.spatial_groupnorm_forward(x, np.ones(shape), np.zeros(shape), 2, {})
        _, dgamma, dbeta = layers.spatial_groupnorm_backward(np.ones_like(out), cache)
        assert dgamma.shape == shape and dbeta.shape == shape


# ---------------------------------------------------------------- dropout

def binomial_bound(p, n, sigmas=5):
    """`sigmas` standard deviations of the kept fraction of n units kept with probability p."""
    return sigmas * math.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("p", [0.25, 0.5, 0.9])
def test_dropout_keeps_about_p_of_the_units_and_preserves_the_mean(p):
    n = 100_000
    x = np.ones((100, 1000))
    out, _ = layers.dropout_forward(x, {"p": p, "mode": "train", "seed": 0})
    keep_ratio = np.mean(out != 0)
    assert abs(keep_ratio - p) < binomial_bound(p, n)
    # kept units are scaled by 1/p, so mean(out) = keep_ratio / p, with std of keep_ratio over p
    assert np.allclose(out[out != 0], 1 / p)
    assert abs(out.mean() - 1.0) < binomial_bound(p, n) / p


def test_dropout_test_mode_is_the_identity():
    x = np.random.default_rng(0).standard_normal((3, 4))
    out, cache = layers.dropout_forward(x, {"p": 0.3, "mode": "test"})
    assert np.array_equal(out, x)
    dout = np.ones_like(x)
    assert np.array_equal(layers.dropout_backward(dout, cache), dout)


def test_dropout_same_seed_gives_same_mask_and_other_seed_another():
    x = np.ones((20, 30))
    first, _ = layers.dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 7})
    again, _ = layers.dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 7})
    other, _ = layers.dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 8})
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_dropout_seeded_mask_is_the_courses_global_seed_mask_and_global_state_is_untouched():
    x = np.ones((6, 7))
    p, seed = 0.4, 123
    saved = np.random.get_state()
    try:
        np.random.seed(seed)
        course_mask = np.random.rand(*x.shape) < p
        np.random.seed(99)
        before = np.random.get_state()[1].copy()
        out, _ = layers.dropout_forward(x, {"p": p, "mode": "train", "seed": seed})
        assert np.array_equal(np.random.get_state()[1], before)
    finally:
        np.random.set_state(saved)
    assert np.array_equal(out != 0, course_mask)


def test_dropout_backward_uses_the_forward_mask():
    x = np.random.default_rng(0).standard_normal((5, 6))
    out, cache = layers.dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 1})
    dx = layers.dropout_backward(np.ones_like(x), cache)
    assert np.array_equal(dx != 0, out != 0)
    assert np.allclose(dx[dx != 0], 2.0)


# ---------------------------------------------------------------- losses

def test_softmax_is_finite_on_huge_scores():
    x = np.array([[1e4, 0.0, 0.0], [0.0, 1e4, -1e4]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss_right, dx = layers.softmax_loss(x, np.array([0, 1]))
        loss_wrong, _ = layers.softmax_loss(x, np.array([1, 0]))
    assert np.isfinite(dx).all()
    assert loss_right == pytest.approx(0.0, abs=1e-12)
    assert loss_wrong == pytest.approx(1e4)  # -log softmax = margin to the max score, averaged over N


@pytest.mark.parametrize("C", [3, 10])
def test_losses_on_zero_scores(C):
    x, y = np.zeros((4, C)), np.arange(4) % C
    assert layers.softmax_loss(x, y)[0] == pytest.approx(math.log(C))
    assert layers.svm_loss(x, y)[0] == pytest.approx(C - 1)


def test_svm_loss_by_hand():
    x = np.array([[3.0, 2.5, -1.0]])
    # margins: 2.5 - 3 + 1 = 0.5, -1 - 3 + 1 < 0
    loss, dx = layers.svm_loss(x, np.array([0]))
    assert loss == pytest.approx(0.5)
    assert np.array_equal(dx, [[-1.0, 1.0, 0.0]])


# ---------------------------------------------------------------- conv and pool: values by hand, naive vs fast

@pytest.mark.parametrize("forward", [layers.conv_forward_naive, fast_layers.conv_forward_fast])
def test_conv_of_ones_counts_the_overlap_with_the_padded_input(forward):
    x, w, b = np.ones((1, 1, 3, 3)), np.ones((1, 1, 3, 3)), np.array([0.5])
    out, _ = forward(x, w, b, {"stride": 1, "pad": 1})
    assert np.array_equal(out[0, 0], np.array([[4, 6, 4], [6, 9, 6], [4, 6, 4]]) + 0.5)
    out, _ = forward(x, w, b, {"stride": 2, "pad": 1})
    assert np.array_equal(out[0, 0], np.full((2, 2), 4.5))


@pytest.mark.parametrize("forward", [layers.max_pool_forward_naive, fast_layers.max_pool_forward_fast])
def test_max_pool_by_hand(forward):
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    out, _ = forward(x, pool_param(2, 2, 2))
    assert np.array_equal(out[0, 0], [[5, 7], [13, 15]])
    out, _ = forward(x, pool_param(3, 3, 1))
    assert np.array_equal(out[0, 0], [[10, 11], [14, 15]])


@pytest.mark.parametrize("H, W, k, stride, pad", [(5, 5, 3, 1, 1), (6, 5, 3, 2, 0), (7, 7, 3, 2, 1),
                                                  (8, 8, 5, 3, 2), (4, 6, 1, 1, 0)])
def test_fast_conv_agrees_with_naive(H, W, k, stride, pad):
    rng = np.random.default_rng(0)
    x, w, b, conv_param = conv_args(rng, N=3, H=H, W=W, F=4, k=k, stride=stride, pad=pad)
    naive_out, naive_cache = layers.conv_forward_naive(x, w, b, conv_param)
    fast_out, fast_cache = fast_layers.conv_forward_fast(x, w, b, conv_param)
    assert rel_error(naive_out, fast_out) < SAME_TOL
    dout = rng.standard_normal(naive_out.shape)
    for naive, fast in zip(layers.conv_backward_naive(dout, naive_cache), fast_layers.conv_backward_fast(dout, fast_cache)):
        assert rel_error(naive, fast) < SAME_TOL


def test_im2col_names_are_the_fast_conv():
    assert fast_layers.conv_forward_im2col is fast_layers.conv_forward_fast
    assert fast_layers.conv_backward_im2col is fast_layers.conv_backward_fast


@pytest.mark.parametrize("shape, ph, pw, stride, method", [
    ((2, 3, 8, 8), 2, 2, 2, "reshape"), ((2, 3, 6, 9), 3, 3, 3, "reshape"),
    ((2, 3, 7, 7), 3, 3, 2, "im2col"), ((2, 3, 8, 6), 2, 3, 1, "im2col"), ((2, 3, 7, 8), 2, 2, 2, "im2col"),
])
@pytest.mark.parametrize("ties", [False, True])
def test_fast_max_pool_agrees_with_naive_even_with_ties(shape, ph, pw, stride, method, ties):
    rng = np.random.default_rng(0)
    # integers in 0..2 make most windows tie; both versions must pick the same (first) argmax
    x = rng.integers(0, 3, size=shape).astype(float) if ties else rng.standard_normal(shape)
    naive_out, naive_cache = layers.max_pool_forward_naive(x, pool_param(ph, pw, stride))
    fast_out, fast_cache = fast_layers.max_pool_forward_fast(x, pool_param(ph, pw, stride))
    assert fast_cache[0] == method
    assert rel_error(naive_out, fast_out) < SAME_TOL
    dout = rng.standard_normal(naive_out.shape)
    assert rel_error(layers.max_pool_backward_naive(dout, naive_cache),
                     fast_layers.max_pool_backward_fast(dout, fast_cache)) < SAME_TOL


def test_max_pool_backward_sends_each_windows_gradient_to_one_element_only():
    x = np.ones((1, 1, 2, 2))  # one window, four-way tie
    out, cache = layers.max_pool_forward_naive(x, pool_param(2, 2, 2))
    dx = layers.max_pool_backward_naive(np.array([[[[3.0]]]]), cache)
    assert np.array_equal(dx[0, 0], [[3.0, 0.0], [0.0, 0.0]])


# ---------------------------------------------------------------- sandwich layers

def test_affine_bn_relu_updates_the_running_statistics():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((6, 3)), rng.standard_normal((3, 4))
    bn_param = {"mode": "train"}
    layer_utils.affine_bn_relu_forward(x, w, np.zeros(4), np.ones(4), np.zeros(4), bn_param)
    assert np.allclose(bn_param["running_mean"], 0.1 * (x @ w).mean(axis=0))
