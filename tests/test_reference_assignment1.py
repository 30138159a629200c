"""The assignment-1 reference (kNN, linear SVM / softmax, LinearClassifier, A1 TwoLayerNet) against
independent oracles: numerical gradients, values by hand, the course notebook's published numbers."""
import math

import numpy as np
import pytest

import sanitykit.reference as reference
from sanitykit import numerical_gradient, rel_error
from sanitykit.reference import (A1TwoLayerNet, KNearestNeighbor, LinearClassifier, LinearSVM, Softmax,
                                 blobs, softmax_loss_naive, softmax_loss_vectorized, spiral,
                                 svm_loss_naive, svm_loss_vectorized)
from sanitykit.reference.classifiers import fc_net, neural_net

GRAD_TOL = 1e-7
SAME_TOL = 1e-10

SVM_LOSSES = [svm_loss_naive, svm_loss_vectorized]
SOFTMAX_LOSSES = [softmax_loss_naive, softmax_loss_vectorized]
LINEAR_LOSSES = SVM_LOSSES + SOFTMAX_LOSSES


def linear_problem(seed=0, N=6, D=5, C=4):
    """W (D, C), X (N, D), y (N,) in float64."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((D, C)), rng.standard_normal((N, D)), rng.integers(0, C, size=N)


def min_hinge_distance(W, X, y):
    """Smallest |margin| over the competing classes: how far the data sit from the hinge's kinks."""
    scores = X @ W
    margins = scores - scores[np.arange(len(y)), y][:, None] + 1
    margins[np.arange(len(y)), y] = np.inf
    return np.abs(margins).min()


def with_bias_column(X):
    """The course's bias trick: a column of ones, so W's last row is the bias."""
    return np.hstack([X, np.ones((X.shape[0], 1))])


# ---------------------------------------------------------------- linear losses

@pytest.mark.parametrize("loss_fn", LINEAR_LOSSES, ids=lambda f: f.__name__)
@pytest.mark.parametrize("reg", [0.0, 0.7])
def test_linear_loss_gradient_matches_numerical_gradient(loss_fn, reg):
    W, X, y = linear_problem()
    assert min_hinge_distance(W, X, y) > 1e-3  # central differences never straddle a kink
    _, dW = loss_fn(W, X, y, reg)
    numerical = numerical_gradient(lambda W: loss_fn(W, X, y, reg)[0], W)
    assert dW.shape == W.shape
    assert rel_error(dW, numerical) < GRAD_TOL


@pytest.mark.parametrize("naive, vectorized", [(svm_loss_naive, svm_loss_vectorized),
                                               (softmax_loss_naive, softmax_loss_vectorized)],
                         ids=["svm", "softmax"])
def test_naive_and_vectorized_losses_agree(naive, vectorized):
    W, X, y = linear_problem(seed=3, N=20, D=7, C=5)
    loss_naive, dW_naive = naive(W, X, y, 0.3)
    loss_vec, dW_vec = vectorized(W, X, y, 0.3)
    assert abs(loss_naive - loss_vec) < SAME_TOL
    assert rel_error(dW_naive, dW_vec) < SAME_TOL


@pytest.mark.parametrize("loss_fn", LINEAR_LOSSES, ids=lambda f: f.__name__)
def test_regularisation_is_reg_sum_w_squared_with_gradient_2_reg_w(loss_fn):
    # The 2017+ convention (winter 2016 had 0.5 * reg and reg * W).
    W, X, y = linear_problem(seed=1)
    reg = 0.25
    loss0, dW0 = loss_fn(W, X, y, 0.0)
    loss, dW = loss_fn(W, X, y, reg)
    assert loss - loss0 == pytest.approx(reg * np.sum(W * W), rel=1e-12)
    assert rel_error(dW - dW0, 2 * reg * W) < SAME_TOL


@pytest.mark.parametrize("loss_fn", SVM_LOSSES, ids=lambda f: f.__name__)
@pytest.mark.parametrize("C", [3, 10])
def test_svm_loss_at_zero_weights_is_c_minus_1(loss_fn, C):
    # Every competing score equals the correct one, so each of the C - 1 margins is delta = 1;
    # the regularisation term is 0 at W = 0 whatever reg.
    _, X, y = linear_problem(C=C)
    loss, _ = loss_fn(np.zeros((X.shape[1], C)), X, y, 0.5)
    assert loss == pytest.approx(C - 1)


@pytest.mark.parametrize("loss_fn", SVM_LOSSES, ids=lambda f: f.__name__)
def test_svm_loss_by_hand(loss_fn):
    # One example, X = [1], W = [3, 2.5, -1]: scores 3, 2.5, -1; margins 0.5 and -3.
    W, X, y = np.array([[3.0, 2.5, -1.0]]), np.array([[1.0]]), np.array([0])
    loss, dW = loss_fn(W, X, y, 0.0)
    assert loss == pytest.approx(0.5)
    assert np.array_equal(dW, [[-1.0, 1.0, 0.0]])


@pytest.mark.parametrize("loss_fn", SOFTMAX_LOSSES, ids=lambda f: f.__name__)
@pytest.mark.parametrize("C", [3, 10])
def test_softmax_loss_at_tiny_weights_is_about_log_c(loss_fn, C):
    # The course's sanity check: near-equal scores give p = 1/C for every class.
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((50, 8)), rng.integers(0, C, size=50)
    loss, _ = loss_fn(1e-4 * rng.standard_normal((8, C)), X, y, 0.0)
    assert loss == pytest.approx(math.log(C), abs=1e-3)


@pytest.mark.parametrize("loss_fn", SOFTMAX_LOSSES, ids=lambda f: f.__name__)
def test_softmax_loss_is_finite_on_huge_scores(loss_fn):
    W = np.array([[1e4, 0.0, -1e4]])
    X, y = np.array([[1.0], [-1.0]]), np.array([1, 1])  # correct score 0, max score 1e4 for both
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, dW = loss_fn(W, X, y, 0.0)
    # -log softmax = gap to the max score: 1e4 for each example, averaged over N = 2
    assert loss == pytest.approx(1e4)
    assert np.isfinite(dW).all()


# ---------------------------------------------------------------- LinearClassifier

@pytest.mark.parametrize("classifier", [LinearSVM, Softmax])
def test_linear_classifier_training_lowers_the_loss_on_separable_blobs(classifier):
    X, y = blobs(num_per_class=50, num_classes=3, seed=0)
    X = with_bias_column(X)
    model = classifier()
    history = model.train(X, y, learning_rate=0.1, reg=1e-4, num_iters=200, batch_size=50, seed=0)
    assert len(history) == 200
    assert model.W.shape == (3, 3)
    assert np.mean(history[-20:]) < 0.2 * history[0]
    assert np.mean(model.predict(X) == y) > 0.95


def test_linear_classifier_starts_from_small_weights_and_keeps_them_across_calls():
    X, y = linear_problem()[1:]
    model = LinearSVM()
    model.train(X, y, num_iters=0, seed=0)
    assert model.W.shape == (5, y.max() + 1)
    assert np.abs(model.W).max() < 0.01  # 0.001 * randn
    W = model.W
    model.train(X, y, num_iters=1, seed=1)
    assert model.W is W  # trained further, not re-initialised


def test_linear_classifier_seed_repeats_the_courses_global_seed_run_and_leaves_global_state():
    X, y = blobs(num_per_class=20, seed=1)
    X = with_bias_column(X)
    saved = np.random.get_state()
    try:
        np.random.seed(5)
        course = Softmax()
        course_history = course.train(X, y, num_iters=30, batch_size=10)
        np.random.seed(99)
        before = np.random.get_state()[1].copy()
        seeded = Softmax()
        seeded_history = seeded.train(X, y, num_iters=30, batch_size=10, seed=5)
        assert np.array_equal(np.random.get_state()[1], before)
    finally:
        np.random.set_state(saved)
    assert seeded_history == course_history
    assert np.array_equal(seeded.W, course.W)


def test_base_linear_classifier_has_no_loss():
    with pytest.raises(NotImplementedError):
        LinearClassifier().loss(np.zeros((1, 2)), np.zeros(1, dtype=int), 0.0)


# ---------------------------------------------------------------- kNN

def test_knn_distance_functions_agree_with_each_other():
    rng = np.random.default_rng(0)
    knn = KNearestNeighbor()
    knn.train(rng.standard_normal((15, 6)), rng.integers(0, 3, size=15))
    X = rng.standard_normal((7, 6))
    two = knn.compute_distances_two_loops(X)
    one = knn.compute_distances_one_loop(X)
    none = knn.compute_distances_no_loops(X)
    assert two.shape == (7, 15)
    assert rel_error(one, two) < SAME_TOL
    assert np.allclose(none, two, rtol=1e-10, atol=1e-7)
    # and the brute definition, element by element
    assert two[3, 9] == pytest.approx(np.sqrt(np.sum((X[3] - knn.X_train[9]) ** 2)))


def test_knn_no_loops_distance_to_itself_is_zero_not_nan():
    X = 1e3 + np.random.default_rng(0).standard_normal((5, 4))  # large norms: |x|^2 - 2x.x + |x|^2 cancels
    knn = KNearestNeighbor()
    knn.train(X, np.arange(5))
    dists = knn.compute_distances_no_loops(X)
    assert not np.isnan(dists).any() and (dists >= 0).all()
    assert np.allclose(np.diag(dists), 0, atol=1e-4)


def test_knn_uint8_pixels_do_not_wrap_around():
    knn = KNearestNeighbor()
    knn.train(np.array([[0, 0]], dtype=np.uint8), np.array([0]))
    for loops in (0, 1, 2):
        dists = getattr(knn, ["compute_distances_no_loops", "compute_distances_one_loop",
                              "compute_distances_two_loops"][loops])(np.array([[200, 0]], dtype=np.uint8))
        assert dists[0, 0] == pytest.approx(200.0)


def test_knn_predict_labels_breaks_ties_toward_the_smaller_label():
    knn = KNearestNeighbor()
    knn.train(np.zeros((5, 1)), np.array([2, 0, 1, 2, 0]))
    # nearest first: training points 3 (label 2), 1 (0), 0 (2), 4 (0), 2 (1)
    dists = np.array([[3.0, 2.0, 5.0, 1.0, 4.0]])
    assert knn.predict_labels(dists, k=1).tolist() == [2]
    assert knn.predict_labels(dists, k=3).tolist() == [2]      # votes 2, 0, 2
    assert knn.predict_labels(dists, k=4).tolist() == [0]      # 2 votes each for 0 and 2: smaller wins
    assert knn.predict_labels(dists, k=5).tolist() == [0]      # 2, 2, 1: a tie between 0 and 2 again


def test_knn_with_k_1_predicts_each_training_point_as_its_own_label():
    X, y = blobs(num_per_class=10, num_classes=4, seed=2)
    knn = KNearestNeighbor()
    knn.train(X, y)
    for loops in (0, 1, 2):
        assert np.array_equal(knn.predict(X, k=1, num_loops=loops), y)


def test_knn_rejects_an_unknown_num_loops():
    knn = KNearestNeighbor()
    knn.train(np.zeros((2, 1)), np.array([0, 1]))
    with pytest.raises(ValueError, match="num_loops"):
        knn.predict(np.zeros((1, 1)), num_loops=3)


# ---------------------------------------------------------------- assignment 1's TwoLayerNet

def nudged_net(seed=0):
    """A small A1TwoLayerNet with nonzero biases, so no hidden unit sits at the ReLU kink."""
    net = A1TwoLayerNet(5, 6, 4, std=0.5, seed=seed)
    rng = np.random.default_rng(seed + 1)
    net.params["b1"] = net.params["b1"] + 0.1 * rng.standard_normal(6)
    net.params["b2"] = net.params["b2"] + 0.1 * rng.standard_normal(4)
    return net


@pytest.mark.parametrize("reg", [0.0, 0.05, 1.3])
def test_a1_two_layer_net_gradients_match_numerical_gradients(reg):
    # seed 3: no gradient element lies within rounding of 0, where rel_error compares noise
    net = nudged_net(seed=3)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((4, 5)), np.array([0, 3, 1, 3])
    hidden_in = X @ net.params["W1"] + net.params["b1"]
    assert np.abs(hidden_in).min() > 1e-3  # far from the kink at the step h = 1e-5
    _, grads = net.loss(X, y, reg=reg)
    assert sorted(grads) == ["W1", "W2", "b1", "b2"]
    for name, param in net.params.items():
        numerical = numerical_gradient(lambda _: net.loss(X, y, reg=reg)[0], param)
        assert rel_error(grads[name], numerical) < GRAD_TOL, name


def course_toy_model_and_data():
    """The notebook's toy problem: np.random.seed(0) before the net, np.random.seed(1) before X.

    RandomState(seed) draws exactly what np.random.seed(seed) would, without touching the
    global state (so not default_rng: these must be the course's numbers).
    """
    net = A1TwoLayerNet(4, 10, 3, std=1e-1, seed=0)
    X = 10 * np.random.RandomState(1).randn(5, 4)
    return net, X, np.array([0, 1, 2, 2, 1])


def test_a1_two_layer_net_reproduces_the_notebooks_toy_scores_and_loss():
    net, X, y = course_toy_model_and_data()
    correct_scores = np.asarray([  # published in two_layer_net.ipynb
        [-0.81233741, -1.27654624, -0.70335995],
        [-0.17129677, -1.18803311, -0.47310444],
        [-0.51590475, -1.01354314, -0.8504215],
        [-0.15419291, -0.48629638, -0.52901952],
        [-0.00618733, -0.12435261, -0.15226949]])
    assert np.sum(np.abs(net.loss(X) - correct_scores)) < 1e-7
    # 2017+: reg=0.05 gives 1.30378789133; winter 2016's 0.5 * reg convention got it with reg=0.1.
    loss, _ = net.loss(X, y, reg=0.05)
    assert abs(loss - 1.30378789133) < 1e-10


def test_a1_two_layer_net_regularises_weights_not_biases():
    net = nudged_net()
    X, y = np.random.default_rng(0).standard_normal((4, 5)), np.array([0, 3, 1, 3])
    loss0, grads0 = net.loss(X, y, reg=0.0)
    loss, grads = net.loss(X, y, reg=0.2)
    p = net.params
    assert loss - loss0 == pytest.approx(0.2 * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2)), rel=1e-12)
    for name in ("W1", "W2"):
        assert rel_error(grads[name] - grads0[name], 2 * 0.2 * p[name]) < SAME_TOL
    for name in ("b1", "b2"):
        assert np.array_equal(grads[name], grads0[name])


def test_a1_two_layer_net_trains_to_high_accuracy_on_a_spiral():
    X, y = spiral(num_per_class=50, num_classes=3, seed=0)
    net = A1TwoLayerNet(2, 50, 3, std=1.0, seed=0)
    stats = net.train(X, y, X, y, learning_rate=1.0, learning_rate_decay=0.99, reg=1e-4,
                      num_iters=1000, batch_size=150, seed=1)
    assert sorted(stats) == ["loss_history", "train_acc_history", "val_acc_history"]
    assert len(stats["loss_history"]) == 1000
    assert np.mean(stats["loss_history"][-50:]) < 0.3 * stats["loss_history"][0]
    assert np.mean(net.predict(X) == y) > 0.95


def test_a1_two_layer_net_records_accuracies_and_decays_the_rate_once_an_epoch():
    X, y = spiral(num_per_class=50, num_classes=3, seed=0)  # 150 examples: 3 iterations per epoch of 50
    net = A1TwoLayerNet(2, 8, 3, std=0.5, seed=0)
    stats = net.train(X, y, X[:20], y[:20], num_iters=10, batch_size=50, seed=0)
    assert len(stats["train_acc_history"]) == len(stats["val_acc_history"]) == 4  # iterations 0, 3, 6, 9
    # With decay 0 the rate is 0 after the first epoch mark, which follows the first update:
    frozen, one_step = A1TwoLayerNet(2, 8, 3, std=0.5, seed=0), A1TwoLayerNet(2, 8, 3, std=0.5, seed=0)
    frozen.train(X, y, X, y, learning_rate=0.5, learning_rate_decay=0.0, num_iters=5, batch_size=50, seed=0)
    one_step.train(X, y, X, y, learning_rate=0.5, num_iters=1, batch_size=50, seed=0)
    for name in frozen.params:
        assert np.array_equal(frozen.params[name], one_step.params[name])


def test_a1_two_layer_net_predict_is_the_argmax_of_the_scores():
    net, X, _ = course_toy_model_and_data()
    assert np.array_equal(net.predict(X), np.argmax(net.loss(X), axis=1))


def test_flat_names_keep_assignment_2s_two_layer_net():
    assert reference.TwoLayerNet is fc_net.TwoLayerNet
    assert reference.A1TwoLayerNet is neural_net.TwoLayerNet
