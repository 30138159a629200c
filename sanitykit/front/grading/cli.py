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
        self.done += 1
        how = "unchanged, kept" if result.reused else f"{result.duration_s:.1f} s"
        line = f"[{self.done}/{self.total}] {result.name}: {result.score:g}/{result.max_score:g} {result.status} ({how})"
        if self.bar:
            self.bar.update(self.task, advance=1, description=result.name)
            if result.status != "graded":
                self.bar.console.print(line + ": " + "; ".join(result.reasons), markup=False, highlight=False)
        else:
            print(line + (": " + "; ".join(result.reasons) if result.status != "graded" else ""),
                  file=sys.stderr, flush=True)


def show_class(results, plan, out: Path) -> None:
    """The terminal summary on stdout: a table per submission, the histogram, the most failed checks."""
    from rich.console import Console
    from rich.table import Table

    from sanitykit.front.grading.outputs import histogram, most_failed

    console = Console(file=sys.stdout)
    table = Table("submission", "score", "status", "errors", box=None, pad_edge=False)
    for r in results:
        table.add_row(r.name, f"{r.score:g}/{r.max_score:g}", r.status, r.error_summary()[:120] or "-")
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
    if submissions_dir is None:
        raise fail("give the folder of submissions (or --gradescope, or --print-rubric)")
    raise typer.Exit(grade_folder(submissions_dir, out or Path(DEFAULT_OUT), plan, force))


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


def grade_folder(submissions_dir: Path, out: Path, plan, force: bool) -> int:
    """Grade every submission of the folder; the exit code (0, 1, 2 or 130)."""
    from sanitykit.front.grading.runner import grade_class
    from sanitykit.front.grading.submissions import discover

    if not submissions_dir.is_dir():
        raise fail(f"{submissions_dir}: not a folder of submissions")
    submissions = discover(submissions_dir, exclude=(out,))
    if not submissions:
        raise fail(f"{submissions_dir}: no submissions (subfolders or .zip files) found")
    if not plan.graded:
        raise fail(f"{plan.rubric.source} grades no check")
    progress = Progress(len(submissions))
    try:
        with progress:
            results = grade_class(submissions, plan, out, force=force, on_done=progress.finished)
    except KeyboardInterrupt:
        typer.echo(INTERRUPTED_MESSAGE.format(done=progress.done, total=len(submissions), out=out), err=True)
        return 130
    show_class(results, plan, out)
    return 1 if any(r.status != "graded" for r in results) else 0
