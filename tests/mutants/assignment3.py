"""Assignment 3's planted mistakes and correct variants: the RNN and LSTM layers, embedding, temporal layers, captioning.

Planted in the reference laid out as an assignment-3 tree (generator.ASSIGNMENT_FILES[3]:
cs231n/rnn_layers.py, cs231n/layers.py, cs231n/classifiers/rnn.py). The mistakes are the ones
the course's notebook warns of and real solutions show: the tanh derivative taken as 1 - h,
dprev_h never added to dh[:, t], dWx overwritten instead of summed, dh0 lost, repeated words
written with dW[x] += dout, the gates read in another order, the cell path cut, the captions
not shifted, the <NULL> padding counted, a sampler that never feeds back its own words.
"""
from __future__ import annotations

from .cases import Mutant, Variant
from .generator import Edit

RNN, MODEL = "rnn_layers.py", "classifiers/rnn.py"


def mutant(id: str, mistake: str, file: str, old: str, new: str, expected, diagnosis=(), **options) -> Mutant:
    as_tuple = (lambda v: (v,) if isinstance(v, str) else tuple(v))
    return Mutant(id, mistake, (Edit(file, old, new),), as_tuple(expected), as_tuple(diagnosis), assignment=3,
                  **options)


def variant(id: str, description: str, *edits: Edit) -> Variant:
    return Variant(id, description, edits, assignment=3)


RNN_RETURN = ("        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t  # shared weights: sum over time\n"
              "    return np.stack(dxs[::-1], axis=1), dprev_h, dWx, dWh, db\n")
LSTM_CALL = "lstm_step_backward(dh[:, t] + dprev_h, dprev_c, cache[t])"
OUTPUT_GATE = "        dnext_h * tanh_c * o * (1 - o),  # output gate\n"
BLOCK_INPUT = "        dc * i * (1 - g ** 2),           # block input, through tanh'\n"

MUTANTS = [
    # ---- the vanilla RNN step
    mutant("rnn_step_no_bias", "left b out of the pre-activation", RNN, "next_h = np.tanh(x @ Wx + prev_h @ Wh + b)",
           "next_h = np.tanh(x @ Wx + prev_h @ Wh)", "rnn.rnn_step.forward"),
    mutant("rnn_step_bias_outside", "added b after the tanh", RNN, "next_h = np.tanh(x @ Wx + prev_h @ Wh + b)",
           "next_h = np.tanh(x @ Wx + prev_h @ Wh) + b", "rnn.rnn_step.forward"),
    mutant("rnn_step_tanh_one_minus_h", "tanh derivative written 1 - next_h", RNN,
           "da = dnext_h * (1 - next_h ** 2)", "da = dnext_h * (1 - next_h)", "rnn.rnn_step.gradcheck",
           "tanh derivative"),
    mutant("rnn_step_no_tanh_derivative", "forgot the tanh derivative altogether", RNN,
           "da = dnext_h * (1 - next_h ** 2)", "da = dnext_h", "rnn.rnn_step.gradcheck", "tanh derivative"),
    mutant("step_dwh_transposed", "dWh = da.T @ prev_h (transposed), shared by both step backwards", RNN,
           "return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)",
           "return da @ Wx.T, da @ Wh.T, x.T @ da, da.T @ prev_h, da.sum(axis=0)",
           ("rnn.rnn_step.gradcheck", "rnn.lstm_step.gradcheck"), "dWh"),
    mutant("step_db_wrong_axis", "db summed over the hidden units instead of the batch", RNN,
           "return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)",
           "return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=1)",
           ("rnn.rnn_step.gradcheck", "rnn.lstm_step.gradcheck"), "db"),
    # ---- the vanilla RNN over time
    mutant("rnn_forward_h0_every_step", "fed h0 to every step instead of the previous hidden state", RNN,
           "prev_h, step_cache = rnn_step_forward(x[:, t], prev_h, Wx, Wh, b)",
           "prev_h, step_cache = rnn_step_forward(x[:, t], h0, Wx, Wh, b)", "rnn.rnn.forward"),
    mutant("rnn_backward_no_accumulation", "never added dprev_h to dh[:, t]", RNN,
           "rnn_step_backward(dh[:, t] + dprev_h, cache[t])", "rnn_step_backward(dh[:, t], cache[t])",
           ("rnn.rnn.gradcheck", "rnn.rnn.through_time"), "through time|dprev_h"),
    mutant("rnn_backward_weights_overwritten", "dWx = dWx_t instead of +=", RNN, RNN_RETURN,
           RNN_RETURN.replace("dWx + dWx_t, dWh + dWh_t, db + db_t", "dWx_t, dWh_t, db_t"),
           "rnn.rnn.gradcheck", "+=|summed|one timestep"),
    mutant("rnn_backward_no_dh0", "returned zeros for dh0", RNN, RNN_RETURN,
           RNN_RETURN.replace("axis=1), dprev_h,", "axis=1), np.zeros_like(dprev_h),"), "rnn.rnn.gradcheck", "dh0"),
    mutant("rnn_backward_dx_reversed", "stacked dx in the order of the backward loop (not reversed)", RNN,
           RNN_RETURN, RNN_RETURN.replace("np.stack(dxs[::-1], axis=1)", "np.stack(dxs, axis=1)"),
           "rnn.rnn.gradcheck", "dx"),
    # ---- word embedding
    mutant("embedding_flattened", "returned W[x.flatten()] of shape (N*T, D)", RNN, "return W[x], (x, W)",
           "return W[x.flatten()], (x, W)", "rnn.word_embedding.forward", "shape"),
    mutant("embedding_repeats_lost", "dW[x] += dout keeps one occurrence of a repeated word", RNN,
           "np.add.at(dW, x, dout)", "dW[x] += dout", "rnn.word_embedding.repeated", "np.add.at|repeat"),
    mutant("embedding_grad_averaged", "divided dW by the number of words", RNN, "np.add.at(dW, x, dout)",
           "np.add.at(dW, x, dout / x.size)", "rnn.word_embedding.gradcheck", "dW"),
    # ---- temporal layers
    mutant("temporal_affine_db_per_step", "summed db over N only, leaving a (T, M) array", RNN,
           "db = dout.sum(axis=(0, 1))", "db = dout.sum(axis=0)", "rnn.temporal_affine.gradcheck", "shape|db"),
    mutant("temporal_loss_by_words", "divided the masked loss by the number of words, not by N", RNN,
           "loss = -log_probs[rows, y_flat][mask_flat].sum() / N",
           "loss = -log_probs[rows, y_flat][mask_flat].sum() / mask_flat.sum()", "rnn.temporal_softmax.value",
           "number of words|not by N"),
    mutant("temporal_loss_mask_ignored", "summed the loss over every position", RNN,
           "loss = -log_probs[rows, y_flat][mask_flat].sum() / N", "loss = -log_probs[rows, y_flat].sum() / N",
           "rnn.temporal_softmax.*", "mask"),
    mutant("temporal_dx_unmasked", "masked the loss but not dx", RNN, "    dx_flat[~mask_flat] = 0\n", "",
           "rnn.temporal_softmax.mask", "mask"),
    # ---- the LSTM step
    mutant("lstm_gates_o_g_swapped", "read g from the third block and o from the fourth", RNN,
           "    o = sigmoid(a[:, 2 * H:3 * H])\n    g = np.tanh(a[:, 3 * H:])\n",
           "    o = sigmoid(a[:, 3 * H:])\n    g = np.tanh(a[:, 2 * H:3 * H])\n", "rnn.lstm_step.forward",
           "order|gates"),
    mutant("lstm_no_forget_gate", "next_c = prev_c + i * g", RNN, "    next_c = f * prev_c + i * g\n",
           "    next_c = prev_c + i * g\n", "rnn.lstm_step.forward"),
    mutant("lstm_next_h_without_tanh", "next_h = o * next_c", RNN, "    next_h = o * tanh_c\n",
           "    next_h = o * next_c\n", "rnn.lstm_step.forward"),
    mutant("lstm_cell_path_cut", "dc = dnext_c: the path through next_h forgotten", RNN,
           "dc = dnext_c + dnext_h * o * (1 - tanh_c ** 2)", "dc = dnext_c",
           ("rnn.lstm_step.gradcheck", "rnn.lstm_step.cell_path"), "cell|next_h"),
    mutant("lstm_dprev_c_without_f", "returned dc itself as dprev_c", RNN, "return dx, dprev_h, dc * f, dWx, dWh, db",
           "return dx, dprev_h, dc, dWx, dWh, db", ("rnn.lstm_step.gradcheck", "rnn.lstm_step.cell_path"),
           "forget|dprev_c"),
    mutant("lstm_tanh_derivative_of_g", "(1 - g) for the derivative of g = tanh(a_g)", RNN,
           "dc * i * (1 - g ** 2)", "dc * i * (1 - g)", "rnn.lstm_step.gradcheck", "dx|dWx",
           pattern="tanh_derivative"),
    mutant("lstm_backward_gates_swapped", "assembled the gate gradients in the order i, f, g, o", RNN,
           OUTPUT_GATE + BLOCK_INPUT, BLOCK_INPUT + OUTPUT_GATE, "rnn.lstm_step.gradcheck", "order"),
    # ---- the LSTM over time
    mutant("lstm_cell_starts_at_h0", "started the cell state from h0 instead of zeros", RNN,
           "prev_h, prev_c, hs, cache = h0, np.zeros_like(h0), [], []", "prev_h, prev_c, hs, cache = h0, h0, [], []",
           "rnn.lstm.forward"),
    mutant("lstm_backward_no_cell_carry", "passed a zero dnext_c to every step", RNN, LSTM_CALL,
           "lstm_step_backward(dh[:, t] + dprev_h, np.zeros_like(dprev_c), cache[t])",
           ("rnn.lstm.gradcheck", "rnn.lstm.through_time"), "dprev_c|cell"),
    mutant("lstm_backward_no_accumulation", "never added dprev_h to dh[:, t]", RNN, LSTM_CALL,
           "lstm_step_backward(dh[:, t], dprev_c, cache[t])", ("rnn.lstm.gradcheck", "rnn.lstm.through_time"),
           "through time|dprev_h"),
    # ---- CaptioningRNN
    mutant("captions_not_shifted", "captions_in = captions[:, 1:]: the model reads the words it predicts", MODEL,
           "captions_in = captions[:, :-1]", "captions_in = captions[:, 1:]", "models.captioning_rnn.loss",
           "predict"),
    mutant("captions_null_counted", "no mask: the <NULL> padding counts in the loss", MODEL,
           "mask = captions_out != self._null", "mask = np.ones_like(captions_out, dtype=bool)",
           "models.captioning_rnn.*", "NULL"),
    mutant("captions_mask_from_inputs", "the mask taken from captions_in", MODEL,
           "mask = captions_out != self._null", "mask = captions_in != self._null", "models.captioning_rnn.loss",
           "captions_in"),
    mutant("captions_no_projection_gradient", "dW_proj and db_proj left at zero", MODEL,
           '_, grads["W_proj"], grads["b_proj"] = affine_backward(dh0, h0_cache)',
           '_, grads["W_proj"], grads["b_proj"] = affine_backward(np.zeros_like(dh0), h0_cache)',
           "models.captioning_rnn.gradcheck", "W_proj"),
    mutant("captions_lstm_through_rnn_backward", "the LSTM's backward pass calls rnn_backward", MODEL,
           'lstm_backward(dhidden, hidden_cache)', 'rnn_backward(dhidden, hidden_cache)',
           "models.captioning_rnn.gradcheck_lstm"),
    mutant("sample_start_fed_back", "fed <START> at every step", MODEL,
           "            words = np.argmax(scores, axis=1)\n            captions[:, t] = words\n",
           "            captions[:, t] = np.argmax(scores, axis=1)\n", "models.captioning_rnn.sample",
           "fed|feed"),
    mutant("sample_from_zero_state", "started sampling from a zero hidden state", MODEL,
           'prev_h, _ = affine_forward(features, p["W_proj"], p["b_proj"])',
           'prev_h = np.zeros((N, p["W_proj"].shape[1]))', "models.captioning_rnn.sample", "projected features"),
    mutant("sample_lstm_cell_reset", "the LSTM sampler drops its cell state", MODEL,
           'prev_h, prev_c, _ = lstm_step_forward(embedded, prev_h, prev_c, p["Wx"], p["Wh"], p["b"])',
           'prev_h, _, _ = lstm_step_forward(embedded, prev_h, prev_c, p["Wx"], p["Wh"], p["b"])',
           "models.captioning_rnn.sample", "lstm"),
]


RNN_BACKWARD_ARRAYS = '''    N, T, H = dh.shape
    D = cache[0][0].shape[1]
    dx = np.zeros((N, T, D))
    dWx, dWh, db = np.zeros_like(cache[0][2]), np.zeros_like(cache[0][3]), np.zeros(H)
    dprev_h = np.zeros((N, H))
    for t in range(T - 1, -1, -1):
        dx[:, t, :], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t, :] + dprev_h, cache[t])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db
'''
REFERENCE_RNN_BACKWARD = '''    dprev_h = np.zeros_like(dh[:, 0])
    dxs, dWx, dWh, db = [], 0, 0, 0
    for t in reversed(range(dh.shape[1])):
        # h_t reaches the loss twice: directly (dh[:, t]) and through step t + 1 (dprev_h).
        dx_t, dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t] + dprev_h, cache[t])
        dxs.append(dx_t)
''' + RNN_RETURN

LSTM_STEP_IN_PLACE = '''    x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c = cache
    # next_c reaches the loss directly and through next_h = o * tanh(next_c).
    dnext_c += dnext_h * o * (1 - tanh_c ** 2)  # in place, as 2016 solutions wrote it
    dc = dnext_c
'''

VARIANTS = [
    variant("a3_rnn_backward_arrays", "rnn_backward with preallocated arrays and index assignment",
            Edit(RNN, REFERENCE_RNN_BACKWARD, RNN_BACKWARD_ARRAYS)),
    variant("a3_embedding_loop", "word_embedding_backward adding one row per (n, t)",
            Edit(RNN, "    np.add.at(dW, x, dout)\n",
                 "    for n in range(x.shape[0]):\n        for t in range(x.shape[1]):\n"
                 "            dW[x[n, t]] += dout[n, t]\n")),
    variant("a3_lstm_split", "the gates taken with np.split",
            Edit(RNN, "    i = sigmoid(a[:, :H])\n",
                 "    a_i, a_f, a_o, a_g = np.split(a, 4, axis=1)\n    i = sigmoid(a_i)\n")),
    variant("a3_lstm_dnext_c_in_place", "dnext_c += ... in lstm_step_backward (the caller's copy is its own)",
            Edit(RNN, "    x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c = cache\n"
                      "    # next_c reaches the loss directly and through next_h = o * tanh(next_c).\n"
                      "    dc = dnext_c + dnext_h * o * (1 - tanh_c ** 2)\n", LSTM_STEP_IN_PLACE)),
    variant("a3_temporal_loss_times_mask", "the course's 2016 temporal loss: per-position losses times the mask",
            Edit(RNN, "loss = -log_probs[rows, y_flat][mask_flat].sum() / N",
                 "loss = -np.sum(mask_flat * log_probs[rows, y_flat]) / N")),
    variant("a3_sample_by_hand", "sampling with W_embed[words] and dot products instead of the layer functions",
            Edit(MODEL, '            embedded, _ = word_embedding_forward(words, p["W_embed"])  # (N, W)\n',
                 '            embedded = p["W_embed"][words]\n'),
            Edit(MODEL, '            scores, _ = affine_forward(prev_h, p["W_vocab"], p["b_vocab"])\n',
                 '            scores = prev_h.dot(p["W_vocab"]) + p["b_vocab"]\n')),
]
