"""The two-layer network of CS231n assignment 1 (cs231n/classifiers/neural_net.py, course years 2016-2019).

Not assignment 2's TwoLayerNet (classifiers/fc_net.py): this one takes `reg` at every
call of loss() rather than in the constructor, has its own train() and predict(), and
names its sizes input_size / hidden_size / output_size. The flat namespace exports it as
`sanitykit.reference.A1TwoLayerNet`.

Regularisation, by course year (a checker must measure which one a student follows):
- 2017 onwards (what this module does): reg * (sum(W1 * W1) + sum(W2 * W2)), gradients
  2 * reg * W; the notebook checks loss(X, y, reg=0.05) == 1.30378789133 on its toy model;
- winter 2016: 0.5 * reg * (...), gradients reg * W; the notebook checked the same number
  with reg=0.1.
Biases are not regularised in either year.

Initial weights and minibatches come from the global `np.random` with `seed=None` (the
course), else from `np.random.RandomState(seed)`: the same numbers as `np.random.seed(seed)`
would give, with the global state left alone.
"""
import numpy as np

from ..layers import *  # noqa: F401,F403
from ..layer_utils import *  # noqa: F401,F403

__all__ = ["TwoLayerNet"]


class TwoLayerNet:
    """affine - ReLU - affine - softmax; parameters W1 (D, H), b1 (H,), W2 (H, C), b2 (C,).

    Args:
        input_size: input dimension D.
        hidden_size: number of hidden units H.
        output_size: number of classes C.
        std: standard deviation of the initial weights, default 1e-4 (biases start at 0).
        seed: None (global np.random, as the course) or an int for repeatable weights.
    """

    def __init__(self, input_size, hidden_size, output_size, std=1e-4, seed=None):
        randn = np.random.randn if seed is None else np.random.RandomState(seed).randn
        # Drawn in the course's order (W1, then W2), so np.random.seed(0) gives its toy model.
        self.params = {
            "W1": std * randn(input_size, hidden_size),
            "b1": np.zeros(hidden_size),
            "W2": std * randn(hidden_size, output_size),
            "b2": np.zeros(output_size),
        }

    def loss(self, X, y=None, reg=0.0):
        """Class scores (N, C) when y is None, else (loss, grads) with grads keyed like params.

        Args:
            X: input of shape (N, D).
            y: labels of shape (N,), or None for the scores alone.
            reg: L2 regularisation strength, default 0.0 (loss term reg * sum of W * W).
        """
        p = self.params
        hidden, hidden_cache = affine_relu_forward(X, p["W1"], p["b1"])
        scores, scores_cache = affine_forward(hidden, p["W2"], p["b2"])
        if y is None:
            return scores

        data_loss, dscores = softmax_loss(scores, y)
        loss = data_loss + reg * (np.sum(p["W1"] * p["W1"]) + np.sum(p["W2"] * p["W2"]))
        grads = {}
        dhidden, grads["W2"], grads["b2"] = affine_backward(dscores, scores_cache)
        _, grads["W1"], grads["b1"] = affine_relu_backward(dhidden, hidden_cache)
        grads["W1"] += 2 * reg * p["W1"]
        grads["W2"] += 2 * reg * p["W2"]
        return float(loss), grads

    def train(self, X, y, X_val, y_val, learning_rate=1e-3, learning_rate_decay=0.95,
              reg=5e-6, num_iters=100, batch_size=200, verbose=False, seed=None):
        """Minibatch SGD; returns {"loss_history", "train_acc_history", "val_acc_history"}.

        Once an epoch (and at iteration 0) the accuracies are recorded, the training one
        on the current minibatch as in the course, and the learning rate is multiplied
        by learning_rate_decay.

        Args:
            X, y: training data (N, D) and labels (N,).
            X_val, y_val: validation data and labels.
            learning_rate: initial SGD step size, default 1e-3.
            learning_rate_decay: factor applied to the step size each epoch, default 0.95.
            reg: regularisation strength, default 5e-6.
            num_iters: number of SGD steps, default 100.
            batch_size: examples per step, sampled with replacement, default 200.
            verbose: print the loss every 100 iterations, default False.
            seed: None (global np.random, as the course) or an int for repeatable minibatches.
        """
        num_train = X.shape[0]
        # Integer epochs, as under the course's Python 2; its Python 3 `num_train / batch_size`
        # is a float, and `it % 12.5 == 0` would mark an epoch only every 25 iterations.
        iterations_per_epoch = max(num_train // batch_size, 1)
        random = np.random if seed is None else np.random.RandomState(seed)

        loss_history, train_acc_history, val_acc_history = [], [], []
        for it in range(num_iters):
            batch = random.choice(num_train, batch_size, replace=True)
            X_batch, y_batch = X[batch], y[batch]
            loss, grads = self.loss(X_batch, y=y_batch, reg=reg)
            loss_history.append(loss)
            for name, grad in grads.items():
                self.params[name] -= learning_rate * grad
            if verbose and it % 100 == 0:
                print(f"iteration {it} / {num_iters}: loss {loss:f}")
            if it % iterations_per_epoch == 0:
                train_acc_history.append(float(np.mean(self.predict(X_batch) == y_batch)))
                val_acc_history.append(float(np.mean(self.predict(X_val) == y_val)))
                learning_rate *= learning_rate_decay
        return {"loss_history": loss_history, "train_acc_history": train_acc_history,
                "val_acc_history": val_acc_history}

    def predict(self, X):
        """The class with the highest score for each row of X, shape (N,).

        Args:
            X: data of shape (N, D).
        """
        return np.argmax(self.loss(X), axis=1)
