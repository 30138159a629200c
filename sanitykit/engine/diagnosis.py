"""Naming the mistake behind a wrong gradient: compare analytic and numerical values, find the pattern.

Pure functions on arrays. Each classifier returns a `Finding` (sanitykit.engine.findings: a
`pattern` of the vocabulary, what is wrong in one sentence, the likely mistake, the fix) or
None; `classify` tries them from the most specific to the least.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sanitykit.engine.findings import Finding

# Two vectors "fit" a relation when the residual is this small relative to their size;
# numerical gradients carry ~1e-8 noise, planted bugs give residuals of order 1.
FIT_TOL = 1e-3


@dataclass(frozen=True)
class Comparison:
    """Analytic against numerical values of one input's gradient at the probed coordinates.

    Args:
        name: the input's name ("w"); its gradient is called "d" + name.
        shape: the input's shape.
        flat_indices: probed coordinates of the flattened input (all of them in full mode).
        analytic, numeric: values at those coordinates.
        wrong: which of them are wrong (beyond thresholds, kinks excused).
        full: every coordinate was probed.
        batch_size: N, the first dimension of the layer's first input, when known.
        kind: "layer", "loss" or "model": a loss has no dout, so 1/N means something else.
        labels: y of a classification loss (N,), when the loss was called with one.
        analytic_all: the whole analytic gradient (the backward returns every element even
            when only a sample was probed numerically).
        values_all: the input itself (x where the gradient is dx), when known.
        out_size: the number of elements of the layer's output, when known.
        stride: the stride of a conv_param / pool_param argument, when there is one.
        subject: the function whose gradient this is ("max_pool_backward_naive"), so a hint
            can speak of that layer.
        others: the layer's other inputs by name ({"gamma": ...}), when known.
        upstream: the upstream gradient dout the analytic values were computed for (a layer).
        args: the layer's arguments that are not differentiated (conv_param, pool_param, ...).
        output: the layer's output, when it has the input's shape (an activation).
    """

    name: str
    shape: tuple
    flat_indices: np.ndarray
    analytic: np.ndarray
    numeric: np.ndarray
    wrong: np.ndarray
    full: bool
    batch_size: int | None = None
    kind: str = "layer"
    labels: np.ndarray | None = None
    analytic_all: np.ndarray | None = None
    values_all: np.ndarray | None = None
    out_size: int | None = None
    stride: int | None = None
    subject: str = ""
    others: dict | None = None
    upstream: np.ndarray | None = None
    args: tuple = ()
    output: np.ndarray | None = None

    @property
    def grad(self) -> str:
        return "d" + self.name

    def coords(self) -> tuple[np.ndarray, ...]:
        return np.unravel_index(self.flat_indices, self.shape)


def format_index(name: str, index) -> str:
    """`dw[3, 1]` for name "dw" and index (3, 1); a bare name for a 0-d array."""
    if index is None or len(index) == 0:
        return name
    return f"{name}[{', '.join(str(int(i)) for i in index)}]"


def _fits(a: np.ndarray, b: np.ndarray, tol: float = FIT_TOL) -> bool:
    """a ≈ b as vectors: ||a - b|| <= tol * max(||a||, ||b||), and not both zero."""
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    return bool(scale > 0 and np.linalg.norm(a - b) <= tol * scale)


def _ratio(a: np.ndarray, n: np.ndarray) -> float | None:
    """The constant r with a ≈ r·n, when one exists."""
    nn = float(np.dot(n, n))
    if nn == 0.0:
        return None
    r = float(np.dot(a, n)) / nn
    return r if _fits(a, r * n) else None


def _near(x: float, target: float, tol: float = 1e-3) -> bool:
    return abs(x - target) <= tol * abs(target)


def find_nan(c: Comparison) -> Finding | None:
    bad = ~np.isfinite(c.analytic)
    if not bad.any():
        return None
    kind = "NaN" if np.isnan(c.analytic).any() else "inf"
    return Finding(
        "nan", f"{c.grad} contains {kind} in {int(bad.sum())} of {bad.size} probed elements",
        f"something in the backward pass of {c.grad} overflows or divides by zero "
        "(np.log or 1/x of a zero, an exp of large scores, a 0/0 in a normalisation)",
        "print the intermediate arrays of your backward pass and find the first one with "
        "np.isnan(...).any(); add the eps of the forward pass where you divide")


def find_zeros(c: Comparison) -> Finding | None:
    if np.any(c.analytic != 0) or not np.any(c.numeric != 0):
        return None
    return Finding(
        "zeros", f"{c.grad} is all zeros, but the numerical gradient is not",
        f"{c.grad} is never written: it keeps its initial value (np.zeros_like)",
        f"compute {c.grad} in your backward pass and return that array, not a fresh zeros array")


def find_sign(c: Comparison) -> Finding | None:
    if not _fits(c.analytic, -c.numeric):
        return None
    return Finding(
        "sign", f"{c.grad} = -numerical everywhere: the sign is flipped",
        f"a minus sign too many (or missing) in {c.grad}, e.g. x - mu written as mu - x, "
        "or a gradient step folded into the backward pass",
        f"check the sign of every term of {c.grad} against the derivative of the forward pass")


def find_factor(c: Comparison) -> Finding | None:
    r = _ratio(c.analytic, c.numeric)
    if r is None or _near(r, 1.0, 1e-4) or _near(r, -1.0):
        return None
    n = c.batch_size
    if n and n > 1 and _near(r * n, 1.0):
        what = f"{c.grad} = numerical / {n} everywhere, and {n} is the batch size N"
        if c.kind != "layer":
            # A loss (or model) owns its 1/N: the value and the gradient disagree about it.
            return Finding(
                "batch_size", what,
                f"the loss is summed over the batch while {c.grad} is averaged (divided by N={n}), "
                f"or {c.grad} is divided by N twice",
                f"divide both the loss and {c.grad} by N exactly once: loss /= N; {c.grad} /= N")
        return Finding(
            "batch_size", what,
            f"{c.grad} was divided by N={n} again, but dout already carries the 1/N of the loss",
            f"remove the '/ N' from {c.grad} in the backward pass")
    if n and n > 1 and _near(r / n, 1.0):
        what = f"{c.grad} = {n} × numerical everywhere, and {n} is the batch size N"
        if c.kind != "layer":
            return Finding(
                "batch_size", what,
                f"the loss is averaged over the batch but {c.grad} is not divided by N={n}",
                f"divide {c.grad} by N as the loss is: {c.grad} /= N")
        return Finding(
            "batch_size", what,
            f"the division by the batch size N={n} is missing from {c.grad}",
            f"divide {c.grad} by N (the loss is an average over the batch)")
    spatial = _spatial_count(c, r)
    if spatial:
        return spatial
    if _near(abs(r), 2.0) or _near(abs(r), 0.5):
        word = "twice" if _near(abs(r), 2.0) else "half"
        return Finding(
            "factor", f"{c.grad} is {word} the numerical gradient everywhere: a factor of 2",
            "a factor of 2 (for example the ½ in ½·reg·‖W‖², or a derivative of x² written as x)",
            f"find the term of {c.grad} that carries the 2 and compare it with the forward pass")
    return Finding(
        "factor", f"{c.grad} = {r:.4g} × numerical everywhere: a constant factor",
        f"a constant factor {r:.4g} in {c.grad}: a scale of the forward pass "
        "(keep probability, 1/N, a learning rate) applied wrongly",
        f"find where {c.grad} is scaled and compare with the forward pass")


def _spatial_count(c: Comparison, r: float) -> Finding | None:
    """A per-channel parameter of an (N, C, H, W) layer averaged over N·H·W instead of summed."""
    if c.kind != "layer" or np.ndim(c.upstream) != 4:
        return None
    n, _, h, w = np.shape(c.upstream)
    count = n * h * w
    if count < 2 or not (_near(r * count, 1.0) or _near(r / count, 1.0)):
        return None
    if _near(r * count, 1.0):
        return Finding(
            "batch_size", f"{c.grad} = numerical / {count} everywhere, and {count} = N·H·W, the "
            "number of values each channel sums over", f"{c.grad} is averaged over the batch and "
            "the pixels (a .mean) where the course sums: dout already carries the 1/N",
            f"sum instead of averaging: {c.grad} = (...).sum(axis=(0, 2, 3))")
    return Finding(
        "batch_size", f"{c.grad} = {count} × numerical everywhere, and {count} = N·H·W",
        f"{c.grad} is scaled by the number of values each channel sees (N·H·W = {count})",
        f"remove the factor N·H·W from {c.grad}")


def find_channels_mixed(c: Comparison) -> Finding | None:
    """dx of a spatial layer reshaped from (N·H·W, C) rows straight to (N, C, H, W): no transpose."""
    if len(c.shape) != 4 or c.analytic_all is None or c.shape[1] < 2 or c.shape[2] * c.shape[3] < 2:
        return None
    n, ch, h, w = c.shape
    # If analytic = rows.reshape(N, C, H, W) where rows = numerical moved channels-last, then
    # un-mixing the analytic array gives the numerical gradient back.
    unmixed = c.analytic_all.reshape(n, h, w, ch).transpose(0, 3, 1, 2).reshape(-1)
    if not _fits(unmixed[c.flat_indices], c.numeric, 1e-5):
        return None
    return Finding(
        "no_transpose", f"{c.grad} holds the right values in the wrong places: "
        f"{c.grad}.reshape(N, H, W, C).transpose(0, 3, 1, 2) is the numerical gradient, so the "
        "rows of (N·H·W, C) were reshaped back to (N, C, H, W) without moving the channels first",
        "a reshape from (N·H·W, C) to (N, C, H, W) mixes the channels: the rows hold channels "
        "last, and the transpose back is missing",
        f"{c.grad} = dx_rows.reshape(N, H, W, C).transpose(0, 3, 1, 2)")


def find_transposed(c: Comparison) -> Finding | None:
    if not c.full or len(c.shape) != 2 or c.shape[0] == 1 or c.shape[1] == 1:
        return None
    numeric = c.numeric.reshape(c.shape)
    transposed = numeric.T.reshape(-1)  # for a square w this is w.T; else the .T then a reshape
    if not _fits(c.analytic, transposed):
        return None
    how = "" if c.shape[0] == c.shape[1] else " reshaped back to the shape of " + c.name
    return Finding(
        "transposed", f"{c.grad} equals the transpose of the numerical gradient{how}",
        f"the factors of the matrix product for {c.grad} are in the wrong order "
        "(dout.T @ x where x.T @ dout belongs)",
        f"write {c.grad} so that its shape follows from the product itself, "
        f"e.g. dw = x.T @ dout gives (D, M) without any transpose or reshape")


def find_mask(c: Comparison) -> Finding | None:
    zero = np.abs(c.numeric) <= 1e-10 * max(1.0, float(np.abs(c.numeric).max()))
    wrong = c.wrong
    if not wrong.any() or not zero.any():
        return None
    if wrong.sum() - np.sum(wrong & ~zero) < 0.5 * zero.sum():  # most masked elements affected
        return None
    if np.any(wrong & ~zero):
        return _mask_and_scale(c, zero)
    likely, todo = _mask_words(c)
    return Finding(
        "mask", f"{c.grad} is wrong only where the numerical gradient is 0 "
        f"({int(wrong.sum())} elements): the gradient flows where the forward pass blocked it",
        likely, todo)


def _mask_words(c: Comparison) -> tuple[str, str]:
    """(likely, todo) of a missing mask, in the words of the layer being checked.

    A max pool blocks the gradient at every element but each window's maximum, ReLU where
    x <= 0, dropout where the unit was dropped: each needs its own rewrite.
    """
    subject = c.subject.lower()
    pool_todo = ("route dout only to the max of each window: dx[window] += "
                 "(window == window.max()) * dout[n, c, i, j]")
    if "pool" in subject and "relu" in subject:
        return ("dout reaches elements the forward pass blocked: the max pool sends dout to every "
                "element of its window (not only the max), or ReLU's mask (x > 0) is not applied",
                f"check both backward passes: in the max pool, {pool_todo}; "
                "in ReLU, dx = dout * (x > 0)")
    if "pool" in subject:
        return ("the backward pass sends dout to every element of each pooling window, but only "
                "the maximum of the window reached the output in the forward pass", pool_todo)
    if "dropout" in subject:
        return ("dropout's mask is not applied in the backward pass: dropped units get a gradient",
                f"multiply by the mask from the cache: {c.grad} = dout * mask")
    if "relu" in subject:
        return ("ReLU's mask (x > 0) is not applied in the backward pass",
                f"multiply by the mask of the forward pass: {c.grad} = dout * (x > 0)")
    return ("the mask of the forward pass (ReLU's x > 0, dropout's mask) is not applied in the "
            "backward pass", f"multiply by the mask from the cache: e.g. {c.grad} = dout * (x > 0)")


def _groups(c: Comparison, axis: int) -> tuple[list[int], list[int]] | None:
    """(wrong groups, right groups) along `axis`, when every probed group is mostly wrong or all right."""
    which = c.coords()[axis]
    wrong, right = [], []
    for g in np.unique(which):
        w = c.wrong[which == g]
        if w.mean() >= 0.5:  # a wrong row may still hold an element that is right by chance
            wrong.append(int(g))
        elif not w.any():
            right.append(int(g))
        else:
            return None
    return (wrong, right) if wrong and right else None


def _list(values: list[int], limit: int = 5) -> str:
    shown = ", ".join(str(v) for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def find_rows(c: Comparison) -> Finding | None:
    if len(c.shape) < 2 or c.shape[0] < 2:
        return None
    split = _groups(c, 0)
    if split is None:
        return None
    wrong, right = split
    if right == [0] and len(c.shape) >= 3:  # a batch of images: the first axis is the example
        return Finding(
            "examples", f"only the first example of {c.grad} ({c.grad}[0]) is right; examples "
            f"{_list(wrong)} are wrong", "the backward pass computes the first example only and "
            "copies or skips the rest (an index like [0], or a loop over N that stops early)",
            f"compute {c.grad}[n] from dout[n] for every example n of the batch")
    if right == [0]:
        evidence = f"only the first row of {c.grad} ({c.grad}[0]) is right; rows {_list(wrong)} are wrong"
        likely = ("the backward pass handles one example (or one row) only: "
                  "an index like [0] or a loop that returns early")
    else:
        evidence = f"rows {_list(wrong)} of {c.grad} are wrong; rows {_list(right)} are right"
        likely = "a loop over the examples skips or overwrites some rows (check its range and indices)"
    return Finding("rows", evidence, likely,
                   "vectorise over the batch, or check the bounds of your loop over N")


def find_channels(c: Comparison) -> Finding | None:
    if len(c.shape) != 4 or c.shape[1] < 2:
        return None
    split = _groups(c, 1)
    if split is None:
        return None
    wrong, right = split
    return Finding(
        "rows", f"channels {_list(wrong)} of {c.grad} are wrong; channels {_list(right)} are right",
        "a loop over channels or filters skips or overwrites some of them",
        "check the range and the indices of your loop over channels / filters")


def _mask_and_scale(c: Comparison, zero: np.ndarray) -> Finding | None:
    """Wrong where the forward blocked the gradient, and off by one factor where it passed.

    The dropout backward that returns dout: no mask, and no 1/p on the kept units.
    """
    passed = ~zero
    r = _ratio(c.analytic[passed], c.numeric[passed])
    if r is None or _near(r, 1.0, 1e-4):
        return None
    return Finding(
        "mask", f"{c.grad} is nonzero where the numerical gradient is 0 ({int(zero.sum())} "
        f"elements: the mask is not applied), and elsewhere it is {r:.4g} × numerical",
        "the backward pass ignores the forward's mask and its scale: for inverted dropout "
        f"{c.grad} must be dout * mask, where mask already holds the 1/p",
        f"keep the scaled mask in the cache and return {c.grad} = dout * mask")


def find_correct_class(c: Comparison) -> Finding | None:
    """A classification loss whose dx is wrong exactly at the entries dx[i, y[i]]."""
    if c.labels is None or len(c.shape) != 2 or not c.wrong.any():
        return None
    rows, cols = np.unravel_index(c.flat_indices, c.shape)
    at_label = cols == c.labels[rows]
    if np.any(c.wrong & ~at_label) or c.wrong[at_label].mean() < 0.5:
        return None
    return Finding(
        "correct_class", f"{c.grad} is wrong only at the correct-class entries {c.grad}[i, y[i]] "
        f"({int(c.wrong.sum())} of them); every other entry is right",
        "the term of the correct class is missing or wrong: softmax needs dx[i, y[i]] -= 1; "
        "the SVM needs dx[i, y[i]] -= (number of classes with a positive margin)",
        f"after filling {c.grad} row by row, fix the entries {c.grad}[np.arange(N), y]")


def find_shifted(c: Comparison) -> Finding | None:
    """dx of a padded conv equals the numerical dx moved by a few pixels: a wrong crop.

    Works on a sample too: every probed numerical value is compared with the analytic value
    (known everywhere) a few pixels down and to the right.
    """
    if len(c.shape) != 4 or c.analytic_all is None or c.flat_indices.size < 8:
        return None
    analytic = c.analytic_all.reshape(c.shape)
    n, ch, hh, ww = np.unravel_index(c.flat_indices, c.shape)
    for s in (1, 2, 3):
        for dh, dw in ((s, s), (s, 0), (0, s)):
            inside = (hh + dh < c.shape[2]) & (ww + dw < c.shape[3])
            if inside.sum() < 8:
                continue
            moved = analytic[n[inside], ch[inside], hh[inside] + dh, ww[inside] + dw]
            if _fits(moved, c.numeric[inside]):
                return Finding(
                    "shifted", f"{c.grad} equals the numerical gradient moved by {dh} row(s) and "
                    f"{dw} column(s): the right values at the wrong pixels",
                    "the padded gradient dx_pad is cropped at the wrong offset "
                    "(dx_pad[:, :, :H, :W] keeps the padding on one side and cuts the image)",
                    "crop the padding from both sides: dx = dx_pad[:, :, pad:pad + H, pad:pad + W]")
    return None


def find_border(c: Comparison) -> Finding | None:
    if len(c.shape) != 4 or min(c.shape[2:]) < 3 or c.wrong.sum() < 2:
        return None
    _, _, hh, ww = c.coords()
    edges = {"top row": hh == 0, "bottom row": hh == c.shape[2] - 1,
             "left column": ww == 0, "right column": ww == c.shape[3] - 1}
    border = np.any(list(edges.values()), axis=0)
    if border.all() or np.any(c.wrong & ~border):
        return None
    # Which edges are wrong: most of their probed elements differ.
    bad = [name for name, on in edges.items() if on.any() and c.wrong[on].mean() >= 0.5]
    if not bad:
        return None
    return Finding(
        "border", f"{c.grad} is wrong only at the border pixels ({', '.join(bad)}; "
        f"{int(c.wrong.sum())} probed elements); the interior is right",
        "padding or stride is handled wrongly in the backward pass: the padded gradient is "
        "cropped at the wrong offset, or windows at the edge are skipped",
        "compute the gradient on the padded array, then crop it with "
        "dx_pad[:, :, pad:pad + H, pad:pad + W] (pad:-pad is empty when pad = 0)")


def _times(r: float) -> str:
    """`numerical / 10` for r = 0.1, `3 × numerical` for r = 3."""
    if abs(r) < 1 and r != 0 and _near(1 / r, round(1 / r), 1e-3):
        return f"numerical / {1 / r:.4g}"
    return f"{r:.4g} × numerical"


def find_factor_near_one(c: Comparison) -> Finding | None:
    """analytic = (1 + k)·numerical with a tiny k: find_factor cannot see it within its tolerance."""
    diff = c.analytic - c.numeric
    k = _ratio(diff, c.numeric)
    if k is None or k == 0 or abs(k) > 1e-3:
        return None
    return Finding(
        "factor", f"{c.grad} = {1 + k:.6g} × numerical everywhere (relative error "
        f"{abs(k) / (2 + k):.1g}): a constant factor this close to 1 is suspicious, not wrong",
        f"a constant very close to 1 scales {c.grad}: an eps added where it does not belong, "
        "or a rounded constant",
        f"look for a constant factor in {c.grad} that the forward pass does not have")


def _feature_ratios(c: Comparison) -> np.ndarray | None:
    """analytic / numerical per feature (axis 1: the column, or the channel of an image), when
    each feature's probed elements agree on one ratio and the features do not all share it."""
    if len(c.shape) < 2 or c.shape[1] < 2:
        return None
    feature = c.coords()[1]
    ratios = np.full(c.shape[1], np.nan)
    for j in range(c.shape[1]):
        group = feature == j
        if group.sum() < 2:
            return None
        r = _ratio(c.analytic[group], c.numeric[group])
        if r is None:
            return None
        ratios[j] = r
    if _fits(ratios, np.full_like(ratios, ratios.mean()), 1e-3):
        return None  # one constant for every feature: find_factor's case
    return ratios


def find_feature_factor(c: Comparison) -> Finding | None:
    """Each feature off by its own constant factor, and that factor is another input (gamma or 1/gamma).

    batchnorm_backward_alt that forgets gamma (dxhat = dout instead of dout * gamma) gives
    dx = numerical / gamma column by column.
    """
    if not c.others or not c.wrong.any():
        return None
    ratios = _feature_ratios(c)
    if ratios is None:
        return None
    for name, value in c.others.items():
        v = np.asarray(value, dtype=np.float64).reshape(-1)
        if v.size != ratios.size or not np.all(v != 0):
            continue
        if _fits(ratios, 1 / v):
            return Finding(
                "feature_factor", f"{c.grad} = numerical / {name} in every column (feature): the "
                f"ratio analytic / numerical is constant per feature and equals 1 / {name}",
                f"{name} is missing from {c.grad}: the upstream gradient is not multiplied by "
                f"{name} (for out = {name} * xhat + beta, dxhat = dout * {name})",
                f"multiply dout by {name} first and use that everywhere in {c.grad}: "
                f"dxhat = dout * {name}")
        if _fits(ratios, v):
            return Finding(
                "feature_factor", f"{c.grad} = {name} × numerical in every column (feature): the "
                f"ratio analytic / numerical is constant per feature and equals {name}",
                f"{name} is applied twice in {c.grad} (dout * {name} multiplied by {name} again)",
                f"multiply by {name} exactly once: dxhat = dout * {name}, then no further {name}")
    return None


def find_side_factor(c: Comparison) -> Finding | None:
    """Off by one constant factor exactly where the input is negative (or positive): a slope."""
    if c.values_all is None or c.values_all.shape != c.shape or c.wrong.sum() < 2:
        return None
    x = c.values_all.reshape(-1)[c.flat_indices]
    for side, where, word in ((x < 0, "x < 0", "negative"), (x > 0, "x > 0", "positive")):
        if np.any(c.wrong & ~side) or c.wrong[side].mean() < 0.9:
            continue
        r = _ratio(c.analytic[side], c.numeric[side])
        if r is None or _near(r, 1.0, 1e-4):
            continue
        return Finding(
            f"{word}_slope", f"{c.grad} = {_times(r)} exactly where {where}, and right elsewhere: "
            f"the {word}-side slope is wrong",
            f"the slope used for {where} in the backward pass differs from the forward pass "
            "(leaky ReLU: alpha)",
            f"use the forward's slope: {c.grad} = dout * np.where(x > 0, 1, alpha)")
    return None


def find_max_route(c: Comparison) -> Finding | None:
    """The right values of dout at the wrong elements: max pooling routed away from the argmax.

    The numerical gradient of a max pool is nonzero at one element per window (its maximum);
    an analytic gradient with the same nonzero values elsewhere routes dout to the wrong element.
    """
    if not c.out_size or c.out_size >= int(np.prod(c.shape)) or not c.wrong.any():
        return None
    if c.analytic_all is not None and np.size(c.upstream) == c.out_size:
        # Each window's dout value goes to one element, so the analytic nonzeros must be
        # dout's values, wherever they were routed (on a sample too, and with overlapping
        # windows, where one maximum may collect several of them).
        na, nn = c.analytic_all[c.analytic_all != 0], np.asarray(c.upstream).reshape(-1)
    elif c.full:
        na, nn = c.analytic[c.analytic != 0], c.numeric[np.abs(c.numeric) > 1e-7 * np.abs(c.numeric).max()]
    else:
        return None
    if nn.size == 0 or nn.size > c.out_size or na.size != nn.size:
        return None
    if not _fits(np.sort(na), np.sort(nn), 1e-5):
        return None
    return Finding(
        "max_route", f"{c.grad} holds the right values at the wrong elements: it is nonzero away "
        "from each window's maximum, where the numerical gradient is ("
        f"{int(c.wrong.sum())} elements differ)",
        "dout is routed to the wrong element of each pooling window (the first element, or the "
        "minimum) instead of the element that was the maximum in the forward pass",
        "route dout to the argmax of each pooling window: dx[window] += (window == window.max()) * dout")


def find_window_spread(c: Comparison) -> Finding | None:
    """A max pool sending each window's dout to every element of the window (overlapping or not)."""
    from sanitykit.engine.windows import geometry, pool_spread

    geo = geometry(c.args)
    if geo is None or geo["kind"] != "pool" or c.analytic_all is None or c.values_all is None \
            or np.ndim(c.upstream) != 4 or not c.wrong.any():
        return None
    spread = pool_spread(c.values_all, c.upstream, geo["hh"], geo["ww"], geo["stride"])
    if spread.shape != c.shape or not _fits(c.analytic_all.reshape(-1), spread.reshape(-1), 1e-6):
        return None
    likely, todo = _mask_words(c)
    return Finding("mask", f"{c.grad} equals each window's dout added to every element of the "
                   "window: the gradient flows where the forward pass blocked it", likely, todo)


def find_flipped(c: Comparison) -> Finding | None:
    """A conv kernel gradient rotated by 180° (dw[:, :, ::-1, ::-1]); works on a sample."""
    if len(c.shape) != 4 or c.analytic_all is None or c.flat_indices.size < 4 \
            or min(c.shape[2:]) < 2:
        return None
    n, ch, hh, ww = np.unravel_index(c.flat_indices, c.shape)
    turned = c.analytic_all.reshape(c.shape)[n, ch, c.shape[2] - 1 - hh, c.shape[3] - 1 - ww]
    if not _fits(turned, c.numeric, 1e-4):
        return None
    return Finding(
        "flipped", f"{c.grad} equals the numerical gradient rotated by 180° (flipped in both "
        "spatial axes)", "the kernel is flipped in the backward pass (a convolution written as "
        "true convolution, or w[:, :, ::-1, ::-1] where the forward uses w as it is)",
        f"accumulate {c.grad} with the same orientation as the forward: "
        f"{c.grad}[f] += window * dout[n, f, i, j], without flipping")


def find_stride(c: Comparison) -> Finding | None:
    """With stride > 1, dx is zero in the last rows/columns: backward windows at i, not i*stride."""
    if len(c.shape) != 4 or not c.stride or c.stride < 2 or c.analytic_all is None \
            or not c.wrong.any():
        return None
    a = c.analytic_all.reshape(c.shape)
    _, _, hh, ww = c.coords()
    band = (hh >= c.shape[2] - c.stride) | (ww >= c.shape[3] - c.stride)
    last_rows = np.all(a[:, :, -1, :] == 0) or np.all(a[:, :, :, -1] == 0)
    if not last_rows or not np.any(c.wrong & ~band) or not np.any(c.numeric[band] != 0):
        return None
    return Finding(
        "stride", f"{c.grad} is 0 in the last rows / columns of every image, where the "
        f"numerical gradient is not, and the layer has stride {c.stride}: the backward windows "
        "are placed at i instead of i * stride", "the backward pass ignores the stride when it "
        f"places each window (dx_pad[:, :, i:i + HH, ...] where i * stride belongs)",
        "place each window where the forward took it: "
        "dx_pad[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW] += ...")


def find_variance_term(c: Comparison) -> Finding | None:
    """analytic - numerical ∝ x - mean(x) along the normalised axis: the variance path is off."""
    if not c.full or len(c.shape) != 2 or c.values_all is None or c.values_all.shape != c.shape:
        return None
    x = c.values_all
    diff = (c.analytic - c.numeric).reshape(c.shape)
    for axis, word in ((0, "column"), (1, "row")):
        if c.shape[axis] < 3:
            continue
        xc = x - x.mean(axis=axis, keepdims=True)
        coef = (diff * xc).sum(axis=axis, keepdims=True) / np.maximum((xc * xc).sum(axis=axis, keepdims=True), 1e-300)
        if np.all(np.abs(coef) > 0) and _fits(diff.reshape(-1), (coef * xc).reshape(-1), 1e-4):
            return Finding(
                "variance_term", f"{c.grad} - numerical is proportional to x - mean(x) in every "
                f"{word}: the term of {c.grad} through the variance is missing or wrong",
                f"a term of {c.grad} is missing: the path through the variance "
                "(dvar · 2(x - mu) / N, with dvar = sum(dxhat · (x - mu)) · -½ · (var + eps)^-1.5)",
                f"add the variance path to {c.grad}, or use the compact form "
                "dx = ivar / N * (N * dxhat - dxhat.sum(0) - xhat * (dxhat * xhat).sum(0))")
    return None


def find_regularisation(c: Comparison, weights: np.ndarray | None, reg: float | None) -> Finding | None:
    if weights is None or not reg:
        return None
    diff = c.analytic - c.numeric
    rw = reg * weights
    coef = _ratio(diff, rw)
    if coef is None:
        return None
    for k, how in ((-1, "missing"), (-2, "missing"), (1, "doubled"), (2, "doubled")):
        if _near(coef, k, 1e-2):
            evidence = (f"{c.grad} - numerical = {k:+d}·reg·{c.name} (reg={reg:g}): "
                        f"the regularisation gradient is {how}")
            if how == "missing":
                likely = (f"the regularisation term reg·{c.name} is not added to {c.grad} "
                          "(or the loss includes a reg term the gradient forgets)")
            else:
                likely = (f"reg·{c.name} is added to {c.grad} twice, or the loss is missing "
                          "the regularisation term that the gradient includes")
            return Finding("regularisation", evidence, likely,
                           f"add reg·{c.name} exactly once, both to the loss (0.5·reg·‖{c.name}‖²) "
                           f"and to {c.grad}")
    return None


def find_mask_wrong_array(c: Comparison) -> Finding | None:
    """A mask computed from the wrong array: dx = dout * (dout > 0) where dout * (x > 0) belongs.

    Both gradients are dout passed through a mask; only the masks differ. The analytic mask is
    read off against the arrays the backward has (dout's sign), the numerical one against x's.
    """
    if c.upstream is None or np.shape(c.upstream) != c.shape or not c.wrong.any():
        return None
    u = np.asarray(c.upstream, dtype=np.float64).reshape(-1)[c.flat_indices]
    tiny = 1e-10 * max(1.0, float(np.abs(c.numeric).max(initial=0.0)))
    passed = np.abs(c.numeric) > tiny
    if not passed.any() or _ratio(c.numeric, u * passed) is None:
        return None  # the numerical gradient is not dout through a mask
    for taken, words in ((u > 0, "dout > 0"), (u < 0, "dout < 0")):
        if np.array_equal(taken, passed) or _ratio(c.analytic, u * taken) is None:
            continue
        x = None if c.values_all is None or c.values_all.shape != c.shape else \
            c.values_all.reshape(-1)[c.flat_indices]
        right = "x > 0" if x is not None and np.array_equal(passed, x > 0) else "the forward let x through"
        return Finding(
            "mask_wrong_array", f"{c.grad} passes dout exactly where {words}, but the numerical "
            f"gradient passes it where {right}: the mask is taken from dout instead of x "
            f"({int(c.wrong.sum())} elements differ)",
            "the backward pass builds its mask from the array it is given (dout) instead of the "
            "forward's input from the cache: the mask must say where the forward let x through",
            f"take the mask from the cache: {c.grad} = dout * (x > 0), with x = cache")
    return None


# (tag, the course's derivative, the forward, [(a wrong derivative, in words)]) from out y and input x.
ACTIVATIONS = (
    ("tanh_derivative", lambda y, x: 1 - y ** 2, "tanh", [
        (lambda y, x: 1 - y, "1 - out"), (lambda y, x: 1 - x ** 2, "1 - x**2, from the input"),
        (lambda y, x: 1 - np.tanh(y) ** 2, "1 - tanh(out)**2, tanh applied twice")]),
    ("sigmoid_derivative", lambda y, x: y * (1 - y), "sigmoid", [
        (lambda y, x: 1 - y, "1 - out"), (lambda y, x: x * (1 - x), "x * (1 - x), from the input"),
        (lambda y, x: y, "out")]),
)


def find_activation_derivative(c: Comparison) -> Finding | None:
    """dx = dout * f'(...) with the derivative of tanh or sigmoid written wrongly from out (or x)."""
    if c.upstream is None or c.output is None or c.values_all is None or not c.wrong.any() \
            or np.shape(c.upstream) != c.shape or np.shape(c.output) != c.shape:
        return None
    take = lambda a: np.asarray(a, dtype=np.float64).reshape(-1)[c.flat_indices]  # noqa: E731
    u, y, x = take(c.upstream), take(c.output), take(c.values_all)
    for tag, right, name, wrongs in ACTIVATIONS:
        if not _fits(c.numeric, u * right(y, x), 1e-5):
            continue  # the forward is not this activation
        for wrong, words in wrongs:
            if _fits(c.analytic, u * wrong(y, x), 1e-6):
                course = "(1 - out**2)" if name == "tanh" else "out * (1 - out)"
                return Finding(
                    tag, f"{c.grad} = dout * ({words}) exactly, but the numerical gradient is "
                    f"dout * {course}: the derivative of {name} is written wrongly",
                    f"the derivative of {name}, written from its output out = {name}(x), is {course}",
                    f"{c.grad} = dout * {course}, with out from the cache")
    return None


def find_mean_term(c: Comparison) -> Finding | None:
    """analytic - numerical is one constant per column (per feature): the path through the mean."""
    if len(c.shape) != 2 or not c.wrong.any():
        return None
    diff = c.analytic - c.numeric
    rows, cols = c.coords()
    scale = float(np.linalg.norm(diff))
    for group, word, axis, count in ((cols, "column", 0, "N"), (rows, "row", 1, "D")):
        if np.bincount(group).max(initial=0) < 2 or c.shape[axis] < 2:
            continue
        means = np.bincount(group, weights=diff) / np.maximum(np.bincount(group), 1)
        if scale > 0 and np.linalg.norm(diff - means[group]) <= 1e-4 * scale:
            what = "feature" if word == "column" else "example"
            return Finding(
                "mean_term", f"{c.grad} - numerical is one constant in every {word} (the same for "
                f"every element of a {what}): the term of {c.grad} through the mean is missing",
                f"the path through the mean mu = x.mean(axis={axis}) is missing (or wrong) in "
                f"{c.grad}: every element of a {what} needs the same -sum / {count} correction",
                f"add the mean's path: dmu = -dxmu.sum(axis={axis}, keepdims=True) (plus dvar's "
                f"term), then {c.grad} = dxmu + dmu / {count}")
    return None


def find_overwritten(c: Comparison) -> Finding | None:
    """A conv / max-pool backward that writes each window with `=` where `+=` belongs."""
    from sanitykit.engine.windows import overwritten

    if c.analytic_all is None or c.upstream is None or not c.wrong.any() or c.kind != "layer":
        return None
    inputs = dict(c.others or {})
    if c.values_all is not None:
        inputs[c.name] = c.values_all
    for how, candidate, layer in overwritten(c.name, inputs, c.upstream, c.args):
        if candidate.shape != c.shape or not _fits(c.analytic_all.reshape(-1), candidate.reshape(-1), 1e-6):
            continue
        target = f"{c.grad}_pad[window]" if c.name == "x" and layer == "conv" else f"{c.grad}[...]"
        return Finding(
            "overwritten", f"{c.grad} equals what {how} alone contributes, everywhere: each "
            "contribution replaced the ones before it where they overlap",
            "the backward pass assigns (=) where it must accumulate (+=): an element shared by "
            "several windows (or filters, examples) gets the sum of their contributions",
            f"accumulate every contribution: {target} += ...")
    return None


def classify(c: Comparison, *, weights: np.ndarray | None = None, reg: float | None = None) -> Finding:
    """Name the pattern of a wrong gradient; falls back to "unknown" with the localisation.

    Args:
        c: the comparison of one input's gradient.
        weights, reg: the parameter values at the probed coordinates and model.reg (model mode).
    """
    for find in (find_nan, find_zeros, lambda c: find_regularisation(c, weights, reg), find_sign,
                 find_factor, find_factor_near_one, find_feature_factor, find_transposed, find_correct_class,
                 find_max_route, find_side_factor, find_activation_derivative, find_mask_wrong_array,
                 find_mask, find_window_spread,
                 find_flipped, find_shifted, find_channels_mixed, find_overwritten, find_border,
                 find_stride, find_mean_term,
                 find_variance_term, find_rows, find_channels):
        found = find(c)
        if found is not None:
            return found
    frac = c.wrong.mean() if c.wrong.size else 0.0
    if c.wrong.any() and np.all(c.analytic[c.wrong] == 0):
        return Finding(
            "zeros", f"{c.grad} is 0 at all {int(c.wrong.sum())} wrong elements "
            f"({100 * frac:.0f}% of those probed), where the numerical gradient is not",
            f"part of {c.grad} is never written: a loop's range misses those elements, "
            "or they are overwritten with zeros",
            f"check which elements of {c.grad} your loops reach")
    return Finding(
        "unknown", f"{int(c.wrong.sum())} of {c.wrong.size} probed elements of {c.grad} are wrong "
        f"({100 * frac:.0f}%)",
        f"a term of {c.grad} is wrong or missing",
        f"derive {c.grad} again on paper for a tiny case (N=2) and compare term by term "
        "with your code at the worst elements")


# ------------------------------------------------------------- verdicts that are not mistakes

def _interval(d_plus: float, d_minus: float) -> tuple[float, float]:
    return min(d_plus, d_minus), max(d_plus, d_minus)


def element_kink(grad: str, count: int, where: str, analytic: float, d_plus: float,
                 d_minus: float) -> Finding:
    """A localised kink: the one-sided differences at `where` bound the subgradient interval."""
    lo, hi = _interval(d_plus, d_minus)
    return Finding(
        "kink", f"{count} coordinate(s) of {grad} straddle a ReLU/max kink",
        "nothing: central differences straddle the kink of ReLU / max at "
        f"{count} coordinate(s); the analytic value matches one side of it",
        evidence=(f"at {where}: the one-sided differences give the subgradient interval "
                  f"[d-, d+] = [{lo:.4g}, {hi:.4g}], and the analytic {analytic:.4g} lies in it",))


def fast_kink(fname: str, analytic: float, d_plus: float, d_minus: float) -> Finding:
    """A random direction whose step crossed a kink: its one-sided differences, and where <g, v> lies."""
    lo, hi = _interval(d_plus, d_minus)
    inside = lo - 0.01 * (hi - lo) <= analytic <= hi + 0.01 * (hi - lo)
    where = "lies in it" if inside else "lies outside it, which kinks crossed along the step explain"
    return Finding(
        "kink", f"a random direction crossed a kink of {fname} (ReLU or max), where central "
        f"differences are unreliable: the one-sided differences along it give [d-, d+] = "
        f"[{lo:.4g}, {hi:.4g}], and the analytic directional derivative {analytic:.4g} {where}",
        "nothing yet: a step across a kink says nothing about the gradient on either side",
        "rerun with mode='auto' to check element by element")


def float32_roundoff(grad: str, error: float, h: float, thresholds) -> Finding:
    """A suspicious error that float32 arithmetic in the user's code explains."""
    return Finding(
        "float32_roundoff", f"{grad} agrees to a relative error of {error:.2g}, within float32 "
        f"round-off: your code computes in float32, so the check used h={h:g} and the float32 "
        f"thresholds {thresholds.good:g} / {thresholds.suspicious:g}",
        "nothing in the formula: float32 keeps about 7 digits, and a difference quotient with "
        f"h={h:g} loses about 3 of them", "compute in float64 (drop the .astype(np.float32)) to "
        "check the gradient to the usual 1e-7")


def blocked_by_output(grad: str, blocked: int, size: int, bname: str) -> Finding:
    """A layer ending in a ReLU whose backward lets dout through where the output is 0."""
    return Finding(
        "mask", f"{grad} is right once dout is set to 0 where the layer's output is 0 ({blocked} of "
        f"{size} outputs): {bname} lets the gradient through where the ReLU inside the layer blocked it",
        "the ReLU's backward is skipped (or its mask not applied) in the backward pass of a layer "
        "that ends in a ReLU: dout goes on to the layer below unmasked",
        "apply the ReLU's backward first: da = relu_backward(dout, relu_cache), then the layer below "
        "gets da, not dout")


# ------------------------------------------------------------- right values, harmful habits

def writes_dout(bname: str, changed: int, size: int, zeroed: bool) -> Finding:
    """A backward that modifies dout in place: right here, wrong in a network that reuses dout."""
    how = " (set to 0, as dout[x <= 0] = 0 does)" if zeroed else ""
    return Finding(
        "mutates_dout", f"{bname} modified dout in place: {changed} of {size} elements of the "
        f"upstream gradient it was given changed{how}; the gradients it returned are right",
        "the upstream gradient belongs to the caller: where it is used twice (a residual "
        "connection out = x + f(x), a gradient sent to two branches) the other use reads the "
        "damaged values", "work on a copy: dx = dout * (x > 0), or dx = dout.copy() before "
        "writing into it")


def writes_input(bname: str, name: str) -> Finding:
    """A backward that writes into an input array (through its cache), with right gradients."""
    return Finding(
        "mutates_input", f"{bname} modified {name} in place (an array of its cache that is the "
        f"caller's {name}); the gradients it returned are right",
        f"the caller still owns {name}: a network that uses {name} again (a residual connection, "
        "the next layer's cache, the next iteration's forward) reads the modified values",
        f"compute new arrays instead of writing into {name}: x_pos = np.maximum(x, 0), "
        "not x[x <= 0] = 0")


def writes_cache(bname: str, paths: list[str]) -> Finding:
    """A backward that writes into arrays of its cache, with right gradients this time."""
    return Finding(
        "mutates_input", f"{bname} wrote into its cache ({', '.join(paths[:3])}); the gradients "
        "it returned are right", "a second backward pass with the same cache (a gradient check "
        "that calls it again, a step retried) starts from the damaged values and gets other "
        "gradients", "compute new arrays instead of writing into the cache: xc = xhat * gamma, "
        "not xhat *= gamma")
