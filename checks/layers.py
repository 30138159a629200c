"""The `layers` suite: per layer, interface, forward against the reference, gradient check, behaviour.

Ids are `layers.<topic>.<aspect>`. The generic aspects (interface, forward, gradcheck) are
declared from the table LAYERS; the behavioural checks of DESIGN.md (batchnorm statistics,
dropout, output shapes, multi-dimensional affine) are written out below it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from sanitykit.checks.common import (
    away_from_zero, compare_arrays, deterministic, distinct_values, dtype_problem, first_problem,
    forward_pair, call_backward, global_random_preserved, inputs_unchanged, randn, shape_problem,
    snapshot,
)
from sanitykit.checks.blame import with_blame
from sanitykit.checks.registry import CheckContext, check
from sanitykit.engine.results import Outcome, failed, passed
from sanitykit.engine.usercode import UserCodeError

BN_EPS = 1e-5


# ---------------------------------------------------------------- inputs per layer

def dropout_p(ctx: CheckContext, keep: float) -> float:
    """The value to put in dropout_param["p"] for keep probability `keep`, in the target's convention.

    The course changed the meaning of p (drop probability in 2016-17, keep since); the
    loader measures it and records conventions["dropout_p"] = "keep" | "drop".
    """
    return 1 - keep if ctx.conventions.get("dropout_p", "keep") == "drop" else keep


def _p_words(ctx: CheckContext, keep: float) -> str:
    """`p=0.7 (keep probability)` in the target's convention, for messages."""
    if ctx.conventions.get("dropout_p", "keep") == "drop":
        return f"p={1 - keep:g} (drop probability, so keep {keep:g})"
    return f"p={keep:g} (keep probability)"


def _gn_shape(ctx: CheckContext, C: int) -> tuple:
    """gamma/beta shape for spatial groupnorm: (1, C, 1, 1) as in the course, or (C,) when measured so."""
    return (C,) if ctx.conventions.get("groupnorm_param_shape") == "1d" else (1, C, 1, 1)


def _positive(rng: np.random.Generator, *shape: int) -> np.ndarray:
    """Scales such as gamma: random, away from zero, mixed signs not needed."""
    return rng.uniform(0.5, 2.0, shape)


@dataclass(frozen=True)
class Layer:
    """One forward/backward pair of the course API, with the inputs used to check it.

    Args:
        topic: the id's topic (stem of the function names).
        forward, backward: conventional names.
        make: ctx -> (differentiable inputs by name, extra arguments), fresh float64 arrays.
        out_shape: (inputs, args) -> the expected shape of out.
        hint: the forward formula, told to a student whose values differ.
        deterministic: whether two calls on the same inputs must agree (dropout: see its seed check).
        more: further input cases for the forward comparison and the gradient check, as
            (words, make, hint): conv at stride 2, since a stride of 1 hides a window slid pixel
            by pixel; the hint is told when only such a case fails.
    """

    topic: str
    forward: str
    backward: str
    make: Callable[[CheckContext], tuple[dict[str, np.ndarray], tuple]]
    out_shape: Callable[[dict[str, np.ndarray], tuple], tuple]
    hint: str
    deterministic: bool = True
    more: tuple[tuple[str, Callable[[CheckContext], tuple[dict[str, np.ndarray], tuple]], str], ...] = ()


def _same(inputs: dict, args: tuple) -> tuple:
    return inputs["x"].shape


def _conv_shape(inputs: dict, args: tuple) -> tuple:
    x, w = inputs["x"], inputs["w"]
    stride, pad = args[0]["stride"], args[0]["pad"]
    return (x.shape[0], w.shape[0], 1 + (x.shape[2] + 2 * pad - w.shape[2]) // stride,
            1 + (x.shape[3] + 2 * pad - w.shape[3]) // stride)


def _pool_shape(x_shape: tuple, pool_param: dict) -> tuple:
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x_shape
    return (N, C, 1 + (H - ph) // stride, 1 + (W - pw) // stride)


def _affine_inputs(ctx: CheckContext) -> tuple[dict, tuple]:
    rng = ctx.rng
    return {"x": randn(rng, 4, 5), "w": randn(rng, 5, 3), "b": randn(rng, 3)}, ()


def _kinked_inputs(ctx: CheckContext) -> tuple[dict, tuple]:
    # Away from 0 so no central difference crosses the ReLU kink.
    return {"x": away_from_zero(ctx.rng, 4, 5)}, ()


def _smooth_inputs(ctx: CheckContext) -> tuple[dict, tuple]:
    return {"x": randn(ctx.rng, 4, 5, scale=2.0)}, ()


def _norm_inputs(ctx: CheckContext, param: dict) -> tuple[dict, tuple]:
    rng = ctx.rng
    # Features with their own offsets and scales; gamma and beta random so a swapped or
    # forgotten gamma/beta cannot pass by accident.
    x = randn(rng, 8, 4) * rng.uniform(0.5, 3, 4) + rng.uniform(-2, 2, 4)
    return {"x": x, "gamma": _positive(rng, 4), "beta": randn(rng, 4)}, (param,)


def _dropout_inputs(ctx: CheckContext) -> tuple[dict, tuple]:
    return ({"x": away_from_zero(ctx.rng, 6, 5)},
            ({"mode": "train", "p": dropout_p(ctx, 0.7), "seed": 123 + ctx.seed},))


def _conv_inputs(ctx: CheckContext) -> tuple[dict, tuple]:
    rng = ctx.rng
    # N=3, not 2: a factor of 2 in a gradient then cannot pass for the batch size.
    return ({"x": randn(rng, 3, 3, 5, 5), "w": randn(rng, 3, 3, 3, 3, scale=0.5), "b": randn(rng, 3)},
            ({"stride": 1, "pad": 1},))


def _conv_stride2_inputs(ctx: CheckContext) -> tuple[dict, tuple]:
    rng = ctx.rng
    # Odd sides with pad 1: windows at stride 2 tile the padded input exactly, so a window slid
    # one pixel at a time reads different pixels (and gives another output shape with pad 1).
    return ({"x": randn(rng, 2, 3, 7, 7), "w": randn(rng, 4, 3, 3, 3, scale=0.5), "b": randn(rng, 4)},
            ({"stride": 2, "pad": 1},))


STRIDE2 = (("stride 2", _conv_stride2_inputs,
            "right with stride 1, wrong with stride 2: the window must move by stride, "
            "x_pad[:, :, i*stride:i*stride+HH, j*stride:j*stride+WW] (in backward too: "
            "dx_pad and dw accumulate over the same strided windows)"),)


def _pool_inputs(ctx: CheckContext) -> tuple[dict, tuple]:
    # Distinct values 1e-2 apart: every window has one clear maximum, no tie and no kink.
    return {"x": distinct_values(ctx.rng, 2, 3, 4, 4)}, ({"pool_height": 2, "pool_width": 2, "stride": 2},)


def _pool_wide_inputs(ctx: CheckContext) -> tuple[dict, tuple]:
    # W / pool_width = 3 != pool_width: a reshape to (N, C, ph, H // ph, pw, W // pw), right
    # on a 4x4 input, pools the wrong pixels (or gives the wrong shape) here.
    return {"x": distinct_values(ctx.rng, 2, 3, 4, 6)}, ({"pool_height": 2, "pool_width": 2, "stride": 2},)


WIDE_POOL = (("a non-square x (2, 3, 4, 6)", _pool_wide_inputs,
              "right on a 4x4 input, wrong on a 4x6 one: for non-overlapping windows reshape x to "
              "(N, C, H // pool_height, pool_height, W // pool_width, pool_width) and take the max "
              "over axes (3, 5); the window index comes after its block index"),)


def _spatial_bn_inputs(ctx: CheckContext) -> tuple[dict, tuple]:
    rng = ctx.rng
    x = randn(rng, 2, 3, 4, 5) * rng.uniform(0.5, 3, (1, 3, 1, 1)) + rng.uniform(-2, 2, (1, 3, 1, 1))
    return {"x": x, "gamma": _positive(rng, 3), "beta": randn(rng, 3)}, ({"mode": "train"},)


def _spatial_gn_inputs(ctx: CheckContext) -> tuple[dict, tuple]:
    rng = ctx.rng
    shape = _gn_shape(ctx, 6)
    x = randn(rng, 2, 6, 3, 4) * 2 + 1
    return {"x": x, "gamma": _positive(rng, *shape), "beta": randn(rng, *shape)}, (2, {})


def _affine_relu_inputs(ctx: CheckContext) -> tuple[dict, tuple]:
    rng = ctx.rng
    return {"x": randn(rng, 4, 5), "w": randn(rng, 5, 6), "b": randn(rng, 6)}, ()


def _affine_bn_relu_inputs(ctx: CheckContext) -> tuple[dict, tuple]:
    rng = ctx.rng
    return ({"x": randn(rng, 6, 5), "w": randn(rng, 5, 4), "b": randn(rng, 4),
             "gamma": _positive(rng, 4), "beta": randn(rng, 4)}, ({"mode": "train"},))


def _conv_relu_pool_inputs(ctx: CheckContext) -> tuple[dict, tuple]:
    inputs, (conv_param,) = _conv_inputs(ctx)
    inputs["x"] = randn(ctx.rng, 2, 3, 4, 4)
    # The last filter's bias far below its outputs: whole pooling windows are negative before the
    # ReLU, so a backward that skips the ReLU mask sends gradient where there is none.
    inputs["b"][-1] = -30.0
    return inputs, (conv_param, {"pool_height": 2, "pool_width": 2, "stride": 2})


LAYERS = (
    Layer("affine", "affine_forward", "affine_backward", _affine_inputs,
          lambda i, a: (i["x"].shape[0], i["w"].shape[1]),
          "out = x.reshape(x.shape[0], -1) @ w + b"),
    Layer("relu", "relu_forward", "relu_backward", _kinked_inputs, _same,
          "out = np.maximum(0, x)"),
    Layer("leaky_relu", "leaky_relu_forward", "leaky_relu_backward", _kinked_inputs, _same,
          "out = np.where(x > 0, x, alpha * x) with the default alpha=0.01"),
    Layer("sigmoid", "sigmoid_forward", "sigmoid_backward", _smooth_inputs, _same,
          "out = 1 / (1 + np.exp(-x))"),
    Layer("tanh", "tanh_forward", "tanh_backward", _smooth_inputs, _same, "out = np.tanh(x)"),
    Layer("batchnorm", "batchnorm_forward", "batchnorm_backward",
          lambda ctx: _norm_inputs(ctx, {"mode": "train"}), _same,
          "normalise each feature over the batch: mu = x.mean(axis=0), var = x.var(axis=0), "
          "xhat = (x - mu) / np.sqrt(var + eps), out = gamma * xhat + beta"),
    Layer("layernorm", "layernorm_forward", "layernorm_backward",
          lambda ctx: _norm_inputs(ctx, {}), _same,
          "normalise each sample over its features: mu = x.mean(axis=1, keepdims=True), "
          "var = x.var(axis=1, keepdims=True), out = gamma * (x - mu) / np.sqrt(var + eps) + beta"),
    Layer("dropout", "dropout_forward", "dropout_backward", _dropout_inputs, _same,
          "mask = (np.random.rand(*x.shape) < p) / p; out = x * mask", deterministic=False),
    Layer("conv", "conv_forward_naive", "conv_backward_naive", _conv_inputs, _conv_shape,
          "pad with np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))), then "
          "out[n, f, i, j] = np.sum(x_pad[n, :, i*stride:i*stride+HH, j*stride:j*stride+WW] * w[f]) + b[f]",
          more=STRIDE2),
    Layer("conv_fast", "conv_forward_fast", "conv_backward_fast", _conv_inputs, _conv_shape,
          "the fast convolution must give the same numbers as conv_forward_naive", more=STRIDE2),
    Layer("max_pool", "max_pool_forward_naive", "max_pool_backward_naive", _pool_inputs,
          lambda i, a: _pool_shape(i["x"].shape, a[0]),
          "out[n, c, i, j] = x[n, c, i*stride:i*stride+pool_height, j*stride:j*stride+pool_width].max()",
          more=WIDE_POOL),
    Layer("max_pool_fast", "max_pool_forward_fast", "max_pool_backward_fast", _pool_inputs,
          lambda i, a: _pool_shape(i["x"].shape, a[0]),
          "the fast max pool must give the same numbers as max_pool_forward_naive", more=WIDE_POOL),
    Layer("spatial_batchnorm", "spatial_batchnorm_forward", "spatial_batchnorm_backward",
          _spatial_bn_inputs, _same,
          "statistics per channel over N, H and W: x.transpose(0, 2, 3, 1).reshape(-1, C) through "
          "batchnorm_forward, then reshape(N, H, W, C).transpose(0, 3, 1, 2)"),
    Layer("spatial_groupnorm", "spatial_groupnorm_forward", "spatial_groupnorm_backward",
          _spatial_gn_inputs, _same,
          "statistics per sample and group: g = x.reshape(N, G, -1), mean and var over axis=2 "
          "(keepdims=True), reshape back to (N, C, H, W), then gamma * xhat + beta per channel"),
    Layer("affine_relu", "affine_relu_forward", "affine_relu_backward", _affine_relu_inputs,
          lambda i, a: (i["x"].shape[0], i["w"].shape[1]),
          "affine_forward then relu_forward, returning (out, (fc_cache, relu_cache))"),
    Layer("affine_bn_relu", "affine_bn_relu_forward", "affine_bn_relu_backward",
          _affine_bn_relu_inputs, lambda i, a: (i["x"].shape[0], i["w"].shape[1]),
          "affine_forward, batchnorm_forward, then relu_forward"),
    Layer("conv_relu", "conv_relu_forward", "conv_relu_backward", _conv_inputs, _conv_shape,
          "conv_forward_fast then relu_forward", more=STRIDE2),
    Layer("conv_relu_pool", "conv_relu_pool_forward", "conv_relu_pool_backward",
          _conv_relu_pool_inputs,
          lambda i, a: _pool_shape(_conv_shape(i, a), a[1]),
          "conv_forward_fast, relu_forward, then max_pool_forward_fast"),
)


# ---------------------------------------------------------------- generic aspects

def _interface(layer: Layer, ctx: CheckContext) -> Outcome:
    """Forward returns (out, cache), out of the right shape in float64, inputs untouched, same twice."""
    inputs, args = layer.make(ctx)
    expected_shape = layer.out_shape(inputs, args)
    call_args = (*inputs.values(), *args)
    subject = layer.forward
    results: list = []

    def call() -> None:
        with global_random_preserved():
            results.append(forward_pair(ctx, subject, *call_args))

    problem = inputs_unchanged(call, inputs, subject=subject)
    out = results[0][0]
    problem = first_problem(shape_problem(out, "out", expected_shape, subject=subject),
                            dtype_problem(out, "out", subject=subject), problem)
    if problem is None and layer.deterministic:
        fresh = snapshot((inputs, args))

        def again() -> np.ndarray:
            with global_random_preserved():
                again_inputs, again_args = snapshot(fresh)
                return forward_pair(ctx, subject, *again_inputs.values(), *again_args)[0]

        problem = deterministic(again, subject=subject)
    if problem is not None:
        return problem
    return passed(f"{subject} returns (out, cache) with out of shape {out.shape} in float64, "
                  f"leaves its inputs unchanged" + (" and is deterministic" if layer.deterministic else ""))


def _forward_case(layer: Layer, ctx: CheckContext, make: Callable) -> Outcome:
    """out equals the reference's on the inputs `make` draws."""
    inputs, args = make(ctx)
    reference_out, _ = ctx.ref(layer.forward)(*snapshot(inputs).values(), *snapshot(args))
    with global_random_preserved():
        out, _ = forward_pair(ctx, layer.forward, *inputs.values(), *args)
    shapes = ", ".join(f"{name} {a.shape}" for name, a in inputs.items())
    return compare_arrays(out, reference_out, "out", subject=layer.forward, hint=layer.hint, what=shapes)


def _gradcheck_case(layer: Layer, ctx: CheckContext, backward: str, make: Callable) -> Outcome:
    """Every input's gradient on the inputs `make` draws, through the engine's gradcheck."""
    from sanitykit.engine.gradcheck import gradcheck

    inputs, args = make(ctx)
    forward_fn, backward_fn = ctx.fn(layer.forward), ctx.fn(backward)
    with global_random_preserved():
        result = gradcheck(forward_fn, backward_fn, *inputs.values(), args=args, names=tuple(inputs),
                           seed=ctx.seed, subject=backward)
    return result.to_outcome()


def only_in_case(first: Outcome, later: Outcome, words: str, hint: str) -> Outcome:
    """`later`, a failure on the extra case `words`, told that the first case passed and why that matters.

    A conv right at stride 1 and wrong at stride 2 almost always ignores the stride somewhere.
    """
    if first.status != "pass":
        return later
    return Outcome(later.status, f"with {words} (the first case passes): {later.message}",
                   f"{hint}\n{later.hint}" if later.hint else hint, {**later.details, "case": words})


def _over_cases(layer: Layer, ctx: CheckContext, run: Callable[[Callable], Outcome]) -> Outcome:
    """`run(make)` on each of the layer's input cases; the first non-pass, told which case it is."""
    first = run(layer.make)
    if first.status not in ("pass", "warn"):
        return first
    for words, make, hint in layer.more:
        outcome = run(make)
        if outcome.status not in ("pass", "warn"):
            return only_in_case(first, outcome, words, hint)
    return first


def _forward(layer: Layer, ctx: CheckContext) -> Outcome:
    """out equals the reference's on random inputs (every case of the layer)."""
    return _over_cases(layer, ctx, lambda make: _forward_case(layer, ctx, make))


def _gradcheck(layer: Layer, ctx: CheckContext, backward: str) -> Outcome:
    """Every input's gradient through the engine's gradcheck (every case of the layer)."""
    return _over_cases(layer, ctx, lambda make: _gradcheck_case(layer, ctx, backward, make))


_BEHAVIOUR: dict[str, list[tuple[str, dict, Callable]]] = {}


def behaviour(id: str, **kwargs: Any) -> Callable:
    """Declare a layer-specific check; registered by _declare after its layer's forward check, so a
    report lists each layer's checks together (default dependency: the layer's interface check)."""
    def keep(func: Callable[[CheckContext], Outcome]) -> Callable[[CheckContext], Outcome]:
        _BEHAVIOUR.setdefault(id.split(".")[1], []).append((id, kwargs, func))
        return func

    return keep


# Sandwich topic -> the layers it is built from (layer_utils calls them by global name).
SANDWICH_PARTS = {
    "affine_relu": ("affine", "relu"),
    "affine_bn_relu": ("affine", "batchnorm", "relu"),
    "conv_relu": ("conv", "conv_fast", "relu"),
    "conv_relu_pool": ("conv", "conv_fast", "relu", "max_pool", "max_pool_fast"),
    # Not sandwiches, but the course's spatial versions reshape and call the vanilla layer.
    "spatial_batchnorm": ("batchnorm",),
    "spatial_groupnorm": ("layernorm",),
}
# Functions a part has besides its forward/backward pair (the course's alternative backward).
PART_EXTRAS = {"batchnorm": ("batchnorm_backward_alt",)}


def _blamed(layer: Layer, compute: Callable[[CheckContext], Outcome],
            owner: str) -> Callable[[CheckContext], Outcome]:
    """A sandwich's check, blamed on a part whose own check failed (the plain check otherwise).

    affine_relu_backward with a buggy affine_backward fails its gradient check too: it is rerun
    with the reference parts bound in the user's layer_utils, and skipped if it then passes.
    spatial_batchnorm_backward calling a buggy batchnorm_backward_alt is blamed the same way.
    """
    parts = SANDWICH_PARTS.get(layer.topic)
    if parts is None:
        return compute
    by_topic = {entry.topic: entry for entry in LAYERS}
    subjects = [name for part in parts
                for name in (by_topic[part].forward, by_topic[part].backward, *PART_EXTRAS.get(part, ()))]
    return with_blame(subjects=subjects, exclude=(layer.forward, layer.backward), owner=owner)(compute)


def _declare(layer: Layer) -> None:
    """Register interface, forward, behaviour checks and gradcheck for `layer`.

    Dropout has no forward check against the reference: its mask is random, so the
    behaviour checks (keep ratio, scaling, seed) take its place. A sandwich's checks are
    blamed on its failed parts (checks/blame.py).
    """
    interface_id = f"layers.{layer.topic}.interface"
    check(interface_id, subject=layer.forward,
          title="returns (out, cache); shape, float64, no input mutation" +
                (", deterministic" if layer.deterministic else ""),
          )(_blamed(layer, lambda ctx: _interface(layer, ctx), layer.forward))
    if layer.topic != "dropout":
        check(f"layers.{layer.topic}.forward", subject=layer.forward,
              title="matches the reference on random inputs", depends_on=(interface_id,),
              )(_blamed(layer, lambda ctx: _forward(layer, ctx), layer.forward))
    for behaviour_id, kwargs, func in _BEHAVIOUR.get(layer.topic, ()):
        kwargs.setdefault("depends_on", (interface_id,))
        check(behaviour_id, **kwargs)(func)
    depends = (interface_id, "layers.dropout.seed") if layer.topic == "dropout" else (interface_id,)
    check(f"layers.{layer.topic}.gradcheck", subject=layer.backward,
          title="gradient of every input matches finite differences", depends_on=depends,
          needs=(layer.forward, layer.backward),
          )(_blamed(layer, lambda ctx: _gradcheck(layer, ctx, layer.backward), layer.backward))
    if layer.topic == "batchnorm":
        check("layers.batchnorm.gradcheck_alt", subject="batchnorm_backward_alt",
              title="batchnorm_backward_alt's gradients match finite differences",
              depends_on=(interface_id,), needs=("batchnorm_forward", "batchnorm_backward_alt"),
              )(lambda ctx: _gradcheck(layer, ctx, "batchnorm_backward_alt"))


# ---------------------------------------------------------------- affine on images

@behaviour("layers.affine.multidim", subject="affine_forward",
           title="flattens an N x d1 x d2 x d3 input; dx keeps x's shape", needs=("affine_forward", "affine_backward"))
def affine_multidim(ctx: CheckContext) -> Outcome:
    rng = ctx.rng
    x, w, b = randn(rng, 3, 2, 4, 3), randn(rng, 24, 5), randn(rng, 5)
    hint = "flatten each example first: x.reshape(x.shape[0], -1) @ w + b"
    try:
        out, cache = forward_pair(ctx, "affine_forward", x, w, b)
    except UserCodeError as exc:
        # It worked on (N, D) inputs (the interface check): failing on images is the bug itself.
        return failed(f"{exc.reason} on x of shape (3, 2, 4, 3) with w of shape (24, 5)", hint=hint)
    expected, _ = ctx.ref("affine_forward")(x, w, b)
    outcome = compare_arrays(out, expected, "out", subject="affine_forward", hint=hint,
                             what="x of shape (3, 2, 4, 3), w (24, 5)")
    if outcome.status != "pass":
        return outcome
    dout = randn(rng, 3, 5)
    dx, _, _ = call_backward(ctx, "affine_backward", dout, cache, ("dx", "dw", "db"))
    problem = shape_problem(dx, "dx", x.shape, subject="affine_backward",
                            hint="reshape dx back to the input's shape: dx = (dout @ w.T).reshape(x.shape)")
    return problem or passed("out of shape (3, 5) from x of shape (3, 2, 4, 3), and dx of shape (3, 2, 4, 3)")


# ---------------------------------------------------------------- batchnorm

def _bn_batch(ctx: CheckContext, N: int = 64, D: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x with per-feature means far from 0 and stds far from 1, and random gamma, beta."""
    rng = ctx.rng
    x = randn(rng, N, D) * rng.uniform(2, 4, D) + rng.uniform(3, 6, D)
    return x, _positive(rng, D), randn(rng, D)


@behaviour("layers.batchnorm.train_stats", subject="batchnorm_forward",
           title="train mode: each feature of out has mean beta and std gamma")
def batchnorm_train_stats(ctx: CheckContext) -> Outcome:
    x, gamma, beta = _bn_batch(ctx)
    out, _ = forward_pair(ctx, "batchnorm_forward", x, gamma, beta, {"mode": "train", "eps": BN_EPS})
    if out.shape != x.shape:
        return shape_problem(out, "out", x.shape, subject="batchnorm_forward")
    mean, std = out.mean(axis=0), out.std(axis=0)
    # Exact up to eps: std(xhat) = sqrt(var / (var + eps)), var >= 4 here, so 1e-4 is loose.
    mean_err = np.abs(mean - beta).max() / np.abs(beta).max()
    std_err = np.abs(std / gamma - 1).max()
    if mean_err < 1e-4 and std_err < 1e-4:
        return passed(f"per-feature mean = beta and std = gamma within {max(mean_err, std_err):.0e} "
                      f"(N={x.shape[0]}, D={x.shape[1]})")
    j = int(np.argmax(np.abs(mean - beta) / np.abs(beta).max() + np.abs(std / gamma - 1)))
    ratio = std / gamma
    if np.allclose(ratio, np.sqrt((len(x) - 1) / len(x)), rtol=1e-4):
        hint = "use the biased variance, x.var(axis=0) (ddof=0), as the course does"
    elif np.allclose(out.mean(axis=1), beta.mean(), atol=1e-6) or np.allclose(out.std(axis=1), 1, atol=1e-3):
        hint = "the statistics were taken over axis=1 (each sample); batchnorm normalises each feature over the batch: axis=0"
    elif np.allclose(mean, 0, atol=1e-6) and np.allclose(std, 1, atol=1e-3):
        hint = "gamma and beta are not applied: out = gamma * xhat + beta"
    else:
        hint = ("normalise with the batch statistics: xhat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps), "
                "then out = gamma * xhat + beta")
    return failed(f"in train mode feature {j} of out has mean {mean[j]:.4g} (beta = {beta[j]:.4g}) and "
                  f"std {std[j]:.4g} (gamma = {gamma[j]:.4g})", hint=hint,
                  max_mean_error=float(mean_err), max_std_error=float(std_err))


@behaviour("layers.batchnorm.test_mode", subject="batchnorm_forward",
           title="test mode normalises with the running statistics, not the batch's")
def batchnorm_test_mode(ctx: CheckContext) -> Outcome:
    x, gamma, beta = _bn_batch(ctx, N=16)
    rng = ctx.rng
    # Running statistics far from the batch's, so the two normalisations give different numbers.
    running_mean, running_var = randn(rng, x.shape[1]), rng.uniform(0.5, 1.5, x.shape[1])
    bn_param = {"mode": "test", "eps": BN_EPS, "running_mean": running_mean.copy(),
                "running_var": running_var.copy()}
    out, _ = forward_pair(ctx, "batchnorm_forward", x, gamma, beta, bn_param)
    expected = gamma * (x - running_mean) / np.sqrt(running_var + BN_EPS) + beta
    with_batch = gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + BN_EPS) + beta
    if out.shape == x.shape and np.allclose(out, with_batch, rtol=1e-6, atol=1e-8):
        gap = float(np.abs(with_batch - expected).max())
        return failed("in test mode out is normalised with the batch's own mean and variance; with "
                      f"running_mean and running_var it would differ by up to {gap:.3g}",
                      hint="at test time use bn_param['running_mean'] and bn_param['running_var'], "
                           "not x.mean(axis=0) and x.var(axis=0)")
    outcome = compare_arrays(out, expected, "out", subject="batchnorm_forward",
                             what="test mode, running statistics given",
                             hint="in test mode: out = gamma * (x - running_mean) / "
                                  "np.sqrt(running_var + eps) + beta")
    if outcome.status != "pass":
        return outcome
    for key, value in (("running_mean", running_mean), ("running_var", running_var)):
        if not np.array_equal(np.asarray(bn_param.get(key)), value):
            return failed(f"test mode changed bn_param['{key}']",
                          hint="update the running averages only in train mode")
    return passed("test mode uses running_mean and running_var and leaves them unchanged")


def _running_problem(key: str, got: Any, previous: np.ndarray, batch: np.ndarray,
                     momentum: float, how: str, unbiased: np.ndarray | None = None) -> Outcome | None:
    """A failed Outcome when bn_param[key] is not momentum * previous + (1 - momentum) * batch."""
    expected = momentum * previous + (1 - momentum) * batch
    if got is None:
        return failed(f"bn_param has no '{key}' after a train-mode forward ({how})",
                      hint=f"store it back: bn_param['{key}'] = {key}")
    got = np.asarray(got, dtype=np.float64)
    if got.shape == expected.shape and np.allclose(got, expected, rtol=1e-7, atol=1e-10):
        return None
    swapped = (1 - momentum) * previous + momentum * batch
    if got.shape == expected.shape and np.allclose(got, swapped, rtol=1e-7, atol=1e-10):
        hint = (f"momentum and 1 - momentum are swapped: {key} = momentum * {key} + "
                f"(1 - momentum) * batch statistic")
    elif got.shape == expected.shape and np.allclose(got, previous):
        hint = f"{key} was not updated: assign bn_param['{key}'] = momentum * {key} + (1 - momentum) * ..."
    elif unbiased is not None and got.shape == expected.shape and np.allclose(
            got, momentum * previous + (1 - momentum) * unbiased, rtol=1e-7):
        hint = "use the biased batch variance x.var(axis=0), as the course does"
    elif got.shape == expected.shape and np.allclose(got, batch):
        hint = f"{key} holds only the last batch: keep the moving average, momentum * {key} + (1 - momentum) * batch"
    else:
        hint = f"{key} = momentum * {key} + (1 - momentum) * the batch's statistic"
    worst = int(np.argmax(np.abs(got - expected))) if got.shape == expected.shape else 0
    return failed(f"bn_param['{key}'] after one train step ({how}) is "
                  f"{np.array2string(got.ravel()[:3], precision=4)}..., expected "
                  f"{np.array2string(expected.ravel()[:3], precision=4)}... "
                  f"(momentum {momentum:g})", hint=hint, feature=worst)


@behaviour("layers.batchnorm.running_average", subject="batchnorm_forward",
           title="train mode updates running_mean/var by the momentum formula, in bn_param")
def batchnorm_running_average(ctx: CheckContext) -> Outcome:
    x, gamma, beta = _bn_batch(ctx, N=16)
    D = x.shape[1]
    mu, var, unbiased = x.mean(axis=0), x.var(axis=0), x.var(axis=0, ddof=1)
    rng = ctx.rng
    start_mean, start_var = randn(rng, D), rng.uniform(0.5, 2, D)
    bn_param = {"mode": "train", "momentum": 0.8, "running_mean": start_mean.copy(),
                "running_var": start_var.copy()}
    forward_pair(ctx, "batchnorm_forward", x, gamma, beta, bn_param)
    how = "momentum 0.8, running statistics given"
    problem = first_problem(
        _running_problem("running_mean", bn_param.get("running_mean"), start_mean, mu, 0.8, how),
        _running_problem("running_var", bn_param.get("running_var"), start_var, var, 0.8, how, unbiased))
    if problem:
        return problem
    # The course's defaults: momentum 0.9, running statistics starting at zeros.
    bn_param = {"mode": "train"}
    forward_pair(ctx, "batchnorm_forward", x, gamma, beta, bn_param)
    how = "no momentum or running statistics given: defaults 0.9 and zeros"
    zeros = np.zeros(D)
    problem = first_problem(
        _running_problem("running_mean", bn_param.get("running_mean"), zeros, mu, 0.9, how),
        _running_problem("running_var", bn_param.get("running_var"), zeros, var, 0.9, how, unbiased))
    return problem or passed("running_mean and running_var follow momentum * running + (1 - momentum) * batch, "
                             "stored in bn_param (defaults: momentum 0.9, zeros)")


# ---------------------------------------------------------------- layernorm

@behaviour("layers.layernorm.per_sample_stats", subject="layernorm_forward",
           title="each sample of out has mean 0 and std 1 over its features (gamma=1, beta=0)")
def layernorm_per_sample_stats(ctx: CheckContext) -> Outcome:
    rng = ctx.rng
    N, D = 6, 40
    # Each sample with its own offset and scale, so per-feature statistics are not per-sample ones.
    x = randn(rng, N, D) * rng.uniform(2, 4, (N, 1)) + rng.uniform(-6, 6, (N, 1))
    out, _ = forward_pair(ctx, "layernorm_forward", x, np.ones(D), np.zeros(D), {"eps": BN_EPS})
    if out.shape != x.shape:
        return shape_problem(out, "out", x.shape, subject="layernorm_forward")
    mean, std = out.mean(axis=1), out.std(axis=1)
    err = max(np.abs(mean).max(), np.abs(std - 1).max())
    if err < 1e-4:
        return passed(f"every sample normalised over its {D} features: mean 0 and std 1 within {err:.0e}")
    i = int(np.argmax(np.abs(mean) + np.abs(std - 1)))
    if np.allclose(out.mean(axis=0), 0, atol=1e-6):
        hint = "statistics were taken over the batch (axis=0); layernorm uses each sample's features: axis=1, keepdims=True"
    else:
        hint = "mu = x.mean(axis=1, keepdims=True); var = x.var(axis=1, keepdims=True); xhat = (x - mu) / np.sqrt(var + eps)"
    return failed(f"sample {i} of out has mean {mean[i]:.4g} and std {std[i]:.4g} over its features "
                  f"(expected 0 and 1 with gamma=1, beta=0)", hint=hint, max_error=float(err))


# ---------------------------------------------------------------- dropout

KEEP = 0.7  # not 0.5, so that keeping with probability p and with 1 - p look different


def _dropout_train(ctx: CheckContext, x: np.ndarray, keep: float, seed: int) -> np.ndarray:
    """The user's train-mode dropout output for keep probability `keep` and a seed."""
    with global_random_preserved():
        out, _ = forward_pair(ctx, "dropout_forward", x,
                              {"mode": "train", "p": dropout_p(ctx, keep), "seed": seed})
    return out


def _ones_like_input(ctx: CheckContext, shape: tuple = (100, 100)) -> np.ndarray:
    """Positive inputs in [1, 2): a zero in out can only be a dropped unit."""
    return 1 + ctx.rng.random(shape)


@behaviour("layers.dropout.keep_ratio", subject="dropout_forward",
           title="train mode keeps about p of the units")
def dropout_keep_ratio(ctx: CheckContext) -> Outcome:
    x = _ones_like_input(ctx)
    out = _dropout_train(ctx, x, KEEP, 1 + ctx.seed)
    if out.shape != x.shape:
        return shape_problem(out, "out", x.shape, subject="dropout_forward")
    n = x.size
    kept = float(np.mean(out != 0))
    sigma = np.sqrt(KEEP * (1 - KEEP) / n)
    bound = 5 * sigma  # five binomial standard deviations: a false alarm about once in 3 million
    details = dict(kept_fraction=kept, keep=KEEP, bound=float(bound), n=n)
    words = _p_words(ctx, KEEP)
    if abs(kept - KEEP) <= bound:
        return passed(f"kept {kept:.3f} of {n} units with {words}, within {bound:.3f} (5 binomial std) "
                      f"of {KEEP}", **details)
    if abs(kept - (1 - KEEP)) <= bound:
        hint = ("p is read as the drop probability; in this course p is the KEEP probability: "
                "mask = np.random.rand(*x.shape) < p (not > p, not < 1 - p)")
    elif kept == 1.0:
        hint = "no unit was dropped in train mode: apply the mask, out = x * mask"
    else:
        hint = "draw the mask as np.random.rand(*x.shape) < p so each unit is kept with probability p"
    return failed(f"kept {kept:.3f} of {n} units with {words}; expected {KEEP} +- {bound:.3f} "
                  f"(5 binomial std, sqrt(p(1-p)/n) = {sigma:.4f})", hint=hint, **details)


@behaviour("layers.dropout.scaling", subject="dropout_forward",
           title="inverted dropout: kept units are scaled by 1/p in train mode")
def dropout_scaling(ctx: CheckContext) -> Outcome:
    x = _ones_like_input(ctx, (20, 50))
    out = _dropout_train(ctx, x, KEEP, 2 + ctx.seed)
    if out.shape != x.shape:
        return shape_problem(out, "out", x.shape, subject="dropout_forward")
    kept = out != 0
    if not kept.any():
        return failed(f"train mode dropped every unit with {_p_words(ctx, KEEP)}",
                      hint="keep a unit when np.random.rand(*x.shape) < p")
    scale = out[kept] / x[kept]
    if np.allclose(scale, 1 / KEEP, rtol=1e-7):
        return passed(f"kept units are x / p = x * {1 / KEEP:.4g} (inverted dropout)")
    typical = float(np.median(scale))
    if np.isclose(typical, 1):
        hint = ("kept units are not rescaled: in train mode divide the mask by p, "
                "mask = (np.random.rand(*x.shape) < p) / p, so that test mode needs no scaling")
    elif np.isclose(typical, KEEP):
        hint = "kept units were multiplied by p: divide by p instead, mask = (np.random.rand(*x.shape) < p) / p"
    elif np.isclose(typical, 1 / (1 - KEEP)):
        hint = "kept units were divided by 1 - p: p is the keep probability, divide by p"
    else:
        hint = "mask = (np.random.rand(*x.shape) < p) / p; out = x * mask"
    spread = "" if np.allclose(scale, typical) else f" (ranging {scale.min():.4g} to {scale.max():.4g})"
    return failed(f"kept units are x * {typical:.4g}{spread} with {_p_words(ctx, KEEP)}; "
                  f"inverted dropout scales them by 1/p = {1 / KEEP:.4g}", hint=hint, scale=typical)


@behaviour("layers.dropout.test_identity", subject="dropout_forward",
           title="test mode returns x unchanged")
def dropout_test_identity(ctx: CheckContext) -> Outcome:
    x = _ones_like_input(ctx, (10, 20))
    with global_random_preserved():
        out, _ = forward_pair(ctx, "dropout_forward", x.copy(),
                              {"mode": "test", "p": dropout_p(ctx, KEEP), "seed": 3 + ctx.seed})
    if out.shape == x.shape and np.array_equal(out, x):
        return passed("test mode returns x unchanged")
    if out.shape == x.shape and np.allclose(out, x * KEEP):
        hint = "test mode multiplies by p: with inverted dropout the 1/p is applied in train mode, so test returns x"
    elif out.shape == x.shape and np.any(out == 0):
        hint = "test mode drops units: apply the mask only when dropout_param['mode'] == 'train'"
    else:
        hint = "in test mode: out = x"
    return compare_arrays(out, x, "out", subject="dropout_forward", what="test mode", hint=hint)


@behaviour("layers.dropout.mask_reuse", subject="dropout_backward",
           title="backward applies the forward's mask (and its 1/p)", needs=("dropout_forward", "dropout_backward"))
def dropout_mask_reuse(ctx: CheckContext) -> Outcome:
    x = _ones_like_input(ctx, (20, 30))
    with global_random_preserved():
        out, cache = forward_pair(ctx, "dropout_forward", x,
                                  {"mode": "train", "p": dropout_p(ctx, KEEP), "seed": 4 + ctx.seed})
        dout = randn(ctx.rng, *x.shape)
        (dx,) = call_backward(ctx, "dropout_backward", dout, cache)
    if out.shape != x.shape:
        return shape_problem(out, "out", x.shape, subject="dropout_forward")
    expected = dout * out / x  # the mask of this forward pass, 1/p included
    hint = "in backward use the mask stored in the cache: dx = dout * mask (the same scaled mask as forward)"
    if dx.shape == x.shape and np.allclose(dx, dout * (out != 0)):
        hint = "dx misses the 1/p: store the scaled mask, mask = (np.random.rand(*x.shape) < p) / p, and use dx = dout * mask"
    elif dx.shape == x.shape and np.allclose(dx, dout):
        hint = "backward ignores the mask: in train mode dx = dout * mask, with mask from the cache"
    outcome = compare_arrays(dx, expected, "dx", subject="dropout_backward",
                             what="train mode, dout random; expected dout * the forward's mask", hint=hint)
    return outcome if outcome.status != "pass" else passed("dx = dout * the mask of the forward pass, 1/p included")


@behaviour("layers.dropout.seed", subject="dropout_forward",
           title="same seed gives the same mask, another seed another mask")
def dropout_seed(ctx: CheckContext) -> Outcome:
    x = _ones_like_input(ctx, (20, 30))
    first = _dropout_train(ctx, x, KEEP, 11 + ctx.seed)
    # Disturb the global state between calls: a seed that is honoured makes this irrelevant.
    with global_random_preserved():
        np.random.seed(ctx.seed + 999)
        again = _dropout_train(ctx, x, KEEP, 11 + ctx.seed)
    other = _dropout_train(ctx, x, KEEP, 12 + ctx.seed)
    if not np.array_equal(first != 0, again != 0):
        return failed("two train-mode calls with the same dropout_param['seed'] dropped different units",
                      hint="when 'seed' is in dropout_param call np.random.seed(dropout_param['seed']) "
                           "before drawing the mask")
    if np.array_equal(first != 0, other != 0):
        return failed("train-mode calls with seeds 11 and 12 dropped exactly the same units",
                      hint="seed with dropout_param['seed'], not a fixed number, and draw a fresh "
                           "mask on every call")
    return passed("the same seed reproduces the mask; another seed changes it")


# ---------------------------------------------------------------- output shapes

CONV_SHAPES = (  # (x shape, w shape, stride, pad): each divides evenly, as the course asserts
    ((2, 3, 7, 5), (4, 3, 3, 3), 1, 1),
    ((2, 3, 7, 5), (4, 3, 3, 3), 2, 1),
    ((2, 3, 7, 5), (4, 3, 3, 3), 1, 0),
    ((2, 3, 7, 5), (4, 3, 3, 1), 2, 0),
    ((1, 2, 8, 8), (2, 2, 3, 3), 3, 2),
)
POOL_SHAPES = (  # (x shape, pool_height, pool_width, stride)
    ((2, 3, 8, 6), 2, 2, 2),
    ((2, 3, 8, 6), 3, 3, 1),
    ((2, 3, 8, 6), 4, 2, 2),
)


def _conv_shape_hint(got: tuple, x: tuple, w: tuple, stride: int, pad: int) -> str:
    """The formula variant that gives `got`: padding ignored, stride ignored, H and W swapped."""
    def size(n: int, f: int, s: int, p: int) -> int:
        return 1 + (n + 2 * p - f) // s

    variants = {
        "padding is ignored": (size(x[2], w[2], stride, 0), size(x[3], w[3], stride, 0)),
        "padding is counted once, not on both sides": (size(x[2] - pad, w[2], stride, pad),
                                                       size(x[3] - pad, w[3], stride, pad)),
        "stride is ignored": (size(x[2], w[2], 1, pad), size(x[3], w[3], 1, pad)),
        "H and W (or HH and WW) are swapped": (size(x[3], w[3], stride, pad), size(x[2], w[2], stride, pad)),
    }
    for words, spatial in variants.items():
        if len(got) == 4 and tuple(got[2:]) == spatial:
            return f"{words}: H_out = 1 + (H + 2 * pad - HH) // stride, W_out = 1 + (W + 2 * pad - WW) // stride"
    return "H_out = 1 + (H + 2 * pad - HH) // stride, W_out = 1 + (W + 2 * pad - WW) // stride"


def _conv_output_shape(ctx: CheckContext, name: str) -> Outcome:
    rng = ctx.rng
    for x_shape, w_shape, stride, pad in CONV_SHAPES:
        x, w, b = randn(rng, *x_shape), randn(rng, *w_shape), randn(rng, w_shape[0])
        out, _ = forward_pair(ctx, name, x, w, b, {"stride": stride, "pad": pad})
        expected = _conv_shape({"x": x, "w": w}, ({"stride": stride, "pad": pad},))
        if out.shape != expected:
            return failed(f"{name} returned out of shape {out.shape} for x {x_shape}, w {w_shape}, "
                          f"stride {stride}, pad {pad}; expected {expected}",
                          hint=_conv_shape_hint(out.shape, x_shape, w_shape, stride, pad),
                          got_shape=list(out.shape), expected_shape=list(expected))
    return passed(f"out has shape (N, F, H_out, W_out) for {len(CONV_SHAPES)} stride/pad combinations, "
                  f"non-square inputs and filters included")


def _pool_output_shape(ctx: CheckContext, name: str) -> Outcome:
    for x_shape, ph, pw, stride in POOL_SHAPES:
        x = distinct_values(ctx.rng, *x_shape)
        pool_param = {"pool_height": ph, "pool_width": pw, "stride": stride}
        out, _ = forward_pair(ctx, name, x, pool_param)
        expected = _pool_shape(x_shape, pool_param)
        if out.shape != expected:
            swapped = _pool_shape(x_shape, {"pool_height": pw, "pool_width": ph, "stride": stride})
            hint = ("pool_height and pool_width are swapped: " if out.shape == swapped and ph != pw else "") + \
                "H_out = 1 + (H - pool_height) // stride, W_out = 1 + (W - pool_width) // stride"
            return failed(f"{name} returned out of shape {out.shape} for x {x_shape}, pool {ph}x{pw}, "
                          f"stride {stride}; expected {expected}", hint=hint,
                          got_shape=list(out.shape), expected_shape=list(expected))
    return passed(f"out has shape (N, C, H_out, W_out) for {len(POOL_SHAPES)} pool/stride combinations")


for _topic, _name in (("conv", "conv_forward_naive"), ("conv_fast", "conv_forward_fast")):
    behaviour(f"layers.{_topic}.output_shape", subject=_name,
              title="output shape for several stride and padding combinations",
              )(lambda ctx, _name=_name: _conv_output_shape(ctx, _name))

for _topic, _name in (("max_pool", "max_pool_forward_naive"), ("max_pool_fast", "max_pool_forward_fast")):
    behaviour(f"layers.{_topic}.output_shape", subject=_name,
              title="output shape for several pool sizes and strides",
              )(lambda ctx, _name=_name: _pool_output_shape(ctx, _name))

for _layer in LAYERS:
    _declare(_layer)
