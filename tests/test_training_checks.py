"""Suite `training`: the reference passes every check; planted bugs are caught where they belong."""
from __future__ import annotations

import numpy as np
import pytest

import sanitykit.reference as reference
from sanitykit.checks.registry import CheckContext, DictTarget, SkipCheck, catalogue
from sanitykit.engine import training as tr

TRAINING_IDS = {
    "training.fc_net.initial_loss", "training.fc_net.reg_rises", "training.fc_net.init_symmetry",
    "training.fc_net.overfit", "training.fc_net.overfit_user_optim", "training.fc_net.lr_bracket",
    "training.fc_net.update_ratio", "training.fc_net.input_baseline",
    "training.activations.depth", "training.activations.fc_net",
    "training.preprocessing.train_only",
}


def reference_target(**replacements):
    target = DictTarget.from_modules(reference, name="reference")
    target.objects.update(replacements)
    return target


def run(check_id, target, seed=0):
    spec = next(s for s in catalogue(["training"]) if s.id == check_id)
    return spec.func(CheckContext(target, seed=seed))


# ---------------------------------------------------------------- planted bugs

class ZeroInitNet(reference.FullyConnectedNet):
    """Every weight starts at zero: hidden units identical and silent."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.params:
            if name.startswith("W"):
                self.params[name] = np.zeros_like(self.params[name])


class SummedLossNet(reference.FullyConnectedNet):
    """The loss is summed over the batch instead of averaged (and so are the gradients)."""

    def loss(self, X, y=None):
        result = super().loss(X, y)
        if y is None:
            return result
        loss, grads = result
        return loss * len(y), {k: g * len(y) for k, g in grads.items()}


class BlindNet(reference.FullyConnectedNet):
    """The input never reaches the network: a wiring bug."""

    def loss(self, X, y=None):
        return super().loss(np.zeros_like(X), y)


def adam_without_bias_correction(w, dw, config=None):
    config = {} if config is None else config
    for key, value in (("learning_rate", 1e-3), ("beta1", 0.9), ("beta2", 0.999), ("epsilon", 1e-8)):
        config.setdefault(key, value)
    m = config["beta1"] * config.get("m", np.zeros_like(w)) + (1 - config["beta1"]) * dw
    v = config["beta2"] * config.get("v", np.zeros_like(w)) + (1 - config["beta2"]) * dw**2
    config.update(m=m, v=v, t=config.get("t", 0) + 1)
    return w - config["learning_rate"] * m / (np.sqrt(v) + config["epsilon"]), config


def momentum_sign_error(w, dw, config=None):
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config["momentum"] * config.get("velocity", np.zeros_like(w)) + config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def identity_relu(x):
    return x.copy(), x


# ---------------------------------------------------------------- tests

def test_catalogue_declares_every_training_check():
    assert TRAINING_IDS <= {spec.id for spec in catalogue(["training"])}


@pytest.mark.parametrize("check_id", sorted(TRAINING_IDS))
def test_reference_passes(check_id):
    outcome = run(check_id, reference_target())
    assert outcome.status == "pass", outcome.message + "\n" + outcome.hint


def test_checks_leave_global_random_state_alone():
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    run("training.fc_net.overfit_user_optim", reference_target())
    assert np.array_equal(np.random.get_state()[1], before)


def test_checks_are_repeatable():
    first = run("training.fc_net.lr_bracket", reference_target(), seed=3)
    second = run("training.fc_net.lr_bracket", reference_target(), seed=3)
    assert first.details == second.details


def test_zero_initialisation_fails_overfitting_and_activation_statistics():
    target = reference_target(FullyConnectedNet=ZeroInitNet)
    assert run("training.fc_net.overfit", target).status == "fail"
    activations = run("training.activations.fc_net", target)
    assert activations.status == "fail"
    assert "collapses" in activations.message
    assert run("training.fc_net.init_symmetry", target).status == "fail"


def test_adam_without_bias_correction_is_caught_by_the_user_optimizer_run():
    outcome = run("training.fc_net.overfit_user_optim", reference_target(adam=adam_without_bias_correction))
    assert outcome.status == "fail"
    assert "bias" in outcome.hint
    assert outcome.details["adam"]["departs_at"] is not None
    assert outcome.details["sgd_momentum"]["departs_at"] is None  # blame stays with adam


def test_momentum_sign_error_is_caught_by_the_user_optimizer_run():
    outcome = run("training.fc_net.overfit_user_optim", reference_target(sgd_momentum=momentum_sign_error))
    assert outcome.status == "fail"
    assert "sign" in outcome.hint


def test_broken_optimizer_leaves_the_model_check_passing():
    target = reference_target(adam=adam_without_bias_correction, sgd_momentum=momentum_sign_error)
    assert run("training.fc_net.overfit", target).status == "pass"


def test_summed_loss_fails_initial_loss_with_the_reason():
    outcome = run("training.fc_net.initial_loss", reference_target(FullyConnectedNet=SummedLossNet))
    assert outcome.status == "fail"
    assert "summed" in outcome.hint
    # Oracle: N * log C for N = 200 examples and C = 5 classes at near-zero scores.
    assert outcome.details["loss"] == pytest.approx(200 * np.log(5), rel=1e-3)


def test_model_ignoring_its_input_fails_input_baseline():
    outcome = run("training.fc_net.input_baseline", reference_target(FullyConnectedNet=BlindNet))
    assert outcome.status == "fail"


def test_learning_rate_of_a_million_lands_on_the_diverged_side():
    data = __import__("sanitykit.checks.training", fromlist=["problem"]).problem(0)
    model = tr.build_fc_net(reference.FullyConnectedNet, [50, 50], 16, 5, weight_scale=5e-2)
    run_ = tr.train_run(model, data["X_train"][:100], data["y_train"][:100],
                        update_rule=reference.sgd, learning_rate=1e6, num_iters=10)
    assert run_.verdict == tr.DIVERGED


def test_bracket_upper_edge_is_below_the_divergence_of_the_reference():
    outcome = run("training.fc_net.lr_bracket", reference_target())
    verdicts = {r["learning_rate"]: r["verdict"] for r in outcome.details["runs"]}
    upper = outcome.details["upper"]
    assert verdicts[upper] == "progress"
    assert all(v != "progress" for lr, v in verdicts.items() if lr > upper)
    assert verdicts[1e-7] == "no progress"


def test_relu_that_passes_everything_through_breaks_the_depth_picture():
    outcome = run("training.activations.depth", reference_target(relu_forward=identity_relu))
    assert outcome.status == "fail"
    assert "relu/xavier" in outcome.message


def test_mean_fitted_on_all_data_is_diagnosed():
    def subtract_mean_image(X_train, *others):
        mean = np.concatenate([X_train, *others]).mean(axis=0)
        return tuple(X - mean for X in (X_train, *others))

    target = DictTarget({"subtract_mean_image": subtract_mean_image})
    outcome = run("training.preprocessing.train_only", target)
    assert outcome.status == "fail"
    assert "train+val" in outcome.message


def test_fc_net_checks_skip_without_a_model():
    with pytest.raises(SkipCheck):
        run("training.fc_net.overfit", DictTarget({}))
