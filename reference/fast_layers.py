"""Fast convolution and max pooling in plain numpy: strided window views (im2col) instead of Python loops over positions.

Same signatures and results as the naive layers in layers.py (agreement to ~1e-15),
named as the course's fast layers.
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided

from sanitykit.reference.layers import conv_output_size

__all__ = [
    "conv_forward_fast", "conv_backward_fast",
    "conv_forward_im2col", "conv_backward_im2col",
    "max_pool_forward_fast", "max_pool_backward_fast",
    "max_pool_forward_reshape", "max_pool_backward_reshape",
    "max_pool_forward_im2col", "max_pool_backward_im2col",
]


def _windows(x, field_height, field_width, stride):
    """Read-only view of shape (N, C, H_out, W_out, field_height, field_width) of all windows of x (no copy).

    This is im2col without the copy: columns are formed when the view is contracted.

    Args:
        x: (already padded) input of shape (N, C, H, W).
        field_height, field_width: window size.
        stride: step between windows.
    """
    N, C, H, W = x.shape
    H_out = conv_output_size(H, field_height, 0, stride)
    W_out = conv_output_size(W, field_width, 0, stride)
    sN, sC, sH, sW = x.strides
    return as_strided(x, shape=(N, C, H_out, W_out, field_height, field_width),
                      strides=(sN, sC, sH * stride, sW * stride, sH, sW), writeable=False)


def _add_windows(dwindows, shape, stride):
    """col2im: sum window gradients (N, C, H_out, W_out, fh, fw) back into an array of `shape`.

    Loops over the fh * fw offsets only; each step adds one strided slice, so overlapping
    windows accumulate correctly.

    Args:
        dwindows: gradient for every window element.
        shape: (N, C, H, W) of the (padded) input.
        stride: step between windows.
    """
    _, _, H_out, W_out, fh, fw = dwindows.shape
    dx = np.zeros(shape, dtype=dwindows.dtype)
    for r in range(fh):
        for c in range(fw):
            dx[:, :, r:r + stride * H_out:stride, c:c + stride * W_out:stride] += dwindows[..., r, c]
    return dx


def conv_forward_im2col(x, w, b, conv_param):
    """Convolution with zero padding as one tensor contraction over strided windows.

    Args:
        x: input of shape (N, C, H, W).
        w: filters of shape (F, C, HH, WW).
        b: biases of shape (F,).
        conv_param: dict with "stride" and "pad".
    """
    stride, pad = conv_param["stride"], conv_param["pad"]
    _, _, HH, WW = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = _windows(x_pad, HH, WW, stride)  # (N, C, H_out, W_out, HH, WW)
    out = np.tensordot(windows, w, axes=([1, 4, 5], [1, 2, 3]))  # (N, H_out, W_out, F)
    out = np.ascontiguousarray(out.transpose(0, 3, 1, 2)) + b.reshape(1, -1, 1, 1)
    return out, (x, w, b, conv_param)


def conv_backward_im2col(dout, cache):
    """Backward pass of conv_forward_im2col; returns (dx, dw, db).

    Args:
        dout: upstream gradient of shape (N, F, H_out, W_out).
        cache: (x, w, b, conv_param) from the forward pass.
    """
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    _, _, HH, WW = w.shape
    _, _, H, W = x.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = _windows(x_pad, HH, WW, stride)
    dw = np.tensordot(dout, windows, axes=([0, 2, 3], [0, 2, 3]))  # (F, C, HH, WW)
    dwindows = np.tensordot(dout, w, axes=([1], [0]))  # (N, H_out, W_out, C, HH, WW)
    dx_pad = _add_windows(dwindows.transpose(0, 3, 1, 2, 4, 5), x_pad.shape, stride)
    dx = dx_pad[:, :, pad:pad + H, pad:pad + W]
    db = dout.sum(axis=(0, 2, 3))
    return dx, dw, db


conv_forward_fast = conv_forward_im2col
conv_backward_fast = conv_backward_im2col


def _first_argmax_mask(flat_windows):
    """Boolean mask marking, in each window (last axis), only the first maximal element, as the naive backward does."""
    winner = flat_windows.argmax(axis=-1)[..., None]
    return np.arange(flat_windows.shape[-1]) == winner


def max_pool_forward_reshape(x, pool_param):
    """Max pooling for non-overlapping windows that tile x exactly (pool_height == pool_width == stride).

    Args:
        x: input of shape (N, C, H, W), H and W divisible by the pool size.
        pool_param: dict with "pool_height", "pool_width", "stride".
    """
    ph, pw = pool_param["pool_height"], pool_param["pool_width"]
    N, C, H, W = x.shape
    tiles = x.reshape(N, C, H // ph, ph, W // pw, pw)
    out = tiles.max(axis=(3, 5))
    return out, (x, pool_param)


def max_pool_backward_reshape(dout, cache):
    """Backward pass of max_pool_forward_reshape: each window's gradient to its first argmax.

    Args:
        dout: upstream gradient of shape (N, C, H_out, W_out).
        cache: (x, pool_param) from the forward pass.
    """
    x, pool_param = cache
    ph, pw = pool_param["pool_height"], pool_param["pool_width"]
    N, C, H_out, W_out = dout.shape
    # (N, C, H_out, W_out, ph * pw): the window elements in the same row-major order as the naive version.
    flat = x.reshape(N, C, H_out, ph, W_out, pw).transpose(0, 1, 2, 4, 3, 5).reshape(N, C, H_out, W_out, ph * pw)
    dflat = _first_argmax_mask(flat) * dout[..., None]
    dx = dflat.reshape(N, C, H_out, W_out, ph, pw).transpose(0, 1, 2, 4, 3, 5).reshape(x.shape)
    return dx.astype(np.result_type(dout, x), copy=False)


def max_pool_forward_im2col(x, pool_param):
    """Max pooling for any window size and stride, over strided windows.

    Args:
        x: input of shape (N, C, H, W).
        pool_param: dict with "pool_height", "pool_width", "stride".
    """
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    out = _windows(x, ph, pw, stride).max(axis=(4, 5))
    return out, (x, pool_param)


def max_pool_backward_im2col(dout, cache):
    """Backward pass of max_pool_forward_im2col: each window's gradient to its first argmax.

    Args:
        dout: upstream gradient of shape (N, C, H_out, W_out).
        cache: (x, pool_param) from the forward pass.
    """
    x, pool_param = cache
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H_out, W_out = dout.shape
    flat = _windows(x, ph, pw, stride).reshape(N, C, H_out, W_out, ph * pw)
    dflat = _first_argmax_mask(flat) * dout[..., None]
    dwindows = dflat.astype(np.result_type(dout, x), copy=False).reshape(N, C, H_out, W_out, ph, pw)
    return _add_windows(dwindows, x.shape, stride)


def _tiles_exactly(x, pool_param):
    """True when the pooling windows are square, do not overlap and cover x exactly (the reshape trick applies)."""
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    _, _, H, W = x.shape
    return ph == pw == stride and H % ph == 0 and W % pw == 0


def max_pool_forward_fast(x, pool_param):
    """Max pooling: the reshape trick for the common non-overlapping case, strided windows otherwise.

    Args:
        x: input of shape (N, C, H, W).
        pool_param: dict with "pool_height", "pool_width", "stride".
    """
    if _tiles_exactly(x, pool_param):
        out, reshape_cache = max_pool_forward_reshape(x, pool_param)
        return out, ("reshape", reshape_cache)
    out, im2col_cache = max_pool_forward_im2col(x, pool_param)
    return out, ("im2col", im2col_cache)


def max_pool_backward_fast(dout, cache):
    """Backward pass of max_pool_forward_fast, by the method the forward pass used.

    Args:
        dout: upstream gradient of shape (N, C, H_out, W_out).
        cache: (method, cache) from max_pool_forward_fast.
    """
    method, real_cache = cache
    if method == "reshape":
        return max_pool_backward_reshape(dout, real_cache)
    if method == "im2col":
        return max_pool_backward_im2col(dout, real_cache)
    raise ValueError(f'Unrecognized method "{method}"')
