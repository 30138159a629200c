"""`sanitykit lr-find` and `sanitykit activations` through typer's CliRunner."""
from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

import sanitykit.front.cli_training as cli_training  # registers the commands on the app
from sanitykit.engine import training as tr
from sanitykit.front.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, list(args))


def test_lr_find_on_the_reference_reports_a_bracket():
    result = invoke("lr-find", "sanitykit.reference", "--iters", "15")
    assert result.exit_code == 0, result.output
    assert "bracket: [" in result.output
    assert "recommended start" in result.output
    assert "learning rate (log scale)" in result.output
    assert "diverged" in result.output and "no progress" in result.output


def test_lr_find_reads_an_npz(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "data.npz"
    y = rng.integers(0, 3, 80)
    X = rng.standard_normal((80, 2, 3)) + 3 * y[:, None, None]
    np.savez(path, X_train=X[:60], y_train=y[:60], X_val=X[60:], y_val=y[60:])
    result = invoke("lr-find", "sanitykit.reference", "--data", str(path), "--iters", "10", "--examples", "60")
    assert result.exit_code == 0, result.output
    assert "on 60 examples" in result.output


def test_lr_find_with_an_incomplete_npz_exits_2(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, X_train=np.zeros((4, 2)))
    result = invoke("lr-find", "sanitykit.reference", "--data", str(path))
    assert result.exit_code == 2
    assert "missing y_train" in result.output


def test_lr_find_on_a_missing_target_exits_2(tmp_path):
    result = invoke("lr-find", str(tmp_path / "nowhere.py"))
    assert result.exit_code == 2


def test_activations_on_the_reference_shows_every_init():
    result = invoke("activations", "sanitykit.reference", "--layers", "6", "--units", "120")
    assert result.exit_code == 0, result.output
    for line in ("tanh, small init: collapses (expected collapses)",
                 "relu, xavier init: shrinks (expected shrinks)",
                 "relu, he init: holds (expected holds)",
                 "your FullyConnectedNet, batchnorm"):
        assert line in result.output


def test_lr_plot_puts_diverged_runs_on_the_top_row():
    runs = []
    for lr, losses in ((1e-3, [2.0, 2.0, 2.0]), (1e-1, [2.0, 1.0, 0.5]), (1e1, [2.0, 50.0])):
        run = tr.TrainRun(lr)
        run.losses = losses
        runs.append(run)
    lines = cli_training.lr_plot(runs, width=21, height=5, ascii_only=True).splitlines()
    assert lines[0].endswith("x")           # diverged at the largest rate, top right
    assert lines[0].split("|")[1][0] == "o"  # no progress at the initial loss, top left
    assert lines[4].split("|")[1][10] == "*"  # the lowest loss, bottom row, middle column


@pytest.mark.parametrize("value, cells", [(0.5, 12), (1.0, 24), (2.0, 25)])
def test_bar_length_is_proportional(value, cells):
    assert len(cli_training.bar(value, 1.0)) == cells
