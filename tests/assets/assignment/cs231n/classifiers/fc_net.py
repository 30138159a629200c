import numpy as np

from ..layers import *
from ..layer_utils import *


class FullyConnectedNet(object):
    """A one-layer net whose scores come from affine_forward, looked up by global name."""

    def __init__(self, input_dim=4, num_classes=3):
        self.params = {"W1": np.ones((input_dim, num_classes)), "b1": np.zeros(num_classes)}

    def loss(self, X, y=None):
        scores, _ = affine_forward(X, self.params["W1"], self.params["b1"])
        return scores
