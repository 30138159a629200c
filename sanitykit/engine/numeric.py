"""Numerical gradients by central differences, always in float64."""
from __future__ import annotations

from typing import Callable

import numpy as np

AGREE_CAP = 1e-8  # the error reported for a difference below the round-off estimate


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
            plus = np.array(f(x), dtype=np.float64)  # copies: f may return x itself
            x[idx] = old - h
            minus = np.array(f(x), dtype=np.float64)
        finally:
            x[idx] = old
        diff = plus - minus
        grad[idx] = (np.sum(diff * dout) if dout is not None else np.sum(diff)) / (2 * h)
    return grad


# ----------------------------------------------------------- building blocks of gradcheck
# `evaluate()` below is "the forward pass at the current inputs, as a float64 array";
# the caller perturbs its own working copy `x` in place, so no input is ever copied per
# coordinate (full mode costs what the textbook loop costs, no more).

def one_sided_differences(evaluate: Callable[[], np.ndarray], x: np.ndarray, flat_indices,
                          out0: np.ndarray, dout, h: float) -> tuple[np.ndarray, np.ndarray]:
    """Forward and backward difference quotients of sum(evaluate() * dout) at chosen coordinates.

    Their mean is the central difference; their gap reveals a kink (ReLU, max) inside [x-h, x+h].
    `x` must be C-contiguous (a view of it is perturbed in place) and is always restored.

    Args:
        evaluate: () -> output array at the current value of x (float64).
        x: the input being perturbed (C-contiguous float64).
        flat_indices: coordinates of x.ravel() to probe.
        out0: evaluate() at the unperturbed x.
        dout: upstream gradient (same shape as out0).
        h: step.
    Returns:
        (d_plus, d_minus): (f(x+h)-f(x))/h and (f(x)-f(x-h))/h per coordinate.
    """
    flat = x.reshape(-1)
    if not np.shares_memory(flat, x):
        raise ValueError("one_sided_differences needs a contiguous array")
    u = np.asarray(dout, dtype=np.float64).reshape(-1)
    # A copy: a forward may return x itself (test-mode dropout), which we are about to perturb.
    ref = np.array(out0, dtype=np.float64).reshape(-1)
    n = len(flat_indices)
    d_plus = np.empty(n)
    d_minus = np.empty(n)
    diff = np.empty_like(ref)  # one buffer for every difference: no allocation per call
    for k, j in enumerate(flat_indices):
        old = flat[j]
        try:
            # Each output is reduced at once, before the next perturbation: an output that
            # aliases x (or a buffer the forward reuses) must not change under our feet.
            flat[j] = old + h
            d_plus[k] = np.dot(np.subtract(evaluate().reshape(-1), ref, out=diff), u)
            flat[j] = old - h
            d_minus[k] = np.dot(np.subtract(ref, evaluate().reshape(-1), out=diff), u)
        finally:
            flat[j] = old
    return d_plus / h, d_minus / h


def directional_differences(evaluate: Callable[[], np.ndarray], x: np.ndarray, v: np.ndarray,
                            out0: np.ndarray, dout, h: float) -> tuple[float, float]:
    """Forward and backward difference quotients of sum(evaluate() * dout) along direction v.

    `x` is moved to x ± h·v in place and restored bit for bit afterwards.

    Args:
        evaluate: () -> output array at the current value of x (float64).
        x: the input (float64), perturbed in place.
        v: direction, x's shape.
        out0: evaluate() at the unperturbed x.
        dout: upstream gradient.
        h: step.
    """
    d_plus, d_minus, _ = directional_quotients(evaluate, x, v, out0, dout, h)
    return d_plus, d_minus


def directional_quotients(evaluate: Callable[[], np.ndarray], x: np.ndarray, v: np.ndarray,
                          out0: np.ndarray, dout, h: float) -> tuple[float, float, float]:
    """directional_differences, plus a bound on what kinks crossed along ±h·v can explain.

    Each output element k of a piecewise-linear forward (ReLU, max) that crosses a kink
    between x-hv and x+hv has a second difference out_k(x+hv) - 2·out_k(x) + out_k(x-hv) of
    order h; a smooth element has one of order h². A single kink makes the central
    difference of element k miss its derivative at x by |second difference| / 2h, so
    sum_k |dout_k · second difference_k| / h bounds the error that kinks can cause.

    Returns:
        (d_plus, d_minus, kink_bound).
    """
    return joint_quotients(evaluate, [x], [v], out0, dout, h)


def joint_quotients(evaluate: Callable[[], np.ndarray], xs, vs, out0: np.ndarray, dout,
                    h: float) -> tuple[float, float, float]:
    """directional_quotients along one direction that moves several inputs at once.

    Every x in `xs` moves to x ± h·v (its v in `vs`) before the forward runs, so one pair of
    forward passes measures sum_i <grad_i, v_i>: a correct layer is confirmed for all its inputs
    at the cost torch's fast mode pays for one. Each x is restored bit for bit afterwards.

    Args:
        evaluate: () -> output array at the current values of the inputs (float64).
        xs: the inputs (float64), perturbed in place.
        vs: one direction per input, each of its input's shape.
        out0: evaluate() at the unperturbed inputs.
        dout: upstream gradient.
        h: step.
    Returns:
        (d_plus, d_minus, kink_bound), as directional_quotients.
    """
    saved = [x.copy() for x in xs]
    u = np.asarray(dout, dtype=np.float64).reshape(-1)
    ref = np.array(out0, dtype=np.float64).reshape(-1)  # a copy, as above
    try:
        for x, s, v in zip(xs, saved, vs):
            np.add(s, h * v, out=x)
        plus = np.array(evaluate(), dtype=np.float64).reshape(-1)
        for x, s, v in zip(xs, saved, vs):
            np.subtract(s, h * v, out=x)
        minus = np.array(evaluate(), dtype=np.float64).reshape(-1)
    finally:
        for x, s in zip(xs, saved):
            np.copyto(x, s)
    second = (plus - ref) - (ref - minus)
    bound = float(np.sum(np.abs(u * second))) / h
    return float(np.dot(plus - ref, u)) / h, float(np.dot(ref - minus, u)) / h, bound


def directional_error(analytic: float, d_plus: float, d_minus: float, g, atol,
                      typical: float | None = None) -> float:
    """|numeric - analytic| relative to the directional derivative and the gradient's size.

    The expected size of <g, v> for a random unit v is ||g||/sqrt(n) (`typical`, computed from g
    unless given); adding it keeps a direction that happens to be nearly orthogonal to g from
    inflating the error.
    """
    numeric = 0.5 * (d_plus + d_minus)
    diff = abs(numeric - analytic)
    if typical is None:
        typical = np.linalg.norm(g) / np.sqrt(max(g.size, 1))
    err = float(diff / max(abs(numeric) + abs(analytic) + typical, 1e-8))
    # Within round-off: agreement, whatever the ratio says (a gradient that is truly 0).
    return min(err, AGREE_CAP) if diff <= atol else err


def roundoff(out0, u, h, eps) -> float:
    """Estimated round-off of a difference quotient: eps·Σ|out·dout| / h, with a margin."""
    scale = float(np.sum(np.abs(np.asarray(out0) * u)))
    return 8 * eps * max(scale, 1.0) / h
