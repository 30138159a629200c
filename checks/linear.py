"""The `linear` suite: assignment 1's SVM and softmax losses and the LinearClassifier.

`loss_fn(W, X, y, reg) -> (loss, dW)`, W of shape (D, C), in a naive (loops) and a
vectorised version each (cs231n/classifiers/linear_svm.py, softmax.py). Per function: the
data loss against the reference (reg=0), the gradient of W through the engine's gradcheck,
and the regularisation, whose convention is measured, never assumed: 0.5 * reg * sum(W**2)
with gradient reg * W (winter 2016) or reg * sum(W**2) with gradient 2 * reg * W (2017 on).
Either is right; a loss of one year with the gradient of the other is the classic bug.
The vectorised versions must agree with the naive ones and loop over no example.

LinearClassifier (linear_classifier.py): `train` runs minibatch SGD on `self.loss`, and
`predict` takes the argmax of X @ W. Both are judged on a subclass whose loss is sanitykit's,
so a wrong loss function never reads as a wrong training loop (its own checks report it).
"""
from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np

from sanitykit import reference as ref
from sanitykit.checks.common import describe_value, expect_array, global_random_preserved, shape_problem, unpack
from sanitykit.checks.losses import mistake_for
from sanitykit.checks.minibatch import blobs, step_mistake, step_problem, train_kwargs
from sanitykit.checks.loops import growth, line_events
from sanitykit.checks.registry import CheckContext, SkipCheck, check
from sanitykit.engine.findings import Finding
from sanitykit.engine.gradcheck import gradcheck_loss
from sanitykit.engine.numeric import rel_error
from sanitykit.engine.results import FAIL, Outcome, failed, passed, warned
from sanitykit.engine.usercode import NotImplementedYet, UserCodeError, call_user

# topic -> (the user's function, sanitykit's, which loss)
LOSSES = {
    "svm_naive": ("svm_loss_naive", ref.svm_loss_naive, "svm"),
    "svm_vectorized": ("svm_loss_vectorized", ref.svm_loss_vectorized, "svm"),
    "softmax_naive": ("softmax_loss_naive", ref.softmax_loss_naive, "softmax"),
    "softmax_vectorized": ("softmax_loss_vectorized", ref.softmax_loss_vectorized, "softmax"),
}
N, D, C = 9, 6, 4     # N, D, C distinct: a factor of N in dW cannot pass for another size
W_SCALE = 0.5         # scores of ~1: some SVM margins active, some not
REG = 0.25
VALUE_TOL = 1e-7
MIXED = "the 2016 and 2017 conventions mixed: one year's penalty with the other year's gradient"
YEARS = {0.5: "0.5 * reg * sum(W**2) with gradient reg * W, as in winter 2016",
         1.0: "reg * sum(W**2) with gradient 2 * reg * W, as from 2017"}


# ---------------------------------------------------------------- calling the loss

def call_loss(ctx: CheckContext, name: str, W: np.ndarray, X: np.ndarray, y: np.ndarray,
              reg: float) -> tuple[float, np.ndarray]:
    """The user's loss on copies of the inputs, as (loss float, dW ndarray).

    The starter code's `loss = 0.0; dW = np.zeros(W.shape)` is a stub (not implemented yet).
    """
    value = call_user(ctx.fn(name), W.copy(), X.copy(), y.copy(), reg, subject=name)
    loss, dW = unpack(value, ("loss", "dW"), name)
    if loss is None:
        raise NotImplementedYet(name, "returned loss = None")
    if np.asarray(loss).size != 1 or np.asarray(loss).dtype.kind not in "fiu":
        raise UserCodeError(f"{name} returned loss as {describe_value(loss)}, expected a scalar", subject=name)
    dW = expect_array(dW, "dW", subject=name)
    loss = float(np.asarray(loss).reshape(()))
    if loss == 0 and not np.any(dW):
        raise NotImplementedYet(name, "loss is 0 and dW all zeros, as in the starter code")
    return loss, dW


def problem(ctx: CheckContext, n: int = N) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random W (D, C), X (n, D) and labels y (n,)."""
    rng = ctx.rng
    return W_SCALE * rng.standard_normal((D, C)), rng.standard_normal((n, D)), rng.integers(C, size=n)


def quietly(call: Callable[[], Any]) -> Any:
    """call() with numpy's overflow warnings silenced: the stability check measures them."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return call()


# ---------------------------------------------------------------- what a wrong dW means

def variants(kind: str, W: np.ndarray, X: np.ndarray, y: np.ndarray) -> list[tuple[np.ndarray, str, str]]:
    """(dW of a known mistake, pattern, fix), at reg=0, for the course's common gradient bugs."""
    n = X.shape[0]
    rows = np.arange(n)
    right = ref.svm_loss_vectorized(W, X, y, 0.0)[1] if kind == "svm" else ref.softmax_loss_vectorized(W, X, y, 0.0)[1]
    found = [(right * n, "batch_size", f"dW summed over the N={n} examples but not averaged: dW /= num_train"),
             (right / n, "batch_size", f"dW divided by N={n} twice: divide once, after the loop")]
    scores = X @ W
    if kind == "svm":
        active = (scores - scores[rows, y][:, None] + 1 > 0).astype(float)
        active[rows, y] = 0
        found.append((X.T @ active / n, "correct_class",
                      "the correct class's column is missing: for each violated margin also "
                      "dW[:, y[i]] -= X[i] (vectorised: dscores[rows, y] = -(number of violations))"))
    else:
        shifted = scores - scores.max(axis=1, keepdims=True)
        probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        found.append((X.T @ probs / n, "correct_class",
                      "the -1 at the correct class is missing: dscores = probs; "
                      "dscores[np.arange(N), y] -= 1; dW = X.T @ dscores / N"))
    return found


def explained(kind: str, W: np.ndarray, X: np.ndarray, y: np.ndarray, dW: np.ndarray) -> tuple[str, str] | None:
    """(pattern, fix) of the first known mistake whose dW equals the user's, or None."""
    for variant, pattern, fix in variants(kind, W, X, y):
        if dW.shape == variant.shape and np.allclose(dW, variant, rtol=1e-6, atol=1e-10):
            return pattern, fix
    return None


# ---------------------------------------------------------------- the loss checks

def loss_value(ctx: CheckContext, topic: str) -> Outcome:
    """The data loss (reg=0) against the reference on random W, X, y."""
    name, reference, kind = LOSSES[topic]
    W, X, y = problem(ctx)
    loss, dW = call_loss(ctx, name, W, X, y, 0.0)
    expected = float(reference(W, X, y, 0.0)[0])
    err = rel_error(loss, expected)
    if err < VALUE_TOL:
        return passed(f"loss {loss:.6g} matches the reference (reg=0, N={N}, D={D}, C={C}), "
                      f"relative error {err:.1e}", loss=loss, expected=expected, rel_error=err)
    pattern, fix = mistake_for(kind, X @ W, y, loss, expected)
    return failed(Finding(pattern, f"{name} returned loss {loss:.6g} with reg=0 (N={N}, D={D}, C={C}), "
                          f"expected {expected:.6g} (relative error {err:.2g})", fix=fix, where=("loss",)),
                  loss=loss, expected=expected, rel_error=err)


def loss_gradcheck(ctx: CheckContext, topic: str) -> Outcome:
    """dW at reg=0 against central differences (the engine's gradcheck_loss); known mistakes named."""
    name, _, kind = LOSSES[topic]
    W, X, y = problem(ctx)
    shape = shape_problem(call_loss(ctx, name, W, X, y, 0.0)[1], "dW", W.shape, subject=name)
    if shape:
        return shape
    outcome = gradcheck_loss(ctx.fn(name), W, X, y, 0.0, names=("W",), seed=ctx.seed, subject=name).to_outcome()
    if outcome.status != FAIL:
        return outcome
    known = explained(kind, W, X, y, call_loss(ctx, name, W, X, y, 0.0)[1])
    if known is None:
        return outcome
    pattern, fix = known
    finding = outcome.finding or Finding(pattern, f"{name}: dW is wrong")
    return failed(Finding(pattern, finding.what, fix=fix, where=finding.where, evidence=finding.evidence),
                  **outcome.details)


def reg_factors(ctx: CheckContext, name: str, W: np.ndarray, X: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """The measured penalty: loss rise = r * reg * sum(W**2), dW rise = g * reg * W (+ residual)."""
    loss0, dW0 = call_loss(ctx, name, W, X, y, 0.0)
    loss1, dW1 = call_loss(ctx, name, W, X, y, REG)
    squares = float(np.sum(W * W))
    rise = dW1 - dW0 if dW1.shape == W.shape and dW0.shape == W.shape else np.zeros_like(W)
    g = float(np.sum(rise * W) / (REG * squares))
    residual = float(np.abs(rise - g * REG * W).max() / max(1e-12, np.abs(REG * W).max()))
    return {"r": (loss1 - loss0) / (REG * squares), "g": g, "residual": residual}


def times(factor: float, term: str) -> str:
    """`reg * W`, `0.5 * reg * W`: a measured factor in front of a term, 1 left out."""
    return term if near(factor, 1) else f"{factor:g} * {term}"


def near(value: float, target: float) -> bool:
    return abs(value - target) <= 1e-6 * max(1.0, abs(target))


def loss_reg(ctx: CheckContext, topic: str) -> Outcome:
    """The L2 penalty and its gradient agree, in the 0.5 (2016) or 1 (2017+) convention."""
    name = LOSSES[topic][0]
    W, X, y = problem(ctx)
    f = reg_factors(ctx, name, W, X, y)
    r, g, details = f["r"], f["g"], {k: round(v, 6) for k, v in f.items()}
    if f["residual"] > 1e-6:
        return failed(Finding("regularisation", f"{name}: with reg={REG:g} dW changes by something that is not "
                              f"a multiple of reg * W (off by up to {f['residual']:.2g} of reg * |W|)",
                              fix="the penalty's gradient is proportional to W: dW += 2 * reg * W for "
                                  "loss += reg * np.sum(W * W)", where=("dW",)), **details)
    if near(r, 0):
        fix = ("add the penalty to the loss: loss += reg * np.sum(W * W)" if near(g, 0)
               else f"dW has {g:g} * reg * W but the loss has no penalty: loss += {g / 2:g} * reg * np.sum(W * W)")
        return failed(Finding("reg_missing", f"{name}: the loss does not change with reg={REG:g}", fix=fix,
                              where=("loss",)), **details)
    if near(g, 2 * r):
        words = YEARS.get(round(r, 6))
        if words is None:
            return warned(Finding("reg_convention", f"{name}: penalty {r:g} * reg * sum(W**2), gradient "
                                  f"{g:g} * reg * W: consistent, but neither course year's", fix=YEARS[1.0],
                                  where=("loss",)), **details)
        return passed(f"penalty {words}; loss and dW agree", reg_factor=r, **details)
    if near(g, 0):
        return failed(Finding("regularisation", f"{name}: the loss adds {times(r, 'reg * sum(W**2)')} but dW has no "
                              "regularisation gradient", fix=f"dW += {times(2 * r, 'reg * W')}", where=("dW",)),
                      **details)
    return failed(Finding("reg_mismatch", f"{name}: the loss adds {times(r, 'reg * sum(W**2)')} but dW adds "
                          f"{times(g, 'reg * W')}; the gradient of {times(r, 'reg * sum(W**2)')} is "
                          f"{times(2 * r, 'reg * W')}",
                          likely=MIXED if (round(r, 6), round(g, 6)) in ((1.0, 1.0), (0.5, 2.0)) else "",
                          fix="pick one year and keep loss and gradient together: loss += reg * np.sum(W * W) with "
                              "dW += 2 * reg * W, or loss += 0.5 * reg * np.sum(W * W) with dW += reg * W",
                          where=("dW",)), **details)


def agrees_with_naive(ctx: CheckContext, kind: str) -> Outcome:
    """The vectorised loss and dW equal the user's naive ones on the same inputs (reg > 0)."""
    naive, vectorized = f"{kind}_loss_naive", f"{kind}_loss_vectorized"
    W, X, y = problem(ctx)
    loss_n, dW_n = call_loss(ctx, naive, W, X, y, REG)
    loss_v, dW_v = call_loss(ctx, vectorized, W, X, y, REG)
    loss_err = rel_error(loss_v, loss_n)
    dW_err = rel_error(dW_v, dW_n) if dW_v.shape == dW_n.shape else float("inf")
    if loss_err < 1e-7 and dW_err < 1e-7:
        return passed(f"{vectorized} equals {naive} with reg={REG:g}: loss difference {loss_err:.1e}, "
                      f"dW difference {dW_err:.1e}", loss_difference=loss_err, dW_difference=dW_err)
    r_n, r_v = (reg_factors(ctx, n, W, X, y)["r"] for n in (naive, vectorized))
    # Both agree with the reference at reg=0 (this check depends on that): the penalty differs.
    return warned(Finding("naive_vectorized_disagree", f"{vectorized} and {naive} disagree with reg={REG:g} "
                          f"(loss {loss_v:.6g} vs {loss_n:.6g}): the penalty is {r_v:g} * reg * sum(W**2) in one, "
                          f"{r_n:g} * reg * sum(W**2) in the other", fix="use the same regularisation in both "
                          "versions (the notebook compares them and expects the same numbers)",
                          where=("loss",)), loss_difference=loss_err, dW_difference=dW_err)


def no_loops(ctx: CheckContext, kind: str) -> Outcome:
    """svm/softmax_loss_vectorized runs as many Python lines for 40 examples as for 10."""
    name = f"{kind}_loss_vectorized"
    W = W_SCALE * ctx.rng.standard_normal((D, C))

    def lines(n: int) -> int:
        X, y = ctx.rng.standard_normal((n, D)), ctx.rng.integers(C, size=n)
        return line_events(ctx.fn(name), W.copy(), X, y, REG, subject=name, owns=ctx.target.owns_file)[1]

    count = growth(lines, 10, 40)
    if count.loops:
        return failed(Finding("python_loop", f"{name} runs {count.per_example:.1f} more Python lines per example "
                              f"({count.small} lines for N=10, {count.large} for N=40): it loops over the examples",
                              fix="compute all scores at once (scores = X @ W) and index the correct classes with "
                                  "scores[np.arange(N), y]; no loop over i", where=(name,)),
                      lines_small=count.small, lines_large=count.large)
    return passed(f"{name} runs {count.large} Python lines for N=40 and {count.small} for N=10: no loop over examples")


def softmax_stability(ctx: CheckContext, topic: str) -> Outcome:
    """Finite loss and dW for scores of about 1e3 (the row max subtracted before exp); a warning otherwise."""
    name = LOSSES[topic][0]
    W, X, y = problem(ctx)
    W = W * 1e3 / max(1e-12, float(np.abs(X @ W).max()))  # scores up to 1e3
    loss, dW = quietly(lambda: call_loss(ctx, name, W, X, y, 0.0))
    expected = float(ref.softmax_loss_vectorized(W, X, y, 0.0)[0])
    if np.isfinite(loss) and np.all(np.isfinite(dW)) and rel_error(loss, expected) < 1e-6:
        return passed(f"finite and right for scores up to 1e3 (loss {loss:.4g})")
    # Right for the notebook's small weights: a harmful habit, not a wrong assignment.
    return warned(Finding("overflow", f"{name} returned loss {loss:.4g} for scores up to 1e3 (expected "
                          f"{expected:.4g}){'' if np.all(np.isfinite(dW)) else ' and NaN/inf in dW'}",
                          fix="subtract each row's max score before np.exp: scores -= scores.max(axis=1, "
                              "keepdims=True) (the probabilities do not change)", where=("loss",)),
                  loss=loss, expected=expected)


# ---------------------------------------------------------------- LinearClassifier

class Recorded:
    """What train() handed to self.loss at each step: the batch, reg and the W it saw."""

    def __init__(self) -> None:
        self.calls: list[tuple[np.ndarray, np.ndarray, float, np.ndarray]] = []


def probe_classifier(ctx: CheckContext) -> tuple[Any, Recorded]:
    """An instance of a subclass of the user's LinearClassifier whose loss is sanitykit's softmax."""
    base = ctx.fn("LinearClassifier")
    if not isinstance(base, type):
        raise SkipCheck("LinearClassifier is not a class")
    record = Recorded()

    def loss(self, X_batch, y_batch, reg):
        record.calls.append((np.array(X_batch), np.array(y_batch), reg, np.array(self.W, dtype=float)))
        return ref.softmax_loss_vectorized(np.asarray(self.W, dtype=float), X_batch, y_batch, reg)

    probe = type(f"{base.__name__}", (base,), {"loss": loss})
    return call_user(probe, subject="LinearClassifier"), record


def run_train(ctx: CheckContext, clf: Any, X: np.ndarray, y: np.ndarray, **options: Any) -> Any:
    """clf.train(X, y, **options) with np.random seeded and restored."""
    kwargs = train_kwargs(clf.train, {"verbose": False, **options})
    with global_random_preserved():
        np.random.seed(ctx.seed)
        return call_user(clf.train, X, y, subject="LinearClassifier.train", **kwargs)


LR, BATCH, ITERS = 0.05, 40, 30


def update_problem(record: Recorded) -> Outcome | None:
    """A failed Outcome when W after a step is not W - learning_rate * dW of that step's batch."""
    if len(record.calls) < 2:
        return None
    X_batch, y_batch, reg, W0 = record.calls[0]
    grad = ref.softmax_loss_vectorized(W0, X_batch, y_batch, reg)[1]
    mistake = step_mistake(W0, record.calls[1][3], grad, LR)
    if mistake is None:
        return None
    pattern, fix = mistake
    return failed(Finding(pattern, "LinearClassifier.train: after the first step W is not W - learning_rate * grad "
                          "of that step's minibatch", fix=fix.replace("W -=", "self.W -="), where=("self.W",)))


def train_check(ctx: CheckContext) -> Outcome:
    """train() samples batch_size examples with their labels, steps W downhill and returns every loss."""
    X, y = blobs(ctx)
    clf, record = probe_classifier(ctx)
    history = run_train(ctx, clf, X, y, learning_rate=LR, reg=1e-3, num_iters=ITERS, batch_size=BATCH)
    if not record.calls:
        raise UserCodeError("LinearClassifier.train never called self.loss(X_batch, y_batch, reg)",
                            subject="LinearClassifier.train")
    problem_found = step_problem(X, y, [c[:2] for c in record.calls], batch_size=BATCH) or update_problem(record)
    if problem_found:
        return problem_found
    try:
        losses = [float(v) for v in history]
    except (TypeError, ValueError):
        losses = []
    if len(losses) != ITERS:
        return failed(Finding("no_history", f"LinearClassifier.train returned {describe_value(history)} for "
                              f"num_iters={ITERS}, expected the list of the {ITERS} losses",
                              fix="loss_history.append(loss) at every iteration and return loss_history",
                              where=("loss_history",)))
    if not losses[-1] < losses[0]:
        return failed(Finding("no_descent", f"LinearClassifier.train: the loss went from {losses[0]:.4g} to "
                              f"{losses[-1]:.4g} in {ITERS} steps on separable data", where=("self.W",)))
    return passed(f"{ITERS} steps on minibatches of {BATCH}: loss {losses[0]:.3g} -> {losses[-1]:.3g}, each step "
                  "W -= learning_rate * grad", first_loss=losses[0], last_loss=losses[-1])


def predict_check(ctx: CheckContext) -> Outcome:
    """predict(X) is the argmax of X @ W over the classes, one label per example."""
    clf, _ = probe_classifier(ctx)
    X = ctx.rng.standard_normal((12, D))
    W = ctx.rng.standard_normal((D, C))
    clf.W = W.copy()
    got = call_user(clf.predict, X.copy(), subject="LinearClassifier.predict")
    if got is None:
        raise NotImplementedYet("LinearClassifier.predict", "returned None")
    got = np.asarray(got)
    expected = np.argmax(X @ W, axis=1)
    if got.shape == (C,) and np.array_equal(got, np.argmax(X @ W, axis=0)):
        return failed(Finding("predict_axis", "LinearClassifier.predict took the argmax over the examples "
                              "(axis=0), not over the classes", fix="y_pred = np.argmax(X.dot(self.W), axis=1)",
                              where=("y_pred",)))
    shape = shape_problem(got, "y_pred", expected.shape, subject="LinearClassifier.predict",
                          hint="one label per example: y_pred = np.argmax(X.dot(self.W), axis=1)")
    if shape:
        return shape
    wrong = int(np.sum(got != expected))
    if wrong:
        return failed(Finding("predict_axis", f"LinearClassifier.predict: {wrong} of {len(X)} labels are not "
                              "the argmax of X @ W", fix="y_pred = np.argmax(X.dot(self.W), axis=1)",
                              where=("y_pred",)), wrong=wrong)
    return passed(f"predict gives the argmax of X @ W for {len(X)} examples")


# ---------------------------------------------------------------- declarations

VALUE = "data loss (reg=0) matches the reference"
GRADCHECK = "dW matches numerical gradients"
REG_TITLE = "L2 penalty and its gradient agree (0.5 or 1 convention)"
AGREES = "agrees with the naive version"
NO_LOOPS = "no Python loop over the examples"
STABILITY = "finite for large scores (max subtracted)"


@check("linear.svm_naive.value", subject="svm_loss_naive", title=VALUE)
def svm_naive_value(ctx: CheckContext) -> Outcome:
    return loss_value(ctx, "svm_naive")


@check("linear.svm_naive.gradcheck", subject="svm_loss_naive", title=GRADCHECK)
def svm_naive_gradcheck(ctx: CheckContext) -> Outcome:
    return loss_gradcheck(ctx, "svm_naive")


@check("linear.svm_naive.reg", subject="svm_loss_naive", title=REG_TITLE)
def svm_naive_reg(ctx: CheckContext) -> Outcome:
    return loss_reg(ctx, "svm_naive")


@check("linear.svm_vectorized.value", subject="svm_loss_vectorized", title=VALUE)
def svm_vectorized_value(ctx: CheckContext) -> Outcome:
    return loss_value(ctx, "svm_vectorized")


@check("linear.svm_vectorized.gradcheck", subject="svm_loss_vectorized", title=GRADCHECK)
def svm_vectorized_gradcheck(ctx: CheckContext) -> Outcome:
    return loss_gradcheck(ctx, "svm_vectorized")


@check("linear.svm_vectorized.reg", subject="svm_loss_vectorized", title=REG_TITLE)
def svm_vectorized_reg(ctx: CheckContext) -> Outcome:
    return loss_reg(ctx, "svm_vectorized")


@check("linear.svm_vectorized.agrees", subject="svm_loss_vectorized", title=AGREES,
       depends_on=("linear.svm_naive.value", "linear.svm_naive.gradcheck", "linear.svm_naive.reg",
                   "linear.svm_vectorized.value", "linear.svm_vectorized.gradcheck", "linear.svm_vectorized.reg"),
       needs=("svm_loss_naive", "svm_loss_vectorized"))
def svm_vectorized_agrees(ctx: CheckContext) -> Outcome:
    return agrees_with_naive(ctx, "svm")


@check("linear.svm_vectorized.no_loops", subject="svm_loss_vectorized", title=NO_LOOPS,
       depends_on=("linear.svm_vectorized.value",))
def svm_vectorized_no_loops(ctx: CheckContext) -> Outcome:
    return no_loops(ctx, "svm")


@check("linear.softmax_naive.value", subject="softmax_loss_naive", title=VALUE)
def softmax_naive_value(ctx: CheckContext) -> Outcome:
    return loss_value(ctx, "softmax_naive")


@check("linear.softmax_naive.gradcheck", subject="softmax_loss_naive", title=GRADCHECK)
def softmax_naive_gradcheck(ctx: CheckContext) -> Outcome:
    return loss_gradcheck(ctx, "softmax_naive")


@check("linear.softmax_naive.reg", subject="softmax_loss_naive", title=REG_TITLE)
def softmax_naive_reg(ctx: CheckContext) -> Outcome:
    return loss_reg(ctx, "softmax_naive")


@check("linear.softmax_naive.stability", subject="softmax_loss_naive", title=STABILITY,
       depends_on=("linear.softmax_naive.value",))
def softmax_naive_stability(ctx: CheckContext) -> Outcome:
    return softmax_stability(ctx, "softmax_naive")


@check("linear.softmax_vectorized.value", subject="softmax_loss_vectorized", title=VALUE)
def softmax_vectorized_value(ctx: CheckContext) -> Outcome:
    return loss_value(ctx, "softmax_vectorized")


@check("linear.softmax_vectorized.gradcheck", subject="softmax_loss_vectorized", title=GRADCHECK)
def softmax_vectorized_gradcheck(ctx: CheckContext) -> Outcome:
    return loss_gradcheck(ctx, "softmax_vectorized")


@check("linear.softmax_vectorized.reg", subject="softmax_loss_vectorized", title=REG_TITLE)
def softmax_vectorized_reg(ctx: CheckContext) -> Outcome:
    return loss_reg(ctx, "softmax_vectorized")


@check("linear.softmax_vectorized.agrees", subject="softmax_loss_vectorized", title=AGREES,
       depends_on=("linear.softmax_naive.value", "linear.softmax_naive.gradcheck", "linear.softmax_naive.reg",
                   "linear.softmax_vectorized.value", "linear.softmax_vectorized.gradcheck",
                   "linear.softmax_vectorized.reg"),
       needs=("softmax_loss_naive", "softmax_loss_vectorized"))
def softmax_vectorized_agrees(ctx: CheckContext) -> Outcome:
    return agrees_with_naive(ctx, "softmax")


@check("linear.softmax_vectorized.no_loops", subject="softmax_loss_vectorized", title=NO_LOOPS,
       depends_on=("linear.softmax_vectorized.value",))
def softmax_vectorized_no_loops(ctx: CheckContext) -> Outcome:
    return no_loops(ctx, "softmax")


@check("linear.softmax_vectorized.stability", subject="softmax_loss_vectorized", title=STABILITY,
       depends_on=("linear.softmax_vectorized.value",))
def softmax_vectorized_stability(ctx: CheckContext) -> Outcome:
    return softmax_stability(ctx, "softmax_vectorized")


@check("linear.classifier.train", subject="LinearClassifier",
       title="train: minibatch SGD steps downhill, returns every loss")
def classifier_train(ctx: CheckContext) -> Outcome:
    return train_check(ctx)


@check("linear.classifier.predict", subject="LinearClassifier", title="predict: argmax of X @ W over the classes")
def classifier_predict(ctx: CheckContext) -> Outcome:
    return predict_check(ctx)
