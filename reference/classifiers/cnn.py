"""ThreeLayerConvNet: conv - relu - 2x2 max pool - affine - relu - affine - softmax.

Layers are called by their module-level names, brought in with `import *` as in the
course's cnn.py, so rebinding e.g. `cnn.conv_relu_pool_forward` swaps that layer in.
Initial weights follow fc_net: global np.random.randn when seed is None (the course),
np.random.RandomState(seed).randn otherwise.
"""
import numpy as np

from ..layers import *  # noqa: F401,F403
from ..fast_layers import *  # noqa: F401,F403
from ..layer_utils import *  # noqa: F401,F403

__all__ = ["ThreeLayerConvNet"]


class ThreeLayerConvNet:
    """Three-layer convolutional network on (N, C, H, W) input; parameters W1, b1, W2, b2, W3, b3.

    The convolution has stride 1 and pad (filter_size - 1) // 2 (size-preserving for
    odd filters); the pool is 2x2 with stride 2.

    Args:
        input_dim: (C, H, W) of one input, default (3, 32, 32).
        num_filters: number of conv filters F, default 32.
        filter_size: height and width of the filters, default 7.
        hidden_dim: size of the hidden affine layer, default 100.
        num_classes: number of classes, default 10.
        weight_scale: standard deviation of the initial weights, default 1e-3.
        reg: L2 regularisation strength, default 0.0.
        dtype: dtype of every parameter, default np.float32.
        seed: None (global np.random, as the course) or an int for repeatable weights.
    """

    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100,
                 num_classes=10, weight_scale=1e-3, reg=0.0, dtype=np.float32, seed=None):
        randn = np.random.randn if seed is None else np.random.RandomState(seed).randn
        C, H, W = input_dim
        self.reg = reg
        self.dtype = dtype
        self.conv_param = {"stride": 1, "pad": (filter_size - 1) // 2}
        self.pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
        # Computed rather than assumed H/2 x W/2, so even filter sizes also line up.
        conv_h = H + 2 * self.conv_param["pad"] - filter_size + 1
        conv_w = W + 2 * self.conv_param["pad"] - filter_size + 1
        pooled_size = num_filters * (conv_h // 2) * (conv_w // 2)
        params = {
            "W1": weight_scale * randn(num_filters, C, filter_size, filter_size),
            "b1": np.zeros(num_filters),
            "W2": weight_scale * randn(pooled_size, hidden_dim),
            "b2": np.zeros(hidden_dim),
            "W3": weight_scale * randn(hidden_dim, num_classes),
            "b3": np.zeros(num_classes),
        }
        self.params = {name: value.astype(dtype) for name, value in params.items()}

    def loss(self, X, y=None):
        """Class scores (N, num_classes) when y is None, else (loss, grads).

        Args:
            X: input of shape (N, C, H, W).
            y: labels of shape (N,), or None for test-time scores.
        """
        p = self.params
        pooled, pool_cache = conv_relu_pool_forward(X, p["W1"], p["b1"], self.conv_param, self.pool_param)
        hidden, hidden_cache = affine_relu_forward(pooled, p["W2"], p["b2"])
        scores, scores_cache = affine_forward(hidden, p["W3"], p["b3"])
        if y is None:
            return scores

        data_loss, dscores = softmax_loss(scores, y)
        weight_names = ("W1", "W2", "W3")
        loss = data_loss + 0.5 * self.reg * sum(np.sum(p[name] * p[name]) for name in weight_names)
        grads = {}
        dhidden, grads["W3"], grads["b3"] = affine_backward(dscores, scores_cache)
        dpooled, grads["W2"], grads["b2"] = affine_relu_backward(dhidden, hidden_cache)
        _, grads["W1"], grads["b1"] = conv_relu_pool_backward(dpooled, pool_cache)
        for name in weight_names:
            grads[name] = grads[name] + self.reg * p[name]
        return loss, grads
