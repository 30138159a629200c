"""A check session: one target, checks run one at a time on demand, each after what it reads.

The seam between "which checks" (the runner's selection, the pytest plugin's items) and "how a
check runs" (in this process today; a supervised worker process is the other backend). A check
may read earlier results (blame where it belongs, one bug graded once): `prerequisites` says
which, so running one check alone gives exactly the result it has in a whole run.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Iterable

from sanitykit.checks.registry import SUITE_READS, CheckSpec, Target, catalogue
from sanitykit.engine.results import CheckResult

Progress = Callable[[int, int, CheckResult], None]


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
            if other.suite in reads or same_topic:
                wanted.add(other.id)
        for name in (*current.depends_on, *current.reads):
            if name in by_id and name not in wanted:
                wanted.add(name)
                add(by_id[name])

    add(spec)
    return [s for s in ordered if s.id in wanted]


class CheckSession:
    """The checks of one loaded target, each run at most once, its prerequisites first.

    Args:
        target: a loaded Target (LoadedTarget, DictTarget).
        seed: every check's generator starts from it (default 0).
        timeout: seconds per check (default 30; None for no limit).
        specs: the checks this session knows, in run order (default: the whole catalogue).
    """

    def __init__(self, target: Target, *, seed: int = 0, timeout: float | None = 30.0,
                 specs: Iterable[CheckSpec] | None = None):
        from sanitykit.front.runner import dependencies_first

        self.target = target
        self.seed = seed
        self.timeout = timeout
        self.ordered = dependencies_first(list(specs) if specs is not None else catalogue())
        self.by_id = {s.id: s for s in self.ordered}
        self.results: dict[str, CheckResult] = {}

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

    def execute(self, spec: CheckSpec) -> CheckResult:
        """Run one check now, seeing the results so far (the backend: here, this process)."""
        from sanitykit.front.runner import check_result, precondition, run_one

        started = time.perf_counter()
        outcome = precondition(spec, self.target, self.results)
        if outcome is None:
            outcome = run_one(spec, self.target, self.seed, self.timeout, self.results)
        return check_result(spec, outcome, time.perf_counter() - started)

    def run_all(self, specs: Iterable[CheckSpec], progress: Progress | None = None) -> list[CheckResult]:
        """Every check of `specs` in their order; only they are reported (prerequisites run unreported)."""
        specs = list(specs)
        done: list[CheckResult] = []
        for spec in specs:
            done.append(self.run(spec.id))
            if progress is not None:
                progress(len(done), len(specs), done[-1])
        return done

    def close(self) -> None:
        """Release the target (private modules of a loaded tree)."""
        self.target.close()

    def __enter__(self) -> "CheckSession":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
