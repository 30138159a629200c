"""Reference layers with the CS231n assignment 2 signatures: forward -> (out, cache), backward -> grads.

Every function keeps the input's floating dtype (float32 in, float32 out) and never
modifies its inputs; the only state written is the course's running statistics in
`bn_param`.
"""
import numpy as np

__all__ = [
    "affine_forward", "affine_backward",
    "relu_forward", "relu_backward",
    "leaky_relu_forward", "leaky_relu_backward",
    "sigmoid_forward", "sigmoid_backward",
    "tanh_forward", "tanh_backward",
    "batchnorm_forward", "batchnorm_backward", "batchnorm_backward_alt",
    "layernorm_forward", "layernorm_backward",
    "dropout_forward", "dropout_backward",
    "conv_forward_naive", "conv_backward_naive",
    "max_pool_forward_naive", "max_pool_backward_naive",
    "spatial_batchnorm_forward", "spatial_batchnorm_backward",
    "spatial_groupnorm_forward", "spatial_groupnorm_backward",
    "svm_loss", "softmax_loss",
]


# ---------------------------------------------------------------- affine and activations

def affine_forward(x, w, b):
    """Fully connected layer: out = x.reshape(N, D) @ w + b.

    Args:
        x: input of shape (N, d_1, ..., d_k), D = d_1 * ... * d_k.
        w: weights of shape (D, M).
        b: biases of shape (M,).
    """
    out = x.reshape(x.shape[0], -1) @ w + b
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    """Backward pass of affine_forward; returns (dx, dw, db), dx in x's original shape.

    Args:
        dout: upstream gradient of shape (N, M).
        cache: (x, w, b) from affine_forward.
    """
    x, w, b = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def relu_forward(x):
    """Rectified linear unit: out = max(0, x).

    Args:
        x: input of any shape.
    """
    out = np.maximum(0, x)
    return out, x


def relu_backward(dout, cache):
    """Backward pass of relu_forward; the gradient is 0 where x <= 0 (the course's choice at the kink).

    Args:
        dout: upstream gradient, x's shape.
        cache: x from relu_forward.
    """
    x = cache
    return np.where(x > 0, dout, 0)


def leaky_relu_forward(x, alpha=0.01):
    """Leaky ReLU: out = x where x > 0, alpha * x elsewhere.

    Args:
        x: input of any shape.
        alpha: slope for x <= 0, default 0.01.
    """
    out = np.where(x > 0, x, alpha * x)
    return out, (x, alpha)


def leaky_relu_backward(dout, cache):
    """Backward pass of leaky_relu_forward (slope alpha where x <= 0).

    Args:
        dout: upstream gradient, x's shape.
        cache: (x, alpha) from leaky_relu_forward.
    """
    x, alpha = cache
    return np.where(x > 0, dout, alpha * dout)


def sigmoid_forward(x):
    """Logistic sigmoid 1 / (1 + exp(-x)), without overflow for large |x|.

    Args:
        x: input of any shape.
    """
    # exp(-|x|) never overflows; the two branches are the same function rewritten.
    z = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1 / (1 + z), z / (1 + z))
    return out, out


def sigmoid_backward(dout, cache):
    """Backward pass of sigmoid_forward: dx = dout * s * (1 - s).

    Args:
        dout: upstream gradient, x's shape.
        cache: the sigmoid output s.
    """
    out = cache
    return dout * out * (1 - out)


def tanh_forward(x):
    """Hyperbolic tangent.

    Args:
        x: input of any shape.
    """
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    """Backward pass of tanh_forward: dx = dout * (1 - tanh(x)^2).

    Args:
        dout: upstream gradient, x's shape.
        cache: the tanh output.
    """
    out = cache
    return dout * (1 - out ** 2)


# ---------------------------------------------------------------- normalisation

def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalisation over the batch axis of x (N, D).

    Train mode normalises with the batch mean and biased variance and updates
    bn_param["running_mean"] / ["running_var"] as
    running = momentum * running + (1 - momentum) * batch (stored back into bn_param,
    as the course does). Test mode normalises with the running statistics.

    Args:
        x: input of shape (N, D).
        gamma, beta: scale and shift of shape (D,).
        bn_param: dict with "mode" ("train" or "test", required), "eps" (default 1e-5),
            "momentum" (default 0.9), "running_mean" / "running_var" (default zeros (D,)
            in x's dtype).
    """
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    D = x.shape[1]
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))

    if mode == "train":
        mu = x.mean(axis=0)
        xmu = x - mu
        var = (xmu ** 2).mean(axis=0)  # biased variance, np.var's default
        sqrtvar = np.sqrt(var + eps)
        ivar = 1 / sqrtvar
        xhat = xmu * ivar
        out = gamma * xhat + beta
        cache = (xhat, xmu, ivar, sqrtvar, gamma)
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var
    elif mode == "test":
        xhat = (x - running_mean) / np.sqrt(running_var + eps)
        out = gamma * xhat + beta
        cache = None
    else:
        raise ValueError(f'Invalid forward batchnorm mode "{mode}"')

    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


def batchnorm_backward(dout, cache):
    """Backward pass of batchnorm_forward (train mode), one node of the computation graph at a time.

    Args:
        dout: upstream gradient of shape (N, D).
        cache: from batchnorm_forward in train mode.
    """
    xhat, xmu, ivar, sqrtvar, gamma = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dxhat = dout * gamma
    # xhat = xmu * ivar
    divar = (dxhat * xmu).sum(axis=0)
    dxmu = dxhat * ivar
    # ivar = 1 / sqrtvar, sqrtvar = sqrt(var + eps)
    dsqrtvar = -divar / sqrtvar ** 2
    dvar = 0.5 * dsqrtvar / sqrtvar
    # var = mean(xmu ** 2)
    dxmu = dxmu + 2 * xmu * dvar / N
    # xmu = x - mu, mu = mean(x)
    dmu = -dxmu.sum(axis=0)
    dx = dxmu + dmu / N
    return dx, dgamma, dbeta


def _normalize_backward(dxhat, xhat, ivar, axis):
    """Gradient through xhat = (x - mean) * ivar with statistics taken over `axis` (closed form).

    Args:
        dxhat: gradient with respect to xhat.
        xhat: the normalised input.
        ivar: 1 / sqrt(var + eps), broadcastable against xhat.
        axis: the axis (or axes) the mean and variance were taken over.
    """
    mean_dxhat = dxhat.mean(axis=axis, keepdims=True)
    mean_dxhat_xhat = (dxhat * xhat).mean(axis=axis, keepdims=True)
    return ivar * (dxhat - mean_dxhat - xhat * mean_dxhat_xhat)


def batchnorm_backward_alt(dout, cache):
    """Backward pass of batchnorm_forward in the simplified closed form.

    dx = ivar * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), means over the batch.

    Args:
        dout: upstream gradient of shape (N, D).
        cache: from batchnorm_forward in train mode.
    """
    xhat, _, ivar, _, gamma = cache
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dx = _normalize_backward(dout * gamma, xhat, ivar, axis=0)
    return dx, dgamma, dbeta


def layernorm_forward(x, gamma, beta, ln_param):
    """Layer normalisation: each sample normalised over its D features; same in train and test.

    Args:
        x: input of shape (N, D).
        gamma, beta: scale and shift of shape (D,).
        ln_param: dict, may hold "eps" (default 1e-5).
    """
    eps = ln_param.get("eps", 1e-5)
    mu = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    ivar = 1 / np.sqrt(var + eps)
    xhat = (x - mu) * ivar
    out = gamma * xhat + beta
    return out, (xhat, ivar, gamma)


def layernorm_backward(dout, cache):
    """Backward pass of layernorm_forward; returns (dx, dgamma, dbeta).

    Args:
        dout: upstream gradient of shape (N, D).
        cache: from layernorm_forward.
    """
    xhat, ivar, gamma = cache
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dx = _normalize_backward(dout * gamma, xhat, ivar, axis=1)
    return dx, dgamma, dbeta


# ---------------------------------------------------------------- dropout

def dropout_forward(x, dropout_param):
    """Inverted dropout: in train mode keep each unit with probability p and scale it by 1 / p.

    Args:
        x: input of any shape.
        dropout_param: dict with "p" (KEEP probability), "mode" ("train" or "test"),
            optional "seed". With a seed the mask is
            np.random.RandomState(seed).rand(*x.shape) < p, bit-identical to the course's
            np.random.seed(seed); np.random.rand(*x.shape) < p, without touching the
            global random state; without one it comes from np.random.rand, as in the course.
    """
    p, mode = dropout_param["p"], dropout_param["mode"]
    if mode == "train":
        seed = dropout_param.get("seed")
        uniform = np.random.RandomState(seed).rand(*x.shape) if seed is not None else np.random.rand(*x.shape)
        # The mask carries the 1/p so test mode needs no scaling; cast so float32 stays float32.
        mask = ((uniform < p) / p).astype(x.dtype, copy=False)
        out = x * mask
    elif mode == "test":
        mask = None
        out = x
    else:
        raise ValueError(f'Invalid forward dropout mode "{mode}"')
    return out, (dropout_param, mask)


def dropout_backward(dout, cache):
    """Backward pass of dropout_forward: the same scaled mask in train mode, identity in test mode.

    Args:
        dout: upstream gradient, x's shape.
        cache: (dropout_param, mask) from dropout_forward.
    """
    dropout_param, mask = cache
    if dropout_param["mode"] == "train":
        return dout * mask
    return dout


# ---------------------------------------------------------------- convolution and pooling

def conv_output_size(size, field, pad, stride):
    """Output length of a convolution or pooling window sliding along one axis: 1 + (size + 2 pad - field) // stride."""
    return 1 + (size + 2 * pad - field) // stride


def conv_forward_naive(x, w, b, conv_param):
    """Convolution with zero padding, one output position at a time (vectorised over N and F).

    Args:
        x: input of shape (N, C, H, W).
        w: filters of shape (F, C, HH, WW).
        b: biases of shape (F,).
        conv_param: dict with "stride" and "pad".
    """
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = conv_output_size(H, HH, pad, stride)
    W_out = conv_output_size(W, WW, pad, stride)
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((N, F, H_out, W_out), dtype=np.result_type(x, w, b))
    for i in range(H_out):
        for j in range(W_out):
            window = x_pad[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    """Backward pass of conv_forward_naive; returns (dx, dw, db).

    Args:
        dout: upstream gradient of shape (N, F, H_out, W_out).
        cache: (x, w, b, conv_param) from conv_forward_naive.
    """
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    _, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_pad = np.zeros_like(x_pad, dtype=np.result_type(dout, w))
    dw = np.zeros_like(w, dtype=np.result_type(dout, x))
    for i in range(H_out):
        for j in range(W_out):
            rows = slice(i * stride, i * stride + HH)
            cols = slice(j * stride, j * stride + WW)
            dout_ij = dout[:, :, i, j]  # (N, F)
            dw += np.tensordot(dout_ij, x_pad[:, :, rows, cols], axes=([0], [0]))
            dx_pad[:, :, rows, cols] += np.tensordot(dout_ij, w, axes=([1], [0]))
    H, W = x.shape[2], x.shape[3]
    dx = dx_pad[:, :, pad:pad + H, pad:pad + W]
    db = dout.sum(axis=(0, 2, 3))
    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    """Max pooling without padding, one output position at a time.

    Args:
        x: input of shape (N, C, H, W).
        pool_param: dict with "pool_height", "pool_width", "stride".
    """
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    H_out = conv_output_size(H, ph, 0, stride)
    W_out = conv_output_size(W, pw, 0, stride)
    out = np.zeros((N, C, H_out, W_out), dtype=x.dtype)
    for i in range(H_out):
        for j in range(W_out):
            window = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw]
            out[:, :, i, j] = window.max(axis=(2, 3))
    return out, (x, pool_param)


def max_pool_backward_naive(dout, cache):
    """Backward pass of max_pool_forward_naive: each window's gradient goes to its first argmax.

    Args:
        dout: upstream gradient of shape (N, C, H_out, W_out).
        cache: (x, pool_param) from max_pool_forward_naive.
    """
    x, pool_param = cache
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x, dtype=np.result_type(dout, x))
    for i in range(H_out):
        for j in range(W_out):
            rows = slice(i * stride, i * stride + ph)
            cols = slice(j * stride, j * stride + pw)
            window = x[:, :, rows, cols].reshape(N, C, ph * pw)
            # One winner per window (the first in row-major order), so ties do not double the gradient.
            winner = window.argmax(axis=2)[..., None]
            dwindow = np.zeros_like(window, dtype=dx.dtype)
            np.put_along_axis(dwindow, winner, dout[:, :, i, j][..., None], axis=2)
            dx[:, :, rows, cols] += dwindow.reshape(N, C, ph, pw)
    return dx


# ---------------------------------------------------------------- spatial normalisation

def _channels_last(x):
    """(N, C, H, W) -> (N * H * W, C): every pixel becomes a row, every channel a feature."""
    N, C, H, W = x.shape
    return x.transpose(0, 2, 3, 1).reshape(-1, C)


def _channels_first(rows, shape):
    """Inverse of _channels_last for an (N, C, H, W) shape."""
    N, C, H, W = shape
    return rows.reshape(N, H, W, C).transpose(0, 3, 1, 2)


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalisation per channel over N, H and W, by reshaping to batchnorm_forward.

    Args:
        x: input of shape (N, C, H, W).
        gamma, beta: scale and shift of shape (C,).
        bn_param: as for batchnorm_forward (running statistics of shape (C,)).
    """
    out_rows, cache = batchnorm_forward(_channels_last(x), gamma, beta, bn_param)
    return _channels_first(out_rows, x.shape), cache


def spatial_batchnorm_backward(dout, cache):
    """Backward pass of spatial_batchnorm_forward; returns (dx, dgamma, dbeta) with dgamma, dbeta of shape (C,).

    Args:
        dout: upstream gradient of shape (N, C, H, W).
        cache: from spatial_batchnorm_forward.
    """
    drows, dgamma, dbeta = batchnorm_backward_alt(_channels_last(dout), cache)
    return _channels_first(drows, dout.shape), dgamma, dbeta


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    """Group normalisation: each sample's channels split into G groups, each normalised over its channels and pixels.

    Args:
        x: input of shape (N, C, H, W), C divisible by G.
        gamma, beta: scale and shift of shape (1, C, 1, 1) as in the course (shape (C,) accepted too).
        G: number of groups.
        gn_param: dict, may hold "eps" (default 1e-5).
    """
    eps = gn_param.get("eps", 1e-5)
    N, C, H, W = x.shape
    grouped = x.reshape(N, G, -1)
    mu = grouped.mean(axis=2, keepdims=True)
    var = grouped.var(axis=2, keepdims=True)
    ivar = 1 / np.sqrt(var + eps)
    xhat = ((grouped - mu) * ivar).reshape(x.shape)
    gamma4, beta4 = gamma.reshape(1, C, 1, 1), beta.reshape(1, C, 1, 1)
    out = gamma4 * xhat + beta4
    return out, (xhat, ivar, gamma, G)


def spatial_groupnorm_backward(dout, cache):
    """Backward pass of spatial_groupnorm_forward; returns (dx, dgamma, dbeta), dgamma and dbeta in gamma's shape.

    Args:
        dout: upstream gradient of shape (N, C, H, W).
        cache: from spatial_groupnorm_forward.
    """
    xhat, ivar, gamma, G = cache
    N, C, H, W = dout.shape
    dbeta = dout.sum(axis=(0, 2, 3)).reshape(gamma.shape)
    dgamma = (dout * xhat).sum(axis=(0, 2, 3)).reshape(gamma.shape)
    dxhat = (dout * gamma.reshape(1, C, 1, 1)).reshape(N, G, -1)
    dx = _normalize_backward(dxhat, xhat.reshape(N, G, -1), ivar, axis=2)
    return dx.reshape(dout.shape), dgamma, dbeta


# ---------------------------------------------------------------- losses

def svm_loss(x, y):
    """Multiclass hinge loss with margin 1, averaged over N; returns (loss, dx).

    Args:
        x: scores of shape (N, C).
        y: labels of shape (N,), 0 <= y[i] < C.
    """
    N = x.shape[0]
    rows = np.arange(N)
    margins = np.maximum(0, x - x[rows, y][:, None] + 1)
    margins[rows, y] = 0  # the correct class is not its own competitor
    loss = margins.sum() / N
    positive = (margins > 0).astype(x.dtype)
    dx = positive
    dx[rows, y] -= positive.sum(axis=1)
    dx /= N
    return loss, dx


def softmax_loss(x, y):
    """Softmax cross-entropy loss averaged over N; returns (loss, dx). Stable for large scores.

    Args:
        x: scores of shape (N, C).
        y: labels of shape (N,), 0 <= y[i] < C.
    """
    N = x.shape[0]
    rows = np.arange(N)
    # Subtracting the row max leaves softmax unchanged and keeps exp() from overflowing.
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[rows, y].sum() / N
    dx = np.exp(log_probs)
    dx[rows, y] -= 1
    dx /= N
    return loss, dx
