"""Reference synthetic data, CIFAR-10 loader and preprocessing (train statistics only)."""
import pickle

import numpy as np
import pytest

from sanitykit.reference.data import blobs, load_cifar10, spiral, synthetic_data, tiny_images
from sanitykit.reference.preprocessing import (fit_channel_mean, subtract_channel_mean,
                                               subtract_mean_image)


@pytest.mark.parametrize("make, kwargs, x_shape", [
    (spiral, {"num_per_class": 20, "num_classes": 4, "dim": 2}, (80, 2)),
    (spiral, {"num_per_class": 20, "num_classes": 3, "dim": 6}, (60, 6)),
    (blobs, {"num_per_class": 10, "num_classes": 5, "dim": 7}, (50, 7)),
    (blobs, {"num_per_class": 10, "num_classes": 2, "dim": 1}, (20, 1)),
    (tiny_images, {"num_per_class": 10, "num_classes": 3}, (30, 3, 8, 8)),
])
def test_generators_are_shaped_balanced_and_deterministic(make, kwargs, x_shape):
    X, y = make(seed=1, **kwargs)
    assert X.shape == x_shape and X.dtype == np.float64
    assert y.shape == (x_shape[0],) and np.issubdtype(y.dtype, np.integer)
    assert np.all(np.bincount(y) == kwargs["num_per_class"])
    X2, y2 = make(seed=1, **kwargs)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    X3, _ = make(seed=2, **kwargs)
    assert not np.array_equal(X, X3)


def test_generators_leave_global_random_state_alone():
    state = np.random.get_state()[1].copy()
    spiral(seed=0), blobs(seed=0), tiny_images(seed=0)
    assert np.array_equal(np.random.get_state()[1], state)


def test_spiral_points_lie_within_unit_radius():
    X, _ = spiral(num_per_class=50, dim=5, seed=0)
    # The embedding is orthonormal, so norms are those of the 2-D spiral, radius <= 1.
    assert np.max(np.linalg.norm(X, axis=1)) <= 1 + 1e-12


@pytest.mark.parametrize("make", [blobs, tiny_images])
def test_class_structure_is_learnable_by_nearest_class_mean(make):
    X, y = make(num_per_class=100, num_classes=3, seed=0)
    X = X.reshape(len(y), -1)
    Xtr, ytr, Xte, yte = X[:200], y[:200], X[200:], y[200:]
    means = np.stack([Xtr[ytr == k].mean(axis=0) for k in range(3)])
    predicted = np.argmin(((Xte[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    assert np.mean(predicted == yte) > 0.9


def test_synthetic_data_has_solver_keys_and_sizes():
    data = synthetic_data("images", num_train=50, num_val=20, num_classes=4, seed=0)
    assert set(data) == {"X_train", "y_train", "X_val", "y_val"}
    assert data["X_train"].shape == (50, 3, 8, 8) and data["y_val"].shape == (20,)
    with pytest.raises(ValueError, match="kind"):
        synthetic_data("moons")


def test_load_cifar10_missing_folder_names_it(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    with pytest.raises(FileNotFoundError, match="cifar-10-batches-py"):
        load_cifar10(folder)


def test_load_cifar10_reads_python_batches(tmp_path):
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"data": rng.integers(0, 256, (2, 3072), dtype=np.uint8), "labels": [1, 7]}
        with open(tmp_path / name, "wb") as f:
            pickle.dump(batch, f)
    X_train, y_train, X_test, y_test = load_cifar10(tmp_path)
    assert X_train.shape == (10, 3, 32, 32) and X_test.shape == (2, 3, 32, 32)
    assert list(y_test) == [1, 7]
    # Row layout of a CIFAR batch: 1024 red values, then green, then blue, each row-major.
    with open(tmp_path / "test_batch", "rb") as f:
        raw = pickle.load(f)["data"]
    assert X_test[1, 2, 0, 5] == raw[1, 2 * 1024 + 5]
    X_hwc = load_cifar10(tmp_path, channels_first=False)[2]
    assert X_hwc.shape == (2, 32, 32, 3) and X_hwc[1, 0, 5, 2] == raw[1, 2 * 1024 + 5]


def test_mean_image_comes_from_train_only():
    X_train = np.array([[1.0, 2.0], [3.0, 4.0]])       # mean (2, 3)
    X_val = np.array([[10.0, 10.0]])
    X_test = np.array([[0.0, 0.0], [2.0, 3.0]])
    before = (X_train.copy(), X_val.copy(), X_test.copy())
    tr, va, te = subtract_mean_image(X_train, X_val, X_test)
    assert np.array_equal(tr, [[-1.0, -1.0], [1.0, 1.0]])
    assert np.array_equal(va, [[8.0, 7.0]])
    assert np.array_equal(te, [[-2.0, -3.0], [0.0, 0.0]])
    for original, copy in zip((X_train, X_val, X_test), before):
        assert np.array_equal(original, copy)


def test_channel_mean_comes_from_train_only():
    X_train = np.zeros((2, 3, 2, 2))
    X_train[:, 1] = 5.0                     # channel means (0, 5, 0)
    X_train[0, 2] = 4.0                     # channel 2: half the examples at 4 -> mean 2
    X_val = np.ones((1, 3, 2, 2))
    assert np.array_equal(fit_channel_mean(X_train).ravel(), [0.0, 5.0, 2.0])
    tr, va = subtract_channel_mean(X_train, X_val)
    assert np.array_equal(va[0, :, 0, 0], [1.0, -4.0, -1.0])
    assert np.array_equal(tr[1, :, 1, 1], [0.0, 0.0, -2.0])
    assert np.array_equal(X_val, np.ones((1, 3, 2, 2)))
