"""Fully connected classifiers: TwoLayerNet and FullyConnectedNet (CS231n assignment 2).

Layers are called by their module-level names, brought in with `import *` as in the
course's fc_net.py: rebinding e.g. `fc_net.affine_relu_forward` swaps that layer in.

Initial weights: with `seed=None` they come from the global `np.random.randn`, as in
the course, so `np.random.seed(231)` before building a model reproduces the course's
numbers. With a seed they come from `np.random.RandomState(seed).randn`, which gives the
same numbers as `np.random.seed(seed)` would, but leaves the global state untouched, so
seeded models are repeatable and safe to build inside checks.
"""
import numpy as np

from ..layers import *  # noqa: F401,F403
from ..layer_utils import *  # noqa: F401,F403

__all__ = ["TwoLayerNet", "FullyConnectedNet"]


def _randn_source(seed):
    """The standard-normal sampler for initial weights (see the module docstring).

    Args:
        seed: None for the global numpy state (course behaviour), else an int.
    """
    return np.random.randn if seed is None else np.random.RandomState(seed).randn


def _l2_penalty(params, weight_names, reg):
    """0.5 * reg * sum of squared weights (biases, gammas and betas are not regularised).

    Args:
        params: the model's parameter dict.
        weight_names: keys of the weights to penalise.
        reg: regularisation strength.
    """
    return 0.5 * reg * sum(np.sum(params[name] * params[name]) for name in weight_names)


class TwoLayerNet:
    """affine - relu - affine - softmax, with L2 regularisation; parameters W1, b1, W2, b2.

    Args:
        input_dim: size D of the (flattened) input, default 3*32*32.
        hidden_dim: size H of the hidden layer, default 100.
        num_classes: number of classes C, default 10.
        weight_scale: standard deviation of the initial weights, default 1e-3.
        reg: L2 regularisation strength, default 0.0.
        seed: None (global np.random, as the course) or an int for repeatable weights.
    """

    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10,
                 weight_scale=1e-3, reg=0.0, seed=None):
        randn = _randn_source(seed)
        self.reg = reg
        self.params = {
            "W1": weight_scale * randn(input_dim, hidden_dim),
            "b1": np.zeros(hidden_dim),
            "W2": weight_scale * randn(hidden_dim, num_classes),
            "b2": np.zeros(num_classes),
        }

    def loss(self, X, y=None):
        """Class scores (N, C) when y is None, else (loss, grads) with grads keyed like params.

        Args:
            X: input of shape (N, d_1, ..., d_k).
            y: labels of shape (N,), or None for test-time scores.
        """
        p = self.params
        hidden, hidden_cache = affine_relu_forward(X, p["W1"], p["b1"])
        scores, scores_cache = affine_forward(hidden, p["W2"], p["b2"])
        if y is None:
            return scores

        data_loss, dscores = softmax_loss(scores, y)
        loss = data_loss + _l2_penalty(p, ("W1", "W2"), self.reg)
        grads = {}
        dhidden, grads["W2"], grads["b2"] = affine_backward(dscores, scores_cache)
        _, grads["W1"], grads["b1"] = affine_relu_backward(dhidden, hidden_cache)
        grads["W1"] += self.reg * p["W1"]
        grads["W2"] += self.reg * p["W2"]
        return loss, grads


class FullyConnectedNet:
    """{affine - [batch/layer norm] - relu - [dropout]} x (L - 1) - affine - softmax.

    Parameters W1..WL and b1..bL; gamma_i and beta_i for each normalised hidden layer.

    Args:
        hidden_dims: list of hidden layer sizes.
        input_dim: size D of the (flattened) input, default 3*32*32.
        num_classes: number of classes C, default 10.
        dropout_keep_ratio: probability of KEEPING a unit; 1 (default) means no dropout.
        normalization: None (default), "batchnorm" or "layernorm".
        reg: L2 regularisation strength, default 0.0.
        weight_scale: standard deviation of the initial weights, default 1e-2.
        dtype: dtype of every parameter, default np.float32 (np.float64 for gradient checks).
        seed: None (global np.random for weights, random dropout masks, as the course)
            or an int: repeatable weights and dropout masks.
    """

    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10,
                 dropout_keep_ratio=1, normalization=None, reg=0.0,
                 weight_scale=1e-2, dtype=np.float32, seed=None):
        if normalization not in (None, "batchnorm", "layernorm"):
            raise ValueError(f'normalization must be None, "batchnorm" or "layernorm", got {normalization!r}')
        self.normalization = normalization
        self.use_dropout = dropout_keep_ratio != 1
        self.reg = reg
        self.num_layers = 1 + len(hidden_dims)
        self.dtype = dtype
        self.params = self._init_params([input_dim, *hidden_dims, num_classes],
                                        weight_scale, _randn_source(seed))

        # Dropout and normalisation state is shared by every forward pass; loss() sets the mode.
        self.dropout_param = {}
        if self.use_dropout:
            self.dropout_param = {"mode": "train", "p": dropout_keep_ratio}
            if seed is not None:
                self.dropout_param["seed"] = seed
        self.bn_params = []
        if normalization is not None:
            self.bn_params = [{"mode": "train"} for _ in range(self.num_layers - 1)]

    def _init_params(self, dims, weight_scale, randn):
        """weight_scale * randn weights, zero biases, unit gammas and zero betas, cast to dtype.

        Args:
            dims: [input_dim, *hidden_dims, num_classes].
            weight_scale: standard deviation of the weights.
            randn: standard-normal sampler.
        """
        params = {}
        for i in range(1, self.num_layers + 1):
            params[f"W{i}"] = weight_scale * randn(dims[i - 1], dims[i])
            params[f"b{i}"] = np.zeros(dims[i])
            if self.normalization is not None and i < self.num_layers:
                params[f"gamma{i}"] = np.ones(dims[i])
                params[f"beta{i}"] = np.zeros(dims[i])
        return {name: value.astype(self.dtype) for name, value in params.items()}

    def _hidden_forward(self, x, i):
        """Forward through hidden layer i (1-based): affine, optional norm, relu, optional dropout.

        Args:
            x: input of the layer.
            i: layer number.
        """
        p = self.params
        w, b = p[f"W{i}"], p[f"b{i}"]
        if self.normalization == "batchnorm":
            out, cache = affine_bn_relu_forward(x, w, b, p[f"gamma{i}"], p[f"beta{i}"], self.bn_params[i - 1])
        elif self.normalization == "layernorm":
            out, cache = affine_ln_relu_forward(x, w, b, p[f"gamma{i}"], p[f"beta{i}"], self.bn_params[i - 1])
        else:
            out, cache = affine_relu_forward(x, w, b)
        dropout_cache = None
        if self.use_dropout:
            out, dropout_cache = dropout_forward(out, self.dropout_param)
        return out, (cache, dropout_cache)

    def _hidden_backward(self, dout, cache, i, grads):
        """Backward through hidden layer i; stores its parameter gradients in grads, returns dx.

        Args:
            dout: upstream gradient of the layer's output.
            cache: from _hidden_forward.
            i: layer number.
            grads: dict receiving W{i}, b{i} (and gamma{i}, beta{i}).
        """
        cache, dropout_cache = cache
        if self.use_dropout:
            dout = dropout_backward(dout, dropout_cache)
        if self.normalization == "batchnorm":
            dx, dw, db, dgamma, dbeta = affine_bn_relu_backward(dout, cache)
        elif self.normalization == "layernorm":
            dx, dw, db, dgamma, dbeta = affine_ln_relu_backward(dout, cache)
        else:
            dx, dw, db = affine_relu_backward(dout, cache)
        grads[f"W{i}"], grads[f"b{i}"] = dw, db
        if self.normalization is not None:
            grads[f"gamma{i}"], grads[f"beta{i}"] = dgamma, dbeta
        return dx

    def loss(self, X, y=None):
        """Class scores (N, C) when y is None (test mode), else (loss, grads) (train mode).

        Args:
            X: input of shape (N, d_1, ..., d_k).
            y: labels of shape (N,), or None for test-time scores.
        """
        X = X.astype(self.dtype)
        mode = "test" if y is None else "train"
        if self.use_dropout:
            self.dropout_param["mode"] = mode
        for bn_param in self.bn_params:
            bn_param["mode"] = mode

        caches = []
        out = X
        for i in range(1, self.num_layers):
            out, cache = self._hidden_forward(out, i)
            caches.append(cache)
        L = self.num_layers
        scores, scores_cache = affine_forward(out, self.params[f"W{L}"], self.params[f"b{L}"])
        if mode == "test":
            return scores

        weight_names = [f"W{i}" for i in range(1, L + 1)]
        data_loss, dscores = softmax_loss(scores, y)
        loss = data_loss + _l2_penalty(self.params, weight_names, self.reg)
        grads = {}
        dout, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dscores, scores_cache)
        for i in range(L - 1, 0, -1):
            dout = self._hidden_backward(dout, caches[i - 1], i, grads)
        for name in weight_names:
            grads[name] = grads[name] + self.reg * self.params[name]
        return loss, grads
