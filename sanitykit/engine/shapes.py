"""Reading a wrong gradient shape: which mistake produces exactly that shape.

A gradient of the wrong shape is not a menu of possible causes: the shape itself tells most
of them apart. Reversed (M, D) for (D, M) is a product with its factors swapped; the batch
length where the feature length belongs is a sum over the wrong axis; dout's own shape for a
bias is a sum never taken; (F, H', W') for a conv bias is a sum over the batch only; H + 2·pad
is the gradient of the padded input, never cropped. Each has its own pattern and its own fix,
and no fix is ever "reshape it": a reshape makes the shape right and leaves the values wrong.

`read_shape` is pure: it gets shapes (and the upstream gradient's shape) and returns a Finding.
Whether the values would be right after the repair (`repair`) is measured by gradcheck.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import combinations

import numpy as np

from sanitykit.engine.findings import Finding


@dataclass(frozen=True)
class ShapeReading:
    """A wrong gradient shape read: the finding, and the repair that would give the right shape.

    Args:
        finding: the named mistake.
        repair: grad -> array of the input's shape, the repair the finding's mechanism implies
            (a transpose, a sum, a crop, a reshape); None when no repair follows from the shape.
            gradcheck measures whether the repaired values are right, to say so.
        soft: the shape differs only by axes of length 1 ((1, D) for (D,)): values may be right.
    """

    finding: Finding
    repair: object = None
    soft: bool = False
    repaired: str = ""
    grad: str = ""

    def measured(self, right: bool | None) -> Finding:
        """The finding with what the repair measured: right values in the wrong shape, or not.

        Args:
            right: the repaired gradient matches the numerical one (None: not measured).
        """
        f, grad = self.finding, self.grad
        if right is None or not self.repaired:
            return f
        if right:
            line = (f"{self.repaired} matches the numerical gradient: the values are right, "
                    "only their shape is wrong")
            return replace(f, evidence=(*f.evidence, line))
        line = (f"{self.repaired} does not match the numerical gradient either: the values are "
                "wrong too, so no reshape of this array will fix it")
        fix = f.fix if f.pattern != "shape" else (
            f"compute {grad} in the shape of {grad[1:]} from the start, following the forward pass "
            "term by term")
        return replace(f, evidence=(*f.evidence, line), fix=fix)


def axes_text(axes) -> str:
    """`0` for (0,), `(0, 2, 3)` for (0, 2, 3)."""
    axes = tuple(axes)
    return str(axes[0]) if len(axes) == 1 else str(axes)


def reductions(dout_shape: tuple, target: tuple) -> list[tuple[int, ...]]:
    """Every set of axes of dout whose sum gives `target` (none when it cannot)."""
    found = []
    for k in range(len(dout_shape) + 1):
        for axes in combinations(range(len(dout_shape)), k):
            kept = tuple(n for a, n in enumerate(dout_shape) if a not in axes)
            if kept == target:
                found.append(axes)
    return found


def read_shape(name: str, got: tuple, expected: tuple, *, dout_shape: tuple | None = None,
               batch_shape: tuple | None = None, pad: int | None = None) -> ShapeReading:
    """The mistake that makes d{name} come out with shape `got` instead of `expected`.

    Args:
        name: the input's name ("w"); its gradient is "d" + name.
        got: the shape the backward returned.
        expected: the input's shape.
        dout_shape: the upstream gradient's shape (a layer), else None.
        batch_shape: the shape of the layer's first input (x), whose first axis is the batch.
        pad: the padding of a conv_param among the layer's arguments, when there is one.
    """
    grad = "d" + name
    head = f"{grad} has shape {got}, expected {expected} (the shape of {name})"
    for read in (_broadcast, _reversed, _padded):
        reading = read(grad, head, got, expected, pad)
        if reading:
            return replace(reading, grad=grad)
    reading = _reduced(grad, head, got, expected, dout_shape, batch_shape)
    if reading:
        return replace(reading, grad=grad)
    if int(np.prod(got)) == int(np.prod(expected)):
        return ShapeReading(Finding(
            "shape", f"{head}: the same number of elements in another shape",
            f"{grad} is computed flat (or in another layout) and never brought back to the shape "
            f"of {name}", f"end with {grad} = {grad}.reshape({name}.shape)"),
            repair=lambda g: g.reshape(expected), repaired=f"{grad}.reshape({name}.shape)", grad=grad)
    return ShapeReading(Finding(
        "shape", f"{head}: no single mistake of the usual ones gives this shape",
        f"{grad} is built from arrays that do not belong together: print the shape of every "
        f"intermediate array of {grad} and compare it with the forward pass's",
        f"write {grad} so that its shape {expected} follows from the computation itself "
        "(a reshape that only makes the shape right leaves the values wrong)"), grad=grad)


def _broadcast(grad, head, got, expected, pad) -> ShapeReading | None:
    """(1, D) for (D,), (D, 1) for (D,): axes of length 1 only; the update broadcasts."""
    if got == expected or tuple(n for n in got if n != 1) != tuple(n for n in expected if n != 1):
        return None
    name = grad[1:]
    try:
        becomes = f"silently turns {name} into shape {np.broadcast_shapes(expected, got)}"
    except ValueError:
        becomes = "raises a broadcasting error"
    return ShapeReading(Finding(
        "broadcast_shape", f"{head}: it differs only by axes of length 1, so an update "
        f"{name} -= lr * {grad} {becomes}",
        f"a keepdims=True (or a reshape to a row) left in the computation of {grad}",
        f"drop the keepdims=True (or the reshape) so that {grad} comes out with shape {expected}"),
        repair=lambda g: g.reshape(expected), soft=True, repaired=f"{grad}.reshape({name}.shape)")


def _reversed(grad, head, got, expected, pad) -> ShapeReading | None:
    if len(got) < 2 or got != expected[::-1]:
        return None
    return ShapeReading(Finding(
        "reversed_shape", f"{head}: the reverse of the right shape",
        f"the factors of the matrix product for {grad} are in the wrong order "
        "(dout.T @ x where x.T @ dout belongs); the transposed result gets the reversed shape",
        "swap the factors so that the shape follows from the product: for out = x @ w, "
        "dw = x.T @ dout is (D, M) and dx = dout @ w.T is (N, D); do not transpose or reshape "
        "the result"), repair=lambda g: g.T, repaired=f"{grad}.T")


def _padded(grad, head, got, expected, pad) -> ShapeReading | None:
    if len(got) != 4 or len(expected) != 4 or got[:2] != expected[:2]:
        return None
    grow_h, grow_w = got[2] - expected[2], got[3] - expected[3]
    if grow_h != grow_w or grow_h <= 0 or grow_h % 2 or (pad and grow_h != 2 * pad):
        return None
    p = grow_h // 2
    h, w = expected[2:]
    return ShapeReading(Finding(
        "padded_gradient", f"{head}: H + 2·pad and W + 2·pad with pad = {p}, the shape of the "
        "padded input",
        f"{grad} is the gradient of the padded input ({grad}_pad) and the padding was never "
        "cropped off", f"crop the padding from both sides: {grad} = {grad}_pad[:, :, {p}:{p} + H, "
        f"{p}:{p} + W] (here {p}:{p + h} and {p}:{p + w}; pad:-pad is empty when pad = 0)"),
        repair=lambda g: g[:, :, p:p + h, p:p + w], repaired=f"the cropped {grad}")


def _reduced(grad, head, got, expected, dout_shape, batch_shape) -> ShapeReading | None:
    """A parameter's gradient summed over the wrong axes of dout, or over too few of them."""
    upstream = dout_shape or batch_shape
    if upstream is None:
        return None
    # A parameter keeps its own axis and loses the batch's: when lengths repeat (N == F),
    # the reading that sums over axis 0 is the right one.
    right = sorted(reductions(upstream, expected), key=lambda axes: 0 not in axes)
    wrong = [axes for axes in reductions(upstream, got) if not right or axes != right[0]]
    if not right or not wrong:
        return _input_shape(grad, head, got, expected, batch_shape)
    axes, took = right[0], wrong[0]
    if not took and axes:
        return ShapeReading(Finding(
            "not_reduced", f"{head}: the shape of dout itself, nothing summed",
            f"{grad} is never summed over the axes {name_axes(axes)}: every example (and "
            "position) keeps its own copy", f"sum over axis={axes_text(axes)}: {grad} = "
            f"(...).sum(axis={axes_text(axes)})"), repair=lambda g: g.sum(axis=axes),
            repaired=f"{grad}.sum(axis={axes_text(axes)})")
    if set(took) < set(axes):
        missing = tuple(a for a in axes if a not in took)
        spatial = len(upstream) == 4 and set(missing) <= {2, 3}
        pattern = "positions_not_summed" if spatial else "not_reduced"
        what = ("summed over the batch but not over the output positions (H', W')" if spatial
                else f"summed over axis {axes_text(took)} but not over {name_axes(missing)}")
        return ShapeReading(Finding(
            pattern, f"{head}: {what}",
            f"the sum for {grad} misses axis {axes_text(missing)}: each "
            f"{'output position' if spatial else 'example'} keeps its own term",
            f"sum over every axis but {grad[1:]}'s own: {grad} = (...).sum(axis={axes_text(axes)})"),
            repair=lambda g: _sum_missing(g, took, missing, len(upstream)),
            repaired=f"{grad} summed over axis {axes_text(missing)} too")
    if len(took) == len(axes):
        return ShapeReading(Finding(
            "reduced_wrong_axis", f"{head}: {grad} sums over axis {axes_text(took)} where the sum "
            f"belongs over axis {axes_text(axes)}",
            f"{grad} is reduced over the wrong axis: the {_length_words(upstream, took)} is left "
            f"where the {_length_words(upstream, axes)} belongs",
            f"sum over axis={axes_text(axes)}: {grad} = (...).sum(axis={axes_text(axes)})"))
    return None


def _sum_missing(g: np.ndarray, took: tuple, missing: tuple, ndim: int) -> np.ndarray:
    """Sum a gradient reduced over `took` of an ndim-dim dout over its `missing` axes too."""
    left = [a for a in range(ndim) if a not in took]  # dout's axes that g still has, in order
    return g.sum(axis=tuple(left.index(a) for a in missing))


def name_axes(axes) -> str:
    words = {0: "the batch (axis 0)"}
    if tuple(axes) == (0,):
        return words[0]
    return f"axes {axes_text(axes)}"


def _length_words(shape: tuple, axes: tuple) -> str:
    kept = [a for a in range(len(shape)) if a not in axes]
    if kept == [0]:
        return f"batch length N={shape[0]}"
    return "length " + " x ".join(str(shape[a]) for a in kept) + f" (axis {axes_text(kept)})"


def _input_shape(grad, head, got, expected, batch_shape) -> ShapeReading | None:
    """The layer input's own shape (or (N,) + the parameter's) where a parameter's belongs:
    the sum over the batch is missing."""
    if batch_shape is None or got == expected:
        return None
    if got == (batch_shape[0],) + tuple(expected):
        axes, words = [(0,)], "one copy of the parameter's gradient per example"
    elif got == batch_shape:
        axes, words = sorted(reductions(batch_shape, expected), key=lambda a: 0 not in a), \
            "the shape of the input x, not of the parameter"
    else:
        return None
    if not axes or 0 not in axes[0]:
        return None
    return ShapeReading(Finding(
        "not_reduced", f"{head}: {words}",
        f"{grad} is computed per example and never summed over the batch (axis 0)",
        f"sum over the batch: {grad} = (...).sum(axis={axes_text(axes[0])})"),
        repair=lambda g: g.sum(axis=axes[0]), repaired=f"{grad}.sum(axis={axes_text(axes[0])})")
