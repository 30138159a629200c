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
    "training.preprocessing.train_only", "training.init.schemes", "training.solver.lr_decay",
    "training.solver.best_params",
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


def test_a_channel_mean_taken_per_pixel_is_named_a_wrong_axis_not_a_leak():
    def subtract_channel_mean(X_train, *others):
        mean = X_train.mean(axis=0, keepdims=True)  # planted: a mean image, not axis=(0, 2, 3)
        return tuple(X - mean for X in (X_train, *others))

    outcome = run("training.preprocessing.train_only", DictTarget({"subtract_channel_mean": subtract_channel_mean}))
    assert outcome.status == "fail" and outcome.finding.pattern == "wrong_axis", outcome.message
    assert "axis=(0, 2, 3)" in outcome.hint


def test_fc_net_checks_skip_without_a_model():
    with pytest.raises(SkipCheck):
        run("training.fc_net.overfit", DictTarget({}))


# ---------------------------------------------------------------- blame where it belongs

# A student module: a buggy affine_backward (dw divided by N again, as in the demo), used by
# its own sandwich helper and FullyConnectedNet through module globals.
STUDENT_MODULE = '''
import numpy as np
from sanitykit.reference.layers import affine_forward, relu_forward, relu_backward, softmax_loss


def affine_backward(dout, cache):
    x, w, b = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout / x.shape[0]   # planted: divided by N again
    return dx, dw, dout.sum(axis=0)


def affine_relu_forward(x, w, b):
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    fc_cache, relu_cache = cache
    return affine_backward(relu_backward(dout, relu_cache), fc_cache)


class FullyConnectedNet:
    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, reg=0.0,
                 weight_scale=1e-2, dtype=np.float32, seed=None):
        self.reg, self.num_layers = reg, len(hidden_dims) + 1
        dims = [input_dim, *hidden_dims, num_classes]
        self.params = {}
        for i in range(self.num_layers):
            self.params[f"W{i + 1}"] = weight_scale * np.random.randn(dims[i], dims[i + 1])
            self.params[f"b{i + 1}"] = np.zeros(dims[i + 1])

    def loss(self, X, y=None):
        out, caches = X, []
        for i in range(1, self.num_layers):
            out, cache = affine_relu_forward(out, self.params[f"W{i}"], self.params[f"b{i}"])
            caches.append(cache)
        last = self.num_layers
        scores, last_cache = affine_forward(out, self.params[f"W{last}"], self.params[f"b{last}"])
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        grads = {}
        dout, grads[f"W{last}"], grads[f"b{last}"] = affine_backward(dscores, last_cache)
        for i in range(self.num_layers - 1, 0, -1):
            dout, grads[f"W{i}"], grads[f"b{i}"] = affine_relu_backward(dout, caches[i - 1])
        for i in range(1, self.num_layers + 1):
            loss += 0.5 * self.reg * np.sum(self.params[f"W{i}"] ** 2)
            grads[f"W{i}"] += self.reg * self.params[f"W{i}"]
        return loss, grads
'''


@pytest.fixture
def student_target(tmp_path):
    """The student module loaded as sanitykit loads real targets (swapping rebinds its globals)."""
    from sanitykit.front.loading import load_target

    (tmp_path / "student.py").write_text(STUDENT_MODULE)
    return load_target(tmp_path / "student.py")


def failure(check_id, subject):
    from sanitykit.engine.results import CheckResult

    return {check_id: CheckResult(check_id, check_id.split(".")[0], subject, "fail", "title", "wrong")}


def run_with(check_id, target, results):
    spec = next(s for s in catalogue(["training"]) if s.id == check_id)
    return spec.func(CheckContext(target, seed=0, results=results))


def test_layer_bug_that_stops_training_is_blamed_on_the_layer(student_target):
    # dW 100x too small on 100 examples: plain SGD finds no rate that trains the weights.
    alone = run("training.fc_net.lr_bracket", student_target)
    assert alone.status == "fail"
    blamed = run_with("training.fc_net.lr_bracket", student_target,
                      failure("layers.affine.gradcheck", "affine_backward"))
    # Training is where the bug shows (issue 5): a fail that names its cause, graded once.
    assert blamed.status == "fail" and list(blamed.reason.responsible) == ["affine_backward"], blamed
    assert blamed.message.startswith("fails because of affine_backward (see layers.affine.gradcheck); "
                                     "passes with sanitykit's reference affine_backward substituted")
    # What the model calls is substituted too: the sandwich built on the failed layer.
    assert {"affine_backward", "affine_relu_backward"} <= set(blamed.details["substituted"])
    assert student_target.get("affine_backward") is not reference.affine_backward  # swap undone


def test_unrelated_failure_leaves_a_training_failure_standing(student_target):
    outcome = run_with("training.fc_net.lr_bracket", student_target,
                       failure("layers.conv.gradcheck", "conv_backward_naive"))
    assert outcome.status == "fail"


def test_failed_optimizer_takes_the_blame_for_the_user_optimizer_run():
    target = reference_target(adam=adam_without_bias_correction)
    outcome = run_with("training.fc_net.overfit_user_optim", target, failure("optim.adam.step", "adam"))
    assert outcome.status == "fail" and list(outcome.reason.responsible) == ["adam"], outcome
    assert outcome.message.startswith("fails because of adam (see optim.adam.step)")


class SlowNet(reference.FullyConnectedNet):
    """Weight gradients 100x too small (as with dw divided by N again): trains, but slowly."""

    def loss(self, X, y=None):
        result = super().loss(X, y)
        if y is None:
            return result
        loss, grads = result
        return loss, {k: g / 100 if k.startswith("W") else g for k, g in grads.items()}


def test_correct_optimizer_on_a_slow_model_is_not_blamed():
    outcome = run("training.fc_net.overfit_user_optim", reference_target(FullyConnectedNet=SlowNet))
    assert outcome.status == "pass", outcome.message
    assert outcome.details["sgd_momentum"]["train_acc"] < 0.99  # the model does train slowly
    assert outcome.details["sgd_momentum"]["follows_reference"]
    assert "sgd_momentum is right" in outcome.message and "not the optimizer's" in outcome.message


def test_buggy_adam_is_still_caught_on_a_slow_model():
    target = reference_target(FullyConnectedNet=SlowNet, adam=adam_without_bias_correction)
    outcome = run("training.fc_net.overfit_user_optim", target)
    assert outcome.status == "fail"
    assert outcome.details["adam"]["departs_at"] is not None
    assert outcome.details["sgd_momentum"]["departs_at"] is None
    assert "adam departs from the reference" in outcome.hint


# ---------------------------------------------------------------- initialisers

def he_with_fan_in_of_filters(shape, rng=None):
    """He initialisation with the conv fan-in taken as F, the number of filters."""
    rng = np.random.default_rng() if rng is None else rng
    return rng.standard_normal(shape) * np.sqrt(2 / shape[0])


def test_he_init_without_the_factor_two_is_named_xavier():
    outcome = run("training.init.schemes", reference_target(he_init=reference.xavier_init))
    assert outcome.status == "fail"
    assert "he_init" in outcome.message and "xavier" in outcome.message
    assert "factor 2" in outcome.hint


def test_conv_fan_in_taken_as_the_number_of_filters_is_named():
    outcome = run("training.init.schemes", reference_target(fan_in=lambda shape: int(shape[0])))
    assert outcome.status == "fail"
    assert "fan_in((16, 8, 3, 3)) = 16, expected 72" in outcome.message
    assert "number of filters" in outcome.message and "C * HH * WW" in outcome.hint


def test_he_init_with_its_own_wrong_conv_fan_in_is_named():
    target = reference_target(he_init=he_with_fan_in_of_filters)
    target.objects.pop("fan_in")
    outcome = run("training.init.schemes", target)
    assert outcome.status == "fail"
    assert "fan_in = 16" in outcome.message and "number of filters" in outcome.message


def test_init_check_is_skipped_without_initialisers():
    target = reference_target()
    for name in ("fan_in", "small_init", "xavier_init", "he_init"):
        target.objects.pop(name)
    with pytest.raises(SkipCheck):
        run("training.init.schemes", target)


def test_depth_picture_uses_the_users_initialisers_unless_their_check_failed():
    target = reference_target(he_init=reference.xavier_init)
    outcome = run("training.activations.depth", target)
    assert outcome.status == "fail"
    assert "relu/he shrinks, expected holds" in outcome.message and "initialiser" in outcome.hint
    spec = next(s for s in catalogue(["training"]) if s.id == "training.activations.depth")
    from sanitykit.engine.results import CheckResult

    failed_init = {"training.init.schemes": CheckResult("training.init.schemes", "training", "he_init", "fail", "t")}
    assert spec.func(CheckContext(target, seed=0, results=failed_init)).status == "pass"


# ---------------------------------------------------------------- the Solver

class NoDecaySolver(reference.Solver):
    """Ignores lr_decay."""

    def __init__(self, model, data, **kwargs):
        super().__init__(model, data, **kwargs)
        self.lr_decay = 1.0


class KeepsLastSolver(reference.Solver):
    """Records the best parameters but leaves the model with the last ones."""

    def _step(self):
        super()._step()
        self.last = {k: v.copy() for k, v in self.model.params.items()}

    def train(self):
        super().train()
        self.model.params = self.last


def test_solver_without_learning_rate_decay_fails_lr_decay():
    outcome = run("training.solver.lr_decay", reference_target(Solver=NoDecaySolver))
    assert outcome.status == "fail"
    assert "never decays" in outcome.hint and "self.optim_configs" in outcome.hint


def test_solver_keeping_the_last_parameters_fails_best_params():
    outcome = run("training.solver.best_params", reference_target(Solver=KeepsLastSolver))
    assert outcome.status == "fail"
    assert "model.params['w'] = 5" in outcome.message
    assert "self.model.params = self.best_params" in outcome.hint


def test_solver_checks_skip_without_a_solver():
    target = reference_target()
    target.objects.pop("Solver")
    for check_id in ("training.solver.lr_decay", "training.solver.best_params"):
        with pytest.raises(SkipCheck):
            run(check_id, target)


def test_solver_probe_moves_by_the_learning_rate_and_peaks_at_best_w():
    model, data = tr.SolverProbe(best_w=2.0), tr.probe_data(10)
    model.loss(data["X_train"], data["y_train"])
    model.params["w"] = model.params["w"] + 0.5
    model.loss(data["X_train"], data["y_train"])
    assert tr.probe_step_sizes(model.seen)["w"] == [0.5]
    accuracy = {}
    for w in (1.0, 2.0, 3.0, 5.0):
        model.params["w"] = np.array([w])
        accuracy[w] = float(np.mean(model.loss(data["X_val"]).argmax(axis=1) == data["y_val"]))
    assert accuracy[2.0] == 1.0 and accuracy[1.0] < 1.0 and accuracy[3.0] < 1.0 and accuracy[5.0] == 0.0


class MinimalSolver:
    """An old-style solver with no learning-rate decay and no best-parameter tracking."""

    def __init__(self, model, data, **kwargs):
        self.model, self.data = model, data
        self.config = dict(kwargs.pop("optim_config", {}))
        self.num_epochs = kwargs.pop("num_epochs", 1)

    def train(self):
        for _ in range(self.num_epochs):
            _, grads = self.model.loss(self.data["X_train"], self.data["y_train"])
            for k in self.model.params:
                self.model.params[k] = self.model.params[k] - self.config["learning_rate"] * grads[k]


def test_a_solver_without_decay_or_best_params_is_skipped_not_failed():
    target = reference_target(Solver=MinimalSolver)
    for check_id in ("training.solver.lr_decay", "training.solver.best_params"):
        with pytest.raises(SkipCheck, match="nothing to check"):
            run(check_id, target)


# ---------------------------------------------------------------- working variants of an update rule

def adam_epsilon_inside(w, dw, config=None):
    """A working Adam (the paper's "efficient" form) with epsilon inside the square root."""
    config = {} if config is None else config
    for key, value in (("learning_rate", 1e-3), ("beta1", 0.9), ("beta2", 0.999), ("epsilon", 1e-8),
                       ("m", np.zeros_like(w)), ("v", np.zeros_like(w)), ("t", 0)):
        config.setdefault(key, value)
    b1, b2, eps = config["beta1"], config["beta2"], config["epsilon"]
    config["t"] += 1
    t = config["t"]
    config["m"] = b1 * config["m"] + (1 - b1) * dw
    config["v"] = b2 * config["v"] + (1 - b2) * dw**2
    lr_t = config["learning_rate"] * np.sqrt(1 - b2**t) / (1 - b1**t)
    return w - lr_t * config["m"] / np.sqrt(config["v"] + eps**2 * (1 - b2**t)), config


def adam_2017(x, dx, config=None):
    """The 2017 course's adam: config.setdefault('t', 1), incremented before use."""
    config = {} if config is None else config
    for key, value in (("learning_rate", 1e-3), ("beta1", 0.9), ("beta2", 0.999), ("epsilon", 1e-8),
                       ("m", np.zeros_like(x)), ("v", np.zeros_like(x)), ("t", 1)):
        config.setdefault(key, value)
    config["t"] += 1
    b1, b2, t = config["beta1"], config["beta2"], config["t"]
    config["m"] = b1 * config["m"] + (1 - b1) * dx
    config["v"] = b2 * config["v"] + (1 - b2) * dx**2
    mt, vt = config["m"] / (1 - b1**t), config["v"] / (1 - b2**t)
    return x - config["learning_rate"] * mt / (np.sqrt(vt) + config["epsilon"]), config


def test_a_working_adam_variant_whose_curve_departs_warns_not_fails():
    outcome = run("training.fc_net.overfit_user_optim", reference_target(adam=adam_epsilon_inside))

    assert outcome.status == "warn", outcome.message
    assert outcome.details["adam"]["train_acc"] >= 0.99
    assert "adam trains, but its loss curve departs from the reference at step" in outcome.hint
    assert "epsilon" in outcome.hint


def test_the_2017_adam_follows_the_reference_started_at_t_1():
    outcome = run("training.fc_net.overfit_user_optim", reference_target(adam=adam_2017))

    assert outcome.status == "pass", outcome.message
    assert outcome.details["adam"]["departs_at"] is None


def test_the_blame_retry_swaps_the_rule_whose_curve_departed():
    """A failed rmsprop check is not swapped in for an adam whose curve departed."""
    target = reference_target(adam=adam_without_bias_correction)
    outcome = run_with("training.fc_net.overfit_user_optim", target, failure("optim.rmsprop.state", "rmsprop"))

    assert outcome.status == "fail", outcome
    assert "rmsprop substituted" not in outcome.message
    assert outcome.details["departed"] == ["adam"]
    blamed = run_with("training.fc_net.overfit_user_optim", target,
                      {**failure("optim.rmsprop.state", "rmsprop"), **failure("optim.adam.step", "adam")})
    assert blamed.status == "fail" and list(blamed.reason.responsible) == ["adam"], blamed
    assert blamed.message.startswith("fails because of adam (see optim.adam.step)")


# ---------------------------------------------------------------- zero weights: graded once, by models.fc_net.init

def zero_init_failure():
    from sanitykit.engine.results import CheckResult

    from sanitykit.engine.findings import Finding

    what = "FullyConnectedNet: W1 is all zeros at initialisation"
    return {"models.fc_net.init": CheckResult("models.fc_net.init", "models", "FullyConnectedNet", "fail",
                                              "title", what, diagnosis=Finding("zero_init", what))}


@pytest.mark.parametrize("check_id", ["training.fc_net.reg_rises", "training.fc_net.update_ratio",
                                      "training.fc_net.input_baseline"])
def test_zero_weights_reported_by_the_init_check_skip_the_training_checks(check_id):
    target = reference_target(FullyConnectedNet=ZeroInitNet)
    outcome = run_with(check_id, target, zero_init_failure())
    assert outcome.status == "skip", outcome
    assert outcome.message == "fails only because the weights start at zero (see models.fc_net.init)"


@pytest.mark.parametrize("check_id", ["training.fc_net.overfit", "training.activations.fc_net"])
def test_zero_weights_still_fail_overfitting_and_activations_naming_the_cause(check_id):
    # Issue 5: zero initialisation fails overfitting and is flagged by activation statistics;
    # the hint names the zero weights, not some other cause.
    target = reference_target(FullyConnectedNet=ZeroInitNet)
    outcome = run_with(check_id, target, zero_init_failure())
    assert outcome.status == "fail", outcome
    assert "the weights start at zero (see models.fc_net.init)" in outcome.message
    assert "not zeros" in outcome.hint


def test_zero_weights_still_fail_the_symmetry_check_which_is_about_them():
    target = reference_target(FullyConnectedNet=ZeroInitNet)
    assert run_with("training.fc_net.init_symmetry", target, zero_init_failure()).status == "fail"


SPATIAL_ONLY = '''
from sanitykit.reference.layers import spatial_batchnorm_forward


def spatial_batchnorm_backward(dout, cache):
    raise ValueError("planted")
'''


def test_substituted_layers_are_only_those_the_model_calls(tmp_path):
    from sanitykit.front.loading import load_target

    (tmp_path / "student.py").write_text(STUDENT_MODULE + SPATIAL_ONLY)
    target = load_target(tmp_path / "student.py")
    results = {**failure("layers.affine.gradcheck", "affine_backward"),
               **failure("layers.spatial_batchnorm.gradcheck", "spatial_batchnorm_backward")}
    outcome = run_with("training.fc_net.lr_bracket", target, results)
    assert outcome.status == "fail" and list(outcome.reason.responsible) == ["affine_backward"], outcome
    assert "spatial_batchnorm" not in outcome.message
    assert not any("spatial" in name for name in outcome.details["substituted"])


# ---------------------------------------------------------------- a Solver crash: one error, under training.solver

SOLVER_TYPO_MODULE = '''
from sanitykit.reference import FullyConnectedNet, adam
from sanitykit.reference import Solver as ReferenceSolver


class Solver(ReferenceSolver):
    def _step(self):
        super()._step()
        for k in self.optim_configs:
            self.optim_config[k]["learning_rate"] *= 1.0   # planted: optim_config for optim_configs
'''


def test_a_solver_crash_is_one_error_under_the_solver_checks(tmp_path):
    from sanitykit.front.loading import load_target

    (tmp_path / "student.py").write_text(SOLVER_TYPO_MODULE)
    target = load_target(tmp_path / "student.py")
    results = {}
    from sanitykit.checks.registry import REGISTRY
    from sanitykit.front.runner import check_result

    for check_id in ("training.fc_net.overfit_user_optim", "training.solver.lr_decay",
                     "training.solver.best_params"):
        results[check_id] = check_result(REGISTRY[check_id], run_with(check_id, target, results), 0.0)
    assert results["training.solver.lr_decay"].status == "error"
    assert "KeyError" in results["training.solver.lr_decay"].message
    for check_id in ("training.fc_net.overfit_user_optim", "training.solver.best_params"):
        assert results[check_id].status == "skip", (check_id, results[check_id])
        assert results[check_id].message.startswith(
            "fails only because Solver.train raises (see training.solver.lr_decay)")


TRANSPOSED_DW = STUDENT_MODULE.replace("dw = x.reshape(x.shape[0], -1).T @ dout / x.shape[0]   # planted: divided by N again",
                                       "dw = dout.T @ x.reshape(x.shape[0], -1)   # planted: dw transposed")


@pytest.mark.parametrize("check_id", ["training.fc_net.overfit", "training.fc_net.lr_bracket"])
def test_a_wrong_shaped_layer_gradient_fails_because_of_the_layer_not_sanitykit(tmp_path, check_id):
    from sanitykit.front.loading import load_target

    assert TRANSPOSED_DW != STUDENT_MODULE
    (tmp_path / "student.py").write_text(TRANSPOSED_DW)
    target = load_target(tmp_path / "student.py")
    alone = run(check_id, target)  # no layer check ran: the error of the user's code, never sanitykit's
    assert alone.status == "error" and alone.reason.kind == "raised", alone
    assert "internal" not in alone.message and alone.hint, alone
    blamed = run_with(check_id, target, failure("layers.affine.gradcheck", "affine_backward"))
    assert blamed.status == "fail" and blamed.reason.kind == "blamed", blamed
    assert list(blamed.reason.responsible) == ["affine_backward"]
    assert blamed.message.startswith("fails because of affine_backward")


from test_checks_models import LossWithoutHalfNet  # noqa: E402 - the models suite's planted bug, seen by training


class FullPenaltyNet(LossWithoutHalfNet):
    """reg * sum(W**2) with its own gradient 2 * reg * W: assignment 1's convention, right."""

    def loss(self, X, y=None):
        out = super().loss(X, y)
        if y is None:
            return out
        return out[0], {k: g + self.reg * self.params[k] if k.startswith("W") else g for k, g in out[1].items()}


def test_a_loss_without_the_half_is_named_by_the_training_reg_check_as_the_models_check_does():
    outcome = run("training.fc_net.reg_rises", reference_target(FullyConnectedNet=LossWithoutHalfNet))
    assert outcome.status == "fail" and outcome.finding.pattern == "reg_half", outcome.message
    assert "lacks the 1/2" in outcome.message and outcome.details["gradient_factor"] == 1.0
    assert "regularisation gradient is missing" not in outcome.message


def test_the_full_penalty_with_its_doubled_gradient_stays_a_pass_in_training():
    outcome = run("training.fc_net.reg_rises", reference_target(FullyConnectedNet=FullPenaltyNet))
    assert outcome.status == "pass", outcome.message
    assert outcome.details["gradient_factor"] == 2.0 and "2 * reg * W" in outcome.message
