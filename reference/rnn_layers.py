"""Recurrent layers of CS231n assignment 3 (cs231n/rnn_layers.py): vanilla RNN, LSTM, embedding, temporal layers.

Shapes use the course's letters: N minibatch, T timesteps, D input size, H hidden size,
V vocabulary size. Sequences are (N, T, ...), batch first.

Caches (whatever the backward pass needs; the course leaves their content to the student):
- rnn_step_forward: (x, prev_h, Wx, Wh, next_h);
- lstm_step_forward: (x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh(next_c));
- rnn_forward / lstm_forward: the list of the T step caches;
- word_embedding_forward: (x, W); temporal_affine_forward: (x, w, b).

LSTM gates: the 4H axis of Wx, Wh, b and of the activations a = x Wx + prev_h Wh + b holds
the input gate i, the forget gate f, the output gate o and the block input g, in that order
(a[:, :H] is i, ..., a[:, 3H:] is g), as the course's notebook states.
"""
import numpy as np

from .layers import sigmoid_forward

__all__ = [
    "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
    "word_embedding_forward", "word_embedding_backward",
    "temporal_affine_forward", "temporal_affine_backward", "temporal_softmax_loss",
    "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward",
]


def sigmoid(x):
    """Numerically stable logistic sigmoid, the helper the course provides in rnn_layers.py.

    Not exported flat: `sanitykit.reference` already has `sigmoid_forward` (out, cache).

    Args:
        x: input of any shape.
    """
    return sigmoid_forward(x)[0]


def _affine_pair_backward(da, x, prev_h, Wx, Wh):
    """Gradients through a = x @ Wx + prev_h @ Wh + b: (dx, dprev_h, dWx, dWh, db).

    Args:
        da: upstream gradient of a, (N, H) or (N, 4H).
        x, prev_h, Wx, Wh: the step's inputs.
    """
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


# ---------------------------------------------------------------- vanilla RNN

def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """One timestep of a vanilla RNN: next_h = tanh(x Wx + prev_h Wh + b); returns (next_h, cache).

    Args:
        x: input of shape (N, D).
        prev_h: previous hidden state (N, H).
        Wx: input-to-hidden weights (D, H).
        Wh: hidden-to-hidden weights (H, H).
        b: biases (H,).
    """
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    """Backward pass of rnn_step_forward; returns (dx, dprev_h, dWx, dWh, db).

    Args:
        dnext_h: upstream gradient of next_h, (N, H).
        cache: from rnn_step_forward.
    """
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h ** 2)  # tanh' = 1 - tanh^2
    return _affine_pair_backward(da, x, prev_h, Wx, Wh)


def rnn_forward(x, h0, Wx, Wh, b):
    """A vanilla RNN over a whole sequence; returns (h, cache), h of shape (N, T, H).

    Args:
        x: input sequence (N, T, D).
        h0: initial hidden state (N, H).
        Wx: input-to-hidden weights (D, H).
        Wh: hidden-to-hidden weights (H, H).
        b: biases (H,).
    """
    prev_h, hs, cache = h0, [], []
    for t in range(x.shape[1]):
        prev_h, step_cache = rnn_step_forward(x[:, t], prev_h, Wx, Wh, b)
        hs.append(prev_h)
        cache.append(step_cache)
    return np.stack(hs, axis=1), cache


def rnn_backward(dh, cache):
    """Backward pass of rnn_forward; returns (dx, dh0, dWx, dWh, db).

    Args:
        dh: upstream gradients of all hidden states, (N, T, H) (not only of the last).
        cache: from rnn_forward.
    """
    dprev_h = np.zeros_like(dh[:, 0])
    dxs, dWx, dWh, db = [], 0, 0, 0
    for t in reversed(range(dh.shape[1])):
        # h_t reaches the loss twice: directly (dh[:, t]) and through step t + 1 (dprev_h).
        dx_t, dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t] + dprev_h, cache[t])
        dxs.append(dx_t)
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t  # shared weights: sum over time
    return np.stack(dxs[::-1], axis=1), dprev_h, dWx, dWh, db


# ---------------------------------------------------------------- word embedding

def word_embedding_forward(x, W):
    """Look up word vectors: out[n, t] = W[x[n, t]]; returns (out, cache), out of shape x.shape + (D,).

    Args:
        x: integer word indices, (N, T) (any shape works), 0 <= x < V.
        W: word vectors (V, D).
    """
    return W[x], (x, W)


def word_embedding_backward(dout, cache):
    """Backward pass of word_embedding_forward; returns dW (V, D). The indices get no gradient.

    Args:
        dout: upstream gradient, (N, T, D).
        cache: (x, W) from word_embedding_forward.
    """
    x, W = cache
    dW = np.zeros_like(W)
    # np.add.at accumulates over repeated indices; dW[x] += dout would keep only one of them.
    np.add.at(dW, x, dout)
    return dW


# ---------------------------------------------------------------- temporal affine and loss

def temporal_affine_forward(x, w, b):
    """The same affine layer at every timestep: out[n, t] = x[n, t] @ w + b; returns (out, cache).

    Args:
        x: input (N, T, D).
        w: weights (D, M).
        b: biases (M,).
    """
    return x @ w + b, (x, w, b)


def temporal_affine_backward(dout, cache):
    """Backward pass of temporal_affine_forward; returns (dx, dw, db).

    Args:
        dout: upstream gradient (N, T, M).
        cache: (x, w, b) from temporal_affine_forward.
    """
    x, w, b = cache
    dx = dout @ w.T
    dw = x.reshape(-1, x.shape[-1]).T @ dout.reshape(-1, dout.shape[-1])
    db = dout.sum(axis=(0, 1))
    return dx, dw, db


def temporal_softmax_loss(x, y, mask, verbose=False):
    """Softmax loss summed over the timesteps where mask is true, divided by N; returns (loss, dx).

    The course divides by the minibatch size N only, not by the number of masked-in words,
    so with scores near 0 and mask all true the loss is about T * log(V).

    Args:
        x: scores (N, T, V).
        y: target word indices (N, T), 0 <= y < V.
        mask: boolean (N, T); where false (padding <NULL> words) nothing reaches loss or dx.
        verbose: print dx's shape, as the course's version does, default False.
    """
    N, T, V = x.shape
    x_flat = x.reshape(N * T, V)
    y_flat = y.reshape(N * T)
    mask_flat = mask.reshape(N * T).astype(bool)
    rows = np.arange(N * T)

    shifted = x_flat - x_flat.max(axis=1, keepdims=True)  # no overflow in exp
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    # Select rather than multiply by the mask: a masked-out row then cannot add even a nan.
    loss = -log_probs[rows, y_flat][mask_flat].sum() / N

    dx_flat = np.exp(log_probs)
    dx_flat[rows, y_flat] -= 1
    dx_flat /= N
    dx_flat[~mask_flat] = 0
    if verbose:
        print("dx_flat: ", dx_flat.shape)
    return float(loss), dx_flat.reshape(N, T, V)


# ---------------------------------------------------------------- LSTM

def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """One LSTM timestep; returns (next_h, next_c, cache).

    a = x Wx + prev_h Wh + b is split into i, f, o, g (in that order); then
    next_c = f * prev_c + i * g and next_h = o * tanh(next_c).

    Args:
        x: input (N, D).
        prev_h: previous hidden state (N, H).
        prev_c: previous cell state (N, H).
        Wx: input-to-hidden weights (D, 4H).
        Wh: hidden-to-hidden weights (H, 4H).
        b: biases (4H,).
    """
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i = sigmoid(a[:, :H])
    f = sigmoid(a[:, H:2 * H])
    o = sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    tanh_c = np.tanh(next_c)
    next_h = o * tanh_c
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c)


def lstm_step_backward(dnext_h, dnext_c, cache):
    """Backward pass of lstm_step_forward; returns (dx, dprev_h, dprev_c, dWx, dWh, db).

    Args:
        dnext_h: upstream gradient of next_h (N, H).
        dnext_c: upstream gradient of next_c (N, H).
        cache: from lstm_step_forward.
    """
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c = cache
    # next_c reaches the loss directly and through next_h = o * tanh(next_c).
    dc = dnext_c + dnext_h * o * (1 - tanh_c ** 2)
    da = np.concatenate([
        dc * g * i * (1 - i),            # input gate, through sigmoid' = s (1 - s)
        dc * prev_c * f * (1 - f),       # forget gate
        dnext_h * tanh_c * o * (1 - o),  # output gate
        dc * i * (1 - g ** 2),           # block input, through tanh'
    ], axis=1)
    dx, dprev_h, dWx, dWh, db = _affine_pair_backward(da, x, prev_h, Wx, Wh)
    return dx, dprev_h, dc * f, dWx, dWh, db


def lstm_forward(x, h0, Wx, Wh, b):
    """An LSTM over a whole sequence, with the initial cell state 0; returns (h, cache), h of shape (N, T, H).

    Args:
        x: input sequence (N, T, D).
        h0: initial hidden state (N, H).
        Wx: input-to-hidden weights (D, 4H).
        Wh: hidden-to-hidden weights (H, 4H).
        b: biases (4H,).
    """
    prev_h, prev_c, hs, cache = h0, np.zeros_like(h0), [], []
    for t in range(x.shape[1]):
        prev_h, prev_c, step_cache = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
        hs.append(prev_h)
        cache.append(step_cache)
    return np.stack(hs, axis=1), cache


def lstm_backward(dh, cache):
    """Backward pass of lstm_forward; returns (dx, dh0, dWx, dWh, db).

    The cell state gets no gradient from outside: only the hidden states feed the loss.

    Args:
        dh: upstream gradients of all hidden states, (N, T, H).
        cache: from lstm_forward.
    """
    dprev_h = np.zeros_like(dh[:, 0])
    dprev_c = np.zeros_like(dprev_h)
    dxs, dWx, dWh, db = [], 0, 0, 0
    for t in reversed(range(dh.shape[1])):
        dx_t, dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(dh[:, t] + dprev_h, dprev_c, cache[t])
        dxs.append(dx_t)
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return np.stack(dxs[::-1], axis=1), dprev_h, dWx, dWh, db
