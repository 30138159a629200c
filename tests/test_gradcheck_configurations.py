"""Configurations that break naive gradient checks: one example, overlapping pool windows, strided padded conv.

The reference passes in each of them (no false alarm, no batch-size finding when N = 1, no
division by N - 1 anywhere), and a mistake planted in the reference is named there as well
as in the square, stride-1 case the course's notebook uses.
"""
import numpy as np
import pytest

import sanitykit as sk
from sanitykit import reference as ref

MODES = ("auto", "fast", "full")


def rng(seed=0):
    return np.random.default_rng(seed)


def distinct(shape, seed=0):
    """Values whose every pooling window has one clear maximum (no kink at the check's step)."""
    return rng(seed).permutation(int(np.prod(shape))).reshape(shape) / 10.0


def one_example_cases():
    r = rng(1)
    norm = (r.standard_normal((1, 4)), r.standard_normal(4), r.standard_normal(4))
    return {
        "affine": (ref.affine_forward, ref.affine_backward,
                   (r.standard_normal((1, 2, 3)), r.standard_normal((6, 4)), r.standard_normal(4)), ()),
        "relu": (ref.relu_forward, ref.relu_backward, (r.standard_normal((1, 5)),), ()),
        "leaky_relu": (ref.leaky_relu_forward, ref.leaky_relu_backward, (r.standard_normal((1, 5)),), ()),
        "sigmoid": (ref.sigmoid_forward, ref.sigmoid_backward, (r.standard_normal((1, 5)),), ()),
        "tanh": (ref.tanh_forward, ref.tanh_backward, (r.standard_normal((1, 5)),), ()),
        "batchnorm": (ref.batchnorm_forward, ref.batchnorm_backward, norm, ({"mode": "train"},)),
        "batchnorm_alt": (ref.batchnorm_forward, ref.batchnorm_backward_alt, norm, ({"mode": "train"},)),
        "layernorm": (ref.layernorm_forward, ref.layernorm_backward,
                      (r.standard_normal((1, 6)), r.standard_normal(6), r.standard_normal(6)), ({},)),
        "dropout": (ref.dropout_forward, ref.dropout_backward, (r.standard_normal((1, 6)),),
                    ({"p": 0.7, "mode": "train", "seed": 1},)),
        "conv_naive": (ref.conv_forward_naive, ref.conv_backward_naive,
                       (r.standard_normal((1, 2, 5, 6)), r.standard_normal((3, 2, 3, 3)),
                        r.standard_normal(3)), ({"stride": 2, "pad": 1},)),
        "conv_fast": (ref.conv_forward_fast, ref.conv_backward_fast,
                      (r.standard_normal((1, 2, 5, 5)), r.standard_normal((3, 2, 3, 3)),
                       r.standard_normal(3)), ({"stride": 2, "pad": 1},)),
        "max_pool_naive": (ref.max_pool_forward_naive, ref.max_pool_backward_naive,
                           (distinct((1, 2, 5, 6)),), ({"pool_height": 2, "pool_width": 3, "stride": 1},)),
        "max_pool_fast": (ref.max_pool_forward_fast, ref.max_pool_backward_fast,
                          (distinct((1, 2, 4, 6)),), ({"pool_height": 2, "pool_width": 2, "stride": 2},)),
        "spatial_batchnorm": (ref.spatial_batchnorm_forward, ref.spatial_batchnorm_backward,
                              (r.standard_normal((1, 2, 3, 3)), r.standard_normal(2), r.standard_normal(2)),
                              ({"mode": "train"},)),
        "spatial_groupnorm": (ref.spatial_groupnorm_forward, ref.spatial_groupnorm_backward,
                              (r.standard_normal((1, 4, 3, 3)), r.standard_normal((1, 4, 1, 1)),
                               r.standard_normal((1, 4, 1, 1))), (2, {})),
    }


ONE_EXAMPLE = one_example_cases()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(ONE_EXAMPLE))
def test_every_reference_layer_passes_on_one_example(name, mode):
    forward, backward, inputs, args = ONE_EXAMPLE[name]
    result = sk.gradcheck(forward, backward, *inputs, args=args, mode=mode)
    assert result.status == "pass", str(result)


@pytest.mark.parametrize("loss", [ref.softmax_loss, ref.svm_loss])
@pytest.mark.parametrize("mode", MODES)
def test_losses_pass_on_one_example(loss, mode):
    result = sk.gradcheck_loss(loss, rng(2).standard_normal((1, 5)), np.array([3]), mode=mode)
    assert result.status == "pass", str(result)


@pytest.mark.parametrize("mode", MODES)
def test_a_factor_on_one_example_is_never_called_the_batch_size(mode):
    def affine_backward(dout, cache):
        dx, dw, db = ref.affine_backward(dout, cache)
        return dx, 2 * dw, db
    r = rng(3)
    result = sk.gradcheck(ref.affine_forward, affine_backward, r.standard_normal((1, 5)),
                          r.standard_normal((5, 3)), r.standard_normal(3), mode=mode)
    assert result.patterns == ["factor"], str(result)
    assert "batch size" not in str(result)


OVERLAPPING = {"pool_height": 3, "pool_width": 2, "stride": 1}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("forward, backward", [
    (ref.max_pool_forward_naive, ref.max_pool_backward_naive),
    (ref.max_pool_forward_fast, ref.max_pool_backward_fast),
])
def test_max_pool_with_overlapping_windows_on_a_non_square_input_passes(forward, backward, mode):
    result = sk.gradcheck(forward, backward, distinct((2, 2, 5, 7), seed=4), args=(OVERLAPPING,), mode=mode)
    assert result.status == "pass", str(result)


def pool_backward(route):
    """A max-pool backward that sends each window's dout to `route` (first element, or all)."""
    def max_pool_backward_naive(dout, cache):
        x, p = cache
        ph, pw, s = p["pool_height"], p["pool_width"], p["stride"]
        dx = np.zeros_like(x)
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                if route == "first":
                    dx[:, :, i * s, j * s] += dout[:, :, i, j]
                else:
                    dx[:, :, i * s:i * s + ph, j * s:j * s + pw] += dout[:, :, i, j][:, :, None, None]
        return dx
    return max_pool_backward_naive


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("route, pattern", [("first", "max_route"), ("every", "mask")])
def test_a_wrong_pool_route_is_named_with_overlapping_windows(route, pattern, mode):
    result = sk.gradcheck(ref.max_pool_forward_naive, pool_backward(route), distinct((2, 2, 5, 7), seed=5),
                          args=(OVERLAPPING,), mode=mode)
    assert result.status == "fail" and result.patterns == [pattern], str(result)


STRIDED = {"stride": 2, "pad": 1}


def conv_inputs(seed=6):
    r = rng(seed)
    return r.standard_normal((2, 3, 5, 7)), r.standard_normal((4, 3, 3, 3)), r.standard_normal(4)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("forward, backward", [
    (ref.conv_forward_naive, ref.conv_backward_naive),
    (ref.conv_forward_fast, ref.conv_backward_fast),
])
def test_conv_with_stride_and_padding_on_a_non_square_input_passes(forward, backward, mode):
    result = sk.gradcheck(forward, backward, *conv_inputs(), args=(STRIDED,), mode=mode)
    assert result.status == "pass", str(result)


def conv_dx_cropped_at_the_corner(dout, cache):
    """ref.conv_backward_naive with dx = dx_pad[:, :, :H, :W] (the padding kept on one side)."""
    x, w, b, p = cache
    s, pad = p["stride"], p["pad"]
    hh, ww = w.shape[2:]
    dx_pad = np.zeros((x.shape[0], x.shape[1], x.shape[2] + 2 * pad, x.shape[3] + 2 * pad))
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            dx_pad[:, :, i * s:i * s + hh, j * s:j * s + ww] += np.tensordot(dout[:, :, i, j], w, axes=(1, 0))
    _, dw, db = ref.conv_backward_naive(dout, cache)
    return dx_pad[:, :, :x.shape[2], :x.shape[3]], dw, db


def conv_with(edit):
    def conv_backward_naive(dout, cache):
        return edit(*ref.conv_backward_naive(dout, cache), dout)
    return conv_backward_naive


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("backward, name, pattern", [
    (conv_with(lambda dx, dw, db, d: (dx, dw[:, :, ::-1, ::-1], db)), "w", "flipped"),
    (conv_with(lambda dx, dw, db, d: (dx, dw / 2, db)), "w", "batch_size"),
    (conv_with(lambda dx, dw, db, d: (np.concatenate([dx[:1], dx[:1]]), dw, db)), "x", "examples"),
    (conv_with(lambda dx, dw, db, d: (dx, dw, d.sum(axis=(1, 2, 3)))), "b", "reduced_wrong_axis"),
    (conv_dx_cropped_at_the_corner, "x", "shifted"),
])
def test_conv_mistakes_are_named_with_stride_and_padding(backward, name, pattern, mode):
    result = sk.gradcheck(ref.conv_forward_naive, backward, *conv_inputs(), args=(STRIDED,), mode=mode)
    assert result.status == "fail" and pattern in result.patterns, str(result)
