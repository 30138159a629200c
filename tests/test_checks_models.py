"""The models suite: passes on the reference, names planted model bugs, moves a layer's blame to the layer."""
import textwrap

import numpy as np
import pytest

import sanitykit.reference as reference
import sanitykit.checks.models  # noqa: F401 - declares the suite
from sanitykit.checks.registry import REGISTRY, CheckContext, DictTarget, SkipCheck
from sanitykit.engine.results import CheckResult
from sanitykit.reference import FullyConnectedNet, TwoLayerNet


def suite_specs(suite):
    """The suite's checks in declaration order (importing only this suite: another suite's
    half-written module must not break these tests; catalogue() would import them all)."""
    return [spec for spec in REGISTRY.values() if spec.suite == suite]


def run(check_id, target=None, results=None, **objects):
    target = target if target is not None else DictTarget(objects)
    return REGISTRY[check_id].func(CheckContext(target, seed=0, results=results or {}))


def layer_failure(check_id="layers.affine.gradcheck", subject="affine_backward"):
    return {check_id: CheckResult(check_id, "layers", subject, "fail", "gradients", "dx is wrong")}


# ---------------------------------------------------------------- planted bugs

class NetWithoutRegGradient(FullyConnectedNet):
    """Adds the penalty to the loss but forgets reg * W in the weight gradients."""

    def loss(self, X, y=None):
        out = super().loss(X, y)
        if y is None:
            return out
        loss, grads = out
        return loss, {k: g - self.reg * self.params[k] if k.startswith("W") else g for k, g in grads.items()}


class ZeroInitNet(TwoLayerNet):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.params = {k: np.zeros_like(v) for k, v in self.params.items()}


class SummedLossNet(TwoLayerNet):
    def loss(self, X, y=None):
        out = super().loss(X, y)
        return out if y is None else (out[0] * X.shape[0], out[1])


class LastLayerOnlyRegNet(TwoLayerNet):
    """Penalises W2 only (0.5 * reg * ||W2||^2)."""

    def loss(self, X, y=None):
        out = super().loss(X, y)
        if y is None:
            return out
        return out[0] - 0.5 * self.reg * np.sum(self.params["W1"] ** 2), out[1]


class OldStyleNet(FullyConnectedNet):
    """2016-17 arguments: `dropout` as a drop probability, `use_batchnorm`, no normalization."""

    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, dropout=0, use_batchnorm=False,
                 reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None):
        super().__init__(hidden_dims, input_dim, num_classes, dropout_keep_ratio=1 - dropout if dropout else 1,
                         normalization="batchnorm" if use_batchnorm else None, reg=reg,
                         weight_scale=weight_scale, dtype=dtype, seed=seed)


class BrokenConstructorNet:
    def __init__(self, hidden_dims, input_dim=10, num_classes=10, **kwargs):
        self.params = {"W1": np.zeros((input_dim, hidden_dims))}  # hidden_dims is a list: TypeError


# A student module: its own (buggy) affine_backward, used by its TwoLayerNet through module globals.
STUDENT_MODULE = '''
import numpy as np
from sanitykit.reference.layers import affine_forward, relu_forward, relu_backward, softmax_loss


def affine_backward(dout, cache):
    x, w, b = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout / x.shape[0]   # planted: divided by N again
    return dx, dw, dout.sum(axis=0)


class TwoLayerNet:
    def __init__(self, input_dim=3*32*32, hidden_dim=100, num_classes=10, weight_scale=1e-3, reg=0.0):
        self.reg = reg
        self.params = {"W1": weight_scale * np.random.randn(input_dim, hidden_dim), "b1": np.zeros(hidden_dim),
                       "W2": weight_scale * np.random.randn(hidden_dim, num_classes), "b2": np.zeros(num_classes)}

    def loss(self, X, y=None):
        p = self.params
        a, a_cache = affine_forward(X, p["W1"], p["b1"])
        h, r_cache = relu_forward(a)
        scores, s_cache = affine_forward(h, p["W2"], p["b2"])
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        loss += 0.5 * self.reg * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))
        grads = {}
        dh, grads["W2"], grads["b2"] = affine_backward(dscores, s_cache)
        _, grads["W1"], grads["b1"] = affine_backward(relu_backward(dh, r_cache), a_cache)
        grads["W1"] += self.reg * p["W1"]
        grads["W2"] += self.reg * p["W2"] * OWN_BUG
        return loss, grads


OWN_BUG = 1.0
'''


@pytest.fixture
def student_target(tmp_path):
    """The student module loaded as sanitykit loads real targets (swapping rebinds its globals)."""
    from sanitykit.front.loading import load_target

    def load(own_bug=False):
        folder = tmp_path / ("own_bug" if own_bug else "layer_bug")
        folder.mkdir()
        source = STUDENT_MODULE.replace("OWN_BUG = 1.0", "OWN_BUG = 0.0") if own_bug else STUDENT_MODULE
        (folder / "student.py").write_text(textwrap.dedent(source))
        return load_target(folder / "student.py")

    return load


# ---------------------------------------------------------------- tests

def test_every_models_check_passes_on_the_reference():
    target = DictTarget.from_modules(reference)
    specs = suite_specs("models")
    ids = {s.id for s in specs}
    assert {"models.fc_net.gradcheck_batchnorm", "models.fc_net.gradcheck_layernorm",
            "models.fc_net.gradcheck_dropout", "models.fc_net.init", "models.cnn.gradcheck",
            "models.two_layer_net.reg_rises"} <= ids
    state = np.random.get_state()[1].copy()
    # Assignment 1's own train() and predict() are checked on assignment 1's net.
    assignment_one = DictTarget({**target.objects, "TwoLayerNet": reference.A1TwoLayerNet})
    for spec in specs:
        checked = assignment_one if spec.id in ("models.two_layer_net.train", "models.two_layer_net.predict") else target
        outcome = spec.func(CheckContext(checked, seed=0))
        assert outcome.status == "pass", (spec.id, outcome)
    assert np.array_equal(np.random.get_state()[1], state), "a check touched numpy's global random state"


def test_missing_regularisation_gradient_fails_gradcheck():
    outcome = run("models.fc_net.gradcheck", FullyConnectedNet=NetWithoutRegGradient)
    assert outcome.status == "fail"
    assert "dW1" in outcome.message and "regularisation" in outcome.message
    # The loss itself is right: only the gradient check sees this bug.
    assert run("models.fc_net.reg_rises", FullyConnectedNet=NetWithoutRegGradient).status == "pass"


def test_zero_initialisation_is_named():
    outcome = run("models.two_layer_net.init", TwoLayerNet=ZeroInitNet)
    assert outcome.status == "fail"
    assert "W1 is all zeros" in outcome.message
    assert "weight_scale * np.random.randn" in outcome.hint


def test_loss_summed_over_the_batch_is_named():
    outcome = run("models.two_layer_net.initial_loss", TwoLayerNet=SummedLossNet)
    assert outcome.status == "fail"
    assert "summed rather than averaged over N" in outcome.message


def test_weight_missing_from_the_penalty_is_named():
    outcome = run("models.two_layer_net.reg_rises", TwoLayerNet=LastLayerOnlyRegNet)
    assert outcome.status == "fail"
    assert outcome.details["missing"] == ["W1"]


def test_old_constructor_arguments_are_detected():
    assert run("models.fc_net.gradcheck_batchnorm", FullyConnectedNet=OldStyleNet).status == "pass"
    assert run("models.fc_net.gradcheck_dropout", FullyConnectedNet=OldStyleNet).status == "pass"
    with pytest.raises(SkipCheck, match="no layernorm option"):
        run("models.fc_net.gradcheck_layernorm", FullyConnectedNet=OldStyleNet)


def test_constructor_that_raises_is_a_one_line_error():
    outcome = run("models.fc_net.scores_shape", FullyConnectedNet=BrokenConstructorNet)
    assert outcome.status == "error"
    assert "FullyConnectedNet raised TypeError" in outcome.message
    assert "\n" not in outcome.message


def test_layer_bug_is_not_graded_again_as_a_model_bug(student_target):
    target = student_target()
    alone = run("models.two_layer_net.gradcheck", target=target)
    assert alone.status == "fail"  # without a failed layer check there is no one else to blame
    blamed = run("models.two_layer_net.gradcheck", target=target, results=layer_failure())
    assert blamed.status == "skip", blamed
    assert ("fails only because of affine_backward (see layers.affine.gradcheck); "
            "passes with sanitykit's reference affine_backward substituted") in blamed.message
    assert "affine_backward" in blamed.details["substituted"]
    # The swap is undone: the user's own affine_backward is back in place.
    assert target.get("affine_backward") is not reference.affine_backward


def test_model_bug_still_fails_with_reference_layers(student_target):
    outcome = run("models.two_layer_net.gradcheck", target=student_target(own_bug=True), results=layer_failure())
    assert outcome.status == "fail"
    assert "still fails with sanitykit's reference affine_backward substituted" in outcome.message
    assert "the bug is in the model itself" in outcome.message
    assert "affine_backward" in outcome.details["substituted"]


def test_unrelated_layer_failure_changes_nothing():
    outcome = run("models.fc_net.gradcheck", FullyConnectedNet=NetWithoutRegGradient,
                  results=layer_failure("layers.conv.gradcheck", "conv_backward_naive"))
    assert outcome.status == "fail"
    assert "substituted" not in outcome.details


def test_blame_names_only_the_layer_that_explains_the_failure(student_target):
    results = {**layer_failure(), **layer_failure("layers.relu.gradcheck", "relu_backward")}
    outcome = run("models.two_layer_net.gradcheck", target=student_target(), results=results)
    assert outcome.status == "skip"
    assert outcome.message.startswith("fails only because of affine_backward (see layers.affine.gradcheck)")
    assert list(outcome.reason.responsible) == ["affine_backward"]
    assert {"affine_backward", "relu_backward"} <= set(outcome.details["substituted"])


class AssignmentOneTwoLayerNet:
    """Assignment 1's API: (input_size, hidden_size, output_size, std) and loss(X, y, reg)."""

    def __init__(self, input_size, hidden_size, output_size, std=1e-4):
        self.net = TwoLayerNet(input_size, hidden_size, output_size, weight_scale=std)
        self.params = self.net.params

    def loss(self, X, y=None, reg=0.0):
        self.net.reg = reg
        return self.net.loss(X, y)


def test_assignment_one_two_layer_net_is_checked_through_its_own_api():
    for aspect in ("scores_shape", "initial_loss", "reg_rises", "gradcheck", "init"):
        outcome = run(f"models.two_layer_net.{aspect}", TwoLayerNet=AssignmentOneTwoLayerNet)
        assert outcome.status == "pass", (aspect, outcome)


def model_failure(check_id="models.fc_net.gradcheck"):
    return {check_id: CheckResult(check_id, "models", "FullyConnectedNet", "fail", "gradients", "dW1 is wrong")}


def test_regularisation_bug_is_graded_once_not_in_every_variant():
    # Alone, each variant sees the missing reg * W (nobody else reports it).
    assert run("models.fc_net.gradcheck_batchnorm", FullyConnectedNet=NetWithoutRegGradient).status == "fail"
    for variant in ("gradcheck_batchnorm", "gradcheck_layernorm", "gradcheck_dropout"):
        outcome = run(f"models.fc_net.{variant}", FullyConnectedNet=NetWithoutRegGradient, results=model_failure())
        assert outcome.status == "skip", (variant, outcome)
        assert outcome.message.startswith("fails only because of the regularisation gradient "
                                          "(see models.fc_net.gradcheck)")


class BatchnormGammaBugNet(NetWithoutRegGradient):
    """Also forgets dgamma (a bug of the batchnorm path itself, visible at reg=0)."""

    def loss(self, X, y=None):
        out = super().loss(X, y)
        if y is None:
            return out
        loss, grads = out
        return loss, {k: 0 * g if k.startswith("gamma") else g for k, g in grads.items()}


def test_variant_with_its_own_bug_still_fails_after_a_regularisation_failure():
    outcome = run("models.fc_net.gradcheck_batchnorm", FullyConnectedNet=BatchnormGammaBugNet,
                  results=model_failure())
    assert outcome.status == "fail"
    assert "dgamma1" in outcome.message


# The student module with the model's own regularisation bug switched on, and no further bug.
def test_layer_and_regularisation_bugs_together_are_both_named(student_target):
    results = {**layer_failure(), **layer_failure("layers.relu.gradcheck", "relu_backward"),
               **model_failure("models.two_layer_net.gradcheck")}
    outcome = blame_variant(student_target(own_bug=True), results)
    assert outcome.status == "skip", outcome
    assert outcome.message.startswith("fails only because of affine_backward (see layers.affine.gradcheck) "
                                      "and of the regularisation gradient (see models.two_layer_net.gradcheck)")
    assert list(outcome.reason.responsible) == ["affine_backward"]


def blame_variant(target, results):
    """A variant-style check of the student's TwoLayerNet (its module has no normalisation options)."""
    from sanitykit.checks.blame import blame
    from sanitykit.checks.models import variant_gradcheck

    ctx = CheckContext(target, seed=0, results=results)
    return blame(ctx, lambda c: variant_gradcheck(c, "two_layer_net"))


# ---------------------------------------------------------------- test mode and dropout's backward

class StuckMode(dict):
    """A bn_param / dropout_param whose mode never leaves "train" (the planted bug)."""

    def __setitem__(self, key, value):
        if key != "mode":
            super().__setitem__(key, value)


class NeverTestModeNet(FullyConnectedNet):
    """Batchnorm layers stay in train mode when scoring."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.bn_params = [StuckMode(p) for p in self.bn_params]


class DropoutAtTestTimeNet(FullyConnectedNet):
    """Dropout stays in train mode when scoring."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.dropout_param = StuckMode(self.dropout_param)


def test_batchnorm_left_in_train_mode_at_test_time_fails_test_mode():
    outcome = run("models.fc_net.test_mode", FullyConnectedNet=NeverTestModeNet)
    assert outcome.status == "fail", outcome
    assert "X[:1]" in outcome.message and "bn_param['mode'] = 'test'" in outcome.hint


def test_dropout_left_in_train_mode_at_test_time_fails_test_mode():
    outcome = run("models.fc_net.test_mode", FullyConnectedNet=DropoutAtTestTimeNet)
    assert outcome.status == "fail", outcome
    assert "test" in outcome.message and "dropout must be off in test mode" in outcome.hint


def test_test_mode_is_skipped_without_batchnorm_or_dropout_options():
    class PlainNet(FullyConnectedNet):
        def __init__(self, hidden_dims, input_dim, num_classes, weight_scale=1e-2, reg=0.0,
                     dtype=np.float64, seed=None):
            super().__init__(hidden_dims, input_dim, num_classes, weight_scale=weight_scale, reg=reg,
                             dtype=dtype, seed=seed)

    with pytest.raises(SkipCheck):
        run("models.fc_net.test_mode", FullyConnectedNet=PlainNet)


class DropoutBackwardSkippedNet(FullyConnectedNet):
    """The backward pass passes dout through the dropout layers unchanged."""

    def loss(self, X, y=None):
        import sanitykit.reference.classifiers.fc_net as module

        saved = module.dropout_backward
        module.dropout_backward = lambda dout, cache: dout  # planted: dropout_backward skipped
        try:
            return super().loss(X, y)
        finally:
            module.dropout_backward = saved


def test_dropout_backward_skipped_is_named_when_only_the_dropout_gradcheck_fails():
    passing = {"models.fc_net.gradcheck": CheckResult("models.fc_net.gradcheck", "models", "FullyConnectedNet",
                                                      "pass", "gradients")}
    outcome = run("models.fc_net.gradcheck_dropout", FullyConnectedNet=DropoutBackwardSkippedNet, results=passing)
    assert outcome.status == "fail", outcome
    assert "wrong only with dropout" in outcome.hint and "dropout_backward" in outcome.hint


# ---------------------------------------------------------------- zero weights: graded once, by models.fc_net.init

class ZeroWeightsNet(FullyConnectedNet):
    """The weights start at zero (np.zeros for randn): every hidden unit stays identical."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.params:
            if name.startswith("W"):
                self.params[name] = np.zeros_like(self.params[name])


def test_zero_weights_fail_init_once_and_skip_reg_rises():
    target = DictTarget.from_modules(reference)
    target.objects["FullyConnectedNet"] = ZeroWeightsNet
    rises = run("models.fc_net.reg_rises", target=target)
    assert rises.status == "skip", rises
    assert rises.message == "fails only because the weights start at zero (see models.fc_net.init)"
    init = run("models.fc_net.init", target=target)
    assert init.status == "fail" and "all zeros" in init.message


# ---------------------------------------------------------------- model mistakes named

class LastLayerNeverCreatedNet(FullyConnectedNet):
    """An off-by-one loop: the output layer's W and b are never created (loss raises KeyError)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        last = self.num_layers
        del self.params[f"W{last}"], self.params[f"b{last}"]


class ReluOnScoresNet(FullyConnectedNet):
    """The output layer treated as a hidden one: the scores go through a ReLU."""

    def loss(self, X, y=None):
        out = super().loss(X, y)
        return np.maximum(0, out) if y is None else out


class LossWithoutHalfNet(FullyConnectedNet):
    """reg * sum(W**2) in the loss, reg * W in the gradient: the loss lacks the 1/2."""

    def loss(self, X, y=None):
        out = super().loss(X, y)
        if y is None:
            return out
        extra = 0.5 * self.reg * sum(np.sum(self.params[k] ** 2) for k in self.params if k.startswith("W"))
        return out[0] + extra, out[1]


def run_in_order(ids, **objects):
    from sanitykit.front.runner import check_result

    target, results = DictTarget(objects), {}
    for spec in suite_specs("models"):
        if spec.id in ids:
            results[spec.id] = check_result(spec, spec.func(CheckContext(target, seed=0, results=results)), 0.0)
    return results


def test_parameters_never_created_for_the_last_layer_are_named():
    outcome = run("models.fc_net.scores_shape", FullyConnectedNet=LastLayerNeverCreatedNet)
    assert outcome.status == "fail" and outcome.finding.pattern == "layer_params_missing", outcome.message
    assert "W3" in outcome.message and "loop" in outcome.hint


def test_a_relu_on_the_scores_is_named():
    outcome = run("models.fc_net.scores_shape", FullyConnectedNet=ReluOnScoresNet)
    assert outcome.status == "fail" and outcome.finding.pattern == "output_activated", outcome.message


def test_a_loss_without_the_half_is_named_there_and_not_as_a_missing_gradient():
    ids = ("models.fc_net.reg_rises", "models.fc_net.gradcheck", "models.fc_net.gradcheck_dropout")
    results = run_in_order(ids, FullyConnectedNet=LossWithoutHalfNet)
    reg = results["models.fc_net.reg_rises"]
    assert reg.status == "fail" and reg.diagnosis.pattern == "reg_half" and "lacks the 1/2" in reg.message
    for check_id in ids[1:]:
        result = results[check_id]
        assert result.status == "skip" and result.reason.see == ("models.fc_net.reg_rises",), result.message
        assert "regularisation gradient" not in result.message


def test_the_assignment_one_convention_stays_a_pass():
    class FullPenaltyNet(LossWithoutHalfNet):  # reg * sum(W**2) with its gradient 2 * reg * W
        def loss(self, X, y=None):
            out = super().loss(X, y)
            if y is None:
                return out
            return out[0], {k: g + self.reg * self.params[k] if k.startswith("W") else g for k, g in out[1].items()}

    results = run_in_order(("models.fc_net.reg_rises", "models.fc_net.gradcheck"), FullyConnectedNet=FullPenaltyNet)
    assert {r.status for r in results.values()} == {"pass"}, {i: r.message for i, r in results.items()}


def test_a_convolution_that_shrinks_the_image_is_named(tmp_path):
    import sys
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from mutants.generator import Edit, materialise
    from sanitykit.front.loading import load_target

    root = materialise(tmp_path, (Edit("classifiers/cnn.py", 'self.conv_param = {"stride": 1, "pad": (filter_size - 1) // 2}',
                                       'self.conv_param = {"stride": 1, "pad": 0}'),))
    target = load_target(root)
    with target.imports_active():
        outcome = run("models.cnn.scores_shape", target=target)
    assert outcome.status == "fail" and outcome.finding.pattern == "no_same_padding", outcome.message
    assert "6x6 image shrinks to 4x4" in outcome.message


def corpus_tree(tmp_path, entry_id):
    """The loaded student tree of a mutant or variant of tests/mutants (the reference for None)."""
    import sys
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from mutants.corpus import MUTANTS
    from mutants.generator import materialise
    from mutants.variants import VARIANTS
    from sanitykit.front.loading import load_target

    entries = {e.id: e for e in (*MUTANTS, *VARIANTS)}
    return load_target(materialise(tmp_path, entries[entry_id].edits if entry_id else ()))


def test_dropout_on_the_scores_is_named_though_its_gradients_agree(tmp_path):
    from sanitykit.checks.models import variant_gradcheck

    target = corpus_tree(tmp_path, "fc_dropout_on_scores")
    with target.imports_active():
        # The mask is fixed by the seed and undone on dscores: the gradient check alone passes.
        assert variant_gradcheck(CheckContext(target, seed=0), "fc_net", keep_ratio=0.5).status == "pass"
        outcome = run("models.fc_net.gradcheck_dropout", target=target)
    assert outcome.status == "fail" and outcome.finding.pattern == "output_activated", outcome.message
    assert "dropout is applied to the scores" in outcome.message and outcome.details["zero_fraction"] > 0.3
    assert outcome.details["test_zero_fraction"] == 0


@pytest.mark.parametrize("entry_id", [None, "fc_one_loop_over_layers"])
def test_dropout_after_the_hidden_layers_only_is_not_called_dropout_on_the_scores(tmp_path, entry_id):
    target = corpus_tree(tmp_path, entry_id)
    with target.imports_active():
        outcome = run("models.fc_net.gradcheck_dropout", target=target)
    assert outcome.status == "pass", outcome.message
