"""`sanitykit check` survives whatever student code does (issue 15): each hostile tree is run
through the real command in a subprocess, as a student would run it.

Every run must end within a small multiple of --timeout, write a complete JSON report (every
selected check, a one-line reason on each error), still run the other checks, and leave the
student's tree byte for byte as it was.
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sanitykit.checks.registry import catalogue
from sanitykit.engine.findings import REASON_KINDS
from sanitykit.front.runner import select
from sanitykit.front.worker.session import CRASH_NOTE, EXIT_NOTE, HUNG_NOTE, TIMEOUT_NOTE

TIMEOUT = 2
ONLY = ("layers.affine.*", "layers.relu.*")
# Generous: a loaded machine starts two Pythons with numpy; a hang must not cost much more.
ENDS_WITHIN_S = 15 * TIMEOUT
CLI = [sys.executable, "-c", "from sanitykit.front.cli import main; main()"]

LOOP_SWALLOWING_EVERYTHING = """
def relu_forward(x):
    while True:
        try:
            while True:
                pass
        except:  # noqa: E722 - the point: it swallows any alarm
            pass
"""
LOOP_IGNORING_THE_ALARM = """
import signal
def relu_forward(x):
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    while True:
        pass
"""
LOOP_CANCELLING_THE_ALARM = """
import signal
def relu_forward(x):
    signal.setitimer(signal.ITIMER_REAL, 0)
    while True:
        pass
"""
PRINTS_50_MB = """
def relu_forward(x):
    for _ in range(50):
        print("x" * 1_000_000)
    return x * (x > 0), x
"""
LEAVES_A_THREAD_RUNNING = """
import threading, time
def relu_forward(x):
    threading.Thread(target=lambda: time.sleep(3600)).start()  # not a daemon: would keep us alive
    return x * (x > 0), x
"""
POSIX_EXIT = """
import posix
def relu_forward(x):
    posix._exit(3)
"""
SEGFAULT = """
import ctypes
def relu_forward(x):
    return ctypes.string_at(0)
"""
RAISES_KEYBOARD_INTERRUPT = """
def relu_forward(x):
    raise KeyboardInterrupt
"""
DELETES_ITS_OWN_FILE = """
import os
def relu_forward(x):
    if os.path.exists(__file__):
        os.remove(__file__)
    return x * (x > 0), x
"""
ALLOCATES_WITHOUT_END = """
def relu_forward(x):
    hoard = []
    while True:
        hoard.append(bytearray(50 * 2**20))
"""


def student_tree(root: Path, layers_source: str) -> Path:
    """cs231n/ with the reference layers and one function of the student's own."""
    package = root / "cs231n"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "layers.py").write_text("from sanitykit.reference.layers import *  # noqa\n" + layers_source)
    return root


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file (bytes) and folder (None) below `root`: what 'unchanged' means."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def run_check(tree: Path, out: Path, *extra: str, timeout: float = TIMEOUT) -> tuple[subprocess.CompletedProcess, float]:
    args = [*CLI, "check", str(tree), "--format", "json", "--output", str(out), "--timeout", str(timeout),
            *(a for glob in ONLY for a in ("--only", glob)), *extra]
    started = time.monotonic()
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    return done, time.monotonic() - started


def checks_of(out: Path) -> dict[str, dict]:
    return {c["id"]: c for c in json.loads(out.read_text())["checks"]}


def assert_complete(checks: dict[str, dict]) -> None:
    """Every selected check is in the report, and every error says why in one line."""
    assert set(checks) == {s.id for s in select(catalogue(), list(ONLY))}
    for check in checks.values():
        if check["status"] == "error":
            reason = check["reason"]
            assert reason is not None and reason["kind"] in REASON_KINDS, check
            assert check["message"].splitlines()[0].strip(), check
            assert "\n" not in reason.get("note", ""), check


HOSTILE = {
    # name: (relu_forward's source, reason kind of layers.relu.interface, words of its message)
    "bare_except_loop": (LOOP_SWALLOWING_EVERYTHING, "timeout", f"stopped after {TIMEOUT} s in relu_forward"),
    "alarm_ignored_loop": (LOOP_IGNORING_THE_ALARM, "timeout", f"stopped after {TIMEOUT} s in relu_forward"),
    "alarm_cancelled_loop": (LOOP_CANCELLING_THE_ALARM, "timeout", f"stopped after {TIMEOUT} s in relu_forward"),
    "posix_exit": (POSIX_EXIT, "crashed", "relu_forward ended the process with exit code 3"),
    "segfault": (SEGFAULT, "crashed", "relu_forward crashed the process: segmentation fault"),
    "keyboard_interrupt": (RAISES_KEYBOARD_INTERRUPT, "raised", "relu_forward raised KeyboardInterrupt"),
    "memory_bomb": (ALLOCATES_WITHOUT_END, "raised", "relu_forward ran out of memory at the 512 MB limit (--memory)"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_function_costs_its_own_checks_only(tmp_path, case):
    source, kind, words = HOSTILE[case]
    tree = student_tree(tmp_path / "student", source)
    before = snapshot(tree)

    done, elapsed = run_check(tree, tmp_path / "out.json", "--memory", "512")

    assert done.returncode == 1, done.stderr
    assert elapsed < ENDS_WITHIN_S
    checks = checks_of(tmp_path / "out.json")
    assert_complete(checks)
    relu = checks["layers.relu.interface"]
    assert (relu["status"], relu["reason"]["kind"]) == ("error", kind), relu
    assert words in relu["message"]
    assert all(checks[i]["status"] == "pass" for i in checks if i.startswith("layers.affine.")), checks
    assert "OsExitCalled" not in done.stderr + (tmp_path / "out.json").read_text()
    assert snapshot(tree) == before


@pytest.mark.parametrize("case", ["bare_except_loop", "alarm_ignored_loop"])
def test_a_function_stopped_once_is_not_called_again(tmp_path, case):
    tree = student_tree(tmp_path / "student", HOSTILE[case][0])

    done, elapsed = run_check(tree, tmp_path / "out.json")

    checks = checks_of(tmp_path / "out.json")
    later = [checks[i] for i in ("layers.relu.forward", "layers.relu.gradcheck")]
    assert [(c["status"], c["reason"]["kind"]) for c in later] == [("error", "hung")] * 2
    assert later[0]["message"] == HUNG_NOTE.format(function="relu_forward", seconds=TIMEOUT,
                                                   check_id="layers.relu.interface")
    assert elapsed < ENDS_WITHIN_S  # one timeout, not three


@pytest.mark.parametrize("source", [PRINTS_50_MB, LEAVES_A_THREAD_RUNNING, DELETES_ITS_OWN_FILE],
                         ids=["prints_50_mb", "non_daemon_thread", "deletes_its_own_file"])
def test_code_that_misbehaves_without_failing_is_checked_and_the_run_ends(tmp_path, source):
    tree = student_tree(tmp_path / "student", source)
    before = snapshot(tree)

    done, elapsed = run_check(tree, tmp_path / "out.json")

    assert elapsed < ENDS_WITHIN_S
    checks = checks_of(tmp_path / "out.json")
    assert_complete(checks)
    assert checks["layers.relu.forward"]["status"] in ("pass", "error")
    assert all(checks[i]["status"] == "pass" for i in checks if i.startswith("layers.affine.")), checks
    assert snapshot(tree) == before
    assert not any(p.name == "__pycache__" for p in tree.rglob("*"))


def test_fifty_megabytes_printed_leave_the_json_on_stdout_intact(tmp_path):
    tree = student_tree(tmp_path / "student", PRINTS_50_MB)
    args = [*CLI, "check", str(tree), "--format", "json", "--only", "layers.relu.*", "--timeout", "30"]

    done = subprocess.run(args, capture_output=True, text=True, timeout=120)

    report = json.loads(done.stdout)
    assert {c["id"] for c in report["checks"]} == {"layers.relu.interface", "layers.relu.forward",
                                                   "layers.relu.gradcheck"}
    assert len(done.stdout) + len(done.stderr) < 2_000_000  # bounded: the 50 MB went nowhere


def test_a_subprocess_started_by_student_code_ends_with_the_run(tmp_path):
    pid_file = tmp_path / "pid"
    source = f"""
import subprocess, sys
def relu_forward(x):
    subprocess.Popen([sys.executable, "-c", "import os, time; open({str(pid_file)!r}, 'a').write(str(os.getpid()) + ' '); time.sleep(3600)"])
    return x * (x > 0), x
"""
    tree = student_tree(tmp_path / "student", source)

    run_check(tree, tmp_path / "out.json", timeout=30)

    pids = [int(line) for line in pid_file.read_text().split()]
    assert pids and not any(process_alive(pid) for pid in pids)


def process_alive(pid: int, wait_s: float = 5.0) -> bool:
    """Whether `pid` still runs after up to `wait_s` seconds (a zombie waiting to be reaped is not running)."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        if state in ("Z", "X"):
            return False
        time.sleep(0.1)
    return True


def test_ctrl_c_writes_the_partial_report_and_exits_130(tmp_path):
    entered = tmp_path / "entered"
    source = f"""
def relu_forward(x):
    open({str(entered)!r}, "w").close()
    while True:
        pass
"""
    tree = student_tree(tmp_path / "student", source)
    out = tmp_path / "out.json"
    args = [*CLI, "check", str(tree), "--format", "json", "--output", str(out), "--timeout", "300",
            *(a for glob in ONLY for a in ("--only", glob))]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not entered.exists() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.1)
        assert entered.exists(), "the looping check never started"
        process.send_signal(signal.SIGINT)  # what the terminal sends on Ctrl-C
        interrupted = time.monotonic()
        code = process.wait(timeout=60)
        stopped_after = time.monotonic() - interrupted
    finally:
        process.kill()
    assert code == 130, process.stderr.read()
    assert stopped_after < 10  # "within about a second"; generous for a loaded machine
    report = json.loads(out.read_text())
    checks = {c["id"]: c for c in report["checks"]}
    assert_complete(checks)
    assert report["interrupted"] is True
    assert all(checks[i]["status"] == "pass" for i in checks if i.startswith("layers.affine."))
    assert {checks[i]["reason"]["kind"] for i in checks if i.startswith("layers.relu.")} == {"interrupted"}


def test_an_os_chdir_at_import_does_not_move_a_relative_output(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    tree = student_tree(tmp_path / "student", f"import os\nos.chdir({str(elsewhere)!r})\n")
    for isolation in ([], ["--in-process"]):
        args = [*CLI, "check", str(tree), "--format", "json", "--output", "out.json", "--only",
                "layers.relu.forward", *isolation]

        done = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=tmp_path)

        assert done.returncode == 0, done.stderr
        assert (tmp_path / "out.json").is_file() and not (elsewhere / "out.json").exists()
        (tmp_path / "out.json").unlink()


def test_the_message_templates_name_the_function_and_the_place():
    assert TIMEOUT_NOTE.format(seconds=2, function="affine_forward", where=" (at layers.py:12)") == (
        "stopped after 2 s in affine_forward (at layers.py:12) (per-check limit, --timeout)")
    assert CRASH_NOTE.format(function="affine_forward", how="segmentation fault (SIGSEGV)", where="") == (
        "affine_forward crashed the process: segmentation fault (SIGSEGV)")
    assert "exit code 3" in EXIT_NOTE.format(function="f", code=3, where="")


def test_the_worker_leaves_no_process_behind(tmp_path):
    from sanitykit.front.session import open_session

    tree = student_tree(tmp_path / "student", LOOP_SWALLOWING_EVERYTHING)
    specs = select(catalogue(), ["layers.relu.*", "layers.sigmoid.*"])
    with open_session(str(tree), timeout=TIMEOUT, specs=specs) as session:
        first = session._worker.proc.pid
        assert session.run("layers.relu.interface").reason.kind == "timeout"
        assert not process_alive(first)  # stopped at the deadline
        assert session.run("layers.sigmoid.forward").status == "pass"  # in a fresh worker
        fresh = session._worker.proc.pid
    assert fresh != first and not process_alive(fresh)
