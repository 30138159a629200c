"""`sanitykit lr-find TARGET` and `sanitykit activations TARGET`: training pictures in the terminal.

Thin commands: parse, call the Python API of sanitykit.front.diagnostics (`sk.lr_find`,
`sk.activations`) on the user's FullyConnectedNet and layers, then show the result (its rich
view: tables and a chart at the terminal's width), or print it as JSON (`--format json`), and
draw it to a PNG (`--plot FILE.png`, matplotlib). Synthetic data by default; `--data file.npz`
(X_train, y_train, X_val, y_val) for the user's own.
"""
from __future__ import annotations

import contextlib
import enum
import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from sanitykit.front.cli import app, fail

RULES = ("sgd", "sgd_momentum", "rmsprop", "adam")

DataOption = Annotated[Optional[Path], typer.Option(
    "--data", metavar="FILE.npz",
    help="Your data: an .npz with X_train, y_train, X_val, y_val. Default: synthetic blobs (D=16, C=5).")]
SeedOption = Annotated[int, typer.Option("--seed", help="Seed of the data, weights and minibatches.")]
TargetArgument = Annotated[str, typer.Argument(
    help="A .py file, a folder (assignment root or cs231n/), or a dotted module name.")]
PlotOption = Annotated[Optional[Path], typer.Option(
    "--plot", metavar="FILE.png", help="Also draw the figure to FILE.png (needs matplotlib: "
    "pip install 'sanitykit[plot]').")]


class Format(str, enum.Enum):
    text = "text"
    json = "json"


FormatOption = Annotated[Format, typer.Option("--format", "-f", help="text (tables and a chart) or json.")]


def _console():
    from rich.console import Console

    return Console(file=sys.stdout)


def computed(compute: Any, *args: Any, **kwargs: Any) -> Any:
    """compute(*args, **kwargs); a target that cannot be loaded or lacks a name, bad data: exit 2."""
    from sanitykit.front.target import TargetError

    try:
        return compute(*args, **kwargs)
    except (TargetError, LookupError, ValueError) as exc:
        raise fail(str(exc).strip("'\"")) from None


def show(result: Any, fmt: Format, plot: Optional[Path]) -> None:
    """The result as text or JSON on stdout; its figure to `plot`; the user's error on stderr."""
    if fmt is Format.json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        _console().print(result)
    if result.problem:
        typer.echo(f"sanitykit: {result.problem}", err=True)
        raise typer.Exit(1)
    if plot is not None:
        try:
            result.plot(plot)
        except ImportError as exc:
            raise fail(str(exc)) from None
        except OSError as exc:
            raise fail(f"cannot write {plot}: {exc.strerror or exc}") from None
        typer.echo(f"sanitykit: drew {plot}", err=True)


# ---------------------------------------------------------------- commands

@app.command("lr-find")
def lr_find_command(
    target: TargetArgument,
    data: DataOption = None,
    rule: Annotated[str, typer.Option("--rule", help=f"Update rule: {', '.join(RULES)} (yours when "
                                      "the target has it, else the reference).")] = "sgd",
    iters: Annotated[int, typer.Option("--iters", help="Full-batch steps per learning rate.")] = 25,
    examples: Annotated[int, typer.Option("--examples", help="Training examples used per run.")] = 100,
    seeds: Annotated[int, typer.Option("--seeds", help="How many seeds (from --seed on) to bracket "
                                       "with: their agreement is the confidence.")] = 3,
    search: Annotated[bool, typer.Option("--search", help="Then a coarse-to-fine random search of "
                                         "learning rate and reg with the reference Solver.")] = False,
    seed: SeedOption = 0,
    format: FormatOption = Format.text,
    plot: PlotOption = None,
) -> None:
    """Bracket the learning rate of your FullyConnectedNet: 1e-7 .. 1e1, binary search of both edges."""
    from sanitykit.front.diagnostics import lr_find

    if rule not in RULES:
        raise typer.BadParameter(f"choose one of {', '.join(RULES)}", param_hint="--rule")
    if iters < 2 or examples < 2 or seeds < 1:
        raise typer.BadParameter("must be at least 2 (--seeds at least 1)", param_hint="--iters/--examples/--seeds")
    console = _console()
    with _progress(console if format is Format.text else None, "bracketing learning rates") as advance:
        result = computed(lr_find, target, data=data, rule=rule, iters=iters, examples=examples,
                          seeds=range(seed, seed + seeds),
                          on_run=lambda run: advance(f"lr {run.learning_rate:.1e}"))
    show(result, format, plot)
    if search and result.upper is not None:
        from sanitykit.front.diagnostics import training_data
        from sanitykit.front.runner import as_target

        loaded = as_target(target)
        with loaded.imports_active():
            trials = _search(loaded.get("FullyConnectedNet"), training_data(data, seed), (result.lower, result.upper),
                             seed, console)
        console.print(search_view(trials))
    raise typer.Exit(0 if result.upper is not None else 1)


def search_view(trials: list) -> Any:
    """Coarse-to-fine trials, best validation accuracy first."""
    from rich.table import Table

    table = Table("stage", "learning rate", "reg", "train acc", "val acc", box=None,
                  title="coarse-to-fine search (log-uniform samples)", title_justify="left")
    for trial in trials:
        table.add_row(trial.stage, f"{trial.hyperparams['learning_rate']:.2e}",
                      f"{trial.hyperparams['reg']:.2e}", f"{trial.train_acc:.1%}", f"{trial.val_acc:.1%}")
    return table


def _search(cls: Any, dataset: dict, lr_range: tuple[float, float], seed: int, console: Any) -> list:
    """Coarse-to-fine search of learning rate and reg within the bracket."""
    import numpy as np

    import sanitykit.reference as reference
    from sanitykit.engine import training as tr

    dims = dict(input_dim=dataset["X_train"].shape[1], num_classes=int(dataset["y_train"].max()) + 1)

    def train_and_score(hyperparams: dict, epochs: int) -> tuple[float, float]:
        model = tr.build_fc_net(cls, (50, 50), dims["input_dim"], dims["num_classes"],
                                weight_scale=5e-2, reg=hyperparams["reg"], seed=seed)
        solver = reference.Solver(model, dataset, update_rule="sgd",
                                  optim_config={"learning_rate": hyperparams["learning_rate"]},
                                  num_epochs=epochs, batch_size=50, verbose=False, seed=seed)
        with np.errstate(all="ignore"):
            solver.train()
        return (tr.accuracy(model, dataset["X_train"], dataset["y_train"]),
                tr.accuracy(model, dataset["X_val"], dataset["y_val"]))

    total = 16
    with _progress(console, "coarse-to-fine search", total=total) as advance:
        def scored(hyperparams: dict, epochs: int) -> tuple[float, float]:
            result = train_and_score(hyperparams, epochs)
            advance(f"lr {hyperparams['learning_rate']:.1e}")
            return result

        return tr.coarse_to_fine(scored, {"learning_rate": lr_range, "reg": (1e-5, 1e-1)},
                                 np.random.default_rng(seed), coarse_epochs=2, fine_epochs=5)


@contextlib.contextmanager
def _progress(console: Any, description: str, total: Optional[int] = None):
    """A rich progress bar on a terminal (yields advance(label)); nothing otherwise (or console None)."""
    if console is None or not console.is_terminal:
        yield lambda label: None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[label]}"),
                  TimeElapsedColumn(), console=console, transient=True) as progress:
        task = progress.add_task(description, total=total, label="")
        yield lambda label: progress.update(task, advance=1, label=label)


@app.command("activations")
def activations_command(
    target: TargetArgument,
    data: DataOption = None,
    layers: Annotated[int, typer.Option("--layers", help="Depth of the stack.")] = 10,
    units: Annotated[int, typer.Option("--units", help="Units per layer of the stack.")] = 500,
    seed: SeedOption = 0,
    format: FormatOption = Format.text,
    plot: PlotOption = None,
) -> None:
    """Per-layer activation statistics of a deep stack of your layers for each init, and of your net."""
    from sanitykit.front.diagnostics import activations

    if layers < 2 or units < 2:
        raise typer.BadParameter("must be at least 2", param_hint="--layers/--units")
    result = computed(activations, target, data=data, layers=layers, units=units, seed=seed)
    show(result, format, plot)
    raise typer.Exit(0 if result.ok else 1)
