"""The `models` suite: FullyConnectedNet, TwoLayerNet, ThreeLayerConvNet.

`model = Model(...)`; `model.loss(X)` -> scores (N, C); `model.loss(X, y)` -> (loss, grads).
Constructor arguments differ across course years (`dropout` / `dropout_keep_ratio`,
`use_batchnorm` / `normalization`, assignment 1's `input_size, hidden_size, output_size,
std` with `loss(X, y, reg)`): the signature is inspected and only accepted names are passed.

Blame where it belongs (checks/blame.py): when a model check fails and one of the user's
layers (or losses) already failed its own check, the model check is rerun with sanitykit's
reference versions of those layers swapped into the user's modules. Passing then means the
model is fine and the failure is the layer's: the check is `skip`, so one bug is graded once.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import itertools
import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator

import numpy as np

from sanitykit.checks.common import (call_named, describe_value, expect_array, global_random_preserved,
                                     shape_problem, unpack)
from sanitykit.checks.blame import blamed_on, with_blame
from sanitykit.checks.registry import CheckContext, SkipCheck, check
from sanitykit.engine import wording
from sanitykit.engine.findings import Finding, Reason
from sanitykit.engine.gradcheck import gradcheck_model
from sanitykit.engine.results import ERROR, FAIL, PASS, WARN, Outcome, failed, passed, warned
from sanitykit.engine.usercode import NotImplementedYet, UserCodeError, call_user

MODELS = {"fc_net": "FullyConnectedNet", "two_layer_net": "TwoLayerNet", "cnn": "ThreeLayerConvNet"}


@dataclass(frozen=True)
class Arch:
    """Sizes of a model built for a check: the constructor's keyword arguments plus the batch size."""

    kwargs: dict[str, Any]
    input_shape: tuple[int, ...]
    num_classes: int
    batch: int
    weight_scale: float  # a scale at which ReLUs neither all die nor saturate the softmax


# Small dims: a gradient check of every parameter costs a few hundred loss evaluations.
SMALL = {
    "fc_net": Arch({"hidden_dims": [5, 4], "input_dim": 6, "num_classes": 4}, (6,), 4, 5, 0.3),
    "two_layer_net": Arch({"input_dim": 6, "hidden_dim": 5, "num_classes": 4}, (6,), 4, 5, 0.3),
    "cnn": Arch({"input_dim": (2, 6, 6), "num_filters": 3, "filter_size": 3, "hidden_dim": 5,
                 "num_classes": 4}, (2, 6, 6), 4, 2, 0.2),
}
# Larger dims for statistics of the initial weights (thousands of samples per matrix).
LARGE = {
    "fc_net": Arch({"hidden_dims": [80, 60], "input_dim": 100, "num_classes": 10}, (100,), 10, 20, 5e-2),
    "two_layer_net": Arch({"input_dim": 100, "hidden_dim": 80, "num_classes": 10}, (100,), 10, 20, 5e-2),
    "cnn": Arch({"input_dim": (3, 16, 16), "num_filters": 8, "filter_size": 3, "hidden_dim": 50,
                 "num_classes": 10}, (3, 16, 16), 10, 20, 5e-2),
}
# Our argument -> the names course years use for it (assignment 1's TwoLayerNet included).
ALIASES = {"input_dim": ("input_dim", "input_size"), "hidden_dim": ("hidden_dim", "hidden_size"),
           "num_classes": ("num_classes", "output_size"), "weight_scale": ("weight_scale", "std")}
GRADCHECK_REG = 0.3  # nonzero, so a missing or doubled regularisation gradient shows
DROPOUT_SEED = 123
REG_PENALTY = "loss += 0.5 * self.reg * sum(np.sum(W * W) for W in (W1, W2, ...))"


# ---------------------------------------------------------------- building a model

@dataclass
class RegInLoss:
    """Assignment 1's TwoLayerNet takes reg in loss(X, y, reg): present it with the assignment 2 API."""

    model: Any
    reg: float
    params: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.params = self.model.params

    def loss(self, X, y=None):
        return self.model.loss(X, y, reg=self.reg)


def parameters(fn: Callable) -> dict[str, inspect.Parameter] | None:
    """fn's parameters by name, or None when it takes **kwargs or cannot be inspected.

    For a class whose __init__ forwards (*args, **kwargs) to its base, the first class in
    the MRO with explicit parameters speaks for it.
    """
    candidates = [k.__init__ for k in fn.__mro__ if "__init__" in vars(k)] if inspect.isclass(fn) else [fn]
    for candidate in candidates:
        try:
            params = dict(inspect.signature(candidate).parameters)
        except (TypeError, ValueError):
            return None
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            params.pop("self", None)
            return params
    return None


def constructor_kwargs(cls: Any, wanted: dict[str, Any], *, normalization: str | None,
                       keep_ratio: float | None) -> tuple[dict[str, Any], bool]:
    """The keyword arguments `cls` accepts for what we want; also whether reg must go to loss().

    Args:
        cls: the user's model class.
        wanted: our names (input_dim, hidden_dim, num_classes, weight_scale, reg, dtype, seed, ...).
        normalization: None, "batchnorm" or "layernorm".
        keep_ratio: dropout keep probability, or None for no dropout.
    """
    accepted = parameters(cls)
    name = getattr(cls, "__name__", "the model")
    if accepted is None:  # **kwargs: pass the current course's names
        kwargs = dict(wanted, normalization=normalization)
        if keep_ratio is not None:
            kwargs["dropout_keep_ratio"] = keep_ratio
        return kwargs, False
    kwargs = {}
    for ours, value in wanted.items():
        theirs = next((n for n in ALIASES.get(ours, (ours,)) if n in accepted), None)
        if theirs is not None:
            kwargs[theirs] = value
    if normalization is not None:
        if "normalization" in accepted:
            kwargs["normalization"] = normalization
        elif "use_batchnorm" in accepted and normalization == "batchnorm":
            kwargs["use_batchnorm"] = True  # 2016-17 course years
        else:
            raise SkipCheck(f"{name} has no {normalization} option (its arguments: {', '.join(accepted)})")
    if keep_ratio is not None:
        # 0.5 reads the same as a keep probability (2019+) and as a drop probability (2016-17).
        key = next((n for n in ("dropout_keep_ratio", "dropout") if n in accepted), None)
        if key is None:
            raise SkipCheck(f"{name} has no dropout argument (dropout_keep_ratio or dropout)")
        kwargs[key] = keep_ratio
    reg_in_loss = "reg" in wanted and "reg" not in accepted and "reg" in (parameters(getattr(cls, "loss", None)) or {})
    return kwargs, reg_in_loss


def build(ctx: CheckContext, topic: str, arch: Arch, *, reg: float = 0.0, weight_scale: float | None = None,
          normalization: str | None = None, keep_ratio: float | None = None) -> Any:
    """The user's model of `topic` with `arch`'s sizes, float64 parameters and seeded initial weights.

    Models without a seed argument draw from np.random: it is seeded with ctx.seed here and
    restored afterwards, so checks are repeatable and global state is untouched.

    Args:
        ctx: the CheckContext.
        topic: "fc_net", "two_layer_net" or "cnn".
        arch: sizes (SMALL or LARGE entry).
        reg: regularisation strength.
        weight_scale: std of the initial weights (default arch.weight_scale).
        normalization: None, "batchnorm" or "layernorm" (FullyConnectedNet only).
        keep_ratio: dropout keep probability, None for no dropout.
    """
    name = MODELS[topic]
    cls = ctx.fn(name)
    wanted = {**arch.kwargs, "weight_scale": arch.weight_scale if weight_scale is None else weight_scale,
              "reg": reg, "dtype": np.float64, "seed": ctx.seed}
    kwargs, reg_in_loss = constructor_kwargs(cls, wanted, normalization=normalization, keep_ratio=keep_ratio)
    with global_random_preserved():
        np.random.seed(ctx.seed)
        model = call_user(cls, **kwargs, subject=name)
    params = getattr(model, "params", None)
    if not isinstance(params, dict):
        raise UserCodeError(f"{name}(...).params is {describe_value(params)}, expected a dict of arrays",
                            subject=name)
    for key, value in params.items():
        # Years without a dtype argument: check in float64 all the same (float32 hides gradients).
        if isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.dtype != np.float64:
            params[key] = value.astype(np.float64)
    if keep_ratio is not None and isinstance(getattr(model, "dropout_param", None), dict):
        model.dropout_param["seed"] = DROPOUT_SEED  # a fixed mask, as the course's seed argument does
    return RegInLoss(model, reg) if reg_in_loss else model


def data(ctx: CheckContext, arch: Arch) -> tuple[np.ndarray, np.ndarray]:
    """Random float64 inputs X (N, *input_shape) and labels y (N,)."""
    X = ctx.rng.standard_normal((arch.batch, *arch.input_shape))
    return X, ctx.rng.integers(arch.num_classes, size=arch.batch)


def nudge_biases(model: Any, rng: np.random.Generator) -> None:
    """Move biases and betas off zero: a dead hidden layer would otherwise put the next ReLU exactly on its kink."""
    for key, value in model.params.items():
        if key.startswith("b") and isinstance(value, np.ndarray):
            model.params[key] = value + 0.1 * rng.standard_normal(value.shape)


def scores_of(model: Any, X: np.ndarray, subject: str) -> np.ndarray:
    """model.loss(X) (test mode): the scores array."""
    with global_random_preserved():
        scores = call_named(model.loss, X, subject=f"{subject}.loss")
    if isinstance(scores, tuple):
        raise UserCodeError(f"{subject}.loss(X) with y=None returned {describe_value(scores)}, expected "
                            f"the scores array: end the forward pass with `if y is None: return scores`",
                            subject=subject)
    if scores is None:
        raise NotImplementedYet(subject, "loss(X) returned None")
    return expect_array(scores, "scores", subject=f"{subject}.loss")


def loss_and_grads(model: Any, X: np.ndarray, y: np.ndarray, subject: str) -> tuple[float, dict[str, Any]]:
    """model.loss(X, y) (train mode) as (loss float, grads dict); a `loss = 0`, no-grads stub is NotImplementedYet."""
    with global_random_preserved():
        loss, grads = unpack(call_named(model.loss, X, y, subject=f"{subject}.loss"), ("loss", "grads"),
                             f"{subject}.loss")
    if loss is None:
        raise NotImplementedYet(subject, "loss returned None")
    if np.asarray(loss).size != 1:
        raise UserCodeError(f"{subject}.loss returned loss as {describe_value(loss)}, expected a scalar",
                            subject=subject)
    loss = float(np.asarray(loss).reshape(()))
    if loss == 0 and not any(np.any(g) for g in (grads or {}).values()):
        raise NotImplementedYet(subject, "loss is 0 with no gradients")
    return loss, grads or {}


def weight_names(params: dict[str, Any]) -> list[str]:
    """The weight matrices: W1, W2, ... (any other 2-d-or-more array when the names differ)."""
    names = sorted((k for k in params if re.fullmatch(r"W\d+", k)), key=lambda k: int(k[1:]))
    return names or [k for k, v in params.items() if np.ndim(v) >= 2]


# ---------------------------------------------------------------- the checks

# Sizes of each model's parameters: how many layers (W1..WL) a model of SMALL's arch has.
LAYER_COUNT = {"fc_net": len(SMALL["fc_net"].kwargs["hidden_dims"]) + 1, "two_layer_net": 2, "cnn": 3}
CONV_CALLS = ("conv_relu_pool_forward", "conv_relu_forward", "conv_forward_fast", "conv_forward_naive")


def scores_shape(ctx: CheckContext, topic: str) -> Outcome:
    """loss(X) with y=None returns finite scores of shape (N, C), from the model's every layer."""
    name = MODELS[topic]
    arch = SMALL[topic]
    model = build(ctx, topic, arch)
    X, _ = data(ctx, arch)
    problem = params_problem(name, topic, model.params)
    if problem:
        return problem
    with conv_params_recorded(ctx) as convs:
        try:
            scores = scores_of(model, X, name)
        except UserCodeError as exc:
            problem = shrinking_conv(name, convs, X.shape, exc.reason)
            if problem:
                return problem
            raise
    problem = shrinking_conv(name, convs, X.shape) or scores_activated(ctx, model, topic)
    if problem:
        return problem
    problem = shape_problem(scores, "scores", (arch.batch, arch.num_classes), subject=f"{name}.loss",
                            hint="the last affine layer maps to num_classes: W_last has shape "
                                 "(hidden_dims[-1], num_classes)")
    if problem:
        return problem
    if not np.all(np.isfinite(scores)):
        return failed(Finding("nan", f"{name}.loss(X) returned scores with "
                              f"{int(np.sum(~np.isfinite(scores)))} NaN/inf values",
                              fix="look for a division by zero or an exp() in the forward pass", where=("scores",)))
    return passed(f"loss(X) returns scores of shape {scores.shape} for X of shape {X.shape}")


def params_problem(name: str, topic: str, params: dict[str, Any]) -> Outcome | None:
    """A failure when the course's W1..WL, b1..bL are not all created (an off-by-one loop over the layers)."""
    if "W1" not in params:
        return None  # names of another year or of the student's own: judged by running the model
    count = LAYER_COUNT[topic]
    missing = [f"{k}{i}" for i in range(1, count + 1) for k in ("W", "b") if f"{k}{i}" not in params]
    if not missing:
        return None
    kwargs = SMALL[topic].kwargs
    sizes = f" for hidden_dims={kwargs['hidden_dims']}" if "hidden_dims" in kwargs else ""
    return failed(Finding(
        "layer_params_missing", f"{name}: self.params has {', '.join(sorted(params))} but no "
        f"{', '.join(missing)}{sizes}: a network of {count} layers needs W1..W{count} and b1..b{count}",
        likely="the loop that creates the parameters stops one layer early (range(1, num_layers) instead of "
               "range(1, num_layers + 1), or the output layer left out)",
        fix="create every layer's weights, the output layer's included: for i in range(num_layers): "
            "self.params[f'W{i + 1}'] = weight_scale * np.random.randn(dims[i], dims[i + 1])",
        where=tuple(missing)), missing=missing)


@contextlib.contextmanager
def conv_params_recorded(ctx: CheckContext) -> Iterator[list[tuple[tuple, dict]]]:
    """Record (w shape, conv_param) of every conv layer the model calls, through the target's bindings."""
    calls: list[tuple[tuple, dict]] = []

    def recorder(fn: Callable) -> Callable:
        def recorded(x, w, b, conv_param, *args, **kwargs):
            calls.append((np.shape(w), dict(conv_param) if isinstance(conv_param, dict) else {}))
            return fn(x, w, b, conv_param, *args, **kwargs)
        return recorded

    wrappers = {name: recorder(ctx.target.get(name)) for name in CONV_CALLS if callable(ctx.target.get(name))}
    with ctx.target.swapped(wrappers):
        yield calls


def shrinking_conv(name: str, calls: list[tuple[tuple, dict]], x_shape: tuple, raised: str = "") -> Outcome | None:
    """A failure when the model's convolution does not keep H x W (stride 1, pad (HH - 1) // 2)."""
    for w_shape, conv_param in calls[:1]:
        pad, stride = conv_param.get("pad"), conv_param.get("stride")
        same = (w_shape[2] - 1) // 2 if len(w_shape) == 4 else None
        if same is None or (pad, stride) == (same, 1):
            return None
        H, W = x_shape[2:]
        got = (1 + (H + 2 * (pad or 0) - w_shape[2]) // (stride or 1), 1 + (W + 2 * (pad or 0) - w_shape[3]) // (stride or 1))
        then = f"; then {raised}" if raised else ""
        return failed(Finding(
            "no_same_padding", f"{name} convolves with stride {stride}, pad {pad} and {w_shape[2]}x{w_shape[3]} "
            f"filters: the {H}x{W} image shrinks to {got[0]}x{got[1]}, while the course's ThreeLayerConvNet keeps "
            f"H and W (pad = (filter_size - 1) // 2 = {same}, stride 1){then}",
            likely="conv_param does not preserve the input size, so the pooled size W2 was built for is not what "
                   "the forward pass produces",
            fix="self.conv_param = {'stride': 1, 'pad': (filter_size - 1) // 2}, and W2 of shape "
                "(num_filters * H // 2 * W // 2, hidden_dim)", where=("conv_param",)), conv_param=conv_param)
    return None


def scores_activated(ctx: CheckContext, model: Any, topic: str) -> Outcome | None:
    """A failure when the scores are never negative with exact zeros: a ReLU on the output layer."""
    arch = SMALL[topic]
    X = np.random.default_rng(ctx.seed + 1).standard_normal((40, *arch.input_shape))
    scores = scores_of(model, X, MODELS[topic])
    # A correct net's scores are negative about half the time; exact zeros come only from a ReLU.
    if np.any(scores > 0) and np.all(scores >= 0) and np.mean(scores == 0) > 0.05:
        zeros = float(np.mean(scores == 0))
        return failed(Finding(
            "output_activated", f"{MODELS[topic]}.loss(X): no score is negative on 40 random examples and "
                                f"{zeros:.0%} are exactly 0: the scores pass through a ReLU",
            likely="the output layer is treated as a hidden layer (the loop over layers applies affine_relu "
                   "to the last one too)",
            fix="the last layer is affine only: scores, cache = affine_forward(out, W_last, b_last), and "
                "affine_backward for it in the backward pass", where=("scores",)), zero_fraction=zeros)
    return None


LOSS_CALLS = ("softmax_loss", "svm_loss")
DROPOUT_KEEP = 0.5  # the keep ratio of models.fc_net.gradcheck_dropout


@contextlib.contextmanager
def scores_recorded(ctx: CheckContext) -> Iterator[list[np.ndarray]]:
    """Record the scores the model hands to its loss (softmax_loss, svm_loss), through the target's bindings."""
    scores: list[np.ndarray] = []

    def recorder(fn: Callable) -> Callable:
        def recorded(x, *args, **kwargs):
            scores.append(np.array(x, dtype=np.float64, copy=True))
            return fn(x, *args, **kwargs)
        return recorded

    wrappers = {name: recorder(ctx.target.get(name)) for name in LOSS_CALLS if callable(ctx.target.get(name))}
    with ctx.target.swapped(wrappers):
        yield scores


def scores_dropped(ctx: CheckContext, topic: str) -> Outcome | None:
    """A failure when dropout is applied to the scores: in train mode about 1 - keep of the scores that
    reach the loss are exactly 0, while the test-mode scores have none.

    Such a net passes its gradient check (the mask is fixed by the seed and undone in the backward)
    and its test mode (dropout is off there): only the scores handed to the loss show it.
    """
    name, arch = MODELS[topic], SMALL[topic]
    model = build(ctx, topic, arch, keep_ratio=DROPOUT_KEEP)
    rng = np.random.default_rng(ctx.seed + 2)
    nudge_biases(model, rng)  # a row of dropped hidden units then scores b_last, not exact zeros
    X = rng.standard_normal((40, *arch.input_shape))
    y = rng.integers(arch.num_classes, size=len(X))
    with scores_recorded(ctx) as recorded:
        loss_and_grads(model, X, y, name)
    if not recorded or recorded[0].shape != (len(X), arch.num_classes):
        return None  # the loss is computed some other way: nothing to read
    train = recorded[0]
    test = scores_of(model, X, name)
    zeros, test_zeros = float(np.mean(train == 0)), float(np.mean(test == 0))
    # A correct net's scores are affine outputs: exact zeros have probability 0 (biases nudged).
    if zeros < 0.5 * (1 - DROPOUT_KEEP) or test_zeros > 0.05:
        return None
    return failed(Finding(
        "output_activated", f"{name} with dropout (keep {DROPOUT_KEEP:g}): {zeros:.0%} of the scores that reach "
        f"the loss in train mode are exactly 0, and {test_zeros:.0%} in test mode: dropout is applied to the scores",
        likely="the output layer is treated as a hidden layer (the loop over layers applies dropout_forward after "
               "the last affine layer too, and dropout_backward to dscores)",
        fix="dropout (and the ReLU) follow the hidden layers only: scores, cache = affine_forward(out, W_last, "
            "b_last) with nothing after it, and dscores goes straight to affine_backward", where=("scores",)),
        zero_fraction=zeros, test_zero_fraction=test_zeros)


def initial_loss(ctx: CheckContext, topic: str) -> Outcome:
    """With reg=0 and tiny weights every class is equally likely: the loss is about log C."""
    name = MODELS[topic]
    arch = SMALL[topic]
    model = build(ctx, topic, arch, weight_scale=1e-3)
    X, y = data(ctx, arch)
    loss, _ = loss_and_grads(model, X, y, name)
    expected = float(np.log(arch.num_classes))
    # The mean of N per-example losses wanders by ~std/sqrt(N) around its expectation;
    # tiny weights make that spread tiny, so the floor of 2% governs for correct models.
    spread = per_example_spread(model, X, y, name)
    tol = 0.02 * expected + 3 * spread / np.sqrt(arch.batch)
    if abs(loss - expected) <= tol:
        return passed(f"loss {loss:.4g} with reg=0 and weight_scale=1e-3, expected log C = log "
                      f"{arch.num_classes} = {expected:.4g} (tolerance {tol:.2g})", loss=loss, expected=expected)
    what = (f"{name}: loss {loss:.4g} with reg=0 and weight_scale=1e-3 (N={arch.batch}), "
            f"expected about log C = log {arch.num_classes} = {expected:.4g}")
    pattern, fix = "initial_loss", "the data loss is softmax_loss(scores, y)[0], averaged over the batch"
    if abs(loss - arch.batch * expected) <= arch.batch * tol:
        what += f": {loss / expected:.0f} times too big, the loss summed rather than averaged over N"
        pattern, fix = "batch_size", "divide the summed loss by N, or use softmax_loss, which averages"
    elif abs(loss - (arch.num_classes - 1)) <= 0.02 * (arch.num_classes - 1):
        # Every margin is 1 at near-zero scores: the multiclass SVM's C - 1, not softmax's log C.
        what += f": that is C - 1 = {arch.num_classes - 1}, the SVM loss at near-zero scores"
        pattern, fix = "wrong_loss", "the model's data loss is softmax_loss(scores, y), not svm_loss"
    return failed(Finding(pattern, what, fix=fix, where=("loss",)), loss=loss, expected=expected, tolerance=tol)


def per_example_spread(model: Any, X: np.ndarray, y: np.ndarray, name: str) -> float:
    """Standard deviation of the per-example softmax losses of the model's own scores (0 if unavailable)."""
    try:
        scores = scores_of(model, X, name)
    except (UserCodeError, NotImplementedYet):
        return 0.0
    if scores.ndim != 2 or scores.shape[0] != len(y) or scores.shape[1] <= int(y.max()):
        return 0.0
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(np.std(-log_probs[np.arange(len(y)), y]))


def reg_rises(ctx: CheckContext, topic: str) -> Outcome:
    """For the same weights, the loss with reg=1 exceeds the loss with reg=0 by the L2 penalty."""
    name = MODELS[topic]
    arch, reg = SMALL[topic], 1.0
    plain = build(ctx, topic, arch)
    regularised = build(ctx, topic, arch, reg=reg)
    for key, value in plain.params.items():  # the same weights, whether or not the seed is honoured
        regularised.params[key] = np.array(value, copy=True)
    X, y = data(ctx, arch)
    rise = loss_and_grads(regularised, X, y, name)[0] - loss_and_grads(plain, X, y, name)[0]
    weights = weight_names(plain.params)
    squares = {k: float(np.sum(np.asarray(plain.params[k]) ** 2)) for k in weights}
    penalty = 0.5 * reg * sum(squares.values())
    if rise <= 1e-12:
        return failed(Finding(
            "reg_missing", f"{name}: the loss with reg={reg:g} is {'equal to' if abs(rise) <= 1e-12 else 'below'} "
            f"the loss with reg=0 for the same weights (expected {penalty:.4g} higher)",
            fix=f"add the L2 penalty of every weight to the loss (and keep reg: self.reg = reg): {REG_PENALTY}",
            where=("loss",)), rise=rise, expected=penalty)
    for factor in (0.5, 1.0):  # the course's 0.5 * reg * ||W||^2, or reg * ||W||^2 (assignment 1)
        if abs(rise - factor * reg * sum(squares.values())) <= 1e-6 * abs(rise):
            gradient = reg_gradient_factor(plain, regularised, X, y, name, reg)
            problem = lacks_half(name, rise, reg, factor, gradient)
            if problem:
                return problem
            return passed(f"loss rises by {rise:.4g} = {factor:g} * reg * sum(W**2) with reg={reg:g}",
                          rise=rise, loss_factor=factor, gradient_factor=gradient)
    missing = missing_weights(rise, reg, squares)
    if missing:
        return failed(Finding(
            "reg_partial", f"{name}: the loss rises by {rise:.4g} with reg={reg:g}, expected {penalty:.4g}: "
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing from the penalty",
            fix=REG_PENALTY, where=tuple(missing)), rise=rise, expected=penalty, missing=missing)
    return warned(Finding("reg_convention", f"{name}: the loss rises by {rise:.4g} with reg={reg:g}; the course's "
                          f"0.5 * reg * sum(W**2) is {penalty:.4g}", fix=f"the course's penalty is {REG_PENALTY}",
                          where=("loss",)), rise=rise, expected=penalty)


def lacks_half(name: str, rise: float, reg: float, loss_factor: float, gradient_factor: float | None,
               details: dict[str, Any] | None = None) -> Outcome | None:
    """A failure when the loss rose by reg * sum(W**2) (loss_factor 1) while the gradient adds reg * W
    (gradient_factor 1, see reg_gradient_factor): the loss lacks the 1/2, the gradient is right.

    Shared by models.*.reg_rises and training.fc_net.reg_rises, so both name it the same way.
    """
    if loss_factor != 1.0 or gradient_factor != 1.0:
        return None
    return failed(Finding(
        "reg_half", f"{name}: the loss rises by {rise:.4g} = reg * sum(W**2) with reg={reg:g}, but the "
        "gradient adds reg * W: the loss lacks the 1/2 (the gradient of reg * sum(W**2) is 2 * reg * W)",
        likely="the penalty is written reg * np.sum(W * W) while the gradient follows the course's "
               "0.5 * reg * sum(W**2)", fix=REG_PENALTY, where=("loss",)),
        **{**(details or {}), "rise": rise, "loss_factor": loss_factor, "gradient_factor": gradient_factor})


def reg_gradient_factor(plain: Any, regularised: Any, X: np.ndarray, y: np.ndarray, name: str,
                        reg: float) -> float | None:
    """k such that every weight's gradient grows by k * reg * W with reg (1 or 2), or None when it is neither."""
    grads0, grads1 = loss_and_grads(plain, X, y, name)[1], loss_and_grads(regularised, X, y, name)[1]
    for k in (1.0, 2.0):
        if all(key in grads0 and key in grads1 and np.shape(grads1[key]) == np.shape(plain.params[key])
               and np.allclose(np.asarray(grads1[key]) - np.asarray(grads0[key]), k * reg * plain.params[key],
                               rtol=1e-6, atol=1e-10)
               for key in weight_names(plain.params)):
            return k
    return None


def missing_weights(rise: float, reg: float, squares: dict[str, float]) -> list[str]:
    """Weights whose omission from the 0.5 (or 1) * reg * sum(W**2) penalty reproduces `rise`, or []."""
    names = list(squares)
    for size in range(len(names) - 1, 0, -1):
        for kept in itertools.combinations(names, size):
            for factor in (0.5, 1.0):
                if abs(rise - factor * reg * sum(squares[k] for k in kept)) <= 1e-6 * abs(rise):
                    return [k for k in names if k not in kept]
    return []


def model_gradcheck(ctx: CheckContext, topic: str, normalization: str | None = None,
                    keep_ratio: float | None = None, reg: float = GRADCHECK_REG) -> Outcome:
    """Every parameter's gradient (reg > 0, biases off zero) through the engine's gradcheck_model."""
    arch = SMALL[topic]
    ctx.rng = np.random.default_rng(ctx.seed)  # the same inputs whatever ran before
    model = build(ctx, topic, arch, reg=reg, normalization=normalization, keep_ratio=keep_ratio)
    nudge_biases(model, ctx.rng)
    X, y = data(ctx, arch)
    loss_and_grads(model, X, y, MODELS[topic])  # a `loss = 0`, empty-grads stub: not implemented yet
    with global_random_preserved():  # student dropout code may call np.random.seed
        return gradcheck_model(model, X, y, seed=ctx.seed, subject=f"{MODELS[topic]}.loss").to_outcome()


def plain_gradcheck(ctx: CheckContext, topic: str) -> Outcome:
    """model_gradcheck, blamed on models.<topic>.reg_rises when that check found the loss lacking its 1/2
    and the gradients are right without regularisation: the loss is what is wrong, not the gradient."""
    outcome = model_gradcheck(ctx, topic)
    reg_check = f"models.{topic}.reg_rises"
    earlier = ctx.results.get(reg_check)
    if (outcome.status == FAIL and earlier is not None and earlier.diagnosis is not None
            and earlier.diagnosis.pattern == "reg_half" and model_gradcheck(ctx, topic, reg=0.0).status in (PASS, WARN)):
        return blamed_on(Reason("blamed", (MODELS[topic],), (reg_check,),
                                note="the loss lacks the 1/2 of 0.5 * reg * sum(W**2); the gradient has reg * W"),
                         with_yours=outcome.message)
    return outcome


def variant_gradcheck(ctx: CheckContext, topic: str, **variant: Any) -> Outcome:
    """model_gradcheck with batchnorm, layernorm or dropout; a regularisation bug is graded once.

    A regularisation gradient that models.<topic>.gradcheck already reports fails every
    variant too. When that check failed, passes at reg=0, and this variant passes at reg=0
    as well, the variant has no bug of its own: skip, naming the check that reports it.
    """
    outcome = model_gradcheck(ctx, topic, **variant)
    base = f"models.{topic}.gradcheck"
    earlier = ctx.results.get(base)
    base_status = earlier.status if earlier is not None else None
    if outcome.status == FAIL and base_status in (PASS, WARN):
        return only_with_variant(outcome, variant)
    if earlier is not None and earlier.status == "skip" and earlier.reason is not None and \
            earlier.reason.kind == "blamed":
        base_status = FAIL  # the plain model's gradient failed, for a reason graded elsewhere
    if outcome.status != FAIL or base_status != FAIL:
        return outcome
    if (model_gradcheck(ctx, topic, reg=0.0).status in (PASS, WARN)
            and model_gradcheck(ctx, topic, reg=0.0, **variant).status in (PASS, WARN)):
        inherited = earlier.reason if earlier is not None and earlier.status == "skip" else None
        return blamed_on(inherited or Reason("blamed", (MODELS[topic],), (base,), note="of the regularisation gradient"),
                         with_yours=outcome.message)
    return outcome


# What a model gets wrong when its gradients are right without a variant and wrong with it.
VARIANT_HINTS = {
    "normalization": ("wrong only with {value}: the model's backward pass must run the {value} backward "
                      "of each hidden layer (affine_{short}_relu_backward) and store dgamma{{i}}, dbeta{{i}} "
                      "in grads"),
    "keep_ratio": ("wrong only with dropout: the model's backward pass skips dropout_backward (or uses a "
                   "different mask): after each hidden layer's dropout_forward, call "
                   "dout = dropout_backward(dout, dropout_cache) with the cache of that same forward pass"),
}


def only_with_variant(outcome: Outcome, variant: dict[str, Any]) -> Outcome:
    """A variant's failure told that the plain model passes, so the variant's own code is the suspect."""
    (key, value), = variant.items()
    short = {"batchnorm": "bn", "layernorm": "ln"}.get(str(value), "")
    words = VARIANT_HINTS[key].format(value=value, short=short)
    finding = outcome.finding
    if key == "keep_ratio" and finding is not None and finding.pattern == "unknown":
        # Right without dropout, wrong with it: the backward pass does not apply the forward's mask.
        finding = replace(finding, pattern="mask", likely=words, fix="")
        return replace(outcome, finding=finding, message=wording.finding_message(finding),
                       hint=wording.finding_hint(finding), details={**outcome.details, "only_with": key})
    hint = f"{words}\n{outcome.hint}" if outcome.hint else words
    return replace(outcome, hint=hint, details={**outcome.details, "only_with": key})


# ---------------------------------------------------------------- test mode

def test_mode_check(ctx: CheckContext, topic: str) -> Outcome:
    """loss(X) with y=None runs in test mode: batchnorm with running statistics, dropout off."""
    name = MODELS[topic]
    arch = SMALL[topic]
    X, y = data(ctx, arch)
    X = np.concatenate([X, X + 1.0])  # a batch whose own statistics are far from a single row's
    y = np.concatenate([y, y])
    checked = []
    try:
        model = build(ctx, topic, arch, normalization="batchnorm")
    except SkipCheck:
        model = None
    if model is not None:
        problem = batchnorm_test_problem(model, X, y, name)
        if problem:
            return problem
        checked.append("with batchnorm the scores of one example do not depend on the rest of the batch")
    try:
        model = build(ctx, topic, arch, keep_ratio=0.5)
    except SkipCheck:
        model = None
    if model is not None:
        problem = dropout_test_problem(ctx, model, X, name, topic, arch)
        if problem:
            return problem
        checked.append("with dropout the scores equal those of the same weights without dropout")
    if not checked:
        raise SkipCheck(f"{name} has neither a batchnorm nor a dropout option")
    return passed("loss(X) scores in test mode: " + "; ".join(checked))


def batchnorm_test_problem(model: Any, X: np.ndarray, y: np.ndarray, name: str) -> Outcome | None:
    """A failed Outcome when test-mode scores use batch statistics (or change running statistics)."""
    loss_and_grads(model, X, y, name)  # one train step: running statistics now differ from the defaults
    whole = scores_of(model, X, name)
    one = scores_of(model, X[:1], name)
    again = scores_of(model, X, name)
    hint = ("at test time use bn_param['mode'] = 'test' for every batchnorm layer (set it from y: "
            "mode = 'test' if y is None else 'train'), so batchnorm_forward normalises with "
            "running_mean and running_var, not with the test batch's own statistics")
    if whole.ndim != 2 or len(whole) != len(X) or one.shape != (1, whole.shape[1]):
        return failed(Finding("shape", f"{name}.loss(X) with batchnorm returned scores of shape {whole.shape} "
                              f"for {len(X)} examples and {one.shape} for 1", fix=hint, where=("scores",)))
    if not np.allclose(one[0], whole[0], rtol=1e-6, atol=1e-9):
        gap = float(np.abs(one[0] - whole[0]).max())
        return failed(Finding("batch_stats_at_test", f"{name} with batchnorm, loss(X) with y=None: the scores "
                              f"of X[:1] alone differ from the first row of the scores of X (by up to {gap:.3g}): "
                              "test mode used the batch statistics of the test batch", fix=hint,
                              where=("scores[0]",)), max_difference=gap)
    if not np.allclose(whole, again, rtol=1e-6, atol=1e-9):
        return failed(Finding("running_changed_at_test", f"{name} with batchnorm: two calls of loss(X) with "
                              "y=None on the same X gave different scores: the running statistics changed at "
                              "test time", fix=hint, where=("scores",)))
    return None


def dropout_test_problem(ctx: CheckContext, model: Any, X: np.ndarray, name: str, topic: str,
                         arch: Arch) -> Outcome | None:
    """A failed Outcome when test-mode scores with dropout differ between calls or from no dropout."""
    first = scores_of(model, X, name)
    # Another seed between the calls: a test mode that still drops units then drops others.
    if isinstance(getattr(model, "dropout_param", None), dict):
        model.dropout_param["seed"] = DROPOUT_SEED + 1
    second = scores_of(model, X, name)
    plain = build(ctx, topic, arch)
    for key, value in model.params.items():
        if key in plain.params:
            plain.params[key] = np.array(value, copy=True)
    expected = scores_of(plain, X, name)
    hint = ("dropout must be off in test mode: set self.dropout_param['mode'] = 'test' when y is None "
            "(mode = 'test' if y is None else 'train'); in test mode dropout_forward returns x unchanged")
    if first.shape != expected.shape or second.shape != expected.shape:
        return failed(Finding("shape", f"{name}.loss(X) with dropout returned scores of shape {first.shape}, "
                              f"expected {expected.shape}", fix=hint, where=("scores",)))
    if not np.allclose(first, second, rtol=1e-6, atol=1e-9):
        return failed(Finding("dropout_at_test", f"{name} with dropout: two calls of loss(X) with y=None gave "
                              "different scores: units are still dropped at test time", fix=hint, where=("scores",)))
    if not np.allclose(first, expected, rtol=1e-6, atol=1e-9):
        gap = float(np.abs(first - expected).max())
        return failed(Finding("dropout_at_test", f"{name} with dropout (keep 0.5), loss(X) with y=None: scores "
                              f"differ from those of the same weights without dropout by up to {gap:.3g}: dropout "
                              "is still applied in test mode", fix=hint, where=("scores",)), max_difference=gap)
    return None


def init_check(ctx: CheckContext, topic: str) -> Outcome:
    """Initial weights: not all zero, std ~ weight_scale; biases zero; gamma ones and beta zeros."""
    name = MODELS[topic]
    arch = LARGE[topic]
    model = build(ctx, topic, arch)
    problem = init_problem(name, model.params, arch.weight_scale)
    if problem:
        return problem
    if topic == "fc_net":
        try:
            normalised = build(ctx, topic, arch, normalization="batchnorm")
        except SkipCheck:
            normalised = None
        if normalised is not None:
            problem = norm_init_problem(name, normalised.params)
            if problem:
                return problem
    return passed(f"weights ~ N(0, {arch.weight_scale:g}^2), biases zero"
                  + (", gamma ones, beta zeros" if topic == "fc_net" else ""))


def init_problem(name: str, params: dict[str, Any], weight_scale: float) -> Outcome | None:
    """A failed Outcome for all-zero weights, a std far from weight_scale, or nonzero biases."""
    for key in weight_names(params):
        w = np.asarray(params[key], dtype=np.float64)
        if not np.any(w):
            return failed(Finding("zero_init", f"{name}: {key} is all zeros at initialisation",
                                  fix=f"zero weights give every hidden unit the same gradient, so they never "
                                      f"differ: {key} = weight_scale * np.random.randn(*shape)", where=(key,)),
                          weight=key)
        std = float(w.std())
        # The sample std of n normal values has relative spread ~1/sqrt(2n); 5 of those, plus 2%.
        tol = 0.02 + 5 / np.sqrt(2 * w.size)
        if abs(std / weight_scale - 1) > tol:
            return failed(Finding("init_scale", f"{name}: {key} has std {std:.3g} at initialisation, expected "
                                  f"weight_scale = {weight_scale:g} (ratio {std / weight_scale:.3g}, tolerance "
                                  f"{tol:.2g})", fix=f"{key} = weight_scale * np.random.randn(*shape) (not "
                                  "np.random.rand, and no other scaling)", where=(key,)),
                          weight=key, std=std, weight_scale=weight_scale)
    for key, value in params.items():
        if re.fullmatch(r"b\d+", key) and np.any(value):
            return failed(Finding("bias_init", f"{name}: {key} is not zero at initialisation (max |{key}| = "
                                  f"{float(np.max(np.abs(value))):.3g})", fix=f"{key} = np.zeros(size)",
                                  where=(key,)), bias=key)
    return None


def norm_init_problem(name: str, params: dict[str, Any]) -> Outcome | None:
    """A failed Outcome unless every gamma is ones and every beta zeros (FullyConnectedNet with batchnorm)."""
    gammas = [k for k in params if k.startswith("gamma")]
    betas = [k for k in params if k.startswith("beta")]
    if not gammas or not betas:
        return failed(Finding("norm_params_missing", f"{name} with batchnorm has no gamma/beta parameters "
                              f"(params: {', '.join(params)})", fix="for each hidden layer i: "
                              "self.params[f'gamma{i}'] = np.ones(H); self.params[f'beta{i}'] = np.zeros(H)"))
    for key in gammas:
        if not np.allclose(params[key], 1):
            return failed(Finding("norm_init", f"{name}: {key} is not all ones at initialisation",
                                  fix=f"self.params['{key}'] = np.ones(hidden_dim)", where=(key,)))
    for key in betas:
        if np.any(params[key]):
            return failed(Finding("norm_init", f"{name}: {key} is not all zeros at initialisation",
                                  fix=f"self.params['{key}'] = np.zeros(hidden_dim)", where=(key,)))
    return None


# ---------------------------------------------------------------- one bug, one failure: zero weights

def zero_weight(ctx: CheckContext, topic: str) -> str | None:
    """The first all-zero weight of the user's model as models.<topic>.init builds it (None: none is)."""
    try:
        model = build(ctx, topic, LARGE[topic])
    except (SkipCheck, UserCodeError, NotImplementedYet):
        return None
    return next((k for k in weight_names(model.params) if not np.any(np.asarray(model.params[k]))), None)


def zero_init_reported(ctx: CheckContext, topic: str, *, ahead: bool) -> bool:
    """Whether models.<topic>.init failed for weights that start at zero.

    Args:
        ahead: the caller runs before models.<topic>.init (a models check): then whether it
            will fail for zero weights, from the model itself.
    """
    result = ctx.results.get(f"models.{topic}.init")
    if result is None:
        return ahead and zero_weight(ctx, topic) is not None
    return result.status == FAIL and result.diagnosis is not None and result.diagnosis.pattern == "zero_init"


ZERO_INIT_HINT = ("initialise the weights with weight_scale * np.random.randn(fan_in, fan_out), "
                  "not zeros: with all-zero weights every hidden unit computes the same output and "
                  "gets the same gradient, so the network cannot learn (the biases may start at zero)")


def without_zero_init(topic: str, compute: Callable[[CheckContext], Outcome], *,
                      ahead: bool = True, keep_failing: bool = False) -> Callable[[CheckContext], Outcome]:
    """compute, skipped when it fails and the weights start at zero (models.<topic>.init reports that).

    With zero weights every hidden unit gets the same gradient: the loss barely moves, the
    regulariser adds nothing, the scores ignore the input. One bug, graded once.

    Args:
        ahead: see zero_init_reported (False for the training suite, which runs after models).
        keep_failing: fail, naming the zero weights as the cause, instead of skipping: for the
            checks whose very point is to show that a net learns (overfitting a tiny subset,
            activation statistics), where the zero-init failure is the lesson.
    """
    @functools.wraps(compute)
    def run(ctx: CheckContext) -> Outcome:
        outcome = compute(ctx)
        if outcome.status in (FAIL, ERROR) and zero_init_reported(ctx, topic, ahead=ahead):
            ctx.rng = np.random.default_rng(ctx.seed)
            init = f"models.{topic}.init"
            if keep_failing:
                first, *rest = outcome.message.splitlines() or [""]
                cause = wording.cause_line("the weights start at zero", init)
                return failed(Finding("zero_init", first, fix=ZERO_INIT_HINT, where=(MODELS[topic],),
                                      evidence=(*rest, cause)), **{**outcome.details, "cause": init})
            return blamed_on(Reason("blamed", (MODELS[topic],), (init,), note="the weights start at zero"),
                             with_yours=outcome.message)
        return outcome

    return run


# ---------------------------------------------------------------- declarations
# Each model check: blamed on the user's failed layers (with_blame), and skipped when it
# fails only because the weights start at zero (without_zero_init). A constructor that
# raises is one error, not one per check: every check depends on scores_shape.

def model_check(topic: str) -> Callable:
    """The two wrappers every model check of `topic` gets, as one decorator."""
    def wrap(compute: Callable[[CheckContext], Outcome]) -> Callable[[CheckContext], Outcome]:
        return without_zero_init(topic, with_blame(owner="the model", calls=MODELS[topic])(compute))
    return wrap


SCORES_SHAPE = "loss(X) returns scores of shape (N, C)"
INITIAL_LOSS = "loss ~ log C with reg=0 and small weights"
REG_RISES = "loss rises with regularisation"
GRADCHECK = "every parameter's gradient matches numerical gradients"
INIT = "weights ~ weight_scale * randn, zero biases"


@check("models.fc_net.scores_shape", subject="FullyConnectedNet", title=SCORES_SHAPE)
@model_check("fc_net")
def fc_net_scores_shape(ctx: CheckContext) -> Outcome:
    return scores_shape(ctx, "fc_net")


@check("models.fc_net.initial_loss", subject="FullyConnectedNet", title=INITIAL_LOSS,
       depends_on=("models.fc_net.scores_shape",))
@model_check("fc_net")
def fc_net_initial_loss(ctx: CheckContext) -> Outcome:
    return initial_loss(ctx, "fc_net")


@check("models.fc_net.reg_rises", subject="FullyConnectedNet", title=REG_RISES,
       depends_on=("models.fc_net.scores_shape",))
@model_check("fc_net")
def fc_net_reg_rises(ctx: CheckContext) -> Outcome:
    return reg_rises(ctx, "fc_net")


@check("models.fc_net.gradcheck", subject="FullyConnectedNet", title=GRADCHECK,
       depends_on=("models.fc_net.scores_shape",))
@model_check("fc_net")
def fc_net_gradcheck(ctx: CheckContext) -> Outcome:
    return plain_gradcheck(ctx, "fc_net")


@check("models.fc_net.gradcheck_batchnorm", subject="FullyConnectedNet", title="gradients match with batchnorm",
       depends_on=("models.fc_net.scores_shape",))
@model_check("fc_net")
def fc_net_gradcheck_batchnorm(ctx: CheckContext) -> Outcome:
    return variant_gradcheck(ctx, "fc_net", normalization="batchnorm")


@check("models.fc_net.gradcheck_layernorm", subject="FullyConnectedNet", title="gradients match with layernorm",
       depends_on=("models.fc_net.scores_shape",))
@model_check("fc_net")
def fc_net_gradcheck_layernorm(ctx: CheckContext) -> Outcome:
    return variant_gradcheck(ctx, "fc_net", normalization="layernorm")


@check("models.fc_net.gradcheck_dropout", subject="FullyConnectedNet",
       title="gradients match with dropout (keep 0.5, fixed seed)", depends_on=("models.fc_net.scores_shape",))
@model_check("fc_net")
def fc_net_gradcheck_dropout(ctx: CheckContext) -> Outcome:
    return scores_dropped(ctx, "fc_net") or variant_gradcheck(ctx, "fc_net", keep_ratio=DROPOUT_KEEP)


@check("models.fc_net.test_mode", subject="FullyConnectedNet",
       title="loss(X) scores in test mode: batchnorm running statistics, dropout off",
       depends_on=("models.fc_net.scores_shape",))
@model_check("fc_net")
def fc_net_test_mode(ctx: CheckContext) -> Outcome:
    return test_mode_check(ctx, "fc_net")


@check("models.fc_net.init", subject="FullyConnectedNet", title=INIT, depends_on=("models.fc_net.scores_shape",))
@with_blame(owner="the model", calls="FullyConnectedNet")
def fc_net_init(ctx: CheckContext) -> Outcome:
    return init_check(ctx, "fc_net")


@check("models.two_layer_net.scores_shape", subject="TwoLayerNet", title=SCORES_SHAPE)
@model_check("two_layer_net")
def two_layer_net_scores_shape(ctx: CheckContext) -> Outcome:
    return scores_shape(ctx, "two_layer_net")


@check("models.two_layer_net.initial_loss", subject="TwoLayerNet", title=INITIAL_LOSS,
       depends_on=("models.two_layer_net.scores_shape",))
@model_check("two_layer_net")
def two_layer_net_initial_loss(ctx: CheckContext) -> Outcome:
    return initial_loss(ctx, "two_layer_net")


@check("models.two_layer_net.reg_rises", subject="TwoLayerNet", title=REG_RISES,
       depends_on=("models.two_layer_net.scores_shape",))
@model_check("two_layer_net")
def two_layer_net_reg_rises(ctx: CheckContext) -> Outcome:
    return reg_rises(ctx, "two_layer_net")


@check("models.two_layer_net.gradcheck", subject="TwoLayerNet", title=GRADCHECK,
       depends_on=("models.two_layer_net.scores_shape",))
@model_check("two_layer_net")
def two_layer_net_gradcheck(ctx: CheckContext) -> Outcome:
    return plain_gradcheck(ctx, "two_layer_net")


@check("models.two_layer_net.init", subject="TwoLayerNet", title=INIT,
       depends_on=("models.two_layer_net.scores_shape",))
@with_blame(owner="the model", calls="TwoLayerNet")
def two_layer_net_init(ctx: CheckContext) -> Outcome:
    return init_check(ctx, "two_layer_net")


@check("models.cnn.scores_shape", subject="ThreeLayerConvNet", title=SCORES_SHAPE)
@model_check("cnn")
def cnn_scores_shape(ctx: CheckContext) -> Outcome:
    return scores_shape(ctx, "cnn")


@check("models.cnn.initial_loss", subject="ThreeLayerConvNet", title=INITIAL_LOSS,
       depends_on=("models.cnn.scores_shape",))
@model_check("cnn")
def cnn_initial_loss(ctx: CheckContext) -> Outcome:
    return initial_loss(ctx, "cnn")


@check("models.cnn.reg_rises", subject="ThreeLayerConvNet", title=REG_RISES, depends_on=("models.cnn.scores_shape",))
@model_check("cnn")
def cnn_reg_rises(ctx: CheckContext) -> Outcome:
    return reg_rises(ctx, "cnn")


@check("models.cnn.gradcheck", subject="ThreeLayerConvNet", title=GRADCHECK, depends_on=("models.cnn.scores_shape",))
@model_check("cnn")
def cnn_gradcheck(ctx: CheckContext) -> Outcome:
    return plain_gradcheck(ctx, "cnn")


@check("models.cnn.init", subject="ThreeLayerConvNet", title=INIT, depends_on=("models.cnn.scores_shape",))
@with_blame(owner="the model", calls="ThreeLayerConvNet")
def cnn_init(ctx: CheckContext) -> Outcome:
    return init_check(ctx, "cnn")


# models.captioning_rnn.* (assignment 3); the two-layer net's scores, and assignment 1's train and predict
from sanitykit.checks import captioning, neural_net  # noqa: E402,F401
