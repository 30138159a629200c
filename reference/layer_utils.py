"""Sandwich layers: common chains of layers as one forward / backward pair, as in the course's layer_utils.py.

Each forward returns (out, cache) with cache the tuple of its layers' caches; each
backward unwinds them in reverse. Layers are called by their module-level names, so
patching e.g. `layer_utils.affine_forward` swaps the layer inside every sandwich.
"""
from sanitykit.reference.fast_layers import (
    conv_backward_fast, conv_forward_fast, max_pool_backward_fast, max_pool_forward_fast,
)
from sanitykit.reference.layers import (
    affine_backward, affine_forward, batchnorm_backward_alt, batchnorm_forward,
    layernorm_backward, layernorm_forward, relu_backward, relu_forward,
    spatial_batchnorm_backward, spatial_batchnorm_forward,
)

__all__ = [
    "affine_relu_forward", "affine_relu_backward",
    "affine_bn_relu_forward", "affine_bn_relu_backward",
    "affine_ln_relu_forward", "affine_ln_relu_backward",
    "conv_relu_forward", "conv_relu_backward",
    "conv_relu_pool_forward", "conv_relu_pool_backward",
    "conv_bn_relu_forward", "conv_bn_relu_backward",
]


def affine_relu_forward(x, w, b):
    """Affine then ReLU.

    Args:
        x: input of shape (N, d_1, ..., d_k).
        w, b: affine weights (D, M) and biases (M,).
    """
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    """Backward pass of affine_relu_forward; returns (dx, dw, db).

    Args:
        dout: upstream gradient of shape (N, M).
        cache: from affine_relu_forward.
    """
    fc_cache, relu_cache = cache
    da = relu_backward(dout, relu_cache)
    return affine_backward(da, fc_cache)


def affine_bn_relu_forward(x, w, b, gamma, beta, bn_param):
    """Affine, batchnorm, then ReLU.

    Args:
        x: input of shape (N, d_1, ..., d_k).
        w, b: affine weights (D, M) and biases (M,).
        gamma, beta: batchnorm scale and shift (M,).
        bn_param: as for batchnorm_forward (its running statistics are updated).
    """
    a, fc_cache = affine_forward(x, w, b)
    a_bn, bn_cache = batchnorm_forward(a, gamma, beta, bn_param)
    out, relu_cache = relu_forward(a_bn)
    return out, (fc_cache, bn_cache, relu_cache)


def affine_bn_relu_backward(dout, cache):
    """Backward pass of affine_bn_relu_forward; returns (dx, dw, db, dgamma, dbeta).

    Args:
        dout: upstream gradient of shape (N, M).
        cache: from affine_bn_relu_forward.
    """
    fc_cache, bn_cache, relu_cache = cache
    da_bn = relu_backward(dout, relu_cache)
    da, dgamma, dbeta = batchnorm_backward_alt(da_bn, bn_cache)
    dx, dw, db = affine_backward(da, fc_cache)
    return dx, dw, db, dgamma, dbeta


def affine_ln_relu_forward(x, w, b, gamma, beta, ln_param):
    """Affine, layernorm, then ReLU.

    Args:
        x: input of shape (N, d_1, ..., d_k).
        w, b: affine weights (D, M) and biases (M,).
        gamma, beta: layernorm scale and shift (M,).
        ln_param: as for layernorm_forward.
    """
    a, fc_cache = affine_forward(x, w, b)
    a_ln, ln_cache = layernorm_forward(a, gamma, beta, ln_param)
    out, relu_cache = relu_forward(a_ln)
    return out, (fc_cache, ln_cache, relu_cache)


def affine_ln_relu_backward(dout, cache):
    """Backward pass of affine_ln_relu_forward; returns (dx, dw, db, dgamma, dbeta).

    Args:
        dout: upstream gradient of shape (N, M).
        cache: from affine_ln_relu_forward.
    """
    fc_cache, ln_cache, relu_cache = cache
    da_ln = relu_backward(dout, relu_cache)
    da, dgamma, dbeta = layernorm_backward(da_ln, ln_cache)
    dx, dw, db = affine_backward(da, fc_cache)
    return dx, dw, db, dgamma, dbeta


def conv_relu_forward(x, w, b, conv_param):
    """Convolution (fast) then ReLU.

    Args:
        x: input of shape (N, C, H, W).
        w, b: filters (F, C, HH, WW) and biases (F,).
        conv_param: dict with "stride" and "pad".
    """
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    out, relu_cache = relu_forward(a)
    return out, (conv_cache, relu_cache)


def conv_relu_backward(dout, cache):
    """Backward pass of conv_relu_forward; returns (dx, dw, db).

    Args:
        dout: upstream gradient of shape (N, F, H_out, W_out).
        cache: from conv_relu_forward.
    """
    conv_cache, relu_cache = cache
    da = relu_backward(dout, relu_cache)
    return conv_backward_fast(da, conv_cache)


def conv_relu_pool_forward(x, w, b, conv_param, pool_param):
    """Convolution (fast), ReLU, then max pooling (fast).

    Args:
        x: input of shape (N, C, H, W).
        w, b: filters (F, C, HH, WW) and biases (F,).
        conv_param: dict with "stride" and "pad".
        pool_param: dict with "pool_height", "pool_width", "stride".
    """
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    s, relu_cache = relu_forward(a)
    out, pool_cache = max_pool_forward_fast(s, pool_param)
    return out, (conv_cache, relu_cache, pool_cache)


def conv_relu_pool_backward(dout, cache):
    """Backward pass of conv_relu_pool_forward; returns (dx, dw, db).

    Args:
        dout: upstream gradient of the pooled output.
        cache: from conv_relu_pool_forward.
    """
    conv_cache, relu_cache, pool_cache = cache
    ds = max_pool_backward_fast(dout, pool_cache)
    da = relu_backward(ds, relu_cache)
    return conv_backward_fast(da, conv_cache)


def conv_bn_relu_forward(x, w, b, gamma, beta, conv_param, bn_param):
    """Convolution (fast), spatial batchnorm, then ReLU.

    Args:
        x: input of shape (N, C, H, W).
        w, b: filters (F, C, HH, WW) and biases (F,).
        gamma, beta: spatial batchnorm scale and shift (F,).
        conv_param: dict with "stride" and "pad".
        bn_param: as for spatial_batchnorm_forward.
    """
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    an, bn_cache = spatial_batchnorm_forward(a, gamma, beta, bn_param)
    out, relu_cache = relu_forward(an)
    return out, (conv_cache, bn_cache, relu_cache)


def conv_bn_relu_backward(dout, cache):
    """Backward pass of conv_bn_relu_forward; returns (dx, dw, db, dgamma, dbeta).

    Args:
        dout: upstream gradient of shape (N, F, H_out, W_out).
        cache: from conv_bn_relu_forward.
    """
    conv_cache, bn_cache, relu_cache = cache
    dan = relu_backward(dout, relu_cache)
    da, dgamma, dbeta = spatial_batchnorm_backward(dan, bn_cache)
    dx, dw, db = conv_backward_fast(da, conv_cache)
    return dx, dw, db, dgamma, dbeta
