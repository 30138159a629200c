"""k-nearest-neighbour classifier with L2 distance (CS231n assignment 1, cs231n/classifiers/k_nearest_neighbor.py).

The three distance functions give the same matrix (up to rounding): two loops, one loop
over test points, and none, through |x - t|^2 = |x|^2 - 2 x.t + |t|^2.
Inputs are used as float64: raw CIFAR pixels may arrive as uint8, whose squares wrap around.
"""
import numpy as np

__all__ = ["KNearestNeighbor"]


class KNearestNeighbor:
    """A kNN classifier: train memorises the data, predict votes among the k closest."""

    def __init__(self):
        self.X_train = None
        self.y_train = None

    def train(self, X, y):
        """Memorise the training data.

        Args:
            X: training data of shape (num_train, D).
            y: integer labels of shape (num_train,), 0 <= y[i] < C.
        """
        self.X_train = np.asarray(X, dtype=np.float64)
        self.y_train = np.asarray(y)

    def predict(self, X, k=1, num_loops=0):
        """Predicted labels of shape (num_test,) for the rows of X.

        Args:
            X: test data of shape (num_test, D).
            k: number of neighbours that vote, default 1.
            num_loops: which distance implementation, 0 (default), 1 or 2.
        """
        if num_loops == 0:
            dists = self.compute_distances_no_loops(X)
        elif num_loops == 1:
            dists = self.compute_distances_one_loop(X)
        elif num_loops == 2:
            dists = self.compute_distances_two_loops(X)
        else:
            raise ValueError(f"Invalid value {num_loops} for num_loops")
        return self.predict_labels(dists, k=k)

    def compute_distances_two_loops(self, X):
        """L2 distances (num_test, num_train), one pair of points at a time.

        Args:
            X: test data of shape (num_test, D).
        """
        X = np.asarray(X, dtype=np.float64)
        dists = np.zeros((X.shape[0], self.X_train.shape[0]))
        for i in range(X.shape[0]):
            for j in range(self.X_train.shape[0]):
                dists[i, j] = np.sqrt(np.sum((X[i] - self.X_train[j]) ** 2))
        return dists

    def compute_distances_one_loop(self, X):
        """L2 distances (num_test, num_train), one test point against all training points at a time.

        Args:
            X: test data of shape (num_test, D).
        """
        X = np.asarray(X, dtype=np.float64)
        dists = np.zeros((X.shape[0], self.X_train.shape[0]))
        for i in range(X.shape[0]):
            dists[i] = np.sqrt(np.sum((self.X_train - X[i]) ** 2, axis=1))
        return dists

    def compute_distances_no_loops(self, X):
        """L2 distances (num_test, num_train) with matrix products only, no Python loop.

        Args:
            X: test data of shape (num_test, D).
        """
        X = np.asarray(X, dtype=np.float64)
        squared = (np.sum(X ** 2, axis=1)[:, None]
                   - 2 * X @ self.X_train.T
                   + np.sum(self.X_train ** 2, axis=1)[None, :])
        # Cancellation can leave tiny negatives where a distance is 0; sqrt would give nan.
        return np.sqrt(np.maximum(squared, 0))

    def predict_labels(self, dists, k=1):
        """The majority label among each test point's k nearest training points, shape (num_test,).

        Ties between labels go to the smaller label, as the course asks.

        Args:
            dists: distances of shape (num_test, num_train).
            k: number of neighbours that vote, default 1.
        """
        num_test = dists.shape[0]
        # A stable sort keeps training order among equal distances, so results are repeatable.
        nearest = np.argsort(dists, axis=1, kind="stable")[:, :k]
        closest_y = self.y_train[nearest]  # (num_test, k)
        votes = np.zeros((num_test, int(self.y_train.max()) + 1), dtype=np.int64)
        np.add.at(votes, (np.arange(num_test)[:, None], closest_y), 1)
        # argmax returns the first maximum: the smaller label wins a tie (np.argmax(np.bincount(...))).
        return np.argmax(votes, axis=1)
