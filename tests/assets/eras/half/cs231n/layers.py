from builtins import range
import numpy as np


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1).dot(w) + b
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    x, w, b = cache
    dx, dw, db = None, None, None
    ###########################################################################
    # TODO: Implement the affine backward pass.                               #
    ###########################################################################
    pass
    return dx, dw, db


def relu_forward(x):
    pass


def relu_backward(dout, cache):
    raise NotImplementedError("TODO")


def batchnorm_forward(x, gamma, beta, bn_param):
    out = x  # TODO: normalise
    cache = None
    return out, cache


def batchnorm_backward(dout, cache):
    dx, dgamma, dbeta = None, None, None
    return dx, dgamma, dbeta


def dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    mask = None
    out = None
    if mode == "train":
        pass
    elif mode == "test":
        pass
    cache = (dropout_param, mask)
    out = out.astype(x.dtype, copy=False)
    return out, cache


def dropout_backward(dout, cache):
    return None


def softmax_loss(x, y):
    loss, dx = None, None
    return loss, dx
