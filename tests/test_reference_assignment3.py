"""The assignment-3 reference (rnn_layers, CaptioningRNN) against independent oracles: numerical
gradients, values by hand, the course notebooks' published numbers, handcrafted models."""
import math

import numpy as np
import pytest

import sanitykit.reference as reference
from sanitykit import numerical_gradient, rel_error
from sanitykit.reference import CaptioningRNN, rnn_layers
from sanitykit.reference.rnn_layers import (lstm_backward, lstm_forward, lstm_step_backward,
                                            lstm_step_forward, rnn_backward, rnn_forward,
                                            rnn_step_backward, rnn_step_forward,
                                            temporal_affine_backward, temporal_affine_forward,
                                            temporal_softmax_loss, word_embedding_backward,
                                            word_embedding_forward)

GRAD_TOL = 1e-7
SAME_TOL = 1e-10
N, T, D, H, V = 3, 4, 5, 6, 7


def normal(rng, *shape, scale=1.0):
    return scale * rng.standard_normal(shape)


def single(backward):
    """Wrap a backward that returns one gradient so it returns a tuple like the others."""
    return lambda *args: (backward(*args),)


# Each case: rng -> (forward, backward, args, number of array outputs, indices of the args
# the backward's gradients belong to, in order). forward(*args) -> (*outputs, cache);
# backward(*douts, cache) -> grads.
LAYER_CASES = {
    "rnn_step": lambda rng: (rnn_step_forward, rnn_step_backward,
                             [normal(rng, N, D), normal(rng, N, H), normal(rng, D, H, scale=0.5),
                              normal(rng, H, H, scale=0.5), normal(rng, H)], 1, range(5)),
    "rnn": lambda rng: (rnn_forward, rnn_backward,
                        [normal(rng, N, T, D), normal(rng, N, H), normal(rng, D, H, scale=0.5),
                         normal(rng, H, H, scale=0.5), normal(rng, H)], 1, range(5)),
    "lstm_step": lambda rng: (lstm_step_forward, lstm_step_backward,
                              [normal(rng, N, D), normal(rng, N, H), normal(rng, N, H),
                               normal(rng, D, 4 * H, scale=0.5), normal(rng, H, 4 * H, scale=0.5),
                               normal(rng, 4 * H)], 2, range(6)),
    "lstm": lambda rng: (lstm_forward, lstm_backward,
                         [normal(rng, N, T, D), normal(rng, N, H), normal(rng, D, 4 * H, scale=0.5),
                          normal(rng, H, 4 * H, scale=0.5), normal(rng, 4 * H)], 1, range(5)),
    "temporal_affine": lambda rng: (temporal_affine_forward, temporal_affine_backward,
                                    [normal(rng, N, T, D), normal(rng, D, V), normal(rng, V)], 1, range(3)),
    # repeated words, so the gradient of a row of W sums over its occurrences
    "word_embedding": lambda rng: (word_embedding_forward, single(word_embedding_backward),
                                   [rng.integers(0, 4, size=(N, T)), normal(rng, V, D)], 1, [1]),
}


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_backward_matches_numerical_gradient_of_every_input(name):
    forward, backward, args, num_outputs, wrt = LAYER_CASES[name](np.random.default_rng(0))
    *outputs, cache = forward(*args)
    assert len(outputs) == num_outputs
    drng = np.random.default_rng(1)
    douts = [drng.standard_normal(out.shape) for out in outputs]
    grads = backward(*douts, cache)
    assert len(grads) == len(wrt)

    def objective(_):
        # sum over outputs of <output, dout>: its gradient is what backward returns
        return sum(np.sum(out * dout) for out, dout in zip(forward(*args)[:num_outputs], douts))

    for grad, i in zip(grads, wrt):
        numerical = numerical_gradient(objective, args[i])
        assert grad.shape == args[i].shape, f"{name}: gradient of input {i} has shape {grad.shape}"
        assert rel_error(grad, numerical) < GRAD_TOL, f"{name}: input {i} off by {rel_error(grad, numerical)}"


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_layers_do_not_modify_their_inputs(name):
    forward, backward, args, num_outputs, _ = LAYER_CASES[name](np.random.default_rng(0))
    originals = [a.copy() for a in args]
    *outputs, cache = forward(*args)
    backward(*[np.ones_like(out) for out in outputs], cache)
    for array, original in zip(args, originals):
        assert np.array_equal(array, original)


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_float32_in_gives_float32_out(name):
    forward, backward, args, num_outputs, _ = LAYER_CASES[name](np.random.default_rng(0))
    args32 = [a.astype(np.float32) if a.dtype.kind == "f" else a for a in args]
    *outputs, cache = forward(*args32)
    grads = backward(*[np.ones_like(out) for out in outputs], cache)
    assert all(out.dtype == np.float32 for out in outputs)
    assert all(g.dtype == np.float32 for g in grads)


# ---------------------------------------------------------------- the notebooks' published values

def test_rnn_step_forward_matches_the_notebook():
    n, d, h = 3, 10, 4
    x = np.linspace(-0.4, 0.7, num=n * d).reshape(n, d)
    prev_h = np.linspace(-0.2, 0.5, num=n * h).reshape(n, h)
    Wx = np.linspace(-0.1, 0.9, num=d * h).reshape(d, h)
    Wh = np.linspace(-0.3, 0.7, num=h * h).reshape(h, h)
    b = np.linspace(-0.2, 0.4, num=h)
    next_h, _ = rnn_step_forward(x, prev_h, Wx, Wh, b)
    expected_next_h = np.asarray([
        [-0.58172089, -0.50182032, -0.41232771, -0.31410098],
        [0.66854692, 0.79562378, 0.87755553, 0.92795967],
        [0.97934501, 0.99144213, 0.99646691, 0.99854353]])
    assert rel_error(next_h, expected_next_h) < 1e-7


def test_rnn_forward_matches_the_notebook():
    n, t, d, h = 2, 3, 4, 5
    x = np.linspace(-0.1, 0.3, num=n * t * d).reshape(n, t, d)
    h0 = np.linspace(-0.3, 0.1, num=n * h).reshape(n, h)
    Wx = np.linspace(-0.2, 0.4, num=d * h).reshape(d, h)
    Wh = np.linspace(-0.4, 0.1, num=h * h).reshape(h, h)
    b = np.linspace(-0.7, 0.1, num=h)
    hs, _ = rnn_forward(x, h0, Wx, Wh, b)
    expected_h = np.asarray([
        [[-0.42070749, -0.27279261, -0.11074945, 0.05740409, 0.22236251],
         [-0.39525808, -0.22554661, -0.0409454, 0.14649412, 0.32397316],
         [-0.42305111, -0.24223728, -0.04287027, 0.15997045, 0.35014525]],
        [[-0.55857474, -0.39065825, -0.19198182, 0.02378408, 0.23735671],
         [-0.27150199, -0.07088804, 0.13562939, 0.33099728, 0.50158768],
         [-0.51014825, -0.30524429, -0.06755202, 0.17806392, 0.40333043]]])
    assert rel_error(hs, expected_h) < 1e-7


def test_lstm_step_forward_matches_the_notebook_so_the_gates_are_i_f_o_g():
    n, d, h = 3, 4, 5
    x = np.linspace(-0.4, 1.2, num=n * d).reshape(n, d)
    prev_h = np.linspace(-0.3, 0.7, num=n * h).reshape(n, h)
    prev_c = np.linspace(-0.4, 0.9, num=n * h).reshape(n, h)
    Wx = np.linspace(-2.1, 1.3, num=4 * d * h).reshape(d, 4 * h)
    Wh = np.linspace(-0.7, 2.2, num=4 * h * h).reshape(h, 4 * h)
    b = np.linspace(0.3, 0.7, num=4 * h)
    next_h, next_c, _ = lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
    expected_next_h = np.asarray([
        [0.24635157, 0.28610883, 0.32240467, 0.35525807, 0.38474904],
        [0.49223563, 0.55611431, 0.61507696, 0.66844003, 0.7159181],
        [0.56735664, 0.66310127, 0.74419266, 0.80889665, 0.858299]])
    expected_next_c = np.asarray([
        [0.32986176, 0.39145139, 0.451556, 0.51014116, 0.56717407],
        [0.66382255, 0.76674007, 0.87195994, 0.97902709, 1.08751345],
        [0.74192008, 0.90592151, 1.07717006, 1.25120233, 1.42395676]])
    assert rel_error(next_h, expected_next_h) < 1e-7
    assert rel_error(next_c, expected_next_c) < 1e-7


def test_lstm_forward_matches_the_notebook():
    n, d, h, t = 2, 5, 4, 3
    x = np.linspace(-0.4, 0.6, num=n * t * d).reshape(n, t, d)
    h0 = np.linspace(-0.4, 0.8, num=n * h).reshape(n, h)
    Wx = np.linspace(-0.2, 0.9, num=4 * d * h).reshape(d, 4 * h)
    Wh = np.linspace(-0.3, 0.6, num=4 * h * h).reshape(h, 4 * h)
    b = np.linspace(0.2, 0.7, num=4 * h)
    hs, _ = lstm_forward(x, h0, Wx, Wh, b)
    expected_h = np.asarray([
        [[0.01764008, 0.01823233, 0.01882671, 0.0194232],
         [0.11287491, 0.12146228, 0.13018446, 0.13902939],
         [0.31358768, 0.33338627, 0.35304453, 0.37250975]],
        [[0.45767879, 0.4761092, 0.4936887, 0.51041945],
         [0.6704845, 0.69350089, 0.71486014, 0.7346449],
         [0.81733511, 0.83677871, 0.85403753, 0.86935314]]])
    assert rel_error(hs, expected_h) < 1e-7


@pytest.mark.parametrize("cell_type, features_range, expected_loss", [
    ("rnn", (-1.5, 0.3), 9.83235591003),    # RNN_Captioning.ipynb
    ("lstm", (-0.5, 1.7), 9.82445935443),   # LSTM_Captioning.ipynb
])
def test_captioning_loss_matches_the_notebook(cell_type, features_range, expected_loss):
    n, d, w, h, t = 10, 20, 30, 40, 13
    word_to_idx = {"<NULL>": 0, "cat": 2, "dog": 3}  # no <START>/<END>, as in the notebook
    model = CaptioningRNN(word_to_idx, input_dim=d, wordvec_dim=w, hidden_dim=h,
                          cell_type=cell_type, dtype=np.float64)
    for k, v in model.params.items():
        model.params[k] = np.linspace(-1.4, 1.3, num=v.size).reshape(*v.shape)
    features = np.linspace(*features_range, num=n * d).reshape(n, d)
    captions = (np.arange(n * t) % len(word_to_idx)).reshape(n, t)
    loss, _ = model.loss(features, captions)
    assert abs(loss - expected_loss) < 1e-10


# ---------------------------------------------------------------- layers by hand

def test_word_embedding_looks_up_rows_and_accumulates_repeated_words():
    W = np.arange(12.0).reshape(4, 3)
    x = np.array([[1, 1], [1, 0]])
    out, cache = word_embedding_forward(x, W)
    assert np.array_equal(out, [[W[1], W[1]], [W[1], W[0]]])
    dW = word_embedding_backward(np.ones((2, 2, 3)), cache)
    # word 1 appears three times, word 0 once, words 2 and 3 never
    assert np.array_equal(dW, [[1.0] * 3, [3.0] * 3, [0.0] * 3, [0.0] * 3])


def test_temporal_affine_is_the_same_affine_at_every_timestep():
    rng = np.random.default_rng(0)
    x, w, b = normal(rng, N, T, D), normal(rng, D, V), normal(rng, V)
    out, _ = temporal_affine_forward(x, w, b)
    assert out.shape == (N, T, V)
    assert rel_error(out[1, 2], x[1, 2] @ w + b) < SAME_TOL


def test_sigmoid_helper_is_stable_and_not_exported_flat():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = rnn_layers.sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    assert np.array_equal(out, [0.0, 0.5, 1.0])
    x = np.linspace(-5, 5, 11)
    assert rel_error(rnn_layers.sigmoid(x), 1 / (1 + np.exp(-x))) < SAME_TOL
    assert not hasattr(reference, "sigmoid")
    assert reference.sigmoid_forward is reference.layers.sigmoid_forward


# ---------------------------------------------------------------- temporal softmax loss

def temporal_loss_problem(seed=0):
    rng = np.random.default_rng(seed)
    x = normal(rng, N, T, V)
    y = rng.integers(0, V, size=(N, T))
    mask = rng.random((N, T)) > 0.4
    return x, y, mask


def test_temporal_softmax_loss_gradient_matches_numerical_gradient():
    x, y, mask = temporal_loss_problem()
    assert 0 < mask.sum() < mask.size
    _, dx = temporal_softmax_loss(x, y, mask)
    numerical = numerical_gradient(lambda x: temporal_softmax_loss(x, y, mask)[0], x)
    assert rel_error(dx, numerical) < GRAD_TOL


def test_temporal_softmax_loss_ignores_masked_positions():
    x, y, mask = temporal_loss_problem()
    loss, dx = temporal_softmax_loss(x, y, mask)
    changed = x.copy()
    changed[~mask] = 1e3 * np.random.default_rng(5).standard_normal(changed[~mask].shape)
    changed_loss, changed_dx = temporal_softmax_loss(changed, y, mask)
    assert changed_loss == loss
    assert np.array_equal(changed_dx, dx)
    assert not dx[~mask].any()


@pytest.mark.parametrize("t", [1, 10])
def test_temporal_softmax_loss_at_zero_scores_is_t_log_v_summed_over_time(t):
    # Every word has p = 1/V; the loss sums log V over the T timesteps and divides by N only
    # (the notebook: "check_loss(100, 10, 10, 1.0)  # Should be about 23").
    x, y = np.zeros((4, t, 10)), np.zeros((4, t), dtype=int)
    loss, _ = temporal_softmax_loss(x, y, np.ones((4, t), dtype=bool))
    assert loss == pytest.approx(t * math.log(10))


def test_temporal_softmax_loss_divides_by_n_not_by_the_number_of_unmasked_words():
    x, y = np.zeros((4, 10, 10)), np.zeros((4, 10), dtype=int)
    mask = np.zeros((4, 10), dtype=bool)
    mask[0, :3] = mask[2, 5] = True  # 4 words in a batch of 4
    loss, _ = temporal_softmax_loss(x, y, mask)
    assert loss == pytest.approx(4 * math.log(10) / 4)


def test_temporal_softmax_loss_at_small_scores_is_about_t_log_v():
    # The notebook's own check, with 0.001 * randn scores
    rng = np.random.default_rng(0)
    x, y = 0.001 * rng.standard_normal((100, 10, 10)), rng.integers(0, 10, size=(100, 10))
    loss, _ = temporal_softmax_loss(x, y, np.ones((100, 10), dtype=bool))
    assert loss == pytest.approx(10 * math.log(10), abs=0.01)


# ---------------------------------------------------------------- CaptioningRNN

WORDS = ["<NULL>", "<START>", "<END>", "a", "b"]
WORD_TO_IDX = {w: i for i, w in enumerate(WORDS)}
NULL, START, END, A, B = range(5)
PARAM_NAMES = ["W_embed", "W_proj", "Wh", "Wx", "W_vocab", "b", "b_proj", "b_vocab"]


def small_captioning_model(cell_type, seed=0, input_dim=4, wordvec_dim=5, hidden_dim=6):
    return CaptioningRNN(WORD_TO_IDX, input_dim=input_dim, wordvec_dim=wordvec_dim, hidden_dim=hidden_dim,
                         cell_type=cell_type, dtype=np.float64, seed=seed)


def caption_batch(seed=0):
    """Features (2, 4) and captions (2, 5) with padding: the last targets of row 1 are <NULL>."""
    features = np.random.default_rng(seed).standard_normal((2, 4))
    captions = np.array([[START, A, B, A, END], [START, B, END, NULL, NULL]])
    return features, captions


def richardson_gradient(f, x, h=1e-3):
    """numerical_gradient extrapolated from steps h and 2h: error O(h^4) instead of O(h^2).

    The LSTM's gates leave some elements of dWh near 1e-6, where the plain central difference
    at h = 1e-5 is off by its rounding (about 1e-16 * loss / h = 1e-10), a relative 1e-5;
    the larger steps divide the rounding by 100 and the extrapolation cancels the h^2 term.
    """
    return (4 * numerical_gradient(f, x, h=h) - numerical_gradient(f, x, h=2 * h)) / 3


@pytest.mark.parametrize("cell_type", ["rnn", "lstm"])
@pytest.mark.parametrize("seed", [0, 1])
def test_captioning_rnn_gradient_of_every_param_matches_numerical_gradient(cell_type, seed):
    model = small_captioning_model(cell_type, seed=seed)
    model.params["W_embed"] *= 100  # word vectors of std 1, not 0.01: dWx well above rounding
    features, captions = caption_batch(seed)
    _, grads = model.loss(features, captions)
    assert sorted(grads) == sorted(model.params) == sorted(PARAM_NAMES)
    for name, param in model.params.items():
        numerical = richardson_gradient(lambda _: model.loss(features, captions)[0], param)
        assert grads[name].shape == param.shape
        assert rel_error(grads[name], numerical) < GRAD_TOL, f"{name}: {rel_error(grads[name], numerical)}"


@pytest.mark.parametrize("cell_type, gates", [("rnn", 1), ("lstm", 4)])
def test_captioning_rnn_params_have_the_courses_names_shapes_and_scales(cell_type, gates):
    model = CaptioningRNN(WORD_TO_IDX, input_dim=400, wordvec_dim=300, hidden_dim=200,
                          cell_type=cell_type, seed=0)
    shapes = {name: p.shape for name, p in model.params.items()}
    assert shapes == {"W_embed": (5, 300), "W_proj": (400, 200), "b_proj": (200,),
                      "Wx": (300, gates * 200), "Wh": (200, gates * 200), "b": (gates * 200,),
                      "W_vocab": (200, 5), "b_vocab": (5,)}
    assert all(p.dtype == np.float32 for p in model.params.values())  # the course's default dtype
    # randn / 100 and randn / sqrt(fan_in): sample stds within 10% on thousands of draws
    for name, std in [("W_embed", 0.01), ("W_proj", 1 / math.sqrt(400)), ("Wx", 1 / math.sqrt(300)),
                      ("Wh", 1 / math.sqrt(200)), ("W_vocab", 1 / math.sqrt(200))]:
        assert abs(model.params[name].std() / std - 1) < 0.1, name
    for name in ("b_proj", "b", "b_vocab"):
        assert not model.params[name].any()
    assert (model._null, model._start, model._end) == (NULL, START, END)


def test_captioning_rnn_rejects_an_unknown_cell_type():
    with pytest.raises(ValueError, match="gru"):
        CaptioningRNN(WORD_TO_IDX, cell_type="gru")


@pytest.mark.parametrize("cell_type", ["rnn", "lstm"])
def test_captioning_loss_with_zero_output_weights_is_log_v_per_unmasked_word(cell_type):
    # Scores 0 everywhere give -log(1/V) per predicted word; the sum is divided by N. With no
    # <NULL> in captions[:, 1:], that is (T - 1) * log V; each <NULL> target removes one log V.
    model = small_captioning_model(cell_type)
    model.params["W_vocab"][...] = 0
    features, captions = caption_batch()
    loss, _ = model.loss(features, captions)
    unmasked = 4 + 2  # row 0 predicts 4 words; row 1 predicts "b", "<END>" and then only <NULL>
    assert loss == pytest.approx(unmasked * math.log(len(WORDS)) / 2)
    full, _ = model.loss(features[:1], captions[:1])
    assert full == pytest.approx((captions.shape[1] - 1) * math.log(len(WORDS)))


@pytest.mark.parametrize("cell_type", ["rnn", "lstm"])
def test_captioning_loss_with_tiny_weights_is_about_t_minus_1_log_v(cell_type):
    model = small_captioning_model(cell_type)
    for name in model.params:
        model.params[name] *= 1e-3
    features, captions = caption_batch()
    loss, _ = model.loss(features[:1], captions[:1])
    assert loss == pytest.approx(4 * math.log(len(WORDS)), abs=1e-3)


def handcrafted_model(cell_type, Wx_core, Wh_core):
    """A model with one-hot word vectors and hidden states, V = W = H = D = 5.

    The RNN computes next_h = tanh(Wx_core[word] + Wh_core @ h); the LSTM's gates are
    pinned (i = o = 1, f = 0 through biases of +-30), so next_c = tanh(same) and next_h =
    tanh(next_c): the same argmax. Scores are the hidden state itself (W_vocab = I).
    """
    v = len(WORDS)
    model = CaptioningRNN(WORD_TO_IDX, input_dim=v, wordvec_dim=v, hidden_dim=v,
                          cell_type=cell_type, dtype=np.float64, seed=0)
    eye = np.eye(v)
    p = model.params
    p["W_embed"], p["W_proj"], p["W_vocab"] = eye.copy(), eye.copy(), eye.copy()
    p["b_proj"], p["b_vocab"] = np.zeros(v), np.zeros(v)
    if cell_type == "rnn":
        p["Wx"], p["Wh"], p["b"] = Wx_core, Wh_core.T, np.zeros(v)
    else:
        zeros = np.zeros((v, v))
        p["Wx"] = np.hstack([zeros, zeros, zeros, Wx_core])
        p["Wh"] = np.hstack([zeros, zeros, zeros, Wh_core.T])
        p["b"] = np.concatenate([np.full(v, 30.0), np.full(v, -30.0), np.full(v, 30.0), np.zeros(v)])
    return model


@pytest.mark.parametrize("cell_type", ["rnn", "lstm"])
def test_sample_starts_from_start_and_feeds_back_its_own_words(cell_type):
    # The word fed in alone decides the next one: <START> -> a -> b -> <END> -> a ...;
    # <NULL> -> b would show a sampler that starts from <NULL>.
    successor = {NULL: B, START: A, A: B, B: END, END: A}
    Wx_core = np.zeros((5, 5))
    for word, following in successor.items():
        Wx_core[word, following] = 5.0
    model = handcrafted_model(cell_type, Wx_core, np.zeros((5, 5)))
    captions = model.sample(np.zeros((2, 5)), max_length=7)
    assert captions.shape == (2, 7) and captions.dtype.kind == "i"
    assert captions.tolist() == [[A, B, END, A, B, END, A]] * 2


@pytest.mark.parametrize("cell_type", ["rnn", "lstm"])
def test_sample_starts_from_the_projected_features(cell_type):
    # The words are ignored (Wx = 0) and h carries itself over (Wh = 5 I), so each caption
    # repeats the word its projected features point at. W_proj permutes: a -> <END> -> b -> a,
    # so a sampler that skips the projection is caught.
    model = handcrafted_model(cell_type, np.zeros((5, 5)), 5.0 * np.eye(5))
    model.params["W_proj"] = np.eye(5)[[NULL, START, B, END, A]]  # row j: where feature j points
    features = np.eye(5)[[A, END, B]]
    captions = model.sample(features, max_length=4)
    assert captions.tolist() == [[END] * 4, [B] * 4, [A] * 4]
    # with b_proj shifting every hidden state toward "b", the choice follows it
    model.params["b_proj"] = 2.0 * np.eye(5)[B]
    assert model.sample(features, max_length=2).tolist() == [[B, B]] * 3


def test_sample_needs_a_start_word():
    model = CaptioningRNN({"<NULL>": 0, "cat": 1}, input_dim=2, wordvec_dim=2, hidden_dim=2, seed=0)
    with pytest.raises(ValueError, match="<START>"):
        model.sample(np.zeros((1, 2)))


def test_captioning_rnn_seed_gives_the_courses_global_seed_weights_and_leaves_global_state():
    saved = np.random.get_state()
    try:
        np.random.seed(231)
        course = CaptioningRNN(WORD_TO_IDX, input_dim=4, wordvec_dim=3, hidden_dim=2, cell_type="lstm")
        before = np.random.get_state()[1].copy()
        seeded = CaptioningRNN(WORD_TO_IDX, input_dim=4, wordvec_dim=3, hidden_dim=2, cell_type="lstm",
                               seed=231)
        assert np.array_equal(np.random.get_state()[1], before)
    finally:
        np.random.set_state(saved)
    for name in course.params:
        assert np.array_equal(seeded.params[name], course.params[name]), name
