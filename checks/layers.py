"""The `layers` suite: per layer, interface, forward against the reference, gradient check, behaviour.

Ids are `layers.<topic>.<aspect>`. Each layer is a `Layer` constant (its functions, inputs and
the reference forward); the generic aspects (`interface`, `forward_matches`, `gradients`) take
a Layer. Every check is declared below with its id written out, layer by layer: the generic
aspects, then the behavioural checks of DESIGN.md (batchnorm statistics, dropout, output
shapes, multi-dimensional affine), in the order a report lists them.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np

from sanitykit.checks.common import (
    away_from_zero, compare_arrays, context_named, deterministic, distinct_values, dtype_problem, first_problem,
    forward_pair, call_backward, global_random_preserved, inputs_unchanged, named, randn,
    shape_problem, snapshot,
)
from sanitykit import reference as ref
from sanitykit.checks.blame import blamed_on, with_blame
from sanitykit.checks.layer_mistakes import (
    SIZE_FORMULA, conv_size_mistakes, explain, first_match, pad_axes_mistake, pads_recorded, pool_size_mistake,
    test_mode_mistakes,
)
from sanitykit.checks.registry import CheckContext, check
from sanitykit.engine import wording
from sanitykit.engine.findings import Finding, Reason
from sanitykit.engine.gradcheck import gradcheck
from sanitykit.engine.results import Outcome, failed, passed
from sanitykit.engine.usercode import NotImplementedYet, UserCodeError

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
        reference: sanitykit's forward, the oracle of the forward check.
        make: ctx -> (differentiable inputs by name, extra arguments), fresh float64 arrays.
        out_shape: (inputs, args) -> the expected shape of out.
        hint: the forward formula, told to a student whose values differ.
        deterministic: whether two calls on the same inputs must agree (dropout: see its seed check).
        more: further input cases for the forward comparison and the gradient check, as
            (words, make, hint): conv at stride 2, since a stride of 1 hides a window slid pixel
            by pixel; the hint is told when only such a case fails.
        forward_more: cases for the forward comparison only (features of tiny variance, where
            eps matters but central differences would be unreliable).
    """

    topic: str
    forward: str
    backward: str
    reference: Callable
    make: Callable[[CheckContext], tuple[dict[str, np.ndarray], tuple]]
    out_shape: Callable[[dict[str, np.ndarray], tuple], tuple]
    hint: str
    deterministic: bool = True
    more: tuple[tuple[str, Callable[[CheckContext], tuple[dict[str, np.ndarray], tuple]], str], ...] = ()
    forward_more: tuple[tuple[str, Callable[[CheckContext], tuple[dict[str, np.ndarray], tuple]], str], ...] = ()


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


def _pool_overlap_inputs(ctx: CheckContext) -> tuple[dict, tuple]:
    # 3x3 windows at stride 2 on a non-square 7x5 input: neighbouring windows share a row or a
    # column, so a backward that assigns (=) where it must accumulate (+=) loses a contribution.
    return {"x": distinct_values(ctx.rng, 2, 2, 7, 5)}, ({"pool_height": 3, "pool_width": 3, "stride": 2},)


def _batch_of_one(make: Callable) -> Callable:
    """`make` with every input of batch length N cut to its first example (N = 1)."""
    def one(ctx: CheckContext) -> tuple[dict, tuple]:
        inputs, args = make(ctx)
        return {**inputs, "x": inputs["x"][:1]}, args

    return one


def _one_example(make: Callable) -> tuple:
    return (("a batch of one example (N = 1)", _batch_of_one(make),
             "right for N > 1, wrong for N = 1: look for np.squeeze, x.reshape(-1, D) or a sum without "
             "an axis, which lose or merge the batch axis when it has length 1"),)


WIDE_POOL = (("a non-square x (2, 3, 4, 6)", _pool_wide_inputs,
              "right on a 4x4 input, wrong on a 4x6 one: for non-overlapping windows reshape x to "
              "(N, C, H // pool_height, pool_height, W // pool_width, pool_width) and take the max "
              "over axes (3, 5); the window index comes after its block index"),
             ("overlapping 3x3 windows at stride 2 on x (2, 2, 7, 5)", _pool_overlap_inputs,
              "right for windows that do not overlap, wrong at stride < pool size: windows share elements, so "
              "the backward must accumulate, dx[..., window] += mask * dout[n, c, i, j], not assign with ="),
             *_one_example(_pool_inputs))


def _spatial_bn_inputs(ctx: CheckContext) -> tuple[dict, tuple]:
    rng = ctx.rng
    x = randn(rng, 2, 3, 4, 5) * rng.uniform(0.5, 3, (1, 3, 1, 1)) + rng.uniform(-2, 2, (1, 3, 1, 1))
    return {"x": x, "gamma": _positive(rng, 3), "beta": randn(rng, 3)}, ({"mode": "train"},)


def _spatial_gn_inputs(ctx: CheckContext) -> tuple[dict, tuple]:
    rng = ctx.rng
    shape = _gn_shape(ctx, 6)
    x = randn(rng, 2, 6, 3, 4) * 2 + 1
    return {"x": x, "gamma": _positive(rng, *shape), "beta": randn(rng, *shape)}, (2, {})


def _tiny_variance(make: Callable) -> Callable:
    """`make` with x scaled by 1e-2: variances of ~1e-4, where eps = 1e-5 changes out by percents."""
    def tiny(ctx: CheckContext) -> tuple[dict, tuple]:
        inputs, args = make(ctx)
        return {**inputs, "x": inputs["x"] * 1e-2}, args

    return tiny


def _tiny_variance_case(make: Callable) -> tuple:
    return (("x of tiny variance (~1e-4, where eps matters)", _tiny_variance(make),
             "right at unit variance, wrong at variance ~1e-4: eps belongs inside the square root, "
             "xhat = (x - mu) / np.sqrt(var + eps)"),)


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


AFFINE = Layer("affine", "affine_forward", "affine_backward", ref.affine_forward, _affine_inputs,
               lambda i, a: (i["x"].shape[0], i["w"].shape[1]), "out = x.reshape(x.shape[0], -1) @ w + b",
               more=_one_example(_affine_inputs))
RELU = Layer("relu", "relu_forward", "relu_backward", ref.relu_forward, _kinked_inputs, _same,
             "out = np.maximum(0, x)", more=_one_example(_kinked_inputs))
LEAKY_RELU = Layer("leaky_relu", "leaky_relu_forward", "leaky_relu_backward", ref.leaky_relu_forward,
                   _kinked_inputs, _same, "out = np.where(x > 0, x, alpha * x) with the default alpha=0.01",
                   more=_one_example(_kinked_inputs))
SIGMOID = Layer("sigmoid", "sigmoid_forward", "sigmoid_backward", ref.sigmoid_forward, _smooth_inputs,
                _same, "out = 1 / (1 + np.exp(-x))", more=_one_example(_smooth_inputs))
TANH = Layer("tanh", "tanh_forward", "tanh_backward", ref.tanh_forward, _smooth_inputs, _same,
             "out = np.tanh(x)", more=_one_example(_smooth_inputs))
# No batch of one for batchnorm (nor affine_bn_relu, built on it): in train mode N = 1 is degenerate,
# the batch variance is 0, so out = beta whatever x is, dx = 0 and dgamma = 0. The course never
# trains on one example, frameworks refuse it (torch: "Expected more than 1 value per channel when
# training"), and a student who raises there too is right; the case would check nothing else.
BATCHNORM = Layer(
    "batchnorm", "batchnorm_forward", "batchnorm_backward", ref.batchnorm_forward,
    lambda ctx: _norm_inputs(ctx, {"mode": "train"}), _same,
    "normalise each feature over the batch: mu = x.mean(axis=0), var = x.var(axis=0), "
    "xhat = (x - mu) / np.sqrt(var + eps), out = gamma * xhat + beta",
    forward_more=_tiny_variance_case(lambda ctx: _norm_inputs(ctx, {"mode": "train"})))
LAYERNORM = Layer(
    "layernorm", "layernorm_forward", "layernorm_backward", ref.layernorm_forward,
    lambda ctx: _norm_inputs(ctx, {}), _same,
    "normalise each sample over its features: mu = x.mean(axis=1, keepdims=True), "
    "var = x.var(axis=1, keepdims=True), out = gamma * (x - mu) / np.sqrt(var + eps) + beta",
    more=_one_example(lambda ctx: _norm_inputs(ctx, {})),
    forward_more=_tiny_variance_case(lambda ctx: _norm_inputs(ctx, {})))
DROPOUT = Layer("dropout", "dropout_forward", "dropout_backward", ref.dropout_forward, _dropout_inputs,
                _same, "mask = (np.random.rand(*x.shape) < p) / p; out = x * mask", deterministic=False,
                more=_one_example(_dropout_inputs))
CONV = Layer(
    "conv", "conv_forward_naive", "conv_backward_naive", ref.conv_forward_naive, _conv_inputs, _conv_shape,
    "pad with np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))), then "
    "out[n, f, i, j] = np.sum(x_pad[n, :, i*stride:i*stride+HH, j*stride:j*stride+WW] * w[f]) + b[f]",
    more=(*STRIDE2, *_one_example(_conv_inputs)))
CONV_FAST = Layer("conv_fast", "conv_forward_fast", "conv_backward_fast", ref.conv_forward_fast,
                  _conv_inputs, _conv_shape,
                  "the fast convolution must give the same numbers as conv_forward_naive",
                  more=(*STRIDE2, *_one_example(_conv_inputs)))
MAX_POOL = Layer(
    "max_pool", "max_pool_forward_naive", "max_pool_backward_naive", ref.max_pool_forward_naive,
    _pool_inputs, lambda i, a: _pool_shape(i["x"].shape, a[0]),
    "out[n, c, i, j] = x[n, c, i*stride:i*stride+pool_height, j*stride:j*stride+pool_width].max()",
    more=WIDE_POOL)
MAX_POOL_FAST = Layer("max_pool_fast", "max_pool_forward_fast", "max_pool_backward_fast",
                      ref.max_pool_forward_fast, _pool_inputs, lambda i, a: _pool_shape(i["x"].shape, a[0]),
                      "the fast max pool must give the same numbers as max_pool_forward_naive",
                      more=WIDE_POOL)
SPATIAL_BATCHNORM = Layer(
    "spatial_batchnorm", "spatial_batchnorm_forward", "spatial_batchnorm_backward",
    ref.spatial_batchnorm_forward, _spatial_bn_inputs, _same,
    "statistics per channel over N, H and W: x.transpose(0, 2, 3, 1).reshape(-1, C) through "
    "batchnorm_forward, then reshape(N, H, W, C).transpose(0, 3, 1, 2)",
    more=_one_example(_spatial_bn_inputs),  # N = 1 still leaves H * W values per channel
    forward_more=_tiny_variance_case(_spatial_bn_inputs))
SPATIAL_GROUPNORM = Layer(
    "spatial_groupnorm", "spatial_groupnorm_forward", "spatial_groupnorm_backward",
    ref.spatial_groupnorm_forward, _spatial_gn_inputs, _same,
    "statistics per sample and group: g = x.reshape(N, G, -1), mean and var over axis=2 "
    "(keepdims=True), reshape back to (N, C, H, W), then gamma * xhat + beta per channel",
    more=_one_example(_spatial_gn_inputs), forward_more=_tiny_variance_case(_spatial_gn_inputs))
AFFINE_RELU = Layer("affine_relu", "affine_relu_forward", "affine_relu_backward", ref.affine_relu_forward,
                    _affine_relu_inputs, lambda i, a: (i["x"].shape[0], i["w"].shape[1]),
                    "affine_forward then relu_forward, returning (out, (fc_cache, relu_cache))",
                    more=_one_example(_affine_relu_inputs))
AFFINE_BN_RELU = Layer("affine_bn_relu", "affine_bn_relu_forward", "affine_bn_relu_backward",
                       ref.affine_bn_relu_forward, _affine_bn_relu_inputs,
                       lambda i, a: (i["x"].shape[0], i["w"].shape[1]),
                       "affine_forward, batchnorm_forward, then relu_forward")
CONV_RELU = Layer("conv_relu", "conv_relu_forward", "conv_relu_backward", ref.conv_relu_forward,
                  _conv_inputs, _conv_shape, "conv_forward_fast then relu_forward",
                  more=(*STRIDE2, *_one_example(_conv_inputs)))
CONV_RELU_POOL = Layer("conv_relu_pool", "conv_relu_pool_forward", "conv_relu_pool_backward",
                       ref.conv_relu_pool_forward, _conv_relu_pool_inputs,
                       lambda i, a: _pool_shape(_conv_shape(i, a), a[1]),
                       "conv_forward_fast, relu_forward, then max_pool_forward_fast",
                       more=_one_example(_conv_relu_pool_inputs))
LAYERS = (AFFINE, RELU, LEAKY_RELU, SIGMOID, TANH, BATCHNORM, LAYERNORM, DROPOUT, CONV, CONV_FAST,
          MAX_POOL, MAX_POOL_FAST, SPATIAL_BATCHNORM, SPATIAL_GROUPNORM, AFFINE_RELU, AFFINE_BN_RELU,
          CONV_RELU, CONV_RELU_POOL)


# ---------------------------------------------------------------- generic aspects

INTERFACE = "returns (out, cache); shape, float64, no input mutation, deterministic"
FORWARD = "matches the reference on random inputs"
GRADCHECK = "gradient of every input matches finite differences"


CONV_TOPICS = ("conv", "conv_fast")  # forwards whose raise or wrong shape conv_forward_named explains


def interface(layer: Layer, ctx: CheckContext) -> Outcome:
    """Forward returns (out, cache), out of the right shape in float64, inputs untouched, same twice."""
    if layer.topic in CONV_TOPICS:
        inputs, args = layer.make(ctx)
        problem = conv_forward_named(ctx, layer.forward, *snapshot(inputs).values(), *snapshot(args))
        if problem is not None:
            return problem
        ctx.rng = np.random.default_rng(ctx.seed)  # the same inputs for the checks below
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
    problem = first_problem(pool_shape_named(layer, inputs, args, out),
                            shape_problem(out, "out", expected_shape, subject=subject),
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


def pool_shape_named(layer: Layer, inputs: dict, args: tuple, out: np.ndarray) -> Outcome | None:
    """A max pool's wrongly shaped out, named when an output-size variant gives it (else None)."""
    if layer.topic not in ("max_pool", "max_pool_fast"):
        return None
    pool_param = args[0]
    expected = layer.out_shape(inputs, args)
    mistake = out.shape != expected and pool_size_mistake(out.shape, inputs["x"].shape, pool_param["pool_height"],
                                                          pool_param["pool_width"], pool_param["stride"])
    if not mistake:
        return None
    pattern, words, fix = mistake
    return failed(Finding(pattern, f"{layer.forward} returned out of shape {out.shape} for x {inputs['x'].shape}; "
                          f"expected {expected}", likely=words, fix=fix, where=("out",)),
                  got_shape=list(out.shape), expected_shape=list(expected))


def _forward_case(layer: Layer, ctx: CheckContext, make: Callable) -> Outcome:
    """out equals the reference's on the inputs `make` draws; a known mistake that reproduces it is named."""
    inputs, args = make(ctx)
    pristine = snapshot((inputs, args))
    reference_out, _ = layer.reference(*snapshot(inputs).values(), *snapshot(args))
    with global_random_preserved():
        out, _ = forward_pair(ctx, layer.forward, *inputs.values(), *args)
    shapes = ", ".join(f"{name} {a.shape}" for name, a in inputs.items())
    outcome = compare_arrays(out, reference_out, "out", subject=layer.forward, hint=layer.hint, what=shapes)
    if outcome.status == "fail":
        return named_mistake(outcome, explain(layer.topic, *pristine, out))
    return outcome


def named_mistake(outcome: Outcome, mistake: tuple[str, str, str] | None) -> Outcome:
    """A failed comparison with the mistake that reproduces the user's output named (unchanged without one)."""
    if mistake is None or outcome.finding is None:
        return outcome
    pattern, words, fix = mistake
    finding = replace(outcome.finding, pattern=pattern, evidence=(*outcome.finding.evidence, words), fix=fix)
    return replace(outcome, finding=finding, message=wording.finding_message(finding),
                   hint=wording.finding_hint(finding))


def _gradcheck_case(layer: Layer, ctx: CheckContext, backward: str, make: Callable,
                    forward_fn: Callable | None = None) -> Outcome:
    """Every input's gradient on the inputs `make` draws, through the engine's gradcheck.

    Args:
        forward_fn: the forward differentiated (default the user's).
    """
    inputs, args = make(ctx)
    forward_fn = forward_fn or context_named(ctx.fn(layer.forward), layer.forward)
    backward_fn = context_named(ctx.fn(backward), backward)
    with global_random_preserved():
        result = gradcheck(forward_fn, backward_fn, *inputs.values(), args=args, names=tuple(inputs),
                           seed=ctx.seed, subject=backward)
    return result.to_outcome()


def forward_is_wrong(ctx: CheckContext, layer: Layer) -> Reason | None:
    """Who makes the layer's forward wrong, as a blame (its forward check failed, or was blamed on a part)."""
    check_id = f"layers.{layer.topic}.forward"
    result = ctx.results.get(check_id)
    if result is None:
        return None
    if result.status == "skip" and result.reason is not None and result.reason.kind == "blamed":
        return result.reason
    return Reason("blamed", (layer.forward,), (check_id,)) if result.status == "fail" else None


def reference_outputs(layer: Layer, forward: Callable) -> Callable:
    """A forward giving the reference's out with the user's own cache: the user's backward, judged
    against the gradient of the right forward."""
    forward = context_named(forward, layer.forward)

    def hybrid(*call_args):
        out, _ = layer.reference(*snapshot(call_args))
        _, cache = forward(*call_args)
        return out, cache

    return hybrid


def backward_right_for_reference(layer: Layer, ctx: CheckContext, name: str, first: Outcome) -> Outcome:
    """`first`, or a blamed skip when the forward check failed and the backward is not shown wrong by itself.

    A backward written for the course's formula disagrees slightly with the numerical gradient of
    a forward whose eps is misplaced (a warn), and fails outright against a forward that is wrong.
    A warn is judged once the forward is right; a failure is rerun against the gradient of the
    reference forward (its out, the user's cache) and kept only if it fails there too.
    """
    culprit = forward_is_wrong(ctx, layer) if first.status in ("fail", "warn") else None
    if culprit is None:
        return first
    if first.status == "fail":
        ctx.rng = np.random.default_rng(ctx.seed)
        hybrid = reference_outputs(layer, ctx.fn(layer.forward))
        again = _over_cases(layer, ctx, lambda make: _gradcheck_case(layer, ctx, name, make, hybrid))
        if again.status not in ("pass", "warn"):
            return first
    note = f"{wording.names(culprit.responsible)} is wrong and the gradients are checked against it"
    return blamed_on(Reason("blamed", culprit.responsible, culprit.see, note=note), with_yours=first.message)


def only_in_case(first: Outcome, later: Outcome, words: str, hint: str) -> Outcome:
    """`later`, a failure on the extra case `words`, told that the first case passed and why that matters.

    A conv right at stride 1 and wrong at stride 2 almost always ignores the stride somewhere.
    """
    if first.status != "pass":
        return later
    message, full_hint = wording.in_case(later.message, later.hint, words, hint)
    return replace(later, message=message, hint=full_hint, details={**later.details, "case": words})


def _over_cases(layer: Layer, ctx: CheckContext, run: Callable[[Callable], Outcome],
                forward: bool = False) -> Outcome:
    """`run(make)` on each of the layer's input cases; the first non-pass, told which case it is."""
    first = run(layer.make)
    if first.status not in ("pass", "warn"):
        return first
    suspicious = None  # a warning seen only in an extra case: dx (D,) for x (1, D) at N = 1
    for words, make, hint in (*layer.more, *(layer.forward_more if forward else ())):
        try:
            outcome = run(make)
        except UserCodeError as exc:
            raise raised_in_case(exc, words, hint) from None
        if outcome.status not in ("pass", "warn"):
            return only_in_case(first, outcome, words, hint)
        if outcome.status == "warn" and suspicious is None:
            suspicious = only_in_case(first, outcome, words, hint)
    return suspicious if suspicious is not None and first.status == "pass" else first


def raised_in_case(error: UserCodeError, words: str, hint: str) -> UserCodeError:
    """`error`, raised only on the extra input case `words`, told so (a conv that breaks at N = 1)."""
    fix = error.fix or wording.user_error_fix(error.error_type, error.numpy_change)
    reason, fix = wording.in_case(error.reason, fix, words, hint)
    return UserCodeError(reason, subject=error.subject, where=error.where, source_line=error.source_line,
                         error_type=error.error_type, fix=fix, numpy_change=error.numpy_change)


def forward_matches(layer: Layer, ctx: CheckContext) -> Outcome:
    """out equals the reference's on random inputs (every case of the layer)."""
    return _over_cases(layer, ctx, lambda make: _forward_case(layer, ctx, make), forward=True)


def gradients(layer: Layer, ctx: CheckContext, backward: str | None = None, forward: str | None = None) -> Outcome:
    """Every input's gradient through the engine's gradcheck (every case of the layer).

    Args:
        backward: the backward to check (default: the layer's; batchnorm_backward_alt too).
        forward: the forward whose cache that backward reads (default: the layer's); the layer's
            forward check then says nothing about it, so no failure is blamed on that check.
    """
    name = backward or layer.backward
    forward_fn = context_named(ctx.fn(forward), forward) if forward else None
    first = _over_cases(layer, ctx, lambda make: _gradcheck_case(layer, ctx, name, make, forward_fn))
    return first if forward else backward_right_for_reference(layer, ctx, name, first)


# Sandwich topic -> the layers it is built from (layer_utils calls them by global name).
SANDWICH_PARTS = {
    "affine_relu": (AFFINE, RELU),
    "affine_bn_relu": (AFFINE, BATCHNORM, RELU),
    "conv_relu": (CONV, CONV_FAST, RELU),
    "conv_relu_pool": (CONV, CONV_FAST, RELU, MAX_POOL, MAX_POOL_FAST),
    # Not sandwiches, but the course's spatial versions reshape and call the vanilla layer.
    "spatial_batchnorm": (BATCHNORM,),
    "spatial_groupnorm": (LAYERNORM,),
}
# Functions a part has besides its forward/backward pair (the course's alternative backward).
PART_EXTRAS = {"batchnorm": ("batchnorm_backward_alt",)}


def blamed_on_parts(layer: Layer, owner: str) -> Callable:
    """Decorator: a composite layer's check, blamed on a part whose own check failed.

    affine_relu_backward with a buggy affine_backward fails its gradient check too: it is rerun
    with the reference parts bound in the user's layer_utils, and skipped if it then passes.
    spatial_batchnorm_backward calling a buggy batchnorm_backward_alt is blamed the same way.
    """
    subjects = [name for part in SANDWICH_PARTS[layer.topic]
                for name in (part.forward, part.backward, *PART_EXTRAS.get(part.topic, ()))]
    return with_blame(subjects=subjects, exclude=(layer.forward, layer.backward), owner=owner)


# ================================================================ declarations, layer by layer

# ---------------------------------------------------------------- affine

@check("layers.affine.interface", subject="affine_forward", title=INTERFACE)
def affine_interface(ctx: CheckContext) -> Outcome:
    return interface(AFFINE, ctx)


@check("layers.affine.forward", subject="affine_forward", title=FORWARD,
       depends_on=("layers.affine.interface",))
def affine_forward_matches(ctx: CheckContext) -> Outcome:
    return forward_matches(AFFINE, ctx)


@check("layers.affine.multidim", subject="affine_forward",
       title="flattens an N x d1 x d2 x d3 input; dx keeps x's shape",
       depends_on=("layers.affine.interface",), needs=("affine_forward", "affine_backward"))
def affine_multidim(ctx: CheckContext) -> Outcome:
    rng = ctx.rng
    x, w, b = randn(rng, 3, 2, 4, 3), randn(rng, 24, 5), randn(rng, 5)
    fix = "flatten each example first: x.reshape(x.shape[0], -1) @ w + b"
    try:
        out, cache = forward_pair(ctx, "affine_forward", x, w, b)
    except UserCodeError as exc:
        # It worked on (N, D) inputs (the interface check): failing on images is the bug itself.
        return failed(Finding("no_flatten", f"{exc.reason} on x of shape (3, 2, 4, 3) with w of "
                              "shape (24, 5)", fix=fix, where=("x",)))
    expected, _ = ref.affine_forward(x, w, b)
    outcome = compare_arrays(out, expected, "out", subject="affine_forward", hint=fix,
                             what="x of shape (3, 2, 4, 3), w (24, 5)")
    if outcome.status != "pass":
        return outcome
    dout = randn(rng, 3, 5)
    dx, _, _ = call_backward(ctx, "affine_backward", dout, cache, ("dx", "dw", "db"))
    problem = shape_problem(dx, "dx", x.shape, subject="affine_backward",
                            hint="reshape dx back to the input's shape: dx = (dout @ w.T).reshape(x.shape)")
    return problem or passed("out of shape (3, 5) from x of shape (3, 2, 4, 3), and dx of shape (3, 2, 4, 3)")


@check("layers.affine.gradcheck", subject="affine_backward", title=GRADCHECK,
       depends_on=("layers.affine.interface",), needs=("affine_forward", "affine_backward"))
def affine_gradcheck(ctx: CheckContext) -> Outcome:
    return gradients(AFFINE, ctx)


# ---------------------------------------------------------------- activations

@check("layers.relu.interface", subject="relu_forward", title=INTERFACE)
def relu_interface(ctx: CheckContext) -> Outcome:
    return interface(RELU, ctx)


@check("layers.relu.forward", subject="relu_forward", title=FORWARD, depends_on=("layers.relu.interface",))
def relu_forward_matches(ctx: CheckContext) -> Outcome:
    return forward_matches(RELU, ctx)


@check("layers.relu.gradcheck", subject="relu_backward", title=GRADCHECK,
       depends_on=("layers.relu.interface",), needs=("relu_forward", "relu_backward"))
def relu_gradcheck(ctx: CheckContext) -> Outcome:
    return gradients(RELU, ctx)


@check("layers.leaky_relu.interface", subject="leaky_relu_forward", title=INTERFACE)
def leaky_relu_interface(ctx: CheckContext) -> Outcome:
    return interface(LEAKY_RELU, ctx)


@check("layers.leaky_relu.forward", subject="leaky_relu_forward", title=FORWARD,
       depends_on=("layers.leaky_relu.interface",))
def leaky_relu_forward_matches(ctx: CheckContext) -> Outcome:
    return forward_matches(LEAKY_RELU, ctx)


@check("layers.leaky_relu.gradcheck", subject="leaky_relu_backward", title=GRADCHECK,
       depends_on=("layers.leaky_relu.interface",), needs=("leaky_relu_forward", "leaky_relu_backward"))
def leaky_relu_gradcheck(ctx: CheckContext) -> Outcome:
    return gradients(LEAKY_RELU, ctx)


@check("layers.sigmoid.interface", subject="sigmoid_forward", title=INTERFACE)
def sigmoid_interface(ctx: CheckContext) -> Outcome:
    return interface(SIGMOID, ctx)


@check("layers.sigmoid.forward", subject="sigmoid_forward", title=FORWARD,
       depends_on=("layers.sigmoid.interface",))
def sigmoid_forward_matches(ctx: CheckContext) -> Outcome:
    return forward_matches(SIGMOID, ctx)


@check("layers.sigmoid.gradcheck", subject="sigmoid_backward", title=GRADCHECK,
       depends_on=("layers.sigmoid.interface",), needs=("sigmoid_forward", "sigmoid_backward"))
def sigmoid_gradcheck(ctx: CheckContext) -> Outcome:
    return gradients(SIGMOID, ctx)


@check("layers.tanh.interface", subject="tanh_forward", title=INTERFACE)
def tanh_interface(ctx: CheckContext) -> Outcome:
    return interface(TANH, ctx)


@check("layers.tanh.forward", subject="tanh_forward", title=FORWARD, depends_on=("layers.tanh.interface",))
def tanh_forward_matches(ctx: CheckContext) -> Outcome:
    return forward_matches(TANH, ctx)


@check("layers.tanh.gradcheck", subject="tanh_backward", title=GRADCHECK,
       depends_on=("layers.tanh.interface",), needs=("tanh_forward", "tanh_backward"))
def tanh_gradcheck(ctx: CheckContext) -> Outcome:
    return gradients(TANH, ctx)


# ---------------------------------------------------------------- batchnorm

@check("layers.batchnorm.interface", subject="batchnorm_forward", title=INTERFACE)
def batchnorm_interface(ctx: CheckContext) -> Outcome:
    return interface(BATCHNORM, ctx)


@check("layers.batchnorm.forward", subject="batchnorm_forward", title=FORWARD,
       depends_on=("layers.batchnorm.interface",))
def batchnorm_forward_matches(ctx: CheckContext) -> Outcome:
    return forward_matches(BATCHNORM, ctx)


def _bn_batch(ctx: CheckContext, N: int = 64, D: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x with per-feature means far from 0 and stds far from 1, and random gamma, beta."""
    rng = ctx.rng
    x = randn(rng, N, D) * rng.uniform(2, 4, D) + rng.uniform(3, 6, D)
    return x, _positive(rng, D), randn(rng, D)


@check("layers.batchnorm.train_stats", subject="batchnorm_forward",
       title="train mode: each feature of out has mean beta and std gamma",
       depends_on=("layers.batchnorm.interface",))
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
        pattern, fix = "unbiased_variance", "use the biased variance, x.var(axis=0) (ddof=0), as the course does"
    elif np.allclose(out.mean(axis=1), beta.mean(), atol=1e-6) or np.allclose(out.std(axis=1), 1, atol=1e-3):
        pattern, fix = "wrong_axis", ("the statistics were taken over axis=1 (each sample); batchnorm "
                                      "normalises each feature over the batch: axis=0")
    elif np.allclose(mean, 0, atol=1e-6) and np.allclose(std, 1, atol=1e-3):
        pattern, fix = "scale_shift_missing", "gamma and beta are not applied: out = gamma * xhat + beta"
    else:
        pattern, fix = "normalisation", ("normalise with the batch statistics: xhat = (x - x.mean(axis=0)) / "
                                         "np.sqrt(x.var(axis=0) + eps), then out = gamma * xhat + beta")
    return failed(Finding(pattern, f"in train mode feature {j} of out has mean {mean[j]:.4g} (beta = "
                          f"{beta[j]:.4g}) and std {std[j]:.4g} (gamma = {gamma[j]:.4g})", fix=fix,
                          where=(f"out[:, {j}]",)),
                  max_mean_error=float(mean_err), max_std_error=float(std_err))


@check("layers.batchnorm.test_mode", subject="batchnorm_forward",
       title="test mode normalises with the running statistics, not the batch's",
       depends_on=("layers.batchnorm.interface",))
def batchnorm_test_mode(ctx: CheckContext) -> Outcome:
    x, gamma, beta = _bn_batch(ctx, N=16)
    rng = ctx.rng
    # Running statistics far from the batch's, so the two normalisations give different numbers.
    running_mean, running_var = randn(rng, x.shape[1]), rng.uniform(0.5, 1.5, x.shape[1])
    running_var[0] = 1e-4  # as small as eps matters: a misplaced eps changes feature 0 by percents
    bn_param = {"mode": "test", "eps": BN_EPS, "running_mean": running_mean.copy(),
                "running_var": running_var.copy()}
    out, _ = forward_pair(ctx, "batchnorm_forward", x, gamma, beta, bn_param)
    expected = gamma * (x - running_mean) / np.sqrt(running_var + BN_EPS) + beta
    with_batch = gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + BN_EPS) + beta
    if out.shape == x.shape and np.allclose(out, with_batch, rtol=1e-6, atol=1e-8):
        gap = float(np.abs(with_batch - expected).max())
        return failed(Finding(
            "batch_stats_at_test", "in test mode out is normalised with the batch's own mean and "
            f"variance; with running_mean and running_var it would differ by up to {gap:.3g}",
            fix="at test time use bn_param['running_mean'] and bn_param['running_var'], "
                "not x.mean(axis=0) and x.var(axis=0)", where=("out",)))
    outcome = compare_arrays(out, expected, "out", subject="batchnorm_forward",
                             what="test mode, running statistics given",
                             hint="in test mode: out = gamma * (x - running_mean) / "
                                  "np.sqrt(running_var + eps) + beta")
    if outcome.status != "pass":
        return named_mistake(outcome, first_match(out, test_mode_mistakes(x, gamma, beta, running_mean,
                                                                          running_var, BN_EPS)))
    for key, value in (("running_mean", running_mean), ("running_var", running_var)):
        if not np.array_equal(np.asarray(bn_param.get(key)), value):
            return failed(Finding("running_changed_at_test", f"test mode changed bn_param['{key}']",
                                  fix="update the running averages only in train mode",
                                  where=(f"bn_param['{key}']",)))
    return passed("test mode uses running_mean and running_var and leaves them unchanged")


def _running_problem(key: str, got: Any, previous: np.ndarray, batch: np.ndarray,
                     momentum: float, how: str, unbiased: np.ndarray | None = None) -> Outcome | None:
    """A failed Outcome when bn_param[key] is not momentum * previous + (1 - momentum) * batch."""
    expected = momentum * previous + (1 - momentum) * batch
    where = (f"bn_param['{key}']",)
    if got is None:
        return failed(Finding("state_missing", f"bn_param has no '{key}' after a train-mode forward ({how})",
                              fix=f"store it back: bn_param['{key}'] = {key}", where=where))
    got = np.asarray(got, dtype=np.float64)
    if got.shape == expected.shape and np.allclose(got, expected, rtol=1e-7, atol=1e-10):
        return None
    swapped = (1 - momentum) * previous + momentum * batch
    same_shape = got.shape == expected.shape
    if same_shape and np.allclose(got, swapped, rtol=1e-7, atol=1e-10):
        pattern, fix = "swapped_decay", (f"momentum and 1 - momentum are swapped: {key} = momentum * "
                                         f"{key} + (1 - momentum) * batch statistic")
    elif same_shape and np.allclose(got, previous):
        pattern, fix = "state_not_updated", (f"{key} was not updated: assign bn_param['{key}'] = momentum * "
                                             f"{key} + (1 - momentum) * ...")
    elif unbiased is not None and same_shape and np.allclose(
            got, momentum * previous + (1 - momentum) * unbiased, rtol=1e-7):
        pattern, fix = "unbiased_variance", "use the biased batch variance x.var(axis=0), as the course does"
    elif unbiased is not None and same_shape and np.allclose(
            got, momentum * previous + (1 - momentum) * np.sqrt(batch), rtol=1e-7):
        pattern, fix = "running_std", (f"{key} averages the batch's standard deviation: average the variance, "
                                       f"{key} = momentum * {key} + (1 - momentum) * x.var(axis=0)")
    elif same_shape and np.allclose(got, batch):
        pattern, fix = "last_batch_only", (f"{key} holds only the last batch: keep the moving average, "
                                           f"momentum * {key} + (1 - momentum) * batch")
    else:
        pattern, fix = "running_average", f"{key} = momentum * {key} + (1 - momentum) * the batch's statistic"
    worst = int(np.argmax(np.abs(got - expected))) if same_shape else 0
    return failed(Finding(pattern, f"bn_param['{key}'] after one train step ({how}) is "
                          f"{np.array2string(got.ravel()[:3], precision=4)}..., expected "
                          f"{np.array2string(expected.ravel()[:3], precision=4)}... "
                          f"(momentum {momentum:g})", fix=fix, where=where), feature=worst)


@check("layers.batchnorm.running_average", subject="batchnorm_forward",
       title="train mode updates running_mean/var by the momentum formula, in bn_param",
       depends_on=("layers.batchnorm.interface",))
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


@check("layers.batchnorm.gradcheck", subject="batchnorm_backward", title=GRADCHECK,
       depends_on=("layers.batchnorm.interface",), needs=("batchnorm_forward", "batchnorm_backward"))
def batchnorm_gradcheck(ctx: CheckContext) -> Outcome:
    return gradients(BATCHNORM, ctx)


# A student may write batchnorm_forward_alt beside batchnorm_forward, caching what the closed form
# needs (xhat, gamma, 1 / std): their batchnorm_backward_alt reads that cache, not batchnorm_forward's.
BATCHNORM_ALT = replace(BATCHNORM, forward="batchnorm_forward_alt", backward="batchnorm_backward_alt")


@check("layers.batchnorm.gradcheck_alt", subject="batchnorm_backward_alt",
       title="batchnorm_backward_alt's gradients match finite differences",
       depends_on=("layers.batchnorm.interface",), needs=("batchnorm_forward", "batchnorm_backward_alt"))
def batchnorm_gradcheck_alt(ctx: CheckContext) -> Outcome:
    if not ctx.has(BATCHNORM_ALT.forward):
        return gradients(BATCHNORM, ctx, BATCHNORM_ALT.backward)
    # Paired with the student's own forward: its out must be right for its gradient to mean anything.
    outcome = forward_matches(BATCHNORM_ALT, ctx)
    forward_wrong = outcome.status != "pass"
    if not forward_wrong:
        ctx.rng = np.random.default_rng(ctx.seed)
        outcome = gradients(BATCHNORM_ALT, ctx, forward=BATCHNORM_ALT.forward)
    if outcome.status == "skip":
        return outcome
    message = wording.paired_with(outcome.message, BATCHNORM_ALT.backward, BATCHNORM_ALT.forward,
                                  forward_wrong=forward_wrong)
    return replace(outcome, message=message, details={**outcome.details, "forward": BATCHNORM_ALT.forward})


# ---------------------------------------------------------------- layernorm

@check("layers.layernorm.interface", subject="layernorm_forward", title=INTERFACE)
def layernorm_interface(ctx: CheckContext) -> Outcome:
    return interface(LAYERNORM, ctx)


@check("layers.layernorm.forward", subject="layernorm_forward", title=FORWARD,
       depends_on=("layers.layernorm.interface",))
def layernorm_forward_matches(ctx: CheckContext) -> Outcome:
    return forward_matches(LAYERNORM, ctx)


@check("layers.layernorm.per_sample_stats", subject="layernorm_forward",
       title="each sample of out has mean 0 and std 1 over its features (gamma=1, beta=0)",
       depends_on=("layers.layernorm.interface",))
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
        pattern, fix = "wrong_axis", ("statistics were taken over the batch (axis=0); layernorm uses each "
                                      "sample's features: axis=1, keepdims=True")
    else:
        pattern, fix = "normalisation", ("mu = x.mean(axis=1, keepdims=True); var = x.var(axis=1, "
                                         "keepdims=True); xhat = (x - mu) / np.sqrt(var + eps)")
    return failed(Finding(pattern, f"sample {i} of out has mean {mean[i]:.4g} and std {std[i]:.4g} over "
                          "its features (expected 0 and 1 with gamma=1, beta=0)", fix=fix,
                          where=(f"out[{i}]",)), max_error=float(err))


@check("layers.layernorm.gradcheck", subject="layernorm_backward", title=GRADCHECK,
       depends_on=("layers.layernorm.interface",), needs=("layernorm_forward", "layernorm_backward"))
def layernorm_gradcheck(ctx: CheckContext) -> Outcome:
    return gradients(LAYERNORM, ctx)


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


@check("layers.dropout.interface", subject="dropout_forward",
       title="returns (out, cache); shape, float64, no input mutation")
def dropout_interface(ctx: CheckContext) -> Outcome:
    return interface(DROPOUT, ctx)


# Dropout has no forward check against the reference: its mask is random, so the behaviour
# checks (keep ratio, scaling, seed) take its place.

@check("layers.dropout.keep_ratio", subject="dropout_forward", title="train mode keeps about p of the units",
       depends_on=("layers.dropout.interface",))
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
        pattern, fix = "drop_probability", ("p is read as the drop probability; in this course p is the "
                                            "KEEP probability: mask = np.random.rand(*x.shape) < p (not > p, "
                                            "not < 1 - p)")
    elif kept == 1.0:
        pattern, fix = "no_dropout", "no unit was dropped in train mode: apply the mask, out = x * mask"
    else:
        pattern, fix = "keep_ratio", "draw the mask as np.random.rand(*x.shape) < p so each unit is kept with probability p"
    return failed(Finding(pattern, f"kept {kept:.3f} of {n} units with {words}; expected {KEEP} +- "
                          f"{bound:.3f} (5 binomial std, sqrt(p(1-p)/n) = {sigma:.4f})", fix=fix,
                          where=("out",)), **details)


@check("layers.dropout.scaling", subject="dropout_forward",
       title="inverted dropout: kept units are scaled by 1/p in train mode",
       depends_on=("layers.dropout.interface",))
def dropout_scaling(ctx: CheckContext) -> Outcome:
    x = _ones_like_input(ctx, (20, 50))
    out = _dropout_train(ctx, x, KEEP, 2 + ctx.seed)
    if out.shape != x.shape:
        return shape_problem(out, "out", x.shape, subject="dropout_forward")
    kept = out != 0
    if not kept.any():
        return failed(Finding("keep_ratio", f"train mode dropped every unit with {_p_words(ctx, KEEP)}",
                              fix="keep a unit when np.random.rand(*x.shape) < p", where=("out",)))
    scale = out[kept] / x[kept]
    if np.allclose(scale, 1 / KEEP, rtol=1e-7):
        return passed(f"kept units are x / p = x * {1 / KEEP:.4g} (inverted dropout)")
    typical = float(np.median(scale))
    if np.isclose(typical, 1):
        pattern, fix = "no_rescale", ("kept units are not rescaled: in train mode divide the mask by p, "
                                      "mask = (np.random.rand(*x.shape) < p) / p, so that test mode needs no scaling")
    elif np.isclose(typical, KEEP):
        pattern, fix = "dropout_scale", ("kept units were multiplied by p: divide by p instead, "
                                         "mask = (np.random.rand(*x.shape) < p) / p")
    elif np.isclose(typical, 1 / (1 - KEEP)):
        pattern, fix = "drop_probability", "kept units were divided by 1 - p: p is the keep probability, divide by p"
    else:
        pattern, fix = "dropout_scale", "mask = (np.random.rand(*x.shape) < p) / p; out = x * mask"
    spread = "" if np.allclose(scale, typical) else f" (ranging {scale.min():.4g} to {scale.max():.4g})"
    return failed(Finding(pattern, f"kept units are x * {typical:.4g}{spread} with {_p_words(ctx, KEEP)}; "
                          f"inverted dropout scales them by 1/p = {1 / KEEP:.4g}", fix=fix, where=("out",)),
                  scale=typical)


@check("layers.dropout.test_identity", subject="dropout_forward", title="test mode returns x unchanged",
       depends_on=("layers.dropout.interface",))
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
    outcome = compare_arrays(out, x, "out", subject="dropout_forward", what="test mode", hint=hint)
    return named(outcome, "dropout_at_test") if out.shape == x.shape else outcome


@check("layers.dropout.mask_reuse", subject="dropout_backward",
       title="backward applies the forward's mask (and its 1/p)",
       depends_on=("layers.dropout.interface",), needs=("dropout_forward", "dropout_backward"))
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
    hint, pattern = "in backward use the mask stored in the cache: dx = dout * mask (the same scaled mask as forward)", None
    if dx.shape == x.shape and np.allclose(dx, dout * (out != 0)):
        pattern, hint = "no_rescale", ("dx misses the 1/p: store the scaled mask, mask = (np.random.rand(*x.shape) < p) / p, "
                                       "and use dx = dout * mask")
    elif dx.shape == x.shape and np.allclose(dx, dout):
        pattern, hint = "mask", "backward ignores the mask: in train mode dx = dout * mask, with mask from the cache"
    outcome = compare_arrays(dx, expected, "dx", subject="dropout_backward",
                             what="train mode, dout random; expected dout * the forward's mask", hint=hint)
    if outcome.status == "pass":
        return passed("dx = dout * the mask of the forward pass, 1/p included")
    return named(outcome, pattern) if pattern else outcome


@check("layers.dropout.seed", subject="dropout_forward",
       title="same seed gives the same mask, another seed another mask", depends_on=("layers.dropout.interface",))
def dropout_seed(ctx: CheckContext) -> Outcome:
    x = _ones_like_input(ctx, (20, 30))
    first = _dropout_train(ctx, x, KEEP, 11 + ctx.seed)
    # Disturb the global state between calls: a seed that is honoured makes this irrelevant.
    with global_random_preserved():
        np.random.seed(ctx.seed + 999)
        again = _dropout_train(ctx, x, KEEP, 11 + ctx.seed)
    other = _dropout_train(ctx, x, KEEP, 12 + ctx.seed)
    if not np.array_equal(first != 0, again != 0):
        return failed(Finding("seed_ignored", "two train-mode calls with the same dropout_param['seed'] "
                              "dropped different units",
                              fix="when 'seed' is in dropout_param call np.random.seed(dropout_param['seed']) "
                                  "before drawing the mask", where=("dropout_param['seed']",)))
    if np.array_equal(first != 0, other != 0):
        return failed(Finding("fixed_seed", "train-mode calls with seeds 11 and 12 dropped exactly the same units",
                              fix="seed with dropout_param['seed'], not a fixed number, and draw a fresh "
                                  "mask on every call", where=("dropout_param['seed']",)))
    return passed("the same seed reproduces the mask; another seed changes it")


@check("layers.dropout.gradcheck", subject="dropout_backward", title=GRADCHECK,
       depends_on=("layers.dropout.interface", "layers.dropout.seed"), needs=("dropout_forward", "dropout_backward"))
def dropout_gradcheck(ctx: CheckContext) -> Outcome:
    return gradients(DROPOUT, ctx)


# ---------------------------------------------------------------- conv and pool

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


def conv_forward_named(ctx: CheckContext, name: str, x: np.ndarray, w: np.ndarray, b: np.ndarray,
                       conv_param: dict) -> Outcome | None:
    """A failed Outcome when the conv forward `name` raises or mis-shapes out because of a known
    mistake (np.pad over the wrong axes, an output-size formula off), else None.

    Names the mistake from what the code did: the axes np.pad was asked to pad (recorded), or the
    shape of out against the variants of the output-size formula. Other errors propagate as they are.
    """
    expected = _conv_shape({"x": x, "w": w}, (conv_param,))
    stride, pad = conv_param["stride"], conv_param["pad"]
    case = f"x {x.shape}, w {w.shape}, stride {stride}, pad {pad}"
    with pads_recorded() as pads, global_random_preserved():
        try:
            out, _ = forward_pair(ctx, name, x, w, b, conv_param)
        except UserCodeError as exc:
            mistake = pad_axes_mistake(pads)
            if mistake is None:
                raise
            return _conv_failure(mistake, f"{exc.reason} for {case}", ())
    if out.shape == expected:
        return None
    mistake = pad_axes_mistake(pads) or size_mistake(ctx, name, conv_size_mistakes(out.shape, x.shape, w.shape,
                                                                                  stride, pad))
    what = f"{name} returned out of shape {out.shape} for {case}; expected {expected}"
    return _conv_failure(mistake or ("output_size", "", SIZE_FORMULA), what, out.shape, expected)


def size_mistake(ctx: CheckContext, name: str, candidates: list) -> tuple[str, str, str] | None:
    """The one output-size mistake among `candidates` that every case of CONV_SHAPES agrees with, or None.

    At stride 1 and pad 1 with a 3x3 filter, counting the padding once and dropping the 1 + give
    the same size: other strides and paddings tell them apart.
    """
    rng = np.random.default_rng(ctx.seed)
    for x_shape, w_shape, stride, pad in CONV_SHAPES:
        if len(candidates) <= 1:
            break
        try:
            with global_random_preserved():
                out, _ = forward_pair(ctx, name, randn(rng, *x_shape), randn(rng, *w_shape), randn(rng, w_shape[0]),
                                      {"stride": stride, "pad": pad})
        except (UserCodeError, NotImplementedYet):
            continue
        candidates = [c for c in candidates if c in conv_size_mistakes(out.shape, x_shape, w_shape, stride, pad)]
    return candidates[0] if len(candidates) == 1 else None


def _conv_failure(mistake: tuple[str, str, str], what: str, got: tuple, expected: tuple = ()) -> Outcome:
    pattern, words, fix = mistake
    return failed(Finding(pattern, what, likely=words, fix=fix, where=("out",)),
                  got_shape=list(got), expected_shape=list(expected))


def conv_output_shape(ctx: CheckContext, name: str) -> Outcome:
    """out's shape for every case of CONV_SHAPES, from the user's forward `name`."""
    rng = ctx.rng
    for x_shape, w_shape, stride, pad in CONV_SHAPES:
        x, w, b = randn(rng, *x_shape), randn(rng, *w_shape), randn(rng, w_shape[0])
        problem = conv_forward_named(ctx, name, x, w, b, {"stride": stride, "pad": pad})
        if problem is not None:
            return problem
    return passed(f"out has shape (N, F, H_out, W_out) for {len(CONV_SHAPES)} stride/pad combinations, "
                  f"non-square inputs and filters included")


def pool_output_shape(ctx: CheckContext, name: str) -> Outcome:
    """out's shape for every case of POOL_SHAPES, from the user's forward `name`."""
    for x_shape, ph, pw, stride in POOL_SHAPES:
        x = distinct_values(ctx.rng, *x_shape)
        pool_param = {"pool_height": ph, "pool_width": pw, "stride": stride}
        out, _ = forward_pair(ctx, name, x, pool_param)
        expected = _pool_shape(x_shape, pool_param)
        if out.shape != expected:
            mistake = pool_size_mistake(out.shape, x_shape, ph, pw, stride)
            pattern, words, fix = mistake or ("output_size", "", "H_out = 1 + (H - pool_height) // stride, "
                                              "W_out = 1 + (W - pool_width) // stride")
            return failed(Finding(pattern, f"{name} returned out of shape {out.shape} for x {x_shape}, "
                                  f"pool {ph}x{pw}, stride {stride}; expected {expected}", likely=words, fix=fix,
                                  where=("out",)), got_shape=list(out.shape), expected_shape=list(expected))
    return passed(f"out has shape (N, C, H_out, W_out) for {len(POOL_SHAPES)} pool/stride combinations")


CONV_SHAPE_TITLE = "output shape for several stride and padding combinations"
POOL_SHAPE_TITLE = "output shape for several pool sizes and strides"


@check("layers.conv.interface", subject="conv_forward_naive", title=INTERFACE)
def conv_interface(ctx: CheckContext) -> Outcome:
    return interface(CONV, ctx)


@check("layers.conv.forward", subject="conv_forward_naive", title=FORWARD, depends_on=("layers.conv.interface",))
def conv_forward_matches(ctx: CheckContext) -> Outcome:
    return forward_matches(CONV, ctx)


@check("layers.conv.output_shape", subject="conv_forward_naive", title=CONV_SHAPE_TITLE,
       depends_on=("layers.conv.interface",))
def conv_naive_output_shape(ctx: CheckContext) -> Outcome:
    return conv_output_shape(ctx, "conv_forward_naive")


@check("layers.conv.gradcheck", subject="conv_backward_naive", title=GRADCHECK,
       depends_on=("layers.conv.interface",), needs=("conv_forward_naive", "conv_backward_naive"))
def conv_gradcheck(ctx: CheckContext) -> Outcome:
    return gradients(CONV, ctx)


@check("layers.conv_fast.interface", subject="conv_forward_fast", title=INTERFACE)
def conv_fast_interface(ctx: CheckContext) -> Outcome:
    return interface(CONV_FAST, ctx)


@check("layers.conv_fast.forward", subject="conv_forward_fast", title=FORWARD,
       depends_on=("layers.conv_fast.interface",))
def conv_fast_forward_matches(ctx: CheckContext) -> Outcome:
    return forward_matches(CONV_FAST, ctx)


@check("layers.conv_fast.output_shape", subject="conv_forward_fast", title=CONV_SHAPE_TITLE,
       depends_on=("layers.conv_fast.interface",))
def conv_fast_output_shape(ctx: CheckContext) -> Outcome:
    return conv_output_shape(ctx, "conv_forward_fast")


@check("layers.conv_fast.gradcheck", subject="conv_backward_fast", title=GRADCHECK,
       depends_on=("layers.conv_fast.interface",), needs=("conv_forward_fast", "conv_backward_fast"))
def conv_fast_gradcheck(ctx: CheckContext) -> Outcome:
    return gradients(CONV_FAST, ctx)


@check("layers.max_pool.interface", subject="max_pool_forward_naive", title=INTERFACE)
def max_pool_interface(ctx: CheckContext) -> Outcome:
    return interface(MAX_POOL, ctx)


@check("layers.max_pool.forward", subject="max_pool_forward_naive", title=FORWARD,
       depends_on=("layers.max_pool.interface",))
def max_pool_forward_matches(ctx: CheckContext) -> Outcome:
    return forward_matches(MAX_POOL, ctx)


@check("layers.max_pool.output_shape", subject="max_pool_forward_naive", title=POOL_SHAPE_TITLE,
       depends_on=("layers.max_pool.interface",))
def max_pool_naive_output_shape(ctx: CheckContext) -> Outcome:
    return pool_output_shape(ctx, "max_pool_forward_naive")


@check("layers.max_pool.gradcheck", subject="max_pool_backward_naive", title=GRADCHECK,
       depends_on=("layers.max_pool.interface",), needs=("max_pool_forward_naive", "max_pool_backward_naive"))
def max_pool_gradcheck(ctx: CheckContext) -> Outcome:
    return gradients(MAX_POOL, ctx)


@check("layers.max_pool_fast.interface", subject="max_pool_forward_fast", title=INTERFACE)
def max_pool_fast_interface(ctx: CheckContext) -> Outcome:
    return interface(MAX_POOL_FAST, ctx)


@check("layers.max_pool_fast.forward", subject="max_pool_forward_fast", title=FORWARD,
       depends_on=("layers.max_pool_fast.interface",))
def max_pool_fast_forward_matches(ctx: CheckContext) -> Outcome:
    return forward_matches(MAX_POOL_FAST, ctx)


@check("layers.max_pool_fast.output_shape", subject="max_pool_forward_fast", title=POOL_SHAPE_TITLE,
       depends_on=("layers.max_pool_fast.interface",))
def max_pool_fast_output_shape(ctx: CheckContext) -> Outcome:
    return pool_output_shape(ctx, "max_pool_forward_fast")


@check("layers.max_pool_fast.gradcheck", subject="max_pool_backward_fast", title=GRADCHECK,
       depends_on=("layers.max_pool_fast.interface",), needs=("max_pool_forward_fast", "max_pool_backward_fast"))
def max_pool_fast_gradcheck(ctx: CheckContext) -> Outcome:
    return gradients(MAX_POOL_FAST, ctx)


# ---------------------------------------------------------------- spatial normalisation
# The course's spatial layers reshape and call the vanilla layer: blamed on it (blamed_on_parts).

@check("layers.spatial_batchnorm.interface", subject="spatial_batchnorm_forward", title=INTERFACE)
@blamed_on_parts(SPATIAL_BATCHNORM, owner="spatial_batchnorm_forward")
def spatial_batchnorm_interface(ctx: CheckContext) -> Outcome:
    return interface(SPATIAL_BATCHNORM, ctx)


@check("layers.spatial_batchnorm.forward", subject="spatial_batchnorm_forward", title=FORWARD,
       depends_on=("layers.spatial_batchnorm.interface",))
@blamed_on_parts(SPATIAL_BATCHNORM, owner="spatial_batchnorm_forward")
def spatial_batchnorm_forward_matches(ctx: CheckContext) -> Outcome:
    return forward_matches(SPATIAL_BATCHNORM, ctx)


@check("layers.spatial_batchnorm.gradcheck", subject="spatial_batchnorm_backward", title=GRADCHECK,
       depends_on=("layers.spatial_batchnorm.interface",),
       needs=("spatial_batchnorm_forward", "spatial_batchnorm_backward"))
@blamed_on_parts(SPATIAL_BATCHNORM, owner="spatial_batchnorm_backward")
def spatial_batchnorm_gradcheck(ctx: CheckContext) -> Outcome:
    return gradients(SPATIAL_BATCHNORM, ctx)


@check("layers.spatial_groupnorm.interface", subject="spatial_groupnorm_forward", title=INTERFACE)
@blamed_on_parts(SPATIAL_GROUPNORM, owner="spatial_groupnorm_forward")
def spatial_groupnorm_interface(ctx: CheckContext) -> Outcome:
    return interface(SPATIAL_GROUPNORM, ctx)


@check("layers.spatial_groupnorm.forward", subject="spatial_groupnorm_forward", title=FORWARD,
       depends_on=("layers.spatial_groupnorm.interface",))
@blamed_on_parts(SPATIAL_GROUPNORM, owner="spatial_groupnorm_forward")
def spatial_groupnorm_forward_matches(ctx: CheckContext) -> Outcome:
    return forward_matches(SPATIAL_GROUPNORM, ctx)


@check("layers.spatial_groupnorm.gradcheck", subject="spatial_groupnorm_backward", title=GRADCHECK,
       depends_on=("layers.spatial_groupnorm.interface",),
       needs=("spatial_groupnorm_forward", "spatial_groupnorm_backward"))
@blamed_on_parts(SPATIAL_GROUPNORM, owner="spatial_groupnorm_backward")
def spatial_groupnorm_gradcheck(ctx: CheckContext) -> Outcome:
    return gradients(SPATIAL_GROUPNORM, ctx)


# ---------------------------------------------------------------- sandwich layers (layer_utils)

@check("layers.affine_relu.interface", subject="affine_relu_forward", title=INTERFACE)
@blamed_on_parts(AFFINE_RELU, owner="affine_relu_forward")
def affine_relu_interface(ctx: CheckContext) -> Outcome:
    return interface(AFFINE_RELU, ctx)


@check("layers.affine_relu.forward", subject="affine_relu_forward", title=FORWARD,
       depends_on=("layers.affine_relu.interface",))
@blamed_on_parts(AFFINE_RELU, owner="affine_relu_forward")
def affine_relu_forward_matches(ctx: CheckContext) -> Outcome:
    return forward_matches(AFFINE_RELU, ctx)


@check("layers.affine_relu.gradcheck", subject="affine_relu_backward", title=GRADCHECK,
       depends_on=("layers.affine_relu.interface",), needs=("affine_relu_forward", "affine_relu_backward"))
@blamed_on_parts(AFFINE_RELU, owner="affine_relu_backward")
def affine_relu_gradcheck(ctx: CheckContext) -> Outcome:
    return gradients(AFFINE_RELU, ctx)


@check("layers.affine_bn_relu.interface", subject="affine_bn_relu_forward", title=INTERFACE)
@blamed_on_parts(AFFINE_BN_RELU, owner="affine_bn_relu_forward")
def affine_bn_relu_interface(ctx: CheckContext) -> Outcome:
    return interface(AFFINE_BN_RELU, ctx)


@check("layers.affine_bn_relu.forward", subject="affine_bn_relu_forward", title=FORWARD,
       depends_on=("layers.affine_bn_relu.interface",))
@blamed_on_parts(AFFINE_BN_RELU, owner="affine_bn_relu_forward")
def affine_bn_relu_forward_matches(ctx: CheckContext) -> Outcome:
    return forward_matches(AFFINE_BN_RELU, ctx)


@check("layers.affine_bn_relu.gradcheck", subject="affine_bn_relu_backward", title=GRADCHECK,
       depends_on=("layers.affine_bn_relu.interface",),
       needs=("affine_bn_relu_forward", "affine_bn_relu_backward"))
@blamed_on_parts(AFFINE_BN_RELU, owner="affine_bn_relu_backward")
def affine_bn_relu_gradcheck(ctx: CheckContext) -> Outcome:
    return gradients(AFFINE_BN_RELU, ctx)


@check("layers.conv_relu.interface", subject="conv_relu_forward", title=INTERFACE)
@blamed_on_parts(CONV_RELU, owner="conv_relu_forward")
def conv_relu_interface(ctx: CheckContext) -> Outcome:
    return interface(CONV_RELU, ctx)


@check("layers.conv_relu.forward", subject="conv_relu_forward", title=FORWARD,
       depends_on=("layers.conv_relu.interface",))
@blamed_on_parts(CONV_RELU, owner="conv_relu_forward")
def conv_relu_forward_matches(ctx: CheckContext) -> Outcome:
    return forward_matches(CONV_RELU, ctx)


@check("layers.conv_relu.gradcheck", subject="conv_relu_backward", title=GRADCHECK,
       depends_on=("layers.conv_relu.interface",), needs=("conv_relu_forward", "conv_relu_backward"))
@blamed_on_parts(CONV_RELU, owner="conv_relu_backward")
def conv_relu_gradcheck(ctx: CheckContext) -> Outcome:
    return gradients(CONV_RELU, ctx)


@check("layers.conv_relu_pool.interface", subject="conv_relu_pool_forward", title=INTERFACE)
@blamed_on_parts(CONV_RELU_POOL, owner="conv_relu_pool_forward")
def conv_relu_pool_interface(ctx: CheckContext) -> Outcome:
    return interface(CONV_RELU_POOL, ctx)


@check("layers.conv_relu_pool.forward", subject="conv_relu_pool_forward", title=FORWARD,
       depends_on=("layers.conv_relu_pool.interface",))
@blamed_on_parts(CONV_RELU_POOL, owner="conv_relu_pool_forward")
def conv_relu_pool_forward_matches(ctx: CheckContext) -> Outcome:
    return forward_matches(CONV_RELU_POOL, ctx)


@check("layers.conv_relu_pool.gradcheck", subject="conv_relu_pool_backward", title=GRADCHECK,
       depends_on=("layers.conv_relu_pool.interface",), needs=("conv_relu_pool_forward", "conv_relu_pool_backward"))
@blamed_on_parts(CONV_RELU_POOL, owner="conv_relu_pool_backward")
def conv_relu_pool_gradcheck(ctx: CheckContext) -> Outcome:
    return gradients(CONV_RELU_POOL, ctx)
