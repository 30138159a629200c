"""More `models.two_layer_net` checks: the scores themselves, and assignment 1's own train() and predict().

Assignment 1's TwoLayerNet (classifiers/neural_net.py, 2016-2019) writes its forward pass inline,
not with the layers of assignment 2: a wrong forward whose backward matches it passes a gradient
check, so the scores are compared with affine - ReLU - affine on the net's own weights (for
assignment 2's TwoLayerNet too). Its train() runs minibatch SGD on self.loss and returns the
loss history; predict() takes the argmax of the scores. Both are judged against what the net's
own loss returns, so a wrong loss never reads as a wrong training loop.

Declared under the `models` suite; checks/models.py imports this module.
"""
from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from sanitykit.checks.common import compare_arrays, global_random_preserved, shape_problem
from sanitykit.checks.minibatch import blobs, step_mistake, step_problem, train_kwargs
from sanitykit.checks.models import SMALL, build, data, model_check, scores_of
from sanitykit.checks.registry import CheckContext, SkipCheck, check
from sanitykit.engine.findings import Finding
from sanitykit.engine.results import Outcome, failed, passed
from sanitykit.engine.usercode import NotImplementedYet, call_user

SUBJECT = "TwoLayerNet"
LR, BATCH, ITERS = 0.05, 40, 12


def affine_relu_affine(params: dict[str, np.ndarray], X: np.ndarray) -> np.ndarray:
    """The two-layer net's scores for its weights: relu(X W1 + b1) W2 + b2."""
    hidden = np.maximum(0, X.reshape(len(X), -1) @ params["W1"] + params["b1"])
    return hidden @ params["W2"] + params["b2"]


def scores_check(ctx: CheckContext) -> Outcome:
    """loss(X) gives relu(X W1 + b1) W2 + b2 on the net's weights, set to unit scale (both ReLU sides used)."""
    arch = SMALL["two_layer_net"]
    model = build(ctx, "two_layer_net", arch)
    missing = [k for k in ("W1", "b1", "W2", "b2") if k not in model.params]
    if missing:
        raise SkipCheck(f"{SUBJECT}.params has no {', '.join(missing)}: not the course's two-layer net")
    for key, value in model.params.items():
        model.params[key] = ctx.rng.standard_normal(np.shape(value))
    X, _ = data(ctx, arch)
    got = scores_of(model, X, SUBJECT)
    if not np.any(got):  # the starter's `scores = np.zeros(...)  # TODO`
        raise NotImplementedYet(f"{SUBJECT}.loss", "the scores are still all zeros")
    return compare_arrays(got, affine_relu_affine(model.params, X), "scores", subject=f"{SUBJECT}.loss",
                          hint="scores = np.maximum(0, X.dot(W1) + b1).dot(W2) + b2 (ReLU after the first "
                               "layer only)", what=f"X {X.shape}, unit-scale weights")


# ---------------------------------------------------------------- assignment 1's train() and predict()

def assignment_one_net(ctx: CheckContext) -> Any:
    """The user's assignment-1 net (input_size, hidden_size, output_size, std), seeded; SkipCheck otherwise."""
    cls = ctx.fn(SUBJECT)
    if not callable(getattr(cls, "train", None)) or not callable(getattr(cls, "predict", None)):
        raise SkipCheck(f"{SUBJECT} has no train() / predict(): assignment 2's net is trained by the Solver")
    try:
        names = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        names = {}
    if "input_size" not in names:
        raise SkipCheck(f"{SUBJECT} does not take assignment 1's input_size, hidden_size, output_size")
    with global_random_preserved():
        np.random.seed(ctx.seed)
        return call_user(cls, input_size=5, hidden_size=10, output_size=3, std=0.1, subject=SUBJECT)


class Calls:
    """What train() handed to self.loss, and the weights and gradients of each call."""

    def __init__(self, net: Any) -> None:
        self.batches: list[tuple[np.ndarray, np.ndarray]] = []
        self.params: list[dict[str, np.ndarray]] = []
        self.grads: list[dict[str, np.ndarray]] = []
        original = net.loss

        def loss(X, y=None, reg=0.0):
            if y is None:  # predict() may ask the scores of this very loss
                return original(X)
            self.batches.append((np.array(X), np.array(y)))
            self.params.append({k: np.array(v, dtype=float) for k, v in net.params.items()})
            value = original(X, y=y, reg=reg)
            grads = value[1] if isinstance(value, tuple) and len(value) == 2 else {}
            self.grads.append({k: np.array(v, dtype=float) for k, v in (grads or {}).items()})
            return value

        net.loss = loss  # train() calls self.loss: the instance attribute answers


def update_problem(calls: Calls) -> Outcome | None:
    """A failed Outcome when a weight after the first step is not W - learning_rate * grads[W] of that step."""
    if len(calls.params) < 2:
        return None
    for key, before in calls.params[0].items():
        grad = calls.grads[0].get(key)
        if grad is None or grad.shape != before.shape:
            continue  # the gradient check of the loss says what is wrong with grads
        mistake = step_mistake(before, calls.params[1][key], grad, LR)
        if mistake:
            pattern, fix = mistake
            return failed(Finding(pattern, f"{SUBJECT}.train: after the first step {key} is not {key} - "
                                  f"learning_rate * grads['{key}']", fix=fix.replace("W -= learning_rate * grad",
                                  "self.params[name] -= learning_rate * grads[name]"), where=(key,)))
    return None


def train_check(ctx: CheckContext) -> Outcome:
    """train() samples batch_size examples with their labels, steps each weight by -lr * grad, returns the losses."""
    net = assignment_one_net(ctx)
    calls = Calls(net)
    X, y = blobs(ctx)
    X_val, y_val = X[:30].copy(), y[:30].copy()
    kwargs = train_kwargs(net.train, {"learning_rate": LR, "learning_rate_decay": 1.0, "reg": 1e-3,
                                      "num_iters": ITERS, "batch_size": BATCH, "verbose": False})
    with global_random_preserved():
        np.random.seed(ctx.seed)
        stats = call_user(net.train, X, y, X_val, y_val, subject=f"{SUBJECT}.train", **kwargs)
    if not calls.batches:
        raise NotImplementedYet(f"{SUBJECT}.train", "self.loss(X_batch, y=y_batch, reg=reg) is never called")
    problem = step_problem(X, y, calls.batches, batch_size=BATCH, owner=f"{SUBJECT}.train") or update_problem(calls)
    if problem:
        return problem
    history = stats.get("loss_history") if isinstance(stats, dict) else None
    if history is None or len(history) != ITERS:
        return failed(Finding("no_history", f"{SUBJECT}.train returned {type(stats).__name__} without the "
                              f"{ITERS} losses of num_iters={ITERS} under 'loss_history'",
                              fix="return {'loss_history': loss_history, 'train_acc_history': ..., "
                                  "'val_acc_history': ...}, appending each step's loss", where=("loss_history",)))
    return passed(f"{ITERS} steps on minibatches of {BATCH} with their labels, each weight stepped by "
                  "-learning_rate * grads; the loss history returned")


def predict_check(ctx: CheckContext) -> Outcome:
    """predict(X) is the argmax over the classes of the net's own scores."""
    net = assignment_one_net(ctx)
    X = ctx.rng.standard_normal((12, 5))
    scores = np.asarray(call_user(net.loss, X.copy(), subject=f"{SUBJECT}.loss"))
    got = call_user(net.predict, X.copy(), subject=f"{SUBJECT}.predict")
    if got is None:
        raise NotImplementedYet(f"{SUBJECT}.predict", "returned None")
    got, expected = np.asarray(got), np.argmax(scores, axis=1)
    if got.shape == (scores.shape[1],) and np.array_equal(got, np.argmax(scores, axis=0)):
        return failed(Finding("predict_axis", f"{SUBJECT}.predict took the argmax over the examples (axis=0)",
                              fix="y_pred = np.argmax(scores, axis=1)", where=("y_pred",)))
    problem = shape_problem(got, "y_pred", expected.shape, subject=f"{SUBJECT}.predict",
                            hint="one label per example: y_pred = np.argmax(scores, axis=1)")
    if problem:
        return problem
    wrong = int(np.sum(got != expected))
    if wrong:
        return failed(Finding("predict_axis", f"{SUBJECT}.predict: {wrong} of {len(X)} labels are not the argmax "
                              "of the net's scores", fix="y_pred = np.argmax(self.loss(X), axis=1)",
                              where=("y_pred",)), wrong=wrong)
    return passed(f"predict gives the argmax of the scores for {len(X)} examples")


@check("models.two_layer_net.scores", subject=SUBJECT, title="scores = relu(X W1 + b1) W2 + b2",
       depends_on=("models.two_layer_net.scores_shape",))
@model_check("two_layer_net")
def two_layer_net_scores(ctx: CheckContext) -> Outcome:
    return scores_check(ctx)


@check("models.two_layer_net.train", subject=SUBJECT,
       title="train(): minibatch SGD on self.loss (assignment 1)")
def two_layer_net_train(ctx: CheckContext) -> Outcome:
    return train_check(ctx)


@check("models.two_layer_net.predict", subject=SUBJECT, title="predict(): argmax of the scores (assignment 1)")
def two_layer_net_predict(ctx: CheckContext) -> Outcome:
    return predict_check(ctx)
