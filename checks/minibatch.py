"""Minibatch SGD as assignment 1 writes it, judged step by step (linear.py and neural_net.py).

train() is watched through its calls of self.loss: each minibatch must be batch_size examples of
the training set with their own labels, and the weights after a step must be the weights before it
minus learning_rate times that step's gradient. Known wrong steps are named (uphill, the learning
rate ignored, no update).
"""
from __future__ import annotations

import inspect
from typing import Any, Callable

import numpy as np

from sanitykit.checks.registry import CheckContext
from sanitykit.engine.findings import Finding
from sanitykit.engine.results import Outcome, failed

def blobs(ctx: CheckContext, n: int = 300, d: int = 5, c: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """c well-separated Gaussian classes in d dimensions, a column of ones last (the bias trick)."""
    y = np.arange(n) % c
    centers = 3 * ctx.rng.standard_normal((c, d - 1))
    X = centers[y] + ctx.rng.standard_normal((n, d - 1))
    return np.hstack([X, np.ones((n, 1))]), y


def train_kwargs(method: Callable, wanted: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of `wanted` that train() accepts (all when it takes **kwargs)."""
    try:
        params = inspect.signature(method).parameters
    except (TypeError, ValueError):
        return wanted
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return wanted
    return {k: v for k, v in wanted.items() if k in params}


def step_problem(X: np.ndarray, y: np.ndarray, batches: list[tuple[np.ndarray, np.ndarray]], *,
                 batch_size: int, owner: str = "LinearClassifier.train") -> Outcome | None:
    """A failed Outcome when a minibatch handed to self.loss is not batch_size examples with their labels.

    Args:
        X, y: the training data given to train().
        batches: (X_batch, y_batch) of each call of self.loss, in order.
        batch_size: the batch_size given to train().
        owner: the train method, for messages.
    """
    rows = {row.tobytes(): i for i, row in enumerate(X)}
    for step, (X_batch, y_batch) in enumerate(batches):
        if X_batch.shape[0] != batch_size:
            whole = " (the whole training set)" if X_batch.shape[0] == len(X) else ""
            return failed(Finding("minibatch_size", f"{owner} passed {X_batch.shape[0]} examples{whole} to "
                                  f"self.loss at step {step}, with batch_size={batch_size}",
                                  fix="sample a minibatch each step: idx = np.random.choice(num_train, batch_size); "
                                      "X_batch, y_batch = X[idx], y[idx]", where=("X_batch",)))
        index = [rows.get(np.ascontiguousarray(r, dtype=X.dtype).tobytes()) for r in X_batch]
        if None in index or np.shape(y_batch) != (batch_size,) or np.any(y[np.array(index)] != y_batch):
            return failed(Finding("minibatch_labels", f"{owner}: at step {step} the labels y_batch are not the "
                                  "labels of the examples X_batch", fix="draw one set of indices and use it for "
                                  "both: X_batch = X[idx]; y_batch = y[idx]", where=("y_batch",)))
    return None


STEP_MISTAKES = (
    (-1.0, "uphill_step", "step against the gradient: W -= learning_rate * grad"),
    (None, "lr_ignored", "scale the step by the learning rate: W -= learning_rate * grad"),
    (0.0, "state_not_updated", "update the weights after each loss: W -= learning_rate * grad"),
)


def step_mistake(before: np.ndarray, after: np.ndarray, grad: np.ndarray, lr: float) -> tuple[str, str] | None:
    """(pattern, fix) when `after` is a known wrong SGD step from `before`; None when it is the right one.

    ("update_rule", fix) when it is neither right nor a known mistake.
    """
    def close(expected: np.ndarray) -> bool:
        return after.shape == expected.shape and np.allclose(after, expected, rtol=1e-8, atol=1e-12)

    if close(before - lr * grad):
        return None
    for factor, pattern, fix in STEP_MISTAKES:
        if close(before - (1.0 if factor is None else factor * lr) * grad):
            return pattern, fix
    return "update_rule", "the SGD step is W -= learning_rate * grad"
