"""The `knn` suite: assignment 1's KNearestNeighbor (cs231n/classifiers/k_nearest_neighbor.py).

`clf.train(X, y)` memorises; `compute_distances_two_loops / one_loop / no_loops(X)` give the
(num_test, num_train) matrix of L2 distances; `predict_labels(dists, k)` votes among the k
nearest, ties to the smaller label; `predict(X, k, num_loops)` strings them together.
Each distance function is compared with the reference (so the three agree with each other);
the no-loops version must run no Python loop over the examples, which is measured by counting
the lines the student's code runs (checks/loops.py), never by timing it.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from sanitykit import reference as ref
from sanitykit.checks.blame import blamed_on
from sanitykit.checks.common import compare_arrays, expect_array, named
from sanitykit.checks.loops import growth, line_events
from sanitykit.checks.registry import CheckContext, SkipCheck, check
from sanitykit.engine.findings import Finding, Reason
from sanitykit.engine.results import ERROR, FAIL, Outcome, failed, passed, warned
from sanitykit.engine.usercode import NotImplementedYet, call_user

SUBJECT = "KNearestNeighbor"
NUM_TRAIN, NUM_TEST, DIM = 12, 5, 7
METHODS = {"two_loops": "compute_distances_two_loops", "one_loop": "compute_distances_one_loop",
           "no_loops": "compute_distances_no_loops"}
L2 = "dists[i, j] = np.sqrt(np.sum((X[i] - self.X_train[j]) ** 2))"


def trained(ctx: CheckContext, X_train: np.ndarray, y_train: np.ndarray) -> Any:
    """A fresh KNearestNeighbor of the user's, trained on copies of (X_train, y_train)."""
    cls = ctx.fn(SUBJECT)
    if not isinstance(cls, type):
        raise SkipCheck(f"{SUBJECT} is not a class")
    clf = call_user(cls, subject=SUBJECT)
    call_user(clf.train, X_train.copy(), y_train.copy(), subject=f"{SUBJECT}.train")
    return clf


def method(clf: Any, name: str) -> Any:
    """The bound method `name` of clf; SkipCheck when the class has none (another course year)."""
    bound = getattr(clf, name, None)
    if bound is None:
        raise SkipCheck(f"{SUBJECT} has no {name}", kind="missing", responsible=(f"{SUBJECT}.{name}",))
    return bound


def distances(clf: Any, name: str, X: np.ndarray) -> np.ndarray:
    """clf.<name>(X) as an ndarray; the starter's untouched zeros matrix is not implemented yet."""
    got = call_user(method(clf, name), X.copy(), subject=f"{SUBJECT}.{name}")
    got = expect_array(np.asarray(got) if isinstance(got, list) else got, "dists", subject=f"{SUBJECT}.{name}")
    if got.size and not np.any(got):
        raise NotImplementedYet(f"{SUBJECT}.{name}", "dists is still all zeros")
    return got


def data(ctx: CheckContext, num_train: int = NUM_TRAIN, num_test: int = NUM_TEST) -> tuple[np.ndarray, ...]:
    """Random training points, labels 0..3, and test points none of which equals a training point."""
    rng = ctx.rng
    return (rng.standard_normal((num_train, DIM)), rng.integers(4, size=num_train),
            rng.standard_normal((num_test, DIM)))


# ---------------------------------------------------------------- distances

def distance_mistake(got: np.ndarray, X: np.ndarray, X_train: np.ndarray) -> tuple[str, str] | None:
    """(pattern, fix) of a known wrong distance that equals `got`, or None."""
    diff = X[:, None, :] - X_train[None, :, :]
    squared = np.sum(diff ** 2, axis=2)
    variants = {
        "the square root is missing (squared distances)": squared,
        "the L1 distance (sum of |differences|) instead of L2": np.abs(diff).sum(axis=2),
        "the square root of the summed differences, not of their squares": np.sqrt(np.abs(diff.sum(axis=2))),
        "the cross term has the wrong sign: |x|^2 + 2 x.t + |t|^2": np.sqrt(np.maximum(
            (X ** 2).sum(1)[:, None] + 2 * X @ X_train.T + (X_train ** 2).sum(1)[None, :], 0)),
    }
    for words, variant in variants.items():
        if got.shape == variant.shape and np.allclose(got, variant, rtol=1e-6, atol=1e-9):
            return words, L2
    return None


def distances_check(ctx: CheckContext, topic: str) -> Outcome:
    """The user's distance matrix equals the reference's (num_test, num_train) L2 distances."""
    name = METHODS[topic]
    X_train, y_train, X = data(ctx)
    clf = trained(ctx, X_train, y_train)
    got = distances(clf, name, X)
    expected = ref.KNearestNeighbor.compute_distances_two_loops(_memorised(X_train, y_train), X)
    if got.shape == expected.T.shape and got.shape != expected.shape:
        return failed(Finding("transposed", f"{SUBJECT}.{name} returned dists of shape {got.shape}: "
                              f"(num_train, num_test), expected (num_test, num_train) = {expected.shape}",
                              fix="dists[i, j] is the distance of test point i to training point j", where=("dists",)))
    outcome = compare_arrays(got, expected, "dists", subject=f"{SUBJECT}.{name}", hint=L2,
                             what=f"{NUM_TEST} test and {NUM_TRAIN} training points")
    known = distance_mistake(got, X, X_train) if outcome.status == "fail" else None
    if known:
        outcome = named(outcome, "distance_formula")
        words, fix = known
        finding = outcome.finding
        return replace(failed(replace(finding, what=f"{finding.what}: {words}", fix=fix)), details=outcome.details)
    return outcome


def _memorised(X_train: np.ndarray, y_train: np.ndarray) -> Any:
    clf = ref.KNearestNeighbor()
    clf.train(X_train, y_train)
    return clf


def lines_run(ctx: CheckContext, name: str, num_train: int, num_test: int) -> int:
    """The Python lines the user's code runs for clf.<name>(X) at these sizes."""
    X_train, y_train, X = data(ctx, num_train, num_test)
    clf = trained(ctx, X_train, y_train)
    return line_events(method(clf, name), X, subject=f"{SUBJECT}.{name}", owns=ctx.target.owns_file)[1]


def no_loops_vectorised(ctx: CheckContext) -> Outcome:
    """compute_distances_no_loops runs as many Python lines for 4x the points as for 1x: no loop."""
    name = METHODS["no_loops"]
    over_test = growth(lambda n: lines_run(ctx, name, NUM_TRAIN, n), 4, 16)
    over_train = growth(lambda n: lines_run(ctx, name, n, 4), 6, 24)
    looping = [words for words, count in (("test", over_test), ("training", over_train)) if count.loops]
    if looping:
        count = over_test if looping[0] == "test" else over_train
        return failed(Finding("python_loop", f"{SUBJECT}.{name} runs {count.per_example:.1f} more Python lines per "
                              f"{looping[0]} point ({count.small} lines, then {count.large} for "
                              f"{count.added} more points): it loops over the {' and '.join(looping)} points",
                              fix="expand |x - t|^2 = |x|^2 - 2 x.t + |t|^2: dists = np.sqrt((X**2).sum(1)[:, None] "
                                  "- 2 * X @ self.X_train.T + (self.X_train**2).sum(1))", where=(name,)),
                      lines=[over_test.small, over_test.large, over_train.small, over_train.large])
    return passed(f"{name} runs {over_test.large} Python lines whatever the number of points: no loop")


def one_loop_loops(ctx: CheckContext) -> Outcome:
    """compute_distances_one_loop loops over the test points only (a warning when it loops over both)."""
    name = METHODS["one_loop"]
    over_train = growth(lambda n: lines_run(ctx, name, n, 4), 6, 24)
    if over_train.loops:
        return warned(Finding("python_loop", f"{SUBJECT}.{name} runs {over_train.per_example:.1f} more lines per "
                              "training point: it loops over the training points too (right numbers, two loops)",
                              fix="one loop over the test points: dists[i, :] = np.sqrt(np.sum((self.X_train - "
                                  "X[i]) ** 2, axis=1))", where=(name,)))
    return passed(f"{name} does not loop over the training points")


# ---------------------------------------------------------------- voting

def predict_labels(ctx: CheckContext, dists: np.ndarray, y_train: np.ndarray, k: int) -> np.ndarray:
    """The user's predict_labels(dists, k) after training on labels y_train, as an integer array."""
    clf = trained(ctx, np.zeros((len(y_train), 1)), y_train)
    got = call_user(method(clf, "predict_labels"), dists.copy(), k=k, subject=f"{SUBJECT}.predict_labels")
    if got is None:
        raise NotImplementedYet(f"{SUBJECT}.predict_labels", "returned None")
    return np.asarray(got)


def vote_problem(got: np.ndarray, expected: np.ndarray, dists: np.ndarray, y_train: np.ndarray, k: int,
                 case: str) -> Outcome | None:
    """A failed Outcome naming how the user's labels differ from the reference's, else None."""
    if got.shape != expected.shape:
        return failed(Finding("shape", f"{SUBJECT}.predict_labels returned labels of shape {got.shape} for "
                              f"{len(dists)} test points, expected {expected.shape}", where=("y_pred",)))
    if np.array_equal(got, expected):
        return None
    wrong = int(np.flatnonzero(got != expected)[0])
    order = np.argsort(dists[wrong], kind="stable")
    nearest, farthest = y_train[order[:k]], y_train[order[::-1][:k]]
    farthest_vote = ref.KNearestNeighbor.predict_labels(_memorised(np.zeros((len(y_train), 1)), y_train),
                                                        -dists, k=k)
    one_nearest = y_train[np.argmin(dists, axis=1)]
    if np.array_equal(got, farthest_vote):
        pattern, fix = "nearest_wrong", "the nearest have the smallest distances: np.argsort(dists[i])[:k]"
    elif case == "ties":
        # Checked before "k ignored": a first-met tie-break can equal the 1-NN labels on the ties case.
        pattern, fix = "tie_break", ("break ties by the smallest label: np.argmax(np.bincount(closest_y)) "
                                     "(Counter.most_common keeps the first label met, not the smallest)")
    elif k > 1 and np.array_equal(got, one_nearest):
        # Every label is the single nearest point's: k is never used (sliced [:1], or not passed on).
        pattern, fix = "nearest_wrong", (f"k={k} was asked, but every label is the nearest point's: take the k "
                                         "nearest, closest_y = self.y_train[np.argsort(dists[i])[:k]]")
    else:
        pattern, fix = "majority_vote", ("take the most common of the k labels: closest_y = self.y_train["
                                         "np.argsort(dists[i])[:k]]; y_pred[i] = np.argmax(np.bincount(closest_y))")
    return failed(Finding(pattern, f"{SUBJECT}.predict_labels with k={k} ({case}): test point {wrong} got "
                          f"{got[wrong]}, expected {expected[wrong]} (nearest labels {list(map(int, nearest))}, "
                          f"farthest {list(map(int, farthest))})", fix=fix, where=(f"y_pred[{wrong}]",)),
                  wrong=int(np.sum(got != expected)))


def majority_dists(rng: np.random.Generator, y_train: np.ndarray, k: int) -> np.ndarray:
    """Distances whose k nearest hold one label 3 times and two other labels once (no tie), shuffled."""
    dists = 10 + rng.uniform(0, 1, size=(6, len(y_train)))
    for i in range(len(dists)):
        winner, *others = rng.permutation(4)[:3]
        chosen = [*rng.choice(np.flatnonzero(y_train == winner), 3, replace=False),
                  *(rng.choice(np.flatnonzero(y_train == o)) for o in others)]
        dists[i, rng.permutation(chosen)] = np.arange(1.0, k + 1)
    return dists


def tied_dists(rng: np.random.Generator, y_train: np.ndarray) -> np.ndarray:
    """Distances whose 4 nearest hold two labels twice each, the larger label nearest first.

    A vote that keeps the first label it meets (Counter.most_common, a dict) picks the larger one.
    """
    dists = 50 + rng.uniform(0, 1, size=(4, len(y_train)))
    for i, (big, small) in enumerate([(3, 1), (2, 0), (3, 2), (1, 0)]):
        bigs, smalls = np.flatnonzero(y_train == big), np.flatnonzero(y_train == small)
        dists[i, [bigs[0], smalls[0], bigs[1], smalls[1]]] = [1.0, 2.0, 3.0, 4.0]
    return dists


VOTE_LABELS = np.array([0, 1, 2, 3] * 3)  # three of each label


def vote_check(ctx: CheckContext, case: str) -> Outcome:
    """predict_labels on distances built so the right vote is unmistakable ("majority") or tied ("ties")."""
    y_train = VOTE_LABELS
    k = 5 if case == "majority" else 4
    dists = majority_dists(ctx.rng, y_train, k) if case == "majority" else tied_dists(ctx.rng, y_train)
    expected = ref.KNearestNeighbor.predict_labels(_memorised(np.zeros((len(y_train), 1)), y_train), dists, k=k)
    got = predict_labels(ctx, dists, y_train, k)
    problem = vote_problem(got, expected, dists, y_train, k, case)
    if problem:
        return problem
    if case == "majority":
        k1 = predict_labels(ctx, dists, y_train, 1)
        nearest = y_train[np.argmin(dists, axis=1)]
        if not np.array_equal(k1, nearest):
            return failed(Finding("nearest_wrong", f"{SUBJECT}.predict_labels with k=1 does not give the label of "
                                  "the nearest training point",
                                  fix="np.argsort(dists[i])[:k] (ascending: nearest first)",
                                  where=("y_pred",)))
        return passed(f"majority of the k=5 nearest labels for {len(dists)} test points; k=1 gives the nearest's label")
    return passed("ties between two labels go to the smaller one, for every tied pair")


def failed_here(ctx: CheckContext, *check_ids: str) -> list[str]:
    """The ids among `check_ids` whose earlier results failed or errored."""
    return [i for i in check_ids if (r := ctx.results.get(i)) is not None and r.status in (FAIL, ERROR)]


def predict_check(ctx: CheckContext) -> Outcome:
    """predict(X, k, num_loops) gives the reference's labels with each distance function.

    A wrong distance function or vote makes predict wrong too: that failure is blamed on the
    check that already reports it (one bug, graded once).
    """
    X_train, y_train, X = data(ctx, 20, 6)
    clf = trained(ctx, X_train, y_train)
    expected = _memorised(X_train, y_train).predict(X, k=3)
    voting = failed_here(ctx, "knn.predict_labels.majority", "knn.predict_labels.ties")
    blamed: list[str] = []
    for num_loops, topic in ((0, "no_loops"), (1, "one_loop"), (2, "two_loops")):
        try:
            got = np.asarray(call_user(clf.predict, X.copy(), k=3, num_loops=num_loops, subject=f"{SUBJECT}.predict"))
        except NotImplementedYet:
            continue  # that distance function's own check says it is not written yet
        if got.shape == expected.shape and np.array_equal(got, expected):
            continue
        culprits = failed_here(ctx, f"knn.{topic}.distances") + voting
        if not culprits:
            k_lost = got.shape == expected.shape and np.array_equal(got, _memorised(X_train, y_train).predict(X, k=1))
            fix = ("predict passes k on: return self.predict_labels(dists, k=k)" if k_lost else
                   "predict computes the distances with the num_loops version asked for and "
                   "returns self.predict_labels(dists, k=k)")
            return failed(Finding("nearest_wrong" if k_lost else "majority_vote",
                                  f"{SUBJECT}.predict(X, k=3, num_loops={num_loops}) gave labels "
                                  f"{got.tolist()}, expected {expected.tolist()}"
                                  + ("; they are the k=1 labels: k is not passed on" if k_lost else ""),
                                  fix=fix, where=("y_pred",)))
        blamed += culprits
    if blamed:
        return blamed_on(Reason("blamed", (SUBJECT,), tuple(dict.fromkeys(blamed))))
    return passed("predict(X, k=3) gives the reference's labels with num_loops = 0, 1 and 2")


# ---------------------------------------------------------------- declarations

DISTANCES = "L2 distances match the reference (num_test, num_train)"


@check("knn.two_loops.distances", subject=SUBJECT, title=DISTANCES)
def two_loops_distances(ctx: CheckContext) -> Outcome:
    return distances_check(ctx, "two_loops")


@check("knn.one_loop.distances", subject=SUBJECT, title=DISTANCES)
def one_loop_distances(ctx: CheckContext) -> Outcome:
    return distances_check(ctx, "one_loop")


@check("knn.one_loop.loops", subject=SUBJECT, title="loops over the test points only",
       depends_on=("knn.one_loop.distances",))
def one_loop_loop_count(ctx: CheckContext) -> Outcome:
    return one_loop_loops(ctx)


@check("knn.no_loops.distances", subject=SUBJECT, title=DISTANCES)
def no_loops_distances(ctx: CheckContext) -> Outcome:
    return distances_check(ctx, "no_loops")


@check("knn.no_loops.vectorised", subject=SUBJECT, title="no Python loop over the points (lines counted)",
       depends_on=("knn.no_loops.distances",))
def no_loops_no_python_loop(ctx: CheckContext) -> Outcome:
    return no_loops_vectorised(ctx)


@check("knn.predict_labels.majority", subject=SUBJECT, title="votes the most common of the k nearest labels")
def predict_labels_majority(ctx: CheckContext) -> Outcome:
    return vote_check(ctx, "majority")


@check("knn.predict_labels.ties", subject=SUBJECT, title="breaks ties by the smaller label",
       depends_on=("knn.predict_labels.majority",))
def predict_labels_ties(ctx: CheckContext) -> Outcome:
    return vote_check(ctx, "ties")


@check("knn.predict.labels", subject=SUBJECT, title="predict(X, k, num_loops) gives the right labels",
       reads=("knn.two_loops.distances", "knn.one_loop.distances", "knn.no_loops.distances",
              "knn.predict_labels.majority"))
def predict_labels_end_to_end(ctx: CheckContext) -> Outcome:
    return predict_check(ctx)
