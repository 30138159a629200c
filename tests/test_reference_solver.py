"""Reference Solver: overfits a tiny set, keeps the best-validation parameters, config protocol."""
import numpy as np
import pytest

from sanitykit.reference.classifiers.fc_net import FullyConnectedNet
from sanitykit.reference.data import synthetic_data
from sanitykit.reference.solver import Solver


class StepModel:
    """A model whose only parameter w counts update steps; val accuracy is 1 only when w == 3."""

    def __init__(self):
        self.params = {"w": np.zeros(1)}

    def loss(self, X, y=None):
        if y is None:
            hit = abs(self.params["w"][0] - 3) < 0.5
            return np.tile([1.0, 0.0] if hit else [0.0, 1.0], (len(X), 1))
        return 0.0, {"w": np.zeros(1)}


class ScoresAreInputs:
    """A model whose scores are its input rows, so accuracy can be computed by hand."""

    params = {}

    def loss(self, X, y=None):
        return X


def plus_one(w, dw, config):
    config["calls"] = config.get("calls", 0) + 1
    return w + 1, config


def step_data(num_train=10):
    return {"X_train": np.zeros((num_train, 1)), "y_train": np.zeros(num_train, dtype=int),
            "X_val": np.zeros((4, 1)), "y_val": np.zeros(4, dtype=int)}


def test_solver_overfits_fifty_examples():
    data = synthetic_data("spiral", num_train=50, num_val=50, seed=0)
    model = FullyConnectedNet([100, 100], input_dim=2, num_classes=3, weight_scale=0.1,
                              dtype=np.float64, seed=0)
    solver = Solver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-2},
                    batch_size=25, num_epochs=150, verbose=False, seed=0)
    solver.train()
    assert max(solver.train_acc_history) == 1.0
    assert np.mean(solver.loss_history[-10:]) < 0.1 * solver.loss_history[0]


def test_best_validation_parameters_are_restored():
    # One step per epoch, accuracy measured after steps 1..6: the best is w == 3.
    solver = Solver(StepModel(), step_data(), update_rule=plus_one, batch_size=10,
                    num_epochs=6, verbose=False, seed=0)
    model = solver.model
    solver.train()
    assert solver.val_acc_history == [0.0, 0.0, 1.0, 0.0, 0.0, 0.0]
    assert solver.best_val_acc == 1.0
    assert model.params["w"][0] == 3
    assert solver.optim_configs["w"]["calls"] == 6


def test_learning_rate_decays_once_per_epoch():
    solver = Solver(StepModel(), step_data(num_train=20), update_rule="sgd",
                    optim_config={"learning_rate": 0.5}, lr_decay=0.9, batch_size=5,
                    num_epochs=3, verbose=False, seed=0)
    solver.train()
    assert solver.epoch == 3
    assert solver.optim_configs["w"]["learning_rate"] == pytest.approx(0.5 * 0.9**3)


def test_optim_config_is_copied_per_parameter():
    data = synthetic_data("blobs", num_train=20, num_val=10, seed=0)
    model = FullyConnectedNet([5], input_dim=2, num_classes=3, seed=0)
    optim_config = {"learning_rate": 1e-3}
    solver = Solver(model, data, update_rule="adam", optim_config=optim_config,
                    batch_size=10, num_epochs=1, verbose=False, seed=0)
    solver.train()
    assert optim_config == {"learning_rate": 1e-3}
    configs = solver.optim_configs
    assert configs["W1"] is not configs["W2"]
    assert configs["W1"]["m"].shape == model.params["W1"].shape
    assert configs["b2"]["m"].shape == model.params["b2"].shape


def test_unknown_arguments_are_named():
    with pytest.raises(ValueError, match="learning_rate"):
        Solver(StepModel(), step_data(), learning_rate=1e-3)


def test_unknown_update_rule_is_rejected():
    with pytest.raises(ValueError, match="nesterov"):
        Solver(StepModel(), step_data(), update_rule="nesterov")


def test_same_seed_same_minibatches_and_global_state_untouched():
    data = synthetic_data("blobs", num_train=40, num_val=10, seed=0)
    state = np.random.get_state()[1].copy()
    histories = []
    for _ in range(2):
        model = FullyConnectedNet([6], input_dim=2, num_classes=3, dtype=np.float64, seed=0)
        solver = Solver(model, data, update_rule="sgd_momentum", batch_size=8, num_epochs=2,
                        num_train_samples=20, verbose=False, seed=3)
        solver.train()
        histories.append(solver.loss_history)
    assert histories[0] == histories[1]
    assert np.array_equal(np.random.get_state()[1], state)


def test_check_accuracy_over_uneven_batches():
    X = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0], [0.0, 3.0], [5.0, 4.0]])
    y = np.array([0, 1, 1, 1, 0])           # argmax rows: 0, 1, 0, 1, 0 -> 4 of 5 right
    solver = Solver(ScoresAreInputs(), {"X_train": X, "y_train": y, "X_val": X, "y_val": y},
                    verbose=False)
    assert solver.check_accuracy(X, y, batch_size=2) == pytest.approx(0.8)


def test_verbose_progress_goes_through_print(capsys):
    solver = Solver(StepModel(), step_data(), update_rule=plus_one, batch_size=5,
                    num_epochs=1, print_every=1, seed=0)
    solver.train()
    out = capsys.readouterr().out
    assert "(Iteration 1 / 2) loss:" in out and "(Epoch 1 / 1) train acc:" in out
