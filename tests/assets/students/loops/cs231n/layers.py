from builtins import range
import numpy as np


def affine_forward(x, w, b):
    """Computes the forward pass for an affine (fully connected) layer."""
    out = None
    N = x.shape[0]
    out = np.zeros((N, w.shape[1]))
    for n in range(N):
        row = x[n].reshape(-1)
        out[n] = row.dot(w) + b
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    """Computes the backward pass for an affine layer."""
    x, w, b = cache
    dx, dw, db = None, None, None
    N = x.shape[0]
    dx = np.zeros(x.shape)
    dw = np.zeros(w.shape)
    db = np.zeros(b.shape)
    for n in range(N):
        row = x[n].reshape(-1)
        dx[n] = dout[n].dot(w.T).reshape(x.shape[1:])
        dw += np.outer(row, dout[n])
        db += dout[n]
    return dx, dw, db


def relu_forward(x):
    """Computes the forward pass for a layer of rectified linear units (ReLUs)."""
    out = x.copy()
    out[out < 0] = 0
    cache = x
    return out, cache


def relu_backward(dout, cache):
    """Computes the backward pass for a layer of rectified linear units (ReLUs)."""
    dx, x = None, cache
    dx = dout.copy()
    dx[x <= 0] = 0
    return dx


def softmax_loss(x, y):
    """Computes the loss and gradient for softmax classification."""
    N, C = x.shape
    loss = 0.0
    dx = np.zeros_like(x)
    for i in range(N):
        scores = x[i] - np.max(x[i])
        exp_scores = np.exp(scores)
        total = np.sum(exp_scores)
        loss += -scores[y[i]] + np.log(total)
        for j in range(C):
            p = exp_scores[j] / total
            dx[i, j] = p - (j == y[i])
    loss /= N
    dx /= N
    return loss, dx


def svm_loss(x, y):
    """Computes the loss and gradient using for multiclass SVM classification."""
    N, C = x.shape
    loss = 0.0
    dx = np.zeros_like(x)
    for i in range(N):
        correct = x[i, y[i]]
        for j in range(C):
            if j == y[i]:
                continue
            margin = x[i, j] - correct + 1
            if margin > 0:
                loss += margin
                dx[i, j] += 1
                dx[i, y[i]] -= 1
    loss /= N
    dx /= N
    return loss, dx


def batchnorm_forward(x, gamma, beta, bn_param):
    """Forward pass for batch normalization, staged as in the computational graph."""
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)

    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))

    out, cache = None, None
    if mode == "train":
        # step 1: mean
        mu = 1.0 / N * np.sum(x, axis=0)
        # step 2: subtract mean
        xmu = x - mu
        # step 3: square
        sq = xmu ** 2
        # step 4: variance
        var = 1.0 / N * np.sum(sq, axis=0)
        # step 5: add eps and take the root
        sqrtvar = np.sqrt(var + eps)
        # step 6: invert
        ivar = 1.0 / sqrtvar
        # step 7: normalize
        xhat = xmu * ivar
        # step 8: scale
        gammax = gamma * xhat
        # step 9: shift
        out = gammax + beta

        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var
        cache = (xhat, gamma, xmu, ivar, sqrtvar, var, eps)
    elif mode == "test":
        xhat = (x - running_mean) / np.sqrt(running_var + eps)
        out = gamma * xhat + beta
    else:
        raise ValueError('Invalid forward batchnorm mode "%s"' % mode)

    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


def batchnorm_backward(dout, cache):
    """Backward pass for batch normalization, one node of the graph at a time."""
    xhat, gamma, xmu, ivar, sqrtvar, var, eps = cache
    N, D = dout.shape

    # step 9
    dbeta = np.sum(dout, axis=0)
    dgammax = dout
    # step 8
    dgamma = np.sum(dgammax * xhat, axis=0)
    dxhat = dgammax * gamma
    # step 7
    divar = np.sum(dxhat * xmu, axis=0)
    dxmu1 = dxhat * ivar
    # step 6
    dsqrtvar = -1.0 / (sqrtvar ** 2) * divar
    # step 5
    dvar = 0.5 * 1.0 / np.sqrt(var + eps) * dsqrtvar
    # step 4
    dsq = 1.0 / N * np.ones((N, D)) * dvar
    # step 3
    dxmu2 = 2 * xmu * dsq
    # step 2
    dx1 = dxmu1 + dxmu2
    dmu = -1 * np.sum(dxmu1 + dxmu2, axis=0)
    # step 1
    dx2 = 1.0 / N * np.ones((N, D)) * dmu
    dx = dx1 + dx2
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    """Backward pass for batch normalization, simplified on paper."""
    xhat, gamma, xmu, ivar, sqrtvar, var, eps = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dxhat = dout * gamma
    dx = ivar / N * (N * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0))
    return dx, dgamma, dbeta


def layernorm_forward(x, gamma, beta, ln_param):
    """Forward pass for layer normalization, one sample at a time."""
    eps = ln_param.get("eps", 1e-5)
    N, D = x.shape
    out = np.zeros_like(x)
    xhat = np.zeros_like(x)
    ivars = np.zeros(N)
    for n in range(N):
        mu = np.mean(x[n])
        var = np.mean((x[n] - mu) ** 2)
        ivars[n] = 1.0 / np.sqrt(var + eps)
        xhat[n] = (x[n] - mu) * ivars[n]
        out[n] = gamma * xhat[n] + beta
    cache = (xhat, gamma, ivars)
    return out, cache


def layernorm_backward(dout, cache):
    """Backward pass for layer normalization, one sample at a time."""
    xhat, gamma, ivars = cache
    N, D = dout.shape
    dgamma = np.zeros(D)
    dbeta = np.zeros(D)
    dx = np.zeros_like(dout)
    for n in range(N):
        dgamma += dout[n] * xhat[n]
        dbeta += dout[n]
        dxhat = dout[n] * gamma
        dx[n] = ivars[n] / D * (D * dxhat - np.sum(dxhat) - xhat[n] * np.sum(dxhat * xhat[n]))
    return dx, dgamma, dbeta


def dropout_forward(x, dropout_param):
    """Forward pass for inverted dropout; p is the probability of keeping a neuron."""
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])

    mask = None
    out = None
    if mode == "train":
        mask = (np.random.rand(*x.shape) < p) / p
        out = x * mask
    elif mode == "test":
        out = x
    cache = (dropout_param, mask)
    return out, cache


def dropout_backward(dout, cache):
    """Backward pass for inverted dropout."""
    dropout_param, mask = cache
    mode = dropout_param["mode"]
    dx = None
    if mode == "train":
        dx = dout * mask
    elif mode == "test":
        dx = dout
    return dx


def conv_forward_naive(x, w, b, conv_param):
    """A naive implementation of the forward pass for a convolutional layer."""
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    window = x_pad[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_naive(dout, cache):
    """A naive implementation of the backward pass for a convolutional layer."""
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    db = np.zeros_like(b)
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    hs, ws = i * stride, j * stride
                    window = x_pad[n, :, hs:hs + HH, ws:ws + WW]
                    dw[f] += window * dout[n, f, i, j]
                    dx_pad[n, :, hs:hs + HH, ws:ws + WW] += w[f] * dout[n, f, i, j]
                    db[f] += dout[n, f, i, j]
    dx = dx_pad[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    """A naive implementation of the forward pass for a max-pooling layer."""
    N, C, H, W = x.shape
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    H_out = 1 + (H - ph) // stride
    W_out = 1 + (W - pw) // stride
    out = np.zeros((N, C, H_out, W_out))
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, c, i * stride:i * stride + ph, j * stride:j * stride + pw]
                    out[n, c, i, j] = np.max(window)
    cache = (x, pool_param)
    return out, cache


def max_pool_backward_naive(dout, cache):
    """A naive implementation of the backward pass for a max-pooling layer."""
    x, pool_param = cache
    N, C, H, W = x.shape
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    _, _, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, c, i * stride:i * stride + ph, j * stride:j * stride + pw]
                    k, l = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * stride + k, j * stride + l] += dout[n, c, i, j]
    return dx


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Spatial batch normalization: vanilla batchnorm over (N, H, W) for each channel."""
    N, C, H, W = x.shape
    x_flat = x.transpose(0, 2, 3, 1).reshape(-1, C)
    out_flat, cache = batchnorm_forward(x_flat, gamma, beta, bn_param)
    out = out_flat.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    return out, cache


def spatial_batchnorm_backward(dout, cache):
    """Backward pass for spatial batch normalization."""
    N, C, H, W = dout.shape
    dout_flat = dout.transpose(0, 2, 3, 1).reshape(-1, C)
    dx_flat, dgamma, dbeta = batchnorm_backward(dout_flat, cache)
    dx = dx_flat.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    return dx, dgamma, dbeta


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    """Spatial group normalization, one (sample, group) at a time; gamma, beta are (1, C, 1, 1)."""
    eps = gn_param.get("eps", 1e-5)
    N, C, H, W = x.shape
    cg = C // G
    xhat = np.zeros_like(x)
    ivars = np.zeros((N, G))
    for n in range(N):
        for g in range(G):
            block = x[n, g * cg:(g + 1) * cg]
            mu = block.mean()
            var = ((block - mu) ** 2).mean()
            ivars[n, g] = 1.0 / np.sqrt(var + eps)
            xhat[n, g * cg:(g + 1) * cg] = (block - mu) * ivars[n, g]
    out = gamma * xhat + beta
    cache = (xhat, gamma, ivars, G)
    return out, cache


def spatial_groupnorm_backward(dout, cache):
    """Backward pass for spatial group normalization."""
    xhat, gamma, ivars, G = cache
    N, C, H, W = dout.shape
    cg = C // G
    dbeta = dout.sum(axis=(0, 2, 3), keepdims=True)
    dgamma = (dout * xhat).sum(axis=(0, 2, 3), keepdims=True)
    dxhat = dout * gamma
    dx = np.zeros_like(dout)
    for n in range(N):
        for g in range(G):
            sl = slice(g * cg, (g + 1) * cg)
            m = cg * H * W
            dxh = dxhat[n, sl]
            xh = xhat[n, sl]
            dx[n, sl] = ivars[n, g] / m * (m * dxh - dxh.sum() - xh * (dxh * xh).sum())
    return dx, dgamma, dbeta
