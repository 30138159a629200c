"""Whether a "vectorised" function loops in Python: counted by tracing, never timed.

The assignment asks for `compute_distances_no_loops` and `svm_loss_vectorized` without a
Python loop over the examples. Wall time cannot tell (a loop over 10 rows is fast, a busy
machine is slow); the number of Python lines the user's code runs can. `line_events` counts
the line events (and calls) of the user's frames under `sys.settrace`; a loop over the
examples makes that count grow with their number, a vectorised body does not. Lines of numpy
and of sanitykit are not counted: only the student's own code.
"""
from __future__ import annotations

import os
import sys
import sysconfig
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

import sanitykit
import sanitykit.checks
import sanitykit.reference
from sanitykit.engine.usercode import call_user

# sanitykit's own code lives in three folders (sanitykit/, reference/, checks/ in a checkout).
_OURS = tuple(os.path.dirname(os.path.abspath(m.__file__)) + os.sep
              for m in (sanitykit, sanitykit.reference, sanitykit.checks))
_NUMPY = os.path.dirname(os.path.abspath(np.__file__)) + os.sep
_STDLIB = os.path.abspath(sysconfig.get_paths()["stdlib"]) + os.sep


def is_foreign(filename: str) -> bool:
    """True for code that is not the student's: numpy, sanitykit, the standard library, <frozen ...>."""
    if filename.startswith("<"):
        return True
    path = os.path.abspath(filename)
    return path.startswith((_NUMPY, _STDLIB, *_OURS)) or f"{os.sep}site-packages{os.sep}" in path


def line_events(fn: Callable, *args: Any, subject: str, owns: Callable[[str], bool] | None = None) -> tuple[Any, int]:
    """(fn(*args), number of lines and calls run in the user's own frames).

    Args:
        fn: the user's function or bound method.
        args: its arguments.
        subject: its name in messages (call_user's).
        owns: the target's owns_file: its files count wherever they are (the bundled demo
            lives inside sanitykit's own folder).
    """
    count = 0

    def local(frame, event, arg):
        nonlocal count
        if event in ("line", "call"):
            count += 1
        return local

    def starting(frame, event, arg):
        nonlocal count
        filename = frame.f_code.co_filename
        if not (owns is not None and owns(filename)) and is_foreign(filename):
            return None  # not traced inside: numpy's own Python lines are not the student's loop
        count += 1
        return local

    previous = sys.gettrace()
    sys.settrace(starting)
    try:
        value = call_user(fn, *args, subject=subject)
    finally:
        sys.settrace(previous)
    return value, count


@dataclass(frozen=True)
class LoopCount:
    """Lines run for a small and for a larger input; `per_example` is the growth per added example."""

    small: int
    large: int
    added: int

    @property
    def per_example(self) -> float:
        return (self.large - self.small) / max(1, self.added)

    @property
    def loops(self) -> bool:
        # A vectorised body runs the same lines whatever N is; a loop over the examples runs
        # at least one more line per example. Half a line per example leaves room for a
        # branch taken on a few rows, never for a loop.
        return self.per_example >= 0.5


def growth(run: Callable[[int], int], small: int, large: int) -> LoopCount:
    """LoopCount of `run(n)` (the line count for n examples) at n = small and n = large."""
    return LoopCount(run(small), run(large), large - small)
