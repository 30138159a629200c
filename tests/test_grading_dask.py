"""`sanitykit grade --dask-local N` / `--dask ADDRESS`: the same grades as local jobs, on Dask workers.

Skipped when dask.distributed is not installed (it is the optional extra `sanitykit[dask]`).
"""
from __future__ import annotations

import csv
import os
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("distributed")

from sanitykit.checks.registry import catalogue  # noqa: E402
from sanitykit.front.cli import app  # noqa: E402
from sanitykit.front.grading.dask_backend import DaskJobs  # noqa: E402
from sanitykit.front.grading.limits import resolve_limits  # noqa: E402
from sanitykit.front.grading.plan import GradingPlan  # noqa: E402
from sanitykit.front.grading.rubric import parse_rubric  # noqa: E402
from sanitykit.front.grading.runner import grade_class  # noqa: E402
from sanitykit.front.grading.submissions import discover  # noqa: E402

CORRECT = "from sanitykit.reference.layers import *\nimport sanitykit.reference.layers as _ref\n"
DW_OVER_N = CORRECT + ("def affine_backward(dout, cache):\n"
                       "    dx, dw, db = _ref.affine_backward(dout, cache)\n"
                       "    return dx, dw / dout.shape[0], db\n")
RAISES = CORRECT + "def relu_forward(x):\n    raise ValueError('not yet')\n"
RUBRIC = '[[rule]]\nchecks = ["layers.affine.*", "layers.relu.*"]\npoints = 1\n'
# Writes its pid, then never returns: only a kill ends it.
HANGS = CORRECT + ("import os, time\n"
                   "def affine_forward(x, w, b):\n"
                   "    open(os.environ['SANITYKIT_TEST_PIDFILE'], 'w').write(str(os.getpid()))\n"
                   "    while True:\n"
                   "        try:\n"
                   "            time.sleep(100)\n"
                   "        except BaseException:\n"
                   "            pass\n")


def write_student(folder: Path, layers: str) -> None:
    (folder / "cs231n").mkdir(parents=True)
    (folder / "cs231n" / "__init__.py").write_text("")
    (folder / "cs231n" / "layers.py").write_text(layers)


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as stream:
        return list(csv.DictReader(stream))


def test_dask_local_gives_the_same_class_csv_as_local_jobs(tmp_path):
    for name, layers in {"ann": DW_OVER_N, "ben": CORRECT, "cat": RAISES}.items():
        write_student(tmp_path / "class" / name, layers)
    (tmp_path / "class" / "dan.zip").write_bytes(b"not a zip")
    (tmp_path / "rubric.toml").write_text(RUBRIC)
    common = [str(tmp_path / "class"), "--rubric", str(tmp_path / "rubric.toml")]
    runner = CliRunner()
    local = runner.invoke(app, ["grade", *common, "--out", str(tmp_path / "jobs"), "--jobs", "2"])
    dask = runner.invoke(app, ["grade", *common, "--out", str(tmp_path / "dask"), "--dask-local", "2"])
    assert local.exit_code == dask.exit_code == 1, dask.output  # dan's zip cannot be graded
    assert (tmp_path / "dask" / "class.csv").read_text() == (tmp_path / "jobs" / "class.csv").read_text()
    rows = {r["submission"]: r for r in read_csv(tmp_path / "dask" / "class.csv")}
    assert float(rows["ann"]["score"]) < float(rows["ben"]["score"]) == float(rows["ben"]["max_score"])
    # Unchanged submissions are kept on a rerun through Dask too.
    again = runner.invoke(app, ["grade", *common, "--out", str(tmp_path / "dask"), "--dask-local", "1"])
    assert again.output.count("unchanged, kept") == 4, again.output


def test_the_starter_travels_to_the_workers(tmp_path):
    write_student(tmp_path / "class" / "ann", CORRECT)
    (tmp_path / "course" / "cs231n").mkdir(parents=True)
    (tmp_path / "course" / "cs231n" / "layer_utils.py").write_text("from sanitykit.reference.layer_utils import *\n")
    (tmp_path / "rubric.toml").write_text('[[rule]]\nchecks = ["layers.affine_relu.*"]\npoints = 1\n')
    result = CliRunner().invoke(app, ["grade", str(tmp_path / "class"), "--out", str(tmp_path / "out"),
                                      "--rubric", str(tmp_path / "rubric.toml"), "--starter",
                                      str(tmp_path / "course"), "--dask-local", "1"])
    rows = read_csv(tmp_path / "out" / "class.csv")
    assert rows[0]["score"] == rows[0]["max_score"] != "0.0", result.output


def test_ctrl_c_kills_the_children_on_the_workers_and_keeps_finished_results(tmp_path, monkeypatch):
    pidfile = tmp_path / "hanging.pid"
    monkeypatch.setenv("SANITYKIT_TEST_PIDFILE", str(pidfile))
    write_student(tmp_path / "class" / "a_fast", CORRECT)
    write_student(tmp_path / "class" / "b_hangs", HANGS)
    rubric = parse_rubric(RUBRIC)
    specs = catalogue()
    limits = resolve_limits({"jobs": 2, "check_timeout": 300, "submission_timeout": 600}, env={})
    plan = GradingPlan(rubric, tuple(rubric.grade(specs)), limits, tuple(s.id for s in specs))

    def interrupt_once_hanging(result):
        wait_for(pidfile.exists)  # the hanging child is running on its worker
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        grade_class(discover(tmp_path / "class"), plan, tmp_path / "out", on_done=interrupt_once_hanging,
                    jobs=DaskJobs(plan, local_workers=2))
    pid = int(pidfile.read_text())
    wait_for(lambda: not process_alive(pid))  # killed by the task's watcher
    assert [r["submission"] for r in read_csv(tmp_path / "out" / "class.csv")] == ["a_fast"]


def wait_for(condition, patience_s: float = 120.0) -> None:
    """Poll `condition`; fail (rather than hang the suite) if it never comes true."""
    deadline = time.monotonic() + patience_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"still waiting after {patience_s:g} s")
        time.sleep(0.1)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie waiting for its parent to reap it is dead for our purpose.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_an_unreachable_scheduler_is_a_command_line_error(tmp_path, monkeypatch):
    monkeypatch.setattr("sanitykit.front.grading.dask_backend.CONNECT_TIMEOUT", "1s")
    write_student(tmp_path / "class" / "ann", CORRECT)
    result = CliRunner().invoke(app, ["grade", str(tmp_path / "class"), "--out", str(tmp_path / "out"),
                                      "--dask", "tcp://127.0.0.1:9", "--rubric", str(_rubric(tmp_path))])
    assert result.exit_code == 2, result.output
    assert "cannot reach the Dask scheduler" in result.output


def _rubric(tmp_path: Path) -> Path:
    (tmp_path / "rubric.toml").write_text(RUBRIC)
    return tmp_path / "rubric.toml"
