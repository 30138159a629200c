from builtins import range
from builtins import object
import numpy as np

from ..layers import *
from ..layer_utils import *


class FullyConnectedNet(object):
    """Class for a multi-layer fully connected neural network.

    {affine - [batch/layer norm] - relu - [dropout]} x (L - 1) - affine - softmax
    """

    def __init__(
        self,
        hidden_dims,
        input_dim=3 * 32 * 32,
        num_classes=10,
        dropout_keep_ratio=1,
        normalization=None,
        reg=0.0,
        weight_scale=1e-2,
        dtype=np.float32,
        seed=None,
    ):
        self.normalization = normalization
        self.use_dropout = dropout_keep_ratio != 1
        self.reg = reg
        self.num_layers = 1 + len(hidden_dims)
        self.dtype = dtype
        self.params = {}

        dims = [input_dim] + list(hidden_dims) + [num_classes]
        for i in range(self.num_layers):
            layer = i + 1
            self.params["W%d" % layer] = weight_scale * np.random.randn(dims[i], dims[i + 1])
            self.params["b%d" % layer] = np.zeros(dims[i + 1])
            if self.normalization is not None and layer < self.num_layers:
                self.params["gamma%d" % layer] = np.ones(dims[i + 1])
                self.params["beta%d" % layer] = np.zeros(dims[i + 1])

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

        # Cast all parameters to the correct datatype.
        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def loss(self, X, y=None):
        """Compute loss and gradient for the fully connected net."""
        X = X.astype(self.dtype)
        mode = "test" if y is None else "train"

        if self.use_dropout:
            self.dropout_param["mode"] = mode
        if self.normalization == "batchnorm":
            for bn_param in self.bn_params:
                bn_param["mode"] = mode
        scores = None

        caches = {}
        h = X
        for layer in range(1, self.num_layers):
            W, b = self.params["W%d" % layer], self.params["b%d" % layer]
            h, caches["affine%d" % layer] = affine_forward(h, W, b)
            if self.normalization == "batchnorm":
                gamma, beta = self.params["gamma%d" % layer], self.params["beta%d" % layer]
                h, caches["norm%d" % layer] = batchnorm_forward(h, gamma, beta, self.bn_params[layer - 1])
            elif self.normalization == "layernorm":
                gamma, beta = self.params["gamma%d" % layer], self.params["beta%d" % layer]
                h, caches["norm%d" % layer] = layernorm_forward(h, gamma, beta, self.bn_params[layer - 1])
            h, caches["relu%d" % layer] = relu_forward(h)
            if self.use_dropout:
                h, caches["dropout%d" % layer] = dropout_forward(h, self.dropout_param)
        L = self.num_layers
        scores, caches["affine%d" % L] = affine_forward(h, self.params["W%d" % L], self.params["b%d" % L])

        # If test mode return early.
        if mode == "test":
            return scores

        loss, grads = 0.0, {}
        loss, dscores = softmax_loss(scores, y)
        for layer in range(1, L + 1):
            W = self.params["W%d" % layer]
            loss += 0.5 * self.reg * np.sum(W * W)

        dh, dW, db = affine_backward(dscores, caches["affine%d" % L])
        grads["W%d" % L] = dW + self.reg * self.params["W%d" % L]
        grads["b%d" % L] = db
        for layer in range(L - 1, 0, -1):
            if self.use_dropout:
                dh = dropout_backward(dh, caches["dropout%d" % layer])
            dh = relu_backward(dh, caches["relu%d" % layer])
            if self.normalization == "batchnorm":
                dh, dgamma, dbeta = batchnorm_backward(dh, caches["norm%d" % layer])
                grads["gamma%d" % layer], grads["beta%d" % layer] = dgamma, dbeta
            elif self.normalization == "layernorm":
                dh, dgamma, dbeta = layernorm_backward(dh, caches["norm%d" % layer])
                grads["gamma%d" % layer], grads["beta%d" % layer] = dgamma, dbeta
            dh, dW, db = affine_backward(dh, caches["affine%d" % layer])
            grads["W%d" % layer] = dW + self.reg * self.params["W%d" % layer]
            grads["b%d" % layer] = db

        return loss, grads
