"""Process control: start a submission's child, hold its clock, kill it, read what it left.

The one module that spawns and kills (`spawn`, `kill_group`, `OutputTrap`; the check
worker of sanitykit.front.worker uses them too). The child runs in its own session (so a
kill reaches anything it started, and the terminal's Ctrl-C reaches only the parent), with
stdin from /dev/null and stdout+stderr through a pipe of which only a bounded head
and tail are kept. The parent is never the one killed.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sanitykit.front.grading.limits import OUTPUT_KEEP, Limits
from sanitykit.front.grading.result import NOT_RUN

# Message templates (the tests import them): a limit in words, with the option that sets it.
TIMEOUT_MESSAGE = "stopped after {seconds:g} s (per-submission limit, {flag})"
CPU_MESSAGE = "stopped after {seconds} s of CPU time (CPU limit, from {flag})"
MEMORY_KILLED_MESSAGE = "killed at {memory_mb} MB ({flag})"
MEMORY_ERROR_MESSAGE = "ran out of memory at {memory_mb} MB ({flag}): {where}"
SIGNAL_MESSAGE = "crashed: {description} ({name}) while {phase}"
EXIT_MESSAGE = ("the submission's code ended the grading process (exit code {code}, e.g. os._exit or "
                "sys.exit) while {phase}")
TARGET_MESSAGE = "could not be loaded: {reason}"
CRASH_MESSAGE = "grading stopped while {phase}: {reason}"
NOT_RUN_MESSAGE = NOT_RUN + "{reason}"

SIGNAL_WORDS = {
    signal.SIGSEGV: "segmentation fault", signal.SIGBUS: "bus error", signal.SIGFPE: "arithmetic fault",
    signal.SIGABRT: "aborted", signal.SIGILL: "illegal instruction", signal.SIGKILL: "killed",
}

# Environment of every child: one BLAS thread (--jobs already uses the cores, and each BLAS
# thread reserves address space that RLIMIT_AS counts), a fixed hash seed for determinism.
CHILD_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
             "NUMEXPR_NUM_THREADS": "1", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
             "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg"}


# How a child starts: its sys.path is the parent's, given on the command line, never derived
# from the folder it runs in, so a student's numpy.py or random.py there shadows nothing of ours.
CHILD_BOOT = ("import json, runpy, sys; sys.path[:] = json.loads(sys.argv[1]); del sys.argv[:2]; "
              "runpy.run_module(sys.argv[0], run_name='__main__', alter_sys=True)")


def spawn(module: str, args: list[str], *, cwd: Path, pass_fds: tuple[int, ...] = (),
          sys_path: list[str] | None = None) -> subprocess.Popen:
    """Start `python -m module args` as a child in its own session, stdout+stderr piped, stdin empty.

    Its own session: a kill of its process group reaches whatever it started, and the
    terminal's Ctrl-C reaches only the parent.

    Args:
        module: the child's module, run as __main__.
        args: its command-line arguments.
        cwd: its working directory.
        pass_fds: file descriptors it inherits (the worker's pipes).
        sys_path: its sys.path (default: this process's, with "" made absolute).
    """
    path = [entry or os.getcwd() for entry in (sys.path if sys_path is None else sys_path)]
    return subprocess.Popen(
        [sys.executable, "-c", CHILD_BOOT, json.dumps(path), module, *args],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=cwd,
        env={**os.environ, **CHILD_ENV}, start_new_session=True, close_fds=True, pass_fds=pass_fds)


@dataclass
class ChildRun:
    """What the parent knows after a child ended.

    Args:
        events: the child's events, in order (see child.py).
        returncode: the exit status; negative for a signal.
        timed_out: True when the parent killed it at the wall-clock limit.
        output: the child's own stdout and stderr, head and tail kept.
        duration_s: wall-clock seconds.
        dropped_output: bytes of output not kept (beyond the head).
    """

    events: list[dict[str, Any]] = field(default_factory=list)
    returncode: int | None = None
    timed_out: bool = False
    output: str = ""
    duration_s: float = 0.0
    dropped_output: int = 0

    def last(self, name: str) -> dict[str, Any] | None:
        found = [e for e in self.events if e.get("event") == name]
        return found[-1] if found else None

    @property
    def phase(self) -> str:
        """What the child was doing when it stopped, in words."""
        checks = [e["result"]["id"] for e in self.events if e.get("event") == "check"]
        if self.last("report") is not None:
            return "finishing"
        if checks:
            return f"running the checks after {checks[-1]}"
        if self.last("loaded") is not None:
            return "running the checks"
        if self.last("start") is not None:
            return "importing the submission"
        return "starting"


class OutputTrap:
    """Reads a pipe to its end on a thread, keeping `keep` bytes of head and a short tail.

    Args:
        pipe: the child's stdout (stderr merged into it).
        keep: bytes of head kept (default OUTPUT_KEEP); the tail keeps a quarter of that.
    """

    def __init__(self, pipe, keep: int = OUTPUT_KEEP):
        self.pipe = pipe
        self.keep = keep
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        tail_keep = self.keep // 4
        with contextlib.suppress(OSError, ValueError):
            while chunk := self.pipe.read1(65536):
                room = self.keep - len(self.head)
                self.head += chunk[:max(room, 0)]
                rest = chunk[max(room, 0):]
                if rest:
                    self.tail = (self.tail + rest)[-tail_keep:]
                    self.dropped += len(rest)

    def text(self, wait: float = 2.0) -> str:
        """The kept output; waits up to `wait` seconds for the pipe to close."""
        self.thread.join(wait)
        text = self.head.decode("utf-8", "replace")
        if self.dropped:
            hidden = self.dropped - len(self.tail)
            if hidden > 0:
                text += f"\n... ({hidden} bytes of output not kept) ...\n"
            text += self.tail.decode("utf-8", "replace")
        return text


class Supervisor:
    """Starts children and remembers the live ones, so Ctrl-C can stop them all."""

    def __init__(self) -> None:
        self._live: dict[int, subprocess.Popen] = {}
        self._lock = threading.Lock()
        self.stopping = False

    def kill_all(self) -> None:
        """Kill every live child's process group (never our own)."""
        self.stopping = True
        with self._lock:
            for pid in list(self._live):
                kill_group(pid)

    def run(self, job_file: Path, events_file: Path, workdir: Path, limits: Limits) -> ChildRun:
        """Run one child to its end or its wall-clock limit.

        Args:
            job_file: the job JSON (child.py reads it).
            events_file: where the child writes its events.
            workdir: the child's working directory (the submission's temporary copy).
            limits: the resolved limits.
        """
        start = time.monotonic()
        if self.stopping:
            raise KeyboardInterrupt
        proc = spawn("sanitykit.front.grading.child", [str(job_file)], cwd=workdir)
        with self._lock:
            self._live[proc.pid] = proc
        trap = OutputTrap(proc.stdout)
        timed_out = False
        try:
            proc.wait(timeout=limits.submission_timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            # Also reaps whatever the student's code started: it would hold the pipe open.
            kill_group(proc.pid)
            proc.wait()
            with self._lock:
                self._live.pop(proc.pid, None)
        output = trap.text()
        return ChildRun(read_events(events_file), proc.returncode, timed_out, output,
                        time.monotonic() - start, trap.dropped)


def kill_group(pid: int) -> None:
    """SIGKILL the process group a child leads; quiet when it is already gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def read_events(path: Path) -> list[dict[str, Any]]:
    """The child's events; a torn last line (killed mid-write) is dropped."""
    events = []
    with contextlib.suppress(OSError):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                event = json.loads(line)
                if isinstance(event, dict):
                    events.append(event)
    return events


def end_reason(run: ChildRun, limits: Limits) -> str | None:
    """Why a child did not finish, in words with the limit; None when it finished.

    Args:
        run: from Supervisor.run.
        limits: the limits it ran under (their flags are named).
    """
    if run.timed_out:
        return TIMEOUT_MESSAGE.format(seconds=limits.submission_timeout, flag=limits.flag("submission_timeout"))
    target_error = run.last("target_error")
    if target_error is not None:
        return TARGET_MESSAGE.format(reason=target_error["reason"])
    crash = run.last("crash")
    if crash is not None:
        if crash.get("error_type") == "MemoryError":
            return MEMORY_KILLED_MESSAGE.format(memory_mb=limits.memory_mb, flag=limits.flag("memory_mb"))
        return CRASH_MESSAGE.format(phase=run.phase, reason=crash["reason"])
    if run.last("report") is not None:
        return None
    code = run.returncode if run.returncode is not None else 0
    if code == -signal.SIGXCPU or (code == -signal.SIGKILL and "CPU time" in run.output):
        return CPU_MESSAGE.format(seconds=limits.cpu_seconds, flag=limits.flag("submission_timeout"))
    if code == -signal.SIGKILL:
        # Not our kill (that is timed_out): the kernel's OOM killer, short of memory.
        return MEMORY_KILLED_MESSAGE.format(memory_mb=limits.memory_mb, flag=limits.flag("memory_mb"))
    if code < 0:
        sig = signal.Signals(-code)
        return SIGNAL_MESSAGE.format(description=SIGNAL_WORDS.get(sig, "killed by a signal"),
                                     name=sig.name, phase=run.phase)
    return EXIT_MESSAGE.format(code=code, phase=run.phase)
