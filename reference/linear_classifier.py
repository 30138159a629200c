"""Linear classifiers trained by minibatch SGD (CS231n assignment 1, cs231n/classifiers/linear_classifier.py).

Randomness: with `seed=None` (the default) the initial weights and the minibatches come
from the global `np.random`, as in the course, so `np.random.seed(...)` before training
reproduces the course's numbers. With a seed they come from `np.random.RandomState(seed)`,
which draws the same numbers as `np.random.seed(seed)` would, but leaves the global state
untouched.
"""
import numpy as np

from .linear_svm import svm_loss_vectorized
from .softmax import softmax_loss_vectorized

__all__ = ["LinearClassifier", "LinearSVM", "Softmax"]


class LinearClassifier:
    """scores = X @ W with W of shape (D, C); subclasses say which loss trains it.

    W stays None until the first call of train, which sizes it from the data.
    """

    def __init__(self):
        self.W = None

    def train(self, X, y, learning_rate=1e-3, reg=1e-5, num_iters=100, batch_size=200,
              verbose=False, seed=None):
        """Minibatch SGD on self.loss; returns the list of the loss at every iteration.

        Args:
            X: training data of shape (N, D).
            y: labels of shape (N,), 0 <= y[i] < C; C is taken as max(y) + 1.
            learning_rate: SGD step size, default 1e-3.
            reg: regularisation strength, default 1e-5.
            num_iters: number of SGD steps, default 100.
            batch_size: examples per step, default 200.
            verbose: print the loss every 100 iterations, default False.
            seed: None (global np.random, as the course) or an int for a repeatable run.
        """
        num_train, dim = X.shape
        num_classes = np.max(y) + 1  # the course assumes labels 0 .. C-1
        random = np.random if seed is None else np.random.RandomState(seed)
        if self.W is None:
            self.W = 0.001 * random.randn(dim, num_classes)

        loss_history = []
        for it in range(num_iters):
            # Sampling with replacement, as the course suggests: cheaper than a permutation
            # per step, and each minibatch is still an unbiased estimate of the full loss.
            batch = random.choice(num_train, batch_size, replace=True)
            loss, grad = self.loss(X[batch], y[batch], reg)
            loss_history.append(loss)
            self.W -= learning_rate * grad
            if verbose and it % 100 == 0:
                print(f"iteration {it} / {num_iters}: loss {loss:f}")
        return loss_history

    def predict(self, X):
        """The class with the highest score for each row of X, shape (N,).

        Args:
            X: data of shape (N, D).
        """
        return np.argmax(X @ self.W, axis=1)

    def loss(self, X_batch, y_batch, reg):
        """(loss, dW) of a minibatch; each subclass gives its own.

        Args:
            X_batch: data of shape (N, D).
            y_batch: labels of shape (N,).
            reg: regularisation strength.
        """
        raise NotImplementedError("LinearClassifier.loss: use a subclass (LinearSVM, Softmax)")


class LinearSVM(LinearClassifier):
    """A linear classifier trained with the multiclass SVM loss (svm_loss_vectorized)."""

    def loss(self, X_batch, y_batch, reg):
        return svm_loss_vectorized(self.W, X_batch, y_batch, reg)


class Softmax(LinearClassifier):
    """A linear classifier trained with the softmax loss (softmax_loss_vectorized)."""

    def loss(self, X_batch, y_batch, reg):
        return softmax_loss_vectorized(self.W, X_batch, y_batch, reg)
