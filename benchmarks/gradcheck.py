"""Benchmark: sanitykit.gradcheck against the textbook per-coordinate loop (and torch, if present).

A script, not a test. On a 4x3x16x16 input with 8 3x3 filters (im2col conv, stride 1, pad 1) it
prints, from one run: the cs231n eval_numerical_gradient_array loop over x, w and b and full mode
(interleaved, the fastest of 5 each);
auto mode on the correct layer (the fastest of 15 runs: the machine is shared); auto mode on a
buggy layer (with its localised diagnosis); and torch.autograd.gradcheck(fast_mode=True) wrapping
the same numpy functions, warmed up and timed the same way, on both layers, when torch imports
(it is never a dependency: install it in a separate environment to compare).

    python benchmarks/gradcheck.py
"""
from __future__ import annotations

import time

import numpy as np

from sanitykit.engine.gradcheck import gradcheck
from sanitykit.reference import conv_backward_fast, conv_forward_fast

CONV = {"stride": 1, "pad": 1}


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """The course's textbook loop: two forward passes per coordinate, in place."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        oldval = x[ix]
        x[ix] = oldval + h
        pos = f(x).copy()
        x[ix] = oldval - h
        neg = f(x).copy()
        x[ix] = oldval
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
        it.iternext()
    return grad


def textbook(x, w, b, dout):
    """Numerical dx, dw, db the course's way (what a student runs in the notebook)."""
    dx = eval_numerical_gradient_array(lambda x_: conv_forward_fast(x_, w, b, CONV)[0], x, dout)
    dw = eval_numerical_gradient_array(lambda w_: conv_forward_fast(x, w_, b, CONV)[0], w, dout)
    db = eval_numerical_gradient_array(lambda b_: conv_forward_fast(x, w, b_, CONV)[0], b, dout)
    return dx, dw, db


def buggy_backward(dout, cache):
    """conv backward with the border of dx wrong (a padding mistake)."""
    dx, dw, db = conv_backward_fast(dout, cache)
    dx = dx.copy()
    dx[:, :, 0, :] = 0.0
    return dx, dw, db


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def best_of(fn, repeats: int):
    """(value, the fastest of `repeats` runs): the machine is shared, the minimum is the cost."""
    value, best = timed(fn)
    for _ in range(repeats - 1):
        value, seconds = timed(fn)
        best = min(best, seconds)
    return value, best


def torch_gradcheck(backward):
    """fn(x, w, b) -> (detected a wrong gradient, seconds) of torch.autograd.gradcheck(fast_mode=True)
    wrapping the same numpy functions, or None when torch is not importable."""
    try:
        import torch
    except ImportError:
        return None

    class Conv(torch.autograd.Function):
        @staticmethod
        def forward(ctx, tx, tw, tb):
            out, cache = conv_forward_fast(tx.numpy(), tw.numpy(), tb.numpy(), CONV)
            ctx.cache = cache
            return torch.from_numpy(out)

        @staticmethod
        def backward(ctx, tdout):
            return tuple(torch.from_numpy(np.ascontiguousarray(g))
                         for g in backward(tdout.numpy(), ctx.cache))

    def run(x, w, b):
        inputs = tuple(torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (x, w, b))
        return not torch.autograd.gradcheck(Conv.apply, inputs, fast_mode=True, raise_exception=False)

    return run


def main() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 16, 16))
    w = rng.standard_normal((8, 3, 3, 3))
    b = rng.standard_normal(8)
    dout = rng.standard_normal((4, 8, 16, 16))
    coords = x.size + w.size + b.size
    print(f"conv im2col, x {x.shape}, w {w.shape}, stride 1, pad 1: {coords} coordinates")

    # Interleaved, best of 5 each: a neighbour's burst of work must not land on one side only.
    t_loop = t_full = float("inf")
    for _ in range(5):
        t_loop = min(t_loop, timed(lambda: textbook(x.copy(), w.copy(), b.copy(), dout))[1])
        full, seconds = timed(lambda: gradcheck(conv_forward_fast, conv_backward_fast, x, w, b,
                                                args=(CONV,), mode="full", dout=dout))
        t_full = min(t_full, seconds)
    print(f"  textbook loop (eval_numerical_gradient_array) {t_loop:8.3f} s  (best of 5)")
    print(f"  sanitykit full                                {t_full:8.3f} s  "
          f"{t_loop / t_full:5.2f}x the loop's speed (target >= 0.95) "
          f"[{full.status}, max rel error {full.max_rel_error:.1e}]")
    auto, t_auto = best_of(lambda: gradcheck(conv_forward_fast, conv_backward_fast, x, w, b,
                                             args=(CONV,)), 15)
    print(f"  sanitykit auto, correct layer (best of 15)    {t_auto:8.4f} s  "
          f"{t_loop / t_auto:5.0f}x faster than the loop [{auto.status}, mode {auto.mode}]")
    bug, t_bug = timed(lambda: gradcheck(conv_forward_fast, buggy_backward, x, w, b,
                                         args=(CONV,), subject="conv_backward_fast"))
    print(f"  sanitykit auto, buggy layer (localised)       {t_bug:8.3f} s  "
          f"{t_loop / t_bug:5.1f}x faster than the loop [{bug.status}, mode {bug.mode}, "
          f"{bug.probed} coordinates, pattern {bug.patterns}]")
    torch_correct, torch_buggy = torch_gradcheck(conv_backward_fast), torch_gradcheck(buggy_backward)
    if torch_correct is None:
        print("  torch.autograd.gradcheck(fast_mode=True)      skipped: torch is not importable")
    else:
        torch_correct(x, w, b)  # warm-up: torch's first call pays for its own set-up
        alarm, t_torch = best_of(lambda: torch_correct(x, w, b), 15)
        caught = torch_buggy(x, w, b)
        print(f"  torch.autograd.gradcheck(fast_mode=True)      {t_torch:8.4f} s  (best of 15; "
              f"sanitykit auto is {t_torch / t_auto:.1f}x faster, target >= 2) "
              f"[correct layer flagged: {alarm}; buggy layer flagged: {caught}; "
              f"sanitykit: {auto.status} / {bug.status}]")
    print("\nthe buggy layer's diagnosis:\n" + str(bug))


if __name__ == "__main__":
    main()
