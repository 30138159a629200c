"""The losses suite: passes on the reference, names each planted loss bug."""
import numpy as np
import pytest

import sanitykit.reference as reference
import sanitykit.checks.losses  # noqa: F401 - declares the suite
from sanitykit.checks.registry import REGISTRY, CheckContext, DictTarget, SkipCheck
from sanitykit.engine.usercode import NotImplementedYet


def suite_specs(suite):
    """The suite's checks in declaration order (importing only this suite: another suite's
    half-written module must not break these tests; catalogue() would import them all)."""
    return [spec for spec in REGISTRY.values() if spec.suite == suite]


def run(check_id, **objects):
    return REGISTRY[check_id].func(CheckContext(DictTarget(objects), seed=0))


def log_softmax(x):
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


# ---------------------------------------------------------------- planted bugs

def softmax_summed(x, y):
    """Correct except that loss and dx are summed over N, not averaged."""
    n = x.shape[0]
    log_probs = log_softmax(x)
    dx = np.exp(log_probs)
    dx[np.arange(n), y] -= 1
    return -log_probs[np.arange(n), y].sum(), dx


def softmax_no_max(x, y):
    """exp of the raw scores: overflows for scores around 1e3."""
    n = x.shape[0]
    probs = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    dx = probs.copy()
    dx[np.arange(n), y] -= 1
    return -np.log(probs[np.arange(n), y]).mean(), dx / n


def softmax_old_starter(x, y):
    """Shifts by the max but takes log of the probabilities (underflow to log 0 for spread scores)."""
    n = x.shape[0]
    probs = np.exp(x - x.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    dx = probs.copy()
    dx[np.arange(n), y] -= 1
    return -np.sum(np.log(probs[np.arange(n), y])) / n, dx / n


def softmax_dx_not_averaged(x, y):
    """The right loss, but dx forgets the 1/N."""
    n = x.shape[0]
    log_probs = log_softmax(x)
    dx = np.exp(log_probs)
    dx[np.arange(n), y] -= 1
    return -log_probs[np.arange(n), y].mean(), dx


def svm_margin_zero(x, y):
    """Hinge loss with margin 0 instead of 1."""
    n = x.shape[0]
    margins = np.maximum(0, x - x[np.arange(n), y][:, None])
    margins[np.arange(n), y] = 0
    dx = (margins > 0).astype(float)
    dx[np.arange(n), y] -= dx.sum(axis=1)
    return margins.sum() / n, dx / n


def svm_counts_correct_class(x, y):
    """Forgets to zero the correct class's margin (always 1)."""
    n = x.shape[0]
    margins = np.maximum(0, x - x[np.arange(n), y][:, None] + 1)
    return margins.sum() / n, np.zeros_like(x)


def softmax_stub(x, y):
    loss, dx = None, None
    return loss, dx


# ---------------------------------------------------------------- tests

def test_every_losses_check_passes_on_the_reference():
    target = DictTarget.from_modules(reference)
    specs = suite_specs("losses")
    assert {s.id for s in specs} >= {f"losses.{k}.{a}" for k in ("softmax", "svm")
                                     for a in ("value", "gradcheck", "initial", "stability")}
    for spec in specs:
        outcome = spec.func(CheckContext(target, seed=0))
        assert outcome.status == "pass", (spec.id, outcome)


def test_softmax_summed_over_n_is_named_in_value_and_initial():
    value = run("losses.softmax.value", softmax_loss=softmax_summed)
    assert value.status == "fail"
    assert "summed rather than averaged" in value.hint
    initial = run("losses.softmax.initial", softmax_loss=softmax_summed)
    assert initial.status == "fail"
    assert "summed rather than averaged over N" in initial.message
    # 50 examples: the loss is 50 log C instead of log C.
    assert initial.details["loss"] == pytest.approx(50 * np.log(10), rel=1e-2)


def test_softmax_without_max_subtraction_fails_stability_with_the_rewrite():
    outcome = run("losses.softmax.stability", softmax_loss=softmax_no_max)
    assert outcome.status == "fail"
    assert "subtract the row max: shifted = x - x.max(axis=1, keepdims=True)" in outcome.hint
    # Still right at ordinary scores: only stability is affected.
    assert run("losses.softmax.value", softmax_loss=softmax_no_max).status == "pass"


def test_old_starter_softmax_underflow_is_a_warning():
    outcome = run("losses.softmax.stability", softmax_loss=softmax_old_starter)
    assert outcome.status == "warn"
    assert "underflows" in outcome.message


def test_softmax_dx_without_1_over_n_fails_gradcheck():
    assert run("losses.softmax.value", softmax_loss=softmax_dx_not_averaged).status == "pass"
    assert run("losses.softmax.gradcheck", softmax_loss=softmax_dx_not_averaged).status == "fail"


def test_svm_margin_zero_is_named():
    value = run("losses.svm.value", svm_loss=svm_margin_zero)
    assert value.status == "fail"
    assert "margin of 1 is missing" in value.hint
    initial = run("losses.svm.initial", svm_loss=svm_margin_zero)
    assert initial.status == "fail"
    assert "C - 1" in initial.message


def test_svm_counting_the_correct_class_is_named():
    # Near-zero scores: every margin is 1, so the correct class adds exactly 1 per example (C, not C - 1).
    initial = run("losses.svm.initial", svm_loss=svm_counts_correct_class)
    assert initial.status == "fail"
    assert initial.details["loss"] == pytest.approx(10, rel=1e-2)
    assert "correct class" in initial.hint


def test_stub_and_absent_loss_are_not_failures():
    with pytest.raises(NotImplementedYet):
        run("losses.softmax.value", softmax_loss=softmax_stub)
    with pytest.raises(SkipCheck):
        run("losses.svm.value")


def run_in_order(ids, **objects):
    from sanitykit.front.runner import check_result

    target, results = DictTarget(objects), {}
    for spec in suite_specs("losses"):
        if spec.id in ids:
            results[spec.id] = check_result(spec, spec.func(CheckContext(target, seed=0, results=results)), 0.0)
    return results


def test_a_wrong_loss_gets_no_overflow_hint_at_large_scores():
    def softmax_log10(x, y):  # stable, but the log of base 10: wrong at every scale
        loss, dx = reference.softmax_loss(x, y)
        return loss / np.log(10), dx / np.log(10)

    results = run_in_order(("losses.softmax.value", "losses.softmax.stability"), softmax_loss=softmax_log10)
    assert results["losses.softmax.value"].diagnosis.pattern == "natural_log"
    stability = results["losses.softmax.stability"]
    assert stability.status == "skip" and stability.reason.see == ("losses.softmax.value",), stability.message
    assert "max" not in stability.hint and "overflow" not in stability.message


def test_an_overflow_is_still_its_own_failure_when_the_value_is_also_wrong():
    def summed_without_max(x, y):
        shifted = x  # planted: no max subtraction
        probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        loss = -np.log(probs[np.arange(len(y)), y]).sum()  # planted: summed, not averaged
        dx = probs.copy()
        dx[np.arange(len(y)), y] -= 1
        return loss, dx

    results = run_in_order(("losses.softmax.value", "losses.softmax.stability"), softmax_loss=summed_without_max)
    assert results["losses.softmax.value"].status == "fail"
    assert results["losses.softmax.stability"].status == "fail"
    assert results["losses.softmax.stability"].diagnosis.pattern == "overflow"
