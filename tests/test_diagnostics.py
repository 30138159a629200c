"""sk.lr_find, sk.activations and sk.overfit: result objects with the figures, views and pictures."""
from __future__ import annotations

import json
import types

import numpy as np
import pytest

import sanitykit as sk
from sanitykit import reference as ref

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def reference_with(**replaced) -> types.SimpleNamespace:
    """The reference's names, some replaced by a student's versions."""
    names = {k: getattr(ref, k) for k in ("FullyConnectedNet", "affine_forward", "relu_forward",
                                          "tanh_forward", "sgd")}
    return types.SimpleNamespace(**{**names, **replaced})


@pytest.fixture(scope="module")
def reference_lr():
    return sk.lr_find("sanitykit.reference", iters=10, seeds=(0, 1))


def test_lr_find_brackets_between_rates_that_train_and_rates_that_do_not(reference_lr):
    result = reference_lr
    assert result.lower <= result.suggested <= result.upper
    for bracket in result.brackets.values():
        assert bracket.verdict_at(bracket.upper) == "progress"
        above = [r for r in bracket.runs if r.learning_rate > bracket.upper]
        assert above and above[0].verdict != "progress"
    data = json.loads(json.dumps(result.to_dict()))
    assert data["confidence"] == result.confidence != "none"
    assert set(data["seeds"]) == {"0", "1"}


def test_lr_find_without_any_rate_that_trains_says_so():
    class NoGradients(ref.FullyConnectedNet):
        def loss(self, X, y=None):
            out = super().loss(X, y)
            return out if y is None else (out[0], {k: np.zeros_like(v) for k, v in out[1].items()})

    result = sk.lr_find(reference_with(FullyConnectedNet=NoGradients), iters=5, seeds=(0,))
    assert (result.upper, result.confidence, result.suggested) == (None, "none", None)
    assert "no learning rate from 1e-7 to 1e1 made progress" in result._plain_text()


def test_a_results_notebook_view_is_html_and_plain_text_without_escape_codes(reference_lr):
    bundle = reference_lr._repr_mimebundle_()
    assert "<pre" in bundle["text/html"] and "bracket: [" in bundle["text/html"]
    assert "\x1b" not in bundle["text/plain"] and "recommended start" in bundle["text/plain"]


def test_activations_show_the_known_picture_of_each_init_for_correct_layers():
    result = sk.activations("sanitykit.reference", layers=6, units=120)
    regimes = {(p.nonlinearity, p.init): p.regime for p in result.profiles}
    assert regimes[("relu", "he")] == "holds" and regimes[("tanh", "small")] == "collapses"
    assert result.ok, result.wrong
    assert all(len(h) == 6 for h in result.histograms.values())
    counts, edges = result.histograms[("tanh", "xavier")][0]
    assert counts.sum() == 200 * 120 and (edges[0], edges[-1]) == (-1.0, 1.0)


def test_a_relu_that_halves_its_input_breaks_the_picture():
    def relu_forward(x):
        return 0.5 * np.maximum(0, x), x

    result = sk.activations(reference_with(relu_forward=relu_forward, FullyConnectedNet=None), layers=6, units=120)
    assert not result.ok
    assert any(w.startswith("relu/he ") for w in result.wrong)


def test_an_error_in_the_users_code_is_the_results_problem_not_an_exception():
    def affine_forward(x, w, b):
        raise ValueError("shapes do not align")

    result = sk.activations(reference_with(affine_forward=affine_forward), layers=3, units=20)
    assert "affine_forward raised ValueError: shapes do not align" in result.problem
    assert not result.ok and json.loads(json.dumps(result.to_dict()))["problem"] == result.problem


def test_overfit_memorises_a_few_examples_with_a_correct_net():
    result = sk.overfit("sanitykit.reference", iters=60)
    assert result.ok and result.train_acc == 1.0
    assert result.losses[-1] < result.losses[0] and len(result.train_acc_history) >= 2


@pytest.mark.parametrize("compute", [
    lambda: sk.lr_find("sanitykit.reference", iters=5, seeds=(0,)),
    lambda: sk.activations("sanitykit.reference", layers=3, units=30),
    lambda: sk.overfit("sanitykit.reference", iters=10),
])
def test_plot_draws_a_png(compute, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "figure.png"
    figure = compute().plot(path)
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    assert figure.axes
