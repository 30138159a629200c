"""The multiclass SVM loss of CS231n assignment 1 (cs231n/classifiers/linear_svm.py).

Both functions take the weights first, as the course does: W is (D, C), X is (N, D),
and the scores are X @ W. The hinge has margin (delta) 1 and the data loss is averaged
over N.

Regularisation, by course year (a checker must measure which one a student follows):
- 2017 onwards (what this module does): loss += reg * np.sum(W * W), dW += 2 * reg * W;
- winter 2016: loss += 0.5 * reg * np.sum(W * W), dW += reg * W.
The regularisation part of dW is therefore 2 * reg * W or reg * W; both are "correct"
for their year. `add_regularization` holds this module's choice; softmax.py uses it too.
"""
import numpy as np

from .layers import svm_loss

__all__ = ["svm_loss_naive", "svm_loss_vectorized"]

DELTA = 1.0  # the course fixes the margin at 1: reg already sets the scale of W


def add_regularization(data_loss, data_dW, W, reg):
    """(data_loss + reg * sum(W * W), data_dW + 2 * reg * W): the 2017+ convention.

    Args:
        data_loss: the loss averaged over the minibatch.
        data_dW: its gradient with respect to W.
        W: the weights.
        reg: L2 regularisation strength.
    """
    return float(data_loss + reg * np.sum(W * W)), data_dW + 2 * reg * W


def svm_loss_naive(W, X, y, reg):
    """Structured SVM loss with explicit loops over examples and classes; returns (loss, dW).

    Args:
        W: weights of shape (D, C).
        X: a minibatch of shape (N, D).
        y: labels of shape (N,), 0 <= y[i] < C.
        reg: L2 regularisation strength (loss term reg * sum(W * W)).
    """
    dW = np.zeros_like(W)
    num_classes = W.shape[1]
    num_train = X.shape[0]
    loss = 0.0
    for i in range(num_train):
        scores = X[i] @ W
        correct_class_score = scores[y[i]]
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = scores[j] - correct_class_score + DELTA
            if margin > 0:
                # a violated margin pushes class j's score down and the correct one up
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    return add_regularization(loss / num_train, dW / num_train, W, reg)


def svm_loss_vectorized(W, X, y, reg):
    """Structured SVM loss without Python loops; same inputs and outputs as svm_loss_naive.

    Args:
        W: weights of shape (D, C).
        X: a minibatch of shape (N, D).
        y: labels of shape (N,), 0 <= y[i] < C.
        reg: L2 regularisation strength (loss term reg * sum(W * W)).
    """
    # svm_loss is the same hinge (margin 1, mean over N) on the scores; dW = X.T @ dscores.
    data_loss, dscores = svm_loss(X @ W, y)
    return add_regularization(data_loss, X.T @ dscores, W, reg)
