"""One worker child, seen from the parent: started, asked with a deadline, located, killed.

The parent never waits on the child without a deadline and never lets it outlive the
session. Stopping is a SIGKILL of the child's whole process group (grading's `kill_group`),
which also ends whatever the student's code started; just before, SIGUSR1 asks the child's
faulthandler where it is. The child's own stdout and stderr go through grading's
OutputTrap: whatever escapes the per-check capture is bounded, never a full pipe.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import signal
import time
from pathlib import Path
from typing import Any, Callable

from sanitykit.front.grading.supervise import OutputTrap, kill_group, spawn
from sanitykit.front.worker.channel import Channel, ChannelClosed

CHILD_MODULE = "sanitykit.front.worker.child"
LOCATE_WAIT_S = 0.5  # how long a stopped child gets to write where it was

_numbers = itertools.count(1)


class WorkerEnded(Exception):
    """The child ended (a crash, an exit) before it answered; `.returncode` says how."""

    def __init__(self, returncode: int | None):
        super().__init__(f"the worker ended (return code {returncode})")
        self.returncode = returncode


class WorkerProcess:
    """A started worker child and the pipes to it.

    Args:
        cwd: its working directory.
        scratch: a folder of the parent's for the child's traceback dumps.
        sys_path: its sys.path.
        rewrite: applied to every line it sends (the private copy's paths made the user's).
    """

    def __init__(self, *, cwd: Path, scratch: Path, sys_path: list[str],
                 rewrite: Callable[[str], str] | None = None):
        self.dump_file = scratch / f"where-{next(_numbers)}.txt"
        self.dump_file.write_text("")
        to_child, from_child = os.pipe(), os.pipe()
        try:
            self.proc = spawn(CHILD_MODULE, [str(to_child[0]), str(from_child[1]), str(self.dump_file)],
                              cwd=cwd, pass_fds=(to_child[0], from_child[1]), sys_path=sys_path)
        except BaseException:
            for fd in (*to_child, *from_child):
                os.close(fd)
            raise
        os.close(to_child[0])
        os.close(from_child[1])
        self.channel = Channel(from_child[0], to_child[1], rewrite)
        self.output = OutputTrap(self.proc.stdout)
        self._dump_seen = 0
        self._killed = False

    def alive(self) -> bool:
        return self.proc.poll() is None

    def ask(self, message: dict[str, Any], deadline: float | None) -> dict[str, Any]:
        """Send `message` and wait for the answer: channel.Overran at `deadline` (time.monotonic),
        WorkerEnded when the child died first (it is reaped then)."""
        self.send(message)
        return self.answer(deadline)

    def send(self, message: dict[str, Any]) -> None:
        """Send `message` (WorkerEnded when the child is gone); what it dumps from now is new."""
        self._dump_seen = self._dump_size()
        try:
            self.channel.send(message)
        except ChannelClosed:
            self.kill()
            raise WorkerEnded(self.proc.returncode) from None

    def answer(self, deadline: float | None) -> dict[str, Any]:
        """The child's next message: channel.Overran at `deadline`, WorkerEnded if it died first."""
        try:
            return self.channel.receive(deadline, self.alive)
        except ChannelClosed:
            self.kill()
            raise WorkerEnded(self.proc.returncode) from None

    def stop(self) -> str:
        """Stop a child that overran: ask where it is, kill its process group; what it dumped."""
        try:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGUSR1)
            waited_until = time.monotonic() + LOCATE_WAIT_S
            size = self._dump_seen
            while time.monotonic() < waited_until:
                time.sleep(0.02)
                now = self._dump_size()
                if now > self._dump_seen and now == size:
                    break  # written, and no longer growing
                size = now
        finally:
            self.kill()  # even when Ctrl-C comes while we wait
        return self.dump()

    def dump(self) -> str:
        """What faulthandler wrote since the last request (a stop, a fatal signal), or ''."""
        with contextlib.suppress(OSError):
            with open(self.dump_file, "rb") as handle:
                handle.seek(self._dump_seen)
                return handle.read(1 << 20).decode("utf-8", "replace")
        return ""

    def last_words(self) -> str:
        """The last line the child wrote on its own stdout/stderr (a traceback's last line), or ''."""
        lines = [line for line in self.output.text(wait=0.5).splitlines() if line.strip()]
        return lines[-1].strip()[:300] if lines else ""

    def kill(self) -> None:
        """SIGKILL the child's process group, reap it, close the pipes (once; later calls do nothing)."""
        if self._killed:
            return
        self._killed = True
        kill_group(self.proc.pid)  # also what the student's code started, even if the child is gone
        self.proc.wait()
        self.channel.close()
        self.output.text(wait=0.2)  # the reader thread ends with the pipe

    def close(self) -> None:
        """Ask the child to leave, then make sure it did."""
        if self.alive():
            with contextlib.suppress(ChannelClosed):
                self.channel.send({"op": "close"})
            with contextlib.suppress(Exception):
                self.proc.wait(timeout=1.0)
        self.kill()

    def _dump_size(self) -> int:
        try:
            return self.dump_file.stat().st_size
        except OSError:
            return 0
