"""Student trees from every course year load, their conventions are measured and named, and
correct code raises no alarm (issue 7). The trees under assets/eras/ were written for these tests."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from sanitykit.front.conventions import dropout_convention, groupnorm_shape, optim_signature
from sanitykit.front.loading import load_target
from sanitykit.front.runner import check
from sanitykit.front.shims import old_div, rewrite_print_statements

ERAS = Path(__file__).parent / "assets" / "eras"


def alarms(report):
    return [(c.id, c.message) for c in report.checks if c.status in ("fail", "error")]


def status(report, check_id):
    return next(c for c in report.checks if c.id == check_id).status


# ---------------------------------------------------------------- each era, end to end

@pytest.fixture(scope="module")
def reports():
    """One full run per era tree (all suites), shared by the tests below."""
    return {name: check(ERAS / name) for name in ("y2016", "y2019", "y2023", "no_init", "half")}


@pytest.mark.parametrize("era", ["y2016", "y2019", "y2023", "no_init", "half"])
def test_a_correct_tree_of_every_era_loads_and_raises_no_alarm(reports, era):
    report = reports[era]

    assert alarms(report) == []
    assert report.loading["problems"] == []
    assert sum(c.status == "pass" for c in report.checks) >= 5


def test_2016_tree_python2_remnants_are_shimmed_and_conventions_named(reports):
    loading = reports["y2016"].loading

    assert loading["conventions"]["dropout_p"] == "drop"          # (rand >= p) / (1 - p)
    assert loading["conventions"]["dropout_rescales"] is True
    assert loading["conventions"]["fc_net_args"] == "dropout+use_batchnorm"
    assert "(x, dx, config)" in loading["conventions"]["optim_signature"]
    assert loading["conventions"]["model_dtype"] == "float32"
    assert "drop probability" in loading["conventions_text"]
    # One parenthesis, not "(the 2016-17 convention) (measured: ...)" two in a row.
    assert "drop probability (measured: 20% of units kept with p=0.8; the 2016-17 convention)" \
        in loading["conventions_text"]
    shims = " ".join(loading["shims"])
    assert "fast_layers.py: 3 Python-2 print statements" in shims
    assert "solver.py: 1 Python-2 print statement" in shims
    assert "layers.py: Python-2 xrange" in shims
    assert "layers.py: Python-2 division" in shims


def test_2016_fast_layers_without_cython_are_replaced_everywhere_they_are_bound(reports):
    report = reports["y2016"]
    substituted = {n for s in report.loading["substitutions"] for n in s["names"]}

    assert substituted == {"conv_forward_fast", "conv_backward_fast", "max_pool_forward_fast",
                           "max_pool_backward_fast"}
    assert all("im2col_cython" in s["message"] and "cs231n.layer_utils" in s["message"]
               for s in report.loading["substitutions"])
    # The student's ThreeLayerConvNet runs through layer_utils on sanitykit's fast layers.
    assert status(report, "models.cnn.gradcheck") == "pass"
    # The course's fast layers are not checked as if they were the student's.
    assert status(report, "layers.conv_fast.forward") == "skip"
    assert "cannot run here" in next(c.message for c in report.checks if c.id == "layers.conv_fast.forward")
    assert status(report, "layers.conv.gradcheck") == "pass"  # conv_forward_naive with Python-2 `/`


def test_2019_tree_future_and_past_without_the_package(reports):
    loading = reports["y2019"].loading

    assert loading["conventions"]["dropout_p"] == "keep"
    assert loading["conventions"]["fc_net_args"] == "dropout+normalization"
    assert loading["conventions"]["groupnorm_param_shape"] == "1d"
    assert loading["conventions"]["optim_signature"] == "(w, dw, config)"
    if "past" not in sys.modules:  # the stand-ins are used only when `future` is not installed
        assert any(s.startswith("past:") for s in loading["shims"])
        assert any(s.startswith("future:") for s in loading["shims"])
    assert status(reports["y2019"], "layers.spatial_groupnorm.gradcheck") == "pass"


def test_2023_tree_relative_imports_and_fast_layers_needing_torch(reports):
    report = reports["y2023"]
    loading = report.loading

    assert loading["conventions"]["fc_net_args"] == "dropout_keep_ratio+normalization"
    assert loading["conventions"]["groupnorm_param_shape"] == "4d"
    [substitution] = loading["substitutions"]
    assert "torch" in substitution["message"] and substitution["file"] == "cs231n/fast_layers.py"
    assert status(report, "models.cnn.gradcheck") == "pass"
    assert status(report, "models.fc_net.gradcheck_dropout") == "pass"
    # Years without TwoLayerNet or svm_loss: skipped, and said.
    assert status(report, "models.two_layer_net.gradcheck") == "skip"
    assert status(report, "losses.svm.value") == "skip"
    assert "no TwoLayerNet, svm_loss" in loading["conventions_text"]


def test_half_finished_tree_is_skipped_as_not_implemented_yet(reports):
    report = reports["half"]
    by_id = {c.id: c for c in report.checks}

    for check_id in ("layers.affine.gradcheck", "layers.relu.interface", "layers.batchnorm.interface",
                     "layers.dropout.interface", "losses.softmax.value", "optim.adam.step",
                     "models.two_layer_net.gradcheck", "models.two_layer_net.initial_loss"):
        assert by_id[check_id].status == "skip", check_id
        assert "not implemented yet" in by_id[check_id].message, check_id
    assert "returned its input unchanged" in by_id["layers.batchnorm.interface"].message
    assert by_id["layers.affine.forward"].status == "pass"


def test_planted_bugs_in_an_old_tree_are_still_found():
    report = check(ERAS / "y2017_bugs", suites=["layers", "losses"])

    assert report.loading["conventions"]["dropout_p"] == "drop"
    assert status(report, "layers.dropout.keep_ratio") == "pass"
    assert status(report, "layers.dropout.mask_reuse") == "fail"      # lost 1 / (1 - p)
    assert status(report, "losses.softmax.stability") == "fail"       # no max subtraction
    assert {i for i, _ in alarms(report)} <= {"layers.dropout.mask_reuse", "layers.dropout.gradcheck",
                                               "losses.softmax.stability"}
    assert report.loading["problems"] == []  # `from layers import *`, Python 2's implicit relative import


# ---------------------------------------------------------------- loading

def test_two_loads_of_an_old_tree_share_no_modules_and_leave_no_aliases():
    first = load_target(ERAS / "y2016")
    second = load_target(ERAS / "y2016")

    assert not set(map(id, first.modules.values())) & set(map(id, second.modules.values()))
    assert first.get("FullyConnectedNet") is not second.get("FullyConnectedNet")
    leftovers = [k for k, m in sys.modules.items()
                 if k.partition(".")[0] in ("cs231n", "layers", "layer_utils", "fast_layers")
                 or getattr(m, "__sanitykit_shim__", False)]
    assert leftovers == []


def test_output_printed_at_import_is_captured(capsys):
    target = load_target(ERAS / "y2016")

    assert capsys.readouterr() == ("", "")
    assert "python setup.py build_ext --inplace" in target.import_output


def test_a_students_own_fast_function_is_never_replaced(tmp_path):
    package = tmp_path / "cs231n"
    package.mkdir()
    (package / "fast_layers.py").write_text("import torch\n")
    (package / "my_fast.py").write_text(
        "from sanitykit.reference import conv_forward_fast as _c, conv_backward_fast as _b\n"
        "def conv_forward_fast(x, w, b, conv_param):\n    return _c(x, w, b, conv_param)\n"
        "def conv_backward_fast(dout, cache):\n    return _b(dout, cache)\n")

    target = load_target(tmp_path)

    assert target.get("conv_forward_fast").__module__.endswith("my_fast")
    assert target.get("max_pool_forward_fast") is None
    assert "torch" in target.absent_note("max_pool_forward_fast")


# ---------------------------------------------------------------- shims, by hand-written oracles

@pytest.mark.parametrize("line, expected", [
    ("print 'hello'", "print('hello')"),
    ("    print 'a %d' % 3, x", "    print('a %d' % 3, x)"),
    ("print x,", "print(x, end=' ')"),
    ("print", "print()"),
    ("print >>sys.stderr, 'oops'", "print('oops', file=sys.stderr)"),
    ("print('already a call')", "print('already a call')"),
    ("printer = 3", "printer = 3"),
])
def test_python2_print_statements_become_calls_line_for_line(line, expected):
    rewritten, _ = rewrite_print_statements(line + "\n")

    assert rewritten == expected + "\n"


def test_old_div_floors_only_between_integers():
    assert old_div(7, 2) == 3 and old_div(-7, 2) == -4
    assert old_div(np.int64(9), 2) == 4
    assert old_div(7.0, 2) == 3.5
    np.testing.assert_allclose(old_div(np.array([3.0, 5.0]), 2), [1.5, 2.5])


# ---------------------------------------------------------------- conventions, by measurement

def keep_dropout(x, dropout_param):
    p = dropout_param["p"]
    mask = (np.random.RandomState(dropout_param["seed"]).rand(*x.shape) < p) / p
    return x * mask, mask


def unscaled_drop_dropout(x, dropout_param):
    mask = np.random.RandomState(dropout_param["seed"]).rand(*x.shape) >= dropout_param["p"]
    return x * mask, mask


def test_dropout_convention_is_read_from_the_kept_fraction():
    keep, _ = dropout_convention(keep_dropout)
    drop, _ = dropout_convention(unscaled_drop_dropout)

    assert keep == {"dropout_p": "keep", "dropout_rescales": True}
    assert drop == {"dropout_p": "drop", "dropout_rescales": False}
    assert dropout_convention(lambda x, param: None) == ({}, "")


def test_groupnorm_shape_and_optim_signature_are_measured():
    from sanitykit.reference import spatial_groupnorm_forward

    def flat_gamma(x, gamma, beta, G, gn_param):
        C = x.shape[1]
        xhat, cache = spatial_groupnorm_forward(x, np.ones((1, C, 1, 1)), np.zeros((1, C, 1, 1)), G, gn_param)
        return gamma[None, :, None, None] * xhat + beta[None, :, None, None], cache  # only (C,) broadcasts

    def adam_2016(x, dx, config=None):
        return x, config

    def sgd_later(w, dw, config=None):
        return w, config

    assert groupnorm_shape(flat_gamma)[0] == {"groupnorm_param_shape": "1d"}
    assert optim_signature([adam_2016])[0] == {"optim_signature": "(x, dx, config)"}
    assert optim_signature([sgd_later, adam_2016])[0] == {"optim_signature": "(w, dw, config) / (x, dx, config)"}


def test_a_python2_file_is_read_in_the_encoding_its_coding_line_declares(tmp_path):
    """2016 trees often declare `# -*- coding: latin-1 -*-`; the Python-2 rewriting reads them as
    Python does, so the é on the print line survives and the shims still apply (issue 19)."""
    (tmp_path / "solver.py").write_bytes(
        b"# -*- coding: latin-1 -*-\n"
        b"def report(loss):\n"
        b"    print 'r\xe9sultat', loss\n"
        b"    return [i for i in xrange(2)]\n")

    target = load_target(tmp_path)

    assert target.problems == []
    assert target.get("report")(1.5) == [0, 1]
    assert "solver.py: 1 Python-2 print statement read as print()" in target.shims
