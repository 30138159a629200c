"""The Gradescope bundle: `grade --make-autograder`, then its run_autograder against a fake /autograder.

The bundle is made once (it builds this checkout's wheel), unpacked the way Gradescope
does (the zip's contents in <root>/source, run_autograder copied to <root>), and run
against <root>/submission with the sanitykit of this test run standing in for the one
setup.sh installs (setup.sh itself needs the network for numpy; its syntax is checked).
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sanitykit._version import __version__
from sanitykit.front.cli import app
from sanitykit.front.grading.autograder import source_checkout

ASSIGNMENT = Path(__file__).parent / "assets" / "assignment"
EDITED = ("cs231n/layers.py", "cs231n/optim.py", "cs231n/classifiers/fc_net.py")
# 10 points over 7 checks: shares with remainders, which must still add up to 10.
RUBRIC = """
[grading]
absent = "not_applicable"
[[rule]]
checks = ["layers.affine.*", "layers.relu.*"]
total = 10
weights = { "*.gradcheck" = 3 }
"""
SANITYKIT = str(Path(sys.executable).parent / "sanitykit")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    if source_checkout() is None:
        pytest.skip("sanitykit is installed from a wheel: there is no checkout to build the bundle's wheel from")
    base = tmp_path_factory.mktemp("autograder")
    rubric = base / "rubric.toml"
    rubric.write_text(RUBRIC)
    starter = base / "course"
    shutil.copytree(ASSIGNMENT, starter)
    result = CliRunner().invoke(app, ["grade", "--make-autograder", str(base / "autograder.zip"),
                                      "--rubric", str(rubric), "--starter", str(starter)])
    assert result.exit_code == 0, result.output
    return base / "autograder.zip"


def fake_root(base: Path, bundle: Path, submission_files: dict[str, str]) -> Path:
    """An /autograder layout: source/ (the zip), run_autograder, submission/, results/."""
    root = base / "autograder"
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    for name, text in submission_files.items():
        (root / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "submission" / name).write_text(text)
    (root / "results").mkdir()
    return root


def run_autograder(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SANITYKIT": SANITYKIT}
    return subprocess.run(["bash", str(root / "run_autograder"), str(root)], capture_output=True, text=True,
                          env=env, cwd=root)


def test_the_bundle_has_the_layout_gradescope_expects(bundle):
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
        setup = zf.read("setup.sh").decode()
        assert zf.read("rubric.toml").decode() == RUBRIC
    assert {"setup.sh", "run_autograder", "rubric.toml"} <= names
    assert all(modes[script] & stat.S_IXUSR for script in ("setup.sh", "run_autograder"))
    wheels = [n for n in names if n.startswith("wheels/")]
    assert wheels == [f"wheels/sanitykit-{__version__}-py3-none-any.whl"]
    assert {f"starter/{rel}" for rel in EDITED + ("cs231n/layer_utils.py",)} <= names
    # setup.sh installs exactly the shipped version, and both scripts are valid bash.
    assert f'"sanitykit=={__version__}"' in setup
    with zipfile.ZipFile(bundle) as zf:
        for script in ("setup.sh", "run_autograder"):
            checked = subprocess.run(["bash", "-n"], input=zf.read(script).decode(), capture_output=True, text=True)
            assert checked.returncode == 0, checked.stderr


def test_the_wheel_holds_the_whole_package(bundle):
    with zipfile.ZipFile(bundle) as zf:
        wheel_name = next(n for n in zf.namelist() if n.endswith(".whl"))
        (Path(bundle).parent / "w.whl").write_bytes(zf.read(wheel_name))
    with zipfile.ZipFile(Path(bundle).parent / "w.whl") as wheel:
        names = set(wheel.namelist())
    assert {"sanitykit/front/grading/autograder.py", "sanitykit/reference/layers.py",
            "sanitykit/checks/registry.py", "sanitykit/demo/assignment2/cs231n/layers.py"} <= names
    # Every subpackage of the checkout, so the installed grader imports what this one does.
    checkout = Path(__file__).resolve().parents[1] / "sanitykit"
    packages = {f"sanitykit/{p.parent.relative_to(checkout).as_posix()}/__init__.py"
                for p in checkout.rglob("__init__.py") if "demo" not in p.parts and p.parent != checkout}
    assert packages <= names, sorted(packages - names)


def test_run_autograder_writes_results_whose_points_sum_to_the_total(bundle, tmp_path):
    # A flat upload of the files students edit: the starter supplies layer_utils.py.
    flat = {Path(rel).name: (ASSIGNMENT / rel).read_text() for rel in EDITED}
    root = fake_root(tmp_path, bundle, flat)
    done = run_autograder(root)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    tests = results["tests"]
    assert tests and {"name", "score", "max_score", "status", "number", "tags"} <= set(tests[0])
    assert round(sum(t["max_score"] for t in tests), 2) == 10
    assert results["score"] == round(sum(t["score"] for t in tests), 2)
    assert all(0 <= t["score"] <= t["max_score"] and t["status"] in ("passed", "failed") for t in tests)
    assert results["stdout_visibility"] == "hidden"
    report = json.loads((root / "results" / "report.json").read_text())
    assert report["grading"]["status"] == "graded", report["grading"]["reasons"]
    assert "cs231n/layer_utils.py" in report["loading"]["starter"]["files"]


def test_run_autograder_without_a_submission_fails_loudly(bundle, tmp_path):
    root = fake_root(tmp_path, bundle, {})
    shutil.rmtree(root / "submission", ignore_errors=True)
    done = run_autograder(root)
    assert done.returncode == 2
    assert "no submission folder" in done.stderr


def test_a_bundle_without_a_wheel_to_ship_is_a_command_line_error(tmp_path):
    result = CliRunner().invoke(app, ["grade", "--make-autograder", str(tmp_path / "a.zip"),
                                      "--wheel", str(tmp_path / "missing.whl")])
    assert result.exit_code == 2
    assert "no such wheel" in result.output
