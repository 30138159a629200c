from __future__ import print_function
import numpy as np
try:
    from cs231n.im2col_cython import col2im_cython, im2col_cython
    from cs231n.im2col_cython import col2im_6d_cython
except ImportError:
    print('run the following from the cs231n directory and try again:')
    print('python setup.py build_ext --inplace')


def conv_forward_strides(x, w, b, conv_param):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    stride, pad = conv_param['stride'], conv_param['pad']
    p = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode='constant')
    out_h = (H + 2 * pad - HH) // stride + 1
    out_w = (W + 2 * pad - WW) // stride + 1
    shape = (C, HH, WW, N, out_h, out_w)
    s = p.itemsize
    strides = (H * W, W, 1, C * H * W, stride * W, stride)
    strides = tuple(s * k for k in strides)
    x_stride = np.lib.stride_tricks.as_strided(p, shape=shape, strides=strides)
    x_cols = np.ascontiguousarray(x_stride).reshape(C * HH * WW, N * out_h * out_w)
    res = w.reshape(F, -1).dot(x_cols) + b.reshape(-1, 1)
    out = res.reshape(F, N, out_h, out_w).transpose(1, 0, 2, 3)
    return np.ascontiguousarray(out), (x, w, b, conv_param, x_cols)


def conv_backward_strides(dout, cache):
    x, w, b, conv_param, x_cols = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    stride, pad = conv_param['stride'], conv_param['pad']
    _, _, out_h, out_w = dout.shape
    db = np.sum(dout, axis=(0, 2, 3))
    dout_reshaped = dout.transpose(1, 0, 2, 3).reshape(F, -1)
    dw = dout_reshaped.dot(x_cols.T).reshape(w.shape)
    dx_cols = w.reshape(F, -1).T.dot(dout_reshaped)
    dx_cols.shape = (C, HH, WW, N, out_h, out_w)
    dx = col2im_6d_cython(dx_cols, N, C, H, W, HH, WW, pad, stride)
    return dx, dw, db


conv_forward_fast = conv_forward_strides
conv_backward_fast = conv_backward_strides


def max_pool_forward_reshape(x, pool_param):
    N, C, H, W = x.shape
    ph, pw, s = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']
    x_reshaped = x.reshape(N, C, H // ph, ph, W // pw, pw)
    out = x_reshaped.max(axis=3).max(axis=4)
    return out, (x, x_reshaped, out)


def max_pool_backward_reshape(dout, cache):
    x, x_reshaped, out = cache
    dx_reshaped = np.zeros_like(x_reshaped)
    out_newaxis = out[:, :, :, np.newaxis, :, np.newaxis]
    mask = (x_reshaped == out_newaxis)
    dout_newaxis = dout[:, :, :, np.newaxis, :, np.newaxis]
    dout_broadcast, _ = np.broadcast_arrays(dout_newaxis, dx_reshaped)
    dx_reshaped[mask] = dout_broadcast[mask]
    dx_reshaped /= np.sum(mask, axis=(3, 5), keepdims=True)
    return dx_reshaped.reshape(x.shape)


def max_pool_forward_im2col(x, pool_param):
    N, C, H, W = x.shape
    ph, pw, s = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']
    x_cols = im2col_cython(x.reshape(N * C, 1, H, W), ph, pw, padding=0, stride=s)
    arg = np.argmax(x_cols, axis=0)
    out = x_cols[arg, np.arange(x_cols.shape[1])]
    out = out.reshape((H - ph) // s + 1, (W - pw) // s + 1, N, C).transpose(2, 3, 0, 1)
    return out, (x, x_cols, arg, pool_param)


def max_pool_backward_im2col(dout, cache):
    x, x_cols, arg, pool_param = cache
    N, C, H, W = x.shape
    dx_cols = np.zeros_like(x_cols)
    dx_cols[arg, np.arange(dx_cols.shape[1])] = dout.transpose(2, 3, 0, 1).flatten()
    dx = col2im_cython(dx_cols, N * C, 1, H, W, pool_param['pool_height'], pool_param['pool_width'],
                       padding=0, stride=pool_param['stride'])
    return dx.reshape(x.shape)


def max_pool_forward_fast(x, pool_param):
    N, C, H, W = x.shape
    ph, pw, s = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']
    same_size = ph == pw == s
    tiles = H % ph == 0 and W % pw == 0
    if same_size and tiles:
        out, reshape_cache = max_pool_forward_reshape(x, pool_param)
        return out, ('reshape', reshape_cache)
    out, im2col_cache = max_pool_forward_im2col(x, pool_param)
    return out, ('im2col', im2col_cache)


def max_pool_backward_fast(dout, cache):
    method, real_cache = cache
    if method == 'reshape':
        return max_pool_backward_reshape(dout, real_cache)
    return max_pool_backward_im2col(dout, real_cache)
