from builtins import range
import numpy as np


def affine_forward(x, w, b):
    """Computes the forward pass for an affine (fully-connected) layer."""
    x_flat = np.reshape(x, (x.shape[0], np.prod(x.shape[1:])))
    out = np.dot(x_flat, w) + b
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    """Computes the backward pass for an affine layer."""
    x, w, b = cache
    x_flat = np.reshape(x, (x.shape[0], -1))
    dx = np.reshape(np.dot(dout, w.T), x.shape)
    dw = np.dot(x_flat.T, dout)
    db = np.sum(dout, axis=0)
    return dx, dw, db


def relu_forward(x):
    """Computes the forward pass for a layer of rectified linear units (ReLUs)."""
    out = x * (x > 0)
    cache = x
    return out, cache


def relu_backward(dout, cache):
    """Computes the backward pass for a layer of rectified linear units (ReLUs)."""
    x = cache
    dx = np.where(x > 0, dout, 0).astype(dout.dtype)
    return dx


def batchnorm_forward(x, gamma, beta, bn_param):
    """Forward pass for batch normalization."""
    mode = bn_param['mode']
    eps = bn_param.get('eps', 1e-5)
    momentum = bn_param.get('momentum', 0.9)

    N, D = x.shape
    running_mean = bn_param.get('running_mean', np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get('running_var', np.zeros(D, dtype=x.dtype))

    out, cache = None, None
    if mode == 'train':
        sample_mean = np.mean(x, axis=0)
        sample_var = np.var(x, axis=0)
        x_hat = (x - sample_mean) / np.sqrt(sample_var + eps)
        out = gamma * x_hat + beta
        cache = (x, x_hat, sample_mean, sample_var, gamma, eps)
        running_mean = momentum * running_mean + (1 - momentum) * sample_mean
        running_var = momentum * running_var + (1 - momentum) * sample_var
    elif mode == 'test':
        x_hat = (x - running_mean) / np.sqrt(running_var + eps)
        out = gamma * x_hat + beta
    else:
        raise ValueError('Invalid forward batchnorm mode "%s"' % mode)

    # Store the updated running means back into bn_param
    bn_param['running_mean'] = running_mean
    bn_param['running_var'] = running_var

    return out, cache


def batchnorm_backward(dout, cache):
    """Backward pass for batch normalization (the chain rule through mean and var)."""
    x, x_hat, mean, var, gamma, eps = cache
    N = x.shape[0]
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    dx_hat = dout * gamma
    dvar = np.sum(dx_hat * (x - mean), axis=0) * -0.5 * (var + eps) ** -1.5
    dmean = np.sum(dx_hat * -1 / np.sqrt(var + eps), axis=0) + dvar * np.mean(-2 * (x - mean), axis=0)
    dx = dx_hat / np.sqrt(var + eps) + dvar * 2 * (x - mean) / N + dmean / N
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    """Alternative backward pass for batch normalization."""
    x, x_hat, mean, var, gamma, eps = cache
    N = x.shape[0]
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    dx = (gamma / (N * np.sqrt(var + eps))) * (N * dout - dbeta - x_hat * dgamma)
    return dx, dgamma, dbeta


def layernorm_forward(x, gamma, beta, ln_param):
    """Forward pass for layer normalization: batchnorm of the transposed input."""
    eps = ln_param.get('eps', 1e-5)
    # each sample is a column of x.T: batchnorm in train mode normalises it
    x_hat_t, bn_cache = batchnorm_forward(x.T, 1.0, 0.0, {'mode': 'train', 'eps': eps})
    x_hat = x_hat_t.T
    out = gamma * x_hat + beta
    cache = (bn_cache, x_hat, gamma)
    return out, cache


def layernorm_backward(dout, cache):
    """Backward pass for layer normalization, through batchnorm_backward_alt on the transpose."""
    bn_cache, x_hat, gamma = cache
    dgamma = np.sum(dout * x_hat, axis=0)
    dbeta = np.sum(dout, axis=0)
    dx_t, _, _ = batchnorm_backward_alt((dout * gamma).T, bn_cache)
    dx = dx_t.T
    return dx, dgamma, dbeta


def dropout_forward(x, dropout_param):
    """Forward pass for inverted dropout; p is the probability of keeping each neuron."""
    p, mode = dropout_param['p'], dropout_param['mode']
    if 'seed' in dropout_param:
        np.random.seed(dropout_param['seed'])

    mask = None
    out = None
    if mode == 'train':
        mask = np.random.binomial(1, p, size=x.shape).astype(x.dtype) / p
        out = x * mask
    elif mode == 'test':
        out = x

    cache = (dropout_param, mask)
    out = out.astype(x.dtype, copy=False)

    return out, cache


def dropout_backward(dout, cache):
    """Backward pass for inverted dropout."""
    dropout_param, mask = cache
    mode = dropout_param['mode']

    dx = None
    if mode == 'train':
        dx = dout * mask
    elif mode == 'test':
        dx = dout
    return dx


def conv_forward_naive(x, w, b, conv_param):
    """Forward pass for a convolutional layer: one matrix product per kernel offset."""
    stride, pad = conv_param['stride'], conv_param['pad']
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), 'constant')
    out = np.zeros((N, F, H_out, W_out), dtype=x.dtype)
    for k in range(HH):
        for l in range(WW):
            # (N, C, H_out, W_out): the input pixel each output sees through w[:, :, k, l]
            patch = x_pad[:, :, k:k + stride * H_out:stride, l:l + stride * W_out:stride]
            out += np.tensordot(patch, w[:, :, k, l], axes=([1], [1])).transpose(0, 3, 1, 2)
    out += b.reshape(1, F, 1, 1)
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_naive(dout, cache):
    """Backward pass for a convolutional layer, kernel offset by kernel offset."""
    x, w, b, conv_param = cache
    stride, pad = conv_param['stride'], conv_param['pad']
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), 'constant')
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    db = np.sum(dout, axis=(0, 2, 3))
    for k in range(HH):
        for l in range(WW):
            rows = slice(k, k + stride * H_out, stride)
            cols = slice(l, l + stride * W_out, stride)
            patch = x_pad[:, :, rows, cols]
            dw[:, :, k, l] = np.tensordot(dout, patch, axes=([0, 2, 3], [0, 2, 3]))
            dx_pad[:, :, rows, cols] += np.tensordot(dout, w[:, :, k, l], axes=([1], [0])).transpose(0, 3, 1, 2)
    dx = dx_pad[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    """Forward pass for a max-pooling layer, one output position at a time."""
    N, C, H, W = x.shape
    ph, pw = pool_param['pool_height'], pool_param['pool_width']
    stride = pool_param['stride']
    H_out = 1 + (H - ph) // stride
    W_out = 1 + (W - pw) // stride
    out = np.zeros((N, C, H_out, W_out), dtype=x.dtype)
    for i in range(H_out):
        for j in range(W_out):
            window = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw]
            out[:, :, i, j] = np.max(window, axis=(2, 3))
    cache = (x, pool_param)
    return out, cache


def max_pool_backward_naive(dout, cache):
    """Backward pass for a max-pooling layer: the gradient goes to the max of each window."""
    x, pool_param = cache
    N, C, H, W = x.shape
    ph, pw = pool_param['pool_height'], pool_param['pool_width']
    stride = pool_param['stride']
    _, _, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    for i in range(H_out):
        for j in range(W_out):
            hs, ws = i * stride, j * stride
            window = x[:, :, hs:hs + ph, ws:ws + pw]
            mask = window == np.max(window, axis=(2, 3), keepdims=True)
            dx[:, :, hs:hs + ph, ws:ws + pw] += mask * dout[:, :, i, j][:, :, None, None]
    return dx


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Forward pass for spatial batch normalization."""
    N, C, H, W = x.shape
    x_2d = np.moveaxis(x, 1, -1).reshape(-1, C)
    out_2d, cache = batchnorm_forward(x_2d, gamma, beta, bn_param)
    out = np.moveaxis(out_2d.reshape(N, H, W, C), -1, 1)
    return out, cache


def spatial_batchnorm_backward(dout, cache):
    """Backward pass for spatial batch normalization."""
    N, C, H, W = dout.shape
    dout_2d = np.moveaxis(dout, 1, -1).reshape(-1, C)
    dx_2d, dgamma, dbeta = batchnorm_backward_alt(dout_2d, cache)
    dx = np.moveaxis(dx_2d.reshape(N, H, W, C), -1, 1)
    return dx, dgamma, dbeta


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    """Forward pass for spatial group normalization; gamma and beta are (1, C, 1, 1)."""
    eps = gn_param.get('eps', 1e-5)
    N, C, H, W = x.shape
    x_group = x.reshape(N, G, -1)
    mean = x_group.mean(axis=2, keepdims=True)
    var = x_group.var(axis=2, keepdims=True)
    x_hat = ((x_group - mean) / np.sqrt(var + eps)).reshape(N, C, H, W)
    out = gamma * x_hat + beta
    cache = (x, x_hat, mean, var, gamma, G, eps)
    return out, cache


def spatial_groupnorm_backward(dout, cache):
    """Backward pass for spatial group normalization, staged like batchnorm_backward."""
    x, x_hat, mean, var, gamma, G, eps = cache
    N, C, H, W = dout.shape
    dbeta = np.sum(dout, axis=(0, 2, 3), keepdims=True)
    dgamma = np.sum(dout * x_hat, axis=(0, 2, 3), keepdims=True)
    dx_hat = (dout * gamma).reshape(N, G, -1)
    x_c = x.reshape(N, G, -1) - mean
    M = x_c.shape[2]
    dvar = np.sum(dx_hat * x_c, axis=2, keepdims=True) * -0.5 * (var + eps) ** -1.5
    dmean = -np.sum(dx_hat, axis=2, keepdims=True) / np.sqrt(var + eps) \
        + dvar * np.mean(-2 * x_c, axis=2, keepdims=True)
    dx = dx_hat / np.sqrt(var + eps) + dvar * 2 * x_c / M + dmean / M
    return dx.reshape(N, C, H, W), dgamma, dbeta


def svm_loss(x, y):
    """Computes the loss and gradient for multiclass SVM classification."""
    N = x.shape[0]
    correct_class_scores = x[np.arange(N), y]
    margins = np.maximum(0, x - correct_class_scores[:, np.newaxis] + 1.0)
    margins[np.arange(N), y] = 0
    loss = np.sum(margins) / N
    num_pos = np.sum(margins > 0, axis=1)
    dx = np.zeros_like(x)
    dx[margins > 0] = 1
    dx[np.arange(N), y] -= num_pos
    dx /= N
    return loss, dx


def softmax_loss(x, y):
    """Computes the loss and gradient for softmax classification."""
    shifted_logits = x - np.max(x, axis=1, keepdims=True)
    Z = np.sum(np.exp(shifted_logits), axis=1, keepdims=True)
    log_probs = shifted_logits - np.log(Z)
    probs = np.exp(log_probs)
    N = x.shape[0]
    loss = -np.sum(log_probs[np.arange(N), y]) / N
    dx = probs.copy()
    dx[np.arange(N), y] -= 1
    dx /= N
    return loss, dx
