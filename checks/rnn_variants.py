"""Known mistakes of assignment 3's recurrent backward passes, computed from the reference.

A gradient check says that dWx is wrong; these say why. Each function returns the gradients a
classic mistake gives on the reference's forward pass, so that the user's gradients can be
matched against them: a tanh derivative written 1 - h, a dprev_h never added to dh[:, t], a
dWx overwritten instead of summed over time, the LSTM's cell path cut, its gates read back in
another order. `match` names the first mistake that reproduces every gradient.
"""
from __future__ import annotations

from typing import Callable, Iterable

import numpy as np

from sanitykit import reference as ref

Grads = tuple[np.ndarray, ...]

# How a derivative of tanh goes wrong: local factor of next_h = tanh(a).
TANH_LOCAL: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "right": lambda h: 1 - h ** 2,
    "1 - h instead of 1 - h**2": lambda h: 1 - h,
    "the derivative of tanh is missing (da = dnext_h)": lambda h: np.ones_like(h),
    "tanh applied again to the output: 1 - np.tanh(next_h)**2": lambda h: 1 - np.tanh(h) ** 2,
}


def rnn_step_grads(cache: tuple, dnext_h: np.ndarray, local: str = "right") -> Grads:
    """(dx, dprev_h, dWx, dWh, db) of one vanilla step from the reference cache, with TANH_LOCAL[local]."""
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * TANH_LOCAL[local](next_h)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def lstm_step_grads(cache: tuple, dnext_h: np.ndarray, dnext_c: np.ndarray, mistake: str = "") -> Grads:
    """(dx, dprev_h, dprev_c, dWx, dWh, db) of one LSTM step from the reference cache, with `mistake`.

    Args:
        mistake: "" (right), "no_tanh_path" (dc = dnext_c), "no_dnext_c" (dc ignores dnext_c),
            "dprev_c_no_f" (dprev_c = dc), "dprev_c_raw" (dprev_c = dnext_c * f), a gate order
            such as "ifgo" (da assembled in that order instead of i, f, o, g), or a wrong tanh
            derivative "g:<TANH_LOCAL key>" (of the block input g) or "c:<key>" (of tanh(next_c)).
    """
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c = cache
    which, _, local = mistake.partition(":") if mistake[:2] in ("g:", "c:") else ("", "", "right")
    tanh_of = {part: TANH_LOCAL[local if which == part else "right"] for part in ("g", "c")}
    through_h = dnext_h * o * tanh_of["c"](tanh_c)
    dc = {"no_tanh_path": dnext_c, "no_dnext_c": through_h}.get(mistake, dnext_c + through_h)
    blocks = {"i": dc * g * i * (1 - i), "f": dc * prev_c * f * (1 - f),
              "o": dnext_h * tanh_c * o * (1 - o), "g": dc * i * tanh_of["g"](g)}
    order = mistake if sorted(mistake) == sorted("ifog") else "ifog"
    da = np.concatenate([blocks[k] for k in order], axis=1)
    dprev_c = {"dprev_c_no_f": dc, "dprev_c_raw": dnext_c * f}.get(mistake, dc * f)
    return da @ Wx.T, da @ Wh.T, dprev_c, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def sequence_grads(cell: str, inputs: dict[str, np.ndarray], dh: np.ndarray, mistake: str = "") -> Grads:
    """(dx, dh0, dWx, dWh, db) of a whole sequence with `mistake` in the loop over time.

    Args:
        cell: "rnn" or "lstm".
        inputs: x, h0, Wx, Wh, b.
        dh: upstream gradients (N, T, H).
        mistake: "" (right), "no_accumulation" (dprev_h not added), "last_only" (dh[:, t] used at
            the last step only), "weights_not_summed" (dWx = the step's), "no_dh0" (dh0 zero),
            "no_cell_carry" (LSTM: dprev_c not passed back).
    """
    forward = ref.rnn_forward if cell == "rnn" else ref.lstm_forward
    _, cache = forward(*inputs.values())
    N, T, H = dh.shape
    dprev_h, dprev_c = np.zeros((N, H)), np.zeros((N, H))
    dxs, totals = [], None
    for t in reversed(range(T)):
        upstream = dh[:, t] + (0 if mistake == "no_accumulation" else dprev_h)
        if mistake == "last_only" and t < T - 1:
            upstream = dprev_h
        if cell == "rnn":
            dx_t, dprev_h, *weights = rnn_step_grads(cache[t], upstream)
        else:
            carried = np.zeros_like(dprev_c) if mistake == "no_cell_carry" else dprev_c
            dx_t, dprev_h, dprev_c, *weights = lstm_step_grads(cache[t], upstream, carried)
        dxs.append(dx_t)
        overwrite = totals is None or mistake == "weights_not_summed"
        totals = weights if overwrite else [a + w for a, w in zip(totals, weights)]
    dh0 = np.zeros_like(dprev_h) if mistake == "no_dh0" else dprev_h
    return (np.stack(dxs[::-1], axis=1), dh0, *totals)


def same(got: Grads, expected: Grads) -> bool:
    """Every array of `got` equals its counterpart of `expected` (shapes included)."""
    return len(got) == len(expected) and all(
        np.shape(a) == np.shape(b) and np.allclose(a, b, rtol=1e-6, atol=1e-10) for a, b in zip(got, expected))


def match(got: Grads, candidates: Iterable[tuple[str, Grads]]) -> str | None:
    """The name of the first candidate whose gradients all equal `got`, or None."""
    return next((name for name, grads in candidates if same(got, grads)), None)


GATE_ORDERS = ("ifgo", "iofg", "fiog", "gifo", "figo", "oifg", "giof")  # i, f, o, g read otherwise


def lstm_forward_in_order(x, prev_h, prev_c, Wx, Wh, b, order: str) -> tuple[np.ndarray, np.ndarray]:
    """(next_h, next_c) when the 4H activations are read as the gates in `order` (e.g. "ifgo")."""
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    block = {name: a[:, k * H:(k + 1) * H] for k, name in enumerate(order)}
    i, f, o = (ref.sigmoid_forward(block[n])[0] for n in "ifo")
    g = np.tanh(block["g"])
    next_c = f * prev_c + i * g
    return o * np.tanh(next_c), next_c


def gate_order_of(got_h: np.ndarray, got_c: np.ndarray, inputs: dict[str, np.ndarray]) -> str | None:
    """The gate order whose forward gives the user's (next_h, next_c), or None."""
    for order in GATE_ORDERS:
        h, c = lstm_forward_in_order(*inputs.values(), order)
        if got_h.shape == h.shape and got_c.shape == c.shape and np.allclose(got_h, h, rtol=1e-6, atol=1e-10) \
                and np.allclose(got_c, c, rtol=1e-6, atol=1e-10):
            return order
    return None
