"""Numerical gradients by central differences, always in float64."""
from __future__ import annotations

from typing import Callable

import numpy as np


def rel_error(a, b) -> float:
    """max |a-b| / max(1e-8, |a|+|b|), the course's relative error.

    Args:
        a, b: arrays (or scalars) of the same shape.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes differ, {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def numerical_gradient(f: Callable, x: np.ndarray, dout=None, h: float = 1e-5) -> np.ndarray:
    """Central-difference gradient of sum(f(x) * dout) with respect to x, element by element.

    `x` is perturbed in place and always restored, also when `f` raises.

    Args:
        f: x -> array or scalar (evaluated in float64 when x is float64).
        x: the point; must be a float64 array to give trustworthy digits.
        dout: upstream gradient of f's output (default: 1, i.e. f is a scalar loss).
        h: step, default 1e-5.
    """
    if not isinstance(x, np.ndarray):
        raise TypeError(f"numerical_gradient needs a numpy array, got {type(x).__name__}")
    grad = np.zeros(x.shape, dtype=np.float64)
    for idx in np.ndindex(*x.shape):  # indexes x itself: works for views and transposes too
        old = x[idx]
        try:
            x[idx] = old + h
            plus = np.asarray(f(x), dtype=np.float64)
            x[idx] = old - h
            minus = np.asarray(f(x), dtype=np.float64)
        finally:
            x[idx] = old
        diff = plus - minus
        grad[idx] = (np.sum(diff * dout) if dout is not None else np.sum(diff)) / (2 * h)
    return grad
