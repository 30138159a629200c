from builtins import range
import numpy as np


def affine_forward(x, w, b):
    out = x.reshape(len(x), -1) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(len(x), -1).T @ dout
    db = dout.sum(0)
    return dx, dw, db


def relu_forward(x):
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    return dout * (cache > 0)


def leaky_relu_forward(x, alpha=0.01):
    return np.where(x > 0, x, alpha * x), (x, alpha)


def leaky_relu_backward(dout, cache):
    x, alpha = cache
    return np.where(x > 0, dout, alpha * dout)


def sigmoid_forward(x):
    # split by sign so that exp never overflows
    out = np.empty_like(x, dtype=float)
    pos = x >= 0
    out[pos] = 1 / (1 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1 + ex)
    return out, out


def sigmoid_backward(dout, cache):
    s = cache
    return dout * s * (1 - s)


def tanh_forward(x):
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    return dout * (1 - cache ** 2)


def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    D = x.shape[1]
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))

    if mode == "train":
        mu, var = x.mean(0), x.var(0)
        std = np.sqrt(var + eps)
        xhat = (x - mu) / std
        out = gamma * xhat + beta
        cache = (xhat, std, gamma)
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var
    elif mode == "test":
        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
        cache = None
    else:
        raise ValueError('Invalid forward batchnorm mode "%s"' % mode)

    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


def batchnorm_backward(dout, cache):
    xhat, std, gamma = cache
    N = len(dout)
    dxhat = dout * gamma
    dvar = np.sum(dxhat * xhat * std, 0) * -0.5 / std ** 3
    dmu = -np.sum(dxhat, 0) / std - 2 * dvar * np.mean(xhat * std, 0)
    dx = dxhat / std + dvar * 2 * xhat * std / N + dmu / N
    return dx, np.sum(dout * xhat, 0), dout.sum(0)


def batchnorm_backward_alt(dout, cache):
    xhat, std, gamma = cache
    dgamma, dbeta = (dout * xhat).sum(0), dout.sum(0)
    dx = gamma / std * (dout - dbeta / len(dout) - xhat * dgamma / len(dout))
    return dx, dgamma, dbeta


def layernorm_forward(x, gamma, beta, ln_param):
    eps = ln_param.get("eps", 1e-5)
    mu = x.mean(1, keepdims=True)
    std = np.sqrt(x.var(1, keepdims=True) + eps)
    xhat = (x - mu) / std
    return gamma * xhat + beta, (xhat, std, gamma)


def layernorm_backward(dout, cache):
    xhat, std, gamma = cache
    dxhat = dout * gamma
    dx = (dxhat - dxhat.mean(1, keepdims=True) - xhat * (dxhat * xhat).mean(1, keepdims=True)) / std
    return dx, (dout * xhat).sum(0), dout.sum(0)


def dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])
    mask = None
    if mode == "train":
        mask = (np.random.rand(*x.shape) < p) / p
        out = x * mask
    else:
        out = x
    return out, (dropout_param, mask)


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    return dout * mask if dropout_param["mode"] == "train" else dout


def _windows(x, HH, WW, stride):
    """(N, C, H_out, W_out, HH, WW) view of every receptive field of x."""
    N, C, H, W = x.shape
    H_out, W_out = (H - HH) // stride + 1, (W - WW) // stride + 1
    sN, sC, sH, sW = x.strides
    return np.lib.stride_tricks.as_strided(
        x, (N, C, H_out, W_out, HH, WW), (sN, sC, sH * stride, sW * stride, sH, sW), writeable=False)


def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = _windows(xp, w.shape[2], w.shape[3], stride)
    out = np.einsum("nchwij,fcij->nfhw", cols, w) + b[None, :, None, None]
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    HH, WW = w.shape[2:]
    H_out, W_out = dout.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = _windows(xp, HH, WW, stride)
    dw = np.einsum("nchwij,nfhw->fcij", cols, dout)
    db = dout.sum((0, 2, 3))
    dxp = np.zeros_like(xp)
    dcols = np.einsum("nfhw,fcij->nchwij", dout, w)
    for i in range(HH):
        for j in range(WW):
            dxp[:, :, i:i + stride * H_out:stride, j:j + stride * W_out:stride] += dcols[:, :, :, :, i, j]
    dx = dxp[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]]
    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    out = _windows(x, ph, pw, s).max(axis=(4, 5))
    return out, (x, pool_param)


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H_out, W_out = dout.shape
    flat = _windows(x, ph, pw, s).reshape(N, C, H_out, W_out, -1)
    arg = flat.argmax(-1)
    i, j = np.unravel_index(arg, (ph, pw))
    n, c, h, w = np.indices(arg.shape)
    dx = np.zeros_like(x)
    np.add.at(dx, (n, c, h * s + i, w * s + j), dout)
    return dx


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    out, cache = batchnorm_forward(x.transpose(0, 2, 3, 1).reshape(-1, C), gamma, beta, bn_param)
    return out.reshape(N, H, W, C).transpose(0, 3, 1, 2), cache


def spatial_batchnorm_backward(dout, cache):
    N, C, H, W = dout.shape
    dx, dgamma, dbeta = batchnorm_backward_alt(dout.transpose(0, 2, 3, 1).reshape(-1, C), cache)
    return dx.reshape(N, H, W, C).transpose(0, 3, 1, 2), dgamma, dbeta


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    eps = gn_param.get("eps", 1e-5)
    N, C, H, W = x.shape
    xg = x.reshape(N, G, -1)
    std = np.sqrt(xg.var(2, keepdims=True) + eps)
    xhat = ((xg - xg.mean(2, keepdims=True)) / std).reshape(x.shape)
    return gamma * xhat + beta, (xhat, std, gamma, G)


def spatial_groupnorm_backward(dout, cache):
    xhat, std, gamma, G = cache
    N, C, H, W = dout.shape
    dgamma = (dout * xhat).sum((0, 2, 3), keepdims=True)
    dbeta = dout.sum((0, 2, 3), keepdims=True)
    dxh = (dout * gamma).reshape(N, G, -1)
    xh = xhat.reshape(N, G, -1)
    dx = (dxh - dxh.mean(2, keepdims=True) - xh * (dxh * xh).mean(2, keepdims=True)) / std
    return dx.reshape(dout.shape), dgamma, dbeta


def svm_loss(x, y):
    N = len(x)
    correct = x[np.arange(N), y][:, None]
    margins = np.maximum(0, x - correct + 1)
    margins[np.arange(N), y] = 0
    loss = margins.sum() / N
    positive = margins > 0
    dx = positive.astype(x.dtype)
    dx[np.arange(N), y] -= positive.sum(1)
    return loss, dx / N


def softmax_loss(x, y):
    N = len(x)
    shifted = x - x.max(1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
    loss = -log_probs[np.arange(N), y].mean()
    dx = np.exp(log_probs)
    dx[np.arange(N), y] -= 1
    return loss, dx / N
