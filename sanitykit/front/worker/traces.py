"""Where a child was when it was stopped or crashed, read from faulthandler's dump.

The child has faulthandler write into a file the parent reads: on SIGUSR1 (the parent's
"where are you?" just before it kills at the deadline) and on fatal signals (a segfault).
faulthandler works in C, without the GIL, so a loop that swallows every exception, ignores
SIGALRM, or spins inside ctypes still says where it is.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Callable

THREAD_LINE = re.compile(r"^(?:Current thread|Thread) (0x[0-9a-fA-F]+)")
FRAME_LINE = re.compile(r'^\s+File "(?P<file>.*)", line (?P<line>\d+) in (?P<name>.+)$')


@dataclass(frozen=True)
class Frame:
    """One line of a dump: the file, the line number, the function's name."""

    file: str
    line: int
    name: str

    @property
    def where(self) -> str:
        """`layers.py:12`, as every other message names a place."""
        return f"{os.path.basename(self.file)}:{self.line}"


def thread_stacks(dump: str) -> dict[int, list[Frame]]:
    """Thread ident -> its frames, innermost first (faulthandler's "most recent call first")."""
    stacks: dict[int, list[Frame]] = {}
    current: list[Frame] | None = None
    for line in dump.splitlines():
        if (thread := THREAD_LINE.match(line)) is not None:
            current = stacks.setdefault(int(thread.group(1), 16), [])
        elif current is not None and (frame := FRAME_LINE.match(line)) is not None:
            current.append(Frame(frame.group("file"), int(frame.group("line")), frame.group("name")))
    return stacks


def user_frames(dump: str, thread: int, owns: Callable[[str], bool]) -> list[Frame]:
    """The frames of `thread` (the one running the check) in the user's files, innermost first.

    Args:
        dump: what faulthandler wrote.
        thread: the ident of the thread that runs the checks (the child's main thread).
        owns: whether a file is one of the user's.
    """
    stacks = thread_stacks(dump)
    frames = stacks.get(thread)
    if frames is None:  # a dump of one thread only (a fatal signal): the crashing thread
        frames = next(iter(stacks.values()), [])
    return [frame for frame in frames if owns(frame.file)]
