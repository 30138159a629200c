"""An independent set of planted gradient bugs run through sk.gradcheck / _loss / _model: a benchmark.

Written by QA without reading the engine's diagnosis code or its tests, the way a hidden
grader would: small correct layers of our own (below) with one student mistake planted in
each, plus correct controls (sanitykit.reference layers, hard inputs) that must never fail.
For every bug we record the status we expect, the pattern tags we would accept as naming the
mistake, and the words a student needs in the explanation to act on it.

    python benchmarks/planted_bugs.py [--mode auto] [--only ID ...]

Prints one row per bug (status, pattern, first line of the diagnosis, PASS/FAIL of our
expectation, seconds per call), then the totals: detection %, pattern-named %, explained %
and false alarms on the controls (every mode); then the rates of every mode side by side and
the share of the patterns full mode names that fast mode names too, with the coordinates fast
mode probed on a failure. tests/test_planted_bugs_independent.py runs the same corpus.
"""
from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

import sanitykit as sk
from sanitykit import reference as ref

BAD = ("fail",)
NOT_OK = ("fail", "error")
OK = ("pass", "warn")


@dataclass(frozen=True)
class Case:
    """One planted bug (or a correct control) and what a good diagnosis says about it.

    Args:
        id: short name of the mistake.
        run: run(mode) -> GradcheckResult.
        expect: acceptable statuses.
        tags: acceptable pattern tags (substring match on result.patterns); () when any will do.
        words: groups of words the explanation must contain; each group is a tuple of
            alternatives (case-insensitive), all groups must appear in str(result).
        planted: one line saying what was planted.
        forbid: tags that would send the student the wrong way (e.g. "ignores dout" for a
            batchnorm bug: batchnorm's dx for dout = ones is 0, so every bug looks right there).
    """

    id: str
    run: Callable
    expect: tuple = BAD
    tags: tuple = ()
    words: tuple = ()
    planted: str = ""
    control: bool = False
    forbid: tuple = ()


@dataclass
class Verdict:
    """What the engine said about one case, and whether it met our expectation."""

    case: Case
    mode: str
    status: str
    patterns: list
    first_line: str
    text: str
    seconds: float
    crashed: str = ""
    probed: int = 0           # coordinates probed element by element
    status_ok: bool = False
    tag_ok: bool = False
    words_ok: bool = False
    missing_words: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status_ok and self.tag_ok and self.words_ok


# ------------------------------------------------------------------ our own correct layers

def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    return dout * (cache > 0)


def leaky_relu_forward(x, alpha):
    return np.where(x > 0, x, alpha * x), (x, alpha)


def sigmoid_forward(x):
    out = 1 / (1 + np.exp(-x))
    return out, (x, out)


def tanh_forward(x):
    out = np.tanh(x)
    return out, (x, out)


def batchnorm_forward(x, gamma, beta, bn_param):
    mu = x.mean(axis=0)
    var = x.var(axis=0)
    ivar = 1 / np.sqrt(var + bn_param.get("eps", 1e-5))
    xhat = (x - mu) * ivar
    return gamma * xhat + beta, (x, xhat, mu, var, ivar, gamma)


def batchnorm_backward(dout, cache):
    x, xhat, mu, var, ivar, gamma = cache
    N = x.shape[0]
    dgamma = (dout * xhat).sum(axis=0)
    dbeta = dout.sum(axis=0)
    dxhat = dout * gamma
    dx = ivar / N * (N * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0))
    return dx, dgamma, dbeta


def layernorm_forward(x, gamma, beta, ln_param):
    mu = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    ivar = 1 / np.sqrt(var + ln_param.get("eps", 1e-5))
    xhat = (x - mu) * ivar
    return gamma * xhat + beta, (xhat, ivar, gamma)


def layernorm_backward(dout, cache):
    xhat, ivar, gamma = cache
    D = xhat.shape[1]
    dxhat = dout * gamma
    dx = ivar / D * (D * dxhat - dxhat.sum(axis=1, keepdims=True)
                     - xhat * (dxhat * xhat).sum(axis=1, keepdims=True))
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def dropout_forward(x, dropout_param):
    p = dropout_param["p"]
    mask = (np.random.RandomState(dropout_param["seed"]).rand(*x.shape) < p) / p
    return x * mask, (dropout_param, mask)


def dropout_backward(dout, cache):
    return dout * cache[1]


def conv_forward(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    Ho, Wo = 1 + (H + 2 * pad - HH) // stride, 1 + (W + 2 * pad - WW) // stride
    out = np.zeros((N, F, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            window = xp[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, (x, w, b, conv_param)


def conv_backward_with(dout, cache, *, row_stride=None, crop=None, flip_dw=False, first_only=False,
                       first_zero=False, shift=False, assign="", uncropped=False, db_axes=(0, 2, 3)):
    """Conv backward with optional planted mistakes (the default is correct).

    assign: "dx" or "dw" writes that gradient's window with `=` instead of `+=`.
    """
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    step = stride if row_stride is None else row_stride
    _, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    Ho, Wo = dout.shape[2:]
    for i in range(Ho):
        for j in range(Wo):
            window = xp[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
            term = np.tensordot(dout[:, :, i, j], window, axes=([0], [0]))
            dw = term if assign == "dw" else dw + term
            hs, ws = i * step, j * step
            term = np.tensordot(dout[:, :, i, j], w, axes=([1], [0]))
            if assign == "dx":
                dxp[:, :, hs:hs + HH, ws:ws + WW] = term
            else:
                dxp[:, :, hs:hs + HH, ws:ws + WW] += term
    H, W = x.shape[2:]
    top = 0 if shift else pad
    dx = dxp[:, :, top:top + H, top:top + W].copy()
    if crop is not None:   # the student's loop skipped the outer ring of pixels
        dx[:, :, :crop, :] = 0
        dx[:, :, -crop:, :] = 0
        dx[:, :, :, :crop] = 0
        dx[:, :, :, -crop:] = 0
    if flip_dw:
        dw = dw[:, :, ::-1, ::-1]
    if first_only:
        dx[1:] = dx[0]
    if first_zero:
        dx[1:] = 0
    if uncropped:   # the padded gradient returned as it is
        dx = dxp
    return dx, dw, dout.sum(axis=db_axes)


def conv_backward(dout, cache):
    return conv_backward_with(dout, cache)


def max_pool_forward(x, pool_param):
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    Ho, Wo = 1 + (H - ph) // s, 1 + (W - pw) // s
    out = np.zeros((N, C, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            out[:, :, i, j] = x[:, :, i * s:i * s + ph, j * s:j * s + pw].max(axis=(2, 3))
    return out, (x, pool_param)


def max_pool_backward_with(dout, cache, route="argmax", assign=False):
    """Max-pool backward routing each window's dout to `route` ("every": the whole window);
    `assign` writes each window with `=` (wrong only where windows overlap)."""
    x, pool_param = cache
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dx = np.zeros_like(x)
    N, C, Ho, Wo = dout.shape
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    window = x[n, c, i * s:i * s + ph, j * s:j * s + pw]
                    if route == "every":
                        dx[n, c, i * s:i * s + ph, j * s:j * s + pw] += dout[n, c, i, j]
                        continue
                    k = {"argmax": np.argmax, "argmin": np.argmin,
                         "first": lambda w: 0}[route](window)
                    a, bb = np.unravel_index(k, window.shape)
                    if assign:
                        patch = np.zeros_like(window)
                        patch[a, bb] = dout[n, c, i, j]
                        dx[n, c, i * s:i * s + ph, j * s:j * s + pw] = patch
                    else:
                        dx[n, c, i * s + a, j * s + bb] += dout[n, c, i, j]
    return dx


def softmax_loss_with(x, y, *, minus_one=True, divide=1, sign=1, rows=None):
    shifted = x - x.max(axis=1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    N = x.shape[0]
    loss = -np.log(probs[np.arange(N), y]).mean()
    dx = probs.copy()
    if minus_one:
        dx[np.arange(N), y] -= 1
    dx = sign * dx / N / divide
    if rows is not None:   # the loop over examples stopped early
        dx[rows:] = 0
    return loss, dx


def svm_loss_with(x, y, *, count_correct=False, divide=1):
    N = x.shape[0]
    correct = x[np.arange(N), y][:, None]
    margins = np.maximum(0, x - correct + 1)
    margins[np.arange(N), y] = 0
    loss = margins.sum() / N
    positive = (margins > 0).astype(float)
    counts = positive.sum(axis=1)
    if count_correct:   # the correct class's own margin (always 1) counted as positive
        counts = counts + 1
    dx = positive
    dx[np.arange(N), y] -= counts
    return loss, dx / N / divide


class TwoLayerNet:
    """affine - relu - affine - softmax with 0.5*reg*||W||^2; `bug` plants one mistake."""

    def __init__(self, D=5, H=4, C=3, reg=0.3, bug=None, seed=0, dtype=np.float64):
        rng = np.random.default_rng(seed)
        self.reg, self.bug = reg, bug
        self.params = {"W1": rng.standard_normal((D, H)).astype(dtype),
                       "b1": 0.1 * rng.standard_normal(H).astype(dtype),
                       "W2": rng.standard_normal((H, C)).astype(dtype),
                       "b2": 0.1 * rng.standard_normal(C).astype(dtype)}

    def loss(self, X, y):
        p, reg, bug = self.params, self.reg, self.bug
        if bug == "raises":
            raise KeyError("W3")
        if bug == "sgd_step_inside_loss":   # a student "trained" inside loss: params drift
            p["W1"] *= 0.999
        h, h_cache = affine_forward(X, p["W1"], p["b1"])
        a, a_cache = relu_forward(h)
        scores, s_cache = affine_forward(a, p["W2"], p["b2"])
        data_loss, dscores = softmax_loss_with(scores, y)
        reg_loss = 0.5 * reg * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))
        loss = data_loss + (0 if bug == "reg_missing_in_loss" else reg_loss)
        da, dW2, db2 = affine_backward(dscores, s_cache)
        dX, dW1, db1 = affine_backward(relu_backward(da, a_cache), h_cache)
        factor = {"reg_grad_missing": 0, "reg_grad_doubled": 2}.get(bug, 1)
        grads = {"W1": dW1 + factor * reg * p["W1"], "b1": db1,
                 "W2": dW2 + factor * reg * p["W2"], "b2": db2}
        if bug == "b1_zero":
            grads["b1"] = np.zeros_like(db1)
        if bug == "W2_grad_nan":
            grads["W2"][0, 0] = np.nan
        return loss, grads


# ------------------------------------------------------------------ data

def _rng(seed=0):
    return np.random.default_rng(seed)


def affine_inputs(N=4, D=5, M=3, seed=0):
    r = _rng(seed)
    return r.standard_normal((N, D)), r.standard_normal((D, M)), r.standard_normal(M)


def conv_inputs(stride=1, pad=1, seed=0):
    r = _rng(seed)
    x, w, b = r.standard_normal((2, 2, 5, 5)), r.standard_normal((3, 2, 3, 3)), r.standard_normal(3)
    return x, w, b, {"stride": stride, "pad": pad}


def pool_inputs(seed=0):
    # A permutation keeps every window's maximum unique and far from the runner-up.
    x = _rng(seed).permutation(2 * 2 * 4 * 4).reshape(2, 2, 4, 4) / 10.0
    return x, {"pool_height": 2, "pool_width": 2, "stride": 2}


def away_from_zero(shape, seed=0):
    x = _rng(seed).standard_normal(shape)
    return np.where(np.abs(x) < 0.1, 0.5, x)


def scores(N=4, C=5, seed=0, scale=1.0):
    r = _rng(seed)
    return scale * r.standard_normal((N, C)), r.integers(0, C, N)


# ------------------------------------------------------------------ builders of cases

def layer(forward, backward, make_inputs, args=()):
    """run(mode) for a layer: inputs rebuilt per call so a mutating bug cannot leak."""
    def run(mode):
        return sk.gradcheck(forward, backward, *make_inputs(), args=args, mode=mode)
    return run


def loss(loss_fn, make_inputs):
    def run(mode):
        x, y = make_inputs()
        return sk.gradcheck_loss(loss_fn, x, y, mode=mode)
    return run


def model(bug, dtype=np.float64):
    def run(mode):
        X, y = _rng(1).standard_normal((4, 5)), np.array([0, 2, 1, 2])
        return sk.gradcheck_model(TwoLayerNet(bug=bug, dtype=dtype), X, y, mode=mode)
    return run


def affine_bug(edit, make_inputs=affine_inputs):
    """An affine backward whose (dx, dw, db) goes through edit(dx, dw, db, x, w, dout)."""
    def backward(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        return edit(dx, dw, db, cache[0], cache[1], dout)
    backward.__name__ = "affine_backward"
    return layer(affine_forward, backward, make_inputs)


def unary_bug(forward, backward, make_x, args=()):
    return layer(forward, backward, lambda: (make_x(),), args)


def named(fn, name):
    fn.__name__ = name
    return fn


# ------------------------------------------------------------------ the planted bugs

def _bn_inputs():
    r = _rng(3)
    return r.standard_normal((4, 3)) * 2 + 1, 1 + 0.5 * r.standard_normal(3), r.standard_normal(3)


def bn_missing_dvar(dout, cache):
    """dx only through xhat and the mean: the path through the variance dropped."""
    x, xhat, mu, var, ivar, gamma = cache
    N = x.shape[0]
    dxhat = dout * gamma
    dx = dxhat * ivar - (dxhat * ivar).sum(axis=0) / N
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def bn_staged_no_dvar_in_dmean(dout, cache):
    """The staged course derivation without the dvar * mean(-2(x - mu)) part of dmean."""
    x, xhat, mu, var, ivar, gamma = cache
    N = x.shape[0]
    dxhat = dout * gamma
    dvar = (dxhat * (x - mu) * -0.5 * ivar ** 3).sum(axis=0)
    dmean = (-dxhat * ivar).sum(axis=0)   # + dvar * mean(-2 (x - mu)) omitted: it sums to 0
    dx = dxhat * ivar + dvar * 2 * (x - mu) / N + dmean / N
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def bn_no_mean_path(dout, cache):
    """The compact batchnorm dx without its - dxhat.sum(axis=0) term (the path through the mean)."""
    x, xhat, mu, var, ivar, gamma = cache
    N = x.shape[0]
    dxhat = dout * gamma
    dx = ivar / N * (N * dxhat - xhat * (dxhat * xhat).sum(axis=0))
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def bn_backward_writes_cache(dout, cache):
    """Right the first time, then scales the cached xhat in place: the next call is wrong."""
    grads = batchnorm_backward(dout, cache)
    xhat = cache[1]
    xhat *= 2
    return grads


def relu_backward_writes_dout(dout, cache):
    dout[cache <= 0] = 0   # right values, the caller's dout changed
    return dout


def ln_backward_axis0(dout, cache):
    """Layernorm backward copied from batchnorm: sums over the batch axis instead of features."""
    xhat, ivar, gamma = cache
    N = xhat.shape[0]
    dxhat = dout * gamma
    dx = ivar / N * (N * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0))
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def ln_dgamma_axis1(dout, cache):
    dx, _, dbeta = layernorm_backward(dout, cache)
    xhat = cache[0]
    return dx, (dout * xhat).sum(axis=1), dbeta


def spatial_bn_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    rows = x.transpose(0, 2, 3, 1).reshape(-1, C)
    out, cache = batchnorm_forward(rows, gamma, beta, bn_param)
    return out.reshape(N, H, W, C).transpose(0, 3, 1, 2), (cache, x.shape)


def spatial_bn_backward(dout, cache):
    bn_cache, (N, C, H, W) = cache
    drows = dout.transpose(0, 2, 3, 1).reshape(-1, C)
    dx, dgamma, dbeta = batchnorm_backward(drows, bn_cache)
    return dx.reshape(N, H, W, C).transpose(0, 3, 1, 2), dgamma, dbeta


def spatial_bn_backward_no_transpose(dout, cache):
    bn_cache, (N, C, H, W) = cache
    dx, dgamma, dbeta = batchnorm_backward(dout.reshape(-1, C), bn_cache)   # no transpose
    return dx.reshape(N, C, H, W), dgamma, dbeta


def _sbn_inputs():
    r = _rng(4)
    return r.standard_normal((2, 3, 2, 2)), 1 + 0.3 * r.standard_normal(3), r.standard_normal(3)


# The student's "global" generator: unseeded, like np.random, without touching numpy's own state.
_GLOBAL_RANDOM = np.random.RandomState()


def dropout_forward_unseeded(x, dropout_param):
    """Ignores dropout_param['seed']: a fresh mask from the global generator every call."""
    p = dropout_param["p"]
    mask = (_GLOBAL_RANDOM.rand(*x.shape) < p) / p
    return x * mask, (dropout_param, mask)


def dropout_backward_redraws(dout, cache):
    """Draws a new mask in backward instead of reusing the forward's."""
    p = cache[0]["p"]
    return dout * (_GLOBAL_RANDOM.rand(*dout.shape) < p) / p


def affine_backward_mutates_cache(dout, cache):
    """Scales the cached x in place (a student 'normalising' it): every call gives another dw."""
    x, w, b = cache
    x *= 0.5
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)


def affine_forward_no_cache(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b


def affine_backward_wants_out(dout, cache):
    x, w, b, out = cache
    return affine_backward(dout, (x, w, b))


def affine_backward_raises(dout, cache):
    x, w = cache   # ValueError: too many values to unpack
    return dout @ w.T, x.T @ dout, dout.sum(0)


def affine_backward_stub(dout, cache):
    dx, dw, db = None, None, None
    return dx, dw, db


def affine_forward_stub(x, w, b):
    out = None
    return out, (x, w, b)


def relu_backward_divides_by_mask(dout, cache):
    """dout * mask / mask: 0/0 where x < 0 (NaN), as a student 'normalising' the mask would."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return dout * (cache > 0) / (cache > 0)


def l2_loss_with(factor, half=True):
    """loss = 0.5*reg*||w||^2 (or reg*||w||^2) with gradient factor*reg*w."""
    def l2_loss(w, reg):
        value = (0.5 if half else 1.0) * reg * np.sum(w * w)
        return value, factor * reg * w
    return l2_loss


def _square_affine():
    return affine_inputs(N=4, D=4, M=4, seed=5)


def _shaped_affine():
    r = _rng(6)
    return r.standard_normal((3, 2, 2)), r.standard_normal((4, 5)), r.standard_normal(5)


def _pool_case(route, assign=False, overlapping=False):
    def backward(dout, cache):
        return max_pool_backward_with(dout, cache, route, assign)
    backward.__name__ = "max_pool_backward"
    make = overlap_pool_inputs if overlapping else pool_inputs
    return layer(max_pool_forward, backward, lambda: (make()[0],), args=(make()[1],))


def _conv_case(stride=1, pad=1, wide=False, **bug):
    def backward(dout, cache):
        return conv_backward_with(dout, cache, **bug)
    backward.__name__ = "conv_backward_naive"
    make = wide_conv_inputs if wide else conv_inputs
    return layer(conv_forward, backward, lambda: make(stride, pad)[:3], args=(make(stride, pad)[3],))


def overlap_pool_inputs(seed=0):
    """Overlapping 3 x 2 windows (stride 1) on a non-square input, every maximum unique."""
    x = _rng(seed).permutation(2 * 2 * 5 * 7).reshape(2, 2, 5, 7) / 10.0
    return x, {"pool_height": 3, "pool_width": 2, "stride": 1}


def wide_conv_inputs(stride=2, pad=1, seed=0):
    r = _rng(seed)
    x, w, b = r.standard_normal((2, 2, 5, 7)), r.standard_normal((3, 2, 3, 3)), r.standard_normal(3)
    return x, w, b, {"stride": stride, "pad": pad}


def _unary(forward, backward, x_maker, args=()):
    return layer(forward, backward, lambda: (x_maker(),), args)


def _soft(**bug):
    return loss(named(lambda x, y: softmax_loss_with(x, y, **bug), "softmax_loss"),
                lambda: scores(N=4, C=5, seed=7))


def _svm(**bug):
    # Scores spaced so no margin sits within h of its hinge.
    def inputs():
        x, y = scores(N=4, C=5, seed=8)
        return np.round(x * 4) / 4 + 0.01 * _rng(9).standard_normal(x.shape), y
    return loss(named(lambda x, y: svm_loss_with(x, y, **bug), "svm_loss"), inputs)


SIGMOID = lambda: _rng(10).standard_normal((3, 4))  # noqa: E731
ALPHA = 0.1

BUGS = [
    # --- constant factors
    Case("affine_dw_div_N", affine_bug(lambda dx, dw, db, x, w, d: (dx, dw / x.shape[0], db)),
         tags=("batch",), words=(("batch size", "n=4"),), planted="dw /= N"),
    Case("affine_dx_div_N", affine_bug(lambda dx, dw, db, x, w, d: (dx / x.shape[0], dw, db)),
         tags=("batch",), words=(("batch size", "n=4"), ("dx",)), planted="dx /= N"),
    Case("affine_db_div_N", affine_bug(lambda dx, dw, db, x, w, d: (dx, dw, db / x.shape[0])),
         tags=("batch",), words=(("batch size", "n=4"), ("db",)), planted="db = dout.sum(0) / N"),
    Case("affine_dw_times_N", affine_bug(lambda dx, dw, db, x, w, d: (dx, dw * x.shape[0], db)),
         tags=("batch",), words=(("batch size", "n=4"),), planted="dw *= N"),
    Case("l2_grad_factor_2", loss(l2_loss_with(2.0), lambda: (_rng(11).standard_normal((3, 4)), 0.7)),
         tags=("factor", "two", "half"), words=(("2", "½", "half"), ("reg",)),
         planted="loss 0.5*reg*||w||^2, gradient 2*reg*w"),
    Case("l2_grad_missing_2", loss(l2_loss_with(1.0, half=False),
                                   lambda: (_rng(11).standard_normal((3, 4)), 0.7)),
         tags=("factor", "two", "half"), words=(("2", "½", "half"),),
         planted="loss reg*||w||^2, gradient reg*w (no ½ in the loss)"),
    Case("softmax_not_divided_by_N", _soft(divide=1 / 4), tags=("batch",),
         words=(("batch size", "n=4"),), planted="softmax dx not divided by N"),
    Case("svm_divided_twice", _svm(divide=4), tags=("batch",), words=(("batch size", "n=4"),),
         planted="svm dx divided by N twice"),
    # --- sign
    Case("affine_dw_sign", affine_bug(lambda dx, dw, db, x, w, d: (dx, -dw, db)),
         tags=("sign",), words=(("sign",),), planted="dw = -x.T @ dout"),
    Case("relu_sign", _unary(relu_forward, named(lambda d, c: -d * (c > 0), "relu_backward"),
                             lambda: away_from_zero((3, 4))),
         tags=("sign",), words=(("sign",),), planted="dx = -dout * (x > 0)"),
    Case("softmax_sign", _soft(sign=-1), tags=("sign",), words=(("sign",),),
         planted="dx = (onehot - probs) / N"),
    # --- transposed / shape / order
    Case("affine_dw_transposed_square",
         affine_bug(lambda dx, dw, db, x, w, d: (dx, dw.T, db), _square_affine),
         tags=("transpos",), words=(("transpose", ".t"),), planted="dw = (x.T @ dout).T, w square"),
    Case("affine_dw_transposed_reshaped",
         affine_bug(lambda dx, dw, db, x, w, d: (dx, (d.T @ x).reshape(w.shape), db)),
         tags=("transpos",), words=(("transpose", ".t"),),
         planted="dw = (dout.T @ x).reshape(w.shape), w 5x3"),
    Case("affine_dw_transposed_nonsquare",
         affine_bug(lambda dx, dw, db, x, w, d: (dx, d.T @ x, db)),
         tags=("shape", "transpos"), words=(("(5, 3)",), ("(3, 5)",)),
         planted="dw = dout.T @ x, shape (3, 5) for w (5, 3)"),
    Case("affine_dx_uses_w_not_wT",
         affine_bug(lambda dx, dw, db, x, w, d: (d @ w, dw, db), _square_affine),
         tags=("transpos",), words=(("dx",),), planted="dx = dout @ w (w square, w.T forgotten)"),
    Case("affine_dw_zeros", affine_bug(lambda dx, dw, db, x, w, d: (dx, np.zeros_like(dw), db)),
         tags=("zero",), words=(("zero",), ("dw",)), planted="dw never written (zeros)"),
    Case("affine_dx_not_reshaped", affine_bug(lambda dx, dw, db, x, w, d: (d @ w.T, dw, db),
                                              _shaped_affine),
         tags=("shape",), words=(("(3, 2, 2)",), ("(3, 4)",)),
         planted="dx left (N, D) for x (N, 2, 2)"),
    Case("affine_db_axis1_shape", affine_bug(lambda dx, dw, db, x, w, d: (dx, dw, d.sum(axis=1))),
         tags=("wrong_axis",), words=(("db",), ("(3,)",), ("(4,)",), ("axis=0",)),
         forbid=("reshape",), planted="db = dout.sum(axis=1), N=4 != M=3"),
    Case("affine_db_axis1_square", affine_bug(lambda dx, dw, db, x, w, d: (dx, dw, d.sum(axis=1)),
                                              _square_affine),
         tags=(), words=(("db",), ("axis",)), forbid=("dout",),
         planted="db = dout.sum(axis=1), N == M: shapes agree"),
    Case("affine_order_dw_dx", affine_bug(lambda dx, dw, db, x, w, d: (dw, dx, db), _square_affine),
         tags=("order", "swap"), words=(("order", "swap"),), planted="return dw, dx, db (same shapes)"),
    Case("affine_order_nonsquare", affine_bug(lambda dx, dw, db, x, w, d: (dw, dx, db)),
         tags=("order", "swap"), words=(("order", "swap"),), planted="return dw, dx, db (shapes differ)"),
    # --- localised
    Case("affine_dx_first_example_only",
         affine_bug(lambda dx, dw, db, x, w, d: (np.concatenate([dx[:1], 0 * dx[1:]]), dw, db)),
         tags=("first", "row", "example"), words=(("first",),), planted="loop over examples stops at 0"),
    Case("softmax_first_example_only", _soft(rows=1), tags=("first", "row", "example"),
         words=(("first",),), planted="dx[1:] never written"),
    Case("conv_dx_border_zero", _conv_case(crop=1), tags=("border", "pad"),
         words=(("border", "edge"), ("pad",)), planted="dx outer ring left 0 (loop 1..H-1)"),
    Case("conv_stride_ignored_in_dx", _conv_case(stride=2, row_stride=1), tags=("stride", "border", "position"),
         words=(("stride",),), planted="dx windows at i, not i*stride (stride 2)"),
    Case("conv_dw_flipped", _conv_case(flip_dw=True), tags=("flip",),
         words=(("flip", "rotat", "180"),), planted="dw = dw[:, :, ::-1, ::-1]"),
    Case("conv_dx_first_example_only", _conv_case(first_only=True), tags=("first", "example"),
         words=(("first",),), planted="dx[1:] = dx[0]"),
    Case("conv_dx_first_example_zeros", _conv_case(first_zero=True), tags=("first", "example", "row"),
         words=(("first",),), planted="for n in range(1): dx[1:] stays 0"),
    Case("conv_dx_crop_offset", _conv_case(pad=1, shift=True), tags=("border", "pad", "shift", "crop"),
         words=(("pad",),), planted="dx = dxp[:, :, :H, :W] (cropped at 0, not pad)"),
    Case("conv_dw_div_N", layer(conv_forward, named(
        lambda d, c: (lambda g: (g[0], g[1] / 2, g[2]))(conv_backward(d, c)), "conv_backward_naive"),
        lambda: conv_inputs()[:3], args=(conv_inputs()[3],)),
        tags=("batch",), words=(("batch size", "n=2"),), planted="conv dw /= N"),
    Case("affine_dw_one_element_off_large",
         affine_bug(lambda dx, dw, db, x, w, d: (dx, dw + 1.0 * (np.arange(dw.size).reshape(dw.shape) == 374), db),
                    lambda: affine_inputs(N=50, D=100, M=10)),
         tags=(), words=(("dw[37, 4]",),), planted="dw[37, 4] += 1 in a 100x10 dw (auto samples)"),
    Case("affine_dx_factor_near_one", affine_bug(lambda dx, dw, db, x, w, d: (dx * (1 + 1e-5), dw, db)),
         expect=("warn", "fail"), tags=("factor",), words=(("1.00001", "constant factor"),),
         planted="dx *= 1.00001 (a borderline constant factor)"),
    # --- masks
    Case("relu_mask_missing", _unary(relu_forward, named(lambda d, c: d, "relu_backward"),
                                     lambda: away_from_zero((3, 4))),
         tags=("mask",), words=(("mask",),), planted="relu dx = dout"),
    Case("dropout_mask_missing",
         _unary(dropout_forward, named(lambda d, c: d / c[0]["p"], "dropout_backward"),
                lambda: _rng(12).standard_normal((4, 5)), args=({"p": 0.6, "seed": 3, "mode": "train"},)),
         tags=("mask",), words=(("mask",),), planted="dropout dx = dout / p (no mask)"),
    Case("dropout_no_rescale",
         _unary(dropout_forward, named(lambda d, c: d * (c[1] > 0), "dropout_backward"),
                lambda: _rng(12).standard_normal((4, 5)), args=({"p": 0.6, "seed": 3, "mode": "train"},)),
         tags=("factor", "scale", "mask"), words=(("p",),), planted="dropout dx = dout * mask01 (no 1/p)"),
    Case("leaky_relu_slope_wrong",
         _unary(leaky_relu_forward, named(lambda d, c: d * np.where(c[0] > 0, 1, 0.01), "leaky_relu_backward"),
                lambda: away_from_zero((3, 4), seed=13), args=(ALPHA,)),
         tags=("mask", "negative"), words=(("negative", "x < 0", "x <= 0", "mask"),),
         planted="leaky relu backward slope 0.01, forward alpha 0.1"),
    Case("max_pool_route_first", _pool_case("first"), tags=("max", "route", "window"),
         words=(("argmax", "maximum of", "largest", "max position"),),
         planted="gradient always routed to window[0, 0]"),
    Case("max_pool_route_argmin", _pool_case("argmin"), tags=("max", "route", "window"),
         words=(("argmax", "maximum of", "largest", "max position"),),
         planted="gradient routed to the window's minimum"),
    # --- smooth but wrong formulas
    Case("sigmoid_uses_x", _unary(sigmoid_forward, named(lambda d, c: d * c[0] * (1 - c[0]), "sigmoid_backward"),
                                  SIGMOID),
         tags=("sigmoid_derivative",), words=(("dx",), ("from the input",)), planted="dx = dout * x * (1 - x)"),
    Case("tanh_uses_x", _unary(tanh_forward, named(lambda d, c: d * (1 - c[0] ** 2), "tanh_backward"), SIGMOID),
         tags=("tanh_derivative",), words=(("dx",), ("from the input",)), planted="dx = dout * (1 - x**2)"),
    Case("batchnorm_missing_dvar_path", layer(batchnorm_forward, named(bn_missing_dvar, "batchnorm_backward"),
                                              _bn_inputs, args=({"mode": "train"},)),
         tags=(), words=(("dx",),), forbid=("dout",), planted="dx without the variance path"),
    Case("layernorm_axis0", layer(layernorm_forward, named(ln_backward_axis0, "layernorm_backward"),
                                  lambda: _bn_inputs(), args=({},)),
         tags=("mixes",), words=(("dx",), ("axis=0", "axis 0")), planted="layernorm backward sums over axis 0"),
    Case("layernorm_dgamma_axis1", layer(layernorm_forward, named(ln_dgamma_axis1, "layernorm_backward"),
                                         lambda: _bn_inputs(), args=({},)),
         tags=("wrong_axis",), words=(("dgamma",), ("(3,)",), ("(4,)",), ("axis=0",)),
         planted="dgamma summed over axis 1"),
    Case("spatial_bn_no_transpose", layer(spatial_bn_forward, named(spatial_bn_backward_no_transpose,
                                                                  "spatial_batchnorm_backward"),
                                          _sbn_inputs, args=({"mode": "train"},)),
         tags=(), words=(("dx",),), forbid=("dout",),
         planted="dout.reshape(-1, C) without transpose"),
    Case("softmax_missing_minus_one", _soft(minus_one=False), tags=("correct",),
         words=(("correct class", "y"),), planted="dx = probs / N"),
    Case("svm_counts_correct_class", _svm(count_correct=True), tags=("correct",),
         words=(("correct class",),), planted="positive-margin count includes j == y"),
    # --- structure without a constant factor (issue 14)
    Case("relu_mask_from_dout", _unary(relu_forward, named(lambda d, c: d * (d > 0), "relu_backward"),
                                       lambda: away_from_zero((3, 4))),
         tags=("mask_wrong",), words=(("dout > 0",), ("x > 0",)), planted="dx = dout * (dout > 0)"),
    Case("batchnorm_no_mean_path", layer(batchnorm_forward, named(bn_no_mean_path, "batchnorm_backward"),
                                         _bn_inputs, args=({"mode": "train"},)),
         tags=("mean",), words=(("mean",),), planted="dx without - dxhat.sum(axis=0)"),
    Case("conv_dx_assigned", _conv_case(assign="dx"), tags=("overwrit",), words=(("+=",),),
         planted="dx_pad[window] = ... where += belongs"),
    Case("conv_dw_assigned", _conv_case(assign="dw"), tags=("overwrit",), words=(("+=",),),
         planted="dw = ... per position where += belongs"),
    Case("max_pool_overlap_assigned", _pool_case("argmax", assign=True, overlapping=True),
         tags=("overwrit",), words=(("+=",),), planted="dx[window] = ... with overlapping windows"),
    Case("max_pool_overlap_route_first", _pool_case("first", overlapping=True),
         tags=("max_route",), words=(("argmax", "maximum"),), planted="dout to window[0, 0], overlapping"),
    Case("max_pool_overlap_every_element", _pool_case("every", overlapping=True),
         tags=("mask",), words=(("every element",),), planted="dout to the whole window, overlapping"),
    Case("conv_stride2_dw_flipped", _conv_case(stride=2, pad=1, wide=True, flip_dw=True), tags=("flip",),
         words=(("180", "flip"),), planted="dw flipped, stride 2, pad 1, 5x7 input"),
    Case("affine_N1_dw_doubled", affine_bug(lambda dx, dw, db, x, w, d: (dx, 2 * dw, db),
                                            lambda: affine_inputs(N=1)),
         tags=("factor",), forbid=("batch",), words=(("twice",),), planted="dw *= 2 on one example"),
    # --- shapes read, not listed (issue 14)
    Case("affine_db_not_summed", affine_bug(lambda dx, dw, db, x, w, d: (dx, dw, d)),
         tags=("not_reduced",), forbid=("reshape",), words=(("axis=0",),), planted="db = dout"),
    Case("conv_db_positions_not_summed", _conv_case(db_axes=(0,)), tags=("positions",),
         words=(("output positions",), ("(0, 2, 3)",)), planted="db = dout.sum(axis=0)"),
    Case("conv_dx_padding_not_cropped", _conv_case(uncropped=True), tags=("padded",),
         words=(("crop",), ("pad",)), planted="dx = dx_pad"),
    # --- right values, harmful habits: warnings (issue 14)
    Case("affine_db_row_vector", affine_bug(lambda dx, dw, db, x, w, d: (dx, dw, db[None, :])),
         expect=("warn",), tags=("broadcast",), words=(("(1, 3)",),), planted="db shaped (1, M)"),
    Case("relu_writes_dout", _unary(relu_forward, named(relu_backward_writes_dout, "relu_backward"),
                                    lambda: away_from_zero((3, 4))),
         expect=("warn",), tags=("mutates_dout",), words=(("in place",), ("twice",)),
         planted="dout[x <= 0] = 0; return dout"),
    Case("batchnorm_backward_writes_cache", layer(batchnorm_forward, named(bn_backward_writes_cache,
                                                                            "batchnorm_backward"),
                                                  _bn_inputs, args=({"mode": "train"},)),
         expect=("warn",), tags=("mutat",), words=(("cache[1]",), ("second backward",)),
         planted="cached xhat *= 2 after use"),
    # --- dout
    Case("affine_ignores_dout_dx", affine_bug(lambda dx, dw, db, x, w, d: (np.ones_like(d) @ w.T, dw, db)),
         tags=("dout",), words=(("dout",),), planted="dx = ones @ w.T"),
    Case("sigmoid_ignores_dout", _unary(sigmoid_forward, named(lambda d, c: c[1] * (1 - c[1]), "sigmoid_backward"),
                                        SIGMOID),
         tags=("dout",), words=(("dout",),), planted="dx = out * (1 - out)"),
    # --- NaN / inf / determinism
    Case("affine_dw_nan", affine_bug(lambda dx, dw, db, x, w, d: (dx, dw * np.where(dw > 0, np.nan, 1), db)),
         tags=("nan",), words=(("nan",),), planted="NaN in dw"),
    Case("relu_dx_inf", _unary(relu_forward, named(relu_backward_divides_by_mask, "relu_backward"),
                               lambda: away_from_zero((3, 4))),
         tags=("nan", "inf"), words=(("inf",),), planted="dx = dout*mask/mask (inf/NaN where x<0)"),
    Case("affine_backward_mutates_cache", layer(affine_forward, named(affine_backward_mutates_cache, "affine_backward"),
                                                affine_inputs),
         tags=("determin", "mutat", "cache"), words=(("cache",),), planted="x *= 0.5 on the cached x"),
    Case("dropout_ignores_seed", _unary(dropout_forward_unseeded, dropout_backward,
                                        lambda: _rng(12).standard_normal((4, 5)),
                                        args=({"p": 0.6, "seed": 3, "mode": "train"},)),
         tags=("determin",), words=(("seed",),), planted="mask from np.random.rand, seed ignored"),
    Case("dropout_backward_redraws_mask", _unary(dropout_forward, named(dropout_backward_redraws, "dropout_backward"),
                                                 lambda: _rng(12).standard_normal((4, 5)),
                                                 args=({"p": 0.6, "seed": 3, "mode": "train"},)),
         tags=("determin", "mask"), words=(("mask",),), planted="backward draws a new mask"),
    # --- bad output
    Case("dx_float32", affine_bug(lambda dx, dw, db, x, w, d: (dx.astype(np.float32), dw, db)),
         # Right to float32 precision: pass with a note is fair, silence is not.
         expect=("pass", "warn", "fail", "error"), words=(("float32",),),
         planted="dx returned as float32"),
    Case("dw_int", affine_bug(lambda dx, dw, db, x, w, d: (dx, dw.astype(int), db)),
         expect=NOT_OK, words=(("int",), ("dw",)), planted="dw returned as int array"),
    Case("dx_list", affine_bug(lambda dx, dw, db, x, w, d: (dx.tolist(), dw, db)),
         expect=("error",), words=(("list",), ("dx",)), planted="dx returned as a nested list"),
    Case("backward_stub_none", layer(affine_forward, affine_backward_stub, affine_inputs),
         expect=("skip",), words=(("not implemented",),), planted="dx, dw, db = None, None, None"),
    Case("forward_stub_none", layer(affine_forward_stub, affine_backward, affine_inputs),
         expect=("skip",), words=(("not implemented",),), planted="out = None in forward"),
    Case("backward_raises", layer(affine_forward, affine_backward_raises, affine_inputs),
         expect=("error",), words=(("valueerror",), ("affine_backward_raises",)),
         planted="x, w = cache (3 values)"),
    Case("forward_no_cache", layer(affine_forward_no_cache, named(affine_backward_wants_out, "affine_backward"),
                                   affine_inputs),
         expect=("error",), words=(("cache",), ("affine_forward_no_cache", "forward")),
         planted="forward returns out only; backward unpacks 4"),
    Case("backward_single_array", affine_bug(lambda dx, dw, db, x, w, d: dx),
         expect=NOT_OK, words=(("tuple",), ("3",)), planted="return dx (tuple expected)"),
    # --- models
    Case("model_reg_grad_missing", model("reg_grad_missing"), tags=("reg",),
         words=(("regulari",),), planted="grads W without reg*W"),
    Case("model_reg_grad_doubled", model("reg_grad_doubled"), tags=("reg",),
         words=(("regulari",), ("doubl", "twice", "2")), planted="grads W + 2*reg*W"),
    Case("model_reg_missing_in_loss", model("reg_missing_in_loss"), tags=("reg",),
         words=(("regulari",), ("from the loss", "in the loss", "to the loss", "loss value")),
         planted="loss without 0.5*reg*||W||^2, grads with"),
    Case("model_b1_zeros", model("b1_zero"), tags=("zero",), words=(("b1",), ("zero",)),
         planted="grads['b1'] = 0"),
    Case("model_nan", model("W2_grad_nan"), tags=("nan",), words=(("nan",), ("w2",)),
         planted="grads['W2'][0, 0] = NaN"),
    Case("model_params_drift", model("sgd_step_inside_loss"), tags=("determin", "mutat"),
         words=(("params", "w1", "modif", "mutat", "changes"),), planted="loss scales W1 in place"),
    Case("model_raises", model("raises"), expect=("error",), words=(("keyerror",),),
         planted="loss raises KeyError"),
    Case("model_float32", model(None, dtype=np.float32), expect=("error",), words=(("float64",),),
         planted="float32 params"),
]


# ------------------------------------------------------------------ controls (must not fail)

def _ref_pool_ties():
    # Integer-valued input: many windows hold their maximum twice (a true kink).
    x = _rng(14).integers(0, 3, (2, 2, 4, 4)).astype(float)
    return (x,)


CONTROLS = [
    Case("ref_affine", layer(ref.affine_forward, ref.affine_backward,
                             lambda: (_rng(20).standard_normal((3, 2, 2)), _rng(21).standard_normal((4, 5)),
                                      _rng(22).standard_normal(5)))),
    Case("ref_relu_near_zero", layer(ref.relu_forward, ref.relu_backward,
                                     lambda: (np.array([[-3e-6, -1e-6, 0.0, 1e-6], [4e-6, -0.5, 0.5, 2e-5]]),))),
    Case("ref_max_pool_distinct", layer(ref.max_pool_forward_naive, ref.max_pool_backward_naive,
                                        lambda: (pool_inputs()[0],), args=(pool_inputs()[1],))),
    Case("ref_max_pool_ties", layer(ref.max_pool_forward_naive, ref.max_pool_backward_naive,
                                    _ref_pool_ties, args=(pool_inputs()[1],))),
    Case("ref_max_pool_fast_ties", layer(ref.max_pool_forward_fast, ref.max_pool_backward_fast,
                                         _ref_pool_ties, args=(pool_inputs()[1],))),
    Case("ref_batchnorm_N2", layer(ref.batchnorm_forward, ref.batchnorm_backward,
                                   lambda: (_rng(23).standard_normal((2, 3)), np.ones(3) * 1.5, np.zeros(3)),
                                   args=({"mode": "train"},))),
    Case("ref_batchnorm_N3", layer(ref.batchnorm_forward, ref.batchnorm_backward_alt,
                                   lambda: (_rng(24).standard_normal((3, 4)), _rng(25).standard_normal(4),
                                            _rng(26).standard_normal(4)), args=({"mode": "train"},))),
    Case("ref_softmax_huge", loss(ref.softmax_loss, lambda: scores(N=3, C=4, seed=27, scale=1e3))),
    Case("ref_svm", loss(ref.svm_loss, lambda: scores(N=4, C=5, seed=28))),
    Case("ref_dropout_seed", layer(ref.dropout_forward, ref.dropout_backward,
                                   lambda: (_rng(29).standard_normal((4, 5)),),
                                   args=({"p": 0.5, "mode": "train", "seed": 1},))),
    Case("ref_conv_stride2", layer(ref.conv_forward_naive, ref.conv_backward_naive,
                                   lambda: conv_inputs(stride=2, pad=1, seed=30)[:3],
                                   args=({"stride": 2, "pad": 1},))),
    Case("ref_layernorm", layer(ref.layernorm_forward, ref.layernorm_backward, _bn_inputs, args=({},))),
    Case("ref_spatial_bn", layer(ref.spatial_batchnorm_forward, ref.spatial_batchnorm_backward,
                                 _sbn_inputs, args=({"mode": "train"},))),
    Case("ref_leaky_relu", layer(ref.leaky_relu_forward, ref.leaky_relu_backward,
                                 lambda: (away_from_zero((3, 4), seed=31),))),
    Case("ref_sigmoid_tanh", layer(ref.tanh_forward, ref.tanh_backward, lambda: (SIGMOID(),))),
    # Our own correct layers (and the benign batchnorm variant) must pass too.
    Case("own_batchnorm_no_dvar_in_dmean", layer(batchnorm_forward, named(bn_staged_no_dvar_in_dmean,
                                                                           "batchnorm_backward"),
                                                 _bn_inputs, args=({"mode": "train"},))),
    Case("own_conv", layer(conv_forward, conv_backward, lambda: conv_inputs()[:3], args=(conv_inputs()[3],))),
    Case("own_spatial_bn", layer(spatial_bn_forward, spatial_bn_backward, _sbn_inputs, args=({"mode": "train"},))),
    Case("own_svm", _svm()),
    Case("own_model", model(None)),
    Case("ref_affine_float32_inputs", layer(ref.affine_forward, ref.affine_backward,
                                            lambda: tuple(a.astype(np.float32) for a in affine_inputs(seed=32)))),
    # Configurations (issue 14): overlapping pool windows, stride 2 with padding, one example.
    Case("ref_max_pool_overlapping", layer(ref.max_pool_forward_naive, ref.max_pool_backward_naive,
                                           lambda: (overlap_pool_inputs(33)[0],), args=(overlap_pool_inputs()[1],))),
    Case("ref_max_pool_fast_overlapping", layer(ref.max_pool_forward_fast, ref.max_pool_backward_fast,
                                                lambda: (overlap_pool_inputs(34)[0],),
                                                args=(overlap_pool_inputs()[1],))),
    Case("ref_conv_fast_stride2_wide", layer(ref.conv_forward_fast, ref.conv_backward_fast,
                                             lambda: wide_conv_inputs(seed=35)[:3], args=(wide_conv_inputs()[3],))),
    Case("own_conv_stride2_wide", layer(conv_forward, conv_backward, lambda: wide_conv_inputs(seed=36)[:3],
                                        args=(wide_conv_inputs()[3],))),
    Case("ref_affine_N1", layer(ref.affine_forward, ref.affine_backward, lambda: affine_inputs(N=1, seed=37))),
    Case("ref_batchnorm_N1", layer(ref.batchnorm_forward, ref.batchnorm_backward,
                                   lambda: (_rng(38).standard_normal((1, 3)), np.ones(3), np.zeros(3)),
                                   args=({"mode": "train"},))),
    Case("ref_layernorm_N1", layer(ref.layernorm_forward, ref.layernorm_backward,
                                   lambda: (_rng(39).standard_normal((1, 5)), _rng(40).standard_normal(5),
                                            _rng(41).standard_normal(5)), args=({},))),
    Case("ref_softmax_N1", loss(ref.softmax_loss, lambda: scores(N=1, C=4, seed=42))),
]
CONTROLS = [Case(c.id, c.run, expect=OK, planted="correct", control=True) for c in CONTROLS]
MODES = ("auto", "fast", "full")


# ------------------------------------------------------------------ evaluation (pure)

def first_line(result) -> str:
    """The first line a student reads about the mistake (the per-input diagnosis first)."""
    texts = [f.what for f in result.findings]
    texts += [result.problem, result.message]
    return next((t.splitlines()[0] for t in texts if t), "")


def evaluate(case: Case, mode: str = "auto") -> Verdict:
    """Run one case in one mode and compare with the expectation."""
    start = time.perf_counter()
    try:
        result = case.run(mode)
    except Exception as exc:   # sanitykit must never raise on student code
        seconds = time.perf_counter() - start
        return Verdict(case, mode, "CRASH", [], f"{type(exc).__name__}: {exc}", "", seconds,
                       crashed=f"{type(exc).__name__}: {exc}")
    seconds = time.perf_counter() - start
    text = f"{result}\n{result.message}\n{result.hint}"
    low = text.lower()
    v = Verdict(case, mode, result.status, list(result.patterns), first_line(result), text, seconds,
                probed=result.probed)
    v.status_ok = result.status in case.expect
    v.tag_ok = not case.tags or any(t in p.lower() for t in case.tags for p in result.patterns)
    if any(t in p.lower() for t in case.forbid for p in result.patterns):
        v.tag_ok = False
    v.missing_words = [g for g in case.words if not any(w.lower() in low for w in g)]
    v.words_ok = not v.missing_words
    return v


def totals(bug_verdicts: list, control_verdicts: list) -> dict:
    """Detection %, pattern-named %, explained %, false alarms."""
    n = len(bug_verdicts) or 1
    tagged = [v for v in bug_verdicts if v.case.tags]
    return {
        "bugs": len(bug_verdicts),
        "detected": 100.0 * sum(v.status_ok for v in bug_verdicts) / n,
        "pattern_named": 100.0 * sum(v.status_ok and v.tag_ok for v in tagged) / (len(tagged) or 1),
        "explained": 100.0 * sum(v.ok for v in bug_verdicts) / n,
        "controls": len(control_verdicts),
        "false_alarms": [f"{v.case.id}[{v.mode}]: {v.status}" for v in control_verdicts if not v.status_ok],
        "seconds": sum(v.seconds for v in bug_verdicts + control_verdicts),
    }


def fast_against_full(fast: list, full: list) -> dict:
    """Of the bugs whose pattern full mode names, how many fast mode names too (pure)."""
    named_full = {v.case.id for v in full if v.case.tags and v.status_ok and v.tag_ok}
    named_fast = {v.case.id for v in fast if v.case.id in named_full and v.status_ok and v.tag_ok}
    failures = [v for v in fast if v.status in BAD]
    return {"full_named": len(named_full), "fast_named": len(named_fast),
            "missed": sorted(named_full - named_fast),
            "probed_mean": sum(v.probed for v in failures) / (len(failures) or 1),
            "probed_max": max((v.probed for v in failures), default=0)}


def per_mode_table(bugs: list) -> str:
    """Detection and naming rates of every mode, and fast mode's naming against full mode's."""
    by_mode = {m: [evaluate(c, m) for c in bugs] for m in MODES}
    lines = [f"{'mode':5} {'detected':>9} {'named':>7} {'explained':>10} {'seconds':>8}"]
    for m, verdicts in by_mode.items():
        t = totals(verdicts, [])
        lines.append(f"{m:5} {t['detected']:8.0f}% {t['pattern_named']:6.0f}% {t['explained']:9.0f}% "
                     f"{t['seconds']:8.2f}")
    f = fast_against_full(by_mode["fast"], by_mode["full"])
    share = 100.0 * f["fast_named"] / (f["full_named"] or 1)
    lines.append(f"fast mode names {f['fast_named']} / {f['full_named']} ({share:.0f}%) of the patterns "
                 f"full mode names; on a failure it probed {f['probed_mean']:.0f} coordinates on average "
                 f"(at most {f['probed_max']})" + (f"; missed: {', '.join(f['missed'])}" if f["missed"] else ""))
    return "\n".join(lines)


# ------------------------------------------------------------------ presentation

def _row(v: Verdict) -> str:
    mark = "PASS" if v.ok else "FAIL"
    pats = ",".join(v.patterns) or "-"
    return (f"{v.case.id:34.34} {v.status:5} {pats:26.26} {mark:4} {v.seconds:6.2f}s  "
            f"{v.first_line[:90]}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", default="auto", choices=MODES)
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--verbose", action="store_true", help="print the whole text of misses")
    opts = parser.parse_args(argv)
    bugs = [c for c in BUGS if not opts.only or c.id in opts.only]
    controls = [c for c in CONTROLS if not opts.only or c.id in opts.only]
    print(f"{'bug':34} {'status':5} {'pattern':26} {'exp':4} {'time':>7}  first line of the diagnosis")
    bug_verdicts = [evaluate(c, opts.mode) for c in bugs]
    for v in bug_verdicts:
        print(_row(v))
        if not v.ok:
            why = []
            if not v.status_ok:
                why.append(f"expected status {'/'.join(v.case.expect)}")
            if not v.tag_ok:
                why.append(f"expected a tag like {'/'.join(v.case.tags) or '(any)'}"
                           + (f", not {'/'.join(v.case.forbid)}" if v.case.forbid else ""))
            if v.missing_words:
                why.append("missing words " + "; ".join("/".join(g) for g in v.missing_words))
            print(f"    planted: {v.case.planted} -- {'; '.join(why)}")
            if opts.verbose:
                print("    " + v.text.replace("\n", "\n    "))
    control_verdicts = [evaluate(c, m) for c in controls for m in MODES]
    for v in control_verdicts:
        if not v.status_ok or opts.verbose:
            print("CONTROL " + _row(v))
    t = totals(bug_verdicts, control_verdicts)
    print(f"\n{t['bugs']} planted bugs (mode {opts.mode}): detected {t['detected']:.0f}%, "
          f"pattern named {t['pattern_named']:.0f}%, fully explained {t['explained']:.0f}%")
    print(f"{len(controls)} controls x {len(MODES)} modes: {len(t['false_alarms'])} false alarms "
          + (", ".join(t["false_alarms"]) if t["false_alarms"] else ""))
    print(f"total time {t['seconds']:.1f}s")
    print("\nevery mode:\n" + per_mode_table(bugs))


if __name__ == "__main__":
    main()
