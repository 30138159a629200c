"""What a conv or max-pool backward gives when it assigns (`=`) where it must accumulate (`+=`).

A backward pass that loops over the output positions and writes each window's contribution
with `=` keeps, at every element, only the contribution of the last window that covers it
(and, when it loops over filters or examples too, only the last of those). These functions
compute that array from the layer's arguments, so the diagnosis can say "your gradient is
exactly this" instead of "no simple pattern". Pure numpy, from the course's conventions:
conv_param {stride, pad}, w (F, C, HH, WW); pool_param {pool_height, pool_width, stride}.
"""
from __future__ import annotations

import numpy as np


def geometry(args) -> dict | None:
    """{"kind": "conv"|"pool", "stride", "pad", ...} from a conv_param / pool_param in `args`."""
    for arg in args:
        if not isinstance(arg, dict) or not isinstance(arg.get("stride"), (int, np.integer)):
            continue
        if {"pool_height", "pool_width"} <= arg.keys():
            return {"kind": "pool", "stride": int(arg["stride"]), "pad": 0,
                    "hh": int(arg["pool_height"]), "ww": int(arg["pool_width"])}
        if isinstance(arg.get("pad"), (int, np.integer)):
            return {"kind": "conv", "stride": int(arg["stride"]), "pad": int(arg["pad"])}
    return None


def _positions(u: np.ndarray, stride: int):
    """(i, j, h0, w0) of every output position, in the order a course loop visits them."""
    for i in range(u.shape[2]):
        for j in range(u.shape[3]):
            yield i, j, i * stride, j * stride


def conv_last(name: str, x: np.ndarray, w: np.ndarray, u: np.ndarray, stride: int,
              pad: int) -> list[tuple[str, np.ndarray]]:
    """(how, gradient) of a conv backward that assigns per window, for input `name` (x, w or b)."""
    n, c, h, wd = x.shape
    f, _, hh, ww = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    last_i, last_j = u.shape[2] - 1, u.shape[3] - 1
    found = []
    if name == "x":
        for how, filters in (("the last window", slice(None)), ("the last filter in the last window",
                                                                 slice(f - 1, f))):
            dxp = np.zeros_like(xp)
            for i, j, h0, w0 in _positions(u, stride):
                dxp[:, :, h0:h0 + hh, w0:w0 + ww] = np.tensordot(u[:, filters, i, j], w[filters],
                                                                 axes=(1, 0))
            found.append((how, dxp[:, :, pad:pad + h, pad:pad + wd]))
    elif name == "w":
        window = xp[:, :, last_i * stride:last_i * stride + hh, last_j * stride:last_j * stride + ww]
        found.append(("the last output position",
                      np.tensordot(u[:, :, last_i, last_j], window, axes=(0, 0))))
        found.append(("the last example at the last output position",
                      np.tensordot(u[-1:, :, last_i, last_j], window[-1:], axes=(0, 0))))
    elif name == "b":
        found.append(("the last output position", u[:, :, last_i, last_j].sum(axis=0)))
    return found


def pool_last(x: np.ndarray, u: np.ndarray, hh: int, ww: int, stride: int) -> np.ndarray:
    """dx of a max-pool backward that assigns each window's routed gradient with `=`."""
    dx = np.zeros_like(x)
    for i, j, h0, w0 in _positions(u, stride):
        window = x[:, :, h0:h0 + hh, w0:w0 + ww]
        mask = window == window.max(axis=(2, 3), keepdims=True)
        dx[:, :, h0:h0 + hh, w0:w0 + ww] = mask * u[:, :, i, j][:, :, None, None]
    return dx


def pool_spread(x: np.ndarray, u: np.ndarray, hh: int, ww: int, stride: int) -> np.ndarray:
    """dx of a max-pool backward that adds each window's dout to every element of the window."""
    dx = np.zeros_like(x)
    for i, j, h0, w0 in _positions(u, stride):
        dx[:, :, h0:h0 + hh, w0:w0 + ww] += u[:, :, i, j][:, :, None, None]
    return dx


def overwritten(name: str, inputs: dict, u, args) -> list[tuple[str, np.ndarray, str]]:
    """(how, gradient, layer) of the `=` variants that apply to input `name` of this layer."""
    geo = geometry(args)
    if geo is None or np.ndim(u) != 4:
        return []
    x = inputs.get("x")
    if not isinstance(x, np.ndarray) or x.ndim != 4:
        return []
    if geo["kind"] == "pool":
        if name != "x":
            return []
        return [("the last window", pool_last(x, u, geo["hh"], geo["ww"], geo["stride"]), "pool")]
    w = inputs.get("w")
    if not isinstance(w, np.ndarray) or w.ndim != 4 or w.shape[1] != x.shape[1] \
            or u.shape[1] != w.shape[0]:
        return []
    return [(how, g, "conv") for how, g in conv_last(name, x, w, u, geo["stride"], geo["pad"])]
