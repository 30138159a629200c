"""The `losses` suite: softmax_loss and svm_loss, `loss_fn(x, y) -> (loss, dx)`.

Per loss: the value against the reference on random scores, a gradient check, the value at
near-zero scores (softmax ~ log C, svm ~ C - 1: the course's first sanity check), and
numerical stability on scores of 1e3..1e4.
"""
from __future__ import annotations

import warnings

import numpy as np

from sanitykit import reference as ref
from sanitykit.checks.common import describe_value, expect_array, randn, unpack
from sanitykit.checks.registry import CheckContext, check
from sanitykit.checks.blame import blamed_on
from sanitykit.engine.findings import Finding, Reason
from sanitykit.engine.gradcheck import gradcheck_loss
from sanitykit.engine.numeric import rel_error
from sanitykit.engine.results import Outcome, failed, passed, warned
from sanitykit.engine.usercode import NotImplementedYet, UserCodeError, call_user

# topic -> the user's function, and sanitykit's.
LOSSES = {"softmax": "softmax_loss", "svm": "svm_loss"}
REFERENCE = {"softmax": ref.softmax_loss, "svm": ref.svm_loss}
N, C = 8, 5  # random-scores checks
N_INITIAL, C_INITIAL = 50, 10  # near-zero scores: N large enough that "summed over N" is unmistakable
VALUE_TOL = 1e-7
MAX_SUBTRACTION_HINT = "subtract the row max: shifted = x - x.max(axis=1, keepdims=True)"


# ---------------------------------------------------------------- calling the loss

def call_loss(ctx: CheckContext, name: str, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Call the user's loss on copies of (x, y); return (loss as a float, dx as an ndarray).

    Args:
        ctx: the CheckContext.
        name: "softmax_loss" or "svm_loss".
        x: scores (N, C).
        y: labels (N,).
    """
    loss, dx = unpack(call_user(ctx.fn(name), x.copy(), y.copy(), subject=name), ("loss", "dx"), name)
    if loss is None:
        raise NotImplementedYet(name, "returned loss = None")
    if np.asarray(loss).size != 1 or np.asarray(loss).dtype.kind not in "fiu":
        raise UserCodeError(f"{name} returned loss as {describe_value(loss)}, expected a scalar",
                            subject=name)
    return float(np.asarray(loss).reshape(())), expect_array(dx, "dx", subject=name)


def quietly(call):
    """Run `call()` with numpy's overflow / divide / invalid warnings silenced (we measure them instead)."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return call()


def labels(rng: np.random.Generator, n: int, c: int) -> np.ndarray:
    return rng.integers(c, size=n)


# ---------------------------------------------------------------- what a wrong value means

def svm_with_margin(x: np.ndarray, y: np.ndarray, delta: float, count_correct: bool = False) -> float:
    """Multiclass hinge loss averaged over N with margin `delta` (optionally counting the correct class)."""
    rows = np.arange(x.shape[0])
    margins = np.maximum(0, x - x[rows, y][:, None] + delta)
    if not count_correct:
        margins[rows, y] = 0
    return float(margins.sum() / x.shape[0])


def likely_mistakes(kind: str, x: np.ndarray, y: np.ndarray, expected: float) -> list[tuple[float, str, str]]:
    """(value the buggy loss would return, pattern, fix) for the course's common loss mistakes."""
    n = x.shape[0]
    mistakes = [
        (expected * n, "batch_size", f"loss summed rather than averaged over N={n}: divide by N (loss /= N)"),
        (expected / n, "batch_size", f"loss divided by N={n} twice: divide the summed loss by N once"),
    ]
    if kind == "softmax":
        mistakes += [
            (-expected, "sign", "the minus sign of the cross-entropy is missing: "
                                "loss = -np.sum(log_probs[np.arange(N), y]) / N"),
            (expected / np.log(10), "natural_log", "np.log10 used where the cross-entropy needs the "
                                                   "natural log np.log"),
        ]
    else:
        mistakes += [
            (svm_with_margin(x, y, 0.0), "svm_margin", "the margin of 1 is missing: "
             "margins = np.maximum(0, x - correct_class_scores[:, None] + 1)"),
            (svm_with_margin(x, y, 1.0, count_correct=True), "correct_class",
             "the correct class is counted as its own competitor (it always adds a margin of 1): "
             "set margins[np.arange(N), y] = 0 before summing"),
        ]
    return mistakes


def mistake_for(kind: str, x: np.ndarray, y: np.ndarray, loss: float, expected: float) -> tuple[str, str]:
    """(pattern, fix) of the first common mistake that reproduces `loss`, or a generic pair."""
    for value, pattern, fix in likely_mistakes(kind, x, y, expected):
        if np.isfinite(loss) and rel_error(loss, value) < 1e-6:
            return pattern, fix
    return "loss_value", "recompute the loss by hand for one example and compare with your vectorised code"


# ---------------------------------------------------------------- the checks

def loss_value(ctx: CheckContext, kind: str) -> Outcome:
    """The loss on random scores against the reference."""
    name = LOSSES[kind]
    x, y = randn(ctx.rng, N, C), labels(ctx.rng, N, C)
    loss, _ = call_loss(ctx, name, x, y)
    expected = float(REFERENCE[kind](x, y)[0])
    err = rel_error(loss, expected)
    if err < VALUE_TOL:
        return passed(f"loss {loss:.6g} matches the reference (N={N}, C={C}), relative error {err:.1e}",
                      loss=loss, expected=expected, rel_error=err)
    pattern, fix = mistake_for(kind, x, y, loss, expected)
    return failed(Finding(pattern, f"{name} returned loss {loss:.6g} on random scores (N={N}, C={C}), "
                          f"expected {expected:.6g} (relative error {err:.2g})", fix=fix, where=("loss",)),
                  loss=loss, expected=expected, rel_error=err)


def loss_gradcheck(ctx: CheckContext, kind: str) -> Outcome:
    """dx of the loss against central differences (the engine's gradcheck_loss)."""
    name = LOSSES[kind]
    x, y = randn(ctx.rng, N, C), labels(ctx.rng, N, C)
    return gradcheck_loss(ctx.fn(name), x, y, seed=ctx.seed).to_outcome()


def expected_initial(kind: str, c: int) -> float:
    """The loss at near-zero scores: every class equally likely (log C) / every margin 1 (C - 1)."""
    return float(np.log(c)) if kind == "softmax" else float(c - 1)


def loss_initial(ctx: CheckContext, kind: str) -> Outcome:
    """The loss at scores of about 1e-3: softmax ~ log C, svm ~ C - 1."""
    name = LOSSES[kind]
    x = randn(ctx.rng, N_INITIAL, C_INITIAL, scale=1e-3)
    y = labels(ctx.rng, N_INITIAL, C_INITIAL)
    loss, _ = call_loss(ctx, name, x, y)
    expected = expected_initial(kind, C_INITIAL)
    formula = f"log C = log {C_INITIAL}" if kind == "softmax" else f"C - 1 = {C_INITIAL} - 1"
    # Scores of 1e-3 move either loss by ~1e-3; 1% is far outside that and far inside any bug.
    if abs(loss - expected) <= 0.01 * expected:
        return passed(f"loss {loss:.4g} at near-zero scores, expected {formula} = {expected:.4g}",
                      loss=loss, expected=expected)
    what = (f"{name} returned {loss:.4g} at near-zero scores (N={N_INITIAL}, C={C_INITIAL}), "
            f"expected about {formula} = {expected:.4g}")
    if np.isfinite(loss) and abs(loss - N_INITIAL * expected) <= 0.01 * N_INITIAL * expected:
        what += f": {loss / expected:.0f} times too big, the loss summed rather than averaged over N"
    pattern, fix = mistake_for(kind, x, y, loss, REFERENCE[kind](x, y)[0])
    return failed(Finding("initial_loss" if pattern == "loss_value" else pattern, what, fix=fix, where=("loss",)),
                  loss=loss, expected=expected)


def nonfinite(loss: float, dx: np.ndarray) -> str:
    """'' when loss and dx are finite, else what is not ('loss is inf', 'dx holds 12 NaN/inf values')."""
    parts = [] if np.isfinite(loss) else [f"loss is {loss}"]
    bad = int(np.sum(~np.isfinite(dx)))
    if bad:
        parts.append(f"dx holds {bad} NaN/inf value{'s' * (bad > 1)}")
    return " and ".join(parts)


def stability_check(ctx: CheckContext, kind: str) -> Outcome:
    """loss_stability, blamed on losses.<kind>.value when the value is wrong and the user's loss is
    no more wrong at large scores than at their shifted (max-subtracted) copy: a wrong loss, not an overflow."""
    outcome = loss_stability(ctx, kind)
    value_check = f"losses.{kind}.value"
    earlier = ctx.results.get(value_check)
    if outcome.status not in ("fail", "warn") or earlier is None or earlier.status != "fail":
        return outcome
    name = LOSSES[kind]
    rng = np.random.default_rng(ctx.seed)
    y = labels(rng, N, C)
    x = randn(rng, N, C) + rng.uniform(1e3, 1e4, size=(N, 1))
    loss, _ = quietly(lambda: call_loss(ctx, name, x, y))
    shifted, _ = quietly(lambda: call_loss(ctx, name, x - x.max(axis=1, keepdims=True), y))
    overflows = not np.isfinite(loss) and np.isfinite(shifted)
    if overflows or (np.isfinite(loss) and np.isfinite(shifted) and rel_error(loss, shifted) > 1e-6):
        return outcome  # the large scores themselves break it: stability is its own bug
    return blamed_on(Reason("blamed", (name,), (value_check,),
                            note=f"{name}'s value is wrong at any scale (large scores change nothing)"),
                     with_yours=outcome.message)


def loss_stability(ctx: CheckContext, kind: str) -> Outcome:
    """Finite loss and dx, equal to the reference, at scores of 1e3..1e4."""
    name = LOSSES[kind]
    y = labels(ctx.rng, N, C)
    # Rows offset by 1e3..1e4: exp overflows unless the row max is subtracted first.
    offset = randn(ctx.rng, N, C) + ctx.rng.uniform(1e3, 1e4, size=(N, 1))
    # Scores spread over 1e3..1e4: even after the shift, the correct class's probability
    # underflows to 0, so log(probability) is -inf (the course's old starter code does this).
    spread = ctx.rng.uniform(1e3, 1e4, size=(N, C))
    reference = REFERENCE[kind]

    loss, dx = quietly(lambda: call_loss(ctx, name, offset, y))
    expected = float(reference(offset, y)[0])
    problem = nonfinite(loss, dx)
    if problem:
        return failed(Finding("overflow", f"{name} overflows: {problem} for scores of 1e3..1e4 (each row "
                              "offset by a constant)", fix=f"exp() of scores this large is inf; "
                              f"{MAX_SUBTRACTION_HINT} (softmax is unchanged by the shift)", where=("loss",)),
                      loss=loss, expected=expected)
    if rel_error(loss, expected) > 1e-6:
        return failed(Finding("shift_variant", f"{name} returned {loss:.6g} for scores of 1e3..1e4 (rows "
                              f"offset by a constant), expected {expected:.6g}",
                              fix=f"the loss must not change when a constant is added to a row; "
                                  f"{MAX_SUBTRACTION_HINT}", where=("loss",)), loss=loss, expected=expected)

    loss, dx = quietly(lambda: call_loss(ctx, name, spread, y))
    expected = float(reference(spread, y)[0])
    if not np.all(np.isfinite(dx)):
        return failed(Finding("overflow", f"{name}: {nonfinite(loss, dx)} for scores spread over 1e3..1e4",
                              fix=MAX_SUBTRACTION_HINT, where=("dx",)), loss=loss, expected=expected)
    if not np.isfinite(loss):
        # Not wrong for any realistic score, and the course's own old starter code does it.
        return warned(Finding("log_underflow", f"{name}: loss is {loss} for scores spread over 1e3..1e4 (dx "
                              "is finite): the correct class's probability underflows to 0 before the log",
                              fix="take the log of the shifted scores, not of the probability: "
                                  "log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)); "
                                  "loss = -log_probs[np.arange(N), y].mean()", where=("loss",)),
                      loss=loss, expected=expected)
    if rel_error(loss, expected) > 1e-6:
        return warned(Finding("clipped_log", f"{name} returned {loss:.6g} for scores spread over 1e3..1e4, "
                              f"expected {expected:.6g}", fix="probabilities clipped before the log "
                              "(np.log(p + eps)) cap the loss; compute log-probabilities from the shifted "
                              "scores instead", where=("loss",)), loss=loss, expected=expected)
    return passed("finite loss and dx, equal to the reference, for scores of 1e3..1e4")


# ---------------------------------------------------------------- declarations

VALUE = "matches the reference on random scores"
GRADCHECK = "dx matches numerical gradients"
STABILITY = "finite and correct for scores of 1e3..1e4"


@check("losses.softmax.value", subject="softmax_loss", title=VALUE)
def softmax_value(ctx: CheckContext) -> Outcome:
    return loss_value(ctx, "softmax")


@check("losses.softmax.gradcheck", subject="softmax_loss", title=GRADCHECK)
def softmax_gradcheck(ctx: CheckContext) -> Outcome:
    return loss_gradcheck(ctx, "softmax")


@check("losses.softmax.initial", subject="softmax_loss", title="near-zero scores give log C")
def softmax_initial(ctx: CheckContext) -> Outcome:
    return loss_initial(ctx, "softmax")


@check("losses.softmax.stability", subject="softmax_loss", title=STABILITY)
def softmax_stability(ctx: CheckContext) -> Outcome:
    return stability_check(ctx, "softmax")


@check("losses.svm.value", subject="svm_loss", title=VALUE)
def svm_value(ctx: CheckContext) -> Outcome:
    return loss_value(ctx, "svm")


@check("losses.svm.gradcheck", subject="svm_loss", title=GRADCHECK)
def svm_gradcheck(ctx: CheckContext) -> Outcome:
    return loss_gradcheck(ctx, "svm")


@check("losses.svm.initial", subject="svm_loss", title="near-zero scores give C - 1")
def svm_initial(ctx: CheckContext) -> Outcome:
    return loss_initial(ctx, "svm")


@check("losses.svm.stability", subject="svm_loss", title=STABILITY)
def svm_stability(ctx: CheckContext) -> Outcome:
    return stability_check(ctx, "svm")
