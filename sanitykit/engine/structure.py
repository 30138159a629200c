"""Tests of the user's code that need no finite differences, each measuring and naming what it finds.

gradcheck calls them where they can explain a disagreement: the determinism tests name the
cause of noise (an unseeded draw from numpy's generator, a cache the backward writes into, state
kept between calls) and measure its size; `linearity` finds terms that do not go through dout;
`mixes_examples` finds a backward that sums over the batch where the forward works per example.
Each function calls the user's code through the problem adapters (sanitykit.engine.problems)
and puts back what it perturbs; `restore` puts the inputs back after a call that may write
into them.
"""
from __future__ import annotations

import contextlib
import random
from typing import Any, Callable, Iterator

import numpy as np

from sanitykit.engine.findings import Finding

FIXED_SEED = 0x5EED  # the seed both calls get when telling an unseeded draw from kept state


@contextlib.contextmanager
def _global_random_fixed() -> Iterator[None]:
    """numpy's and Python's global generators seeded for one call, and put back after it."""
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        np.random.seed(FIXED_SEED)
        random.seed(FIXED_SEED)
        yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)


def _agree_when_seeded(call: Callable[[], Any]) -> bool:
    """Two calls agree once the global generators are seeded alike before each: an unseeded draw."""
    with _global_random_fixed():
        first = call()
    with _global_random_fixed():
        second = call()
    return all(np.array_equal(a, b) for a, b in zip(_as_list(first), _as_list(second)))


def _as_list(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def noise_words(first: np.ndarray, second: np.ndarray, name: str) -> str:
    """`3 of 20 elements of dx differ, by up to 1.2 (the values reach 2.5)`: the size of the noise."""
    if first.shape != second.shape:
        return f"{name} has shape {first.shape} the first time and {second.shape} the second"
    differ = first != second
    size = float(np.max(np.abs(first), initial=0.0))
    by = float(np.max(np.abs(first - second)[differ], initial=0.0))
    return (f"{int(differ.sum())} of {first.size} elements of {name} differ, by up to {by:.3g} "
            f"(its values reach {size:.3g})")


def forward_noise(problem, out0: np.ndarray) -> Finding | None:
    """A second forward at the same inputs differs: how much, and why (seeded rerun)."""
    again = problem.evaluate()
    if np.array_equal(again, out0):
        return None
    noise = noise_words(out0, again, "out")
    what = f"{problem.fname} gave a different output for the same input twice: {noise}"
    if _agree_when_seeded(problem.evaluate):
        return Finding(
            "nondeterministic_forward", what + "; with numpy's global random state seeded alike "
            "before each call, the two calls agree", "the forward pass draws from numpy's global "
            "generator (np.random.rand, np.random.randn) without seeding it, so every call draws "
            "another mask", "when a seed is given (dropout_param['seed']), call "
            "np.random.seed(seed) before drawing, so repeated calls draw the same mask")
    return Finding(
        "nondeterministic_forward", what + "; they differ even with numpy's global random state "
        "seeded alike before each call", "the forward pass keeps state between calls: a generator "
        "of its own made without the given seed (np.random.default_rng(), a module-level "
        "RandomState), a counter, or an array it changes from call to call",
        "make the random numbers from the seed given, inside the call: "
        "np.random.RandomState(dropout_param['seed']).rand(*x.shape)")


def _cache_arrays(cache, path: str = "cache", depth: int = 3) -> list[tuple[str, np.ndarray]]:
    """(path, array) of every numpy array inside the cache's tuples, lists and dicts."""
    if isinstance(cache, np.ndarray):
        return [(path, cache)]
    if depth == 0:
        return []
    if isinstance(cache, (tuple, list)):
        items = [(f"{path}[{k}]", v) for k, v in enumerate(cache)]
    elif isinstance(cache, dict):
        items = [(f"{path}[{k!r}]", v) for k, v in cache.items()]
    else:
        return []
    return [found for p, v in items for found in _cache_arrays(v, p, depth - 1)]


def cache_snapshot(problem) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(path, array, copy) of every array of the problem's cache, taken before a backward call."""
    return [(path, a, a.copy()) for path, a in _cache_arrays(getattr(problem, "cache", None))]


def cache_written(snapshot, problem, inputs_too: bool = False) -> list[str]:
    """The paths of the cache arrays a backward call changed (`cache[1]`), inputs named as such.

    Args:
        inputs_too: also list the arrays that are the layer's inputs (gradcheck reports those as
            the input itself).
    """
    owner = {id(x): n for n, x in zip(problem.names, problem.inputs)}
    return [path + (f" (the input {owner[id(a)]} itself)" if id(a) in owner else "")
            for path, a, copy in snapshot if (inputs_too or id(a) not in owner)
            and not np.array_equal(a, copy, equal_nan=True)]


def backward_noise(problem, u, grads: list, restore: Callable[[], None]) -> Finding | None:
    """A second backward with the same cache (and dout) differs: how much, and why.

    The cache is snapshotted before the second call: an array of it that changes during the call
    is named (the backward writes into its cache); else a seeded rerun tells an unseeded draw
    from state kept between calls.
    """
    before = cache_snapshot(problem)
    again = problem.gradients(u, fresh=False)
    written = cache_written(before, problem, inputs_too=True)
    restore()
    differ = [(n, a, b) for n, a, b in zip(problem.names, grads, again)
              if not np.array_equal(a, b, equal_nan=True)]
    if not differ:
        return None
    name, first, second = differ[0]
    same = "the same cache" if problem.kind == "layer" else "the same parameters"
    what = (f"{problem.bname} returned a different d{name} when called twice with {same}: "
            f"{noise_words(first, second, 'd' + name)}")
    if written:
        return Finding(
            "nondeterministic_backward", f"{what}; the call wrote into {', '.join(written[:3])}",
            f"the backward pass modifies its cache in place ({written[0]}: x -= mean, xhat *= "
            "gamma on a cached array), so the second call starts from damaged values",
            "never write into arrays of the cache: compute new arrays (xc = x - mean, not x -= mean)")
    if _agree_when_seeded(lambda: problem.gradients(u, fresh=False)):
        restore()
        return Finding(
            "nondeterministic_backward", f"{what}; with numpy's global random state seeded alike "
            "before each call, the two calls agree", "the backward pass draws random numbers "
            "(a new dropout mask) instead of reusing the forward's",
            "keep the forward's mask in the cache and use it: dx = dout * mask")
    restore()
    return Finding(
        "nondeterministic_backward", f"{what}; they differ even with the global random state "
        "seeded alike", "the backward pass draws something new at each call that numpy's global "
        "seed does not fix: a new mask from a generator of its own (a module-level RandomState, "
        "np.random.default_rng()), or state it keeps and changes",
        "compute the gradients from dout and the cache only: dx = dout * mask, with the "
        "forward's mask")


def mixes_examples(problem, out0: np.ndarray, u, i: int, restore: Callable[[], None]) -> Finding | None:
    """The dout of one example changes the gradient of the others, though the forward keeps them apart.

    Layernorm (statistics over axis 1) written with batchnorm's sums over axis 0 gives exactly this;
    one forward pass (example 0 moved) and one backward pass (dout of example 0 only) show it.
    """
    x = problem.inputs[i]
    if problem.kind != "layer" or i != 0 or x.ndim < 2 or x.shape[0] < 2 \
            or np.ndim(out0) < 2 or out0.shape[0] != x.shape[0]:
        return None
    saved = x[0].copy()
    try:
        x[0] += 0.25 * (1.0 + np.abs(saved))
        moved = problem.evaluate()
    finally:
        x[0] = saved
    scale = float(np.max(np.abs(out0), initial=0.0))
    if moved.shape != out0.shape or np.max(np.abs(moved[1:] - out0[1:])) > 1e-12 * max(scale, 1.0):
        return None  # the forward mixes the examples itself (batchnorm): nothing to say here
    first = np.zeros_like(u)
    first[0] = u[0]
    g = problem.gradients(first)[i]
    restore()
    if g.shape != x.shape:
        return None
    leak = float(np.max(np.abs(g[1:])))
    if leak <= 1e-9 * max(float(np.max(np.abs(g[0]))), 1e-300):
        return None
    name = problem.names[i]
    return Finding(
        "mixes_examples", f"d{name} of examples 1..{x.shape[0] - 1} changes with the dout of "
        f"example 0 alone (by up to {leak:.3g}), but the forward pass computes each example on "
        f"its own: {problem.bname} mixes the examples of the batch",
        "a sum or a mean over the batch axis (axis=0) in the backward pass where the forward "
        "works within each example (layernorm's statistics are over axis 1: its backward sums "
        "over axis 1 and divides by D, not N)",
        "reduce over the axis the forward reduces: e.g. dxhat.sum(axis=1, keepdims=True) / D")


def linearity(problem, u, grads: list, restore: Callable[[], None]) -> tuple[list[str], list]:
    """backward(2u) = 2·backward(u) and backward(0) = 0: a backward pass is linear in dout.

    Returns (notes, backward(0) per input): where backward(0) is nonzero, a term does not go
    through dout, and auto mode probes exactly those elements.
    """
    doubled = problem.gradients(2 * u)
    restore()
    zero = problem.gradients(np.zeros_like(u))
    restore()
    notes = []
    for name, g, g2, g0 in zip(problem.names, grads, doubled, zero):
        if _close(g2, 2 * g) and _close(g0, 0 * g):
            continue
        if np.any(g != 0) and _close(g2, g) and _close(g0, g):
            # Not a stop: the numerical passes still measure how wrong d{name} is, and the
            # diagnosis names the pattern ("ignores_dout") with that evidence.
            notes.append(f"d{name} does not change when dout changes (backward(2·dout) = "
                         f"backward(dout) = backward(0)): the backward pass ignores dout")
        elif not _close(g0, 0 * g):
            notes.append(f"backward(dout=0) gives a nonzero d{name}: some term of d{name} does not "
                         "go through dout (a backward pass is linear in dout)")
        else:
            notes.append(f"d{name} is not linear in dout: backward(2·dout) ≠ 2·backward(dout)")
    return notes, [np.array(g0, dtype=np.float64) for g0 in zero]


def _close(a, b) -> bool:
    if np.shape(a) != np.shape(b):
        return False
    scale = max(float(np.max(np.abs(a), initial=0)), float(np.max(np.abs(b), initial=0)), 1e-300)
    return float(np.max(np.abs(a - b), initial=0)) <= 1e-7 * scale + 1e-12
