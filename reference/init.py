"""Weight initialisers: zeros, small Gaussian, Xavier and He, with the course's fan-in.

Each initialiser is `init(shape, rng=None) -> ndarray` (float64); `rng` is a
`np.random.Generator`, a fresh `default_rng()` when omitted, so the global numpy
random state is never touched.
"""
from __future__ import annotations

import numpy as np

__all__ = ["fan_in", "zeros_init", "small_init", "xavier_init", "he_init", "INITIALISERS"]


def fan_in(shape) -> int:
    """Number of inputs feeding one output unit.

    Args:
        shape: (D, H) for an affine weight (D inputs), or (F, C, HH, WW) for a conv
            filter bank, whose every output sees C * HH * WW inputs.
    """
    shape = tuple(shape)
    if len(shape) == 2:
        return int(shape[0])
    if len(shape) == 4:
        return int(np.prod(shape[1:]))
    raise ValueError(f"fan_in: expected an affine (D, H) or conv (F, C, HH, WW) shape, got {shape}")


def zeros_init(shape, rng=None):
    """All zeros: every hidden unit computes the same thing, so symmetry is never broken.

    Args:
        shape: weight shape.
        rng: unused; accepted so every initialiser has the same signature.
    """
    return np.zeros(shape)


def small_init(shape, rng=None, scale=0.01):
    """scale * standard normal (the course's 0.01 * randn); activations shrink with depth.

    Args:
        shape: weight shape.
        rng: np.random.Generator (default: a fresh default_rng()).
        scale: standard deviation, default 0.01.
    """
    rng = np.random.default_rng() if rng is None else rng
    return scale * rng.standard_normal(shape)


def xavier_init(shape, rng=None):
    """Xavier/Glorot: standard normal / sqrt(fan_in), keeps the variance of linear/tanh layers.

    Args:
        shape: (D, H) or (F, C, HH, WW).
        rng: np.random.Generator (default: a fresh default_rng()).
    """
    rng = np.random.default_rng() if rng is None else rng
    return rng.standard_normal(shape) / np.sqrt(fan_in(shape))


def he_init(shape, rng=None):
    """He/Kaiming: standard normal / sqrt(fan_in / 2); ReLU halves the variance, this restores it.

    Args:
        shape: (D, H) or (F, C, HH, WW).
        rng: np.random.Generator (default: a fresh default_rng()).
    """
    rng = np.random.default_rng() if rng is None else rng
    return rng.standard_normal(shape) / np.sqrt(fan_in(shape) / 2.0)


INITIALISERS = {
    "zeros": zeros_init,
    "small": small_init,
    "xavier": xavier_init,
    "he": he_init,
}
