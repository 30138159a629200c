from builtins import object
import numpy as np

from ..layers import *
from ..fast_layers import *
from ..layer_utils import *


class ThreeLayerConvNet(object):
    """conv - relu - 2x2 max pool - affine - relu - affine - softmax"""

    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100,
                 num_classes=10, weight_scale=1e-3, reg=0.0, dtype=np.float32):
        self.reg = reg
        self.dtype = dtype
        C, H, W = input_dim
        shapes = {"W1": (num_filters, C, filter_size, filter_size),
                  "W2": (num_filters * H * W // 4, hidden_dim),
                  "W3": (hidden_dim, num_classes)}
        self.params = {k: weight_scale * np.random.randn(*s) for k, s in shapes.items()}
        self.params.update(b1=np.zeros(num_filters), b2=np.zeros(hidden_dim), b3=np.zeros(num_classes))
        self.params = {k: v.astype(dtype) for k, v in self.params.items()}

    def loss(self, X, y=None):
        W1, b1, W2, b2, W3, b3 = (self.params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
        conv_param = {"stride": 1, "pad": (W1.shape[2] - 1) // 2}
        pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}

        out1, c1 = conv_relu_pool_forward(X, W1, b1, conv_param, pool_param)
        out2, c2 = affine_relu_forward(out1, W2, b2)
        scores, c3 = affine_forward(out2, W3, b3)
        if y is None:
            return scores

        loss, d = softmax_loss(scores, y)
        loss += 0.5 * self.reg * sum((w * w).sum() for w in (W1, W2, W3))
        grads = {}
        d, grads["W3"], grads["b3"] = affine_backward(d, c3)
        d, grads["W2"], grads["b2"] = affine_relu_backward(d, c2)
        _, grads["W1"], grads["b1"] = conv_relu_pool_backward(d, c1)
        for k in ("W1", "W2", "W3"):
            grads[k] += self.reg * self.params[k]
        return loss, grads
