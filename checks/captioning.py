"""The `models.captioning_rnn` checks: assignment 3's CaptioningRNN (cs231n/classifiers/rnn.py).

`model = CaptioningRNN(word_to_idx, input_dim, wordvec_dim, hidden_dim, cell_type, dtype)`;
`model.loss(features, captions) -> (loss, grads)` reads captions[:, :-1], predicts
captions[:, 1:] and masks out the <NULL> targets; `model.sample(features, max_length)` starts
from <START> and the projected features and feeds back each word it picks. The loss is compared
with sanitykit's CaptioningRNN on the same weights, checked to be about log V per word at small
weights, and every parameter's gradient goes through the engine's gradcheck (vanilla and LSTM
cells); sampling is compared step for step with the reference's greedy captions.

Declared under the `models` suite (checks/models.py imports this module); rnn.py's checks are
declared first, so a captioning check that fails only because rnn_backward failed is blamed.
"""
from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from sanitykit import reference as ref
from sanitykit.checks import rnn as _rnn_checks  # noqa: F401 - the rnn suite is declared (and run) first
from sanitykit.checks.blame import with_blame
from sanitykit.checks.common import describe_value, global_random_preserved, unpack
from sanitykit.checks.registry import CheckContext, check
from sanitykit.engine.findings import Finding
from sanitykit.engine.gradcheck import gradcheck_model
from sanitykit.engine.numeric import rel_error
from sanitykit.engine.results import Outcome, failed, passed
from sanitykit.engine.usercode import NotImplementedYet, UserCodeError, call_user

SUBJECT = "CaptioningRNN"
WORDS = ("<NULL>", "<START>", "<END>", "a", "cat", "on", "the", "mat", "dog", "sat")
WORD_TO_IDX = {w: i for i, w in enumerate(WORDS)}
NULL, START, END, V = 0, 1, 2, len(WORDS)
SIZES = {"input_dim": 8, "wordvec_dim": 6, "hidden_dim": 7}
N, T = 4, 6


# ---------------------------------------------------------------- building the model

def build(ctx: CheckContext, cell_type: str) -> Any:
    """The user's CaptioningRNN with small sizes, float64 parameters and seeded initial weights."""
    cls = ctx.fn(SUBJECT)
    wanted = {**SIZES, "cell_type": cell_type, "dtype": np.float64}
    try:
        accepted = inspect.signature(cls).parameters
        if not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
            wanted = {k: v for k, v in wanted.items() if k in accepted}
    except (TypeError, ValueError):
        pass
    with global_random_preserved():
        np.random.seed(ctx.seed)
        model = call_user(cls, dict(WORD_TO_IDX), subject=SUBJECT, **wanted)
    params = getattr(model, "params", None)
    if not isinstance(params, dict):
        raise UserCodeError(f"{SUBJECT}(...).params is {describe_value(params)}, expected a dict of arrays",
                            subject=SUBJECT)
    for key, value in params.items():
        if isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.dtype != np.float64:
            params[key] = value.astype(np.float64)  # years without dtype: checked in float64 all the same
    return model


def reference_twin(model: Any, cell_type: str) -> Any:
    """sanitykit's CaptioningRNN holding copies of the user's parameters (a missing one is an error)."""
    twin = ref.CaptioningRNN(dict(WORD_TO_IDX), **SIZES, cell_type=cell_type, dtype=np.float64, seed=0)
    missing = [k for k in twin.params if k not in model.params]
    if missing:
        raise UserCodeError(f"{SUBJECT}.params has no {', '.join(missing)} (the course's parameter names)",
                            subject=SUBJECT)
    twin.params = {k: np.array(model.params[k], dtype=np.float64) for k in twin.params}
    return twin


def data(ctx: CheckContext) -> tuple[np.ndarray, np.ndarray]:
    """Features (N, D) and captions (N, T): <START>, words, <END>, then <NULL> padding in most rows."""
    rng = ctx.rng
    captions = np.full((N, T), NULL)
    for row, length in enumerate((T - 2, 2, 3, 1)):
        captions[row, 0] = START
        captions[row, 1:1 + length] = rng.integers(3, V, size=length)
        captions[row, 1 + length] = END
    return rng.standard_normal((N, SIZES["input_dim"])), captions


def model_loss(model: Any, features: np.ndarray, captions: np.ndarray) -> tuple[float, dict]:
    """model.loss(features, captions) as (float, grads); the starter's 0.0 and {} is not implemented yet."""
    with global_random_preserved():
        value = call_user(model.loss, features.copy(), captions.copy(), subject=f"{SUBJECT}.loss")
    loss, grads = unpack(value, ("loss", "grads"), f"{SUBJECT}.loss")
    if loss is None or (np.asarray(loss).size == 1 and float(np.asarray(loss)) == 0.0 and not grads):
        raise NotImplementedYet(f"{SUBJECT}.loss", "loss is 0 with no gradients")
    if np.asarray(loss).size != 1:
        raise UserCodeError(f"{SUBJECT}.loss returned loss as {describe_value(loss)}, expected a scalar",
                            subject=f"{SUBJECT}.loss")
    return float(np.asarray(loss).reshape(())), grads or {}


# ---------------------------------------------------------------- what a wrong loss means

def loss_with(twin: Any, features: np.ndarray, captions_in: np.ndarray, captions_out: np.ndarray,
              mask: np.ndarray) -> float:
    """The reference model's loss for given inputs, targets and mask (to reproduce a mistake)."""
    p = twin.params
    h0, _ = ref.affine_forward(features, p["W_proj"], p["b_proj"])
    words, _ = ref.word_embedding_forward(captions_in, p["W_embed"])
    forward = ref.rnn_forward if twin.cell_type == "rnn" else ref.lstm_forward
    hidden, _ = forward(words, h0, p["Wx"], p["Wh"], p["b"])
    scores, _ = ref.temporal_affine_forward(hidden, p["W_vocab"], p["b_vocab"])
    return ref.temporal_softmax_loss(scores, captions_out, mask)[0]


def loss_mistakes(twin: Any, features: np.ndarray, captions: np.ndarray) -> list[tuple[float, str, str, str]]:
    """(loss, pattern, what, fix) of the course's captioning-loss mistakes on these inputs."""
    first, rest = captions[:, :-1], captions[:, 1:]
    return [
        (loss_with(twin, features, first, rest, np.ones_like(rest, dtype=bool)), "null_mask",
         "the <NULL> padding is counted", "mask = (captions_out != self._null), passed to temporal_softmax_loss"),
        (loss_with(twin, features, first, rest, first != NULL), "null_mask",
         "the mask is taken from captions_in instead of captions_out", "mask = (captions_out != self._null)"),
        (loss_with(twin, features, first, first, first != NULL), "caption_shift",
         "the model is asked to predict the very words it reads",
         "captions_in = captions[:, :-1]; captions_out = captions[:, 1:]"),
        (loss_with(twin, features, rest, rest, rest != NULL), "caption_shift",
         "the model reads captions[:, 1:] and predicts the same words",
         "captions_in = captions[:, :-1]; captions_out = captions[:, 1:]"),
    ]


# ---------------------------------------------------------------- the checks

def loss_check(ctx: CheckContext) -> Outcome:
    """loss(features, captions) equals sanitykit's CaptioningRNN's on the same weights."""
    model = build(ctx, "rnn")
    twin = reference_twin(model, "rnn")
    features, captions = data(ctx)
    loss, _ = model_loss(model, features, captions)
    expected = twin.loss(features, captions)[0]
    if rel_error(loss, expected) < 1e-7:
        return passed(f"loss {loss:.6g} equals the reference's on the same weights (N={N}, T={T}, V={V})",
                      loss=loss)
    for value, pattern, words, fix in loss_mistakes(twin, features, captions):
        if rel_error(loss, value) < 1e-7:
            return failed(Finding(pattern, f"{SUBJECT}.loss returned {loss:.6g}, expected {expected:.6g}: {words}",
                                  fix=fix, where=("loss",)), loss=loss, expected=expected)
    return failed(Finding("loss_value", f"{SUBJECT}.loss returned {loss:.6g} on the same weights as the reference, "
                          f"expected {expected:.6g}", fix="affine_forward(features) -> h0; word_embedding_forward("
                          "captions_in); rnn_forward or lstm_forward; temporal_affine_forward; temporal_softmax_loss("
                          "scores, captions_out, mask)", where=("loss",)), loss=loss, expected=expected)


def initial_loss(ctx: CheckContext) -> Outcome:
    """With every weight scaled by 1e-3 each word is equally likely: loss ~ (words in the mask / N) * log V."""
    model = build(ctx, "rnn")
    for key, value in model.params.items():
        model.params[key] = np.asarray(value, dtype=np.float64) * 1e-3
    features, captions = data(ctx)
    loss, _ = model_loss(model, features, captions)
    words = int((captions[:, 1:] != NULL).sum())
    expected = words / N * np.log(V)
    if abs(loss - expected) <= 0.02 * expected:
        return passed(f"loss {loss:.4g} at small weights, expected ({words} words / N={N}) * log V = {expected:.4g}",
                      loss=loss, expected=expected)
    counted = (T - 1) * np.log(V)
    if abs(loss - counted) <= 0.02 * counted:
        pattern, why, fix = "null_mask", "every position counted, the <NULL> padding too", \
            "mask = (captions_out != self._null)"
    elif abs(loss - np.log(V)) <= 0.02 * np.log(V):
        pattern, why, fix = "loss_normalisation", "divided by the number of words, not by N", "divide by N only"
    else:
        pattern, why, fix = "initial_loss", "", "the loss is temporal_softmax_loss(scores, captions_out, mask)"
    return failed(Finding(pattern, f"{SUBJECT}.loss is {loss:.4g} at small weights, expected about {expected:.4g} "
                          f"({words} words / N={N} times log V = log {V})" + (f": {why}" if why else ""),
                          fix=fix, where=("loss",)), loss=loss, expected=expected)


def gradients(ctx: CheckContext, cell_type: str) -> Outcome:
    """Every parameter's gradient through the engine's gradcheck_model."""
    model = build(ctx, cell_type)
    features, captions = data(ctx)
    model_loss(model, features, captions)  # a stub is not implemented yet, not a gradient failure
    with global_random_preserved():
        return gradcheck_model(model, features, captions, seed=ctx.seed, subject=f"{SUBJECT}.loss").to_outcome()


def reference_sample(twin: Any, features: np.ndarray, length: int, mistake: str = "") -> np.ndarray:
    """Greedy captions of the reference's weights, optionally with one of the course's sampling mistakes.

    Args:
        mistake: "" (right), "start_fed" (<START> fed at every step), "zero_h0" (h0 = 0),
            "state_reset" (the hidden state restarts from h0 at every step), "null_first" (the first
            input is <NULL>), "start_kept" (<START> written as the first word).
    """
    p = twin.params
    h0 = np.zeros((len(features), p["W_proj"].shape[1])) if mistake == "zero_h0" else \
        ref.affine_forward(features, p["W_proj"], p["b_proj"])[0]
    h, c = h0, np.zeros_like(h0)
    words = np.full(len(features), NULL if mistake == "null_first" else START)
    out = []
    for _ in range(length):
        x, _ = ref.word_embedding_forward(words, p["W_embed"])
        prev_h = h0 if mistake == "state_reset" else h
        if twin.cell_type == "rnn":
            h, _ = ref.rnn_step_forward(x, prev_h, p["Wx"], p["Wh"], p["b"])
        else:
            h, c, _ = ref.lstm_step_forward(x, prev_h, np.zeros_like(c) if mistake == "state_reset" else c,
                                            p["Wx"], p["Wh"], p["b"])
        chosen = np.argmax(ref.affine_forward(h, p["W_vocab"], p["b_vocab"])[0], axis=1)
        out.append(chosen)
        words = np.full_like(chosen, START) if mistake == "start_fed" else chosen
    captions = np.stack(out, axis=1)
    if mistake == "start_kept":
        captions = np.concatenate([np.full((len(features), 1), START), captions[:, :-1]], axis=1)
    return captions


# The course's initial word vectors (randn / 100) barely move the hidden state: scaled up, the
# word fed back and the projected features decide every caption, so a sampler that ignores
# either gives other words (measured: no mistake of SAMPLE_MISTAKES hides on 80 seeded models).
SAMPLE_SCALES = {"W_embed": 100.0, "W_proj": 3.0, "Wx": 2.0}
SAMPLE_MISTAKES = {
    "start_fed": ("sample_feedback", "<START> is fed at every step instead of the word just chosen",
                  "after choosing, feed it back: words = np.argmax(scores, axis=1); captions[:, t] = words"),
    "state_reset": ("sample_feedback", "the hidden (and cell) state restarts at every step",
                    "carry the state: prev_h = next_h (and prev_c = next_c for an LSTM) at the end of each step"),
    "zero_h0": ("sample_start", "the first hidden state is zero instead of the projected features",
                "h0 = features.dot(W_proj) + b_proj (affine_forward(features, W_proj, b_proj))"),
    "null_first": ("sample_start", "the first input word is not <START>",
                   "start from words = self._start * np.ones(N, dtype=np.int32)"),
    "start_kept": ("sample_start", "<START> is written as the first word of the caption",
                   "captions[:, 0] is the first word sampled, not <START>"),
}


def sample_check(ctx: CheckContext) -> Outcome:
    """sample(features) gives the reference's greedy captions, vanilla and LSTM."""
    length = 6
    for cell_type in ("rnn", "lstm"):
        model = build(ctx, cell_type)
        for key, factor in SAMPLE_SCALES.items():
            model.params[key] = model.params[key] * factor
        twin = reference_twin(model, cell_type)
        features = ctx.rng.standard_normal((6, SIZES["input_dim"]))
        got = call_user(model.sample, features.copy(), max_length=length, subject=f"{SUBJECT}.sample")
        if got is None:
            raise NotImplementedYet(f"{SUBJECT}.sample", "returned None")
        got = np.asarray(got)
        expected = reference_sample(twin, features, length)
        if got.shape == expected.shape and np.array_equal(got, expected):
            continue
        if not np.any(got != NULL):
            raise NotImplementedYet(f"{SUBJECT}.sample", "every word is still <NULL>")
        what = (f"{SUBJECT}.sample with cell_type={cell_type!r} gave {got.tolist()[:2]}..., expected "
                f"{expected.tolist()[:2]}... (shape {got.shape}, expected {expected.shape})")
        for mistake, (pattern, words, fix) in SAMPLE_MISTAKES.items():
            if got.shape == expected.shape and np.array_equal(got, reference_sample(twin, features, length, mistake)):
                return failed(Finding(pattern, f"{SUBJECT}.sample ({cell_type}): {words}", fix=fix,
                                      where=("captions",), evidence=(what,)))
        return failed(Finding("sample_feedback", what, fix="each step: embed the previous word, one "
                              "rnn_step_forward / lstm_step_forward, affine to the vocabulary, argmax; start from "
                              "<START> and h0 = affine_forward(features, W_proj, b_proj)", where=("captions",)))
    return passed(f"greedy captions of length {length} equal the reference's for both cells: each word fed back, "
                  "starting from <START> and the projected features")


# ---------------------------------------------------------------- declarations

def captioning_check(compute):
    """Blamed on a failed layer or recurrent function that the model calls (rerun with the reference's)."""
    return with_blame(suites=("layers", "rnn"), owner="the model", calls=SUBJECT)(compute)


@check("models.captioning_rnn.loss", subject=SUBJECT, title="loss equals the reference's on the same weights")
@captioning_check
def captioning_rnn_loss(ctx: CheckContext) -> Outcome:
    return loss_check(ctx)


@check("models.captioning_rnn.initial_loss", subject=SUBJECT, title="loss ~ log V per word at small weights")
@captioning_check
def captioning_rnn_initial_loss(ctx: CheckContext) -> Outcome:
    return initial_loss(ctx)


@check("models.captioning_rnn.gradcheck", subject=SUBJECT, title="every parameter's gradient matches (vanilla RNN)")
@captioning_check
def captioning_rnn_gradcheck(ctx: CheckContext) -> Outcome:
    return gradients(ctx, "rnn")


@check("models.captioning_rnn.gradcheck_lstm", subject=SUBJECT, title="every parameter's gradient matches (LSTM)")
@captioning_check
def captioning_rnn_gradcheck_lstm(ctx: CheckContext) -> Outcome:
    return gradients(ctx, "lstm")


@check("models.captioning_rnn.sample", subject=SUBJECT,
       title="sampling starts from the projected features and feeds back its words")
@captioning_check
def captioning_rnn_sample(ctx: CheckContext) -> Outcome:
    return sample_check(ctx)
