"""Suite `training`: does the user's model train, and do their layers behave across depth?

Each check builds the user's FullyConnectedNet on a small seeded problem (Gaussian
blobs, standardised, D=16, C=5), runs a short computation from sanitykit.engine.training
and turns its result into a verdict. Sizes are chosen so the whole suite runs in
seconds on the reference network.

Blame where it belongs (checks/blame.py): a model that trains badly only because one of the
user's layers (or losses, or optimizers) is wrong is retried with sanitykit's reference
version of the failed functions; if it then trains, the check is skipped and names them.
"""
from __future__ import annotations

import contextlib
import functools
import math
import sys
from typing import Any

import numpy as np

from sanitykit import reference as ref
from sanitykit.checks import models, optim
from sanitykit.checks.blame import BUILDING_BLOCKS, blamed_on, with_blame
from sanitykit.checks.common import measured
from sanitykit.checks.registry import CheckContext, SkipCheck, check
from sanitykit.engine import training as tr
from sanitykit.engine.findings import Reason
from sanitykit.engine.results import ERROR, PASS, WARN, Outcome, failed, passed, warned
from sanitykit.engine.usercode import NotImplementedYet, UserCodeError, call_user

INPUT_DIM, NUM_CLASSES, HIDDEN = 16, 5, (50, 50)
OVERFIT_EXAMPLES, OVERFIT_ITERS = 30, 100
# Per-rule learning rates that overfit 30 examples within 100 full-batch steps on the reference.
USER_RULES = {"sgd_momentum": 1e-1, "rmsprop": 1e-2, "adam": 1e-2}
# The model checks are blamed on the user's failed layers and losses (shown as failures
# naming that cause: training is where a bug shows, issue 5) ...
MODEL_BLAME = with_blame(owner="your FullyConnectedNet", calls="FullyConnectedNet", keep_failing=True)
# ... and the run with the user's own update rules on a failed optimizer as well.
# Only the rules whose run failed are swapped for the reference: a failed rmsprop says nothing of adam.
OPTIM_BLAME = with_blame(suites=(*BUILDING_BLOCKS, "optim"), owner="your FullyConnectedNet or your optimizers",
                         exclude_from=lambda outcome: rules_not_departed(outcome), calls="FullyConnectedNet",
                         keep_failing=True)

# A net whose weights start at zero fails almost every training check; models.fc_net.init
# (and training.fc_net.init_symmetry, which is about exactly that) report it, the rest skip.
ZERO_INIT = lambda compute: models.without_zero_init("fc_net", compute, ahead=False)  # noqa: E731
# Overfitting and activation statistics are where a zero init shows: they keep failing,
# with the zero weights named as the cause.
ZERO_INIT_SHOWN = lambda compute: models.without_zero_init(  # noqa: E731
    "fc_net", compute, ahead=False, keep_failing=True)


# ---------------------------------------------------------------- the problem and the model

def problem(seed: int, num_train: int = 200, num_val: int = 100) -> dict[str, np.ndarray]:
    """Standardised Gaussian blobs (D=16, C=5): separable, so any working model learns them fast.

    Args:
        seed: data seed.
        num_train, num_val: split sizes.
    """
    from sanitykit.reference import synthetic_data

    data = synthetic_data("blobs", num_train=num_train, num_val=num_val, num_classes=NUM_CLASSES,
                          dim=INPUT_DIM, seed=seed, spread=2.0)
    mean, std = data["X_train"].mean(axis=0), data["X_train"].std()
    return {k: (v - mean) / std if k.startswith("X") else v for k, v in data.items()}


def fc_net(ctx: CheckContext, *, weight_scale: float = 5e-2, reg: float = 0.0,
           hidden: tuple[int, ...] = HIDDEN, input_dim: int = INPUT_DIM,
           normalization: str | None = None) -> Any:
    """The user's FullyConnectedNet, float64, built with the check's seed; its loss() guarded."""
    model = tr.build_fc_net(ctx.fn("FullyConnectedNet"), hidden, input_dim, NUM_CLASSES,
                            weight_scale=weight_scale, reg=reg, normalization=normalization,
                            seed=ctx.seed)
    return guarded(model)


def guarded(model: Any, subject: str = "FullyConnectedNet.loss") -> Any:
    """`model` whose loss() goes through call_user and hands back grads shaped like params.

    The reference Solver and update rules call model.loss and apply its grads themselves: a
    layer's wrong-shaped gradient would otherwise raise inside sanitykit (an "internal error")
    or in the reference sgd (blaming it). As a UserCodeError, the blame machinery can rerun
    the check with the reference layers and name the layer at fault.
    """
    loss = model.loss

    def checked(X, y=None, *args, **kwargs):
        result = call_user(loss, X, y, *args, subject=subject, **kwargs)
        if y is not None and isinstance(result, (tuple, list)) and len(result) == 2:
            grads_problem(model.params, result[1], subject)
        return result

    try:
        model.loss = checked
    except AttributeError:  # __slots__ or a property: the model is used as it is
        pass
    return model


def grads_problem(params: dict[str, Any], grads: Any, subject: str) -> None:
    """Raise UserCodeError when grads lacks a parameter or shapes one unlike it."""
    if not isinstance(grads, dict):
        return  # tr.model_loss and the Solver report what they cannot use
    for name, value in params.items():
        if name not in grads:
            raise UserCodeError(f"{subject} returned no grads[{name!r}] for params[{name!r}]", subject=subject,
                                fix=f"store the gradient of every parameter: grads[{name!r}] = d{name}")
        got, want = np.shape(grads[name]), np.shape(value)
        if got != want and tuple(d for d in got if d != 1) == tuple(d for d in want if d != 1):
            # db shaped (1, D) for b (D,): right values, a habit the layer check warns about.
            grads[name] = np.reshape(grads[name], want)
        elif got != want:
            raise UserCodeError(f"{subject} returned grads[{name!r}] of shape {got} for params[{name!r}] of "
                                f"shape {want}", subject=subject,
                                fix=f"the update w -= lr * dw needs dw shaped like w: find the layer whose "
                                    f"backward returns d{name} as {got} (its gradient check says how)")


def training_examples(ctx: CheckContext, count: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The first `count` training examples (X, y) of the check's problem, default all of them."""
    data = problem(ctx.seed)
    return data["X_train"][:count], data["y_train"][:count]


def weight_names(params: dict[str, Any]) -> list[str]:
    return sorted((k for k in params if k.startswith("W")), key=lambda k: (len(k), k))


# ---------------------------------------------------------------- initial loss

@check("training.fc_net.initial_loss", subject="FullyConnectedNet",
       title="softmax loss is about log C at small weights without regularisation")
@ZERO_INIT
@MODEL_BLAME
def initial_loss(ctx: CheckContext) -> Outcome:
    X, y = training_examples(ctx)
    model = fc_net(ctx, weight_scale=1e-3)
    loss, _ = tr.model_loss(model, X, y)
    scores = tr.model_loss(model, X)
    score_std = float(np.std(scores))
    expected = tr.expected_initial_loss(NUM_CLASSES)
    tol = tr.initial_loss_tolerance(len(y), min(score_std, 0.1))
    where = (f"loss {loss:.4f} with reg=0, weight_scale=1e-3, N={len(y)}, C={NUM_CLASSES}; "
             f"expected log C = {expected:.4f} +/- {tol:.4f} "
             f"(4 standard errors of the mean over N examples at score std {score_std:.2g})")
    if math.isfinite(loss) and abs(loss - expected) <= tol:
        return passed(where, loss=loss, expected=expected, tolerance=tol, score_std=score_std)
    pattern, fix = _initial_loss_mistake(loss, len(y), score_std)
    return failed(measured(pattern, where, fix, where=("loss",)), loss=loss, expected=expected,
                  tolerance=tol, score_std=score_std)


def _initial_loss_mistake(loss: float, num_examples: int, score_std: float) -> tuple[str, str]:
    """(pattern, fix): the usual cause of an initial loss away from log C, judged from its value."""
    log_c = math.log(NUM_CLASSES)
    if not math.isfinite(loss):
        return "nan", "the loss is not finite: use the stable softmax (subtract the row max before exp)"
    if abs(loss - num_examples * log_c) <= 0.05 * num_examples * log_c:
        return "batch_size", (f"the loss is about N * log C: it is summed over the {num_examples} examples; "
                              "divide by N (loss = -np.sum(log_probs[range(N), y]) / N) and scale dscores by 1/N")
    if abs(loss - (NUM_CLASSES - 1)) <= 0.05:
        return "wrong_loss", "the loss is about C - 1, the SVM's value: FullyConnectedNet should use softmax_loss"
    if score_std > 0.1:
        return "init_scale", (f"initial scores have std {score_std:.2g}: weights are too large; draw them as "
                              "weight_scale * np.random.randn(fan_in, fan_out) with the weight_scale argument")
    if loss > log_c:
        return "initial_loss", ("the loss is above log C at near-zero scores: check that regularisation is "
                                "not added at reg=0")
    return "initial_loss", ("the loss is below log C at near-zero scores: check the softmax normalisation "
                            "and the labels used")


@check("training.fc_net.reg_rises", subject="FullyConnectedNet",
       title="the loss rises with regularisation by 0.5 * reg * sum(W**2)")
@ZERO_INIT
@MODEL_BLAME
def reg_rises(ctx: CheckContext) -> Outcome:
    X, y = training_examples(ctx, 50)
    reg = 1.0
    plain = fc_net(ctx)
    regularised = fc_net(ctx, reg=reg)
    for key, value in plain.params.items():  # the same weights, whether or not the seed is honoured
        regularised.params[key] = np.array(value, copy=True)
    loss0, _ = tr.model_loss(plain, X, y)
    loss1, _ = tr.model_loss(regularised, X, y)
    squares = sum(float(np.sum(regularised.params[w] ** 2)) for w in weight_names(regularised.params))
    rise = loss1 - loss0
    where = f"loss {loss0:.4f} at reg=0, {loss1:.4f} at reg={reg}: rise {rise:.4g}; sum(W**2) = {squares:.4g}"
    details = dict(loss_reg0=loss0, loss_reg1=loss1, rise=rise, sum_w2=squares)
    if not rise > 0:
        return failed(measured("reg_missing", where, "the loss must include the L2 penalty: loss += 0.5 * "
                               "self.reg * sum(np.sum(W * W) for each weight W), and grads[W] += self.reg * W",
                               where=("loss",)), **details)
    if math.isclose(rise, 0.5 * reg * squares, rel_tol=1e-3):
        return passed(where + " (0.5 * reg * sum(W**2), the course convention)", **details)
    if math.isclose(rise, reg * squares, rel_tol=1e-3):
        # The gradient's factor says whether reg * sum(W**2) is a convention (gradient 2 * reg * W) or a 1/2 lost.
        gradient = models.reg_gradient_factor(plain, regularised, X, y, "FullyConnectedNet", reg)
        problem = models.lacks_half("FullyConnectedNet", rise, reg, 1.0, gradient, details)
        if problem:
            return problem
        if gradient == 2.0:
            return passed(where + " (reg * sum(W**2), and the gradient adds 2 * reg * W)", gradient_factor=gradient,
                          **details)
        return passed(where + " (reg * sum(W**2): fine if the gradient uses 2 * reg * W)", gradient_factor=gradient,
                      **details)
    return warned(measured("reg_convention", where + "; the rise is neither 0.5 * reg * sum(W**2) nor "
                           "reg * sum(W**2)", "penalise every weight matrix W1..WL (not the biases) exactly once",
                           where=("loss",)), **details)


# ---------------------------------------------------------------- initialisation

@check("training.fc_net.init_symmetry", subject="FullyConnectedNet",
       title="weights random, biases zero, hidden units differ after one step")
@MODEL_BLAME
def init_symmetry(ctx: CheckContext) -> Outcome:
    X, y = training_examples(ctx, 50)
    model = fc_net(ctx)
    params = model.params
    problems, patterns = [], []
    zero = [w for w in weight_names(params) if not np.any(params[w])]
    if zero:
        problems.append(f"{', '.join(zero)} all zero at initialisation")
        patterns.append("zero_init")
    nonzero_b = [b for b in params if b.startswith("b") and np.any(params[b])]
    if nonzero_b:
        problems.append(f"{', '.join(nonzero_b)} not zero at initialisation")
        patterns.append("bias_init")
    tr.train_run(model, X, y, update_rule=tr_ref("sgd"), learning_rate=1e-1, num_iters=1)
    W1 = model.params.get("W1")
    if W1 is not None and W1.ndim == 2 and W1.shape[1] > 1:
        spread = float(np.max(np.abs(W1 - W1[:, :1])))
        if spread == 0:
            problems.append("every column of W1 is the same after one SGD step: the hidden units "
                            "are identical (symmetry not broken)")
            patterns.append("symmetry")
    if not problems:
        return passed("weights random, biases zero, W1's hidden units differ after one step")
    return failed(measured(patterns[0], "; ".join(problems),
                           "initialise weights as weight_scale * np.random.randn(fan_in, fan_out) and biases "
                           "as np.zeros(fan_out): equal weights make every hidden unit learn the same thing",
                           where=tuple(zero + nonzero_b) or ("W1",)), problems=problems)


REFERENCE_RULES = {"sgd": ref.sgd, "sgd_momentum": ref.sgd_momentum, "rmsprop": ref.rmsprop, "adam": ref.adam}


def tr_ref(name: str) -> Any:
    """A reference update rule, by name."""
    return REFERENCE_RULES[name]


# ---------------------------------------------------------------- overfitting a tiny subset

@check("training.fc_net.overfit", subject="FullyConnectedNet",
       title="overfits 30 examples (reference Solver and Adam)")
@ZERO_INIT_SHOWN
@MODEL_BLAME
def overfit(ctx: CheckContext) -> Outcome:
    X, y = training_examples(ctx, OVERFIT_EXAMPLES)
    model = fc_net(ctx)
    Solver = ref.Solver
    # Validation = the training subset, so the Solver's best-val parameters are its best-train ones.
    small = {"X_train": X, "y_train": y, "X_val": X, "y_val": y}
    solver = Solver(model, small, update_rule="adam", optim_config={"learning_rate": 1e-2},
                    num_epochs=OVERFIT_ITERS, batch_size=OVERFIT_EXAMPLES, verbose=False, seed=ctx.seed)
    with np.errstate(all="ignore"):
        solver.train()
    acc = tr.accuracy(model, X, y)
    losses = [float(v) for v in solver.loss_history]
    curve = tr.sparkline(losses)
    where = (f"training accuracy {acc:.0%} on {len(y)} examples after {len(losses)} Adam steps "
             f"(lr 1e-2, reg 0); loss {losses[0]:.3g} -> {losses[-1]:.3g}  {curve}")
    details = dict(train_acc=acc, losses=losses[:: max(1, len(losses) // 50)])
    if acc >= 0.99:
        return passed(where, **details)
    return failed(measured("no_overfit", where, "a correct network memorises 30 examples easily: check the "
                           "forward pass and each layer's backward (run the layers and models suites), and "
                           "that weights are random, not zero or constant", where=("FullyConnectedNet",)),
                  **details)


@check("training.fc_net.overfit_user_optim", subject="FullyConnectedNet",
       title="your optimizers (and Solver) train the model like the reference ones",
       depends_on=("training.fc_net.overfit",), needs=("FullyConnectedNet",))
@ZERO_INIT
@OPTIM_BLAME
def overfit_user_optim(ctx: CheckContext) -> Outcome:
    X, y = training_examples(ctx, OVERFIT_EXAMPLES)
    rules = {name: ctx.target.get(name) for name in USER_RULES if ctx.has(name)}
    if not rules and not ctx.has("Solver"):
        raise SkipCheck("no sgd_momentum, rmsprop, adam or Solver in the target")
    lines, problems, notes, details = [], [], [], {}
    departed = []  # the rules (and the Solver's rule) that a failure is about, for the blame retry
    pattern = "optimizer_departs"
    for name, rule in rules.items():
        line, problem, info = _compare_rule(ctx, name, rule, X, y)
        lines.append(line)
        details[name] = info
        if problem and info.get("converged"):
            notes.append(problem)
        elif problem:
            problems.append(problem)
            departed.append(name)
    solver_crash = None
    if ctx.has("Solver"):
        try:
            line, problem, solver_rule = _user_solver_run(ctx, X, y, rules)
        except UserCodeError as exc:
            if not raised_in_solver(ctx, exc):
                raise
            # The Solver's own bug: the training.solver checks report it (one bug, one error).
            solver_crash = f"{exc.reason} (see {SOLVER_CRASH_CHECK})"
            line, problem, solver_rule = f"your Solver: {solver_crash}", None, None
        lines.append(line)
        if problem:
            problems.append(problem)
            departed.append(solver_rule)
            if problem == LABELS_APART:
                pattern = "minibatch_labels"
    message = "\n".join(lines)
    details["departed"] = list(dict.fromkeys(departed))
    if solver_crash and not problems:
        return blamed_on(SOLVER_RAISES, with_yours=message, **details)
    if problems:
        return failed(measured(pattern, message, "; ".join(problems), where=tuple(departed)), **details)
    if notes:
        return warned(measured("optimizer_departs", message, "; ".join(notes), where=tuple(rules)), **details)
    return passed(message, **details)


SOLVER_CRASH_CHECK = "training.solver.lr_decay"
SOLVER_RAISES = Reason("blamed", ("Solver",), (SOLVER_CRASH_CHECK,), note="Solver.train raises")


def raised_in_solver(ctx: CheckContext, exc: UserCodeError) -> bool:
    """Whether the error comes from the user's Solver itself (its file), not from the model or a rule it calls."""
    module = sys.modules.get(getattr(ctx.fn("Solver"), "__module__", ""), None)
    path = getattr(module, "__file__", None) or ""
    solver_file = path.replace("\\", "/").rsplit("/", 1)[-1]
    return bool(solver_file) and exc.where.startswith(f"{solver_file}:")


def rules_not_departed(outcome: Outcome) -> list[str]:
    """The user's update rules whose run is not what failed: the blame retry leaves them alone."""
    departed = outcome.details.get("departed")
    if departed is None:
        return []
    return [name for name in ("sgd", *USER_RULES) if name not in departed]


def _compare_rule(ctx: CheckContext, name: str, rule: Any, X: np.ndarray,
                  y: np.ndarray) -> tuple[str, str | None, dict]:
    """Train with the user's rule and the reference rule from the same start; compare.

    Returns (line, problem, info); info["converged"] marks a problem that is only a note: the
    rule trains to the end and its own one-step checks pass, but its curve departs.
    """
    lr = USER_RULES[name]
    user = fc_net(ctx)
    run = tr.train_run(user, X, y, update_rule=rule, learning_rate=lr, num_iters=OVERFIT_ITERS,
                       rule_name=name)
    reference = tr.train_run(fc_net(ctx), X, y, update_rule=reference_rule(ctx, name, rule),
                             learning_rate=lr, num_iters=OVERFIT_ITERS)
    acc = tr.accuracy(user, X, y) if run.verdict != tr.DIVERGED else 0.0
    departs = tr.curve_departure(run.losses, reference.losses)
    line = (f"{name} (lr {lr:g}): {run.verdict}, training accuracy {acc:.0%}, "
            f"loss {run.initial_loss:.3g} -> {run.losses[-1]:.3g}  {tr.sparkline(run.losses)}")
    info = dict(train_acc=acc, verdict=run.verdict, departs_at=departs)
    if departs is None and acc < 0.99:
        # Same curve as the reference rule: the optimizer is right, the model trains slowly with it.
        line += (f"\n  your {name} follows the reference {name} step for step on your model, so "
                 f"{name} is right; the slow training at lr {lr:g} is the model's (check its gradients "
                 "with the models suite) or the learning rate's, not the optimizer's")
        info["follows_reference"] = True
        return line, None, info
    if departs is not None:
        at = departs
        theirs = run.losses[at] if at < len(run.losses) else float("nan")
        line += (f"\n  reference {name} from the same start: loss {reference.losses[at]:.4g} at step {at}"
                 f" where yours is {theirs:.4g}  {tr.sparkline(reference.losses)}")
        if converges(run, reference, acc) and rule_steps_match(ctx, name):
            # A working variant (epsilon placed elsewhere, ...): it trains; the curve is not the course's.
            info["converged"] = True
            return line, (f"{name} trains, but its loss curve departs from the reference at step {at}; "
                          f"compare your formula with the course's, e.g. where epsilon sits"), info
        return line, _rule_hint(name, run), info
    return line, None, info


def converges(run: tr.TrainRun, reference: tr.TrainRun, acc: float) -> bool:
    """The user's run memorises the subset and ends no far above the reference's final loss."""
    return (run.verdict != tr.DIVERGED and acc >= 0.99
            and run.final_loss <= 10 * reference.final_loss + 1e-3 * reference.initial_loss)


def rule_steps_match(ctx: CheckContext, name: str) -> bool:
    """The rule's own step and state checks (conventions of other years allowed) pass or warn.

    A rule that skips Adam's bias correction also memorises 30 examples: training alone cannot
    tell a variant from a bug, the one-step comparison can.
    """
    return all(compare(ctx, name).status in (PASS, WARN) for compare in (optim.optim_step, optim.optim_state))


def reference_rule(ctx: CheckContext, name: str, rule: Any) -> Any:
    """The reference rule under the user's convention for Adam's first t (2017 starts it at 1)."""
    if name != "adam":
        return tr_ref(name)
    w, dw = optim.fixed_inputs()
    with contextlib.suppress(Exception):  # a rule that cannot take this probe is judged by its curve
        _, user_config = call_user(rule, w.copy(), dw.copy(), dict(optim.HYPER[name]), subject=name)
        _, ref_config = tr_ref(name)(w, dw, dict(optim.HYPER[name]))
        if isinstance(user_config, dict) and optim.first_t_of(name, user_config, ref_config) == 1:
            return optim.convention_step(name, first_t=1)
    return tr_ref(name)


def _rule_hint(name: str, run: tr.TrainRun) -> str:
    """What usually breaks each update rule."""
    if run.verdict == tr.DIVERGED or run.losses[-1] > run.initial_loss:
        sign = {"sgd_momentum": "v = momentum * v - learning_rate * dw; next_w = w + v",
                "rmsprop": "next_w = w - learning_rate * dw / (np.sqrt(cache) + epsilon)",
                "adam": "next_w = w - learning_rate * mt / (np.sqrt(vt) + epsilon)"}[name]
        return f"{name} makes the loss grow: the step likely has the wrong sign ({sign})"
    return {"sgd_momentum": "sgd_momentum departs from the reference: keep the velocity in "
                            "config['velocity'] across calls and update it before the weights",
            "rmsprop": "rmsprop departs from the reference: cache = decay_rate * cache + "
                       "(1 - decay_rate) * dw**2, stored back in config['cache']",
            "adam": "adam departs from the reference: increment t first, then use the bias-"
                    "corrected mt = m / (1 - beta1**t) and vt = v / (1 - beta2**t)"}[name]


def _user_solver_run(ctx: CheckContext, X: np.ndarray, y: np.ndarray,
                     rules: dict[str, Any]) -> tuple[str, str | None, str]:
    """Train with the user's Solver (its own optim module), as the course notebook does: (line, problem, rule)."""
    Solver = ctx.fn("Solver")
    rule = "adam" if "adam" in rules or not rules else next(iter(rules))
    model = fc_net(ctx)
    batches = record_batches(model)
    small = {"X_train": X, "y_train": y, "X_val": X, "y_val": y}
    kwargs = dict(update_rule=rule, optim_config={"learning_rate": USER_RULES.get(rule, 1e-2)},
                  num_epochs=OVERFIT_ITERS, batch_size=OVERFIT_EXAMPLES, verbose=False,
                  print_every=10 ** 9)
    # The course Solver samples minibatches from the global np.random: borrow it, seeded.
    with tr.global_numpy_seed(ctx.seed), np.errstate(all="ignore"):
        try:  # a seed makes a seedable Solver repeatable; the course's rejects unknown options
            solver = call_user(Solver, model, small, subject="Solver", seed=ctx.seed, **kwargs)
        except UserCodeError:
            solver = call_user(Solver, model, small, subject="Solver", **kwargs)
        call_user(solver.train, subject="Solver.train")
        acc = tr.accuracy(model, X, y)
    losses = [float(v) for v in getattr(solver, "loss_history", [])]
    line = f"your Solver with {rule}: training accuracy {acc:.0%}  {tr.sparkline(losses)}"
    if acc >= 0.99:
        return line, None, rule
    if labels_apart(batches, X, y):
        return line, LABELS_APART, rule
    return line, ("your Solver does not overfit with a working model: check _step (each parameter "
                  "updated with its own config, stored back) and that train() runs every iteration"), rule


LABELS_APART = ("your Solver passes model.loss labels that are not those of its examples: draw one "
                "batch_mask and index both, X_batch = X_train[batch_mask]; y_batch = y_train[batch_mask]")


def record_batches(model: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """Wrap model.loss so every (X, y) it is trained on is kept (the instance's own attribute)."""
    batches: list[tuple[np.ndarray, np.ndarray]] = []
    loss = model.loss

    def recording_loss(X_batch, y_batch=None, *args, **kwargs):
        if y_batch is not None:
            batches.append((np.array(X_batch, copy=True), np.array(y_batch, copy=True)))
        return loss(X_batch, y_batch, *args, **kwargs)

    model.loss = recording_loss
    return batches


def labels_apart(batches: list[tuple[np.ndarray, np.ndarray]], X: np.ndarray, y: np.ndarray) -> bool:
    """Whether some example reached loss() with a label other than its own (X and y sampled apart)."""
    rows = {X[i].tobytes(): int(y[i]) for i in range(len(X))}
    for X_batch, y_batch in batches:
        if X_batch.ndim != X.ndim or len(X_batch) != len(y_batch):
            continue
        for x_row, label in zip(X_batch, y_batch):
            own = rows.get(np.asarray(x_row, dtype=X.dtype).tobytes())
            if own is not None and own != int(label):
                return True
    return False


# ---------------------------------------------------------------- learning rates and update sizes

BRACKET_EXAMPLES, BRACKET_ITERS = 100, 25


def bracket_for(ctx: CheckContext, rule: Any, *, X: np.ndarray, y: np.ndarray,
                rule_name: str = "sgd", weight_scale: float = 5e-2) -> tr.LrBracket:
    """Bracket the learning rate of `rule` on the user's model (fresh model per rate)."""
    def run_at(lr: float) -> tr.TrainRun:
        return tr.train_run(fc_net(ctx, weight_scale=weight_scale), X, y, update_rule=rule,
                            learning_rate=lr, num_iters=BRACKET_ITERS, rule_name=rule_name)

    return tr.bracket_learning_rate(run_at)


@check("training.fc_net.lr_bracket", subject="FullyConnectedNet",
       title="some learning rate from 1e-7 to 1e1 makes progress; the bracket is reported")
@ZERO_INIT
@MODEL_BLAME
def lr_bracket(ctx: CheckContext) -> Outcome:
    X, y = training_examples(ctx, BRACKET_EXAMPLES)
    bracket = bracket_for(ctx, tr_ref("sgd"), X=X, y=y)
    table = ", ".join(f"{r.learning_rate:.1e} {r.verdict}" for r in bracket.runs)
    details = dict(runs=[{"learning_rate": r.learning_rate, "verdict": r.verdict,
                          "final_loss": r.final_loss} for r in bracket.runs],
                   lower=bracket.lower, upper=bracket.upper, recommended=bracket.recommended)
    setting = f"SGD, {BRACKET_ITERS} full-batch steps on {len(y)} examples"
    if bracket.upper is None:
        everything_diverged = all(r.verdict == tr.DIVERGED for r in bracket.runs)
        reason = ("every rate diverged, even 1e-7" if everything_diverged else
                  "no rate from 1e-7 to 1e1 lowered the loss by 5%")
        return failed(measured("no_descent", f"{reason} ({setting}): {table}",
                               "the gradients do not point downhill: run the layers and models gradient "
                               "checks; check that loss() returns grads for every parameter",
                               where=("FullyConnectedNet",)), **details)
    low, high = bracket.recommended
    message = (f"learning rate bracket [{bracket.lower:.2g}, {bracket.upper:.2g}] ({setting}); "
               f"start between {low:.2g} and {high:.2g}\n{table}")
    return passed(message, **details)


@check("training.fc_net.update_ratio", subject="FullyConnectedNet",
       title="every weight moves by a sensible fraction of itself per SGD step")
@ZERO_INIT
@MODEL_BLAME
def update_ratio(ctx: CheckContext) -> Outcome:
    X, y = training_examples(ctx, 100)
    lr = 1e-1
    run = tr.train_run(fc_net(ctx), X, y, update_rule=tr_ref("sgd"), learning_rate=lr, num_iters=10)
    ratios = {w: run.update_ratios.get(w, 0.0) for w in weight_names(run.update_ratios) or ["W1"]}
    text = ", ".join(f"{w} {r:.1e}" for w, r in ratios.items())
    where = f"||lr * dW|| / ||W|| per step at SGD lr {lr:g} (healthy around 1e-3): {text}"
    finite = [r for r in ratios.values() if math.isfinite(r) and r > 0]
    still = [w for w, r in ratios.items() if r == 0]
    if still:
        return failed(measured("zeros", where + f"; {', '.join(still)} never moves",
                               f"loss() returns a zero gradient for {', '.join(still)}: compute it from the "
                               "layer's backward (dw = x.T @ dout) and store it in grads", where=tuple(still)),
                      ratios=ratios)
    if len(finite) < len(ratios):
        return failed(measured("nan", where, "an update is NaN or inf: check the gradients for overflow"),
                      ratios=ratios)
    median = float(np.median(finite))
    odd = {w: r for w, r in ratios.items() if not median / 100 <= r <= median * 100}
    if odd:
        return failed(measured("update_scale", where + f"; {', '.join(odd)} moves 100x more or less than the "
                               "others", "that layer's gradient is off by a large factor: a missing or extra "
                               "term (a 1/N, the upstream dout, the regularisation) in its backward",
                               where=tuple(odd)), ratios=ratios)
    if not 1e-5 <= median <= 1e-1:
        return warned(measured("update_scale", where + f"; median {median:.1e} is far from 1e-3",
                               "at this rate the weights barely move or jump: scale the learning rate "
                               "until ||lr * dW|| / ||W|| is near 1e-3"), ratios=ratios)
    return passed(where, ratios=ratios)


@check("training.fc_net.input_baseline", subject="FullyConnectedNet",
       title="training on zeroed inputs ends clearly worse than on the real inputs")
@ZERO_INIT
@MODEL_BLAME
def input_baseline(ctx: CheckContext) -> Outcome:
    X, y = training_examples(ctx, 100)
    settings = dict(update_rule=tr_ref("adam"), learning_rate=1e-2, num_iters=60)
    real = tr.train_run(fc_net(ctx), X, y, **settings)
    zeroed = tr.train_run(fc_net(ctx), np.zeros_like(X), y, **settings)
    where = (f"final loss {real.final_loss:.3g} with the real inputs, {zeroed.final_loss:.3g} with "
             f"inputs zeroed (60 Adam steps on {len(y)} examples; zeroed inputs can reach no less "
             f"than the label entropy, about log {NUM_CLASSES} = {math.log(NUM_CLASSES):.2f})")
    details = dict(real_loss=real.final_loss, zeroed_loss=zeroed.final_loss)
    if real.final_loss <= 0.5 * zeroed.final_loss:
        return passed(where, **details)
    return failed(measured("ignores_input", where, "the model does no better with its input than without: "
                           "the input does not reach the scores; pass X (not a copy of zeros or a stale "
                           "variable) into the first layer and each layer's output into the next",
                           where=("X",)), **details)


# ---------------------------------------------------------------- activation statistics

STACK_LAYERS, STACK_UNITS, STACK_BATCH = 10, 500, 200


def depth_profiles(affine_forward: Any, relu_forward: Any, tanh_forward: Any, seed: int,
                   *, num_layers: int = STACK_LAYERS, hidden_dim: int = STACK_UNITS,
                   batch: int = STACK_BATCH, initialisers: dict[str, Any] | None = None) -> list[tr.DepthProfile]:
    """Every (nonlinearity, init) deep stack, tanh first; `initialisers` (scheme -> the user's) draw the weights."""
    initialisers = initialisers or {}
    return [tr.deep_stack_profile(affine_forward, forward, name, init, num_layers=num_layers,
                                  hidden_dim=hidden_dim, batch=batch, seed=seed,
                                  initialiser=initialisers.get(init))
            for name, forward in (("tanh", tanh_forward), ("relu", relu_forward))
            for init in tr.INIT_SCALES]


def profile_line(profile: tr.DepthProfile) -> str:
    first, last = profile.stats[0], profile.stats[-1]
    extra = (f", saturated {last.saturated_fraction:.0%}" if profile.nonlinearity == "tanh"
             else f", dead {last.dead_fraction:.0%}")
    return (f"{profile.nonlinearity:4} {profile.init:6}: std {first.std:.3g} -> {last.std:.3g} "
            f"over {len(profile.stats)} layers ({profile.regime}{extra})")


# ---------------------------------------------------------------- initialisers

INIT_NAMES = ("fan_in", *tr.INIT_FUNCTIONS.values())
INIT_CHECK = "training.init.schemes"


@check("training.init.schemes", subject="he_init",
       title="small, Xavier and He initialisers draw std 0.01, 1/sqrt(fan_in), sqrt(2/fan_in); "
             "a conv's fan-in is C*HH*WW", needs=())
def init_schemes(ctx: CheckContext) -> Outcome:
    present = [name for name in INIT_NAMES if callable(ctx.target.get(name))]
    if not present:
        raise SkipCheck("no initialiser (fan_in, small_init, xavier_init, he_init) in the target")
    problem = fan_in_problem(ctx) if "fan_in" in present else None
    if problem:
        return problem
    lines, details = [], {}
    for scheme, name in tr.INIT_FUNCTIONS.items():
        if name not in present:
            continue
        for i, shape in enumerate(tr.INIT_SHAPES):
            m = tr.measure_init(ctx.fn(name), scheme, shape, ctx.seed + i)
            details[f"{name}{shape}"] = {"std": m.std, "expected": m.expected, "bound": m.bound}
            where = (f"{name}{shape}: std {m.std:.4g}, expected {tr.INIT_FORMULAS[scheme]} = {m.expected:.4g} "
                     f"(fan_in {tr.fan_in_of(shape)}) within {m.bound:.0%} (5 standard errors of a sample std)")
            if not m.ok:
                why = tr.init_explanation(m)
                return failed(measured("init_scale", where + (f": {why}" if why else ""),
                                       init_hint(scheme, m, why), where=(name,)), **details)
            lines.append(where)
    return passed("\n".join(lines) or "fan_in is D for (D, H) and C*HH*WW for (F, C, HH, WW)", **details)


def fan_in_problem(ctx: CheckContext) -> Outcome | None:
    """A failed Outcome when the user's fan_in is not D for (D, H) or C*HH*WW for (F, C, HH, WW)."""
    fan_in = ctx.fn("fan_in")
    for shape in tr.INIT_SHAPES:
        got = call_user(fan_in, shape, subject="fan_in")
        expected = tr.fan_in_of(shape)
        if got is None:
            raise NotImplementedYet("fan_in", "returned None")
        if np.ndim(got) != 0 or int(got) != expected:
            reading = next((words for words, value in tr.fan_in_readings(shape).items()
                            if np.ndim(got) == 0 and int(got) == value), "")
            what = "an affine weight (D, H)" if len(shape) == 2 else "a conv filter bank (F, C, HH, WW)"
            return failed(measured("fan_in", f"fan_in({shape}) = {got}, expected {expected} for {what}"
                                   + (f": that is {reading}" if reading else ""),
                                   "fan_in counts the inputs feeding one output unit: D for an affine weight "
                                   "(D, H); C * HH * WW for conv filters (F, C, HH, WW), since each output sees "
                                   "a C x HH x WW window (F is the number of filters, the fan-out): "
                                   "int(np.prod(shape[1:]))", where=("fan_in",)),
                          fan_in=to_number(got), expected=expected)
    return None


def to_number(value: Any) -> Any:
    return float(value) if np.ndim(value) == 0 else str(value)


def init_hint(scheme: str, measure: tr.InitMeasure, why: str) -> str:
    """What to change in the `scheme` initialiser, told from which wrong std it drew."""
    if scheme == "he" and "xavier" in why:
        return ("this is Xavier, not He: ReLU zeroes half of its inputs and halves the variance, so He "
                "initialisation doubles it back with a factor 2: randn(*shape) * np.sqrt(2 / fan_in)")
    if "fan_in =" in why:
        return ("the std uses the wrong fan-in: fan_in is D for (D, H) and C * HH * WW for conv filters "
                f"(F, C, HH, WW); {scheme}_init draws {tr.INIT_FORMULAS[scheme]}")
    return f"{scheme}_init draws {tr.INIT_FORMULAS[scheme]} (fan_in: D for (D, H), C * HH * WW for (F, C, HH, WW))"


def user_initialisers(ctx: CheckContext) -> dict[str, Any]:
    """The user's small/xavier/he initialisers by scheme, unless training.init.schemes failed
    (that bug is reported there; the depth picture then uses sanitykit's scales)."""
    result = ctx.results.get(INIT_CHECK)
    if result is not None and result.status in ("fail", "error"):
        return {}
    return {scheme: ctx.target.get(name) for scheme, name in tr.INIT_FUNCTIONS.items()
            if callable(ctx.target.get(name))}


@check("training.activations.depth", subject="relu_forward",
       title="a deep stack of your layers shows the known picture for each init",
       needs=("affine_forward", "relu_forward"), reads=(INIT_CHECK,))
@with_blame(subjects=("affine_forward", "relu_forward", "tanh_forward"), owner="your layers")
def activations_depth(ctx: CheckContext) -> Outcome:
    tanh = ctx.target.get("tanh_forward") or ref.tanh_forward
    inits = user_initialisers(ctx)
    profiles = depth_profiles(ctx.fn("affine_forward"), ctx.fn("relu_forward"), tanh, ctx.seed,
                              initialisers=inits)
    lines = [profile_line(p) for p in profiles]
    wrong = [p for p in profiles if p.expected and p.regime != p.expected]
    details = {f"{p.nonlinearity}/{p.init}": {"regime": p.regime, "std": [s.std for s in p.stats]}
               for p in profiles}
    size = f"{STACK_LAYERS} layers of {STACK_UNITS} units, {STACK_BATCH} unit-Gaussian examples"
    if not ctx.has("tanh_forward"):
        size += "; reference tanh_forward (none in the target)"
    if inits:
        size += f"; weights drawn by your {', '.join(tr.INIT_FUNCTIONS[s] for s in inits)}"
    if not wrong:
        return passed(f"{size}\n" + "\n".join(lines), **details)
    mismatch = "; ".join(f"{p.nonlinearity}/{p.init} {p.regime}, expected {p.expected}" for p in wrong)
    hint = ("your affine_forward or relu_forward changes the scale of the signal: affine must "
            "be x.reshape(N, -1) @ w + b and relu np.maximum(0, x), nothing more")
    if any(p.init in inits for p in wrong):
        hint += ("; or your initialiser draws the wrong std: small 0.01 * randn, Xavier randn / sqrt(fan_in), "
                 "He randn * sqrt(2 / fan_in)")
    return failed(measured("depth_regime", f"{mismatch}\n{size}\n" + "\n".join(lines), hint,
                           where=("affine_forward", "relu_forward")), **details)


@check("training.activations.fc_net", subject="FullyConnectedNet",
       title="activations keep their scale through your FullyConnectedNet (and batchnorm)")
@ZERO_INIT_SHOWN
@MODEL_BLAME
def activations_fc_net(ctx: CheckContext) -> Outcome:
    width, depth = 100, 5
    X = ctx.rng.standard_normal((200, width))
    y = ctx.rng.integers(0, NUM_CLASSES, 200)
    lines, problems, details = [], [], {}
    # He scale for equal widths: a correct ReLU net keeps its activation std across depth.
    settings = [(None, math.sqrt(2 / width))]
    if accepts_batchnorm(ctx.fn("FullyConnectedNet")):
        settings.append(("batchnorm", 1e-2))  # tiny weights: only batchnorm can hold the scale
    for normalization, scale in settings:
        model = fc_net(ctx, weight_scale=scale, hidden=(width,) * depth, input_dim=width,
                       normalization=normalization)
        activations, normalized = record_forward(ctx, model, X, y)
        label = f"{normalization or 'no normalisation'}, weight_scale {scale:.2g}"
        if not activations:
            raise SkipCheck("could not see the hidden layers: FullyConnectedNet calls no "
                            "conventional layer function (affine_relu_forward, relu_forward, ...) by name")
        stats = [tr.layer_stats(i + 1, a) for i, a in enumerate(activations)]
        regime = tr.depth_regime(stats)
        stds = " ".join(f"{s.std:.2g}" for s in stats)
        lines.append(f"{label}: per-layer std {stds} ({regime})")
        details[label] = {"regime": regime, "std": [s.std for s in stats],
                          "dead": [s.dead_fraction for s in stats]}
        if regime != tr.HOLDS:
            problems.append(f"with {label} the activation std {regime} across the hidden layers")
        norm_std = [float(np.std(n)) for n in normalized]
        if normalization and norm_std:
            lines.append(f"  batchnorm outputs std {' '.join(f'{s:.2g}' for s in norm_std)}")
            if not all(0.8 <= s <= 1.2 for s in norm_std):
                problems.append("batchnorm outputs do not have std near 1 in train mode")
    message = "\n".join(lines)
    if problems:
        return failed(measured("depth_regime", "; ".join(problems) + "\n" + message,
                               "a layer loses or blows up the signal: weights must be weight_scale * randn "
                               "(not zeros), each hidden layer affine -> [batchnorm] -> relu, and batchnorm "
                               "must normalise with the batch statistics in train mode",
                               where=("FullyConnectedNet",)), **details)
    return passed(message, **details)


def accepts_batchnorm(cls: Any) -> bool:
    return bool(tr.accepted_kwargs(cls, {"normalization": "batchnorm", "use_batchnorm": True}))


LAYER_NAMES = tr.ACTIVATION_CALLS + tr.NORM_CALLS + ("affine_forward",)


def record_forward(ctx: CheckContext, model: Any, X: np.ndarray,
                   y: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Run model.loss(X, y) (train mode) with its layer calls recorded; (activations, norm outputs).

    The wrappers are bound through the target (every user module that uses the names); a
    target that cannot rebind them (plain objects) falls back to the model's own module.
    """
    recorder = tr.LayerRecorder()
    functions = {name: ctx.target.get(name) for name in LAYER_NAMES if callable(ctx.target.get(name))}
    with ctx.target.swapped(recorder.wrappers(functions)):
        tr.model_loss(model, X, y)
    if not recorder.activations():
        recorder = tr.LayerRecorder()
        with contextlib.ExitStack() as stack:
            for namespace in _class_namespaces(type(model)):
                own = {name: namespace[name] for name in LAYER_NAMES if callable(namespace.get(name))}
                stack.enter_context(tr.patched_globals(namespace, recorder.wrappers(own)))
            tr.model_loss(model, X, y)
    return recorder.activations(), recorder.normalized()


def _class_namespaces(cls: type) -> list[dict]:
    """The globals of every module defining cls or one of its bases (a subclass calls its base's layers)."""
    names = dict.fromkeys(c.__module__ for c in cls.__mro__ if c.__module__ != "builtins")
    return [vars(sys.modules[name]) for name in names if name in sys.modules]


# ---------------------------------------------------------------- preprocessing

MEAN_HELPERS = ("subtract_mean_image", "subtract_channel_mean")


@check("training.preprocessing.train_only", subject="subtract_mean_image",
       title="the mean is fitted on the training data only", needs=())
def preprocessing_train_only(ctx: CheckContext) -> Outcome:
    helpers = {name: ctx.target.get(name) for name in MEAN_HELPERS if ctx.has(name)}
    if not helpers:
        raise SkipCheck("no mean-subtraction helper (subtract_mean_image, subtract_channel_mean)")
    # Splits with clearly different means, so each way of fitting gives different numbers.
    X_train = 1.0 + ctx.rng.standard_normal((40, 3, 4, 4))
    X_val = -2.0 + ctx.rng.standard_normal((20, 3, 4, 4))
    lines, problems, per_pixel = [], [], []
    for name, helper in helpers.items():
        result = call_user(helper, X_train.copy(), X_val.copy(), subject=name)
        if result is None:
            raise NotImplementedYet(name, "returned None")
        if not isinstance(result, (tuple, list)) or len(result) < 2:
            raise UserCodeError(f"{name} returned {type(result).__name__}, expected (X_train, X_val)",
                                subject=name)
        out_val = np.asarray(result[1], dtype=np.float64)
        if name == "subtract_channel_mean" and out_val.shape == X_val.shape and \
                np.allclose(out_val, X_val - X_train.mean(axis=0, keepdims=True)):
            lines.append(f"{name}: a mean image fitted on train (one mean per channel and pixel, the mean over "
                         "axis 0 only), not one mean per channel")
            per_pixel.append(name)
            continue
        fitted = _fitted_on(name, out_val, X_train, X_val)
        lines.append(f"{name}: mean fitted on {fitted}")
        if fitted != "train":
            problems.append(name)
    if problems:
        return failed(measured("data_leak", "; ".join(lines),
                               "compute the mean from X_train alone and subtract that same mean from "
                               "X_val and X_test; fitting on other splits leaks them into training",
                               where=tuple(problems)))
    if per_pixel:
        return failed(measured("wrong_axis", "; ".join(lines),
                               "a channel mean averages over the examples and the pixels: "
                               "X_train.mean(axis=(0, 2, 3), keepdims=True), one value per channel",
                               where=tuple(per_pixel)))
    return passed("; ".join(lines))


def _fitted_on(name: str, out_val: np.ndarray, X_train: np.ndarray, X_val: np.ndarray) -> str:
    """Which split the helper's mean came from (per channel for the channel helper)."""
    if name == "subtract_channel_mean":  # compare with channel-wise statistics
        def channel(X):
            return X.transpose(0, 2, 3, 1).reshape(-1, X.shape[1])
        out = channel(out_val)
        return tr.mean_fitted_on(out, channel(X_train), channel(X_val)) if out.shape[0] == \
            channel(X_val).shape[0] else "something else"
    return tr.mean_fitted_on(out_val, X_train, X_val)


# ---------------------------------------------------------------- the Solver

SOLVER_BLAME = with_blame(suites=("optim",), owner="your Solver")
PROBE_LR, PROBE_DECAY, PROBE_EPOCHS = 1.0, 0.5, 4


def require_solver_feature(ctx: CheckContext, word: str, what: str) -> None:
    """SkipCheck when the user's Solver never mentions `word` in its source.

    Minimal solvers from older course years (or written by students) have no lr_decay or
    best_params at all; they silently ignore the keyword, which must not read as a bug.
    """
    import inspect

    sources = []
    for klass in getattr(ctx.fn("Solver"), "__mro__", ())[:-1]:  # the class and its bases, not object
        try:
            sources.append(inspect.getsource(klass))
        except Exception:  # noqa: BLE001 - e.g. a Python-2 file that inspect cannot parse
            path = getattr(sys.modules.get(klass.__module__), "__file__", None)
            try:
                sources.append(open(path, encoding="utf-8", errors="replace").read())
            except (OSError, TypeError):
                return  # no source to read: measure instead
    if sources and not any(word in source for source in sources):
        raise SkipCheck(f"your Solver has no {what} ({word!r} appears nowhere in it); nothing to check")


def run_probe(ctx: CheckContext, *, lr_decay: float, num_epochs: int) -> tuple[Any, tr.SolverProbe]:
    """Train a SolverProbe with the user's Solver: plain SGD, one iteration per epoch, silent."""
    Solver = ctx.fn("Solver")
    model, data = tr.SolverProbe(), tr.probe_data()
    kwargs = dict(update_rule="sgd", optim_config={"learning_rate": PROBE_LR}, lr_decay=lr_decay,
                  num_epochs=num_epochs, batch_size=len(data["X_train"]), verbose=False,
                  print_every=10 ** 9)
    with tr.global_numpy_seed(ctx.seed), np.errstate(all="ignore"):
        solver = call_user(Solver, model, data, subject="Solver", **kwargs)
        call_user(solver.train, subject="Solver.train")
    if len(model.seen) < num_epochs:
        raise UserCodeError(f"Solver.train() called model.loss(X, y) {len(model.seen)} times for {num_epochs} "
                            f"epochs of one minibatch each", subject="Solver")
    return solver, model


@check("training.solver.lr_decay", subject="Solver",
       title="after each epoch every parameter's learning_rate is multiplied by lr_decay")
@SOLVER_BLAME
def solver_lr_decay(ctx: CheckContext) -> Outcome:
    require_solver_feature(ctx, "lr_decay", "learning-rate decay")
    _, model = run_probe(ctx, lr_decay=PROBE_DECAY, num_epochs=PROBE_EPOCHS)
    steps = tr.probe_step_sizes(model.seen[:PROBE_EPOCHS])
    expected = [PROBE_LR * PROBE_DECAY ** e for e in range(PROBE_EPOCHS - 1)]
    where = (f"SGD at learning_rate {PROBE_LR:g}, lr_decay {PROBE_DECAY:g}, one iteration per epoch: "
             f"expected steps {', '.join(f'{v:g}' for v in expected)}; ")
    moved = "; ".join(f"{name} moved by {', '.join(f'{v:.4g}' for v in got)}" for name, got in steps.items())
    details = {"expected": expected, "steps": steps}
    wrong = [name for name, got in steps.items() if not np.allclose(got, expected, rtol=1e-6)]
    if not wrong:
        return passed(where + moved, **details)
    constant = [name for name in wrong if np.allclose(steps[name], PROBE_LR, rtol=1e-6)]
    if constant:
        hint = ("the learning rate never decays: at the end of each epoch multiply the learning_rate of "
                "every per-parameter config actually used in _step: for k in self.optim_configs: "
                "self.optim_configs[k]['learning_rate'] *= self.lr_decay (decaying self.optim_config, "
                "the template, changes nothing once the per-parameter copies exist)")
    else:
        hint = ("after each epoch, and only then, multiply every per-parameter config's learning_rate "
                "by lr_decay: for k in self.optim_configs: self.optim_configs[k]['learning_rate'] *= self.lr_decay")
    return failed(measured("lr_decay", where + moved + f": {', '.join(wrong)} not decayed as expected",
                                   hint, where=tuple(wrong)), **details)


def same_crash_as_lr_decay(compute):
    """compute, skipped when it errors exactly as training.solver.lr_decay already did (one Solver bug, one error)."""
    @functools.wraps(compute)
    def run(ctx: CheckContext) -> Outcome:
        outcome = compute(ctx)
        earlier = ctx.results.get(SOLVER_CRASH_CHECK)
        # The same error as data: both raised, with the same one-line reason.
        if (outcome.status == ERROR and earlier is not None and earlier.status == ERROR
                and outcome.reason is not None and earlier.reason is not None
                and outcome.reason.kind == earlier.reason.kind == "raised"
                and outcome.reason.note == earlier.reason.note):
            return blamed_on(SOLVER_RAISES, with_yours=outcome.message)
        return outcome

    return run


@check("training.solver.best_params", subject="Solver",
       title="after train(), model.params are the parameters of the best validation accuracy")
@same_crash_as_lr_decay
@SOLVER_BLAME
def solver_best_params(ctx: CheckContext) -> Outcome:
    require_solver_feature(ctx, "best_params", "best-parameter tracking")
    epochs = 5
    solver, model = run_probe(ctx, lr_decay=1.0, num_epochs=epochs)
    # w moves by 1 per epoch (gradient -1, learning rate 1): 1, 2, ..., 5; validation accuracy
    # is 100% at w = best_w = 2 and lower at every other epoch, so the best parameters are w = 2.
    best = {name: np.full_like(value, model.best_w) for name, value in model.params.items()}
    got = {name: np.asarray(value, dtype=np.float64) for name, value in model.params.items()}
    where = (f"{epochs} epochs of SGD on a probe model whose validation accuracy peaks (100%) after epoch "
             f"{int(model.best_w)} and falls afterwards")
    if all(got[k].shape == best[k].shape and np.allclose(got[k], best[k]) for k in best):
        return passed(where + ": model.params are those of the best epoch after train()")
    last = float(got["w"].reshape(-1)[0])
    stored = getattr(solver, "best_params", None)
    kept_best = isinstance(stored, dict) and all(
        np.allclose(np.asarray(stored.get(k, np.nan), dtype=np.float64), best[k]) for k in best)
    if kept_best:
        hint = ("solver.best_params holds the best parameters but train() never puts them back: "
                "end train() with self.model.params = self.best_params")
    else:
        hint = ("keep a copy of the parameters whenever the validation accuracy improves "
                "(self.best_params = {k: v.copy() for k, v in self.model.params.items()}) and end "
                "train() with self.model.params = self.best_params")
    return failed(measured("best_params", where + f": after train() model.params['w'] = {last:.4g}, the best "
                           f"epoch's is {model.best_w:g}: the model keeps the last parameters, not the best ones",
                           hint, where=("model.params",)), w_after_train=last, best_w=model.best_w)
