"""Grading a class: each submission in its own process and scratch folder, results saved as they come.

`grade_submission` prepares one hand-in, runs its child (supervise.py) and turns
whatever the child left into a SubmissionResult. `grade_class` runs `jobs` of them at
once, skips the unchanged ones, writes each result the moment it is ready, and on
Ctrl-C kills the children and keeps everything already written.
"""
from __future__ import annotations

import concurrent.futures
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from sanitykit._version import __version__
from sanitykit.engine.results import ERROR, STATUSES
from sanitykit.front.grading import outputs
from sanitykit.front.grading.limits import Limits
from sanitykit.front.grading.plan import GradingPlan
from sanitykit.front.grading.result import ERRORED, GRADED, SubmissionResult
from sanitykit.front.grading.rubric import score_checks
from sanitykit.front.grading.submissions import Submission, SubmissionError, content_digest, materialize
from sanitykit.front.grading.supervise import (MEMORY_ERROR_MESSAGE, NOT_RUN_MESSAGE, ChildRun,
                                               Supervisor, end_reason)
from sanitykit.front.render.text import is_note, problem_groups
from sanitykit.front.starter import StarterError, StarterLayering, lay_starter

NUMPY_MESSAGE = "replaced {names} at import; sanitykit put numpy back before the checks"
IMPORT_MESSAGE = "{module} could not be imported: {where}: {message}"
# Modules that failed only because they import the failing one (its problem is told once).
IMPORTERS_MESSAGE = " (so neither could {modules}, which import it)"
# A file that could not be decoded was never read: its checks are not the student's zeros.
UNREADABLE_MESSAGE = "not gradable: {where} {message}"
CANDIDATES_MESSAGE = "{count} course packages in the submission ({found}); graded {chosen} only"
PRINTED_MESSAGE = "printed {size:.1f} MB; report.json keeps its beginning"


# ---------------------------------------------------------------- one submission

def write_job(scratch: Path, target: Path, plan: GradingPlan) -> tuple[Path, Path]:
    """Write the child's job file; (job file, events file), both outside the student's copy."""
    events = scratch / "events.jsonl"
    job = {"target": str(target), "seed": plan.limits.seed, "check_timeout": plan.limits.check_timeout,
           "memory_mb": plan.limits.memory_mb, "cpu_seconds": plan.limits.cpu_seconds,
           "suites": list(plan.suites), "only": plan.only, "events": str(events)}
    job_file = scratch / "job.json"
    job_file.write_text(json.dumps(job), encoding="utf-8")
    return job_file, events


def check_results(run: ChildRun) -> dict[str, dict[str, Any]]:
    """Check id -> check dict: the final report's, else those streamed before the child stopped."""
    report = run.last("report")
    if report is not None:
        return {c["id"]: c for c in report["report"].get("checks", [])}
    return {e["result"]["id"]: e["result"] for e in run.events if e.get("event") == "check"}


def printed(run: ChildRun | None) -> str:
    """What the submission printed: at import (kept by the fences, bounded), then what escaped them."""
    if run is None:
        return ""
    at_import = (run.last("loaded") or {}).get("output", "")
    return "\n".join(part for part in (at_import, run.output) if part)


def _where(problem: dict[str, Any]) -> str:
    return f"{problem['file']}:{problem['line']}" if problem.get("line") else problem.get("file", "")


def unreadable_reason(run: ChildRun | None) -> str:
    """Why the submission is not gradable when a file of it could not be decoded, else ''."""
    problems = ((run.last("loaded") if run else None) or {}).get("loading", {}).get("problems", [])
    return "; ".join(UNREADABLE_MESSAGE.format(where=_where(head), message=head["message"])
                     for head, _ in problem_groups(p for p in problems if p.get("unreadable")))


def notes(run: ChildRun, results: dict[str, dict[str, Any]], limits: Limits) -> list[str]:
    """Submission-level reasons of a child that finished: import problems, numpy patched, memory."""
    found = []
    loaded = run.last("loaded") or {}
    candidates = loaded.get("loading", {}).get("candidates")
    if candidates:
        found.append(CANDIDATES_MESSAGE.format(count=len(candidates["found"]), found=", ".join(candidates["found"]),
                                               chosen=candidates["chosen"]))
    # A file defining nothing checked (data_utils needing imageio) is not the student's error, and an
    # unreadable file is unreadable_reason's.
    problems = [p for p in loaded.get("loading", {}).get("problems", []) if not is_note(p) and not p.get("unreadable")]
    for head, importers in problem_groups(problems):
        found.append(IMPORT_MESSAGE.format(module=head["module"], where=_where(head), message=head["message"])
                     + (IMPORTERS_MESSAGE.format(modules=", ".join(importers)) if importers else ""))
    restored = loaded.get("numpy_restored", []) + [n for e in run.events if e.get("event") == "numpy_restored"
                                                    for n in e["names"]]
    if restored:
        found.append(NUMPY_MESSAGE.format(names=", ".join(dict.fromkeys(restored))))
    out_of_memory = [cid for cid, r in results.items()
                     if r.get("status") == ERROR and (r.get("details") or {}).get("error_type") == "MemoryError"]
    out_of_memory += [f"importing {p['module']}" for p in loaded.get("loading", {}).get("problems", [])
                      if "MemoryError" in p.get("message", "")]
    if out_of_memory:
        found.append(MEMORY_ERROR_MESSAGE.format(memory_mb=limits.memory_mb, flag=limits.flag("memory_mb"),
                                                 where=", ".join(out_of_memory[:3])))
    # Output the fences kept back at import, plus what escaped them into the child's pipe.
    dropped = run.dropped_output + loaded.get("output_dropped", 0)
    if dropped:
        at_import = loaded.get("loading", {}).get("printed_at_import") or {}
        first = "; first lines at import: " + ", ".join(f"'{line}'" for line in at_import["first_lines"]) \
            if at_import.get("first_lines") else ""
        found.append(PRINTED_MESSAGE.format(size=dropped / 2**20) + first)
    return found


def build_report(submission: Submission, run: ChildRun | None, plan: GradingPlan,
                 results: dict[str, dict[str, Any]], missing: str) -> dict[str, Any]:
    """report.json: the child's report when it finished; else one rebuilt from what it streamed.

    Every graded check appears: one the child never reported is `error` with `missing`.
    """
    final = run.last("report") if run else None
    if final is not None:
        report = dict(final["report"])
    else:
        loaded = (run.last("loaded") if run else None) or {}
        report = {"sanitykit_version": __version__, "target": submission.name, "seed": plan.limits.seed,
                  "loading": loaded.get("loading", {"conventions": {}, "substitutions": [], "shims": [],
                                                     "problems": []})}
    checks = list(results.values())
    for graded in plan.graded:
        if graded.id not in results:
            checks.append({"id": graded.id, "suite": graded.suite, "subject": "", "status": ERROR,
                           "title": graded.title, "message": missing, "hint": "", "diagnosis": None,
                           "reason": {"kind": "not_run", "responsible": [], "see": [], "note": missing},
                           "details": {}, "duration_s": 0.0})
    report["target"] = submission.name  # not the scratch path, which is gone
    report["checks"] = checks
    report["summary"] = {s: sum(c["status"] == s for c in checks) for s in STATUSES}
    return report


def prepare(submission: Submission, scratch: Path, plan: GradingPlan) -> tuple[Path, StarterLayering | None]:
    """The folder to load: the submission's private copy, laid over the course's starter when given."""
    target = materialize(submission, scratch)
    if not plan.starter:
        return target, None
    layering = lay_starter(Path(plan.starter), target, scratch / "laid")
    return scratch / "laid", layering


def grade_submission(submission: Submission, plan: GradingPlan, supervisor: Supervisor,
                     fingerprint: str = "") -> SubmissionResult:
    """Grade one submission in a scratch copy and its own process; never raises for the student's doing.

    Args:
        submission: the hand-in.
        plan: rubric, graded checks, limits.
        supervisor: starts and tracks the child.
        fingerprint: stored with the result for reruns.
    """
    scratch = Path(tempfile.mkdtemp(prefix=f"sanitykit-{submission.name[:20]}-"))
    run: ChildRun | None = None
    starter: StarterLayering | None = None
    try:
        try:
            target, starter = prepare(submission, scratch, plan)
        except (SubmissionError, StarterError, OSError) as exc:
            reason = str(exc) if isinstance(exc, SubmissionError) else f"could not be copied: {exc}"
        else:
            job_file, events = write_job(scratch, target, plan)
            run = supervisor.run(job_file, events, target, plan.limits)
            reason = end_reason(run, plan.limits) or unreadable_reason(run)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    results = check_results(run) if run else {}
    missing = NOT_RUN_MESSAGE.format(reason=reason) if reason else "not reported by the runner"
    reasons = ([reason] if reason else []) + (notes(run, results, plan.limits) if run else [])
    report = build_report(submission, run, plan, results, missing)
    if starter is not None:
        report["loading"] = {**report.get("loading", {}), "starter": starter.to_dict()}
    scores = score_checks(plan.graded, results, missing, absent_counts=plan.rubric.absent_counts)
    result = SubmissionResult(submission.name, ERRORED if reason else GRADED, reasons, scores, report,
                              fingerprint, printed(run), run.duration_s if run else 0.0)
    report["grading"] = outputs.grading_block(result, plan.limits)
    return result


# ---------------------------------------------------------------- the class

def reusable(submission: Submission, out: Path, plan: GradingPlan, fingerprint: str) -> SubmissionResult | None:
    """The stored result of an unchanged submission (same files, rubric, limits, version), or None."""
    stored = outputs.load_stored(out, submission.name)
    if stored is None or stored.get("fingerprint") != fingerprint:
        return None
    results = {cid: dict(zip(("status", "message", "kind", "reason_kind"), stored_check))
               for cid, stored_check in stored["checks"].items()}
    scores = score_checks(plan.graded, results, stored.get("missing", "not run"),
                          absent_counts=plan.rubric.absent_counts)
    return SubmissionResult(submission.name, stored["status"], list(stored["reasons"]), scores,
                            fingerprint=fingerprint, reused=True)


class LocalJobs:
    """Grades submissions on this machine, `plan.limits.jobs` at once (threads, each holding one child).

    The interface every place that runs submissions has (dask_backend.DaskJobs too):
    `results(todo)` yields each SubmissionResult as it finishes, `stop()` kills what runs
    (Ctrl-C), `close()` waits for the rest.

    Args:
        plan: rubric, graded checks and limits.
        on_start: called with a name when its process starts (progress).
    """

    def __init__(self, plan: GradingPlan, on_start: Callable[[str], None] | None = None):
        self.plan = plan
        self.on_start = on_start
        self.supervisor = Supervisor()
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=plan.limits.jobs, thread_name_prefix="grade")

    def _job(self, submission: Submission, fingerprint: str) -> SubmissionResult:
        if self.on_start:
            self.on_start(submission.name)
        return grade_submission(submission, self.plan, self.supervisor, fingerprint)

    def results(self, todo: Sequence[tuple[Submission, str]]) -> Iterator[SubmissionResult]:
        futures = [self.pool.submit(self._job, s, f) for s, f in todo]
        for future in concurrent.futures.as_completed(futures):
            yield future.result()

    def stop(self) -> None:
        self.supervisor.kill_all()
        self.pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        self.pool.shutdown(wait=True)


def grade_class(submissions: Sequence[Submission], plan: GradingPlan, out: Path, *, force: bool = False,
                on_start: Callable[[str], None] | None = None,
                on_done: Callable[[SubmissionResult], None] | None = None,
                jobs: Any = None) -> list[SubmissionResult]:
    """Grade every submission, `plan.limits.jobs` at once; write each result as it finishes.

    Unchanged submissions are reused unless `force`. On KeyboardInterrupt the children are
    killed, class.csv is written for the finished ones, and the interrupt goes on up.

    Args:
        submissions: from submissions.discover.
        plan: rubric, graded checks and limits.
        out: the results folder.
        force: regrade even unchanged submissions.
        on_start: called with a name when its process starts (progress; local jobs only).
        on_done: called with each result, after it is written.
        jobs: where the submissions run (default LocalJobs; dask_backend.DaskJobs for a cluster).
    """
    out.mkdir(parents=True, exist_ok=True)
    finished: list[SubmissionResult] = []
    todo: list[tuple[Submission, str]] = []
    for submission in submissions:
        fingerprint = plan.fingerprint(content_digest(submission)) if submission.path.exists() else ""
        previous = None if force else reusable(submission, out, plan, fingerprint)
        if previous is not None:
            finished.append(previous)
            if on_done:
                on_done(previous)
        else:
            todo.append((submission, fingerprint))

    jobs = jobs or LocalJobs(plan, on_start)
    try:
        for result in jobs.results(todo):
            outputs.write_submission(out, result, plan)
            finished.append(result)
            if on_done:
                on_done(result)
    except BaseException:
        # Ctrl-C (or a sanitykit bug): stop the children; what is written stays written.
        jobs.stop()
        raise
    finally:
        jobs.close()
        outputs.write_class_csv(out, sorted(finished, key=lambda r: r.name), plan)
    return sorted(finished, key=lambda r: r.name)
