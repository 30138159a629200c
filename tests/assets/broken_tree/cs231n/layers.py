import numpy as np


def relu_forward(x):
    return np.maximum(0, x), x
