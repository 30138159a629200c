"""WorkerSession: CheckSession's interface, every check run in a supervised worker process.

The parent keeps the results, the clock and the functions found hung. One child serves
check after check (a process per check would cost a second of start-up each). When a check
overruns its limit the parent asks the child where it is, kills its process group and
records `timeout` with the function it was in; that function is then `hung`: the checks
that need it are `error` without calling it, and a fresh child stands a raising stand-in in
its place for the checks that reach it indirectly (a model calling a hung layer). A child
that dies (a segfault, posix._exit, a fatal signal, the kernel's OOM killer) costs the
running check only: `crashed`, with the signal or exit code in words. A fresh child gets
the results so far, since checks read earlier results (blame), and a fresh private copy.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable

from sanitykit.checks.registry import CheckSpec
from sanitykit.engine import wording
from sanitykit.engine.findings import Reason
from sanitykit.engine.results import CheckResult, Outcome, errored
from sanitykit.engine.usercode import source_line
from sanitykit.front.grading.limits import CPU_SLACK_S
from sanitykit.front.grading.supervise import SIGNAL_WORDS
from sanitykit.front.importing import looks_dotted
from sanitykit.front.layout import CONVENTIONAL_NAMES, Layout, resolve_layout
from sanitykit.front.session import Session
from sanitykit.front.target import TargetError
from sanitykit.front.worker.channel import Overran
from sanitykit.front.worker.child import INTERNAL_ERROR_EXIT
from sanitykit.front.worker.private_copy import PrivateCopy, make_private_copy
from sanitykit.front.worker.process import WorkerEnded, WorkerProcess
from sanitykit.front.worker.traces import Frame, user_frames

# Message templates (the tests import them): what happened, to which function, where.
TIMEOUT_NOTE = "stopped after {seconds:g} s in {function}{where} (per-check limit, --timeout)"
HUNG_NOTE = "{function} was stopped after {seconds:g} s in {check_id}; not called again"
CRASH_NOTE = "{function} crashed the process: {how}{where}"
EXIT_NOTE = "{function} ended the process with exit code {code} (posix._exit, or a C library's exit){where}"
CPU_NOTE = "{function} used more than {seconds:g} s of CPU time (CPU limit, from --timeout){where}"
KILLED_NOTE = ("{function} got the process killed (SIGKILL), most likely because the machine ran out "
               "of memory{where}")
RESTART_NOTE = "not run: the worker process could not be started again ({reason})"
LOAD_TIMEOUT_MESSAGE = "importing the target did not finish within {seconds:g} s{where}"
MEMORY_NOTE = "{function} ran out of memory at the {memory_mb} MB limit (--memory){where}"
LOAD_CRASH_MESSAGE = "importing the target crashed the process: {how}{where}"
INTERNAL_MESSAGE = "the check worker failed: {words}"

DEADLINE_GRACE_S = 0.5  # a check that answers this late still counts: the kill is for hangs
LOAD_BUDGET_CHECKS = 4  # loading may take this many check timeouts (every module has its own)
LOAD_MIN_S = 60.0


class WorkerSession(Session):
    """The checks of one target, each run in a supervised worker process.

    Args:
        source: a .py file, a folder, or a dotted module name.
        seed: every check's generator starts from it (default 0).
        timeout: seconds per check (default 30; None for no limit), held by this process.
        memory_mb: the worker's address-space limit.
        name_map: conventional name -> the user's name.
        specs: the checks this session knows, in run order (default: the whole catalogue).
    """

    def __init__(self, source: str | os.PathLike, *, seed: int = 0, timeout: float | None = 30.0,
                 memory_mb: int = 2048, name_map: dict[str, str] | None = None,
                 specs: Iterable[CheckSpec] | None = None):
        self.source = os.fspath(source)
        self.timeout, self.memory_mb, self.name_map = timeout, memory_mb, dict(name_map or {})
        self.hung: dict[str, dict[str, str]] = {}  # conventional name -> {"check": id, "note": ...}
        self.loading: dict[str, Any] = {}
        self._layout = self._resolve()
        self._copy: PrivateCopy | None = None
        self._worker: WorkerProcess | None = None
        self._known: set[str] = set()  # results the live worker has (made or was sent)
        self._ready: dict[str, Any] = {}
        self._scratch = Path(tempfile.mkdtemp(prefix="sanitykit-worker-")).resolve()
        try:
            self._worker = self._spawn()
            # The catalogue is read here while the worker starts: both import numpy and the checks.
            super().__init__(seed=seed, timeout=timeout, specs=specs)
            self._await_ready(self._worker)
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------ the Session interface

    def execute(self, spec: CheckSpec) -> CheckResult:
        """Run one check in the worker (starting one when needed); never raises but KeyboardInterrupt."""
        from sanitykit.front.runner import check_result

        started = time.perf_counter()
        outcome = self._hung_outcome(spec)
        if outcome is None:
            answer = self._ask(spec)
            if isinstance(answer, CheckResult):
                return answer
            outcome = answer
        return check_result(spec, outcome, time.perf_counter() - started)

    def loading_info(self) -> dict[str, Any]:
        """The `loading` block: asked from the live worker (conventions measured by the checks),
        else what the last worker said when it was ready."""
        if self._worker is not None:
            try:
                answer = self._worker.ask({"op": "loading"}, time.monotonic() + 10.0)
                self.loading = answer.get("loading", self.loading)
            except (Overran, WorkerEnded):
                self._discard()
        return dict(self.loading)

    def imported(self) -> dict[str, Any]:
        return dict(self._ready.get("imported") or {"output": "", "output_dropped": 0, "numpy_restored": []})

    def close(self) -> None:
        """End the worker and remove the private copy."""
        if self._worker is not None:
            self._worker.close()
            self._worker = None
        if self._copy is not None:
            self._copy.close()
            self._copy = None
        shutil.rmtree(self._scratch, ignore_errors=True)

    # ------------------------------------------------------------ starting a worker

    def _resolve(self) -> Layout | None:
        """The tree's layout (None for a module name the worker imports); TargetError if none."""
        path = Path(self.source).expanduser()
        if not path.exists() and looks_dotted(self.source):
            return None
        return resolve_layout(self.source)

    def _start(self) -> None:
        """Start a worker on a fresh private copy and wait until it has loaded the target."""
        self._await_ready(self._spawn())

    def _spawn(self) -> WorkerProcess:
        """A new worker on a fresh private copy, asked to load the target."""
        if self._layout is not None:
            if self._copy is not None:
                self._copy.close()
            self._copy = make_private_copy(self._layout)
        worker = WorkerProcess(cwd=self._cwd(), scratch=self._scratch, sys_path=self._sys_path(),
                               rewrite=self._copy.to_user if self._copy else None)
        job = {"op": "load", "target": str(self._copy.target) if self._copy else self.source,
               "name_map": self.name_map, "timeout": self.timeout, "memory_mb": self.memory_mb,
               "parent": os.getpid()}
        try:
            worker.send(job)
        except BaseException:
            worker.kill()
            raise
        return worker

    def _await_ready(self, worker: WorkerProcess) -> None:
        """Wait until `worker` has loaded the target; TargetError (one line) when it cannot."""
        self._worker = None
        budget = max(LOAD_MIN_S, LOAD_BUDGET_CHECKS * (self.timeout or LOAD_MIN_S))
        try:
            ready = worker.answer(time.monotonic() + budget)
        except Overran:
            frames = self._frames(worker.stop(), None)
            raise TargetError(LOAD_TIMEOUT_MESSAGE.format(seconds=budget, where=_at(frames))) from None
        except WorkerEnded as ended:
            if ended.returncode == INTERNAL_ERROR_EXIT:
                raise TargetError(INTERNAL_MESSAGE.format(words=worker.last_words())) from None
            frames = self._frames(worker.dump(), None)
            raise TargetError(LOAD_CRASH_MESSAGE.format(how=ending_words(ended.returncode),
                                                        where=_at(frames))) from None
        except BaseException:
            worker.kill()
            raise
        if ready.get("event") != "ready":
            worker.close()
            raise TargetError(str(ready.get("reason") or "the worker could not load the target"))
        self._ready, self.loading = ready, ready.get("loading", {})
        self._worker, self._known = worker, set()

    def _cwd(self) -> Path:
        """Where the worker runs: the copy's counterpart of our folder when we are inside the tree."""
        here = Path.cwd()
        if self._copy is None:
            return here
        inside = self._copy.to_copy(here)
        return inside if inside != here and inside.is_dir() else self._copy.copy

    def _sys_path(self) -> list[str]:
        """Our sys.path for the worker; an entry inside the user's tree is preceded by its copy,
        so the user's modules are found in the copy and ours (a venv in the tree) where they are."""
        path: list[str] = []
        for entry in (entry or os.getcwd() for entry in sys.path):
            copied = self._copy.to_copy(Path(entry)) if self._copy else Path(entry)
            if str(copied) != entry and copied.is_dir():
                path.append(str(copied))
            path.append(entry)
        return path

    def _live_worker(self) -> WorkerProcess:
        if self._worker is None:
            self._start()
        assert self._worker is not None
        return self._worker

    def _discard(self) -> None:
        if self._worker is not None:
            self._worker.kill()
            self._worker = None

    # ------------------------------------------------------------ running one check

    def _ask(self, spec: CheckSpec) -> CheckResult | Outcome:
        """The worker's result for `spec`, or the outcome of a timeout or a crash."""
        try:
            worker = self._live_worker()
        except TargetError as exc:
            return errored(Reason("crashed", (spec.subject,), note=RESTART_NOTE.format(reason=exc)))
        request = {"op": "run", "id": spec.id, "seed": self.seed,
                   "results": [r.to_dict() for i, r in self.results.items() if i not in self._known],
                   "hung": {name: h["note"] for name, h in self.hung.items()},
                   "cpu_s": self.timeout + CPU_SLACK_S if self.timeout else None}
        self._known.update(self.results)
        deadline = time.monotonic() + self.timeout + DEADLINE_GRACE_S if self.timeout else None
        try:
            answer = worker.ask(request, deadline)
        except Overran:
            self._worker = None
            return self._timed_out(spec, worker.stop())
        except WorkerEnded as ended:
            self._worker = None
            if ended.returncode == INTERNAL_ERROR_EXIT:
                return errored(Reason("internal", note=INTERNAL_MESSAGE.format(words=worker.last_words())))
            return self._crashed(spec, ended.returncode, worker.dump())
        except BaseException:  # Ctrl-C: never leave a child running
            self._discard()
            raise
        if answer.get("event") != "result":
            self._discard()
            return errored(Reason("internal", note=f"the worker answered {answer.get('event')!r}"))
        self._known.add(spec.id)
        return self._memory_limit_named(CheckResult.from_dict(answer["result"]))

    def _memory_limit_named(self, result: CheckResult) -> CheckResult:
        """A MemoryError in the worker met the --memory limit, not the end of the machine: say so."""
        reason = result.reason
        if result.details.get("error_type") != "MemoryError" or reason is None or reason.kind != "raised":
            return result
        where = result.details.get("where")
        reason = dataclasses.replace(reason, note=MEMORY_NOTE.format(
            function=(reason.responsible or (result.subject,))[0], memory_mb=self.memory_mb,
            where=f" (at {where})" if where else ""))
        message = wording.reason_message(reason, result.status)
        if result.details.get("source_line"):
            message = wording.with_source_line(message, result.details["source_line"])
        return dataclasses.replace(result, message=message, reason=reason)

    def _hung_outcome(self, spec: CheckSpec) -> Outcome | None:
        """`error` (hung) without calling anything when `spec` needs a function stopped earlier."""
        for name in (spec.subject, *spec.needs):
            if name in self.hung:
                return errored(Reason("hung", (name,), see=(self.hung[name]["check"],),
                                      note=self.hung[name]["note"]))
        return None

    def _timed_out(self, spec: CheckSpec, dump: str) -> Outcome:
        """The timeout of `spec`, in the function it was stopped in; that function is hung from now."""
        frames = self._frames(dump, self._ready.get("thread"))
        shown = frames[0].name if frames else spec.subject
        function = self._checked_function(frames, spec)
        note = TIMEOUT_NOTE.format(seconds=self.timeout, function=shown, where=_at(frames))
        self.hung[function] = {"check": spec.id, "note": HUNG_NOTE.format(
            function=function, seconds=self.timeout, check_id=spec.id)}
        return at_the_line(errored(Reason("timeout", (function,), note=note), timeout_s=self.timeout), frames)

    def _crashed(self, spec: CheckSpec, returncode: int | None, dump: str) -> Outcome:
        """The crash of the worker while `spec` ran, with the signal or the exit code in words."""
        frames = self._frames(dump, self._ready.get("thread"))
        function = self._checked_function(frames, spec)
        where, code = _at(frames), returncode if returncode is not None else 0
        if code == -signal.SIGXCPU:
            note = CPU_NOTE.format(function=function, seconds=(self.timeout or 0) + CPU_SLACK_S, where=where)
        elif code == -signal.SIGKILL:
            note = KILLED_NOTE.format(function=function, where=where)
        elif code < 0:
            note = CRASH_NOTE.format(function=function, how=ending_words(code), where=where)
        else:
            note = EXIT_NOTE.format(function=function, code=code, where=where)
        details: dict[str, Any] = {"exit_signal": signal_name(-code)} if code < 0 else {"exit_code": code}
        return at_the_line(errored(Reason("crashed", (function,), note=note), **details), frames)

    def _frames(self, dump: str, thread: int | None) -> list[Frame]:
        """The user's frames in a faulthandler dump, innermost first, with the user's paths."""
        root = self._copy.copy if self._copy else Path(self._ready.get("root") or "/nonexistent")
        prefix = str(root) + os.sep
        frames = user_frames(dump, thread or 0, lambda file: file.startswith(prefix))
        if self._copy is not None:
            frames = [Frame(self._copy.to_user(f.file), f.line, f.name) for f in frames]
        return frames

    def _checked_function(self, frames: list[Frame], spec: CheckSpec) -> str:
        """The conventional name of the innermost user function the checks know, else the subject."""
        user_to_conventional = {user: name for name, user in self._ready.get("name_map", {}).items()}
        known = {*CONVENTIONAL_NAMES, *(s.subject for s in self.ordered), *(n for s in self.ordered for n in s.needs)}
        for frame in frames:
            name = user_to_conventional.get(frame.name, frame.name)
            if name in known:
                return name
        return spec.subject


def at_the_line(outcome: Outcome, frames: list[Frame]) -> Outcome:
    """The outcome with where it happened and the code on that line (read from the user's file),
    as an error that raised shows them."""
    if not frames:
        return outcome
    code = source_line(frames[0].file, frames[0].line)
    details = {"where": frames[0].where, **({"source_line": code} if code else {})}
    message = wording.with_source_line(outcome.message, code) if code else outcome.message
    return dataclasses.replace(outcome, message=message, details={**outcome.details, **details})


def _at(frames: list[Frame]) -> str:
    return f" (at {frames[0].where})" if frames else ""


def ending_words(returncode: int | None) -> str:
    """How a process ended, in words: "segmentation fault (SIGSEGV)", "exit code 3"."""
    code = returncode if returncode is not None else 0
    if code < 0:
        return f"{SIGNAL_WORDS.get(-code, 'killed by a signal')} ({signal_name(-code)})"
    return f"exit code {code}"


def signal_name(number: int) -> str:
    """SIGSEGV for 11; `signal 40` for a number the signal module does not name (real-time signals)."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
