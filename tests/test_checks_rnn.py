"""The rnn suite: passes on the reference, names each planted recurrent-layer bug, blames sequences on steps."""
import numpy as np
import pytest

import sanitykit.reference as reference
import sanitykit.checks.rnn  # noqa: F401 - declares the suite
from sanitykit.checks.registry import REGISTRY, CheckContext, DictTarget
from sanitykit.front.runner import check
from sanitykit.reference import rnn_layers as R

from mutants.generator import Edit, materialise


def target(**objects):
    found = DictTarget.from_modules(reference)
    found.objects.update(objects)
    return found


def run(check_id, **objects):
    return REGISTRY[check_id].func(CheckContext(target(**objects), seed=0))


def test_every_rnn_check_passes_on_the_reference():
    ids = [spec.id for spec in REGISTRY.values() if spec.suite == "rnn"]
    assert len(ids) >= 19
    assert {i: run(i).status for i in ids} == {i: "pass" for i in ids}


# ---------------------------------------------------------------- planted bugs, one per function

def rnn_step_backward_one_minus_h(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def rnn_backward_without_carry(dh, cache):
    dxs, dWx, dWh, db = [], 0, 0, 0
    for t in reversed(range(dh.shape[1])):
        dx_t, dprev_h, dWx_t, dWh_t, db_t = R.rnn_step_backward(dh[:, t], cache[t])  # + dprev_h forgotten
        dxs.append(dx_t)
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return np.stack(dxs[::-1], axis=1), dprev_h, dWx, dWh, db


def rnn_backward_overwriting(dh, cache):
    dprev_h, dxs = np.zeros_like(dh[:, 0]), []
    for t in reversed(range(dh.shape[1])):
        dx_t, dprev_h, dWx, dWh, db = R.rnn_step_backward(dh[:, t] + dprev_h, cache[t])
        dxs.append(dx_t)
    return np.stack(dxs[::-1], axis=1), dprev_h, dWx, dWh, db


def embedding_backward_fancy(dout, cache):
    x, W = cache
    dW = np.zeros_like(W)
    dW[x] += dout
    return dW


def lstm_step_forward_ifgo(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, g, o = R.sigmoid(a[:, :H]), R.sigmoid(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), R.sigmoid(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    return o * np.tanh(next_c), next_c, None


def lstm_step_backward_cell_cut(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c = cache
    dc = dnext_c  # the path through next_h = o * tanh(next_c) forgotten
    da = np.concatenate([dc * g * i * (1 - i), dc * prev_c * f * (1 - f), dnext_h * tanh_c * o * (1 - o),
                         dc * i * (1 - g ** 2)], axis=1)
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def lstm_step_backward_tanh(g_local=lambda g: 1 - g ** 2, c_local=lambda t: 1 - t ** 2):
    """lstm_step_backward with the local factors of g = tanh(a_g) and of tanh(next_c) as given."""
    def backward(dnext_h, dnext_c, cache):
        x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c = cache
        dc = dnext_c + dnext_h * o * c_local(tanh_c)
        da = np.concatenate([dc * g * i * (1 - i), dc * prev_c * f * (1 - f), dnext_h * tanh_c * o * (1 - o),
                             dc * i * g_local(g)], axis=1)
        return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)
    return backward


def temporal_loss_over_words(x, y, mask):
    loss, dx = R.temporal_softmax_loss(x, y, mask)
    return loss * x.shape[0] / mask.sum(), dx


def temporal_loss_unmasked_dx(x, y, mask):
    loss, _ = R.temporal_softmax_loss(x, y, mask)
    _, dx = R.temporal_softmax_loss(x, y, np.ones_like(mask))
    return loss, dx


@pytest.mark.parametrize("check_id, objects, pattern", [
    ("rnn.rnn_step.gradcheck", {"rnn_step_backward": rnn_step_backward_one_minus_h}, "tanh_derivative"),
    ("rnn.rnn.gradcheck", {"rnn_backward": rnn_backward_without_carry}, "no_accumulation"),
    ("rnn.rnn.through_time", {"rnn_backward": rnn_backward_without_carry}, "no_accumulation"),
    ("rnn.rnn.gradcheck", {"rnn_backward": rnn_backward_overwriting}, "weights_not_summed"),
    ("rnn.word_embedding.repeated", {"word_embedding_backward": embedding_backward_fancy}, "repeated_words"),
    ("rnn.lstm_step.forward", {"lstm_step_forward": lstm_step_forward_ifgo}, "gate_order"),
    ("rnn.lstm_step.gradcheck", {"lstm_step_backward": lstm_step_backward_cell_cut}, "cell_path"),
    ("rnn.lstm_step.cell_path", {"lstm_step_backward": lstm_step_backward_cell_cut}, "cell_path"),
    ("rnn.lstm_step.gradcheck", {"lstm_step_backward": lstm_step_backward_tanh(g_local=lambda g: 1 - g)},
     "tanh_derivative"),
    ("rnn.lstm_step.cell_path", {"lstm_step_backward": lstm_step_backward_tanh(g_local=lambda g: 1 - g)},
     "tanh_derivative"),
    ("rnn.lstm_step.gradcheck", {"lstm_step_backward": lstm_step_backward_tanh(c_local=lambda t: 1 - t)},
     "tanh_derivative"),
    ("rnn.temporal_softmax.value", {"temporal_softmax_loss": temporal_loss_over_words}, "loss_normalisation"),
    ("rnn.temporal_softmax.mask", {"temporal_softmax_loss": temporal_loss_unmasked_dx}, "mask_ignored"),
])
def test_each_planted_recurrent_bug_is_named(check_id, objects, pattern):
    outcome = run(check_id, **objects)
    assert outcome.status == "fail", outcome.message
    assert outcome.finding.pattern == pattern, outcome.message


def test_the_repeated_words_check_alone_sees_the_fancy_index_bug():
    # The gradient check uses each word once: the bug is reported once, by the check about repeats.
    assert run("rnn.word_embedding.gradcheck", word_embedding_backward=embedding_backward_fancy).status == "pass"


def test_a_dnext_c_added_to_in_place_is_not_an_alarm():
    def in_place(dnext_h, dnext_c, cache):
        x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c = cache
        dnext_c += dnext_h * o * (1 - tanh_c ** 2)  # 2016 solutions; the caller's own copy
        return R.lstm_step_backward(dnext_h, dnext_c - dnext_h * o * (1 - tanh_c ** 2), cache)

    for check_id in ("rnn.lstm_step.gradcheck", "rnn.lstm_step.cell_path", "rnn.lstm.gradcheck"):
        assert run(check_id, lstm_step_backward=in_place).status == "pass", check_id


def test_a_sequence_failing_only_because_of_its_step_is_blamed_on_the_step(tmp_path):
    # A real tree: its rnn_backward calls rnn_step_backward by its global name, as the course's does.
    tanh_bug = Edit("rnn_layers.py", "da = dnext_h * (1 - next_h ** 2)", "da = dnext_h * (1 - next_h)")
    tree = materialise(tmp_path, (tanh_bug,), assignment=3)
    report = check(tree, only=["rnn.rnn_step.*", "rnn.rnn.*"])
    by_id = {r.id: r for r in report.checks}
    assert by_id["rnn.rnn_step.gradcheck"].diagnosis.pattern == "tanh_derivative"
    for check_id in ("rnn.rnn.gradcheck", "rnn.rnn.through_time"):
        assert by_id[check_id].status == "skip", by_id[check_id].message
        assert by_id[check_id].reason.kind == "blamed"
        assert by_id[check_id].reason.responsible == ("rnn_step_backward",)
