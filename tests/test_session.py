"""A check run alone (a pytest item, a -k selection) gives the result it has in a whole run."""
from __future__ import annotations

import pytest

from sanitykit.checks.registry import REGISTRY, catalogue
from sanitykit.front.cli import DEMO_ROOT
from sanitykit.front.loading import load_target
from sanitykit.front.runner import check, dependencies_first
from sanitykit.front.session import CheckSession, prerequisites


def ids(specs):
    return [s.id for s in specs]


def test_a_model_check_reads_the_earlier_suites_but_not_other_models():
    ordered = dependencies_first(catalogue())
    needed = ids(prerequisites(REGISTRY["models.fc_net.gradcheck"], ordered))
    assert "layers.affine.gradcheck" in needed and "losses.softmax.gradcheck" in needed
    assert "models.fc_net.scores_shape" in needed  # its dependency
    assert not any(i.startswith("models.cnn.") or i.startswith("training.") for i in needed)


def test_an_optimizer_check_reads_the_earlier_checks_of_its_rule_only():
    ordered = dependencies_first(catalogue())
    assert ids(prerequisites(REGISTRY["optim.adam.state"], ordered)) == [
        "optim.adam.bias_correction", "optim.adam.step", "optim.adam.defaults"]


def test_a_training_check_reads_the_fully_connected_net_checks_but_not_the_conv_nets():
    ordered = dependencies_first(catalogue())
    needed = ids(prerequisites(REGISTRY["training.fc_net.overfit"], ordered))
    assert "models.fc_net.init" in needed and "optim.adam.step" in needed
    assert not any(i.startswith("models.cnn.") for i in needed)


def test_a_declared_read_across_topics_is_a_prerequisite():
    ordered = dependencies_first(catalogue())
    assert "training.init.schemes" in ids(prerequisites(REGISTRY["training.activations.depth"], ordered))


WHOLE = ("layers.affine_relu.gradcheck", "optim.adam.state", "models.fc_net.gradcheck",
         "models.fc_net.gradcheck_batchnorm", "training.fc_net.lr_bracket", "training.fc_net.overfit",
         "training.activations.fc_net")


@pytest.fixture(scope="module")
def whole_run():
    report = check(DEMO_ROOT, suites=["layers", "losses", "optim", "models", "training"])
    return {r.id: r for r in report.checks}


@pytest.mark.parametrize("check_id", WHOLE)
def test_a_check_run_alone_matches_the_whole_run(whole_run, check_id):
    with CheckSession(load_target(DEMO_ROOT)) as session:
        alone = session.run(check_id)
    whole = whole_run[check_id]
    assert (alone.status, alone.reason, alone.diagnosis) == (whole.status, whole.reason, whole.diagnosis)
    assert alone.message == whole.message


def test_a_check_is_run_once_per_session():
    calls = []
    with CheckSession(load_target(DEMO_ROOT)) as session:
        original = session.execute
        session.execute = lambda spec: calls.append(spec.id) or original(spec)
        session.run("optim.adam.state")
        session.run("optim.adam.step")
        session.run("optim.adam.state")
    assert calls == ["optim.adam.bias_correction", "optim.adam.step", "optim.adam.defaults", "optim.adam.state"]
