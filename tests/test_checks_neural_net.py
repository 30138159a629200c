"""models.two_layer_net.scores / train / predict: the two-layer net's forward pass, and assignment 1's train and predict."""
import numpy as np
import pytest

import sanitykit.reference as reference
import sanitykit.checks.models  # noqa: F401 - declares the suite (and neural_net.py's checks)
from sanitykit.checks.registry import REGISTRY, CheckContext, DictTarget, SkipCheck
from sanitykit.reference import A1TwoLayerNet


def run(check_id, cls):
    return REGISTRY[check_id].func(CheckContext(DictTarget({"TwoLayerNet": cls}), seed=0))


class Linear(A1TwoLayerNet):
    """No ReLU, with a backward pass that matches: the gradient check cannot see it, the scores can."""

    def loss(self, X, y=None, reg=0.0):
        p = self.params
        hidden = X @ p["W1"] + p["b1"]
        scores = hidden @ p["W2"] + p["b2"]
        if y is None:
            return scores
        shifted = scores - scores.max(axis=1, keepdims=True)
        probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        loss = -np.log(probs[np.arange(len(y)), y]).mean() + reg * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))
        dscores = probs
        dscores[np.arange(len(y)), y] -= 1
        dscores /= len(y)
        dhidden = dscores @ p["W2"].T
        return loss, {"W2": hidden.T @ dscores + 2 * reg * p["W2"], "b2": dscores.sum(0),
                      "W1": X.T @ dhidden + 2 * reg * p["W1"], "b1": dhidden.sum(0)}


class Uphill(A1TwoLayerNet):
    def train(self, X, y, X_val, y_val, learning_rate=1e-3, learning_rate_decay=0.95, reg=5e-6, num_iters=100,
              batch_size=200, verbose=False):
        history = []
        for _ in range(num_iters):
            idx = np.random.choice(len(X), batch_size)
            loss, grads = self.loss(X[idx], y=y[idx], reg=reg)
            history.append(loss)
            for name in self.params:
                self.params[name] += learning_rate * grads[name]
        return {"loss_history": history}


class AxisZero(A1TwoLayerNet):
    def predict(self, X):
        return np.argmax(self.loss(X), axis=0)


def test_a_forward_pass_without_relu_fails_the_scores_check_only():
    assert run("models.two_layer_net.gradcheck", Linear).status == "pass"
    outcome = run("models.two_layer_net.scores", Linear)
    assert outcome.status == "fail"
    assert "relu" in outcome.hint.lower() or "maximum" in outcome.hint


@pytest.mark.parametrize("check_id, cls, pattern", [
    ("models.two_layer_net.train", Uphill, "uphill_step"),
    ("models.two_layer_net.predict", AxisZero, "predict_axis"),
])
def test_assignment_one_training_and_prediction_bugs_are_named(check_id, cls, pattern):
    outcome = run(check_id, cls)
    assert outcome.status == "fail"
    assert outcome.finding.pattern == pattern


def test_assignment_two_nets_have_no_train_or_predict_to_check():
    with pytest.raises(SkipCheck) as info:
        run("models.two_layer_net.train", reference.TwoLayerNet)
    assert info.value.reason.kind == "not_applicable"
    assert run("models.two_layer_net.scores", reference.TwoLayerNet).status == "pass"
