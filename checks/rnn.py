"""The `rnn` suite: assignment 3's recurrent layers (cs231n/rnn_layers.py).

Step and sequence functions of the vanilla RNN and the LSTM, word embedding, temporal affine
and the masked temporal softmax loss, in the course's signatures (batch first, (N, T, ...)).
Per function: the forward against the reference, the gradient of every input (h0 and the
weights included) through the engine's gradcheck, and what the course's notebook warns of:
the hidden-state gradient carried back through time, the tanh derivative, repeated words in
the embedding gradient, the mask and the division by N of the temporal loss, the LSTM's gate
order (i, f, o, g) and its cell path. A failed gradient is matched against the classic
mistakes (checks/rnn_variants.py) so that the finding names the line to change.

Blame as in the layers suite: rnn_forward calls rnn_step_forward by its global name, so a
sequence check that fails only because a step function failed is rerun with the reference
step swapped in and skipped when it then passes.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np

from sanitykit import reference as ref
from sanitykit.checks import rnn_variants as mistakes
from sanitykit.checks.blame import with_blame
from sanitykit.checks.common import (compare_arrays, describe_value, expect_array, global_random_preserved,
                                     mutated_arrays, randn, shape_problem, snapshot, unpack)
from sanitykit.checks.registry import CheckContext, check
from sanitykit.engine.findings import Finding
from sanitykit.engine.gradcheck import gradcheck, gradcheck_loss
from sanitykit.engine.numeric import rel_error
from sanitykit.engine.results import FAIL, PASS, Outcome, failed, passed
from sanitykit.engine.usercode import NotImplementedYet, UserCodeError, call_user

N, T, D, H = 3, 4, 5, 6   # distinct, so a shape or a factor names its dimension
V = 10                    # vocabulary of the embedding and the temporal loss


# ---------------------------------------------------------------- the functions and their inputs

def _step_inputs(ctx: CheckContext, gates: int = 1) -> dict[str, np.ndarray]:
    rng = ctx.rng
    # Weights of 0.3: pre-activations of about 1, so tanh and the sigmoids are neither flat nor linear.
    inputs = {"x": randn(rng, N, D), "prev_h": randn(rng, N, H, scale=0.5)}
    if gates == 4:
        inputs["prev_c"] = randn(rng, N, H, scale=0.5)
    inputs.update({"Wx": randn(rng, D, gates * H, scale=0.3), "Wh": randn(rng, H, gates * H, scale=0.3),
                   "b": randn(rng, gates * H, scale=0.1)})
    return inputs


def _sequence_inputs(ctx: CheckContext, gates: int = 1) -> dict[str, np.ndarray]:
    rng = ctx.rng
    return {"x": randn(rng, N, T, D), "h0": randn(rng, N, H, scale=0.5),
            "Wx": randn(rng, D, gates * H, scale=0.3), "Wh": randn(rng, H, gates * H, scale=0.3),
            "b": randn(rng, gates * H, scale=0.1)}


def _temporal_affine_inputs(ctx: CheckContext) -> dict[str, np.ndarray]:
    rng = ctx.rng
    return {"x": randn(rng, N, T, D), "w": randn(rng, D, V), "b": randn(rng, V)}


@dataclass(frozen=True)
class Unit:
    """A forward/backward pair of rnn_layers.py with the inputs used to check it.

    Args:
        topic: the id's topic.
        forward, backward: conventional names.
        outputs: what the forward returns before its cache ("next_h", or "next_h", "next_c").
        grads: what the backward returns, one per input.
        make: ctx -> the differentiable inputs by name, fresh float64 arrays.
        hint: the forward formula, told to a student whose values differ.
    """

    topic: str
    forward: str
    backward: str
    outputs: tuple[str, ...]
    grads: tuple[str, ...]
    make: Callable[[CheckContext], dict[str, np.ndarray]]
    hint: str

    @property
    def reference(self) -> Callable:
        return getattr(ref, self.forward)


RNN_STEP = Unit("rnn_step", "rnn_step_forward", "rnn_step_backward", ("next_h",),
                ("dx", "dprev_h", "dWx", "dWh", "db"), _step_inputs,
                "next_h = np.tanh(x.dot(Wx) + prev_h.dot(Wh) + b)")
RNN = Unit("rnn", "rnn_forward", "rnn_backward", ("h",), ("dx", "dh0", "dWx", "dWh", "db"), _sequence_inputs,
           "h[:, t] = rnn_step_forward(x[:, t], h[:, t - 1], Wx, Wh, b)[0], starting from prev_h = h0")
LSTM_STEP = Unit("lstm_step", "lstm_step_forward", "lstm_step_backward", ("next_h", "next_c"),
                 ("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db"), lambda ctx: _step_inputs(ctx, 4),
                 "a = x.dot(Wx) + prev_h.dot(Wh) + b; i, f, o = sigmoid of a[:, :H], a[:, H:2H], a[:, 2H:3H]; "
                 "g = np.tanh(a[:, 3H:]); next_c = f * prev_c + i * g; next_h = o * np.tanh(next_c)")
LSTM = Unit("lstm", "lstm_forward", "lstm_backward", ("h",), ("dx", "dh0", "dWx", "dWh", "db"),
            lambda ctx: _sequence_inputs(ctx, 4),
            "run lstm_step_forward over t with prev_h = h0 and the initial cell state prev_c = np.zeros_like(h0)")
TEMPORAL_AFFINE = Unit("temporal_affine", "temporal_affine_forward", "temporal_affine_backward", ("out",),
                       ("dx", "dw", "db"), _temporal_affine_inputs,
                       "out = x.reshape(N * T, D).dot(w).reshape(N, T, M) + b")


# ---------------------------------------------------------------- calling the user's pair

def call_forward(ctx: CheckContext, unit: Unit, inputs: dict[str, np.ndarray]) -> tuple[list[np.ndarray], Any]:
    """The user's forward on `inputs` (used as they are): (its outputs as float arrays, cache)."""
    value = call_user(ctx.fn(unit.forward), *inputs.values(), subject=unit.forward)
    *outputs, cache = unpack(value, (*unit.outputs, "cache"), unit.forward)
    return [expect_array(o, n, subject=unit.forward) for o, n in zip(outputs, unit.outputs)], cache


def call_backward(ctx: CheckContext, unit: Unit, upstream: tuple[np.ndarray, ...], cache: Any) -> tuple:
    """The user's backward on copies of the upstream gradients: one float array per input."""
    value = call_user(ctx.fn(unit.backward), *(u.copy() for u in upstream), cache, subject=unit.backward)
    grads = unpack(value, unit.grads, unit.backward)
    return tuple(expect_array(g, n, subject=unit.backward) for g, n in zip(grads, unit.grads))


def pair_for_gradcheck(ctx: CheckContext, unit: Unit) -> tuple[Callable, Callable]:
    """The user's pair as gradcheck expects it: forward -> (out, cache), backward(dout, cache) -> grads.

    An LSTM step has two outputs: they are checked as one (next_h and next_c side by side), and
    dout is split back into dnext_h and dnext_c (copies: a backward that adds to dnext_c in
    place must not change the checker's dout).
    """
    forward_fn, backward_fn = ctx.fn(unit.forward), ctx.fn(unit.backward)
    if len(unit.outputs) == 1:
        return forward_fn, backward_fn

    def forward(x, prev_h, prev_c, Wx, Wh, b):
        next_h, next_c, cache = unpack(forward_fn(x, prev_h, prev_c, Wx, Wh, b), (*unit.outputs, "cache"),
                                       unit.forward)
        return np.concatenate([expect_array(next_h, "next_h", subject=unit.forward),
                               expect_array(next_c, "next_c", subject=unit.forward)], axis=1), cache

    def backward(dout, cache):
        half = dout.shape[1] // 2
        return backward_fn(dout[:, :half].copy(), dout[:, half:].copy(), cache)

    forward.__name__, backward.__name__ = unit.forward, unit.backward
    return forward, backward


def upstream_for(ctx: CheckContext, unit: Unit, outputs: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    """Random upstream gradients, one per output."""
    return tuple(ctx.rng.standard_normal(o.shape) for o in outputs)


# ---------------------------------------------------------------- generic aspects

def forward_check(ctx: CheckContext, unit: Unit) -> Outcome:
    """Every output equals the reference's, and the inputs are left as they were."""
    inputs = unit.make(ctx)
    before = snapshot(inputs)
    expected = unit.reference(*snapshot(inputs).values())[:len(unit.outputs)]
    with global_random_preserved():
        outputs, _ = call_forward(ctx, unit, inputs)
    changed = mutated_arrays(before, inputs)
    if changed:
        return failed(Finding("mutates_input", f"{unit.forward} modified its input {', '.join(changed)} in place",
                              fix="work on new arrays (prev_h = next_h rebinds a name; prev_h[...] = ... or "
                                  "+= writes into the caller's array)", where=tuple(changed)), mutated=changed)
    shapes = ", ".join(f"{k} {v.shape}" for k, v in inputs.items())
    for got, want, name in zip(outputs, expected, unit.outputs):
        outcome = compare_arrays(got, want, name, subject=unit.forward, hint=unit.hint, what=shapes)
        if outcome.status != PASS:
            return gate_order_named(unit, outcome, outputs, inputs)
    return passed(f"{', '.join(unit.outputs)} match{'es' if len(unit.outputs) == 1 else ''} the reference "
                  f"({shapes}); inputs unchanged")


def gate_order_named(unit: Unit, outcome: Outcome, outputs: list[np.ndarray], inputs: dict) -> Outcome:
    """An LSTM step whose outputs are the right ones for another gate order: said so."""
    if unit.topic != "lstm_step" or len(outputs) != 2:
        return outcome
    order = mistakes.gate_order_of(outputs[0], outputs[1], snapshot(inputs))
    if order is None:
        return outcome
    finding = outcome.finding
    return failed(Finding("gate_order", f"{unit.forward}: the gates are read in the order {', '.join(order)} "
                          "instead of i, f, o, g", fix=GATE_FIX, where=finding.where,
                          evidence=(finding.what, *finding.evidence)), **outcome.details, gate_order=order)


GATE_FIX = ("split the 4H activations as the course does: i = sigmoid(a[:, :H]), f = sigmoid(a[:, H:2*H]), "
            "o = sigmoid(a[:, 2*H:3*H]), g = np.tanh(a[:, 3*H:]) (the same order in the backward pass)")


def gradients_check(ctx: CheckContext, unit: Unit) -> Outcome:
    """Every input's gradient through the engine's gradcheck; a failure matched against known mistakes."""
    inputs = unit.make(ctx)
    forward, backward = pair_for_gradcheck(ctx, unit)
    with global_random_preserved():
        result = gradcheck(forward, backward, *inputs.values(), names=tuple(inputs), seed=ctx.seed,
                           subject=unit.backward)
    outcome = result.to_outcome()
    if outcome.status != FAIL:
        return outcome
    known = explain(ctx, unit, inputs)
    if known is None:
        return outcome
    pattern, words, fix = known
    # The engine measured where and how much; the match says which line: it leads, the figures follow.
    finding = outcome.finding or Finding(pattern, "")
    return failed(Finding(pattern, f"{unit.backward}: {words}", fix=fix, where=finding.where,
                          evidence=tuple(e for e in (finding.what, *finding.evidence) if e)),
                  **outcome.details, mistake=words)


def user_gradients(ctx: CheckContext, unit: Unit, inputs: dict[str, np.ndarray],
                   upstream: tuple[np.ndarray, ...] | None = None) -> tuple[tuple, tuple[np.ndarray, ...]]:
    """(the user's gradients, the upstream used) for the user's forward on copies of `inputs`."""
    outputs, cache = call_forward(ctx, unit, snapshot(inputs))
    upstream = upstream if upstream is not None else upstream_for(ctx, unit, outputs)
    return call_backward(ctx, unit, upstream, cache), upstream


def explain(ctx: CheckContext, unit: Unit, inputs: dict[str, np.ndarray]) -> tuple[str, str, str] | None:
    """(pattern, what the mistake is, fix) when the user's gradients equal a known mistake's, else None."""
    try:
        got, upstream = user_gradients(ctx, unit, inputs)
    except (UserCodeError, NotImplementedYet):
        return None
    candidates = KNOWN.get(unit.topic)
    return candidates(inputs, upstream, got) if candidates else None


def _rnn_step_known(inputs: dict, upstream: tuple, got: tuple) -> tuple[str, str, str] | None:
    _, cache = ref.rnn_step_forward(*inputs.values())
    found = mistakes.match(got, ((words, mistakes.rnn_step_grads(cache, upstream[0], words))
                                 for words in mistakes.TANH_LOCAL if words != "right"))
    if found:
        return "tanh_derivative", f"the tanh derivative is wrong ({found})", \
            "next_h = tanh(a), so da = dnext_h * (1 - next_h ** 2)"
    return None


LSTM_STEP_MISTAKES = {
    "no_tanh_path": ("cell_path", "dc misses the path through next_h: dnext_h * o * (1 - tanh(next_c)**2)"),
    "no_dnext_c": ("cell_path", "dc ignores the upstream dnext_c"),
    "dprev_c_no_f": ("cell_path", "dprev_c is dc, without the forget gate's factor f"),
    "dprev_c_raw": ("cell_path", "dprev_c is dnext_c * f, without the path through next_h"),
}
CELL_FIX = ("dc = dnext_c + dnext_h * o * (1 - np.tanh(next_c) ** 2); dprev_c = dc * f; "
            "di = dc * g, df = dc * prev_c, dg = dc * i, do = dnext_h * np.tanh(next_c)")


def _lstm_step_known(inputs: dict, upstream: tuple, got: tuple) -> tuple[str, str, str] | None:
    _, _, cache = ref.lstm_step_forward(*inputs.values())
    named = {**{k: v for k, v in LSTM_STEP_MISTAKES.items()},
             **{order: ("gate_order", f"the gradients of the gates are assembled in the order "
                                      f"{', '.join(order)} instead of i, f, o, g") for order in mistakes.GATE_ORDERS},
             **LSTM_TANH_MISTAKES}
    found = mistakes.match(got, ((key, mistakes.lstm_step_grads(cache, *upstream, key)) for key in named))
    if found:
        pattern, words = named[found]
        return pattern, words, {"cell_path": CELL_FIX, "tanh_derivative": LSTM_TANH_FIX}.get(pattern, GATE_FIX)
    return None


# A tanh derivative gone wrong in the LSTM: of the block input g = tanh(a_g), or of tanh(next_c).
LSTM_TANH_WORDS = {  # TANH_LOCAL key -> (words for g, words for tanh(next_c))
    "1 - h instead of 1 - h**2": ("1 - g instead of 1 - g**2", "1 - tanh(next_c) instead of 1 - tanh(next_c)**2"),
    "the derivative of tanh is missing (da = dnext_h)": ("its derivative is missing (dg = dc * i)",
                                                         "its derivative is missing (dc = dnext_c + dnext_h * o)"),
    "tanh applied again to the output: 1 - np.tanh(next_h)**2": (
        "tanh applied again to g: 1 - np.tanh(g)**2", "tanh applied again: 1 - np.tanh(np.tanh(next_c))**2"),
}
LSTM_TANH_MISTAKES = {
    f"{part}:{local}": ("tanh_derivative", f"the derivative of {name} is wrong: {words[index]}")
    for index, (part, name) in enumerate((("g", "the block input g = tanh(a_g)"), ("c", "tanh(next_c)")))
    for local, words in LSTM_TANH_WORDS.items()
}
LSTM_TANH_FIX = ("d tanh(a) / da = 1 - tanh(a)**2: dg's local factor is (1 - g ** 2) and the cell path's "
                 "dnext_h * o * (1 - np.tanh(next_c) ** 2)")


SEQUENCE_MISTAKES = {
    "no_accumulation": ("no_accumulation", "dprev_h from step t + 1 is not added to dh[:, t]: h[:, t] reaches the "
                        "loss directly and through the next step",
                        "dx[:, t], dprev_h, dWx_t, dWh_t, db_t = step_backward(dh[:, t] + dprev_h, cache[t])"),
    "last_only": ("no_accumulation", "only the last timestep gets its upstream dh[:, t]; the others get dprev_h alone",
                  "every step's upstream gradient is dh[:, t] + dprev_h"),
    "weights_not_summed": ("weights_not_summed", "dWx, dWh and db keep only one timestep's gradient (= instead of +=)",
                           "the weights are shared by every timestep: dWx += dWx_t, dWh += dWh_t, db += db_t"),
    "no_dh0": ("h0_gradient", "dh0 is zero", "after the loop over t, dh0 = dprev_h"),
    "no_cell_carry": ("cell_path", "dprev_c is not passed back to the previous step (dnext_c is always 0)",
                      "carry the cell gradient too: ..., dprev_h, dprev_c, ... = lstm_step_backward(dh[:, t] + "
                      "dprev_h, dprev_c, cache[t])"),
}


def _sequence_known(cell: str) -> Callable:
    def known(inputs: dict, upstream: tuple, got: tuple) -> tuple[str, str, str] | None:
        keys = [k for k in SEQUENCE_MISTAKES if cell == "lstm" or k != "no_cell_carry"]
        found = mistakes.match(got, ((k, mistakes.sequence_grads(cell, inputs, upstream[0], k)) for k in keys))
        return SEQUENCE_MISTAKES[found] if found else None
    return known


KNOWN = {"rnn_step": _rnn_step_known, "lstm_step": _lstm_step_known,
         "rnn": _sequence_known("rnn"), "lstm": _sequence_known("lstm")}


def through_time(ctx: CheckContext, unit: Unit, cell: str) -> Outcome:
    """With an upstream gradient at the last timestep only, dx reaches every timestep and dh0 is right."""
    inputs = unit.make(ctx)
    dh = np.zeros((N, T, H))
    dh[:, -1] = ctx.rng.standard_normal((N, H))
    got, _ = user_gradients(ctx, unit, inputs, (dh,))
    expected = mistakes.sequence_grads(cell, snapshot(inputs), dh)
    names = unit.grads
    for grad, want, name in zip(got, expected, names):
        problem = shape_problem(grad, name, want.shape, subject=unit.backward)
        if problem:
            return problem
    dx = got[0]
    if not np.any(dx[:, :-1]) and np.any(expected[0][:, :-1]):
        return failed(Finding("no_accumulation", f"{unit.backward}: with dh nonzero at the last timestep only, dx is "
                              f"zero at timesteps 0..{T - 2}: the gradient does not flow back through time",
                              fix=SEQUENCE_MISTAKES["no_accumulation"][2], where=("dx[:, 0]",)))
    for grad, want, name in zip(got, expected, names):
        outcome = compare_arrays(grad, want, name, subject=unit.backward, what="dh at the last timestep only")
        if outcome.status != PASS:
            known = _sequence_known(cell)(snapshot(inputs), (dh,), got)
            if known:
                pattern, words, fix = known
                return failed(replace(outcome.finding, pattern=pattern, what=f"{outcome.finding.what}: {words}",
                                      fix=fix), **outcome.details)
            return outcome
    return passed(f"an upstream gradient at t={T - 1} alone reaches dx at every timestep and dh0 "
                  f"(T={T}), as the reference's")


def cell_path(ctx: CheckContext) -> Outcome:
    """lstm_step_backward with only dnext_c, then only dnext_h: each path alone matches the reference."""
    inputs = LSTM_STEP.make(ctx)
    _, _, cache = ref.lstm_step_forward(*snapshot(inputs).values())
    upstream = ctx.rng.standard_normal((N, H))
    for words, dnext in (("dnext_h = 0 (the cell path alone)", (np.zeros((N, H)), upstream)),
                         ("dnext_c = 0 (through next_h alone)", (upstream, np.zeros((N, H))))):
        got, _ = user_gradients(ctx, LSTM_STEP, inputs, dnext)
        expected = mistakes.lstm_step_grads(cache, *dnext)
        if mistakes.same(got, expected):
            continue
        known = _lstm_step_known(snapshot(inputs), dnext, got)
        bad = next(i for i, (g, e) in enumerate(zip(got, expected)) if not mistakes.same((g,), (e,)))
        outcome = compare_arrays(got[bad], expected[bad], LSTM_STEP.grads[bad], subject="lstm_step_backward",
                                 hint=CELL_FIX, what=words)
        if known and outcome.finding is not None:
            pattern, mistake, fix = known
            return failed(replace(outcome.finding, pattern=pattern, what=f"{outcome.finding.what}: {mistake}",
                                  fix=fix), **outcome.details)
        if outcome.finding is not None:
            return failed(replace(outcome.finding, pattern="cell_path"), **outcome.details)
        return outcome
    return passed("the gradients through the cell state alone and through next_h alone match the reference")


# ---------------------------------------------------------------- word embedding

def embedding_forward(ctx: CheckContext) -> Outcome:
    """out[n, t] = W[x[n, t]], of shape (N, T, D)."""
    x, W = ctx.rng.integers(V, size=(N, T)), randn(ctx.rng, V, D)
    value = call_user(ctx.fn("word_embedding_forward"), x.copy(), W.copy(), subject="word_embedding_forward")
    out, _ = unpack(value, ("out", "cache"), "word_embedding_forward")
    out = expect_array(out, "out", subject="word_embedding_forward")
    return compare_arrays(out, W[x], "out", subject="word_embedding_forward", hint="out = W[x] (shape (N, T, D))",
                          what=f"x {x.shape} of indices < {V}, W {W.shape}")


def embedding_gradcheck(ctx: CheckContext) -> Outcome:
    """dW through the engine's gradcheck, each word once (repeated words: the next check)."""
    x = ctx.rng.permutation(V)[:N * 2].reshape(N, 2)
    W = randn(ctx.rng, V, D)
    forward_fn, backward_fn = ctx.fn("word_embedding_forward"), ctx.fn("word_embedding_backward")

    def word_embedding_forward(W, x):  # the engine differentiates the first arguments: W first
        return forward_fn(x, W)

    return gradcheck(word_embedding_forward, backward_fn, W, args=(x,), names=("W",), seed=ctx.seed,
                     subject="word_embedding_backward").to_outcome()


def embedding_repeated(ctx: CheckContext) -> Outcome:
    """A word used several times gets the sum of its upstream gradients (np.add.at)."""
    x = np.array([[0, 1, 0, 2], [2, 0, 3, 0], [1, 1, 4, 0]])  # word 0 five times, 1 and 2 several
    W = randn(ctx.rng, V, D)
    value = call_user(ctx.fn("word_embedding_forward"), x.copy(), W.copy(), subject="word_embedding_forward")
    _, cache = unpack(value, ("out", "cache"), "word_embedding_forward")
    dout = ctx.rng.standard_normal((*x.shape, D))
    got = call_user(ctx.fn("word_embedding_backward"), dout.copy(), cache, subject="word_embedding_backward")
    got = expect_array(unpack(got, ("dW",), "word_embedding_backward")[0], "dW", subject="word_embedding_backward")
    expected = ref.word_embedding_backward(dout, (x, W))
    last_write = np.zeros_like(W)
    last_write[x] += dout  # the fancy-indexed += keeps one occurrence of each word
    outcome = compare_arrays(got, expected, "dW", subject="word_embedding_backward",
                             hint="np.add.at(dW, x, dout) adds every occurrence", what="word 0 five times")
    if outcome.status != PASS and got.shape == W.shape and np.allclose(got, last_write, rtol=1e-6, atol=1e-10):
        finding = outcome.finding
        return failed(replace(finding, pattern="repeated_words", what=f"{finding.what}: each repeated word got "
                              "the gradient of one occurrence only (dW[x] += dout does not add up repeats)",
                              fix="np.add.at(dW, x, dout) accumulates over repeated indices"), **outcome.details)
    if outcome.status == PASS:
        return passed("dW sums the upstream gradients of every occurrence of a repeated word")
    return outcome


# ---------------------------------------------------------------- temporal softmax loss

def softmax_inputs(ctx: CheckContext) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores (N, T, V), targets (N, T) and a mask with some positions off in every row but the first."""
    rng = ctx.rng
    mask = rng.random((N, T)) < 0.6
    mask[0] = True
    mask[1:, -1] = False  # padding at the end, as captions have
    return randn(rng, N, T, V), rng.integers(V, size=(N, T)), mask


def call_temporal_loss(ctx: CheckContext, x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> tuple[float, np.ndarray]:
    name = "temporal_softmax_loss"
    value = call_user(ctx.fn(name), x.copy(), y.copy(), mask.copy(), subject=name)
    loss, dx = unpack(value, ("loss", "dx"), name)
    if loss is None:
        raise NotImplementedYet(name, "returned loss = None")
    if np.asarray(loss).size != 1:
        raise UserCodeError(f"{name} returned loss as {describe_value(loss)}, expected a scalar", subject=name)
    return float(np.asarray(loss).reshape(())), expect_array(dx, "dx", subject=name)


def per_position_losses(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """-log softmax(x)[y] at every position, (N, T)."""
    shifted = x - x.max(axis=2, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=2, keepdims=True))
    return -np.take_along_axis(log_probs, y[..., None], axis=2)[..., 0]


def temporal_value(ctx: CheckContext) -> Outcome:
    """The loss summed over the masked-in positions and divided by N, against the reference."""
    x, y, mask = softmax_inputs(ctx)
    loss, _ = call_temporal_loss(ctx, x, y, mask)
    expected = ref.temporal_softmax_loss(x, y, mask)[0]
    if rel_error(loss, expected) < 1e-7:
        return passed(f"loss {loss:.6g} matches the reference (N={N}, T={T}, V={V}, {int(mask.sum())} of "
                      f"{mask.size} positions in the mask)", loss=loss)
    each = per_position_losses(x, y)
    variants = (
        (each.sum() / N, "mask_ignored", "the mask is ignored: padded positions count",
         "multiply each position's loss by the mask before summing"),
        (each[mask].sum() / mask.sum(), "loss_normalisation", "divided by the number of words in the mask, not by N",
         "divide the masked sum by N, the minibatch size (the course's convention)"),
        (each[mask].sum() / (N * T), "loss_normalisation", "divided by N * T, not by N", "divide by N only"),
        (each[mask].sum(), "batch_size", "summed over the minibatch but not divided by N", "divide by N"),
    )
    for value, pattern, words, fix in variants:
        if rel_error(loss, value) < 1e-7:
            return failed(Finding(pattern, f"temporal_softmax_loss returned {loss:.6g}, expected {expected:.6g}: "
                                  f"{words}", fix=fix, where=("loss",)), loss=loss, expected=expected)
    return failed(Finding("loss_value", f"temporal_softmax_loss returned {loss:.6g}, expected {expected:.6g}",
                          fix="loss = -sum over masked-in positions of log softmax(x)[y], divided by N",
                          where=("loss",)), loss=loss, expected=expected)


def temporal_gradcheck(ctx: CheckContext) -> Outcome:
    """dx of the masked loss against central differences."""
    x, y, mask = softmax_inputs(ctx)
    return gradcheck_loss(ctx.fn("temporal_softmax_loss"), x, y, mask, names=("x",), seed=ctx.seed).to_outcome()


def temporal_mask(ctx: CheckContext) -> Outcome:
    """Positions outside the mask change neither the loss nor get any gradient."""
    x, y, mask = softmax_inputs(ctx)
    loss, dx = call_temporal_loss(ctx, x, y, mask)
    moved = x.copy()
    moved[~mask] += 5 * ctx.rng.standard_normal((int((~mask).sum()), V))
    loss_moved, _ = call_temporal_loss(ctx, moved, y, mask)
    leaking = dx.shape == x.shape and np.any(np.abs(dx[~mask]) > 1e-12)
    if abs(loss_moved - loss) > 1e-9 * max(1.0, abs(loss)) or leaking:
        what = ("the loss changes when scores outside the mask change" if not leaking else
                "dx is nonzero at positions outside the mask")
        return failed(Finding("mask_ignored", f"temporal_softmax_loss: {what}", fix="multiply both the per-position "
                              "losses and dx by mask (dx_flat *= mask_flat[:, None])", where=("dx",)))
    return passed(f"the {int((~mask).sum())} masked-out positions change nothing and get zero gradient")


# ---------------------------------------------------------------- declarations

FORWARD = "matches the reference on random inputs"
GRADCHECK = "gradient of every input matches finite differences"
THROUGH_TIME = "the hidden-state gradient flows back through time"


def blamed_on_step(step: Unit, sequence: Unit) -> Callable:
    """A sequence check, blamed on its step function when that one failed its own check."""
    return with_blame(suites=("rnn",), subjects=(step.forward, step.backward),
                      exclude=(sequence.forward, sequence.backward), owner=sequence.forward)


@check("rnn.rnn_step.forward", subject="rnn_step_forward", title=FORWARD)
def rnn_step_forward_matches(ctx: CheckContext) -> Outcome:
    return forward_check(ctx, RNN_STEP)


@check("rnn.rnn_step.gradcheck", subject="rnn_step_backward", title=GRADCHECK,
       depends_on=("rnn.rnn_step.forward",), needs=("rnn_step_forward", "rnn_step_backward"))
def rnn_step_gradcheck(ctx: CheckContext) -> Outcome:
    return gradients_check(ctx, RNN_STEP)


@check("rnn.rnn.forward", subject="rnn_forward", title=FORWARD)
@blamed_on_step(RNN_STEP, RNN)
def rnn_forward_matches(ctx: CheckContext) -> Outcome:
    return forward_check(ctx, RNN)


@check("rnn.rnn.gradcheck", subject="rnn_backward", title=GRADCHECK, depends_on=("rnn.rnn.forward",),
       needs=("rnn_forward", "rnn_backward"))
@blamed_on_step(RNN_STEP, RNN)
def rnn_gradcheck(ctx: CheckContext) -> Outcome:
    return gradients_check(ctx, RNN)


@check("rnn.rnn.through_time", subject="rnn_backward", title=THROUGH_TIME, depends_on=("rnn.rnn.forward",),
       needs=("rnn_forward", "rnn_backward"))
@blamed_on_step(RNN_STEP, RNN)
def rnn_through_time(ctx: CheckContext) -> Outcome:
    return through_time(ctx, RNN, "rnn")


@check("rnn.word_embedding.forward", subject="word_embedding_forward", title="out = W[x], shape (N, T, D)")
def word_embedding_forward_matches(ctx: CheckContext) -> Outcome:
    return embedding_forward(ctx)


@check("rnn.word_embedding.gradcheck", subject="word_embedding_backward", title="dW matches finite differences",
       depends_on=("rnn.word_embedding.forward",), needs=("word_embedding_forward", "word_embedding_backward"))
def word_embedding_gradcheck(ctx: CheckContext) -> Outcome:
    return embedding_gradcheck(ctx)


@check("rnn.word_embedding.repeated", subject="word_embedding_backward",
       title="repeated words accumulate their gradients", depends_on=("rnn.word_embedding.forward",),
       needs=("word_embedding_forward", "word_embedding_backward"))
def word_embedding_repeated(ctx: CheckContext) -> Outcome:
    return embedding_repeated(ctx)


@check("rnn.temporal_affine.forward", subject="temporal_affine_forward", title=FORWARD)
def temporal_affine_forward_matches(ctx: CheckContext) -> Outcome:
    return forward_check(ctx, TEMPORAL_AFFINE)


@check("rnn.temporal_affine.gradcheck", subject="temporal_affine_backward", title=GRADCHECK,
       depends_on=("rnn.temporal_affine.forward",), needs=("temporal_affine_forward", "temporal_affine_backward"))
def temporal_affine_gradcheck(ctx: CheckContext) -> Outcome:
    return gradients_check(ctx, TEMPORAL_AFFINE)


@check("rnn.temporal_softmax.value", subject="temporal_softmax_loss",
       title="sum over the mask, divided by N, matches the reference")
def temporal_softmax_value(ctx: CheckContext) -> Outcome:
    return temporal_value(ctx)


@check("rnn.temporal_softmax.gradcheck", subject="temporal_softmax_loss", title="dx matches finite differences")
def temporal_softmax_gradcheck(ctx: CheckContext) -> Outcome:
    return temporal_gradcheck(ctx)


@check("rnn.temporal_softmax.mask", subject="temporal_softmax_loss",
       title="masked-out positions add no loss and get no gradient")
def temporal_softmax_mask(ctx: CheckContext) -> Outcome:
    return temporal_mask(ctx)


@check("rnn.lstm_step.forward", subject="lstm_step_forward", title=FORWARD + " (gates i, f, o, g)")
def lstm_step_forward_matches(ctx: CheckContext) -> Outcome:
    return forward_check(ctx, LSTM_STEP)


@check("rnn.lstm_step.gradcheck", subject="lstm_step_backward", title=GRADCHECK + " (dnext_h and dnext_c)",
       depends_on=("rnn.lstm_step.forward",), needs=("lstm_step_forward", "lstm_step_backward"))
def lstm_step_gradcheck(ctx: CheckContext) -> Outcome:
    return gradients_check(ctx, LSTM_STEP)


@check("rnn.lstm_step.cell_path", subject="lstm_step_backward",
       title="the cell-state gradient alone (dnext_h = 0) matches the reference",
       depends_on=("rnn.lstm_step.forward",), needs=("lstm_step_forward", "lstm_step_backward"))
def lstm_step_cell_path(ctx: CheckContext) -> Outcome:
    return cell_path(ctx)


@check("rnn.lstm.forward", subject="lstm_forward", title=FORWARD + " (cell state starts at 0)")
@blamed_on_step(LSTM_STEP, LSTM)
def lstm_forward_matches(ctx: CheckContext) -> Outcome:
    return forward_check(ctx, LSTM)


@check("rnn.lstm.gradcheck", subject="lstm_backward", title=GRADCHECK, depends_on=("rnn.lstm.forward",),
       needs=("lstm_forward", "lstm_backward"))
@blamed_on_step(LSTM_STEP, LSTM)
def lstm_gradcheck(ctx: CheckContext) -> Outcome:
    return gradients_check(ctx, LSTM)


@check("rnn.lstm.through_time", subject="lstm_backward", title=THROUGH_TIME, depends_on=("rnn.lstm.forward",),
       needs=("lstm_forward", "lstm_backward"))
@blamed_on_step(LSTM_STEP, LSTM)
def lstm_through_time(ctx: CheckContext) -> Outcome:
    return through_time(ctx, LSTM, "lstm")
