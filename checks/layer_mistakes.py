"""What a wrong forward pass is: the course's layers with one student mistake, to name a failure.

A forward check that finds out differing from the reference asks `explain(topic, inputs, args,
out)`: each known mistake of that layer is computed on the same inputs, and the first one that
reproduces the user's out exactly is named (pattern, what the code does, the line to write). A
mistake is named only when it reproduces the output, never guessed from the size of an error.
"""
from __future__ import annotations

import contextlib
from typing import Callable, Iterator

import numpy as np

from sanitykit import reference as ref
from sanitykit.reference.layers import conv_output_size

BN_EPS = 1e-5
Mistake = tuple[str, str, str]  # (pattern, what the code does, the line to write)


# ---------------------------------------------------------------- normalisation

def normalised(x: np.ndarray, axes: tuple[int, ...], eps: float, eps_place: str, ddof: int = 0) -> np.ndarray:
    """(x - mean) / sqrt(var + eps) over `axes`, or with eps left out or added outside the root.

    Args:
        ddof: 1 for the unbiased variance a student may take (np.var(ddof=1), sum / (N - 1)).
    """
    mu, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True, ddof=ddof)
    root = {"inside": np.sqrt(var + eps), "missing": np.sqrt(var), "outside": np.sqrt(var) + eps}[eps_place]
    with np.errstate(all="ignore"):
        return (x - mu) / root


EPS_MISTAKES = {
    "missing": ("eps_missing", "eps is left out: out matches the formula with np.sqrt(var), not np.sqrt(var + eps)"),
    "outside": ("eps_outside", "eps is added outside the square root: out matches (x - mu) / (np.sqrt(var) + eps)"),
}


def eps_variants(statistics: Callable[[str], np.ndarray], fix: str) -> list[tuple[Mistake, np.ndarray]]:
    """The outputs with eps left out and with eps outside the root; `statistics(place)` computes one."""
    return [((pattern, words, fix), statistics(place)) for place, (pattern, words) in EPS_MISTAKES.items()]


def _eps_of(param: dict) -> float:
    return float(param.get("eps", BN_EPS)) if isinstance(param, dict) else BN_EPS


def batchnorm_mistakes(inputs: dict, args: tuple, axis: int = 0) -> list[tuple[Mistake, np.ndarray]]:
    """Train-mode batchnorm (axis 0) or layernorm (axis 1) with eps misplaced."""
    x, gamma, beta = inputs["x"], inputs["gamma"], inputs["beta"]
    eps = _eps_of(args[0] if args else {})
    fix = f"xhat = (x - mu) / np.sqrt(var + eps), with mu and var over axis={axis}"
    unbiased = (("unbiased_variance", f"the variance is unbiased (divided by {x.shape[axis] - 1}, ddof=1): out "
                 f"matches x.var(axis={axis}, ddof=1), the course uses the biased x.var(axis={axis})",
                 f"var = x.var(axis={axis}) (or ((x - mu) ** 2).mean(axis={axis})), not a sum / (N - 1)"),
                gamma * normalised(x, (axis,), eps, "inside", ddof=1) + beta)
    return [*eps_variants(lambda place: gamma * normalised(x, (axis,), eps, place) + beta, fix),
            *([unbiased] if x.shape[axis] > 1 else [])]


def layernorm_mistakes(inputs: dict, args: tuple) -> list[tuple[Mistake, np.ndarray]]:
    """Batchnorm's mistakes over axis 1, and layernorm computed with batchnorm's axis 0."""
    x, gamma, beta = inputs["x"], inputs["gamma"], inputs["beta"]
    eps = _eps_of(args[0] if args else {})
    over_batch = (("wrong_axis", "the statistics are taken over the batch (axis=0, batchnorm's axis): out "
                   "matches batchnorm, each feature normalised across the samples",
                   "mu = x.mean(axis=1, keepdims=True); var = x.var(axis=1, keepdims=True): one mean and "
                   "variance per sample"),
                  gamma * normalised(x, (0,), eps, "inside") + beta)
    return [*batchnorm_mistakes(inputs, args, axis=1), *([over_batch] if x.shape[0] > 1 else [])]


def _rows_batchnorm(rows: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    return gamma * normalised(rows, (0,), eps, "inside") + beta


def spatial_batchnorm_mistakes(inputs: dict, args: tuple) -> list[tuple[Mistake, np.ndarray]]:
    """Spatial batchnorm with eps misplaced, or with channels mixed by a reshape without a transpose."""
    x, gamma, beta = inputs["x"], inputs["gamma"], inputs["beta"]
    N, C, H, W = x.shape
    eps = _eps_of(args[0] if args else {})
    g4, b4 = gamma.reshape(1, C, 1, 1), beta.reshape(1, C, 1, 1)
    fix = ("move the channels last before flattening, and back afterwards: "
           "rows = x.transpose(0, 2, 3, 1).reshape(-1, C); out = out_rows.reshape(N, H, W, C).transpose(0, 3, 1, 2)")
    rows = {True: x.transpose(0, 2, 3, 1).reshape(-1, C), False: x.reshape(-1, C)}
    back = {True: lambda r: r.reshape(N, H, W, C).transpose(0, 3, 1, 2), False: lambda r: r.reshape(x.shape)}
    words = {False: "x was reshaped to (-1, C) without moving the channels last, so each row mixes "
                    "values of different channels",
             True: "the output rows were reshaped straight back to (N, C, H, W) without transposing, "
                   "so the channels are scrambled"}
    mixed = [(("no_transpose", words[moved_in], fix), back[moved_out](_rows_batchnorm(rows[moved_in], gamma, beta, eps)))
             for moved_in, moved_out in ((False, True), (False, False), (True, False))]
    return [
        *mixed,
        *eps_variants(lambda place: g4 * normalised(x, (0, 2, 3), eps, place) + b4,
                      "xhat = (x - mu) / np.sqrt(var + eps), statistics per channel over N, H and W"),
    ]


def spatial_groupnorm_mistakes(inputs: dict, args: tuple) -> list[tuple[Mistake, np.ndarray]]:
    """Group norm with eps misplaced, the group axes swapped, or each sample normalised whole."""
    x, gamma, beta = inputs["x"], inputs["gamma"], inputs["beta"]
    G, gn_param = args[0], args[1] if len(args) > 1 else {}
    N, C, H, W = x.shape
    eps = _eps_of(gn_param)
    g4, b4 = gamma.reshape(1, C, 1, 1), beta.reshape(1, C, 1, 1)
    fix = "grouped = x.reshape(N, G, C // G, H, W); mean and var over axes (2, 3, 4), keepdims=True"
    grouped = x.reshape(N, G, C // G, H, W)
    # Channels c, c + G, c + 2G, ... in one group: reshape(N, C // G, G, ...) with statistics over axis 1.
    interleaved = normalised(x.reshape(N, C // G, G, H, W), (1, 3, 4), eps, "inside").reshape(x.shape)
    whole = normalised(x, (1, 2, 3), eps, "inside")
    return [
        (("group_axes", f"channels c, c + {G}, c + {2 * G}, ... form one group: x was reshaped to "
          "(N, C // G, G, ...) instead of (N, G, C // G, ...), the group and channel-per-group axes swapped", fix),
         g4 * interleaved + b4),
        (("wrong_axis", "each sample is normalised over all its channels at once (layernorm), not per "
          "group of C // G channels", fix), g4 * whole + b4),
        *eps_variants(lambda place: g4 * normalised(grouped, (2, 3, 4), eps, place).reshape(x.shape) + b4,
                      "xhat = (x - mu) / np.sqrt(var + eps), statistics per sample and group"),
    ]


def test_mode_mistakes(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, running_mean: np.ndarray,
                       running_var: np.ndarray, eps: float) -> list[tuple[Mistake, np.ndarray]]:
    """Test-mode batchnorm with eps left out of (or outside) the root of running_var."""
    roots = {"missing": np.sqrt(running_var), "outside": np.sqrt(running_var) + eps}
    fix = "in test mode: out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta"
    return [((pattern, words.replace("var", "running_var"), fix), gamma * (x - running_mean) / roots[place] + beta)
            for place, (pattern, words) in EPS_MISTAKES.items()]


# ---------------------------------------------------------------- windows: stride and kernel orientation

def _stride_one_cropped(forward: Callable, args: tuple, param: dict, size: tuple[int, int]) -> np.ndarray:
    """The layer run with stride 1, cropped to the right (H_out, W_out): windows slid one pixel at a time."""
    out = forward(*args, {**param, "stride": 1})[0]
    return out[:, :, :size[0], :size[1]]


STRIDE_WORDS = ("the windows slide one pixel at a time whatever the stride: out matches the first "
                "{h} x {w} outputs of a stride-1 {layer}")


def conv_mistakes(inputs: dict, args: tuple) -> list[tuple[Mistake, np.ndarray]]:
    """A true convolution (the filters flipped), or windows placed without the stride."""
    x, w, b = inputs["x"], inputs["w"], inputs["b"]
    conv_param = args[0]
    flipped = (("flipped", "the filters are rotated by 180 degrees (w[:, :, ::-1, ::-1]): out is a true "
                "convolution, the course's layer is a cross-correlation",
                "use w[f] as it is: out[n, f, i, j] = np.sum(window * w[f]) + b[f]"),
               ref.conv_forward_naive(x, w[:, :, ::-1, ::-1], b, conv_param)[0])
    variants = [flipped]
    stride, pad = int(conv_param.get("stride", 1)), int(conv_param.get("pad", 0))
    if stride > 1:
        size = (conv_output_size(x.shape[2], w.shape[2], pad, stride), conv_output_size(x.shape[3], w.shape[3], pad, stride))
        words = STRIDE_WORDS.format(h=size[0], w=size[1], layer="convolution")
        variants.append((("stride", words, "window = x_pad[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]"),
                         _stride_one_cropped(ref.conv_forward_naive, (x, w, b), conv_param, size)))
    return variants


def max_pool_mistakes(inputs: dict, args: tuple) -> list[tuple[Mistake, np.ndarray]]:
    """Pooling windows placed without the stride."""
    x, pool_param = inputs["x"], args[0]
    stride = int(pool_param.get("stride", 1))
    if stride <= 1:
        return []
    size = (conv_output_size(x.shape[2], pool_param["pool_height"], 0, stride),
            conv_output_size(x.shape[3], pool_param["pool_width"], 0, stride))
    words = STRIDE_WORDS.format(h=size[0], w=size[1], layer="max pool")
    return [(("stride", words, "window = x[:, :, i * stride:i * stride + pool_height, j * stride:j * stride + pool_width]"),
             _stride_one_cropped(ref.max_pool_forward_naive, (x,), pool_param, size))]


# ---------------------------------------------------------------- naming

EXPLAINERS: dict[str, Callable[[dict, tuple], list[tuple[Mistake, np.ndarray]]]] = {
    "batchnorm": batchnorm_mistakes,
    "layernorm": layernorm_mistakes,
    "spatial_batchnorm": spatial_batchnorm_mistakes,
    "spatial_groupnorm": spatial_groupnorm_mistakes,
    "conv": conv_mistakes,
    "conv_fast": conv_mistakes,
    "max_pool": max_pool_mistakes,
    "max_pool_fast": max_pool_mistakes,
}


def reproduces(out: np.ndarray, candidate: np.ndarray) -> bool:
    """Whether `candidate` is `out` up to round-off (far tighter than the forward check's 1e-7)."""
    return (out.shape == candidate.shape and bool(np.all(np.isfinite(candidate)))
            and np.allclose(out, candidate, rtol=1e-10, atol=1e-12))


def first_match(out: np.ndarray, variants: list[tuple[Mistake, np.ndarray]]) -> Mistake | None:
    """The mistake whose output is the user's `out`, or None."""
    return next((mistake for mistake, candidate in variants if reproduces(out, candidate)), None)


def explain(topic: str, inputs: dict, args: tuple, out: np.ndarray) -> Mistake | None:
    """The known mistake of layer `topic` that reproduces the user's `out` on these inputs, or None."""
    explainer = EXPLAINERS.get(topic)
    if explainer is None:
        return None
    with np.errstate(all="ignore"):
        return first_match(np.asarray(out, dtype=np.float64), explainer(inputs, args))


# ---------------------------------------------------------------- convolution: padding and output size

def padded_axes(pad_width, ndim: int) -> tuple[int, ...]:
    """The axes np.pad(array, pad_width) pads, for an array of `ndim` dimensions (() when unreadable)."""
    try:
        widths = np.broadcast_to(np.asarray(pad_width, dtype=float).reshape(-1, 2)
                                 if np.ndim(pad_width) == 2 else np.asarray(pad_width, dtype=float), (ndim, 2))
    except (TypeError, ValueError):
        try:  # ((0,), (0,), (p,), (p,)) or (p,): one width per axis or for all
            widths = np.broadcast_to(np.asarray(pad_width, dtype=float).reshape(-1, 1), (ndim, 2))
        except (TypeError, ValueError):
            return ()
    return tuple(int(a) for a in np.nonzero(np.any(widths != 0, axis=1))[0])


@contextlib.contextmanager
def pads_recorded() -> Iterator[list[tuple[tuple[int, ...], tuple[int, ...]]]]:
    """Record (array shape, padded axes) of every np.pad call in the block; np.pad is put back after."""
    calls: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
    original = np.pad

    def pad(array, pad_width, *args, **kwargs):
        calls.append((np.shape(array), padded_axes(pad_width, np.ndim(array))))
        return original(array, pad_width, *args, **kwargs)

    np.pad = pad
    try:
        yield calls
    finally:
        np.pad = original


SIZE_FORMULA = "H_out = 1 + (H + 2 * pad - HH) // stride, W_out = 1 + (W + 2 * pad - WW) // stride"


def pad_axes_mistake(calls: list[tuple[tuple[int, ...], tuple[int, ...]]]) -> Mistake | None:
    """np.pad over the batch or channel axis of a 4-d input (np.pad(x, pad) pads all four)."""
    for shape, axes in calls:
        if len(shape) == 4 and set(axes) & {0, 1}:
            return ("pad_axes", f"np.pad padded axes {', '.join(map(str, axes))} of x {shape}: np.pad(x, pad) pads "
                    "every axis, the batch and the channels too",
                    "pad only H and W: x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode='constant')")
    return None


def conv_size_mistakes(got: tuple, x: tuple, w: tuple, stride: int, pad: int) -> list[Mistake]:
    """The output-size formula variants that give `got` (N, F, H_out, W_out) (several at some sizes)."""
    def size(n: int, f: int, s: int, p: int, one: int = 1, twice: int = 2) -> int:
        return one + (n + twice * p - f) // s

    variants = [
        ("padding_once", "the output size counts the padding once, not on both sides: (H + pad - HH)",
         lambda n, f: size(n, f, stride, pad, twice=1)),
        ("no_plus_one", "the output size drops the 1 +: (H + 2 * pad - HH) // stride",
         lambda n, f: size(n, f, stride, pad, one=0)),
        ("output_size", "padding is ignored in the output size", lambda n, f: size(n, f, stride, 0)),
        ("output_size", "stride is ignored in the output size", lambda n, f: size(n, f, 1, pad)),
    ]
    variants.append(("output_size", "H and W (or HH and WW) are swapped in the output size",
                     None))
    if len(got) != 4:
        return []
    swapped = (size(x[3], w[3], stride, pad), size(x[2], w[2], stride, pad))
    return [(pattern, words, SIZE_FORMULA) for pattern, words, formula in variants
            if tuple(got[2:]) == (swapped if formula is None else (formula(x[2], w[2]), formula(x[3], w[3])))]


def pool_size_mistake(got: tuple, x: tuple, ph: int, pw: int, stride: int) -> Mistake | None:
    """The pooling output-size variant that gives `got`, or None."""
    formula = "H_out = 1 + (H - pool_height) // stride, W_out = 1 + (W - pool_width) // stride"
    variants = [
        ("no_plus_one", "the output size drops the 1 +: (H - pool_height) // stride",
         ((x[2] - ph) // stride, (x[3] - pw) // stride)),
        ("output_size", "pool_height and pool_width are swapped",
         (1 + (x[2] - pw) // stride, 1 + (x[3] - ph) // stride)),
        ("output_size", "stride is ignored in the output size", (1 + x[2] - ph, 1 + x[3] - pw)),
    ]
    for pattern, words, spatial in variants:
        if len(got) == 4 and tuple(got[2:]) == spatial:
            return pattern, words, formula
    return None
