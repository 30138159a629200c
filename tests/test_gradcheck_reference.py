"""The reference layers pass gradcheck in every mode: no false alarms, kinks warn at most."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sanitykit import reference as ref
from sanitykit.engine.gradcheck import gradcheck, gradcheck_loss

MODES = ["auto", "fast", "full"]


def rng(seed=0):
    return np.random.default_rng(seed)


def layer_cases():
    r = rng(1)
    conv = {"stride": 1, "pad": 1}
    pool = {"pool_height": 2, "pool_width": 2, "stride": 2}
    return {
        "affine": (ref.affine_forward, ref.affine_backward,
                   (r.standard_normal((3, 2, 3)), r.standard_normal((6, 4)), r.standard_normal(4)), ()),
        "relu": (ref.relu_forward, ref.relu_backward, (r.standard_normal((6, 5)),), ()),
        "sigmoid": (ref.sigmoid_forward, ref.sigmoid_backward, (r.standard_normal((4, 5)),), ()),
        "tanh": (ref.tanh_forward, ref.tanh_backward, (r.standard_normal((4, 5)),), ()),
        "batchnorm": (ref.batchnorm_forward, ref.batchnorm_backward,
                      (r.standard_normal((6, 4)) * 3 + 2, r.standard_normal(4), r.standard_normal(4)),
                      ({"mode": "train"},)),
        "batchnorm_alt": (ref.batchnorm_forward, ref.batchnorm_backward_alt,
                          (r.standard_normal((6, 4)), r.standard_normal(4), r.standard_normal(4)),
                          ({"mode": "train"},)),
        "layernorm": (ref.layernorm_forward, ref.layernorm_backward,
                      (r.standard_normal((4, 6)), r.standard_normal(6), r.standard_normal(6)), ({},)),
        "dropout": (ref.dropout_forward, ref.dropout_backward, (r.standard_normal((8, 6)),),
                    ({"p": 0.7, "mode": "train", "seed": 123},)),
        "conv_fast": (ref.conv_forward_fast, ref.conv_backward_fast,
                      (r.standard_normal((2, 3, 5, 5)), r.standard_normal((2, 3, 3, 3)),
                       r.standard_normal(2)), (conv,)),
        "conv_naive": (ref.conv_forward_naive, ref.conv_backward_naive,
                       (r.standard_normal((1, 2, 4, 4)), r.standard_normal((2, 2, 3, 3)),
                        r.standard_normal(2)), ({"stride": 2, "pad": 1},)),
        "max_pool_naive": (ref.max_pool_forward_naive, ref.max_pool_backward_naive,
                           (r.standard_normal((2, 2, 4, 4)),), (pool,)),
        "max_pool_fast": (ref.max_pool_forward_fast, ref.max_pool_backward_fast,
                          (r.standard_normal((2, 2, 4, 4)),), (pool,)),
        "spatial_batchnorm": (ref.spatial_batchnorm_forward, ref.spatial_batchnorm_backward,
                              (r.standard_normal((3, 2, 3, 3)), r.standard_normal(2),
                               r.standard_normal(2)), ({"mode": "train"},)),
    }


CASES = layer_cases()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_reference_layer_passes(name, mode):
    forward, backward, inputs, args = CASES[name]
    result = gradcheck(forward, backward, *inputs, args=args, mode=mode)
    assert result.ok, str(result)
    if name not in ("relu", "max_pool_naive", "max_pool_fast"):  # only kinks may warn
        assert result.status == "pass", str(result)
    for r in result.per_input:
        assert r.pattern in (None, "kink"), str(result)


@pytest.mark.parametrize("mode", MODES)
def test_relu_and_max_pool_with_values_at_the_kink_warn_at_most(mode):
    x = rng(2).standard_normal((2, 1, 4, 4))
    x[0, 0, 0, :2] = [0.3, 0.3 + 4e-6]  # a near-tie inside one pooling window
    pool = {"pool_height": 2, "pool_width": 2, "stride": 2}
    result = gradcheck(ref.max_pool_forward_naive, ref.max_pool_backward_naive, x, args=(pool,),
                       mode=mode)
    assert result.ok, str(result)
    y = rng(3).standard_normal((5, 5))
    y[0, :3] = [2e-6, -3e-6, 0.0]
    result = gradcheck(ref.relu_forward, ref.relu_backward, y, mode=mode)
    assert result.ok, str(result)
    if mode == "full":
        assert result.status == "warn" and result.per_input[0].pattern == "kink"


@pytest.mark.parametrize("mode", MODES)
def test_affine_then_batchnorm_bias_gradient_is_zero_without_alarm(mode):
    """The affine bias feeding a batchnorm has a gradient of exactly 0 (the mean removes it)."""
    r = rng(4)
    gamma, beta = r.standard_normal(5), r.standard_normal(5)

    def forward(x, w, b):
        a, c1 = ref.affine_forward(x, w, b)
        out, c2 = ref.batchnorm_forward(a, gamma, beta, {"mode": "train"})
        return out, (c1, c2)

    def backward(dout, cache):
        da, _, _ = ref.batchnorm_backward(dout, cache[1])
        return ref.affine_backward(da, cache[0])

    inputs = (r.standard_normal((6, 4)), r.standard_normal((4, 5)), r.standard_normal(5))
    result = gradcheck(forward, backward, *inputs, mode=mode)
    assert result.status == "pass", str(result)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("loss", [ref.softmax_loss, ref.svm_loss])
def test_reference_losses_pass_even_on_large_scores(loss, mode):
    r = rng(5)
    x, y = r.standard_normal((5, 4)), r.integers(0, 4, 5)
    assert gradcheck_loss(loss, x, y, mode=mode).ok
    if loss is ref.softmax_loss:
        result = gradcheck_loss(loss, 300 * x, y, mode=mode)
        assert result.status == "pass", str(result)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 5), d=st.integers(1, 5), m=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_property_reference_affine_batchnorm_softmax(n, d, m, seed):
    r = rng(seed)
    x, w, b = r.standard_normal((n, d)), r.standard_normal((d, m)), r.standard_normal(m)
    res = gradcheck(ref.affine_forward, ref.affine_backward, x, w, b, mode="full", seed=seed)
    assert res.max_rel_error < 1e-7, str(res)
    if n >= 2:
        g, be = r.standard_normal(d), r.standard_normal(d)
        res = gradcheck(ref.batchnorm_forward, ref.batchnorm_backward, x, g, be,
                        args=({"mode": "train"},), mode="full", seed=seed)
        assert res.max_rel_error < 1e-7, str(res)
    scores = r.standard_normal((n, m + 1)) * 10
    res = gradcheck_loss(ref.softmax_loss, scores, r.integers(0, m + 1, n), mode="full", seed=seed)
    assert res.max_rel_error < 1e-7, str(res)
