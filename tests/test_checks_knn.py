"""The knn suite: passes on the reference, counts the lines of a "no loops" that loops, names vote bugs."""
from collections import Counter

import numpy as np

import sanitykit.reference as reference
import sanitykit.checks.knn  # noqa: F401 - declares the suite
from sanitykit.checks.registry import REGISTRY, CheckContext, DictTarget
from sanitykit.engine.results import CheckResult
from sanitykit.reference import KNearestNeighbor


def run(check_id, cls=KNearestNeighbor, results=None):
    target = DictTarget({"KNearestNeighbor": cls})
    return REGISTRY[check_id].func(CheckContext(target, seed=0, results=results or {}))


def test_every_knn_check_passes_on_the_reference():
    ids = [spec.id for spec in REGISTRY.values() if spec.suite == "knn"]
    assert {i: run(i).status for i in ids} == {i: "pass" for i in ids}


class LoopingNoLoops(KNearestNeighbor):
    """Right distances, but a comprehension over the test points (lines of this file are counted)."""

    def compute_distances_no_loops(self, X):
        return np.array([np.sqrt(np.sum((self.X_train - x) ** 2, axis=1)) for x in X])


class SquaredTwoLoops(KNearestNeighbor):
    def compute_distances_two_loops(self, X):
        return super().compute_distances_two_loops(X) ** 2


class NegatedTwoLoops(KNearestNeighbor):
    """dists = -|x - t|: the nearest become the farthest, and predict(num_loops=2) goes wrong."""

    def compute_distances_two_loops(self, X):
        return -super().compute_distances_two_loops(X)


class CounterVotes(KNearestNeighbor):
    """Counter.most_common keeps the first label met: ties go to the nearest label, not the smallest."""

    def predict_labels(self, dists, k=1):
        closest = self.y_train[np.argsort(dists, axis=1)[:, :k]]
        return np.array([Counter(row.tolist()).most_common(1)[0][0] for row in closest])


class Farthest(KNearestNeighbor):
    def predict_labels(self, dists, k=1):
        return super().predict_labels(-dists, k=k)


def test_a_no_loops_that_loops_is_found_by_counting_lines_not_by_timing():
    assert run("knn.no_loops.distances", LoopingNoLoops).status == "pass"
    outcome = run("knn.no_loops.vectorised", LoopingNoLoops)
    assert outcome.status == "fail"
    assert outcome.finding.pattern == "python_loop"
    small, large = outcome.details["lines"][:2]
    assert large > small


def test_squared_distances_are_named():
    outcome = run("knn.two_loops.distances", SquaredTwoLoops)
    assert outcome.finding.pattern == "distance_formula"
    assert "square root is missing" in outcome.message


def test_counter_ties_pass_the_majority_and_fail_the_ties():
    assert run("knn.predict_labels.majority", CounterVotes).status == "pass"
    outcome = run("knn.predict_labels.ties", CounterVotes)
    assert outcome.status == "fail"
    assert outcome.finding.pattern == "tie_break"


def test_the_farthest_neighbours_are_named():
    assert run("knn.predict_labels.majority", Farthest).finding.pattern == "nearest_wrong"


def test_predict_is_blamed_on_the_distance_function_that_failed():
    failed = {"knn.two_loops.distances": CheckResult("knn.two_loops.distances", "knn", "KNearestNeighbor",
                                                     "fail", "distances", "dists differ")}
    outcome = run("knn.predict.labels", NegatedTwoLoops, results=failed)
    assert outcome.status == "skip"
    assert outcome.reason.kind == "blamed"
    assert outcome.reason.see == ("knn.two_loops.distances",)
    # With no failure on record, predict's wrong labels are its own failure.
    assert run("knn.predict.labels", NegatedTwoLoops).status == "fail"
