"""`sanitykit lr-find TARGET` and `sanitykit activations TARGET`: training pictures in the terminal.

Thin commands: load the target, run the computations of sanitykit.engine.training on the
user's FullyConnectedNet and layers, and draw them with rich (loss against learning rate,
loss sparklines, per-layer activation tables with bars). Synthetic data by default;
`--data file.npz` (X_train, y_train, X_val, y_val) for the user's own.
"""
from __future__ import annotations

import contextlib
import math
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from sanitykit.front.cli import app, fail

DATA_KEYS = ("X_train", "y_train", "X_val", "y_val")
RULES = ("sgd", "sgd_momentum", "rmsprop", "adam")
VERDICT_STYLE = {"no progress": "yellow", "progress": "green", "diverged": "red"}
PLOT_MARK = {"no progress": "o", "progress": "*", "diverged": "x"}

DataOption = Annotated[Optional[Path], typer.Option(
    "--data", metavar="FILE.npz",
    help="Your data: an .npz with X_train, y_train, X_val, y_val. Default: synthetic blobs (D=16, C=5).")]
SeedOption = Annotated[int, typer.Option("--seed", help="Seed of the data, weights and minibatches.")]
TargetArgument = Annotated[str, typer.Argument(
    help="A .py file, a folder (assignment root or cs231n/), or a dotted module name.")]


# ---------------------------------------------------------------- loading

def load_data(path: Optional[Path], seed: int) -> dict[str, Any]:
    """The data dict: from an .npz (inputs flattened to (N, D), float64) or synthetic blobs.

    Args:
        path: .npz file or None.
        seed: seed of the synthetic data.
    """
    import numpy as np

    if path is None:
        from sanitykit.checks.training import problem

        return problem(seed)
    try:
        with np.load(path) as archive:
            missing = [k for k in DATA_KEYS if k not in archive.files]
            if missing:
                raise fail(f"--data {path}: missing {', '.join(missing)} (needs {', '.join(DATA_KEYS)})")
            data = {k: archive[k] for k in DATA_KEYS}
    except (OSError, ValueError) as exc:
        raise fail(f"--data {path}: cannot read it as .npz ({exc})") from None
    for split in ("train", "val"):
        X = np.asarray(data[f"X_{split}"], dtype=np.float64)
        data[f"X_{split}"] = X.reshape(len(X), -1)
        data[f"y_{split}"] = np.asarray(data[f"y_{split}"]).astype(np.int64)
    return data


def load(target: str) -> Any:
    """The loaded target; exit 2 with one line when it cannot be loaded."""
    from sanitykit.front.loading import TargetError, load_target

    try:
        return load_target(target)
    except TargetError as exc:
        raise fail(str(exc)) from None


@contextlib.contextmanager
def user_code_boundary(loaded: Any):
    """Let the user's modules import each other; a failure in their code ends with exit 1."""
    from sanitykit.engine.usercode import NotImplementedYet, UserCodeError

    activate = getattr(loaded, "imports_active", None)
    try:
        with activate() if activate else contextlib.nullcontext():
            yield
    except (UserCodeError, NotImplementedYet) as exc:
        typer.echo(f"sanitykit: {exc}", err=True)
        raise typer.Exit(1) from None


def require(loaded: Any, name: str) -> Any:
    obj = loaded.get(name)
    if obj is None:
        raise fail(f"no {name} in {getattr(loaded, 'name', 'the target')}")
    return obj


def _console():
    from rich.console import Console

    return Console(file=sys.stdout)


# ---------------------------------------------------------------- views (pure: data in, renderables out)

def lr_plot(runs: list, *, width: int = 60, height: int = 12, ascii_only: bool = False) -> str:
    """Final loss against learning rate (log x axis) as text; diverged runs sit on the top row.

    Args:
        runs: TrainRun objects (learning_rate, final_loss, verdict).
        width, height: plot area in characters.
        ascii_only: plain ASCII frame.
    """
    if not runs:
        return ""
    logs = [math.log10(r.learning_rate) for r in runs]
    lo_x, hi_x = min(logs), max(logs)
    finite = [r.final_loss for r in runs if r.verdict != "diverged" and math.isfinite(r.final_loss)]
    top = max(finite + [runs[0].initial_loss]) if finite else 1.0
    bottom = min(finite) if finite else 0.0
    span = (top - bottom) or 1.0
    grid = [[" "] * width for _ in range(height)]
    for r, x in zip(runs, logs):
        col = round((x - lo_x) / ((hi_x - lo_x) or 1.0) * (width - 1))
        if r.verdict == "diverged" or not math.isfinite(r.final_loss):
            row = 0
        else:
            row = height - 1 - round((r.final_loss - bottom) / span * (height - 1))
        grid[min(max(row, 0), height - 1)][col] = PLOT_MARK[r.verdict]
    bar = "|" if ascii_only else "│"
    lines = []
    for i, row in enumerate(grid):
        label = f"{top:8.3g}" if i == 0 else f"{bottom:8.3g}" if i == height - 1 else " " * 8
        lines.append(f"{label} {bar}" + "".join(row))
    lines.append(" " * 9 + ("+" if ascii_only else "└") + ("-" if ascii_only else "─") * width)
    lines.append(" " * 10 + f"{10 ** lo_x:<.0e}".ljust(width - 6) + f"{10 ** hi_x:.0e}")
    lines.append(" " * 10 + "learning rate (log scale)   * progress   o no progress   x diverged (or > 3x initial)")
    return "\n".join(lines)


def bracket_view(bracket: Any, rule: str, setting: str) -> Any:
    """Table of every rate tried, the plot, and the bracket with a recommended start."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from sanitykit.engine.training import sparkline

    table = Table("learning rate", "verdict", "loss: first -> last", "curve", box=None,
                  title=f"{rule}: {setting}", title_justify="left")
    for run in bracket.runs:
        table.add_row(f"{run.learning_rate:.2e}", Text(run.verdict, style=VERDICT_STYLE[run.verdict]),
                      f"{run.initial_loss:.3g} -> {run.losses[-1]:.3g}", sparkline(run.losses, width=25))
    if bracket.upper is None:
        summary = Text("no learning rate from 1e-7 to 1e1 made progress: check the gradients "
                       "(sanitykit check TARGET --suite models)", style="red")
    else:
        low, high = bracket.recommended
        summary = Text(f"bracket: [{bracket.lower:.2g}, {bracket.upper:.2g}]   "
                       f"recommended start: {low:.2g} .. {high:.2g}", style="bold")
    return Group(table, Text(""), Text(lr_plot(bracket.runs)), Text(""), summary)


def search_view(trials: list) -> Any:
    """Coarse-to-fine trials, best validation accuracy first."""
    from rich.table import Table

    table = Table("stage", "learning rate", "reg", "train acc", "val acc", box=None,
                  title="coarse-to-fine search (log-uniform samples)", title_justify="left")
    for trial in trials:
        table.add_row(trial.stage, f"{trial.hyperparams['learning_rate']:.2e}",
                      f"{trial.hyperparams['reg']:.2e}", f"{trial.train_acc:.1%}", f"{trial.val_acc:.1%}")
    return table


def bar(value: float, scale: float, width: int = 24) -> str:
    """A horizontal bar of value / scale, at most width characters; '>' when it overflows."""
    if not math.isfinite(value):
        return "!" * 3
    cells = value / scale * width if scale > 0 else 0.0
    return "█" * min(int(round(cells)), width) + (">" if cells > width else "")


def profile_view(title: str, stats: list, regime: str, expected: Optional[str] = None,
                 nonlinearity: str = "relu") -> Any:
    """Per-layer table: mean, std with a bar, and the dead-ReLU or saturated-tanh fraction."""
    from rich.table import Table
    from rich.text import Text

    scale = max((s.std for s in stats if math.isfinite(s.std)), default=1.0) or 1.0
    verdict = regime if expected is None else f"{regime} (expected {expected})"
    style = "green" if expected in (None, regime) else "red"
    tanh = nonlinearity == "tanh"
    table = Table("layer", "mean", "std", "", "saturated (|out| > 0.99)" if tanh else "dead units",
                  box=None, title=Text.assemble(title + ": ", (verdict, style)), title_justify="left")
    for s in stats:
        table.add_row(str(s.layer), f"{s.mean:+.3g}", f"{s.std:.3g}", bar(s.std, scale),
                      f"{s.saturated_fraction if tanh else s.dead_fraction:.0%}")
    return table


# ---------------------------------------------------------------- commands

@app.command("lr-find")
def lr_find_command(
    target: TargetArgument,
    data: DataOption = None,
    rule: Annotated[str, typer.Option("--rule", help=f"Update rule: {', '.join(RULES)} (yours when "
                                      "the target has it, else the reference).")] = "sgd",
    iters: Annotated[int, typer.Option("--iters", help="Full-batch steps per learning rate.")] = 25,
    examples: Annotated[int, typer.Option("--examples", help="Training examples used per run.")] = 100,
    search: Annotated[bool, typer.Option("--search", help="Then a coarse-to-fine random search of "
                                         "learning rate and reg with the reference Solver.")] = False,
    seed: SeedOption = 0,
) -> None:
    """Bracket the learning rate of your FullyConnectedNet: 1e-7 .. 1e1, binary search of both edges."""
    if rule not in RULES:
        raise typer.BadParameter(f"choose one of {', '.join(RULES)}", param_hint="--rule")
    if iters < 2 or examples < 2:
        raise typer.BadParameter("must be at least 2", param_hint="--iters/--examples")
    import sanitykit.reference as reference
    from sanitykit.engine import training as tr

    loaded = load(target)
    dataset = load_data(data, seed)
    cls = require(loaded, "FullyConnectedNet")
    update_rule = loaded.get(rule) or getattr(reference, rule)
    whose = "yours" if loaded.get(rule) is not None else "reference"
    X, y = dataset["X_train"][:examples], dataset["y_train"][:examples]
    dims = dict(input_dim=X.reshape(len(X), -1).shape[1], num_classes=int(dataset["y_train"].max()) + 1)
    console = _console()

    def run_at(lr: float) -> tr.TrainRun:
        model = tr.build_fc_net(cls, (50, 50), dims["input_dim"], dims["num_classes"],
                                weight_scale=5e-2, seed=seed)
        return tr.train_run(model, X.reshape(len(X), -1), y, update_rule=update_rule,
                            learning_rate=lr, num_iters=iters, rule_name=rule)

    with user_code_boundary(loaded), _progress(console, "bracketing learning rates") as advance:
        bracket = tr.bracket_learning_rate(run_at, on_run=lambda run: advance(f"lr {run.learning_rate:.1e}"))
    setting = f"{whose} {rule}, {iters} full-batch steps on {len(y)} examples, hidden (50, 50)"
    console.print(bracket_view(bracket, rule, setting))
    if search:
        with user_code_boundary(loaded):
            trials = _search(cls, dataset, dims, bracket, seed, console)
        console.print(search_view(trials))
    raise typer.Exit(0 if bracket.upper is not None else 1)


def _search(cls: Any, dataset: dict, dims: dict, bracket: Any, seed: int, console: Any) -> list:
    """Coarse-to-fine search of learning rate and reg, around the bracket when there is one."""
    import numpy as np

    import sanitykit.reference as reference
    from sanitykit.engine import training as tr

    lr_range = (bracket.lower, bracket.upper) if bracket.upper else (1e-4, 1e0)

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
    """A rich progress bar on a terminal (yields advance(label)); nothing otherwise."""
    if not console.is_terminal:
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
) -> None:
    """Per-layer activation statistics of a deep stack of your layers for each init, and of your net."""
    if layers < 2 or units < 2:
        raise typer.BadParameter("must be at least 2", param_hint="--layers/--units")
    import sanitykit.reference as reference
    from sanitykit.checks import training as checks

    loaded = load(target)
    dataset = load_data(data, seed)
    affine, relu = require(loaded, "affine_forward"), require(loaded, "relu_forward")
    tanh = loaded.get("tanh_forward") or reference.tanh_forward
    console = _console()
    with user_code_boundary(loaded):
        profiles = checks.depth_profiles(affine, relu, tanh, seed, num_layers=layers, hidden_dim=units)
        net_profiles = _net_profiles(loaded, dataset, seed) if loaded.get("FullyConnectedNet") else []
    tanh_note = "" if loaded.get("tanh_forward") else " (reference tanh_forward: none in the target)"
    console.print(f"[bold]Deep stack of your affine_forward + relu/tanh: {layers} layers x {units} units, "
                  f"unit-Gaussian input{tanh_note}[/bold]\n")
    for p in profiles:
        console.print(profile_view(f"{p.nonlinearity}, {p.init} init", p.stats, p.regime, p.expected,
                                   p.nonlinearity))
        console.print()
    for title, stats, regime in net_profiles:
        console.print(profile_view(title, stats, regime, "holds"))
        console.print()
    wrong = [p for p in profiles if p.expected and p.regime != p.expected]
    wrong += [n for n in net_profiles if n[2] != "holds"]
    raise typer.Exit(1 if wrong else 0)


def _net_profiles(loaded: Any, dataset: dict, seed: int) -> list[tuple[str, list, str]]:
    """Hidden-layer statistics of the user's FullyConnectedNet on the data (He scale; batchnorm)."""
    import numpy as np

    from sanitykit.checks import training as checks
    from sanitykit.checks.registry import CheckContext
    from sanitykit.engine import training as tr

    ctx = CheckContext(loaded, seed=seed)
    X = dataset["X_train"][:200].reshape(min(200, len(dataset["X_train"])), -1)
    y = dataset["y_train"][:200]
    width, depth = 100, 5
    settings = [(None, math.sqrt(2 / width))]
    if checks.accepts_batchnorm(ctx.fn("FullyConnectedNet")):
        settings.append(("batchnorm", 1e-2))
    profiles = []
    for normalization, scale in settings:
        model = tr.build_fc_net(ctx.fn("FullyConnectedNet"), (width,) * depth, X.shape[1],
                                int(dataset["y_train"].max()) + 1, weight_scale=scale,
                                normalization=normalization, seed=seed)
        activations, _ = checks.record_forward(ctx, model, np.asarray(X, dtype=np.float64), y)
        stats = [tr.layer_stats(i + 1, a) for i, a in enumerate(activations)]
        if stats:
            title = (f"your FullyConnectedNet, {normalization or 'no normalisation'}, "
                     f"weight_scale {scale:.2g}, {depth} x {width} hidden")
            profiles.append((title, stats, tr.depth_regime(stats)))
    return profiles
