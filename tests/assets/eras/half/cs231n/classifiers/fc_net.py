import numpy as np

from ..layers import *


class TwoLayerNet(object):
    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10, weight_scale=1e-3, reg=0.0):
        self.params = {}
        self.reg = reg
        self.params["W1"] = weight_scale * np.random.randn(input_dim, hidden_dim)
        self.params["b1"] = np.zeros(hidden_dim)
        self.params["W2"] = weight_scale * np.random.randn(hidden_dim, num_classes)
        self.params["b2"] = np.zeros(num_classes)
        self.num_classes = num_classes

    def loss(self, X, y=None):
        scores = np.zeros((X.shape[0], self.num_classes))
        # TODO: implement the forward pass
        if y is None:
            return scores
        loss, grads = 0, {}
        # TODO: implement the backward pass
        return loss, grads
