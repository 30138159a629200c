from cs231n.layers import *


def affine_relu_forward(x, w, b):
    """Convenience layer that perorms an affine transform followed by a ReLU."""
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    cache = (fc_cache, relu_cache)
    return out, cache


def affine_relu_backward(dout, cache):
    """Backward pass for the affine-relu convenience layer."""
    fc_cache, relu_cache = cache
    da = relu_backward(dout, relu_cache)
    dx, dw, db = affine_backward(da, fc_cache)
    return dx, dw, db


def affine_norm_relu_forward(x, w, b, gamma, beta, bn_param, normalization):
    """affine - batchnorm or layernorm - relu."""
    a, fc_cache = affine_forward(x, w, b)
    if normalization == 'batchnorm':
        a, norm_cache = batchnorm_forward(a, gamma, beta, bn_param)
    else:
        a, norm_cache = layernorm_forward(a, gamma, beta, bn_param)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, norm_cache, relu_cache, normalization)


def affine_norm_relu_backward(dout, cache):
    """Backward pass for affine_norm_relu_forward."""
    fc_cache, norm_cache, relu_cache, normalization = cache
    da = relu_backward(dout, relu_cache)
    if normalization == 'batchnorm':
        da, dgamma, dbeta = batchnorm_backward_alt(da, norm_cache)
    else:
        da, dgamma, dbeta = layernorm_backward(da, norm_cache)
    dx, dw, db = affine_backward(da, fc_cache)
    return dx, dw, db, dgamma, dbeta


def conv_relu_pool_forward(x, w, b, conv_param, pool_param):
    """Convenience layer that performs a convolution, a ReLU, and a pool."""
    a, conv_cache = conv_forward_naive(x, w, b, conv_param)
    s, relu_cache = relu_forward(a)
    out, pool_cache = max_pool_forward_naive(s, pool_param)
    cache = (conv_cache, relu_cache, pool_cache)
    return out, cache


def conv_relu_pool_backward(dout, cache):
    """Backward pass for the conv-relu-pool convenience layer"""
    conv_cache, relu_cache, pool_cache = cache
    ds = max_pool_backward_naive(dout, pool_cache)
    da = relu_backward(ds, relu_cache)
    dx, dw, db = conv_backward_naive(da, conv_cache)
    return dx, dw, db
