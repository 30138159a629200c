"""models.captioning_rnn: passes on the reference, names caption and sampling bugs, blames layer bugs."""
import numpy as np
import pytest

import sanitykit.reference as reference
import sanitykit.checks.captioning  # noqa: F401 - declares the checks
from sanitykit.checks.registry import REGISTRY, CheckContext, DictTarget
from sanitykit.front.runner import check
from sanitykit.reference import CaptioningRNN

from mutants.generator import Edit, materialise

CHECKS = ("models.captioning_rnn.loss", "models.captioning_rnn.initial_loss", "models.captioning_rnn.gradcheck",
          "models.captioning_rnn.gradcheck_lstm", "models.captioning_rnn.sample")


def run(check_id, cls=CaptioningRNN):
    target = DictTarget.from_modules(reference)
    target.objects["CaptioningRNN"] = cls
    return REGISTRY[check_id].func(CheckContext(target, seed=0))


@pytest.mark.parametrize("check_id", CHECKS)
def test_every_captioning_check_passes_on_the_reference(check_id):
    assert run(check_id).status == "pass"


class PaddingCounted(CaptioningRNN):
    """Every target counts in the loss, <NULL> padding included."""

    def loss(self, features, captions):
        null, self._null = self._null, -1  # no word is -1: the mask is all true
        try:
            return super().loss(features, captions)
        finally:
            self._null = null


class NotShifted(CaptioningRNN):
    """Reads captions[:, 1:] and predicts the same words (the loss only; no backward pass)."""

    def loss(self, features, captions):
        p, words = self.params, captions[:, 1:]
        h0, _ = reference.affine_forward(features, p["W_proj"], p["b_proj"])
        x, _ = reference.word_embedding_forward(words, p["W_embed"])
        h, _ = reference.rnn_forward(x, h0, p["Wx"], p["Wh"], p["b"])
        scores, _ = reference.temporal_affine_forward(h, p["W_vocab"], p["b_vocab"])
        return reference.temporal_softmax_loss(scores, words, words != self._null)[0], {}


class StartEveryStep(CaptioningRNN):
    """Greedy sampling that feeds <START> at every step instead of the word it chose."""

    def sample(self, features, max_length=30):
        p = self.params
        h, _ = reference.affine_forward(features, p["W_proj"], p["b_proj"])
        c = np.zeros_like(h)
        start = p["W_embed"][np.full(len(features), self._start)]
        out = []
        for _ in range(max_length):
            if self.cell_type == "rnn":
                h, _ = reference.rnn_step_forward(start, h, p["Wx"], p["Wh"], p["b"])
            else:
                h, c, _ = reference.lstm_step_forward(start, h, c, p["Wx"], p["Wh"], p["b"])
            out.append(np.argmax(h @ p["W_vocab"] + p["b_vocab"], axis=1))
        return np.stack(out, axis=1)


@pytest.mark.parametrize("cls, check_id, pattern", [
    (PaddingCounted, "models.captioning_rnn.loss", "null_mask"),
    (PaddingCounted, "models.captioning_rnn.initial_loss", "null_mask"),
    (NotShifted, "models.captioning_rnn.loss", "caption_shift"),
    (StartEveryStep, "models.captioning_rnn.sample", "sample_feedback"),
])
def test_captioning_bugs_are_named(cls, check_id, pattern):
    outcome = run(check_id, cls)
    assert outcome.status == "fail", outcome.message
    assert outcome.finding.pattern == pattern


def test_the_initial_loss_is_log_v_per_word_over_n():
    outcome = run("models.captioning_rnn.initial_loss")
    assert outcome.details["expected"] == pytest.approx(14 / 4 * np.log(10))  # 14 words in the mask, N=4, V=10


def test_a_captioning_gradient_failing_only_because_of_rnn_backward_is_blamed(tmp_path):
    no_carry = Edit("rnn_layers.py", "rnn_step_backward(dh[:, t] + dprev_h, cache[t])",
                    "rnn_step_backward(dh[:, t], cache[t])")
    tree = materialise(tmp_path, (no_carry,), assignment=3)
    report = check(tree, only=["rnn.rnn.*", "models.captioning_rnn.gradcheck", "models.captioning_rnn.loss"])
    by_id = {r.id: r for r in report.checks}
    assert by_id["rnn.rnn.gradcheck"].diagnosis.pattern == "no_accumulation"
    blamed = by_id["models.captioning_rnn.gradcheck"]
    assert blamed.status == "skip" and blamed.reason.kind == "blamed"
    assert blamed.reason.responsible == ("rnn_backward",)
    assert by_id["models.captioning_rnn.loss"].status == "pass"  # the forward pass is right
