"""What runs in the check worker: limits, the target loaded from the private copy, one check per request.

Started by the parent (process.py) as `sanitykit.front.worker.child TO_CHILD FROM_CHILD DUMP_FILE`
(two pipe descriptors and the file faulthandler writes into). Messages (channel.py):

    parent -> child                                        child -> parent
    {"op": "load", "target", "name_map", "timeout",        {"event": "ready", "loading", "thread",
     "memory_mb", "parent"}           (the first)           "name_map", "root", "imported"}  or
                                                           {"event": "target_error", "reason"}
    {"op": "run", "id", "seed", "results": [...],         {"event": "result", "result": {...}}
     "hung": {name: note}, "cpu_s"}
    {"op": "loading"}                                      {"event": "loading", "loading": {...}}
    {"op": "close"}

The child never times itself: the parent holds the clock and kills. Every KeyboardInterrupt
here is the student's (the terminal's Ctrl-C reaches only the parent's process group).
Only the standard library is imported before the limits are set.
"""
from __future__ import annotations

import faulthandler
import os
import signal
import sys
import threading
import time
import traceback
from typing import Any

from sanitykit.front.grading.child import limit_cpu_from_now, set_limits
from sanitykit.front.worker.channel import Channel, ChannelClosed

PARENT_POLL_S = 0.5  # how often the child looks whether its parent is still there
INTERNAL_ERROR_EXIT = 70  # EX_SOFTWARE: the worker itself failed, not the student's code


def main(argv: list[str]) -> None:
    """Entry point: faulthandler, the job, limits, serve; leave without running student atexit code."""
    channel = Channel(int(argv[1]), int(argv[2]))
    dump = open(argv[3], "a", encoding="utf-8")  # noqa: SIM115 - open for the life of the process
    faulthandler.enable(file=dump, all_threads=True)  # a segfault says where it happened
    faulthandler.register(signal.SIGUSR1, file=dump, all_threads=True)  # the parent's "where are you?"
    code = 0
    try:
        job = channel.receive()
        set_limits(job["memory_mb"], None)
        sys.dont_write_bytecode = True  # no __pycache__, even in the copy
        watch_parent(job["parent"])
        serve(job, channel)
    except ChannelClosed:
        pass  # the parent left
    except BaseException:  # noqa: BLE001 - a sanitykit bug: said on stderr (the parent's trap), exit 70
        traceback.print_exc()
        code = INTERNAL_ERROR_EXIT
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        # os._exit: a student's non-daemon thread or atexit handler must not keep us alive.
        os._exit(code)


def watch_parent(parent: int) -> None:
    """End this process group when the parent is gone (killed without closing the session)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        os.killpg(os.getpgid(0), signal.SIGKILL)  # with whatever the student's code started

    threading.Thread(target=watch, name="sanitykit-parent-watch", daemon=True).start()


def serve(job: dict[str, Any], channel: Channel) -> None:
    """Load the target, say so, then answer requests until the parent closes."""
    from sanitykit.front.loading import TargetError, load_target  # imports numpy: after the limits

    try:
        target = load_target(job["target"], job.get("name_map") or None, timeout=job["timeout"])
    except TargetError as exc:
        channel.send({"event": "target_error", "reason": str(exc)})
        return
    except BaseException as exc:  # noqa: BLE001 - the student's KeyboardInterrupt at import, a loader bug
        channel.send({"event": "target_error", "reason": f"loading stopped: {type(exc).__name__}: {exc}"})
        return
    from sanitykit.front.session import imported_of

    channel.send({"event": "ready", "loading": target.loading_info(), "thread": threading.get_ident(),
                  "name_map": dict(target.name_map), "root": str(target.root or ""),
                  "imported": imported_of(target)})
    checks = Checks(target)
    while True:
        request = channel.receive()
        op = request.get("op")
        if op == "run":
            channel.send({"event": "result", "result": checks.run(request)})
        elif op == "loading":
            channel.send({"event": "loading", "loading": target.loading_info()})
        else:
            return


class Checks:
    """The catalogue against the loaded target, with the results the parent has sent."""

    def __init__(self, target: Any):
        from sanitykit.checks.registry import catalogue

        self.target = target
        self.by_id = {spec.id: spec for spec in catalogue()}
        self.results: dict[str, Any] = {}

    def run(self, request: dict[str, Any]) -> dict[str, Any]:
        """Run the requested check; its result as a dict. Never raises."""
        from sanitykit.engine.findings import Reason
        from sanitykit.engine.results import CheckResult, errored
        from sanitykit.engine.usercode import describe_exception
        from sanitykit.front.runner import check_result, precondition, run_one

        for data in request.get("results", ()):
            self.results[data["id"]] = CheckResult.from_dict(data)
        spec = self.by_id[request["id"]]
        started = time.perf_counter()
        if request.get("cpu_s"):
            limit_cpu_from_now(request["cpu_s"])
        try:
            with self.target.swapped(stand_ins(request.get("hung") or {})):
                outcome = precondition(spec, self.target, self.results)
                if outcome is None:
                    outcome = run_one(spec, self.target, request["seed"], None, self.results, in_worker=True)
        except BaseException as exc:  # noqa: BLE001 - a sanitykit bug must cost one check, not the worker
            outcome = errored(Reason("internal", note=describe_exception(exc)))
        result = self.results[spec.id] = check_result(spec, outcome, time.perf_counter() - started)
        return result.to_dict()


def stand_ins(hung: dict[str, str]) -> dict[str, Any]:
    """Conventional name -> a function raising HungFunction, for each function stopped earlier:
    a model that calls a hung layer by its global name must not hang again."""
    from sanitykit.front.runner import HungFunction

    def stand_in(name: str, note: str):
        def hung_function(*args: Any, **kwargs: Any) -> Any:
            raise HungFunction(note, subject=name)

        hung_function.__name__ = hung_function.__qualname__ = name
        return hung_function

    return {name: stand_in(name, note) for name, note in hung.items()}


if __name__ == "__main__":
    main(sys.argv)
