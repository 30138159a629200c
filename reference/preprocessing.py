"""Data preprocessing: mean-image and per-channel mean subtraction.

Statistics are fitted on the training split only and the same numbers are
subtracted from val/test: using val/test statistics would leak them into training.
Inputs are never modified; new float arrays are returned.
"""
from __future__ import annotations

import numpy as np

__all__ = ["fit_mean_image", "subtract_mean_image",
           "fit_channel_mean", "subtract_channel_mean"]


def fit_mean_image(X_train):
    """The mean training example (e.g. the mean image of shape (C, H, W) or (D,)).

    Args:
        X_train: array of shape (N, ...).
    """
    return np.mean(np.asarray(X_train, dtype=np.float64), axis=0)


def subtract_mean_image(X_train, *others):
    """Subtract the mean training example from the training set and each other split.

    Args:
        X_train: array of shape (N, ...); the mean is computed from it alone.
        *others: val/test arrays of shape (M, ...) with the same trailing shape.
    Returns:
        tuple (X_train - mean, *[X - mean for X in others]).
    """
    mean_image = fit_mean_image(X_train)
    return tuple(np.asarray(X, dtype=np.float64) - mean_image for X in (X_train, *others))


def fit_channel_mean(X_train):
    """Per-channel mean of image data, shape (1, C, 1, 1) so it broadcasts.

    Args:
        X_train: array of shape (N, C, H, W).
    """
    X_train = np.asarray(X_train, dtype=np.float64)
    if X_train.ndim != 4:
        raise ValueError(f"fit_channel_mean expects (N, C, H, W) data, got shape {X_train.shape}")
    return X_train.mean(axis=(0, 2, 3), keepdims=True)


def subtract_channel_mean(X_train, *others):
    """Subtract the per-channel training mean from the training set and each other split.

    Args:
        X_train: array of shape (N, C, H, W); the channel means come from it alone.
        *others: val/test arrays of shape (M, C, H', W').
    Returns:
        tuple (X_train - mean, *[X - mean for X in others]).
    """
    channel_mean = fit_channel_mean(X_train)
    return tuple(np.asarray(X, dtype=np.float64) - channel_mean for X in (X_train, *others))
