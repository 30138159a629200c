"""Running the catalogue against a target: order, skips, fences, exceptions -> statuses.

`check(target)` is `sk.check`: load, select, run, and hand back a Report. This is the
one boundary where whatever a check raises becomes a status (ARCHITECTURE.md):
SkipCheck -> skip; NotImplementedYet -> skip "not implemented yet"; UserCodeError ->
error with its one-line reason; CheckTimeout -> error "stopped after N s"; anything
else -> error "internal error in sanitykit".
"""
from __future__ import annotations

import contextlib
import fnmatch
import os
import traceback
import types
from typing import Any, Callable, Iterable

from dataclasses import replace

from sanitykit.checks.registry import CheckContext, CheckSpec, SkipCheck, Target, catalogue
from sanitykit.engine import wording
from sanitykit.engine.findings import Reason
from sanitykit.engine.results import ERROR, FAIL, CheckResult, Outcome, errored, skipped
from sanitykit.engine.usercode import (CheckTimeout, NotImplementedYet, UserCodeError,
                                       describe_exception, passes_through, recording, source_line,
                                       user_error_reason)
from sanitykit.engine.wording import DEPENDENCY_WORDS
from sanitykit.front.capture import fenced, interrupts_recorded, summarize_warnings
from sanitykit.front.report import Report, empty_loading

# How much of what the user's code printed during a check is kept in its details.
PRINTED_KEPT = 500

Progress = Callable[[int, int, CheckResult], None]


def select(specs: Iterable[CheckSpec], only: Iterable[str] | None = None) -> list[CheckSpec]:
    """The specs whose id matches one of the `only` globs (all when None), dependencies first.

    Args:
        specs: in catalogue order.
        only: fnmatch globs over check ids ("layers.affine.*").
    """
    patterns = list(only or [])
    chosen = [s for s in specs if not patterns or any(fnmatch.fnmatchcase(s.id, p) for p in patterns)]
    return dependencies_first(chosen)


def dependencies_first(specs: list[CheckSpec]) -> list[CheckSpec]:
    """Stable topological order: catalogue order, except a check never runs before its dependencies."""
    by_id = {s.id: s for s in specs}
    ordered: list[CheckSpec] = []
    placed: set[str] = set()
    visiting: set[str] = set()

    def place(spec: CheckSpec) -> None:
        if spec.id in placed or spec.id in visiting:
            return  # a cycle is a catalogue bug; run in declaration order rather than hang
        visiting.add(spec.id)
        for dep in spec.depends_on:
            if dep in by_id:
                place(by_id[dep])
        visiting.discard(spec.id)
        placed.add(spec.id)
        ordered.append(spec)

    for spec in specs:
        place(spec)
    return ordered


def precondition(spec: CheckSpec, target: Target, results: dict[str, CheckResult]) -> Outcome | None:
    """The outcome that replaces running `spec` (missing name, failed dependency), or None to run it."""
    for name in spec.needs:
        if target.get(name) is None:
            problem = target.problem_for(name)
            if problem:
                return errored(Reason("import_failed", (name,), note=problem))
            # A course helper sanitykit stands in for (loading.py): say so, do not check ours.
            return skipped(Reason("missing", (name,), note=target.absent_note(name) or ""))
    for dep in spec.depends_on:
        earlier = results.get(dep)
        if earlier is not None and earlier.status in DEPENDENCY_WORDS:
            return skipped(Reason("depends_on", see=(dep,), note=DEPENDENCY_WORDS[earlier.status]))
    return None


def _last_frame(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    frame = frames[-1]
    return f"{os.path.basename(frame.filename)}:{frame.lineno} in {frame.name}"


def _user_frame(exc: BaseException, target: Target) -> tuple[str, str]:
    """(file:line, source) of the innermost frame in the user's files, or ('', '') (the target
    decides what is theirs)."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if target.owns_file(frame.filename):
            return (f"{os.path.basename(frame.filename)}:{frame.lineno}",
                    source_line(frame.filename, frame.lineno))
    return "", ""


def with_source_line(outcome: Outcome, errors: Iterable[UserCodeError]) -> Outcome:
    """The outcome with the code of the line that raised, quoted under the line naming the error.

    `Solver.train raised KeyError: 'w' (at solver.py:171)` alone leaves a student to open the
    file; the line itself (`self.optim_config[k]["learning_rate"] *= ...`) usually shows the typo.
    The error is the one the outcome's reason records (a check may have wrapped or blamed it).
    """
    if outcome.status not in (ERROR, FAIL) or "source_line" in outcome.details:
        return outcome
    recorded = outcome.reason.note if outcome.reason and outcome.reason.kind == "raised" else None
    for error in reversed(list(errors)):
        if error.source_line and error.reason and error.reason == recorded:
            return replace(outcome, message=wording.with_source_line(outcome.message, error.source_line),
                           details={**outcome.details, "source_line": error.source_line})
    return outcome


def error_details(error: UserCodeError) -> dict[str, Any]:
    """Where the user's code raised and what it raised, as data (grading counts MemoryErrors)."""
    return {key: value for key, value in (("where", error.where), ("error_type", error.error_type)) if value}


class HungFunction(UserCodeError):
    """Raised by the worker's stand-in for a function stopped earlier for running past the time
    limit: a model calling a hung layer by its global name costs no second timeout."""


def outcome_of_exception(exc: BaseException, spec: CheckSpec, target: Target, timeout: float | None) -> Outcome:
    """Map what a check raised to its outcome (the table in ARCHITECTURE.md)."""
    if isinstance(exc, HungFunction):
        return errored(Reason("hung", (exc.subject,), note=exc.reason))
    if isinstance(exc, SkipCheck):
        return skipped(exc.reason)
    if isinstance(exc, NotImplementedYet):
        return skipped(Reason("not_implemented", (exc.subject,), note=exc.how))
    if isinstance(exc, UserCodeError):
        return with_source_line(errored(user_error_reason(exc, spec.subject), **error_details(exc)), [exc])
    if isinstance(exc, CheckTimeout):
        return errored(Reason("timeout", (spec.subject,),
                              note=f"stopped after {timeout:g} s (per-check limit, --timeout)"),
                       timeout_s=timeout)
    # A check that called the user's code without call_user: the traceback still shows
    # whose code raised, and a student's bug must not be reported as ours. A KeyboardInterrupt
    # that reaches here is the student's own (run_one lets the user's Ctrl-C through).
    where, code = _user_frame(exc, target)
    at = f" (at {where})" if where else ""
    if isinstance(exc, SystemExit):
        # Only the user's code exits: sys.exit(), or os._exit turned by the fence into a
        # SystemExit that says so (`.what`; its class name is ours, never shown).
        what = getattr(exc, "what", None) or f"sys.exit({exc.code!r})"
        error = UserCodeError(f"{spec.subject} called {what}{at}", subject=spec.subject, where=where,
                              source_line=code, error_type="SystemExit")
        return with_source_line(errored(user_error_reason(error, spec.subject), **error_details(error)), [error])
    if where or isinstance(exc, KeyboardInterrupt):
        if isinstance(exc, NotImplementedError):
            return skipped(Reason("not_implemented", (spec.subject,), note="raises NotImplementedError"))
        error = UserCodeError(f"{spec.subject} raised {describe_exception(exc)}{at}",
                              subject=spec.subject, where=where, source_line=code,
                              error_type=type(exc).__name__)
        return with_source_line(errored(user_error_reason(error, spec.subject), **error_details(error)), [error])
    return errored(Reason("internal", note=describe_exception(exc)), traceback=_last_frame(exc))


def run_one(spec: CheckSpec, target: Target, seed: int, timeout: float | None,
            results: dict[str, CheckResult], *, in_worker: bool = False) -> Outcome:
    """Run one check inside the fences and return its outcome; never raises (but what passes_through).

    Args:
        in_worker: in the supervised worker: the parent holds the clock (no alarm here), and
            every KeyboardInterrupt is the student's (the terminal's Ctrl-C reaches the parent only).
    """
    ctx = CheckContext(target=target, seed=seed, options={"timeout": timeout}, results=dict(results))
    extra: dict[str, Any] = {}
    fence = None
    with recording() as raised, interrupts_recorded() as interrupts:
        try:
            try:
                with target.imports_active(), fenced(None if in_worker else timeout) as fence:
                    outcome = spec.func(ctx)
            finally:
                # Read once the fence has closed: what reached the file descriptors and the
                # numpy names put back are only known then.
                if fence is not None:
                    extra = _fence_details(fence.output.getvalue(), summarize_warnings(fence.warnings))
                    if fence.numpy_restored:
                        extra["numpy_restored"] = list(fence.numpy_restored)
        except BaseException as exc:  # noqa: BLE001 - this is the boundary
            students = isinstance(exc, KeyboardInterrupt) and (in_worker or not interrupts.pressed)
            if passes_through(exc) and not students:  # Ctrl-C; pytest.exit, a pytest-timeout under the plugin
                raise
            outcome = outcome_of_exception(exc, spec, target, timeout)
        else:
            if not isinstance(outcome, Outcome):
                outcome = errored(Reason("internal", note=f"check returned {type(outcome).__name__}, "
                                         "not an Outcome"))
    # A check that caught the user's error and made its own outcome of it (blame, a hint).
    outcome = with_source_line(outcome, raised)
    return outcome.with_details(**extra) if extra else outcome


def _fence_details(printed: str, warning_lines: list[str]) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if printed:
        details["printed"] = printed if len(printed) <= PRINTED_KEPT else printed[:PRINTED_KEPT] + " ..."
    if warning_lines:
        details["warnings"] = warning_lines
    return details


def check_result(spec: CheckSpec, outcome: Outcome, duration_s: float) -> CheckResult:
    """The report's entry for `spec`: the outcome's verdict, words and data, with the spec's metadata."""
    return CheckResult(spec.id, spec.suite, spec.subject, outcome.status, spec.title, outcome.message,
                       outcome.hint, dict(outcome.details), duration_s, diagnosis=outcome.finding,
                       reason=outcome.reason)


def run_checks(target: Any, specs: Iterable[CheckSpec], seed: int = 0, timeout: float | None = 30.0,
               progress: Progress | None = None, known: Iterable[CheckSpec] | None = None) -> list[CheckResult]:
    """Run `specs` in order against `target`; one CheckResult each.

    Args:
        target: an object with the Target protocol (LoadedTarget, DictTarget).
        specs: already selected and ordered (see select()).
        seed: every check's generator starts from it (default 0).
        timeout: seconds per check (default 30; None for no limit).
        progress: called as progress(done, total, result) after each check.
        known: every check the selection was made from (default: `specs`); a selected check's
            prerequisites among them run first, unreported (session.prerequisites).
    """
    from sanitykit.front.session import CheckSession

    specs = list(specs)
    session = CheckSession(target, seed=seed, timeout=timeout, specs=known if known is not None else specs)
    return session.run_all(specs, progress)


def as_target(target: Any, name_map: dict[str, str] | None = None, timeout: float | None = 30.0) -> Any:
    """A Target from a path, a module, a namespace (a dict such as globals(), or an object with
    the conventional names) or an object that already is one (TargetError if not loadable)."""
    from sanitykit.front.loading import load_target

    if isinstance(target, (str, os.PathLike, types.ModuleType)):
        return load_target(target, name_map, timeout=timeout)
    if not is_target(target):
        from sanitykit.front.namespace import namespace_target

        return namespace_target(target, name_map, timeout=timeout)
    if name_map:
        raise ValueError("name_map applies to a path, a module or a namespace, not to a ready-made target")
    return target


def is_target(obj: Any) -> bool:
    """True for an object with the Target protocol (LoadedTarget, DictTarget), not a plain namespace."""
    return not isinstance(obj, dict) and all(callable(getattr(obj, name, None))
                                             for name in ("get", "swapped", "loading_info", "owns_file"))


def target_label(target: Any) -> str:
    if isinstance(target, (str, os.PathLike)):
        return str(target)
    if isinstance(target, types.ModuleType):
        return target.__name__
    return str(getattr(target, "name", type(target).__name__))  # a loaded Target names itself


def check(target: Any, suites: Iterable[str] | None = None, only: Iterable[str] | None = None,
          seed: int = 0, timeout: float | None = 30.0, name_map: dict[str, str] | None = None,
          progress: Progress | None = None, *, isolation: str = "worker",
          memory_mb: int | None = None) -> Report:
    """Run the diagnostic suite against the user's code and return the Report.

    Ctrl-C ends the run early: the report then holds what finished, the rest `skip` (reason
    `interrupted`), and `report.interrupted` is set (the command exits 130).

    Args:
        target: a .py file, a folder, a dotted module name, a module, a namespace (a dict such
            as a notebook's globals(), or an object with the conventional names: checked in
            this process, read afresh each run), or a Target (DictTarget).
        suites: suite names (default: every suite).
        only: fnmatch globs over check ids, e.g. ["layers.affine.*"].
        seed: the seed of every check's generator (default 0).
        timeout: seconds per check (default 30).
        name_map: conventional name -> the user's name (`{"affine_forward": "my_affine"}`).
        progress: called as progress(done, total, result) after each check.
        isolation: "worker" (default: a path or a module name runs in a supervised worker
            process; other targets live in this process and run here) or "in-process" (pdb).
        memory_mb: the worker's address-space limit in MB (default 2048).
    """
    from sanitykit.front.session import interrupted_result, open_session

    # A lone string is one suite or one glob, not a sequence of letters.
    suites = [suites] if isinstance(suites, str) else suites
    only = [only] if isinstance(only, str) else only
    chosen = tuple(suites) if suites else None
    if chosen:
        catalogue(chosen)  # an unknown suite is a ValueError before anything starts
    label = target_label(target)
    try:
        session = open_session(target, seed=seed, timeout=timeout, isolation=isolation, memory_mb=memory_mb,
                               name_map=name_map)
    except KeyboardInterrupt:  # Ctrl-C while the target loads: nothing ran, say so
        specs = select(catalogue(chosen), only)
        return Report(target=label, seed=seed, checks=[interrupted_result(s) for s in specs], interrupted=True)
    specs = select(catalogue(chosen), only)
    with session:
        if not (is_target(target) or isinstance(target, (str, os.PathLike))):
            label = target_label(session.target)  # a namespace names itself once read
        return run_session(session, specs, label=label, seed=seed, progress=progress)


def run_session(session: Any, specs: list[CheckSpec], *, label: str, seed: int,
                progress: Progress | None = None) -> Report:
    """Run `specs` in an open session (session.open_session) and make the Report.

    Args:
        session: a CheckSession or a WorkerSession.
        specs: selected and ordered (select()).
        label: the report's `target`.
        seed: the report's `seed`.
        progress: called as progress(done, total, result) after each check.
    """
    results = session.run_all(specs, progress)
    try:  # read after the run: checks record the conventions they measured on the target
        loading = {**empty_loading(), **session.loading_info()}
    except KeyboardInterrupt:
        session.interrupted, loading = True, empty_loading()
    return Report(target=label, seed=seed, checks=results, loading=with_patches_reported(loading, results),
                  interrupted=session.interrupted)


def with_patches_reported(loading: dict[str, Any], results: list[CheckResult]) -> dict[str, Any]:
    """The loading block with a line for each check whose code replaced numpy or builtins functions
    (put back after each call: the verdicts are sanitykit's own), beside those replaced at import."""
    lines = [f"{r.subject or r.id} replaced {', '.join(r.details['numpy_restored'])} during {r.id}; "
             "sanitykit put them back after each call" for r in results if r.details.get("numpy_restored")]
    if not lines:
        return loading
    return {**loading, "numpy_restored": [*loading.get("numpy_restored", []), *lines]}
