"""The linear suite: passes on the reference and on winter 2016's convention, names each planted bug."""
import numpy as np
import pytest

import sanitykit.reference as reference
import sanitykit.checks.linear  # noqa: F401 - declares the suite
from sanitykit.checks.registry import REGISTRY, CheckContext, DictTarget
from sanitykit.engine.usercode import NotImplementedYet
from sanitykit.reference import LinearClassifier, svm_loss_naive, svm_loss_vectorized, softmax_loss_vectorized


def run(check_id, **objects):
    target = DictTarget.from_modules(reference)
    target.objects.update(objects)
    return REGISTRY[check_id].func(CheckContext(target, seed=0))


def linear_ids():
    return [spec.id for spec in REGISTRY.values() if spec.suite == "linear"]


def test_every_linear_check_passes_on_the_reference():
    outcomes = {check_id: run(check_id) for check_id in linear_ids()}
    assert {k: o.status for k, o in outcomes.items() if o.status != "pass"} == {}
    assert len(outcomes) >= 20


# ---------------------------------------------------------------- regularisation, by course year

def svm_2016(W, X, y, reg):
    """Winter 2016: 0.5 * reg * sum(W**2) in the loss, reg * W in the gradient (right for its year)."""
    loss, dW = svm_loss_vectorized(W, X, y, 0.0)
    return loss + 0.5 * reg * np.sum(W * W), dW + reg * W


def svm_years_mixed(W, X, y, reg):
    """2017's reg * sum(W**2) with 2016's gradient reg * W: the classic mix."""
    loss, dW = svm_loss_vectorized(W, X, y, 0.0)
    return loss + reg * np.sum(W * W), dW + reg * W


def test_the_2016_convention_passes_and_is_named():
    outcome = run("linear.svm_vectorized.reg", svm_loss_vectorized=svm_2016)
    assert outcome.status == "pass"
    assert "winter 2016" in outcome.message
    assert outcome.details["reg_factor"] == 0.5


def test_a_penalty_whose_gradient_is_of_the_other_year_is_named():
    outcome = run("linear.svm_vectorized.reg", svm_loss_vectorized=svm_years_mixed)
    assert outcome.status == "fail"
    assert outcome.finding.pattern == "reg_mismatch"
    assert "the gradient of reg * sum(W**2) is 2 * reg * W" in outcome.message


def test_naive_and_vectorised_of_different_years_disagree_as_a_warning():
    outcome = run("linear.svm_vectorized.agrees", svm_loss_vectorized=svm_2016)
    assert outcome.status == "warn"
    assert outcome.finding.pattern == "naive_vectorized_disagree"


def test_a_loss_without_its_penalty_is_reg_missing():
    def no_penalty(W, X, y, reg):
        return svm_loss_vectorized(W, X, y, 0.0)

    assert run("linear.svm_vectorized.reg", svm_loss_vectorized=no_penalty).finding.pattern == "reg_missing"


# ---------------------------------------------------------------- data loss and gradient

def test_dw_not_averaged_is_named_batch_size():
    def not_averaged(W, X, y, reg):
        loss, dW = svm_loss_naive(W, X, y, reg)
        return loss, dW * X.shape[0]

    outcome = run("linear.svm_naive.gradcheck", svm_loss_naive=not_averaged)
    assert outcome.status == "fail"
    assert outcome.finding.pattern == "batch_size"
    assert "dW /= num_train" in outcome.hint


def test_softmax_gradient_without_minus_one_is_correct_class():
    def no_minus_one(W, X, y, reg):
        scores = X @ W
        probs = np.exp(scores - scores.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        loss = -np.log(probs[np.arange(len(y)), y]).mean()
        return loss, X.T @ probs / len(y)

    outcome = run("linear.softmax_vectorized.gradcheck", softmax_loss_vectorized=no_minus_one)
    assert outcome.finding.pattern == "correct_class"


def test_a_hinge_without_margin_is_named():
    def no_margin(W, X, y, reg):
        scores = X @ W
        margins = np.maximum(0, scores - scores[np.arange(len(y)), y][:, None])
        return margins.sum() / len(y), np.zeros_like(W)

    outcome = run("linear.svm_vectorized.value", svm_loss_vectorized=no_margin)
    assert outcome.finding.pattern == "svm_margin"


def test_the_starter_code_is_not_implemented_yet():
    def starter(W, X, y, reg):
        loss = 0.0
        dW = np.zeros(W.shape)
        return loss, dW

    with pytest.raises(NotImplementedYet):
        run("linear.softmax_vectorized.value", softmax_loss_vectorized=starter)


def test_a_vectorised_loss_that_loops_over_examples_fails_by_its_line_count():
    # Defined in this file (not in sanitykit's folder): its lines are counted as the student's.
    def looping(W, X, y, reg):
        loss, dW = 0.0, np.zeros_like(W)
        for i in range(X.shape[0]):
            l_i, dW_i = softmax_loss_vectorized(W, X[i:i + 1], y[i:i + 1], 0.0)
            loss, dW = loss + l_i / X.shape[0], dW + dW_i / X.shape[0]
        return loss + reg * np.sum(W * W), dW + 2 * reg * W

    assert run("linear.softmax_vectorized.value", softmax_loss_vectorized=looping).status == "pass"
    outcome = run("linear.softmax_vectorized.no_loops", softmax_loss_vectorized=looping)
    assert outcome.status == "fail"
    assert outcome.finding.pattern == "python_loop"
    assert outcome.details["lines_large"] > outcome.details["lines_small"]


# ---------------------------------------------------------------- LinearClassifier

class Uphill(LinearClassifier):
    def train(self, X, y, learning_rate=1e-3, reg=1e-5, num_iters=100, batch_size=200, verbose=False):
        self.W = 0.001 * np.random.randn(X.shape[1], np.max(y) + 1)
        history = []
        for _ in range(num_iters):
            idx = np.random.choice(X.shape[0], batch_size)
            loss, grad = self.loss(X[idx], y[idx], reg)
            history.append(loss)
            self.W += learning_rate * grad
        return history


class LabelsApart(LinearClassifier):
    def train(self, X, y, learning_rate=1e-3, reg=1e-5, num_iters=100, batch_size=200, verbose=False):
        self.W = 0.001 * np.random.randn(X.shape[1], np.max(y) + 1)
        history = []
        for _ in range(num_iters):
            X_batch = X[np.random.choice(X.shape[0], batch_size)]
            y_batch = y[np.random.choice(X.shape[0], batch_size)]
            loss, grad = self.loss(X_batch, y_batch, reg)
            history.append(loss)
            self.W -= learning_rate * grad
        return history


@pytest.mark.parametrize("cls, pattern", [(Uphill, "uphill_step"), (LabelsApart, "minibatch_labels")])
def test_training_loop_bugs_are_named(cls, pattern):
    outcome = run("linear.classifier.train", LinearClassifier=cls)
    assert outcome.status == "fail"
    assert outcome.finding.pattern == pattern


def test_predict_over_the_wrong_axis_is_named():
    class AxisZero(LinearClassifier):
        def predict(self, X):
            return np.argmax(X.dot(self.W), axis=0)

    assert run("linear.classifier.predict", LinearClassifier=AxisZero).finding.pattern == "predict_axis"
