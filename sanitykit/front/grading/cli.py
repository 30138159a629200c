"""`sanitykit grade`: parse, resolve limits and rubric once, grade, show the class, pick the exit code.

Registered on the `sanitykit` app by sanitykit/front/cli.py (it imports every
`sanitykit/front/<subpackage>/cli.py`). Exit codes of `grade`: 0 every submission was
graded to the end (whatever its students' scores); 1 some submission could not be
graded to the end (crash, limit, unloadable: its row says why); 2 the command line or
the rubric is wrong, or there is nothing to grade; 130 interrupted (finished results kept).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from sanitykit.front.cli import app, fail

GRADESCOPE_ROOT_ENV = "SANITYKIT_GRADESCOPE_ROOT"
GRADESCOPE_ROOT = "/autograder"
DEFAULT_OUT = "grades"
INTERRUPTED_MESSAGE = ("interrupted: {done} of {total} submissions graded and saved in {out}; "
                       "run the same command again to grade the rest")


def build_plan(rubric_file: Optional[Path], options: dict, starter: Optional[Path] = None):
    """Rubric, graded checks, limits and starter, resolved once; RubricError / LimitError / StarterError."""
    from sanitykit.checks.registry import catalogue
    from sanitykit.front.grading.limits import resolve_limits
    from sanitykit.front.grading.rubric import load_rubric
    from sanitykit.front.grading.plan import GradingPlan
    from sanitykit.front.starter import StarterError, starter_digest

    rubric = load_rubric(rubric_file)
    limits = resolve_limits(options, rubric_limits=rubric.limits, rubric_file=rubric.source)
    specs = catalogue()
    graded = tuple(rubric.grade(specs))
    if starter is not None and not starter.is_dir():
        raise StarterError(f"{starter}: --starter must be a folder of the course's files")
    # Absolute: the children (and Dask workers) run in other folders.
    return GradingPlan(rubric, graded, limits, tuple(s.id for s in specs),
                       starter=str(starter.resolve()) if starter else "",
                       starter_digest=starter_digest(starter) if starter else "")


class Progress:
    """Progress on stderr: a rich bar with ETA in a terminal, one plain line per submission otherwise."""

    def __init__(self, total: int):
        from rich.console import Console

        self.console = Console(file=sys.stderr)
        self.total = total
        self.done = 0
        self.bar = None
        if self.console.is_terminal:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress as Bar, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)

            self.bar = Bar(TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                           TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.description}"),
                           console=self.console, transient=False)
            self.task = self.bar.add_task("", total=total)

    def __enter__(self):
        if self.bar:
            self.bar.start()
        return self

    def __exit__(self, *exc):
        if self.bar:
            self.bar.stop()

    def finished(self, result) -> None:
        from sanitykit.front.render.text import printable  # reasons quote students' exceptions

        self.done += 1
        how = "unchanged, kept" if result.reused else f"{result.duration_s:.1f} s"
        line = f"[{self.done}/{self.total}] {result.name}: {result.score:g}/{result.max_score:g} {result.status} ({how})"
        if self.bar:
            self.bar.update(self.task, advance=1, description=result.name)
            if result.status != "graded":
                self.bar.console.print(line + ": " + printable("; ".join(result.reasons)), markup=False,
                                       highlight=False)
        else:
            print(line + (": " + printable("; ".join(result.reasons)) if result.status != "graded" else ""),
                  file=sys.stderr, flush=True)


def show_class(results, plan, out: Path) -> None:
    """The terminal summary on stdout: a table per submission, the histogram, the most failed checks."""
    from rich.console import Console
    from rich.table import Table

    from sanitykit.front.grading.outputs import histogram, most_failed
    from sanitykit.front.render.text import printable

    console = Console(file=sys.stdout)
    table = Table("submission", "score", "status", "errors", box=None, pad_edge=False)
    for r in results:
        table.add_row(r.name, f"{r.score:g}/{r.max_score:g}", r.status, printable(r.error_summary()[:120]) or "-")
    console.print(table, markup=False, highlight=False)
    console.print("\nscores (% of max)", markup=False, highlight=False)
    top = max((n for _, _, n in histogram(results)), default=0) or 1
    for low, high, n in histogram(results):
        console.print(f"  {low:5.0f}-{high:<4.0f} {'#' * round(20 * n / top):20} {n}", markup=False, highlight=False)
    failed = most_failed(results)
    if failed:
        console.print("\nchecks most often missed (what to re-teach)", markup=False, highlight=False)
        for check_id, n_fail, n_error in failed:
            console.print(f"  {check_id:45} {n_fail} failed, {n_error} errored", markup=False, highlight=False)
    console.print(f"\nwrote {out / 'class.csv'} and one folder per submission in {out}/", markup=False,
                  highlight=False)


def grade_gradescope(root: Path, plan, out: Optional[Path]) -> int:
    """Grade Gradescope's one submission (<root>/submission) into <root>/results/results.json."""
    import json

    from sanitykit.front.grading.outputs import gradescope_results, staff_notes, write_atomic
    from sanitykit.front.grading.runner import grade_submission
    from sanitykit.front.grading.submissions import Submission
    from sanitykit.front.grading.supervise import Supervisor

    folder = root / "submission"
    if not folder.is_dir():
        raise fail(f"{folder}: no submission folder (Gradescope mode; set --gradescope-root or "
                   f"{GRADESCOPE_ROOT_ENV})")
    result = grade_submission(Submission("submission", folder), plan, Supervisor())
    results_dir = out or root / "results"
    write_atomic(results_dir / "results.json", json.dumps(gradescope_results(result), indent=2))
    write_atomic(results_dir / "report.json", json.dumps(result.report, indent=2))
    if staff_notes(result):
        typer.echo(staff_notes(result))
    typer.echo(f"sanitykit: {result.score:g}/{result.max_score:g} ({result.status}); wrote "
               f"{results_dir / 'results.json'}", err=True)
    return 0 if result.status == "graded" else 1


@app.command("grade")
def grade_command(
    submissions_dir: Annotated[Optional[Path], typer.Argument(
        help="Folder with one subfolder or .zip per student (an assignment root or the cs231n/ package).",
        show_default=False)] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", metavar="DIR",
                   help=f"Results folder: class.csv and one folder per submission. Default: ./{DEFAULT_OUT}.")] = None,
    jobs: Annotated[Optional[int], typer.Option("--jobs", "-j", help="Submissions graded at once. "
                    "Default: the number of cores.", show_default=False)] = None,
    rubric: Annotated[Optional[Path], typer.Option("--rubric", metavar="FILE",
                      help="Rubric TOML (check-id globs -> points, visibility). Default: every check, "
                           "weighted by family (see --print-rubric).")] = None,
    timeout: Annotated[Optional[float], typer.Option("--timeout", metavar="SECONDS",
                       help="Time limit of one check, in seconds. Default: 30.", show_default=False)] = None,
    submission_timeout: Annotated[Optional[float], typer.Option("--submission-timeout", metavar="SECONDS",
                                  help="Wall-clock limit of a whole submission, in seconds. Default: 600.",
                                  show_default=False)] = None,
    memory: Annotated[Optional[int], typer.Option("--memory", metavar="MB",
                      help="Memory (address space) limit of a submission, in MB. Default: 768.",
                      show_default=False)] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Seed of every check's random inputs. "
                    "Default: 0.", show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="Regrade submissions whose files, rubric and "
                     "settings have not changed since the last run.")] = False,
    gradescope: Annotated[bool, typer.Option("--gradescope", help="Gradescope autograder mode: grade "
                          "<root>/submission, write <root>/results/results.json.")] = False,
    gradescope_root: Annotated[Optional[Path], typer.Option("--gradescope-root", metavar="DIR",
                               help=f"Gradescope's folder (default ${GRADESCOPE_ROOT_ENV} or "
                                    f"{GRADESCOPE_ROOT}).", show_default=False)] = None,
    print_rubric: Annotated[bool, typer.Option("--print-rubric", help="Print the default rubric "
                            "(TOML) and exit.")] = False,
    starter: Annotated[Optional[Path], typer.Option("--starter", metavar="DIR",
                       help="The course's starter files, laid under every submission: a student's "
                            "files replace them (a flat upload of layers.py, optim.py, fc_net.py "
                            "finds its places).", show_default=False)] = None,
    make_autograder: Annotated[Optional[Path], typer.Option("--make-autograder", metavar="ZIP",
                               help="Write Gradescope's autograder zip (setup.sh, run_autograder, the "
                                    "rubric, the starter, this sanitykit's wheel) and exit.",
                               show_default=False)] = None,
    wheel: Annotated[Optional[Path], typer.Option("--wheel", metavar="FILE", help="With --make-autograder: "
                     "the sanitykit wheel to ship. Default: built from this checkout.",
                     show_default=False)] = None,
    wheels: Annotated[Optional[Path], typer.Option("--wheels", metavar="DIR", help="With --make-autograder: "
                      "dependency wheels to ship too, so setup.sh needs no network.",
                      show_default=False)] = None,
    dask: Annotated[Optional[str], typer.Option("--dask", metavar="ADDRESS", help="Grade on a running Dask "
                    "cluster (tcp://host:8786): each submission in a supervised child on a worker. "
                    "Needs sanitykit[dask].", show_default=False)] = None,
    dask_local: Annotated[Optional[int], typer.Option("--dask-local", metavar="N", help="Grade on a local Dask "
                          "cluster of N worker processes.", show_default=False)] = None,
    diff: Annotated[bool, typer.Option("--diff", help="Show, per student, which checks changed since the "
                    "previous run and why (code, rubric, sanitykit version); without SUBMISSIONS_DIR, "
                    "only show it for --out.")] = False,
    roster: Annotated[Optional[Path], typer.Option("--roster", metavar="FILE", help="Canvas gradebook "
                      "export, to match submissions to students in canvas.csv.", show_default=False)] = None,
    assignment_name: Annotated[str, typer.Option("--assignment-name", metavar="NAME", help="The assignment "
                               "column of canvas.csv (Canvas's \"Assignment 2 (5678)\" updates that one).")
                               ] = "sanitykit",
) -> None:
    """Grade a whole class, each submission in its own process with time and memory limits.

    Exit code 0 when every submission was graded to the end (students' failures are in the scores), 1 when some could not be (crash, limit; class.csv says why), 2 when the command line or the rubric is wrong.
    """
    from sanitykit.front.grading.limits import LimitError
    from sanitykit.front.grading.rubric import RubricError, default_rubric_text
    from sanitykit.front.starter import StarterError

    if print_rubric:
        typer.echo(default_rubric_text(), nl=False)
        raise typer.Exit(0)
    options = {"check_timeout": timeout, "submission_timeout": submission_timeout, "memory_mb": memory,
               "jobs": jobs, "seed": seed}
    try:
        plan = build_plan(rubric, options, starter)
    except (RubricError, LimitError, StarterError) as exc:
        raise fail(str(exc)) from None
    if make_autograder is not None:
        raise typer.Exit(write_autograder(make_autograder, rubric, starter, wheel, wheels))
    if gradescope:
        root = gradescope_root or Path(os.environ.get(GRADESCOPE_ROOT_ENV) or GRADESCOPE_ROOT)
        raise typer.Exit(grade_gradescope(root, plan, out))
    if submissions_dir is None and diff:
        raise typer.Exit(show_diff(out or Path(DEFAULT_OUT)))
    if submissions_dir is None:
        raise fail("give the folder of submissions (or --gradescope, --diff, or --print-rubric)")
    if dask and dask_local:
        raise fail("give --dask ADDRESS or --dask-local N, not both")
    lms = {"roster": read_roster_or_exit(roster), "assignment": assignment_name}
    raise typer.Exit(grade_folder(submissions_dir, out or Path(DEFAULT_OUT), plan, force,
                                  dask=(dask, dask_local), lms=lms, diff=diff))


def read_roster_or_exit(roster: Optional[Path]):
    """The Canvas roster's rows, None without --roster; exit 2 when it cannot be read."""
    from sanitykit.front.grading.lms import RosterError, read_roster

    try:
        return read_roster(roster) if roster else None
    except RosterError as exc:
        raise fail(str(exc)) from None


def open_jobs(plan, dask: tuple):
    """Where the submissions run: None for local jobs, else a DaskJobs (exit 2 when Dask cannot be used)."""
    address, local_workers = dask
    if not address and not local_workers:
        return None
    from sanitykit.front.grading.dask_backend import DaskError, DaskJobs

    if local_workers is not None and local_workers < 1:
        raise fail("--dask-local needs 1 worker or more")
    try:
        return DaskJobs(plan, address=address, local_workers=local_workers)
    except DaskError as exc:
        raise fail(str(exc)) from None


def finish_class(out: Path, results, submissions, plan, lms: dict) -> None:
    """After a run: the history line, summary.json / summary.html, canvas.csv."""
    from sanitykit.front.grading.analytics import pattern_lines, write_summary
    from sanitykit.front.grading.history import append_run, run_record
    from sanitykit.front.grading.lms import write_canvas_csv
    from sanitykit.front.grading.submissions import content_digest

    digests = {s.name: content_digest(s) for s in submissions if s.path.exists()}
    append_run(out, run_record(results, plan, digests))
    summary = write_summary(out, results)
    unmatched = write_canvas_csv(out, results, lms["roster"], lms["assignment"])
    if unmatched:
        typer.echo(f"sanitykit: {len(unmatched)} submission(s) not in the roster, written under their own "
                   f"name in canvas.csv: {', '.join(unmatched[:5])}", err=True)
    lines = pattern_lines(summary)
    if lines:
        typer.echo("\nmost common mistakes (summary.html has them all)")
        for line in lines:
            typer.echo("  " + line)


def show_diff(out: Path, required: bool = True) -> int:
    """Print what changed per student between their last two runs in <out> (history.jsonl).

    Args:
        out: the results folder.
        required: fewer than two runs is a command-line error (exit 2), else a note.
    """
    from sanitykit.front.grading.history import changes, diff_lines, read_history

    runs = read_history(out)
    if len(runs) < 2:
        if required:
            raise fail(f"{out}: --diff needs two runs in {out / 'history.jsonl'} (found {len(runs)})")
        typer.echo("\nno previous run to compare with (this was the first)")
        return 0
    students = len(runs[-1]["submissions"])
    typer.echo("\n".join(["", f"changes since the previous run ({runs[-2]['run']} -> {runs[-1]['run']})",
                           *diff_lines(changes(runs), students)]))
    return 0


def write_autograder(zip_path: Path, rubric: Optional[Path], starter: Optional[Path], wheel: Optional[Path],
                     wheels: Optional[Path]) -> int:
    """Write the Gradescope bundle (grading/autograder.py); 0, or exit 2 with the reason."""
    from sanitykit.front.grading.autograder import AutograderError, make_autograder
    from sanitykit.front.grading.rubric import default_rubric_text

    text = rubric.read_text(encoding="utf-8") if rubric else default_rubric_text()
    try:
        members = make_autograder(zip_path, text, starter, wheel=wheel, extra_wheels=wheels)
    except (AutograderError, OSError) as exc:
        raise fail(str(exc)) from None
    starter_files = sum(m.startswith("starter/") for m in members)
    typer.echo(f"wrote {zip_path}: setup.sh, run_autograder, rubric.toml ({rubric or 'the default rubric'}), "
               f"{starter_files} starter files, {sum(m.startswith('wheels/') for m in members)} wheel(s); "
               "upload it as the assignment's autograder")
    return 0


def grade_folder(submissions_dir: Path, out: Path, plan, force: bool, *, dask: tuple = (None, None),
                 lms: Optional[dict] = None, diff: bool = False) -> int:
    """Grade every submission of the folder, then the class files; the exit code (0, 1, 2 or 130)."""
    from sanitykit.front.grading.runner import grade_class
    from sanitykit.front.grading.submissions import discover

    if not submissions_dir.is_dir():
        raise fail(f"{submissions_dir}: not a folder of submissions")
    submissions = discover(submissions_dir, exclude=(out,))
    if not submissions:
        raise fail(f"{submissions_dir}: no submissions (subfolders or .zip files) found")
    if not plan.graded:
        raise fail(f"{plan.rubric.source} grades no check")
    jobs = open_jobs(plan, dask)
    progress = Progress(len(submissions))
    try:
        with progress:
            results = grade_class(submissions, plan, out, force=force, on_done=progress.finished, jobs=jobs)
    except KeyboardInterrupt:
        typer.echo(INTERRUPTED_MESSAGE.format(done=progress.done, total=len(submissions), out=out), err=True)
        return 130
    show_class(results, plan, out)
    finish_class(out, results, submissions, plan, lms or {"roster": None, "assignment": "sanitykit"})
    if diff:
        show_diff(out, required=False)
    return 1 if any(r.status != "graded" for r in results) else 0
