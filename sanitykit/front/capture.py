"""Fences around student code: captured output, a time limit, numpy state put back.

Each is a small context manager; the loader wraps every module import in them and
the runner wraps every check. None of them prints or decides a status. In the check
worker they keep one check from disturbing the next; the worker's parent holds the clock.
"""
from __future__ import annotations

import contextlib
import importlib
import io
import os
import signal
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from sanitykit.engine.usercode import CheckTimeout, after_each_call
from sanitykit.front import patches

# Enough to show a student what their code printed, small enough that a print in a
# training loop cannot fill memory.
OUTPUT_LIMIT = 20_000
# How long a fence waits for the output pipe to drain once the check is over: only a process
# the student's code started and left running keeps it open longer.
DRAIN_WAIT_S = 1.0


class BoundedBuffer(io.TextIOBase):
    """A text stream that keeps the first `limit` characters and counts the rest.

    Args:
        limit: characters kept (default OUTPUT_LIMIT).
    """

    def __init__(self, limit: int = OUTPUT_LIMIT):
        super().__init__()
        self.limit = limit
        self.dropped = 0
        self._parts: list[str] = []
        self._kept = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        text = str(text)
        room = self.limit - self._kept
        if room > 0:
            self._parts.append(text[:room])
            self._kept += min(room, len(text))
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def getvalue(self) -> str:
        text = "".join(self._parts)
        if self.dropped:
            text += f"\n... ({self.dropped} more characters not kept)"
        return text


@contextlib.contextmanager
def captured_output(limit: int = OUTPUT_LIMIT) -> Iterator[BoundedBuffer]:
    """Send stdout and stderr of the enclosed code into one bounded buffer.

    Args:
        limit: characters kept (default OUTPUT_LIMIT).
    """
    buffer = BoundedBuffer(limit)
    if threading.current_thread() is not threading.main_thread():
        with this_threads_output(buffer):
            yield buffer
        return
    with descriptors_captured(buffer), contextlib.redirect_stdout(buffer), \
            contextlib.redirect_stderr(buffer):
        yield buffer


class ThreadRouted:
    """sys.stdout / sys.stderr while a check runs off the main thread: the writes of that
    thread go to the check's buffer, every other thread's to the stream as before.

    Args:
        stream: the stream replaced.
        buffer: where the checking thread's writes go.
    """

    def __init__(self, stream: Any, buffer: BoundedBuffer):
        self.stream, self.buffer, self.owner = stream, buffer, threading.get_ident()

    def write(self, text: str) -> int:
        return (self.buffer if threading.get_ident() == self.owner else self.stream).write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)  # flush, encoding, isatty, fileno of the real stream


@contextlib.contextmanager
def this_threads_output(buffer: BoundedBuffer) -> Iterator[None]:
    """Capture only what this thread prints (sk.check in a notebook's or a server's thread):
    the file descriptors belong to the whole process and are left alone."""
    routed = ThreadRouted(sys.stdout, buffer), ThreadRouted(sys.stderr, buffer)
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = routed
    try:
        yield
    finally:
        # Put back only what is still ours: another thread's check may have stacked its own.
        if sys.stdout is routed[0]:
            sys.stdout = saved[0]
        if sys.stderr is routed[1]:
            sys.stderr = saved[1]


@contextlib.contextmanager
def descriptors_captured(buffer: BoundedBuffer) -> Iterator[None]:
    """Point file descriptors 1 and 2 into a pipe too, keeping the first `buffer.limit` bytes.

    `print` goes through sys.stdout, but os.write(1, ...) or a C extension writes to the
    descriptor itself and would land in the middle of `--format json` on stdout. A reader
    thread drains the pipe and counts what it does not keep, so a print loop fills neither
    memory nor disk. Where the descriptors cannot be duplicated, Python-level capture alone applies.
    """
    try:
        saved = (os.dup(1), os.dup(2))
    except OSError:
        yield
        return
    for stream in (sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(Exception):
            stream.flush()  # what we wrote before belongs to the real output
    read_end, write_end = os.pipe()
    kept: list[bytes] = []
    counts = {"kept": 0, "total": 0}

    def drain() -> None:
        # The reader owns its end and closes it at the end of the pipe: a process the student's
        # code started may hold the pipe long after the fence (its later output is not kept).
        try:
            while chunk := os.read(read_end, 65536):
                counts["total"] += len(chunk)
                room = buffer.limit - counts["kept"]
                if room > 0:
                    kept.append(chunk[:room])
                    counts["kept"] += min(room, len(chunk))
        except OSError:
            pass
        finally:
            os.close(read_end)

    reader = threading.Thread(target=drain, name="sanitykit-output", daemon=True)
    reader.start()
    os.dup2(write_end, 1)
    os.dup2(write_end, 2)
    os.close(write_end)
    try:
        yield
    finally:
        for stream in (sys.__stdout__, sys.__stderr__):
            with contextlib.suppress(Exception):
                stream.flush()  # the student's buffered writes go into the pipe
        os.dup2(saved[0], 1)  # the last write ends close: the reader sees the end
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
        reader.join(timeout=DRAIN_WAIT_S)
        text = b"".join(list(kept)).decode("utf-8", errors="replace")
        if text:
            buffer.write(text)
            buffer.dropped += max(0, counts["total"] - counts["kept"])


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise CheckTimeout inside the enclosed code after `seconds` (wall clock).

    Uses SIGALRM through setitimer, so it only works in the main thread of a POSIX
    process; elsewhere (a worker thread, Windows) the code runs without a limit.

    Args:
        seconds: the limit; None or <= 0 means no limit.
    """
    usable = (seconds is not None and seconds > 0 and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    def on_alarm(signum, frame):
        if outer_first and callable(previous):
            outer_fired.append(True)
            previous(signum, frame)  # the enclosing limit came first: its own handler (pytest-timeout's)
        raise CheckTimeout(f"stopped after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    outer_delay, _ = signal.getitimer(signal.ITIMER_REAL)
    outer_first, outer_fired = 0 < outer_delay < seconds, []
    signal.setitimer(signal.ITIMER_REAL, outer_delay if outer_first else seconds)
    started = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_delay > 0 and not outer_fired:
            # An enclosing limit (a grader's, a pytest-timeout's) keeps running: re-arm what is left of it.
            left = outer_delay - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3))


@contextlib.contextmanager
def numpy_state_kept() -> Iterator[None]:
    """Put back numpy's global random state and error settings after the enclosed code.

    A student's `np.random.seed(0)` or `np.seterr(all="raise")` must not leak into the
    next check.
    """
    random_state = np.random.get_state()
    err = np.geterr()
    try:
        yield
    finally:
        np.random.set_state(random_state)
        np.seterr(**err)


@contextlib.contextmanager
def recorded_warnings() -> Iterator[list[warnings.WarningMessage]]:
    """Record every warning raised inside (numpy overflow, deprecations) instead of printing it."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


def summarize_warnings(caught: list[warnings.WarningMessage], limit: int = 5) -> list[str]:
    """Distinct warnings as `RuntimeWarning: overflow encountered in exp`, at most `limit`.

    Args:
        caught: from recorded_warnings().
        limit: how many distinct lines to keep (default 5).
    """
    lines: list[str] = []
    for w in caught:
        line = f"{w.category.__name__}: {w.message}"
        if line not in lines:
            lines.append(line)
    return lines[:limit]


# numpy namespaces a student's module could patch for the whole process (np.sum = ...), and
# the builtins sanitykit computes with (abs, max, float). Replacements made with setattr are
# put back after every call (patches.py); these snapshots also catch writes into the dicts.
GUARDED_NUMPY = ("numpy", "numpy.random", "numpy.linalg")
GUARDED_MODULES = GUARDED_NUMPY + ("builtins", "math")
_MISSING = object()


def numpy_snapshot() -> dict[str, dict[str, Any]]:
    """The public attributes of numpy's main namespaces and builtins, to put back after student code."""
    return {name: dict(vars(importlib.import_module(name))) for name in GUARDED_MODULES}


def restore_numpy(snapshot: dict[str, dict[str, Any]]) -> list[str]:
    """Put back every numpy attribute a student replaced; the names put back.

    New attributes are left alone: numpy itself adds lazily imported submodules.

    Args:
        snapshot: from numpy_snapshot().
    """
    restored = []
    for module_name, saved in snapshot.items():
        namespace = vars(sys.modules[module_name])
        for key, value in saved.items():
            if namespace.get(key, _MISSING) is not value:
                namespace[key] = value
                restored.append(f"{module_name}.{key}")
    return restored


class OsExitCalled(SystemExit):
    """Raised in place of os._exit inside the fences: student code cannot end our process."""

    def __init__(self, code: Any = 0):
        super().__init__(code)
        self.what = f"os._exit({code!r})"


def _refuse_os_exit(code: Any = 0) -> None:
    raise OsExitCalled(code)


@contextlib.contextmanager
def process_kept() -> Iterator[None]:
    """os._exit raises instead of ending the process, stdin reads as empty (input() -> EOFError),
    the working directory is put back, and no `__pycache__` is written.

    A stray os._exit or input() must cost one check, not the whole report or a terminal
    waiting for a keystroke; an `os.chdir` at import must not move a relative `--output`
    (in-process); the user's tree gets no bytecode files from sanitykit's imports of it.
    """
    real_exit, real_stdin, bytecode = os._exit, sys.stdin, sys.dont_write_bytecode
    try:
        cwd: str | None = os.getcwd()
    except OSError:  # the folder we run in was deleted
        cwd = None
    os._exit, sys.stdin, sys.dont_write_bytecode = _refuse_os_exit, io.StringIO(""), True
    try:
        yield
    finally:
        os._exit, sys.stdin, sys.dont_write_bytecode = real_exit, real_stdin, bytecode
        if cwd is not None:
            with contextlib.suppress(OSError):
                os.chdir(cwd)


class Interrupts:
    """Whether the user pressed Ctrl-C while the block ran (`pressed`)."""

    pressed = False


@contextlib.contextmanager
def interrupts_recorded() -> Iterator[Interrupts]:
    """Tell the user's Ctrl-C from a KeyboardInterrupt the student's code raises itself.

    On the main thread the SIGINT handler is wrapped to note the key press and then do what
    it did (raise KeyboardInterrupt); a KeyboardInterrupt without the note is the student's.
    Off the main thread no SIGINT arrives, so every KeyboardInterrupt there is the student's.
    """
    seen = Interrupts()
    on_main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGINT) if on_main else None
    if not callable(previous):  # another thread, or Ctrl-C ignored / left to the default
        yield seen
        return

    def on_sigint(signum, frame):
        seen.pressed = True
        previous(signum, frame)

    signal.signal(signal.SIGINT, on_sigint)
    try:
        yield seen
    finally:
        signal.signal(signal.SIGINT, previous)  # also over a handler the student's code set


@dataclass
class Fence:
    """What the fenced code left behind: its output, its warnings, the numpy names it replaced."""

    output: BoundedBuffer
    warnings: list
    numpy_restored: list[str] = field(default_factory=list)

    def restored(self, names: list[str]) -> None:
        """Note names put back, once each (a layer may patch on every call)."""
        self.numpy_restored.extend(n for n in dict.fromkeys(names) if n not in self.numpy_restored)


@contextlib.contextmanager
def fenced(timeout: float | None, limit: int = OUTPUT_LIMIT) -> Iterator[Fence]:
    """All fences at once: output captured, warnings recorded, numpy state and functions kept,
    os._exit and stdin neutralised, time limited. Yields a Fence.

    Args:
        timeout: seconds, None for no limit.
        limit: characters of output kept.
    """
    snapshot = numpy_snapshot()
    with numpy_state_kept(), process_kept(), captured_output(limit) as buffer, \
            recorded_warnings() as caught, patches.watched():
        fence = Fence(buffer, caught)

        def put_back() -> None:
            # A student's `np.sum = ...` inside a layer must not bend the comparison that
            # follows the call (usercode.call_user calls this after every call).
            fence.restored(patches.put_back())

        try:
            with after_each_call(put_back), time_limit(timeout):
                yield fence
        finally:
            # ... nor, made at import or by a write into the module's dict, the next check.
            fence.restored(patches.put_back() + restore_numpy(snapshot))
