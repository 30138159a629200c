"""Conventions of assignments 1 and 3, measured on the user's code (conventions.py measures assignment 2's).

- the L2 penalty of the linear losses and of assignment 1's two-layer net: 0.5 * reg * sum(W**2)
  (winter 2016) or reg * sum(W**2) (from 2017), read from the loss at two values of reg;
- where the two-layer net lives: assignment 1's classifiers/neural_net.py (input_size, ...,
  reg given to loss) until 2019, assignment 2's fc_net.py API after it moved;
- CaptioningRNN's default dtype (float32 in the course; rebuilt in float64 for checking).

`measure(get)` returns (conventions, sentences) like conventions.measure, which calls it.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable

import numpy as np

from sanitykit.front.conventions import parameter_names, quiet_call

LINEAR_LOSSES = ("svm_loss_vectorized", "svm_loss_naive", "softmax_loss_vectorized", "softmax_loss_naive")
YEAR = {0.5: "0.5 * reg * sum(W**2), as in winter 2016", 1.0: "reg * sum(W**2), as from 2017"}


def _factor(rise: float, squares: float, reg: float) -> float | None:
    """0.5 or 1 when rise = factor * reg * squares, else None."""
    for factor in (0.5, 1.0):
        if abs(rise - factor * reg * squares) <= 1e-6 * max(1.0, abs(rise)):
            return factor
    return None


def _loss_value(value: Any) -> float | None:
    """The loss of a (loss, grad) return as a float, or None."""
    if isinstance(value, (tuple, list)) and value and np.asarray(value[0]).size == 1:
        return float(np.asarray(value[0]).reshape(()))
    return None


def linear_penalty(get: Callable[[str], Any]) -> tuple[dict[str, Any], str]:
    """The penalty factor of the first linear loss that gives one (loss at reg=0.3 minus at reg=0)."""
    rng = np.random.default_rng(0)
    W, X, y = rng.standard_normal((5, 3)), rng.standard_normal((6, 5)), rng.integers(3, size=6)
    for name in LINEAR_LOSSES:
        fn = get(name)
        if fn is None:
            continue
        low, high = (_loss_value(quiet_call(fn, W.copy(), X.copy(), y.copy(), reg)) for reg in (0.0, 0.3))
        factor = _factor(high - low, float(np.sum(W * W)), 0.3) if low is not None and high is not None else None
        if factor is not None:
            return {"linear_reg": factor}, f"{name}'s penalty is {YEAR[factor]}"
    return {}, ""


def two_layer_net(get: Callable[[str], Any]) -> tuple[dict[str, Any], str]:
    """Which course API TwoLayerNet follows: assignment 1's (reg given to loss) or assignment 2's."""
    cls = get("TwoLayerNet")
    names = parameter_names(cls) if cls is not None else None
    if not names:
        return {}, ""
    loss_names = parameter_names(getattr(cls, "loss", None)) or []
    if "input_size" in names and "reg" in loss_names:
        return ({"two_layer_net": "assignment1"},
                "TwoLayerNet is assignment 1's (input_size, hidden_size, output_size, std; reg given to loss)")
    return {"two_layer_net": "assignment2"}, ""


def captioning_dtype(get: Callable[[str], Any]) -> tuple[dict[str, Any], str]:
    """CaptioningRNN's default dtype, when it is not float64."""
    cls = get("CaptioningRNN")
    try:
        default = inspect.signature(cls).parameters["dtype"].default if cls is not None else None
        dtype = np.dtype(default) if default not in (None, inspect.Parameter.empty) else None
    except (KeyError, TypeError, ValueError):
        return {}, ""
    if dtype is None or dtype == np.float64:
        return {}, ""
    return ({"captioning_dtype": dtype.name},
            f"CaptioningRNN's default dtype is {dtype.name}, rebuilt in float64 for checking")


def measure(get: Callable[[str], Any]) -> tuple[dict[str, Any], list[str]]:
    """Every assignment-1 and -3 convention that can be measured; (conventions, sentences)."""
    conventions: dict[str, Any] = {}
    sentences: list[str] = []
    for found, sentence in (linear_penalty(get), two_layer_net(get), captioning_dtype(get)):
        conventions.update(found)
        if sentence:
            sentences.append(sentence)
    return conventions, sentences
