"""`sanitykit lr-find` and `sanitykit activations` through typer's CliRunner."""
from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import sanitykit.front.cli_training  # noqa: F401 - registers the commands on the app
from sanitykit.front.cli import app
from sanitykit.front.render.charts import Series, chart, plain_chart
from sanitykit.front.render.training import bar

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, list(args))


def test_lr_find_on_the_reference_reports_a_bracket():
    result = invoke("lr-find", "sanitykit.reference", "--iters", "15")
    assert result.exit_code == 0, result.output
    assert "bracket: [" in result.output
    assert "recommended start" in result.output
    assert "against learning rate, log scale" in result.output
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


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_lr_find_prints_json_and_draws_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    picture = tmp_path / "f.png"
    result = invoke("lr-find", "sanitykit.reference", "--iters", "10", "--seeds", "2",
                    "--format", "json", "--plot", str(picture))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["lower"] <= data["upper"] and set(data["seeds"]) == {"0", "1"}
    assert data["confidence"] in ("high", "medium", "low")
    assert picture.read_bytes()[:8] == PNG_SIGNATURE


def test_activations_prints_json_and_draws_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    picture = tmp_path / "a.png"
    result = invoke("activations", "sanitykit.reference", "--layers", "4", "--units", "60",
                    "--format", "json", "--plot", str(picture))
    data = json.loads(result.stdout)
    assert [(s["nonlinearity"], s["init"]) for s in data["stacks"]][-1] == ("relu", "he")
    assert picture.read_bytes()[:8] == PNG_SIGNATURE


def test_plain_chart_places_the_extremes_at_the_corners():
    series = [Series("loss", [1e-3, 1e-1, 1e1], [2.0, 0.5, 50.0])]
    lines = plain_chart(series, width=31, height=5, x_log=True).splitlines()
    assert lines[0].endswith("*")             # the largest loss at the largest rate, top right
    assert lines[4].split("|")[1][10] == "*"  # the lowest loss in the middle decade, bottom row
    assert "* loss" in lines[-1]


def test_a_chart_follows_the_width_it_is_given():
    series = [Series("std", [1, 2, 3, 4], [1.0, 0.5, 0.25, 0.125], lines=True)]
    for width in (50, 90):
        assert max(len(line) for line in chart(series, width=width, y_log=True).splitlines()) <= width


@pytest.mark.parametrize("value, cells", [(0.5, 12), (1.0, 24), (2.0, 25)])
def test_bar_length_is_proportional(value, cells):
    assert len(bar(value, 1.0)) == cells
