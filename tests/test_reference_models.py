"""Reference models against numerical gradients, log(C) initial loss and their init contract."""
import numpy as np
import pytest

from sanitykit import numerical_gradient, rel_error
from sanitykit.reference.classifiers import fc_net
from sanitykit.reference.classifiers.cnn import ThreeLayerConvNet
from sanitykit.reference.classifiers.fc_net import FullyConnectedNet, TwoLayerNet


def max_param_grad_error(model, X, y):
    """Largest rel_error between the model's analytic and numerical gradient over all params."""
    _, grads = model.loss(X, y)
    errors = {}
    for name, param in model.params.items():
        # numerical_gradient perturbs the very array the model reads, in place.
        numeric = numerical_gradient(lambda _: model.loss(X, y)[0], param)
        errors[name] = rel_error(grads[name], numeric)
    return max(errors.values()), errors


def nudge_biases(model, rng):
    # Nonzero biases keep ReLU inputs away from the kink at 0, where central differences lie.
    for name in model.params:
        if name.startswith("b"):
            model.params[name] = model.params[name] + 0.1 * rng.standard_normal(model.params[name].shape)


@pytest.fixture
def small_batch():
    rng = np.random.default_rng(0)
    return rng.standard_normal((3, 5)), np.array([0, 3, 1])


@pytest.mark.parametrize("normalization", [None, "batchnorm", "layernorm"])
@pytest.mark.parametrize("dropout_keep_ratio", [1, 0.5])
@pytest.mark.parametrize("reg", [0.0, 3.14])
def test_fully_connected_net_gradients(normalization, dropout_keep_ratio, reg, small_batch):
    X, y = small_batch
    model = FullyConnectedNet([4, 3], input_dim=5, num_classes=4, normalization=normalization,
                              dropout_keep_ratio=dropout_keep_ratio, reg=reg, weight_scale=0.5,
                              dtype=np.float64, seed=1)
    nudge_biases(model, np.random.default_rng(2))
    worst, errors = max_param_grad_error(model, X, y)
    assert worst < 1e-6, errors


def test_two_layer_net_gradients(small_batch):
    X, y = small_batch
    for reg in (0.0, 0.7):
        model = TwoLayerNet(input_dim=5, hidden_dim=6, num_classes=4, weight_scale=0.5, reg=reg, seed=0)
        nudge_biases(model, np.random.default_rng(1))
        worst, errors = max_param_grad_error(model, X, y)
        assert worst < 1e-6, errors


def test_three_layer_conv_net_gradients():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((2, 3, 8, 8)), np.array([1, 2])
    model = ThreeLayerConvNet(input_dim=(3, 8, 8), num_filters=2, filter_size=3, hidden_dim=5,
                              num_classes=3, weight_scale=0.3, reg=0.5, dtype=np.float64, seed=0)
    nudge_biases(model, rng)
    worst, errors = max_param_grad_error(model, X, y)
    assert worst < 1e-6, errors


def test_three_layer_conv_net_shapes():
    model = ThreeLayerConvNet(input_dim=(3, 8, 8), num_filters=4, filter_size=3, hidden_dim=6,
                              num_classes=5, seed=0)
    assert model.params["W1"].shape == (4, 3, 3, 3)
    assert model.params["W2"].shape == (4 * 4 * 4, 6)   # 8x8 conv (same padding) -> 4x4 pool
    assert all(p.dtype == np.float32 for p in model.params.values())
    scores = model.loss(np.zeros((2, 3, 8, 8)))
    assert scores.shape == (2, 5)


@pytest.mark.parametrize("normalization", [None, "batchnorm", "layernorm"])
def test_initial_loss_is_about_log_num_classes(normalization):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((50, 20)), rng.integers(0, 10, 50)
    model = FullyConnectedNet([30, 30], input_dim=20, num_classes=10, normalization=normalization,
                              weight_scale=1e-3, seed=0)
    loss, _ = model.loss(X, y)
    # Tiny weights give near-uniform class probabilities: loss ~ -log(1/C).
    assert abs(loss - np.log(10)) < 0.1 * np.log(10)


@pytest.mark.parametrize("make", [
    lambda reg: FullyConnectedNet([6], input_dim=5, num_classes=4, reg=reg, weight_scale=0.3, seed=0),
    lambda reg: TwoLayerNet(input_dim=5, hidden_dim=6, num_classes=4, reg=reg, weight_scale=0.3, seed=0),
])
def test_loss_rises_with_regularisation(make, small_batch):
    X, y = small_batch
    losses = [make(reg).loss(X, y)[0] for reg in (0.0, 1.0, 10.0)]
    assert losses[0] < losses[1] < losses[2]
    model = make(0.0)
    sum_sq = sum(np.sum(w.astype(np.float64) ** 2) for k, w in model.params.items() if k.startswith("W"))
    # The penalty is 0.5 * reg * sum(W^2), and it leaves biases alone.
    assert abs((losses[2] - losses[0]) - 0.5 * 10.0 * sum_sq) < 1e-4 * (1 + sum_sq)


def test_fully_connected_net_parameters_follow_the_course():
    model = FullyConnectedNet([40, 30], input_dim=50, num_classes=7, normalization="batchnorm",
                              weight_scale=0.05, seed=0)
    assert set(model.params) == {"W1", "b1", "W2", "b2", "W3", "b3",
                                 "gamma1", "beta1", "gamma2", "beta2"}
    assert model.params["W2"].shape == (40, 30) and model.params["W3"].shape == (30, 7)
    assert all(p.dtype == np.float32 for p in model.params.values())
    assert not np.any(model.params["b1"]) and not np.any(model.params["beta2"])
    assert np.all(model.params["gamma1"] == 1)
    W1 = model.params["W1"]
    # Sample std of 2000 normals: relative standard error 1/sqrt(4000) ~ 1.6%.
    assert abs(W1.std() / 0.05 - 1) < 0.08
    assert [bn["mode"] for bn in model.bn_params] == ["train", "train"]


def test_dropout_param_holds_keep_ratio_and_seed():
    model = FullyConnectedNet([4], input_dim=3, num_classes=2, dropout_keep_ratio=0.25, seed=5)
    assert model.dropout_param == {"mode": "train", "p": 0.25, "seed": 5}
    assert FullyConnectedNet([4], input_dim=3, num_classes=2).dropout_param == {}


def test_seeded_models_are_repeatable_and_leave_global_state_alone():
    state = np.random.get_state()[1].copy()
    a = FullyConnectedNet([5], input_dim=4, num_classes=3, seed=7)
    b = FullyConnectedNet([5], input_dim=4, num_classes=3, seed=7)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    ThreeLayerConvNet(input_dim=(3, 8, 8), num_filters=2, hidden_dim=3, seed=1)
    TwoLayerNet(input_dim=4, hidden_dim=3, seed=1)
    assert np.array_equal(np.random.get_state()[1], state)


def test_test_mode_is_deterministic_with_dropout_and_batchnorm():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 5))
    model = FullyConnectedNet([8, 8], input_dim=5, num_classes=3, dropout_keep_ratio=0.5,
                              normalization="batchnorm", dtype=np.float64)
    model.loss(X, np.zeros(6, dtype=int))          # one train pass fills running statistics
    scores = model.loss(X)
    assert scores.shape == (6, 3)
    assert np.array_equal(scores, model.loss(X))
    assert model.dropout_param["mode"] == "test"
    assert all(bn["mode"] == "test" for bn in model.bn_params)


def test_model_calls_layers_through_module_level_names(monkeypatch, small_batch):
    # sanitykit swaps layers into a student's fc_net by rebinding these globals.
    calls = []
    original = fc_net.affine_relu_forward

    def spy(x, w, b):
        calls.append(w.shape)
        return original(x, w, b)

    monkeypatch.setattr(fc_net, "affine_relu_forward", spy)
    X, y = small_batch
    FullyConnectedNet([4, 3], input_dim=5, num_classes=4, seed=0).loss(X, y)
    TwoLayerNet(input_dim=5, hidden_dim=6, num_classes=4, seed=0).loss(X)
    assert calls == [(5, 4), (4, 3), (5, 6)]


def test_unknown_normalization_is_rejected():
    with pytest.raises(ValueError, match="normalization"):
        FullyConnectedNet([4], normalization="groupnorm")
