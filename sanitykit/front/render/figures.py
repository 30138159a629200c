"""matplotlib figures of the training diagnostics: `.plot()` of each result and `--plot FILE.png`.

matplotlib is the optional extra `sanitykit[plot]`; it is imported here only, when a figure
is asked for, with the Agg backend when no display is set (a server, CI), so saving a PNG
needs no window system.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

INSTALL_HINT = "drawing needs matplotlib: pip install 'sanitykit[plot]'"
INIT_COLOURS = {"small": "tab:blue", "xavier": "tab:orange", "he": "tab:green"}


def pyplot() -> Any:
    """matplotlib.pyplot, on a headless backend when there is no display; ImportError naming the extra."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    if not os.environ.get("DISPLAY") and "MPLBACKEND" not in os.environ and not _in_notebook():
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _in_notebook() -> bool:
    import sys

    return "ipykernel" in sys.modules


def saved(figure: Any, path: str | Path | None) -> Any:
    """`figure`, written to `path` first when one is given (the format from its suffix, e.g. .png)."""
    if path is not None:
        figure.savefig(path, dpi=100, bbox_inches="tight")
    return figure


def lr_find_figure(result: Any) -> Any:
    """Final loss against learning rate (log x) per seed; the bracket shaded, the suggested start marked."""
    from sanitykit.front.render.training import lr_series

    plt = pyplot()
    figure, axes = plt.subplots(figsize=(7, 4))
    for series in lr_series(result):
        axes.plot(series.xs, series.ys, marker="o", label=series.label)
    for bracket in result.brackets.values():
        diverged = [r for r in bracket.runs if r.verdict == "diverged"]
        axes.scatter([r.learning_rate for r in diverged], [3 * r.initial_loss for r in diverged],
                     marker="x", color="tab:red", zorder=3)
    if result.upper is not None:
        axes.axvspan(result.lower, result.upper, color="tab:green", alpha=0.12, label="bracket (median over seeds)")
        axes.axvline(result.suggested, color="tab:green", linestyle="--",
                     label=f"suggested start {result.suggested:.2g} (confidence {result.confidence})")
    axes.set_xscale("log")
    axes.set_xlabel("learning rate")
    axes.set_ylabel("final loss (x: diverged, drawn at 3x the initial loss)")
    axes.set_title(f"learning-rate bracket: {result.whose} {result.rule}, {result.iters} steps")
    axes.legend(fontsize="small")
    figure.tight_layout()
    return figure


def activations_figure(result: Any) -> Any:
    """Per-layer histograms of the activations, one row per (nonlinearity, init), one column per layer."""
    plt = pyplot()
    rows = [(key, hists) for key, hists in result.histograms.items() if hists]
    columns = max((len(h) for _, h in rows), default=1)
    figure, grid = plt.subplots(len(rows) or 1, columns, figsize=(1.6 * columns, 1.4 * max(len(rows), 1)),
                                squeeze=False, sharey="row")
    profiles = {(p.nonlinearity, p.init): p for p in result.profiles}
    for i, ((nonlinearity, init), hists) in enumerate(rows):
        profile = profiles.get((nonlinearity, init))
        for j, (counts, edges) in enumerate(hists):
            axes = grid[i][j]
            axes.stairs(counts, edges, fill=True, color=INIT_COLOURS.get(init, "tab:gray"))
            axes.set_yticks([])
            axes.tick_params(labelsize=6)
            if i == 0:
                axes.set_title(f"layer {j + 1}", fontsize=8)
        regime = f": {profile.regime}" if profile is not None else ""
        grid[i][0].set_ylabel(f"{nonlinearity}\n{init}{regime}", fontsize=8)
    figure.suptitle(f"activations of a {result.layers} x {result.units} stack of your layers, by init")
    figure.tight_layout()
    return figure


def overfit_figure(result: Any) -> Any:
    """The loss by step and the training accuracy by epoch."""
    plt = pyplot()
    figure, (loss_axes, acc_axes) = plt.subplots(1, 2, figsize=(9, 3.5))
    loss_axes.plot(result.losses)
    loss_axes.set_xlabel("step")
    loss_axes.set_ylabel("loss")
    loss_axes.set_title(f"overfitting {result.examples} examples ({result.rule}, lr {result.learning_rate:g})")
    acc_axes.plot(result.train_acc_history, marker=".")
    acc_axes.set_ylim(0, 1.05)
    acc_axes.set_xlabel("epoch")
    acc_axes.set_ylabel("training accuracy")
    figure.tight_layout()
    return figure
