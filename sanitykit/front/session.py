"""A check session: one target, checks run one at a time on demand, each after what it reads.

The seam between "which checks" (the runner's selection, the pytest plugin's items) and "how a
check runs": in a supervised worker process (sanitykit.front.worker, the default for a path or
a module name) or in this process (`CheckSession`: a module object, a namespace, a DictTarget,
or `--in-process` for pdb). `open_session` picks one; both have the same interface. A check
may read earlier results (blame where it belongs, one bug graded once): `prerequisites` says
which, so running one check alone gives exactly the result it has in a whole run.
"""
from __future__ import annotations

import os
import time
from typing import Any, Callable, Iterable

from sanitykit.checks.registry import SUITE_READS, CheckSpec, Target, catalogue
from sanitykit.engine.findings import Reason
from sanitykit.engine.results import CheckResult, skipped
from sanitykit.front.grading.limits import DEFAULT_CHECK_MEMORY_MB

Progress = Callable[[int, int, CheckResult], None]

ISOLATIONS = ("worker", "in-process")
INTERRUPTED_NOTE = "not run: the run was interrupted (Ctrl-C)"


def prerequisites(spec: CheckSpec, ordered: list[CheckSpec]) -> list[CheckSpec]:
    """The checks whose results `spec` may read, in run order (`ordered`: the catalogue's order).

    Earlier checks of the suites it reads (registry.SUITE_READS: a model check is blamed on
    failed layers, a sandwich on its parts), earlier checks of its own topic (optim.adam.state
    reads optim.adam.step), what it declares it reads, and what it depends on, with their own
    prerequisites.
    """
    position = {s.id: i for i, s in enumerate(ordered)}
    by_id = {s.id: s for s in ordered}
    wanted: set[str] = set()

    def add(current: CheckSpec) -> None:
        here = position.get(current.id, len(ordered))
        reads = SUITE_READS.get(current.suite, ())
        for other in ordered[:here]:
            if other.id in wanted:
                continue
            same_topic = other.suite == current.suite and other.topic == current.topic
            if other.suite in reads or f"{other.suite}.{other.topic}" in reads or same_topic:
                wanted.add(other.id)
        for name in (*current.depends_on, *current.reads):
            if name in by_id and name not in wanted:
                wanted.add(name)
                add(by_id[name])

    add(spec)
    return [s for s in ordered if s.id in wanted]


class Session:
    """What every session does: run a check after its prerequisites, once; run a selection.

    A subclass says how one check runs (`execute`), what the loading block is, and how to close.

    Args:
        seed: every check's generator starts from it (default 0).
        timeout: seconds per check (default 30; None for no limit).
        specs: the checks this session knows, in run order (default: the whole catalogue).
    """

    def __init__(self, *, seed: int = 0, timeout: float | None = 30.0, specs: Iterable[CheckSpec] | None = None):
        from sanitykit.front.runner import dependencies_first

        self.seed = seed
        self.timeout = timeout
        self.ordered = dependencies_first(list(specs) if specs is not None else catalogue())
        self.by_id = {s.id: s for s in self.ordered}
        self.results: dict[str, CheckResult] = {}
        self.interrupted = False  # set by run_all when Ctrl-C stopped it

    def run(self, check_id: str) -> CheckResult:
        """The result of `check_id`, running it (after its prerequisites) the first time it is asked."""
        if check_id in self.results:
            return self.results[check_id]
        spec = self.by_id[check_id]  # KeyError: not a check of this session
        for earlier in prerequisites(spec, self.ordered):
            if earlier.id not in self.results:
                self.results[earlier.id] = self.execute(earlier)
        result = self.results[check_id] = self.execute(spec)
        return result

    def run_all(self, specs: Iterable[CheckSpec], progress: Progress | None = None) -> list[CheckResult]:
        """Every check of `specs` in their order; only they are reported (prerequisites run unreported).

        Ctrl-C ends the run: the checks not finished are `skip` (reason `interrupted`) and
        `self.interrupted` is set, so that the caller still writes the partial report.
        """
        specs = list(specs)
        done: list[CheckResult] = []
        try:
            for spec in specs:
                done.append(self.run(spec.id))
                if progress is not None:
                    progress(len(done), len(specs), done[-1])
        except KeyboardInterrupt:
            self.interrupted = True
            done.extend(interrupted_result(spec) for spec in specs[len(done):])
        return done

    def execute(self, spec: CheckSpec) -> CheckResult:
        raise NotImplementedError

    def loading_info(self) -> dict[str, Any]:
        """The report's `loading` block (read after the run: checks record measured conventions)."""
        raise NotImplementedError

    def imported(self) -> dict[str, Any]:
        """What importing the target left, for grading's notes: `output` (its end, as far as it
        was kept), `output_dropped` (characters not kept), `numpy_restored` (names put back)."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def interrupted_result(spec: CheckSpec) -> CheckResult:
    """The entry of a check that Ctrl-C kept from finishing."""
    from sanitykit.front.runner import check_result

    return check_result(spec, skipped(Reason("interrupted", note=INTERRUPTED_NOTE)), 0.0)


class CheckSession(Session):
    """The checks of one loaded target, run in this process inside the fences (capture.py).

    Args:
        target: a loaded Target (LoadedTarget, DictTarget, a namespace's target).
        seed: every check's generator starts from it (default 0).
        timeout: seconds per check (default 30; None for no limit), an alarm in this process:
            only on the main thread, and a student's bare `except:` can swallow it.
        specs: the checks this session knows, in run order (default: the whole catalogue).
    """

    def __init__(self, target: Target, *, seed: int = 0, timeout: float | None = 30.0,
                 specs: Iterable[CheckSpec] | None = None):
        super().__init__(seed=seed, timeout=timeout, specs=specs)
        self.target = target

    def execute(self, spec: CheckSpec) -> CheckResult:
        """Run one check now, in this process, seeing the results so far."""
        from sanitykit.front.runner import check_result, precondition, run_one

        started = time.perf_counter()
        outcome = precondition(spec, self.target, self.results)
        if outcome is None:
            outcome = run_one(spec, self.target, self.seed, self.timeout, self.results)
        return check_result(spec, outcome, time.perf_counter() - started)

    def loading_info(self) -> dict[str, Any]:
        return self.target.loading_info()

    def imported(self) -> dict[str, Any]:
        return imported_of(self.target)

    def close(self) -> None:
        """Release the target (private modules of a loaded tree)."""
        self.target.close()


IMPORT_OUTPUT_KEPT = 4000  # characters of what the target printed at import handed to grading


def imported_of(target: Any) -> dict[str, Any]:
    """Session.imported() of a loaded target (a namespace or a DictTarget printed nothing)."""
    return {"output": getattr(target, "import_output", "")[-IMPORT_OUTPUT_KEPT:],
            "output_dropped": getattr(target, "import_output_dropped", 0),
            "numpy_restored": [r["name"] for r in getattr(target, "numpy_restored", [])]}


def runs_in_worker(target: Any) -> bool:
    """Whether `target` can run in a worker: a path or a module name, which another process
    can load by itself. A module object, a namespace (a notebook's functions) or a ready-made
    Target lives in this process only, so it is checked here, inside the fences."""
    return isinstance(target, (str, os.PathLike))


def open_session(target: Any, *, seed: int = 0, timeout: float | None = 30.0, isolation: str = "worker",
                 memory_mb: int | None = None, name_map: dict[str, str] | None = None,
                 specs: Iterable[CheckSpec] | None = None) -> Session:
    """A session on `target`; TargetError (one line) when there is nothing to load.

    Args:
        target: a .py file, a folder, a dotted module name, a module, a namespace, or a Target.
        seed: every check's generator starts from it (default 0).
        timeout: seconds per check (default 30; None for no limit).
        isolation: "worker" (default: a supervised process, for a path or a module name;
            other targets run in this process, see runs_in_worker) or "in-process" (pdb works).
        memory_mb: the worker's address-space limit (default DEFAULT_CHECK_MEMORY_MB, 2048).
        name_map: conventional name -> the user's name.
        specs: the checks the session knows, in run order (default: the whole catalogue).
    """
    if isolation not in ISOLATIONS:
        raise ValueError(f"isolation {isolation!r}: choose from {', '.join(ISOLATIONS)}")
    if isolation == "worker" and runs_in_worker(target):
        from sanitykit.front.worker.session import WorkerSession

        return WorkerSession(target, seed=seed, timeout=timeout, memory_mb=memory_mb or DEFAULT_CHECK_MEMORY_MB,
                             name_map=name_map, specs=specs)
    from sanitykit.front.runner import as_target

    return CheckSession(as_target(target, name_map, timeout), seed=seed, timeout=timeout, specs=specs)
