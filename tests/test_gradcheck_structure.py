"""Backward passes wrong in their structure, planted in copies of sanitykit.reference: each is named.

A mask built from dout, the mean's path left out, batchnorm's axis in layernorm, `=` where
`+=` belongs in conv and max-pool loops, rows reshaped back without the transpose, a spatial
parameter averaged over N·H·W: none of them is one constant factor or a sign everywhere, and
each used to end in "no simple pattern". Every mode must name them.
"""
import numpy as np
import pytest

import sanitykit as sk
from sanitykit import reference as ref
from sanitykit.reference.layers import _normalize_backward

MODES = ("auto", "fast", "full")


def rng(seed=0):
    return np.random.default_rng(seed)


def relu_backward_masks_dout(dout, cache):
    return np.where(dout > 0, dout, 0)  # the sign of dout, not of x


def batchnorm_backward_no_mean_path(dout, cache):
    """ref.batchnorm_backward with its last step (dx = dxmu + dmu / N) left out."""
    xhat, xmu, ivar, sqrtvar, gamma = cache
    N = dout.shape[0]
    dbeta, dgamma = dout.sum(axis=0), (dout * xhat).sum(axis=0)
    dxhat = dout * gamma
    divar = (dxhat * xmu).sum(axis=0)
    dsqrtvar = -divar / sqrtvar ** 2
    dvar = 0.5 * dsqrtvar / sqrtvar
    dxmu = dxhat * ivar + 2 * xmu * dvar / N
    return dxmu, dgamma, dbeta


def layernorm_backward_batch_axis(dout, cache):
    """ref.layernorm_backward with batchnorm's axis 0."""
    xhat, ivar, gamma = cache
    return _normalize_backward(dout * gamma, xhat, ivar, axis=0), (dout * xhat).sum(axis=0), dout.sum(axis=0)


def conv_backward_assigning(which):
    """ref.conv_backward_naive with `=` where `+=` belongs, for dx or dw."""
    def conv_backward_naive(dout, cache):
        x, w, b, conv_param = cache
        stride, pad = conv_param["stride"], conv_param["pad"]
        _, _, HH, WW = w.shape
        x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        dx_pad, dw = np.zeros_like(x_pad), np.zeros_like(w)
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                rows, cols = slice(i * stride, i * stride + HH), slice(j * stride, j * stride + WW)
                term_w = np.tensordot(dout[:, :, i, j], x_pad[:, :, rows, cols], axes=([0], [0]))
                term_x = np.tensordot(dout[:, :, i, j], w, axes=([1], [0]))
                if which == "dw":
                    dw = term_w
                else:
                    dw += term_w
                if which == "dx":
                    dx_pad[:, :, rows, cols] = term_x
                else:
                    dx_pad[:, :, rows, cols] += term_x
        H, W = x.shape[2:]
        return dx_pad[:, :, pad:pad + H, pad:pad + W], dw, dout.sum(axis=(0, 2, 3))
    return conv_backward_naive


def max_pool_backward_assigning(dout, cache):
    """ref.max_pool_backward_naive with `=` where `+=` belongs (wrong only where windows overlap)."""
    x, pool_param = cache
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    for i in range(H_out):
        for j in range(W_out):
            rows, cols = slice(i * stride, i * stride + ph), slice(j * stride, j * stride + pw)
            window = x[:, :, rows, cols].reshape(N, C, ph * pw)
            dwindow = np.zeros_like(window)
            np.put_along_axis(dwindow, window.argmax(axis=2)[..., None], dout[:, :, i, j][..., None], axis=2)
            dx[:, :, rows, cols] = dwindow.reshape(N, C, ph, pw)
    return dx


def spatial_batchnorm_backward_no_transpose(dout, cache):
    """ref.spatial_batchnorm_backward with the rows reshaped straight back to (N, C, H, W)."""
    drows, dgamma, dbeta = ref.batchnorm_backward_alt(dout.transpose(0, 2, 3, 1).reshape(-1, dout.shape[1]), cache)
    return drows.reshape(dout.shape), dgamma, dbeta


def groupnorm_backward_dbeta_averaged(dout, cache):
    dx, dgamma, dbeta = ref.spatial_groupnorm_backward(dout, cache)
    return dx, dgamma, dbeta / (dout.shape[0] * dout.shape[2] * dout.shape[3])  # a mean, not a sum


def affine_relu_backward_skips_relu(dout, cache):
    fc_cache, relu_cache = cache
    return ref.affine_backward(dout, fc_cache)  # relu_backward forgotten


def conv_relu_pool_backward_skips_relu(dout, cache):
    conv_cache, relu_cache, pool_cache = cache
    return ref.conv_backward_fast(ref.max_pool_backward_fast(dout, pool_cache), conv_cache)


def sandwich_inputs(seed=8):
    r = rng(seed)
    return r.standard_normal((4, 5)), r.standard_normal((5, 6)), r.standard_normal(6)


def conv_pool_inputs(seed=9):
    r = rng(seed)
    return r.standard_normal((2, 3, 6, 6)), r.standard_normal((4, 3, 3, 3)), r.standard_normal(4)


def spatial_inputs(seed=6):
    r = rng(seed)
    return r.standard_normal((2, 3, 4, 5)), r.standard_normal(3), r.standard_normal(3)


def group_inputs(seed=7):
    r = rng(seed)
    return r.standard_normal((2, 4, 3, 3)), r.standard_normal((1, 4, 1, 1)), r.standard_normal((1, 4, 1, 1))


def norm_inputs(seed=1):
    r = rng(seed)
    return r.standard_normal((5, 4)) * 2 + 1, 1 + 0.5 * r.standard_normal(4), r.standard_normal(4)


def conv_inputs(seed=2):
    r = rng(seed)
    return r.standard_normal((2, 3, 5, 6)), r.standard_normal((4, 3, 3, 3)), r.standard_normal(4)


def pool_input(seed=3):
    # A permutation: every window's maximum is unique, so no kink blurs the verdict.
    return (rng(seed).permutation(2 * 2 * 5 * 6).reshape(2, 2, 5, 6) / 10.0,)


CASES = {
    "mask_from_dout": (ref.relu_forward, relu_backward_masks_dout, lambda: (rng(4).standard_normal((4, 5)),),
                       (), "x", "mask_wrong_array", "dout > 0"),
    "batchnorm_mean_path": (ref.batchnorm_forward, batchnorm_backward_no_mean_path, norm_inputs,
                            ({"mode": "train"},), "x", "mean_term", "through the mean"),
    "layernorm_batch_axis": (ref.layernorm_forward, layernorm_backward_batch_axis, norm_inputs, ({},),
                             "x", "mixes_examples", "axis=0"),
    "conv_dx_assigned": (ref.conv_forward_naive, conv_backward_assigning("dx"), conv_inputs,
                         ({"stride": 2, "pad": 1},), "x", "overwritten", "+="),
    "conv_dw_assigned": (ref.conv_forward_naive, conv_backward_assigning("dw"), conv_inputs,
                         ({"stride": 1, "pad": 1},), "w", "overwritten", "the last output position"),
    "max_pool_overlapping_assigned": (ref.max_pool_forward_naive, max_pool_backward_assigning, pool_input,
                                      ({"pool_height": 2, "pool_width": 2, "stride": 1},), "x",
                                      "overwritten", "+="),
    "spatial_batchnorm_dx_no_transpose": (ref.spatial_batchnorm_forward, spatial_batchnorm_backward_no_transpose,
                                          spatial_inputs, ({"mode": "train"},), "x", "no_transpose",
                                          "transpose(0, 3, 1, 2)"),
    "groupnorm_dbeta_averaged": (ref.spatial_groupnorm_forward, groupnorm_backward_dbeta_averaged, group_inputs,
                                 (2, {}), "beta", "batch_size", "N·H·W"),
    "tanh_derivative_from_out": (ref.tanh_forward, lambda dout, out: dout * (1 - out),
                                 lambda: (rng(10).standard_normal((4, 5)),), (), "x", "tanh_derivative",
                                 "1 - out**2"),
    "sigmoid_derivative_without_s": (ref.sigmoid_forward, lambda dout, out: dout * (1 - out),
                                     lambda: (rng(11).standard_normal((4, 5)),), (), "x", "sigmoid_derivative",
                                     "out * (1 - out)"),
    "affine_relu_skips_relu": (ref.affine_relu_forward, affine_relu_backward_skips_relu, sandwich_inputs, (),
                               "x", "mask", "relu_backward(dout, relu_cache)"),
    "conv_relu_pool_skips_relu": (ref.conv_relu_pool_forward, conv_relu_pool_backward_skips_relu, conv_pool_inputs,
                                  ({"stride": 1, "pad": 1}, {"pool_height": 2, "pool_width": 2, "stride": 2}),
                                  "x", "mask", "where the ReLU inside the layer blocked it"),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_backward_structure_is_named(case, mode):
    forward, backward, make, args, name, pattern, words = CASES[case]
    result = sk.gradcheck(forward, backward, *make(), args=args, mode=mode)
    r = next(r for r in result.per_input if r.name == name)
    text = str(result)
    assert result.status == "fail" and r.pattern == pattern, text
    assert words in text
    assert "none of sanitykit's patterns" not in text and "no simple pattern" not in text


def test_the_same_structure_written_right_passes_in_the_same_configurations():
    """The controls of the cases above: the reference backward on the same inputs."""
    right = {"mask_from_dout": ref.relu_backward, "batchnorm_mean_path": ref.batchnorm_backward,
             "layernorm_batch_axis": ref.layernorm_backward, "conv_dx_assigned": ref.conv_backward_naive,
             "conv_dw_assigned": ref.conv_backward_naive,
             "max_pool_overlapping_assigned": ref.max_pool_backward_naive,
             "spatial_batchnorm_dx_no_transpose": ref.spatial_batchnorm_backward,
             "groupnorm_dbeta_averaged": ref.spatial_groupnorm_backward,
             "tanh_derivative_from_out": ref.tanh_backward, "sigmoid_derivative_without_s": ref.sigmoid_backward,
             "affine_relu_skips_relu": ref.affine_relu_backward,
             "conv_relu_pool_skips_relu": ref.conv_relu_pool_backward}
    for case, backward in right.items():
        forward, _, make, args, *_ = CASES[case]
        for mode in MODES:
            result = sk.gradcheck(forward, backward, *make(), args=args, mode=mode)
            assert result.status in ("pass", "warn"), f"{case} {mode}: {result}"


def test_an_unrecognised_mistake_never_rules_a_cause_out():
    def sigmoid_forward(x):
        out = 1 / (1 + np.exp(-x))
        return out, out
    result = sk.gradcheck(sigmoid_forward, lambda dout, out: dout * out * out, rng(5).standard_normal((3, 4)))
    assert result.patterns == ["unknown"], str(result)
    assert "no constant factor" not in str(result) and "(no " not in str(result)


def test_a_probe_that_makes_the_backward_raise_leaves_the_failure_a_failure():
    """Naming calls the backward again with other douts; one that raises then must not turn a
    measured failure into an error."""
    calls = []

    def layernorm_backward(dout, cache):
        calls.append(1)
        if len(calls) > 4:
            raise ValueError("a backward that only works the first few times")
        return layernorm_backward_batch_axis(dout, cache)
    result = sk.gradcheck(ref.layernorm_forward, layernorm_backward, *norm_inputs(), args=({},), mode="full")
    assert result.status == "fail", str(result)
