"""The image-captioning RNN of CS231n assignment 3 (cs231n/classifiers/rnn.py), vanilla RNN or LSTM.

features (N, D) --affine--> h0 (N, H); captions (N, T) --embedding--> (N, T-1, W) -->
RNN/LSTM --> (N, T-1, H) --temporal affine--> scores (N, T-1, V) --temporal softmax.
No regularisation, as in the course.

Layers are called by their module-level names, brought in with `import *` as in the
course's rnn.py, so rebinding e.g. `rnn.lstm_forward` swaps that layer in.

Initial weights: with `seed=None` they come from the global `np.random.randn`, drawn in
the course's order (W_embed, W_proj, Wx, Wh, W_vocab), so `np.random.seed(231)` before
building a model gives the course's model. With a seed they come from
`np.random.RandomState(seed)` (the same numbers, the global state left alone). The
course's constructor has no seed argument; this one takes it last.
"""
import numpy as np

from ..layers import *  # noqa: F401,F403
from ..rnn_layers import *  # noqa: F401,F403

__all__ = ["CaptioningRNN"]


class CaptioningRNN:
    """Captions from image features with a recurrent network; parameters W_proj, b_proj,
    W_embed, Wx, Wh, b, W_vocab, b_vocab.

    Args:
        word_to_idx: the vocabulary, V words -> indices 0 .. V-1; must hold "<NULL>";
            "<START>" and "<END>" are looked up if present (the course's small checks
            use a vocabulary without them), and sample() needs "<START>".
        input_dim: size D of the image features, default 512.
        wordvec_dim: size W of the word vectors, default 128.
        hidden_dim: size H of the hidden state, default 128.
        cell_type: "rnn" (default) or "lstm".
        dtype: dtype of every parameter, default np.float32 (np.float64 for gradient checks).
        seed: None (global np.random, as the course) or an int for repeatable weights.
    """

    def __init__(self, word_to_idx, input_dim=512, wordvec_dim=128, hidden_dim=128,
                 cell_type="rnn", dtype=np.float32, seed=None):
        if cell_type not in {"rnn", "lstm"}:
            raise ValueError(f'Invalid cell_type "{cell_type}"')
        self.cell_type = cell_type
        self.dtype = dtype
        self.word_to_idx = word_to_idx
        self.idx_to_word = {i: w for w, i in word_to_idx.items()}
        self._null = word_to_idx["<NULL>"]
        self._start = word_to_idx.get("<START>", None)
        self._end = word_to_idx.get("<END>", None)

        vocab_size = len(word_to_idx)
        gates = {"rnn": 1, "lstm": 4}[cell_type]  # an LSTM stacks i, f, o, g along 4H
        randn = np.random.randn if seed is None else np.random.RandomState(seed).randn
        # The course's scales: word vectors / 100, every weight matrix / sqrt(fan_in), biases 0.
        params = {
            "W_embed": randn(vocab_size, wordvec_dim) / 100,
            "W_proj": randn(input_dim, hidden_dim) / np.sqrt(input_dim),
            "b_proj": np.zeros(hidden_dim),
            "Wx": randn(wordvec_dim, gates * hidden_dim) / np.sqrt(wordvec_dim),
            "Wh": randn(hidden_dim, gates * hidden_dim) / np.sqrt(hidden_dim),
            "b": np.zeros(gates * hidden_dim),
            "W_vocab": randn(hidden_dim, vocab_size) / np.sqrt(hidden_dim),
            "b_vocab": np.zeros(vocab_size),
        }
        self.params = {name: value.astype(dtype) for name, value in params.items()}

    def loss(self, features, captions):
        """(loss, grads) of the captions given the features; grads keyed like params.

        The network reads captions[:, :-1] and must predict captions[:, 1:]; positions
        whose target is <NULL> are masked out of the loss.

        Args:
            features: image features (N, D).
            captions: word indices (N, T), 0 <= captions < V; usually <START> first.
        """
        captions_in = captions[:, :-1]
        captions_out = captions[:, 1:]
        mask = captions_out != self._null
        p = self.params

        h0, h0_cache = affine_forward(features, p["W_proj"], p["b_proj"])
        words, words_cache = word_embedding_forward(captions_in, p["W_embed"])
        if self.cell_type == "rnn":
            hidden, hidden_cache = rnn_forward(words, h0, p["Wx"], p["Wh"], p["b"])
        else:
            hidden, hidden_cache = lstm_forward(words, h0, p["Wx"], p["Wh"], p["b"])
        scores, scores_cache = temporal_affine_forward(hidden, p["W_vocab"], p["b_vocab"])
        loss, dscores = temporal_softmax_loss(scores, captions_out, mask)

        grads = {}
        dhidden, grads["W_vocab"], grads["b_vocab"] = temporal_affine_backward(dscores, scores_cache)
        if self.cell_type == "rnn":
            dwords, dh0, grads["Wx"], grads["Wh"], grads["b"] = rnn_backward(dhidden, hidden_cache)
        else:
            dwords, dh0, grads["Wx"], grads["Wh"], grads["b"] = lstm_backward(dhidden, hidden_cache)
        grads["W_embed"] = word_embedding_backward(dwords, words_cache)
        _, grads["W_proj"], grads["b_proj"] = affine_backward(dh0, h0_cache)
        return loss, grads

    def sample(self, features, max_length=30):
        """Greedy captions (N, max_length) of word indices, the first sampled word first (not <START>).

        The first input word is <START> and the first hidden state the projected features
        (the LSTM's cell state starts at 0); each step feeds back the word it chose. Like
        the course, it does not stop at <END>; the array starts filled with <NULL>.

        Args:
            features: image features (N, D).
            max_length: length of the captions, default 30.
        """
        if self._start is None:
            raise ValueError("sample needs a <START> word in word_to_idx")
        N = features.shape[0]
        captions = self._null * np.ones((N, max_length), dtype=np.int32)
        p = self.params

        prev_h, _ = affine_forward(features, p["W_proj"], p["b_proj"])
        prev_c = np.zeros_like(prev_h)
        words = np.full(N, self._start)
        for t in range(max_length):
            embedded, _ = word_embedding_forward(words, p["W_embed"])  # (N, W)
            if self.cell_type == "rnn":
                prev_h, _ = rnn_step_forward(embedded, prev_h, p["Wx"], p["Wh"], p["b"])
            else:
                prev_h, prev_c, _ = lstm_step_forward(embedded, prev_h, prev_c, p["Wx"], p["Wh"], p["b"])
            scores, _ = affine_forward(prev_h, p["W_vocab"], p["b_vocab"])
            words = np.argmax(scores, axis=1)
            captions[:, t] = words
        return captions
