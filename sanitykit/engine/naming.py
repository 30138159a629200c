"""Naming the mistake of a failed input, from what the run measured: the tests that need its context.

gradcheck (sanitykit.engine.gradcheck) measures; this module names. It reads the run's
context `ctx` (the problem, dout, the analytic gradients, the fast pass's directions, the
thresholds) and each input's result, tries the patterns that need the layer itself (gradients
returned in each other's place, a sum over the wrong axis, dout ignored, a ReLU's mask skipped
inside a sandwich), and hands the rest to the pure finders of sanitykit.engine.diagnosis.
"""
from __future__ import annotations

import numpy as np

from sanitykit.engine import diagnosis as dg
from sanitykit.engine import structure
from sanitykit.engine.findings import Finding
from sanitykit.engine.numeric import directional_differences, directional_error, roundoff
from sanitykit.engine.results import FAIL, PASS, WARN
from sanitykit.engine.usercode import NotImplementedYet, UserCodeError

MAX_SHOWN = 5            # places named in a message, then a count
FLOAT32_ROUNDOFF = 1e-3  # a float32 warning up to this error is round-off (eps32 / h ~ 1e-4)


def named_by_directions(ctx, i: int) -> bool:
    """Fast mode can name input i from its random directions alone (no coordinate probed)."""
    return (not np.any(ctx.grads[i]) or _fast_ratio(ctx, i) is not None
            or _transposed_along(ctx, i) is not None)


def _transposed_along(ctx, i: int) -> dg.Finding | None:
    """d{i} is the transpose of a gradient that every random direction of input i confirms."""
    g = ctx.grads[i]
    if g.ndim != 2 or 1 in g.shape or not ctx.fast.get(i):
        return None
    candidate = g.reshape(g.shape[::-1]).T  # the true gradient, if g is its transpose reshaped
    if any(directional_error(float(np.vdot(candidate, v)), dp, dm, candidate, ctx.atol)
           > ctx.thr.suspicious for v, dp, dm in ctx.fast[i]):
        return None
    c = dg.Comparison(ctx.problem.names[i], g.shape, np.arange(g.size), g.reshape(-1),
                      candidate.reshape(-1), np.ones(g.size, bool), True)
    return dg.find_transposed(c)


def _fast_ratio(ctx, i: int) -> float | None:
    """analytic / numerical, when every random direction of input i agrees on it (fast mode)."""
    ratios = []
    g = ctx.grads[i]
    for v, dp, dm in ctx.fast.get(i, []):
        numeric, analytic = 0.5 * (dp + dm), float(np.vdot(g, v))
        if abs(numeric) <= 10 * ctx.atol:
            continue  # a direction nearly orthogonal to the gradient says nothing about a ratio
        ratios.append(analytic / numeric)
    if len(ratios) < 2 or not all(abs(q - ratios[0]) <= 1e-3 * abs(ratios[0]) for q in ratios):
        return None
    return float(np.mean(ratios))


def diagnose(ctx, per_input, result) -> None:
    """Give every input that is not a plain pass (nor a kink) its finding, in place."""
    for i, r in enumerate(per_input):
        if r.status == PASS or (r.status == WARN and r.pattern == "kink"):
            continue
        if r.status == WARN and ctx.low_precision and r.rel_error <= FLOAT32_ROUNDOFF:
            r.finding = dg.float32_roundoff(r.grad, r.rel_error, ctx.h, ctx.thr)
            continue
        if r.status == WARN and r.numeric is None:
            # A suspicious fast-mode error: named only when the directions agree on a ratio.
            finding = _fast_finding(ctx, i, r)
            if finding.pattern not in ("unknown", "zeros"):
                r.finding = finding
            continue
        r.finding = _name_pattern(ctx, i, r, per_input)
    _same_cause(per_input)


def _same_cause(per_input) -> None:
    """Unknown gradients beside one whose dout was reshaped without a transpose share its cause."""
    cause = next((r for r in per_input if r.pattern == "no_transpose"), None)
    if cause is None:
        return
    for r in per_input:
        if r.pattern == "unknown" and r.status == FAIL:
            r.finding = Finding(
                "no_transpose", f"{r.finding.what}; likely the same cause as {cause.grad}: dout "
                "reshaped to (-1, C) without moving the channels last",
                cause.finding.likely, cause.finding.fix)


def _name_pattern(ctx, i: int, r, per_input) -> dg.Finding:
    """The most specific finding for input i, from the most to the least specific test."""
    finding = (_swapped(ctx, i, per_input) or _wrong_axis(ctx, i, r)
               or _channels_not_last(ctx, i, r) or _uses_w_not_wT(ctx, i, r)
               or (_transposed_along(ctx, i) if r.numeric is None or r.probed < r.size else None))
    if finding:
        return finding
    if r.numeric is None:  # fast mode: directional derivatives only
        return _quietly(_ignores_dout, ctx, i) or _fast_finding(ctx, i, r)
    if r.wrong == 0:
        return _sample_missed(ctx, i, r)
    finding = _not_through_dout(ctx, i, r)
    if finding:
        return finding
    found = dg.classify(_comparison(ctx, i, r), weights=_weights(ctx, i, r),
                        reg=ctx.reg if ctx.problem.kind == "model" else None)
    if found.pattern != "unknown":
        return found
    # A dout of ones is the weaker test: it runs after every element-wise pattern, so
    # "only the first example is right" (which ones cannot see) wins over it. Ignoring dout
    # also mixes the examples, so it is named first.
    return (_quietly(_ignores_dout, ctx, i)
            or _quietly(structure.mixes_examples, ctx.problem, ctx.out0, ctx.u, i, ctx.restore)
            or _quietly(_blocked_by_output, ctx, i, r) or found)


def _quietly(probe, *args) -> dg.Finding | None:
    """A probe that calls the user's code again to name a mistake already measured: if that call
    raises (a backward that cannot take a dout of ones), the probe says nothing, and the verdict
    stays the failure it is, never an error."""
    try:
        return probe(*args)
    except (UserCodeError, NotImplementedYet):
        return None


def _blocked_by_output(ctx, i: int, r) -> dg.Finding | None:
    """Right for dout set to 0 where the output is 0: a ReLU inside the layer whose mask is skipped.

    By the chain rule no gradient flows back from an output a ReLU clamped to 0, so the true
    gradient is the same for dout and for dout masked there; a backward without the mask
    becomes right only for the masked one. One backward pass.
    """
    zero = np.asarray(ctx.out0) == 0
    if ctx.problem.kind != "layer" or r.numeric is None or not zero.any() or zero.all():
        return None
    g = ctx.problem.gradients(np.where(zero, 0.0, ctx.u))[i]
    ctx.restore()
    idx = r._indices
    if g.shape != r.shape or not dg._fits(g.reshape(-1)[idx], r.numeric.reshape(-1)[idx], 1e-5):
        return None
    return dg.blocked_by_output(r.grad, int(zero.sum()), zero.size, ctx.problem.bname)


def _fast_finding(ctx, i: int, r) -> dg.Finding:
    """Fast mode: a constant ratio of the directional derivatives, else a pointer to auto."""
    ratio = _fast_ratio(ctx, i)
    rerun = "rerun with mode='auto' to see which elements are wrong"
    if not np.any(ctx.grads[i]):
        return dg.Finding("zeros", f"{r.grad} is all zeros, but the numerical directional "
                          "derivatives are not", f"{r.grad} is never written: it keeps its "
                          "initial value (np.zeros_like)", f"compute {r.grad} in your backward "
                          "pass and return that array, not a fresh zeros array")
    if ratio is not None:
        c = dg.Comparison(r.name, (2,), np.arange(2), np.array([ratio, 2 * ratio]),
                          np.array([1.0, 2.0]), np.ones(2, bool), False, ctx.batch,
                          ctx.problem.kind, upstream=ctx.u if ctx.problem.kind == "layer" else None)
        found = dg.find_sign(c) or dg.find_factor(c) or dg.find_factor_near_one(c)
        if found:
            return dg.Finding(found.pattern, f"{found.what} (every random directional "
                              "derivative gives this ratio)", found.likely,
                              f"{found.fix}; {rerun}" if found.fix else rerun)
    return dg.Finding(
        "unknown", f"a random directional derivative of {r.grad} disagrees with central "
        f"differences (relative error {r.fast_error:.2g}); fast mode compares random "
        "directional derivatives only", f"some elements of {r.grad} are wrong", rerun)


def _sample_missed(ctx, i: int, r) -> dg.Finding:
    """Fast found a mismatch that no probed element shows: say so, without a pattern."""
    return dg.Finding(
        "unknown", f"a random directional derivative of {r.grad} disagrees (relative error "
        f"{r.fast_error:.2g}), but none of the {r.probed} probed elements of {r.grad} is wrong: "
        "the wrong elements are outside the sample", f"a few elements of {r.grad} are wrong",
        "rerun with mode='full' to find them")


def _not_through_dout(ctx, i: int, r) -> dg.Finding | None:
    """analytic - numerical = backward(dout=0) at the probed elements: a term without dout."""
    g0 = ctx.zero_grads[i] if ctx.zero_grads else None
    if g0 is None or g0.shape != r.shape or not np.any(g0 != 0):
        return None
    idx = r._indices
    diff = r.analytic.reshape(-1)[idx] - r.numeric.reshape(-1)[idx]
    if not dg._fits(diff, g0.reshape(-1)[idx], 1e-4):
        return None
    places = [tuple(int(k) for k in np.unravel_index(j, r.shape)) for j in np.flatnonzero(g0)]
    shown = ", ".join(dg.format_index(r.grad, p) for p in places[:MAX_SHOWN])
    more = f" and {len(places) - MAX_SHOWN} more" if len(places) > MAX_SHOWN else ""
    return dg.Finding(
        "constant_term", f"backward(dout=0) is nonzero at {shown}{more}: a term of {r.grad} "
        "there does not go through dout, and it is exactly the difference from the numerical "
        "gradient", f"something is added to {r.grad} that does not depend on dout (a leftover "
        "+= of a constant, or an array started with np.ones / np.empty instead of np.zeros)",
        f"start {r.grad} from np.zeros_like and add only terms multiplied by dout")


def _comparison(ctx, i, r) -> dg.Comparison:
    idx = r._indices
    return dg.Comparison(r.name, r.shape, idx, r.analytic.reshape(-1)[idx],
                         r.numeric.reshape(-1)[idx], r._wrong_mask, idx.size == r.size, ctx.batch,
                         ctx.problem.kind, _labels(ctx.problem, r.shape), r.analytic,
                         values_all=ctx.problem.inputs[i], out_size=int(np.size(ctx.out0)),
                         stride=_stride(ctx.problem), subject=ctx.problem.bname,
                         others={n: x for j, (n, x) in enumerate(zip(ctx.problem.names,
                                                                    ctx.problem.inputs)) if j != i},
                         upstream=ctx.u if ctx.problem.kind == "layer" else None,
                         args=tuple(getattr(ctx.problem, "args", ())),
                         output=ctx.out0 if np.shape(ctx.out0) == r.shape else None)


def _stride(problem) -> int | None:
    """The stride of a conv_param / pool_param among the layer's extra arguments."""
    for arg in getattr(problem, "args", ()):
        if isinstance(arg, dict) and isinstance(arg.get("stride"), (int, np.integer)):
            return int(arg["stride"])
    return None


def _labels(problem, shape) -> np.ndarray | None:
    """y of a classification loss called as loss_fn(x, y): integer labels, one per row of x."""
    if problem.kind != "loss" or not problem.args or len(shape) != 2:
        return None
    y = problem.args[0]
    if (isinstance(y, np.ndarray) and y.dtype.kind in "iu" and y.shape == (shape[0],)
            and y.size and 0 <= y.min() and y.max() < shape[1]):
        return y
    return None


def _weights(ctx, i, r):
    if ctx.problem.kind != "model":
        return None
    return ctx.problem.inputs[i].reshape(-1)[r._indices]


def _swapped(ctx, i: int, per_input=()) -> dg.Finding | None:
    """d{i} matches the numerical gradient of another input of the same shape.

    Compared along the fast pass's random directions of that input, or element by element
    when its numerical gradient is complete (full mode).
    """
    names, g = ctx.problem.names, ctx.grads[i]
    for j, x in enumerate(ctx.problem.inputs):
        if j == i or x.shape != g.shape or not np.any(g != 0):
            continue
        other = per_input[j] if j < len(per_input) else None
        if j in ctx.fast:
            errs = [directional_error(float(np.vdot(g, v)), dp, dm, g, ctx.atol)
                    for v, dp, dm in ctx.fast[j]]
            match = max(errs) <= ctx.thr.suspicious
        elif other is not None and other.numeric is not None and np.all(np.isfinite(other.numeric)):
            match = dg._fits(g.reshape(-1), other.numeric.reshape(-1), 1e-4)
        else:
            match = False
        if match:
            return dg.Finding(
                "swapped", f"d{names[i]} equals the numerical gradient of {names[j]}: "
                f"d{names[i]} and d{names[j]} are returned in each other's place",
                "the gradients are returned in the wrong order",
                f"return them in the order of the inputs: return "
                f"{', '.join('d' + n for n in names)}")
    return None


def _axes_text(ndim: int, keep: int) -> str:
    axes = tuple(b for b in range(ndim) if b != keep)
    return str(axes[0]) if len(axes) == 1 else str(axes)


def _wrong_axis(ctx, i: int, r) -> dg.Finding | None:
    """A bias gradient that sums dout over the wrong axis (possible unseen when N == M)."""
    u, g = ctx.u, ctx.grads[i]
    if ctx.problem.kind != "layer" or r.numeric is None or g.ndim != 1 or np.ndim(u) < 2:
        return None
    keeps = [a for a in range(u.ndim) if u.shape[a] == g.size]
    if len(keeps) < 2:
        return None
    sums = {a: u.sum(axis=tuple(b for b in range(u.ndim) if b != a)) for a in keeps}
    idx = r._indices
    num = r.numeric.reshape(-1)[idx]
    right = [a for a in keeps if dg._fits(num, sums[a][idx], 1e-5)]
    got = [a for a in keeps if dg._fits(g, sums[a], 1e-8)]
    if not right or not got or right[0] == got[0]:
        return None
    bad, good = _axes_text(u.ndim, got[0]), _axes_text(u.ndim, right[0])
    return dg.Finding(
        "wrong_axis", f"{r.grad} equals dout.sum(axis={bad}) but the numerical gradient is "
        f"dout.sum(axis={good}): {r.grad} sums dout over the wrong axis",
        f"{r.grad} sums dout over the wrong axis (the shapes agree only because two "
        "dimensions are equal); use axis=" + good,
        f"{r.grad} = dout.sum(axis={good})")


def _channels_not_last(ctx, i: int, r) -> dg.Finding | None:
    """Spatial layers: dbeta = dout.reshape(-1, C).sum(0), the channels never moved last."""
    u, g = ctx.u, ctx.grads[i]
    if ctx.problem.kind != "layer" or r.numeric is None or np.ndim(u) != 4 or g.ndim != 1 \
            or g.size != u.shape[1] or u.shape[2] * u.shape[3] < 2:
        return None
    c = u.shape[1]
    idx = r._indices
    if not (dg._fits(g, u.reshape(-1, c).sum(axis=0), 1e-8)
            and dg._fits(r.numeric.reshape(-1)[idx], u.sum(axis=(0, 2, 3))[idx], 1e-5)):
        return None
    return dg.Finding(
        "no_transpose", f"{r.grad} equals dout.reshape(-1, C).sum(axis=0), but the numerical "
        f"gradient is dout.sum(axis=(0, 2, 3)): dout was reshaped to (-1, C) without moving "
        "the channels last, so each column mixes channels",
        "dout.reshape(-1, C) on an (N, C, H, W) array groups the numbers of different channels; "
        "the channel axis must be last before the reshape (and moved back after it for dx)",
        "drows = dout.transpose(0, 2, 3, 1).reshape(-1, C); "
        "dx = dx_rows.reshape(N, H, W, C).transpose(0, 3, 1, 2)")


def _uses_w_not_wT(ctx, i: int, r) -> dg.Finding | None:
    """dx = dout @ w where dout @ w.T belongs (unseen by shapes when w is square)."""
    u, g = ctx.u, ctx.grads[i]
    if ctx.problem.kind != "layer" or r.numeric is None or np.ndim(u) != 2 or g.ndim < 1 \
            or g.shape[0] != u.shape[0]:
        return None
    n, m = u.shape
    gi = g.reshape(n, -1)
    idx = r._indices
    for j, w in enumerate(ctx.problem.inputs):
        if j == i or w.shape != (m, m) or gi.shape[1] != m:
            continue
        wn = ctx.problem.names[j]
        if dg._fits(gi.reshape(-1), (u @ w).reshape(-1), 1e-8) and \
                dg._fits(r.numeric.reshape(-1)[idx], (u @ w.T).reshape(-1)[idx], 1e-5):
            return dg.Finding(
                "transposed", f"{r.grad} = dout @ {wn}, but the numerical gradient is "
                f"dout @ {wn}.T: {r.grad} uses {wn} where {wn}.T belongs",
                f"the transpose of {wn} is missing in {r.grad} (the shapes agree only because "
                f"{wn} is square): for out = {r.name} @ {wn}, d{r.name} = dout @ {wn}.T",
                f"{r.grad} = (dout @ {wn}.T).reshape({r.name}.shape)")
    return None


def _ignores_dout(ctx, i: int) -> dg.Finding | None:
    """Right for an upstream gradient of ones, wrong for a random one.

    Uninformative when the numerical gradient for dout = ones is itself about zero
    (batchnorm: sum(out) does not depend on x), since any backward looks right there.
    """
    if ctx.problem.kind != "layer" or ctx.out0.size < 2:
        return None
    ones = np.ones_like(ctx.out0)
    g = ctx.problem.gradients(ones)[i]
    x = ctx.problem.inputs[i]
    atol = roundoff(ctx.out0, ones, ctx.h, np.finfo(np.float64).eps)
    typical = float(np.linalg.norm(ctx.grads[i])) / np.sqrt(max(x.size, 1))
    for v, _, _ in ctx.fast.get(i, []) or [(ctx.rng.standard_normal(x.shape), 0, 0)]:
        dp, dm = directional_differences(ctx.problem.evaluate, x, v, ctx.out0, ones, ctx.h)
        if abs(0.5 * (dp + dm)) <= max(10 * atol, 1e-6 * typical):
            return None  # sum(out) is flat along v: ones cannot tell right from wrong
        if directional_error(float(np.vdot(g, v)), dp, dm, g, atol) > ctx.thr.good:
            return None
    name = ctx.problem.names[i]
    return dg.Finding(
        "ignores_dout", f"d{name} is right for an upstream gradient of ones but wrong for a "
        "random dout: the backward pass ignores dout",
        "dout is replaced by ones (np.ones_like), summed away, or used element-wise where "
        "it should enter a matrix product",
        f"use dout itself by the chain rule, e.g. dx = dout @ w.T and dw = x.T @ dout")
