"""The softmax (cross-entropy) loss of CS231n assignment 1 (cs231n/classifiers/softmax.py).

W is (D, C), X is (N, D), scores are X @ W; the data loss is averaged over N, and both
versions subtract each row's maximum score before exponentiating, so large scores do
not overflow.

Regularisation follows the same years as linear_svm.py (whose add_regularization this
module uses): reg * np.sum(W * W) with gradient 2 * reg * W from 2017 on (this module),
0.5 * reg * np.sum(W * W) with gradient reg * W in winter 2016.
"""
import numpy as np

from .layers import softmax_loss
from .linear_svm import add_regularization

__all__ = ["softmax_loss_naive", "softmax_loss_vectorized"]


def softmax_loss_naive(W, X, y, reg):
    """Softmax loss with an explicit loop over examples; returns (loss, dW).

    Args:
        W: weights of shape (D, C).
        X: a minibatch of shape (N, D).
        y: labels of shape (N,), 0 <= y[i] < C.
        reg: L2 regularisation strength (loss term reg * sum(W * W)).
    """
    dW = np.zeros_like(W)
    num_train = X.shape[0]
    loss = 0.0
    for i in range(num_train):
        scores = X[i] @ W
        scores = scores - scores.max()  # same probabilities, no overflow in exp
        # -log p_y = log sum_j exp(s_j) - s_y: no log of an underflowed p_y = 0
        log_sum_exp = np.log(np.sum(np.exp(scores)))
        loss += log_sum_exp - scores[y[i]]
        # d(-log p_y) / d score_j = p_j - [j == y]
        dscores = np.exp(scores - log_sum_exp)
        dscores[y[i]] -= 1
        dW += np.outer(X[i], dscores)
    return add_regularization(loss / num_train, dW / num_train, W, reg)


def softmax_loss_vectorized(W, X, y, reg):
    """Softmax loss without Python loops; same inputs and outputs as softmax_loss_naive.

    Args:
        W: weights of shape (D, C).
        X: a minibatch of shape (N, D).
        y: labels of shape (N,), 0 <= y[i] < C.
        reg: L2 regularisation strength (loss term reg * sum(W * W)).
    """
    data_loss, dscores = softmax_loss(X @ W, y)
    return add_regularization(data_loss, X.T @ dscores, W, reg)
