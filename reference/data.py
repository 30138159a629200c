"""Small data sets that need no download, and a loader for a local CIFAR-10 copy.

All randomness comes from `np.random.default_rng(seed)`: the same seed gives the
same data, and the global numpy random state is never touched. Generators return
examples in a shuffled order, so any prefix holds every class.
"""
from __future__ import annotations

import os
import pickle

import numpy as np

__all__ = ["spiral", "blobs", "tiny_images", "synthetic_data", "load_cifar10"]

CIFAR10_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST_BATCH = "test_batch"


def _shuffled(X, y, rng):
    order = rng.permutation(len(y))
    return X[order], y[order]


def spiral(num_per_class=100, num_classes=3, dim=2, seed=0):
    """Interleaved spiral arms, one per class: not linearly separable (the course's toy set).

    For dim > 2 the 2-D spiral is embedded in `dim` dimensions by a random
    orthonormal map, so the structure is spread over every coordinate.

    Args:
        num_per_class: examples per class, default 100.
        num_classes: number of arms K, default 3.
        dim: input dimension D >= 2, default 2.
        seed: seed of the generator, default 0.
    Returns:
        X of shape (K * num_per_class, D) float64, y of shape (K * num_per_class,) int64.
    """
    if dim < 2:
        raise ValueError(f"spiral needs dim >= 2, got {dim}")
    rng = np.random.default_rng(seed)
    # Radii start at 0.1, not the course's 0: arms that all start at the origin put points of
    # different classes on top of each other, and then no model can fit the training set.
    radius = np.tile(np.linspace(0.1, 1.0, num_per_class), num_classes)
    y = np.repeat(np.arange(num_classes), num_per_class)
    # Each arm sweeps 4 radians, starting where the previous one starts + 4 (as the course does).
    theta = (np.linspace(0.0, 4.0, num_per_class)[None, :] + 4.0 * np.arange(num_classes)[:, None]).ravel()
    theta = theta + 0.2 * rng.standard_normal(theta.shape)
    X = np.stack([radius * np.sin(theta), radius * np.cos(theta)], axis=1)
    if dim > 2:
        embedding, _ = np.linalg.qr(rng.standard_normal((dim, 2)))  # (D, 2), orthonormal columns
        X = X @ embedding.T
    return _shuffled(X, y, rng)


def blobs(num_per_class=100, num_classes=3, dim=2, seed=0, spread=1.0, separation=5.0):
    """Gaussian blobs: class k is centre_k + spread * standard normal noise.

    The centres sit on a circle (randomly rotated and, for dim > 2, embedded by a
    random orthonormal map) with neighbouring centres `separation` apart, so the
    classes are separable whatever the seed; in 1-D they sit on a line.

    Args:
        num_per_class: examples per class, default 100.
        num_classes: number of classes K, default 3.
        dim: input dimension D, default 2.
        seed: seed of the generator, default 0.
        spread: standard deviation of each blob, default 1.0.
        separation: distance between neighbouring centres, default 5.0.
    Returns:
        X of shape (K * num_per_class, D) float64, y of shape (K * num_per_class,) int64.
    """
    rng = np.random.default_rng(seed)
    if dim == 1:
        centres = separation * np.arange(num_classes, dtype=np.float64)[:, None]
    else:
        angles = 2 * np.pi * np.arange(num_classes) / num_classes + rng.uniform(0, 2 * np.pi)
        radius = separation / (2 * np.sin(np.pi / max(num_classes, 2)))
        centres = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
        if dim > 2:
            embedding, _ = np.linalg.qr(rng.standard_normal((dim, 2)))
            centres = centres @ embedding.T
    y = np.repeat(np.arange(num_classes), num_per_class)
    X = centres[y] + spread * rng.standard_normal((len(y), dim))
    return _shuffled(X, y, rng)


def tiny_images(num_per_class=100, num_classes=3, seed=0, noise=1.0):
    """Image-shaped data (N, 3, 8, 8): a fixed random pattern per class plus pixel noise.

    Args:
        num_per_class: examples per class, default 100.
        num_classes: number of classes K, default 3.
        seed: seed of the generator, default 0.
        noise: standard deviation of the per-pixel noise, default 1.0 (patterns have std 1).
    Returns:
        X of shape (K * num_per_class, 3, 8, 8) float64, y of shape (K * num_per_class,) int64.
    """
    rng = np.random.default_rng(seed)
    patterns = rng.standard_normal((num_classes, 3, 8, 8))
    y = np.repeat(np.arange(num_classes), num_per_class)
    X = patterns[y] + noise * rng.standard_normal((len(y), 3, 8, 8))
    return _shuffled(X, y, rng)


_GENERATORS = {"spiral": spiral, "blobs": blobs, "images": tiny_images}


def synthetic_data(kind="spiral", num_train=200, num_val=100, num_classes=3, seed=0, **options):
    """A data dict {"X_train", "y_train", "X_val", "y_val"} in the form the Solver expects.

    Args:
        kind: "spiral", "blobs" or "images" (tiny_images), default "spiral".
        num_train: training examples, default 200.
        num_val: validation examples, default 100.
        num_classes: number of classes, default 3.
        seed: seed of the generator, default 0.
        **options: passed on to the generator (dim, spread, noise).
    """
    if kind not in _GENERATORS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {sorted(_GENERATORS)}")
    total = num_train + num_val
    num_per_class = -(-total // num_classes)  # ceil: enough examples for both splits
    X, y = _GENERATORS[kind](num_per_class, num_classes, seed=seed, **options)
    return {"X_train": X[:num_train], "y_train": y[:num_train],
            "X_val": X[num_train:total], "y_val": y[num_train:total]}


def _load_cifar10_batch(path):
    with open(path, "rb") as f:
        batch = pickle.load(f, encoding="latin1")  # the batches were pickled by Python 2
    X = np.asarray(batch["data"], dtype=np.float64).reshape(-1, 3, 32, 32)
    y = np.asarray(batch["labels"], dtype=np.int64)
    return X, y


def load_cifar10(root, channels_first=True):
    """Read a local CIFAR-10 "python version" folder (data_batch_1..5, test_batch).

    Nothing is downloaded. The folder is the one unpacked from cifar-10-python.tar.gz,
    usually named cifar-10-batches-py.

    Args:
        root: path of the folder holding the batch files.
        channels_first: True (default) gives X as (N, 3, 32, 32), the models' layout;
            False gives (N, 32, 32, 3), the layout of the course's load_CIFAR10.
    Returns:
        X_train (50000, ...), y_train (50000,), X_test (10000, ...), y_test (10000,);
        X as float64 pixel values in [0, 255].
    """
    root = os.fspath(root)
    names = (*CIFAR10_TRAIN_BATCHES, CIFAR10_TEST_BATCH)
    missing = [name for name in names if not os.path.isfile(os.path.join(root, name))]
    if missing:
        raise FileNotFoundError(
            f"CIFAR-10 batches not found in folder {root!r} (missing: {', '.join(missing)}); "
            "point load_cifar10 at the unpacked cifar-10-batches-py folder of "
            "cifar-10-python.tar.gz (https://www.cs.toronto.edu/~kriz/cifar.html)")
    train = [_load_cifar10_batch(os.path.join(root, name)) for name in CIFAR10_TRAIN_BATCHES]
    X_train = np.concatenate([X for X, _ in train])
    y_train = np.concatenate([y for _, y in train])
    X_test, y_test = _load_cifar10_batch(os.path.join(root, CIFAR10_TEST_BATCH))
    if not channels_first:
        X_train, X_test = X_train.transpose(0, 2, 3, 1), X_test.transpose(0, 2, 3, 1)
    return X_train, y_train, X_test, y_test
