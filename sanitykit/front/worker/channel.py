"""JSON messages between the parent and its worker, one object per line, over a pair of pipes.

The parent reads with a deadline (select), so a child that loops, hangs or dies can never
block it; the child reads blocking (it has nothing else to do). Plain JSON, never pickle:
whatever the child sends is data to the parent. Standard library only: the child imports
this before its limits are set.
"""
from __future__ import annotations

import contextlib
import json
import os
import select
import time
from typing import Any, Callable

MAX_MESSAGE = 64 * 2**20  # bytes; a longer line is a child gone wrong, not a result
POLL_S = 0.1  # how often a waiting parent looks whether the child is still alive


class ChannelClosed(Exception):
    """The other side closed its end (the child died) or sent something that is not a message."""


class Overran(Exception):
    """The deadline passed before the other side answered."""


class Channel:
    """One end of the conversation: messages are written to `write_fd`, read from `read_fd`.

    Args:
        read_fd: the pipe end this side reads.
        write_fd: the pipe end this side writes.
        rewrite: applied to each received line before it is decoded (the parent writes the
            private copy's paths as the user's there).
    """

    def __init__(self, read_fd: int, write_fd: int, rewrite: Callable[[str], str] | None = None):
        self.read_fd, self.write_fd = read_fd, write_fd
        self.rewrite = rewrite
        self._pending = bytearray()

    def send(self, message: dict[str, Any]) -> None:
        """Write one message; ChannelClosed when the other side is gone."""
        view = memoryview((json.dumps(message, default=str, separators=(",", ":")) + "\n").encode())
        while view:
            try:
                view = view[os.write(self.write_fd, view):]
            except OSError as exc:  # BrokenPipeError: the child died
                raise ChannelClosed(str(exc)) from None

    def receive(self, deadline: float | None = None, alive: Callable[[], bool] | None = None) -> dict[str, Any]:
        """The next message. Overran when `deadline` (time.monotonic) passes first; ChannelClosed
        at the end of the pipe or when `alive()` says the other side is gone.

        Args:
            deadline: when to stop waiting (None: wait as long as it takes).
            alive: asked every POLL_S while nothing arrives (a child's grandchild may hold the
                pipe open after the child died).
        """
        while (newline := self._pending.find(b"\n")) < 0:
            self._pending += self._read_chunk(deadline, alive)
            if len(self._pending) > MAX_MESSAGE:
                raise ChannelClosed(f"a message longer than {MAX_MESSAGE} bytes")
        line = self._pending[:newline].decode("utf-8", "replace")
        del self._pending[:newline + 1]
        if self.rewrite is not None:
            line = self.rewrite(line)
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            raise ChannelClosed("a garbled message") from None
        if not isinstance(message, dict):
            raise ChannelClosed("a message that is not an object")
        return message

    def _read_chunk(self, deadline: float | None, alive: Callable[[], bool] | None) -> bytes:
        while True:
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                raise Overran()
            if alive is not None:
                wait = POLL_S if wait is None else min(wait, POLL_S)
            ready, _, _ = select.select([self.read_fd], [], [], wait)
            if ready:
                try:
                    chunk = os.read(self.read_fd, 1 << 16)
                except OSError as exc:
                    raise ChannelClosed(str(exc)) from None
                if not chunk:
                    raise ChannelClosed("the other end closed")
                return chunk
            if alive is not None and not alive():
                raise ChannelClosed("the other side ended")

    def close(self) -> None:
        for fd in (self.read_fd, self.write_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
