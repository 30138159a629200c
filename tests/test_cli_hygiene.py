"""The command line's manners: python -m sanitykit, shell completion, an --only that matches nothing."""
from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from sanitykit.front.cli import app

runner = CliRunner()


def words(output: str) -> str:
    """The output's words on one line: rich's error box wraps and frames its text."""
    return " ".join(output.replace("│", " ").split())


def test_python_dash_m_runs_the_same_commands():
    result = subprocess.run([sys.executable, "-m", "sanitykit", "--version"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("sanitykit ")
    listed = subprocess.run([sys.executable, "-m", "sanitykit", "list", "--format", "json"],
                            capture_output=True, text=True)
    assert listed.returncode == 0 and '"layers.affine.gradcheck"' in listed.stdout


def test_shell_completion_is_offered():
    result = runner.invoke(app, ["--help"])
    assert "--install-completion" in result.output and "--show-completion" in result.output


def test_an_only_that_matches_no_check_is_an_error_naming_sanitykit_list():
    result = runner.invoke(app, ["check", "sanitykit.reference", "--only", "layers.afine.*"])
    assert result.exit_code == 2, result.output
    assert "'layers.afine.*' matches no check" in words(result.output)
    assert "`sanitykit list` shows the ids" in words(result.output)


def test_an_only_outside_the_chosen_suite_is_an_error_too():
    result = runner.invoke(app, ["check", "sanitykit.reference", "--suite", "losses", "--only", "layers.*"])
    assert result.exit_code == 2, result.output
    assert "matches no check of losses" in words(result.output)
