"""The `sanitykit` command: thin commands that parse, call the library, render, pick the exit code.

Exit codes: 0 no check failed or errored; 1 some check failed or errored; 2 the target
could not be loaded or the command line is wrong (one line on stderr, no traceback).

Other parts of sanitykit add their commands (`grade`, `lr-find`, `activations`) to the
same `app` without editing this file: a module `sanitykit/front/cli_<name>.py`, or a
`cli.py` inside a subpackage of sanitykit/front/ (e.g. sanitykit/front/grading/cli.py),
does `from sanitykit.front.cli import app` and decorates its functions with
`@app.command("grade")`. `_register_command_modules()` at the bottom imports them.
Nothing heavy is imported at module level: numpy and the catalogue load inside commands.
"""
from __future__ import annotations

import enum
import importlib
import json
import pkgutil
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from sanitykit._version import __version__
from sanitykit.front.grading.limits import DEFAULT_CHECK_MEMORY_MB, MIN_MEMORY_MB

DEMO_ROOT = Path(__file__).resolve().parent.parent / "demo" / "assignment2"
# (module, function) of each --format; each renders a Report to a string.
RENDERERS = {
    "json": ("sanitykit.front.render.json_", "render_json"),
    "junit": ("sanitykit.front.render.junit", "render_junit"),
    "gradescope": ("sanitykit.front.render.gradescope", "render_gradescope"),
    "html": ("sanitykit.front.render.html", "render_html"),
}
TRY_YOUR_OWN = ("Now run it on your own code:  sanitykit check path/to/assignment2\n"
                "(a .py file, the cs231n/ folder or the folder holding it; "
                "see `sanitykit check --help`)")

app = typer.Typer(
    name="sanitykit",
    help="Gradient checks and sanity checks, with diagnoses, for numpy layers written by hand "
         "(CS231n assignment 2 style).",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish, PowerShell
    pretty_exceptions_enable=False,
)


class Format(str, enum.Enum):
    text = "text"
    json = "json"
    junit = "junit"
    gradescope = "gradescope"
    html = "html"


class ListFormat(str, enum.Enum):
    text = "text"
    json = "json"


def _stderr_console():
    from rich.console import Console

    # Bound to the stream now: while a check runs, sys.stderr is the capture buffer.
    return Console(file=sys.stderr)


def fail(reason: str) -> typer.Exit:
    """Print the one-line reason on stderr and return the exit to raise (code 2).

    The reason may quote a student's file name or exception: its control characters are spelled out.
    """
    from sanitykit.front.render.text import printable

    typer.echo(f"sanitykit: {printable(reason)}", err=True)
    return typer.Exit(2)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"sanitykit {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Gradient checks and sanity checks, with diagnoses, for numpy layers written by hand."""


# ---------------------------------------------------------------- helpers of the commands

def parse_name_map(items: list[str]) -> dict[str, str]:
    """--map NAME=OTHER items -> dict; typer.BadParameter (exit 2) when malformed."""
    from sanitykit.front.loading import parse_map_items

    try:
        return parse_map_items(items)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--map") from None


def check_only(only: list[str], suites: list[str]) -> None:
    """An --only that matches no check of the chosen suites is a mistake, not an empty success."""
    from sanitykit.checks.registry import catalogue
    from sanitykit.front.runner import select

    if only and not select(catalogue(tuple(suites) or None), only):
        raise typer.BadParameter(f"{', '.join(repr(g) for g in only)} matches no check"
                                 f"{' of ' + ', '.join(suites) if suites else ''}; `sanitykit list` "
                                 "shows the ids", param_hint="--only")


def check_suites(suites: list[str]) -> None:
    from sanitykit.checks.registry import SUITES

    unknown = [s for s in suites if s not in SUITES]
    if unknown:
        raise typer.BadParameter(f"unknown suite {unknown[0]!r}; choose from {', '.join(SUITES)}",
                                 param_hint="--suite")


def render(report, fmt: str) -> str:
    """The report in `fmt` (json, junit, gradescope, or plain text at 100 columns)."""
    if fmt == "text":
        try:
            from sanitykit.front.render.text import render_text
        except ImportError:
            return _plain_fallback(report)
        return render_text(report, width=100)
    module_name, function_name = RENDERERS[fmt]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        if fmt == "json":
            return json.dumps(report.to_dict(), indent=2) + "\n"
        raise fail(f"--format {fmt} is not available in this version") from None
    return getattr(module, function_name)(report)


def _plain_fallback(report) -> str:
    lines = [f"{r.status:5}  {r.id}  {r.message.splitlines()[0] if r.message else ''}" for r in report.checks]
    s = report.summary
    lines.append(", ".join(f"{n} {k}" for k, n in s.items()))
    return "\n".join(lines) + "\n"


def show_in_terminal(report) -> None:
    """The rich report on stdout (plain when not a TTY or with NO_COLOR)."""
    from rich.console import Console

    try:
        import sanitykit.front.render.text  # noqa: F401  (Report.__rich_console__ needs it)
    except ImportError:
        typer.echo(_plain_fallback(report), nl=False)
        return
    Console(file=sys.stdout).print(report)


def emit(report, fmt: str, output: Optional[Path]) -> None:
    """Write the report: to `output` when given (a summary line on stderr), else to stdout."""
    if output is not None:
        try:
            output.write_text(render(report, fmt), encoding="utf-8")
        except OSError as exc:
            raise fail(f"cannot write {output}: {exc.strerror or exc}") from None
        s = report.summary
        typer.echo(f"sanitykit: wrote {fmt} report to {output} ({s['pass']} passed, {s['fail']} failed, "
                   f"{s['error']} errors)", err=True)
    elif fmt == "text":
        show_in_terminal(report)
    else:
        sys.stdout.write(render(report, fmt))
        sys.stdout.flush()


def run_with_progress(target, **options):
    """sanitykit.front.runner.check with a spinner on stderr when stderr is a terminal."""
    from sanitykit.front.runner import check

    console = _stderr_console()
    if not console.is_terminal:
        return check(target, **options)
    with console.status("loading the target ...") as status:
        def progress(done, total, result):
            status.update(f"checked {done}/{total}  {result.id}")
        return check(target, progress=progress, **options)


def run_check(target, *, suites, only, seed, timeout, name_map, isolation="worker", memory_mb=None):
    """Load and check `target`; a target that cannot be loaded ends the command with exit 2."""
    from sanitykit.front.loading import TargetError

    try:
        return run_with_progress(target, suites=suites or None, only=only or None, seed=seed,
                                 timeout=timeout, name_map=name_map or None, isolation=isolation,
                                 memory_mb=memory_mb)
    except TargetError as exc:
        raise fail(str(exc)) from None


def run_on_starter(starter: Path, target: str, **options):
    """run_check on `target` laid over the course's starter files; `loading.starter` says which came from it."""
    from sanitykit.front.starter import StarterError, laid_with_starter

    if not Path(target).exists():
        raise fail(f"{target}: with --starter, give your folder or .py file")
    try:
        with laid_with_starter(starter, Path(target)) as (laid, layering):
            report = run_check(str(laid), **options)
    except StarterError as exc:
        raise fail(str(exc)) from None
    report.target = target
    report.loading["starter"] = layering.to_dict()
    return report


# ---------------------------------------------------------------- commands

SuiteOption = Annotated[list[str], typer.Option("--suite", "-s", metavar="SUITE",
                        help="Run only this suite (layers, losses, optim, models, training; assignment 1's "
                             "linear, knn; assignment 3's rnn); repeatable. "
                             "Default: every suite.")]
SeedOption = Annotated[int, typer.Option("--seed", help="Seed of every check's random inputs.")]


@app.command("check")
def check_command(
    target: Annotated[str, typer.Argument(
        help="A .py file, a folder (an assignment root holding cs231n/, the cs231n/ package, "
             "or any folder of modules), or an importable dotted module name.")],
    suite: SuiteOption = [],  # noqa: B006 - typer reads the default, never mutates it
    only: Annotated[list[str], typer.Option("--only", metavar="GLOB",
                    help="Run only checks whose id matches this glob, e.g. 'layers.affine.*'; repeatable.")] = [],  # noqa: B006
    format: Annotated[Format, typer.Option("--format", "-f", help="Report format.")] = Format.text,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", metavar="FILE",
                      help="Write the report to FILE instead of stdout.")] = None,
    seed: SeedOption = 0,
    timeout: Annotated[float, typer.Option("--timeout", metavar="SECONDS",
                       help="Time limit of one check, in seconds.")] = 30.0,
    map: Annotated[list[str], typer.Option("--map", metavar="NAME=OTHER",
                   help="Your name for a conventional one, e.g. affine_forward=my_affine; repeatable. "
                        "Also read from [tool.sanitykit.map] in a pyproject.toml beside the target.")] = [],  # noqa: B006
    starter: Annotated[Optional[Path], typer.Option("--starter", metavar="DIR",
                       help="The course's starter files, laid first; your files go on top "
                            "(for an upload of only the files you edited).")] = None,
    memory: Annotated[int, typer.Option("--memory", metavar="MB",
                      help="Memory limit of the process running your code, in MB.")] = DEFAULT_CHECK_MEMORY_MB,
    in_process: Annotated[bool, typer.Option("--in-process",
                          help="Run your code in this process, not in a supervised worker: for "
                               "debugging with pdb or breakpoint(); no memory limit, and a hang or "
                               "a crash of your code can stop the whole run.")] = False,
) -> None:
    """Run the diagnostic suite against your code and report each check with a diagnosis.

    Your code runs in a separate, limited process, against a private copy of your files:
    a check that hangs or crashes costs that check only. Exit code 0 when no check failed
    or errored, 1 when some did, 2 when the target cannot be loaded or the command line is
    wrong, 130 when interrupted (Ctrl-C; the partial report is still written).
    """
    name_map = parse_name_map(map)
    check_suites(suite)
    check_only(only, suite)
    if timeout <= 0:
        raise typer.BadParameter("must be a positive number of seconds", param_hint="--timeout")
    if memory < MIN_MEMORY_MB:
        raise typer.BadParameter(f"at least {MIN_MEMORY_MB} MB are needed to start Python and numpy",
                                 param_hint="--memory")
    # Resolved before any student code runs: an os.chdir in it must not move the report.
    output = output.absolute() if output is not None else None
    options = dict(suites=suite, only=only, seed=seed, timeout=timeout, name_map=name_map,
                   isolation="in-process" if in_process else "worker", memory_mb=memory)
    report = run_check(target, **options) if starter is None else run_on_starter(starter, target, **options)
    emit(report, format.value, output)
    raise typer.Exit(report.exit_code)


@app.command("list")
def list_command(
    suite: SuiteOption = [],  # noqa: B006
    format: Annotated[ListFormat, typer.Option("--format", "-f", help="text (a table) or json.")] = ListFormat.text,
    patterns: Annotated[bool, typer.Option("--patterns", help="Print the vocabulary of diagnosed mistakes "
                        "(the `diagnosis.pattern` of the JSON report) instead of the checks.")] = False,
) -> None:
    """Print the check catalogue: id, subject, title. Imports no student code."""
    if patterns:
        list_patterns(format)
        return
    from sanitykit.checks.registry import catalogue

    check_suites(suite)
    specs = catalogue(tuple(suite) or None)
    if format is ListFormat.json:
        typer.echo(json.dumps([spec.to_dict() for spec in specs], indent=2))
        return
    print_table(("id", "subject", "title"), [(s.id, s.subject, s.title) for s in specs], f"{len(specs)} checks")


def list_patterns(format: ListFormat) -> None:
    """The pattern vocabulary, one line each: tag and meaning (JSON: a list of {pattern, meaning})."""
    from sanitykit.engine.patterns import PATTERNS

    if format is ListFormat.json:
        typer.echo(json.dumps([{"pattern": tag, "meaning": meaning} for tag, meaning in PATTERNS.items()],
                              indent=2))
        return
    print_table(("pattern", "meaning"), list(PATTERNS.items()), f"{len(PATTERNS)} patterns")


def print_table(columns: tuple[str, ...], rows: list[tuple[str, ...]], footer: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(*columns, box=None, pad_edge=False, show_edge=False)
    for row in rows:
        table.add_row(*row)
    console = Console(file=sys.stdout)
    console.print(table)
    console.print(footer)


@app.command("demo")
def demo_command(
    suite: SuiteOption = [],  # noqa: B006
    format: Annotated[Format, typer.Option("--format", "-f", help="Report format.")] = Format.text,
    seed: SeedOption = 0,
    assignment: Annotated[int, typer.Option(
        "--assignment", "-a", min=1, max=3,
        help="Which course assignment: 1 (linear classifiers, kNN), 2 (layers, nets; default), "
             "3 (RNN, LSTM, captioning).")] = 2,
) -> None:
    """Run the whole suite on a bundled example assignment that has a handful of realistic bugs.

    Exits 0 when the demonstration ran, even though the example's checks fail: the
    failures are the point. Then run it on your own code: sanitykit check path/to/assignment2
    """
    check_suites(suite)
    root = DEMO_ROOT.parent / f"assignment{assignment}"
    report = run_check(str(root), suites=suite, only=[], seed=seed, timeout=30.0, name_map={})
    emit(report, format.value, None)
    # The next step goes to stderr when stdout carries a machine-readable report.
    typer.echo("\n" + TRY_YOUR_OWN.replace("assignment2", root.name), err=format is not Format.text)


def main() -> None:
    """Console-script entry point (pyproject.toml: sanitykit = sanitykit.front.cli:main)."""
    app()


# ---------------------------------------------------------------- commands of other parts

def _command_modules() -> list[str]:
    """sanitykit/front/cli_*.py and sanitykit/front/<subpackage>/cli.py, by module name."""
    front = Path(__file__).resolve().parent
    names = [f"sanitykit.front.{info.name}" for info in pkgutil.iter_modules([str(front)])
             if info.name.startswith("cli_")]
    for info in pkgutil.iter_modules([str(front)]):
        if info.ispkg and (front / info.name / "cli.py").is_file():
            names.append(f"sanitykit.front.{info.name}.cli")
    return sorted(names)


def _register_command_modules() -> None:
    # Importing a command module runs its @app.command() decorators. A module that is
    # present but broken raises here on purpose: a silently missing `grade` is worse.
    for name in _command_modules():
        importlib.import_module(name)


_register_command_modules()
