"""What runs inside a submission's own process: limits, its checks (in the check worker), plain dicts back.

Started by the parent as `python -m sanitykit.front.grading.child JOB.json`. The
child writes one JSON object per line to the job's events file, flushed as it
goes, so whatever it managed before a crash, a kill or an `os._exit` survives:

    {"event": "start"}
    {"event": "target_error", "reason": "..."}          the target could not be loaded
    {"event": "loaded", "loading": {...}, "numpy_restored": [...], "output": "..."}
    {"event": "check", "result": {...}}                 each check as it finishes
    {"event": "report", "report": {...}}                Report.to_dict()

Only the standard library is imported before the limits are set.
"""
from __future__ import annotations

import faulthandler
import json
import os
import resource
import sys
from typing import Any, TextIO



def set_limits(memory_mb: int, cpu_seconds: int | None) -> None:
    """Limit this process's address space and CPU time (the parent owns the wall clock).

    Args:
        memory_mb: RLIMIT_AS in MB; a bigger allocation raises MemoryError.
        cpu_seconds: RLIMIT_CPU soft limit (SIGXCPU); the hard limit is a little later (SIGKILL).
            None leaves the CPU time to `limit_cpu_from_now` (the check worker, per check).
    """
    memory = memory_mb * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        memory = min(memory, hard)  # a child of a limited process (grade's check worker) cannot raise it
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    if cpu_seconds is not None:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    # A core dump of a 768 MB process per segfault would fill the grader's disk.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def limit_cpu_from_now(seconds: float) -> None:
    """Let this process use `seconds` more CPU time, then SIGXCPU (a persistent worker, per check).

    Args:
        seconds: CPU seconds from now; the hard limit stays where it was.
    """
    usage = resource.getrusage(resource.RUSAGE_SELF)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = int(usage.ru_utime + usage.ru_stime + seconds) + 1
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


class Events:
    """The events file: one JSON object per line, flushed at once."""

    def __init__(self, stream: TextIO):
        self.stream = stream

    def emit(self, event: str, **fields: Any) -> None:
        self.stream.write(json.dumps({"event": event, **fields}, default=str) + "\n")
        self.stream.flush()




def grade_in_process(job: dict[str, Any], events: Events) -> None:
    """Run the submission's checks, each in the supervised check worker, reporting through `events`.

    The worker (sanitykit.front.worker) holds each check to its own time limit: a looping
    function costs one check (`timeout`, then `hung` for the checks that need it), a crash
    costs the check that ran, and the submission is still graded to the end.

    Args:
        job: from the parent (target, seed, check_timeout, memory_mb, suites, only).
        events: where every step is written.
    """
    from sanitykit.checks.registry import catalogue  # imports numpy: after the limits
    from sanitykit.front.loading import TargetError
    from sanitykit.front.runner import run_session, select
    from sanitykit.front.session import open_session

    try:
        session = open_session(job["target"], seed=job["seed"], timeout=job["check_timeout"],
                               memory_mb=job["memory_mb"])
    except TargetError as exc:
        events.emit("target_error", reason=str(exc))
        return
    with session:
        imported = session.imported()
        events.emit("loaded", loading=session.loading_info(), numpy_restored=imported["numpy_restored"],
                     output=imported["output"], output_dropped=imported["output_dropped"])

        def on_result(done: int, total: int, result: Any) -> None:
            events.emit("check", result=result.to_dict())
            if result.details.get("numpy_restored"):
                events.emit("numpy_restored", names=list(result.details["numpy_restored"]), after=result.id)

        suites = job.get("suites") or None
        specs = select(catalogue(tuple(suites) if suites else None), job.get("only") or None)
        report = run_session(session, specs, label=job["target"], seed=job["seed"], progress=on_result)
    events.emit("report", report=report.to_dict())


def main(argv: list[str]) -> None:
    """Entry point: read the job, set the limits, grade, and leave without running student atexit code."""
    with open(argv[1], encoding="utf-8") as handle:
        job = json.load(handle)
    set_limits(job["memory_mb"], job["cpu_seconds"])
    faulthandler.enable()  # a segfault prints where it happened into the captured stderr
    with open(job["events"], "a", encoding="utf-8") as stream:
        events = Events(stream)
        events.emit("start", pid=os.getpid())
        try:
            grade_in_process(job, events)
        except MemoryError:
            events.emit("crash", reason="ran out of memory (MemoryError) outside any check",
                        error_type="MemoryError")
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, never re-raised
            events.emit("crash", reason=f"{type(exc).__name__}: {str(exc)[:300]}", error_type=type(exc).__name__)
        stream.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    # os._exit: a student's non-daemon thread or atexit handler must not keep us alive.
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv)
