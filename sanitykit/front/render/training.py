"""Rich views of the training diagnostics (sanitykit.front.diagnostics): tables and charts.

Built at the last moment from the result objects, at the width rich gives (`options.max_width`),
styled by theme name; the terminal (`lr-find`, `activations`) and a notebook show the same.
"""
from __future__ import annotations

import math
from typing import Any, Iterator

from sanitykit.engine.theme import resolve
from sanitykit.front.render.charts import Series, chart

VERDICT_STYLE = {"no progress": "sanitykit.warn", "progress": "sanitykit.pass", "diverged": "sanitykit.fail"}
CHART_HEIGHT = 12


def bar(value: float, scale: float, width: int = 24) -> str:
    """A horizontal bar of value / scale, at most width characters; '>' when it overflows."""
    if not math.isfinite(value):
        return "!" * 3
    cells = value / scale * width if scale > 0 else 0.0
    return "█" * min(int(round(cells)), width) + (">" if cells > width else "")


# ---------------------------------------------------------------- learning rate

def lr_series(result: Any) -> list[Series]:
    """Final loss against learning rate per seed; a diverged run is drawn at 3x its initial loss."""
    series = []
    for seed, bracket in result.brackets.items():
        losses = [r.final_loss if r.verdict != "diverged" else 3 * r.initial_loss for r in bracket.runs]
        series.append(Series(f"seed {seed}", [r.learning_rate for r in bracket.runs], losses, lines=True))
    return series


def lr_find_renderables(result: Any, console: Any, options: Any) -> Iterator[Any]:
    """The first seed's runs as a table, the chart of every seed, then the bracket and how sure it is."""
    from rich.table import Table
    from rich.text import Text

    from sanitykit.engine.training import sparkline

    yield Text(f"{result.rule}: {result.setting}", style=resolve(console, "sanitykit.header"))
    if result.problem:
        yield Text(result.problem, style=resolve(console, "sanitykit.error"))
        return
    first = next(iter(result.brackets.values()), None)
    if first is not None:
        table = Table("learning rate", "verdict", "loss: first -> last", "curve", box=None)
        for run in first.runs:
            table.add_row(f"{run.learning_rate:.2e}", Text(run.verdict, style=resolve(console, VERDICT_STYLE[run.verdict])),
                          f"{run.initial_loss:.3g} -> {run.losses[-1]:.3g}",
                          sparkline(run.losses, width=25, ascii_only=options.ascii_only))
        yield table
    yield Text(chart(lr_series(result), width=options.max_width, height=CHART_HEIGHT, x_log=True,
                     title="final loss (diverged: 3x the initial loss) against learning rate, log scale",
                     ascii_only=options.ascii_only))
    yield lr_summary(result, console)


def lr_summary(result: Any, console: Any) -> Any:
    from rich.text import Text

    if result.upper is None:
        return Text("no learning rate from 1e-7 to 1e1 made progress: check the gradients "
                    "(sanitykit check TARGET --suite models)", style=resolve(console, "sanitykit.fail"))
    low, high = result.recommended
    return Text(f"bracket: [{result.lower:.2g}, {result.upper:.2g}]   recommended start: {low:.2g} .. {high:.2g} "
                f"(suggested {result.suggested:.2g}; confidence {result.confidence}: {len(result.found)} of "
                f"{len(result.brackets)} seeds, upper edges within {result.spread_decades:.2f} decades)",
                style=resolve(console, "sanitykit.header"))


# ---------------------------------------------------------------- activations

def profile_view(title: str, stats: list, regime: str, expected: str | None, nonlinearity: str,
                 console: Any) -> Any:
    """Per-layer table: mean, std with a bar, and the dead-ReLU or saturated-tanh fraction."""
    from rich.table import Table
    from rich.text import Text

    scale = max((s.std for s in stats if math.isfinite(s.std)), default=1.0) or 1.0
    verdict = regime if expected is None else f"{regime} (expected {expected})"
    style = resolve(console, "sanitykit.pass" if expected in (None, regime) else "sanitykit.fail")
    tanh = nonlinearity == "tanh"
    table = Table("layer", "mean", "std", "", "saturated (|out| > 0.99)" if tanh else "dead units",
                  box=None, title=Text.assemble(title + ": ", (verdict, style)), title_justify="left")
    for s in stats:
        table.add_row(str(s.layer), f"{s.mean:+.3g}", f"{s.std:.3g}", bar(s.std, scale),
                      f"{s.saturated_fraction if tanh else s.dead_fraction:.0%}")
    return table


def activations_renderables(result: Any, console: Any, options: Any) -> Iterator[Any]:
    """The std across depth of every stack as one chart, then a table per stack and per net."""
    from rich.text import Text

    tanh_note = " (reference tanh_forward: none in the target)" if result.reference_tanh else ""
    yield Text(f"Deep stack of your affine_forward + relu/tanh: {result.layers} layers x {result.units} units, "
               f"unit-Gaussian input{tanh_note}", style=resolve(console, "sanitykit.header"))
    if result.problem:
        yield Text(result.problem, style=resolve(console, "sanitykit.error"))
        return
    series = [Series(f"{p.nonlinearity}/{p.init}", [s.layer for s in p.stats], [s.std for s in p.stats], lines=True)
              for p in result.profiles]
    yield Text(chart(series, width=options.max_width, height=CHART_HEIGHT, y_log=True,
                     title="activation std by layer (log scale)", ascii_only=options.ascii_only))
    for p in result.profiles:
        yield Text("")
        yield profile_view(f"{p.nonlinearity}, {p.init} init", p.stats, p.regime, p.expected, p.nonlinearity, console)
    for title, stats, regime in result.net_profiles:
        yield Text("")
        yield profile_view(title, stats, regime, "holds", "relu", console)


# ---------------------------------------------------------------- overfitting

def overfit_renderables(result: Any, console: Any, options: Any) -> Iterator[Any]:
    """The verdict line and the loss curve."""
    from rich.text import Text

    head = (f"overfit {result.examples} examples: {result.iters} full-batch {result.rule} steps, "
            f"learning rate {result.learning_rate:g}")
    yield Text(head, style=resolve(console, "sanitykit.header"))
    if result.problem:
        yield Text(result.problem, style=resolve(console, "sanitykit.error"))
        return
    if result.losses:
        yield Text(chart([Series("loss", list(range(len(result.losses))), result.losses, lines=True)],
                         width=options.max_width, height=CHART_HEIGHT, title="loss by step",
                         ascii_only=options.ascii_only))
    verdict = "memorised" if result.ok else "did not memorise"
    yield Text(f"training accuracy {result.train_acc:.0%}: {verdict} "
               f"(a correct network reaches 100% on so few examples)",
               style=resolve(console, "sanitykit.pass" if result.ok else "sanitykit.fail"))
