"""Training diagnostics as a Python API: `sk.lr_find`, `sk.activations`, `sk.overfit`.

Each runs a computation of sanitykit.engine.training on the user's code (a path, a module,
a notebook's globals() or an object with the conventional names, as for `sk.check`) and
returns a result object: the figures as data (`to_dict()`, what `--format json` prints), a
rich view that a notebook shows as HTML, and `.plot()` drawing them with matplotlib (the
optional extra `sanitykit[plot]`). The CLI's `lr-find` and `activations` call these.
An error in the user's code does not raise: the result carries it as `problem`.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from sanitykit.engine import training as tr
from sanitykit.engine.notebook import NotebookDisplay
from sanitykit.engine.results import to_jsonable
from sanitykit.engine.usercode import NotImplementedYet, UserCodeError, describe_exception

DATA_KEYS = ("X_train", "y_train", "X_val", "y_val")
RULES = ("sgd", "sgd_momentum", "rmsprop", "adam")
DEFAULT_SEEDS = (0, 1, 2)
LR_HIDDEN, LR_WEIGHT_SCALE = (50, 50), 5e-2
HIST_BINS = 40
OVERFIT_ACCURACY = 0.99  # a correct network memorises a few dozen examples


# ---------------------------------------------------------------- inputs

def training_data(data: Any, seed: int = 0) -> dict[str, np.ndarray]:
    """The data dict: None for synthetic blobs (D=16, C=5), a dict, or an .npz path; ValueError if unusable.

    Args:
        data: None, a dict with X_train, y_train, X_val, y_val, or the path of an .npz holding them.
        seed: seed of the synthetic data.
    """
    if data is None:
        from sanitykit.checks.training import problem

        return problem(seed)
    if isinstance(data, (str, Path)):
        try:
            with np.load(data) as archive:
                data = {k: archive[k] for k in DATA_KEYS if k in archive.files}
        except (OSError, ValueError) as exc:
            raise ValueError(f"--data {data}: cannot read it as .npz ({exc})") from None
    missing = [k for k in DATA_KEYS if k not in data]
    if missing:
        raise ValueError(f"data: missing {', '.join(missing)} (needs {', '.join(DATA_KEYS)})")
    out = {}
    for split in ("train", "val"):
        X = np.asarray(data[f"X_{split}"], dtype=np.float64)
        out[f"X_{split}"], out[f"y_{split}"] = X.reshape(len(X), -1), np.asarray(data[f"y_{split}"]).astype(np.int64)
    return out


@contextlib.contextmanager
def user_code(target: Any, result: Any) -> Iterator[None]:
    """Let the user's modules import each other; an error in their code becomes `result.problem`."""
    try:
        with target.imports_active():
            yield
    except (UserCodeError, NotImplementedYet) as exc:
        result.problem = str(exc)
    except Exception as exc:  # noqa: BLE001 - the user's model raised inside the reference Solver
        result.problem = f"your code raised {describe_exception(exc)}"


def required(target: Any, name: str) -> Any:
    obj = target.get(name)
    if obj is None:
        raise LookupError(f"no {name} in {getattr(target, 'name', 'the target')}")
    return obj


def _geometric_median(values: Sequence[float]) -> float:
    return float(10 ** np.median(np.log10(values)))


# ---------------------------------------------------------------- learning rate

@dataclass
class LrFindResult(NotebookDisplay):
    """The learning-rate bracket of the user's FullyConnectedNet, found again for each seed.

    `lower` / `upper` are the (geometric) medians of the seeds' edges; `confidence` says how
    well the seeds agree on the upper edge, the one that matters (divergence).
    """

    rule: str
    whose: str                      # "yours" or "reference": whose update rule trained
    iters: int
    examples: int
    brackets: dict[int, tr.LrBracket] = field(default_factory=dict)
    problem: str = ""

    @property
    def found(self) -> list[tr.LrBracket]:
        return [b for b in self.brackets.values() if b.upper is not None]

    @property
    def lower(self) -> float | None:
        return _geometric_median([b.lower for b in self.found]) if self.found else None

    @property
    def upper(self) -> float | None:
        return _geometric_median([b.upper for b in self.found]) if self.found else None

    @property
    def recommended(self) -> tuple[float, float] | None:
        """A starting range a decade or so below the divergence edge (the rule of thumb of LrBracket)."""
        if self.upper is None:
            return None
        low = max(self.lower, self.upper / 30)
        return low, max(self.upper / 3, low)  # a narrow bracket: start at its lower edge

    @property
    def suggested(self) -> float | None:
        """One learning rate to start from: the middle (on a log scale) of the recommended range."""
        return math.sqrt(self.recommended[0] * self.recommended[1]) if self.recommended else None

    @property
    def spread_decades(self) -> float | None:
        """How far apart the seeds put the upper edge, in decades."""
        uppers = [b.upper for b in self.found]
        return math.log10(max(uppers) / min(uppers)) if uppers else None

    @property
    def confidence(self) -> str:
        """high: every seed agrees within half a decade; medium: most, within one; low; none."""
        if not self.found:
            return "none"
        share = len(self.found) / len(self.brackets)
        if share == 1 and self.spread_decades <= 0.5:
            return "high"
        return "medium" if share >= 0.5 and self.spread_decades <= 1.0 else "low"

    @property
    def setting(self) -> str:
        return (f"{self.whose} {self.rule}, {self.iters} full-batch steps on {self.examples} examples, "
                f"hidden {LR_HIDDEN}, seeds {', '.join(map(str, self.brackets))}")

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable({
            "rule": self.rule, "whose": self.whose, "iters": self.iters, "examples": self.examples,
            "lower": self.lower, "upper": self.upper, "recommended": self.recommended,
            "suggested": self.suggested, "confidence": self.confidence, "spread_decades": self.spread_decades,
            "problem": self.problem or None,
            "seeds": {seed: {"lower": b.lower, "upper": b.upper,
                             "runs": [{"learning_rate": r.learning_rate, "verdict": r.verdict,
                                       "losses": r.losses} for r in b.runs]}
                      for seed, b in self.brackets.items()}})

    def __rich_console__(self, console, options):
        from sanitykit.front.render.training import lr_find_renderables

        yield from lr_find_renderables(self, console, options)

    def plot(self, path: str | Path | None = None):
        """Final loss against learning rate for each seed, the bracket shaded (matplotlib); saved to `path` if given."""
        from sanitykit.front.render.figures import lr_find_figure, saved

        return saved(lr_find_figure(self), path)


def lr_find(target: Any, *, data: Any = None, rule: str = "sgd", iters: int = 25, examples: int = 100,
            seeds: Sequence[int] = DEFAULT_SEEDS, name_map: dict[str, str] | None = None,
            on_run: Any = None) -> LrFindResult:
    """Bracket the learning rate of the user's FullyConnectedNet (1e-7 .. 1e1, both edges bisected) per seed.

    Args:
        target: what sk.check takes (path, module, globals(), an object with the names).
        data: None (synthetic blobs), a dict or an .npz path (X_train, y_train, X_val, y_val).
        rule: update rule, one of RULES: the target's own when it has one, else the reference's.
        iters: full-batch steps per learning rate (default 25).
        examples: training examples used per run (default 100).
        seeds: each seed draws the data (when synthetic) and the weights anew (default 0, 1, 2).
        name_map: conventional name -> the user's name.
        on_run: called with each finished TrainRun (a progress bar).
    """
    import sanitykit.reference as reference
    from sanitykit.front.runner import as_target

    if rule not in RULES:
        raise ValueError(f"rule {rule!r}: choose one of {', '.join(RULES)}")
    loaded = as_target(target, name_map)
    cls = required(loaded, "FullyConnectedNet")
    update_rule = loaded.get(rule) or getattr(reference, rule)
    result = LrFindResult(rule, "yours" if loaded.get(rule) is not None else "reference", iters, examples)
    datasets = {seed: training_data(data, seed) for seed in seeds}  # bad data: ValueError, not the user's bug
    with user_code(loaded, result):
        for seed, dataset in datasets.items():
            X, y = dataset["X_train"][:examples], dataset["y_train"][:examples]
            result.examples = len(y)
            num_classes = int(dataset["y_train"].max()) + 1

            def run_at(lr: float, seed: int = seed, X: np.ndarray = X, y: np.ndarray = y) -> tr.TrainRun:
                model = tr.build_fc_net(cls, LR_HIDDEN, X.shape[1], num_classes,
                                        weight_scale=LR_WEIGHT_SCALE, seed=seed)
                return tr.train_run(model, X, y, update_rule=update_rule, learning_rate=lr,
                                    num_iters=iters, rule_name=rule)

            result.brackets[seed] = tr.bracket_learning_rate(run_at, on_run=on_run)
    return result


# ---------------------------------------------------------------- activations

@dataclass
class ActivationsResult(NotebookDisplay):
    """Per-layer activation statistics of a deep stack of the user's layers, by init scheme.

    `histograms[(nonlinearity, init)]` holds each layer's (counts, bin edges): the picture of
    the course's notebook. `net_profiles` are the user's FullyConnectedNet's hidden layers.
    """

    layers: int
    units: int
    profiles: list[tr.DepthProfile] = field(default_factory=list)
    histograms: dict[tuple[str, str], list[tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)
    net_profiles: list[tuple[str, list[tr.LayerStats], str]] = field(default_factory=list)
    reference_tanh: bool = False     # the target has no tanh_forward: sanitykit's stood in
    problem: str = ""

    @property
    def wrong(self) -> list[str]:
        """What does not show the known picture: "relu/he holds, expected ..." per stack or net."""
        found = [f"{p.nonlinearity}/{p.init} {p.regime}, expected {p.expected}"
                 for p in self.profiles if p.expected and p.regime != p.expected]
        return found + [f"{title}: {regime}, expected holds" for title, _, regime in self.net_profiles
                        if regime != tr.HOLDS]

    @property
    def ok(self) -> bool:
        return not self.problem and not self.wrong

    def to_dict(self) -> dict[str, Any]:
        def stats(rows: list[tr.LayerStats]) -> list[dict[str, float]]:
            return [{"layer": s.layer, "mean": s.mean, "std": s.std, "dead": s.dead_fraction,
                     "saturated": s.saturated_fraction} for s in rows]

        return to_jsonable({
            "layers": self.layers, "units": self.units, "reference_tanh": self.reference_tanh,
            "problem": self.problem or None, "ok": self.ok,
            "stacks": [{"nonlinearity": p.nonlinearity, "init": p.init, "regime": p.regime,
                        "expected": p.expected, "stats": stats(p.stats)} for p in self.profiles],
            "net": [{"title": title, "regime": regime, "stats": stats(rows)} for title, rows, regime in self.net_profiles]})

    def __rich_console__(self, console, options):
        from sanitykit.front.render.training import activations_renderables

        yield from activations_renderables(self, console, options)

    def plot(self, path: str | Path | None = None):
        """Per-layer activation histograms, one row per (nonlinearity, init) (matplotlib); saved to `path` if given."""
        from sanitykit.front.render.figures import activations_figure, saved

        return saved(activations_figure(self), path)


def histogram_kept(forward: Any, kept: list, nonlinearity: str) -> Any:
    """`forward` that also keeps a histogram of each output (tanh on [-1, 1], relu from 0)."""
    def recorded(x: Any) -> Any:
        result = forward(x)
        out = np.asarray(result[0] if isinstance(result, tuple) else result, dtype=np.float64)
        finite = out[np.isfinite(out)]
        span = (-1.0, 1.0) if nonlinearity == "tanh" else (0.0, float(finite.max()) if finite.size and finite.max() > 0 else 1.0)
        kept.append(np.histogram(finite, bins=HIST_BINS, range=span))
        return result

    return recorded


def activations(target: Any, *, data: Any = None, layers: int = 10, units: int = 500, seed: int = 0,
                name_map: dict[str, str] | None = None) -> ActivationsResult:
    """Activation statistics of layers x units of the user's affine + relu/tanh for small, Xavier and He init.

    Args:
        target: what sk.check takes (path, module, globals(), an object with the names).
        data: the data for the FullyConnectedNet's profile: None (synthetic blobs), a dict or an .npz.
        layers, units: the deep stack's depth and width (default 10 x 500).
        seed: seed of the inputs and weights (default 0).
        name_map: conventional name -> the user's name.
    """
    import sanitykit.reference as reference
    from sanitykit.front.runner import as_target

    loaded = as_target(target, name_map)
    affine, relu = required(loaded, "affine_forward"), required(loaded, "relu_forward")
    tanh = loaded.get("tanh_forward")
    result = ActivationsResult(layers, units, reference_tanh=tanh is None)
    dataset = training_data(data, seed)
    with user_code(loaded, result):
        for name, forward in (("tanh", tanh or reference.tanh_forward), ("relu", relu)):
            for init in tr.INIT_SCALES:
                kept = result.histograms.setdefault((name, init), [])
                result.profiles.append(tr.deep_stack_profile(
                    affine, histogram_kept(forward, kept, name), name, init, num_layers=layers,
                    hidden_dim=units, seed=seed))
        if loaded.get("FullyConnectedNet") is not None:
            result.net_profiles = net_profiles(loaded, dataset, seed)
    return result


def net_profiles(loaded: Any, dataset: dict, seed: int) -> list[tuple[str, list, str]]:
    """Hidden-layer statistics of the user's FullyConnectedNet on the data (He scale; batchnorm)."""
    from sanitykit.checks import training as checks
    from sanitykit.checks.registry import CheckContext

    ctx = CheckContext(loaded, seed=seed)
    X, y = dataset["X_train"][:200], dataset["y_train"][:200]
    width, depth = 100, 5
    settings = [(None, math.sqrt(2 / width))]
    if checks.accepts_batchnorm(ctx.fn("FullyConnectedNet")):
        settings.append(("batchnorm", 1e-2))
    profiles = []
    for normalization, scale in settings:
        model = tr.build_fc_net(ctx.fn("FullyConnectedNet"), (width,) * depth, X.shape[1],
                                int(dataset["y_train"].max()) + 1, weight_scale=scale,
                                normalization=normalization, seed=seed)
        recorded, _ = checks.record_forward(ctx, model, X, y)
        stats = [tr.layer_stats(i + 1, a) for i, a in enumerate(recorded)]
        if stats:
            title = (f"your FullyConnectedNet, {normalization or 'no normalisation'}, "
                     f"weight_scale {scale:.2g}, {depth} x {width} hidden")
            profiles.append((title, stats, tr.depth_regime(stats)))
    return profiles


# ---------------------------------------------------------------- overfitting

@dataclass
class OverfitResult(NotebookDisplay):
    """A few examples trained to memorisation (or not) with the reference Solver: the loss curve."""

    examples: int
    iters: int
    rule: str
    learning_rate: float
    losses: list[float] = field(default_factory=list)
    train_acc_history: list[float] = field(default_factory=list)
    train_acc: float | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem and self.train_acc is not None and self.train_acc >= OVERFIT_ACCURACY

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable({"examples": self.examples, "iters": self.iters, "rule": self.rule,
                            "learning_rate": self.learning_rate, "train_acc": self.train_acc,
                            "ok": self.ok, "problem": self.problem or None, "losses": self.losses,
                            "train_acc_history": self.train_acc_history})

    def __rich_console__(self, console, options):
        from sanitykit.front.render.training import overfit_renderables

        yield from overfit_renderables(self, console, options)

    def plot(self, path: str | Path | None = None):
        """The loss and the training accuracy over the steps (matplotlib); saved to `path` if given."""
        from sanitykit.front.render.figures import overfit_figure, saved

        return saved(overfit_figure(self), path)


def overfit(target: Any, *, data: Any = None, examples: int = 30, iters: int = 100, rule: str = "adam",
            learning_rate: float = 1e-2, seed: int = 0, name_map: dict[str, str] | None = None) -> OverfitResult:
    """Train the user's FullyConnectedNet on `examples` examples, full batch, with the reference Solver.

    Args:
        target: what sk.check takes (path, module, globals(), an object with the names).
        data: None (synthetic blobs), a dict or an .npz path.
        examples: how many training examples to memorise (default 30).
        iters: full-batch steps (default 100).
        rule, learning_rate: the Solver's update rule and rate (default adam, 1e-2).
        seed: seed of the data, the weights and the Solver (default 0).
        name_map: conventional name -> the user's name.
    """
    import sanitykit.reference as reference
    from sanitykit.front.runner import as_target

    loaded = as_target(target, name_map)
    cls = required(loaded, "FullyConnectedNet")
    dataset = training_data(data, seed)
    X, y = dataset["X_train"][:examples], dataset["y_train"][:examples]
    result = OverfitResult(len(y), iters, rule, learning_rate)
    with user_code(loaded, result):
        model = tr.build_fc_net(cls, LR_HIDDEN, X.shape[1], int(dataset["y_train"].max()) + 1,
                                weight_scale=LR_WEIGHT_SCALE, seed=seed)
        # Validation = the training subset: the Solver's best parameters are its best-train ones.
        small = {"X_train": X, "y_train": y, "X_val": X, "y_val": y}
        solver = reference.Solver(model, small, update_rule=rule, optim_config={"learning_rate": learning_rate},
                                  num_epochs=iters, batch_size=len(y), verbose=False, seed=seed)
        with np.errstate(all="ignore"):
            solver.train()
        result.losses = [float(v) for v in solver.loss_history]
        result.train_acc_history = [float(v) for v in solver.train_acc_history]
        result.train_acc = tr.accuracy(model, X, y)
    return result
