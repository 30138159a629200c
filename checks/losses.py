"""The `losses` suite: softmax_loss and svm_loss, `loss_fn(x, y) -> (loss, dx)`.

Per loss: the value against the reference on random scores, a gradient check, the value at
near-zero scores (softmax ~ log C, svm ~ C - 1: the course's first sanity check), and
numerical stability on scores of 1e3..1e4.
"""
from __future__ import annotations

import warnings

import numpy as np

from sanitykit.checks.common import describe_value, expect_array, randn, unpack
from sanitykit.checks.registry import CheckContext, check
from sanitykit.engine.numeric import rel_error
from sanitykit.engine.results import Outcome, failed, passed, warned
from sanitykit.engine.usercode import NotImplementedYet, UserCodeError, call_user

# topic -> the user's function.
LOSSES = {"softmax": "softmax_loss", "svm": "svm_loss"}
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


def likely_mistakes(kind: str, x: np.ndarray, y: np.ndarray, expected: float) -> list[tuple[float, str]]:
    """(value the buggy loss would return, hint) for the course's common loss mistakes."""
    n = x.shape[0]
    mistakes = [
        (expected * n, f"loss summed rather than averaged over N={n}: divide by N (loss /= N)"),
        (expected / n, f"loss divided by N={n} twice: divide the summed loss by N once"),
    ]
    if kind == "softmax":
        mistakes += [
            (-expected, "the minus sign of the cross-entropy is missing: "
                        "loss = -np.sum(log_probs[np.arange(N), y]) / N"),
            (expected / np.log(10), "np.log10 used where the cross-entropy needs the natural log np.log"),
        ]
    else:
        mistakes += [
            (svm_with_margin(x, y, 0.0), "the margin of 1 is missing: "
                                         "margins = np.maximum(0, x - correct_class_scores[:, None] + 1)"),
            (svm_with_margin(x, y, 1.0, count_correct=True),
             "the correct class is counted as its own competitor (it always adds a margin of 1): "
             "set margins[np.arange(N), y] = 0 before summing"),
        ]
    return mistakes


def hint_for(kind: str, x: np.ndarray, y: np.ndarray, loss: float, expected: float) -> str:
    """The hint of the first common mistake that reproduces `loss`, or a generic one."""
    for value, hint in likely_mistakes(kind, x, y, expected):
        if np.isfinite(loss) and rel_error(loss, value) < 1e-6:
            return hint
    return "recompute the loss by hand for one example and compare with your vectorised code"


# ---------------------------------------------------------------- the checks

def loss_value(ctx: CheckContext, kind: str) -> Outcome:
    """The loss on random scores against the reference."""
    name = LOSSES[kind]
    x, y = randn(ctx.rng, N, C), labels(ctx.rng, N, C)
    loss, _ = call_loss(ctx, name, x, y)
    expected = float(ctx.ref(name)(x, y)[0])
    err = rel_error(loss, expected)
    if err < VALUE_TOL:
        return passed(f"loss {loss:.6g} matches the reference (N={N}, C={C}), relative error {err:.1e}",
                      loss=loss, expected=expected, rel_error=err)
    return failed(f"{name} returned loss {loss:.6g} on random scores (N={N}, C={C}), "
                  f"expected {expected:.6g} (relative error {err:.2g})",
                  hint=hint_for(kind, x, y, loss, expected), loss=loss, expected=expected, rel_error=err)


def loss_gradcheck(ctx: CheckContext, kind: str) -> Outcome:
    """dx of the loss against central differences (the engine's gradcheck_loss)."""
    from sanitykit.engine.gradcheck import gradcheck_loss

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
    message = (f"{name} returned {loss:.4g} at near-zero scores (N={N_INITIAL}, C={C_INITIAL}), "
               f"expected about {formula} = {expected:.4g}")
    if np.isfinite(loss) and abs(loss - N_INITIAL * expected) <= 0.01 * N_INITIAL * expected:
        message += f": {loss / expected:.0f} times too big, the loss summed rather than averaged over N"
    return failed(message, hint=hint_for(kind, x, y, loss, ctx.ref(name)(x, y)[0]),
                  loss=loss, expected=expected)


def nonfinite(loss: float, dx: np.ndarray) -> str:
    """'' when loss and dx are finite, else what is not ('loss is inf', 'dx holds 12 NaN/inf values')."""
    parts = [] if np.isfinite(loss) else [f"loss is {loss}"]
    bad = int(np.sum(~np.isfinite(dx)))
    if bad:
        parts.append(f"dx holds {bad} NaN/inf value{'s' * (bad > 1)}")
    return " and ".join(parts)


def loss_stability(ctx: CheckContext, kind: str) -> Outcome:
    """Finite loss and dx, equal to the reference, at scores of 1e3..1e4."""
    name = LOSSES[kind]
    y = labels(ctx.rng, N, C)
    # Rows offset by 1e3..1e4: exp overflows unless the row max is subtracted first.
    offset = randn(ctx.rng, N, C) + ctx.rng.uniform(1e3, 1e4, size=(N, 1))
    # Scores spread over 1e3..1e4: even after the shift, the correct class's probability
    # underflows to 0, so log(probability) is -inf (the course's old starter code does this).
    spread = ctx.rng.uniform(1e3, 1e4, size=(N, C))
    ref = ctx.ref(name)

    loss, dx = quietly(lambda: call_loss(ctx, name, offset, y))
    expected = float(ref(offset, y)[0])
    problem = nonfinite(loss, dx)
    if problem:
        return failed(f"{name} overflows: {problem} for scores of 1e3..1e4 (each row offset by a constant)",
                      hint=f"exp() of scores this large is inf; {MAX_SUBTRACTION_HINT} "
                           f"(softmax is unchanged by the shift)", loss=loss, expected=expected)
    if rel_error(loss, expected) > 1e-6:
        return failed(f"{name} returned {loss:.6g} for scores of 1e3..1e4 (rows offset by a constant), "
                      f"expected {expected:.6g}",
                      hint=f"the loss must not change when a constant is added to a row; {MAX_SUBTRACTION_HINT}",
                      loss=loss, expected=expected)

    loss, dx = quietly(lambda: call_loss(ctx, name, spread, y))
    expected = float(ref(spread, y)[0])
    if not np.all(np.isfinite(dx)):
        return failed(f"{name}: {nonfinite(loss, dx)} for scores spread over 1e3..1e4",
                      hint=MAX_SUBTRACTION_HINT, loss=loss, expected=expected)
    if not np.isfinite(loss):
        # Not wrong for any realistic score, and the course's own old starter code does it.
        return warned(f"{name}: loss is {loss} for scores spread over 1e3..1e4 (dx is finite): "
                      f"the correct class's probability underflows to 0 before the log",
                      hint="take the log of the shifted scores, not of the probability: "
                           "log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)); "
                           "loss = -log_probs[np.arange(N), y].mean()",
                      loss=loss, expected=expected)
    if rel_error(loss, expected) > 1e-6:
        return warned(f"{name} returned {loss:.6g} for scores spread over 1e3..1e4, expected {expected:.6g}",
                      hint="probabilities clipped before the log (np.log(p + eps)) cap the loss; "
                           "compute log-probabilities from the shifted scores instead",
                      loss=loss, expected=expected)
    return passed("finite loss and dx, equal to the reference, for scores of 1e3..1e4")


# ---------------------------------------------------------------- declarations

def declare(kind: str) -> None:
    """Declare the four checks of one loss (ids losses.<kind>.value / gradcheck / initial / stability)."""
    name = LOSSES[kind]
    initial = "log C" if kind == "softmax" else "C - 1"
    check(f"losses.{kind}.value", subject=name,
          title="matches the reference on random scores")(lambda ctx: loss_value(ctx, kind))
    check(f"losses.{kind}.gradcheck", subject=name,
          title="dx matches numerical gradients")(lambda ctx: loss_gradcheck(ctx, kind))
    check(f"losses.{kind}.initial", subject=name,
          title=f"near-zero scores give {initial}")(lambda ctx: loss_initial(ctx, kind))
    check(f"losses.{kind}.stability", subject=name,
          title="finite and correct for scores of 1e3..1e4")(lambda ctx: loss_stability(ctx, kind))


for _kind in LOSSES:
    declare(_kind)
