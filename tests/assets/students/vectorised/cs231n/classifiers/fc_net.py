from builtins import range
from builtins import object
import numpy as np

from ..layers import *
from ..layer_utils import *


class FullyConnectedNet(object):
    """{affine - [batch/layer norm] - relu - [dropout]} x (L - 1) - affine - softmax"""

    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, dropout_keep_ratio=1,
                 normalization=None, reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None):
        self.normalization = normalization
        self.use_dropout = dropout_keep_ratio != 1
        self.reg = reg
        self.num_layers = 1 + len(hidden_dims)
        self.dtype = dtype

        dims = [input_dim, *hidden_dims, num_classes]
        self.params = {}
        for l, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:]), start=1):
            self.params[f"W{l}"] = np.random.randn(fan_in, fan_out) * weight_scale
            self.params[f"b{l}"] = np.zeros(fan_out)
            if normalization and l < self.num_layers:
                self.params[f"gamma{l}"] = np.ones(fan_out)
                self.params[f"beta{l}"] = np.zeros(fan_out)

        self.dropout_param = {}
        if self.use_dropout:
            self.dropout_param = {"mode": "train", "p": dropout_keep_ratio}
            if seed is not None:
                self.dropout_param["seed"] = seed

        self.bn_params = []
        if self.normalization == "batchnorm":
            self.bn_params = [{"mode": "train"} for i in range(self.num_layers - 1)]
        if self.normalization == "layernorm":
            self.bn_params = [{} for i in range(self.num_layers - 1)]

        self.params = {k: v.astype(dtype) for k, v in self.params.items()}

    def loss(self, X, y=None):
        X = X.astype(self.dtype)
        mode = "test" if y is None else "train"
        self.dropout_param["mode"] = mode
        for bn_param in self.bn_params:
            bn_param["mode"] = mode

        p, L = self.params, self.num_layers
        hidden_forward = {None: lambda h, l: affine_relu_forward(h, p[f"W{l}"], p[f"b{l}"]),
                          "batchnorm": lambda h, l: affine_bn_relu_forward(
                              h, p[f"W{l}"], p[f"b{l}"], p[f"gamma{l}"], p[f"beta{l}"], self.bn_params[l - 1]),
                          "layernorm": lambda h, l: affine_ln_relu_forward(
                              h, p[f"W{l}"], p[f"b{l}"], p[f"gamma{l}"], p[f"beta{l}"], self.bn_params[l - 1])}
        hidden_backward = {None: affine_relu_backward, "batchnorm": affine_bn_relu_backward,
                           "layernorm": affine_ln_relu_backward}[self.normalization]

        h, caches, drop_caches = X, {}, {}
        for l in range(1, L):
            h, caches[l] = hidden_forward[self.normalization](h, l)
            if self.use_dropout:
                h, drop_caches[l] = dropout_forward(h, self.dropout_param)
        scores, caches[L] = affine_forward(h, p[f"W{L}"], p[f"b{L}"])

        if mode == "test":
            return scores

        loss, dout = softmax_loss(scores, y)
        loss += 0.5 * self.reg * sum(np.sum(p[f"W{l}"] ** 2) for l in range(1, L + 1))

        grads = {}
        dout, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dout, caches[L])
        for l in reversed(range(1, L)):
            if self.use_dropout:
                dout = dropout_backward(dout, drop_caches[l])
            if self.normalization:
                dout, grads[f"W{l}"], grads[f"b{l}"], grads[f"gamma{l}"], grads[f"beta{l}"] = \
                    hidden_backward(dout, caches[l])
            else:
                dout, grads[f"W{l}"], grads[f"b{l}"] = hidden_backward(dout, caches[l])
        for l in range(1, L + 1):
            grads[f"W{l}"] += self.reg * p[f"W{l}"]
        return loss, grads
