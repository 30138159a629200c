"""Training diagnostics, computed: short runs, learning-rate brackets, update-to-weight
ratios, activation statistics across depth, and a coarse-to-fine search.

Pure computations that return result objects; the checks (sanitykit.checks.training)
turn them into verdicts and the front (sanitykit.front.cli_training) draws them.
Every function takes a seed or a `np.random.Generator`; the global numpy random state
is only ever borrowed (saved, seeded, restored) around student code that insists on it.
"""
from __future__ import annotations

import contextlib
import inspect
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from sanitykit.engine.usercode import NotImplementedYet, UserCodeError, call_user

# A run has diverged when its loss is not finite or exceeds this multiple of the initial loss.
DIVERGENCE_FACTOR = 3.0
# A run made progress when its final loss is at most (1 - PROGRESS_DROP) of the initial loss.
PROGRESS_DROP = 0.05
NO_PROGRESS, PROGRESS, DIVERGED = "no progress", "progress", "diverged"

SPARK_BARS = "▁▂▃▄▅▆▇█"
SPARK_ASCII = "_.-~=*#@"


# ---------------------------------------------------------------- small helpers

@contextlib.contextmanager
def global_numpy_seed(seed: int) -> Iterator[None]:
    """Seed numpy's global generator for student code that uses np.random.randn, then restore it.

    Args:
        seed: the seed set for the duration of the block.
    """
    state = np.random.get_state()
    np.random.seed(seed % 2**32)
    try:
        yield
    finally:
        np.random.set_state(state)


def log_uniform(low: float, high: float, rng: np.random.Generator, size: int | None = None):
    """10 ** uniform(log10 low, log10 high): learning rates and regularisation are searched on a log scale.

    Args:
        low, high: positive bounds, low < high.
        rng: np.random.Generator.
        size: None for one float, else the number of samples.
    """
    if not 0 < low < high:
        raise ValueError(f"log_uniform needs 0 < low < high, got low={low}, high={high}")
    exponents = rng.uniform(math.log10(low), math.log10(high), size)
    return float(10.0 ** exponents) if size is None else 10.0 ** exponents


def sparkline(values: Sequence[float], *, width: int = 40, ascii_only: bool = False) -> str:
    """One line of bars drawing `values` (resampled to `width`); a non-finite value is '!'.

    Args:
        values: the series, e.g. a loss history.
        width: number of characters at most, default 40.
        ascii_only: use ASCII glyphs instead of block characters.
    """
    bars = SPARK_ASCII if ascii_only else SPARK_BARS
    values = np.asarray(list(values), dtype=np.float64)
    if values.size == 0:
        return ""
    if values.size > width:  # keep the first and last values, sample evenly between
        values = values[np.linspace(0, values.size - 1, width).round().astype(int)]
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return "!" * values.size
    low, high = float(finite.min()), float(finite.max())
    if high - low <= 1e-3 * max(abs(high), abs(low)):  # flat: do not magnify rounding into a ramp
        return "".join(bars[len(bars) // 2] if math.isfinite(v) else "!" for v in values)
    span = high - low
    levels = ((np.nan_to_num(values, nan=low) - low) / span * (len(bars) - 1)).round()
    return "".join(bars[int(np.clip(level, 0, len(bars) - 1))] if math.isfinite(v) else "!"
                   for level, v in zip(levels, values))


def accepted_kwargs(cls: Callable, wanted: dict[str, Any]) -> dict[str, Any]:
    """The subset of `wanted` that cls's constructor accepts (every key when it takes **kwargs).

    Args:
        cls: a class or function.
        wanted: keyword arguments we would like to pass.
    """
    try:
        parameters = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return dict(wanted)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return dict(wanted)
    return {k: v for k, v in wanted.items() if k in parameters}


def build_fc_net(cls: Callable, hidden_dims: Sequence[int], input_dim: int, num_classes: int, *,
                 weight_scale: float, reg: float = 0.0, normalization: str | None = None,
                 seed: int = 0, subject: str = "FullyConnectedNet") -> Any:
    """Build the user's FullyConnectedNet in float64 whatever its course year's signature.

    Dropout arguments are never passed: their defaults mean "no dropout" in every year,
    while their meaning (drop or keep probability) changed. Normalisation is passed as
    `normalization=` (2019+) or `use_batchnorm=` (2017-2018).

    Args:
        cls: the FullyConnectedNet class.
        hidden_dims: hidden layer sizes.
        input_dim, num_classes: D and C.
        weight_scale: std of the initial weights.
        reg: L2 strength, default 0.
        normalization: None, "batchnorm" or "layernorm".
        seed: weights are repeatable: passed as `seed=` if accepted, and the global
            numpy state is seeded (then restored) for models that draw from np.random.
        subject: name used in messages.
    """
    wanted: dict[str, Any] = {"input_dim": input_dim, "num_classes": num_classes,
                              "weight_scale": weight_scale, "reg": reg, "dtype": np.float64,
                              "seed": seed}
    kwargs = accepted_kwargs(cls, wanted)
    if normalization is not None:
        norm = accepted_kwargs(cls, {"normalization": normalization})
        if not norm and normalization == "batchnorm":
            norm = accepted_kwargs(cls, {"use_batchnorm": True})
        if not norm:
            raise UserCodeError(f"{subject} takes no {normalization} option", subject=subject)
        kwargs.update(norm)
    with global_numpy_seed(seed):
        model = call_user(cls, list(hidden_dims), subject=subject, **kwargs)
    if not isinstance(getattr(model, "params", None), dict):
        raise UserCodeError(f"{subject} has no params dict after construction", subject=subject)
    for name, value in model.params.items():  # older models ignore dtype=
        if isinstance(value, np.ndarray):
            model.params[name] = value.astype(np.float64)
    return model


def model_loss(model: Any, X: np.ndarray, y: np.ndarray | None = None,
               subject: str = "FullyConnectedNet.loss") -> Any:
    """model.loss(X, y) -> (loss, grads), or scores when y is None; unusable results raise.

    Args:
        model: object with .loss.
        X, y: data; y None for test-mode scores.
        subject: name used in messages.
    """
    result = call_user(model.loss, X, y, subject=subject) if y is not None else \
        call_user(model.loss, X, subject=subject)
    if result is None:
        raise NotImplementedYet(subject, "returned None")
    if y is None:
        return np.asarray(result, dtype=np.float64)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise UserCodeError(f"{subject} returned {type(result).__name__}, expected (loss, grads)",
                            subject=subject)
    loss, grads = result
    if loss is None or grads is None:
        raise NotImplementedYet(subject, "returned None for the loss or grads")
    return float(loss), grads


def accuracy(model: Any, X: np.ndarray, y: np.ndarray) -> float:
    """Fraction of X whose highest test-mode score is the label y.

    Args:
        model: object with .loss.
        X, y: data.
    """
    scores = model_loss(model, X)
    return float(np.mean(np.argmax(scores, axis=1) == y))


# ---------------------------------------------------------------- short training runs

@dataclass
class TrainRun:
    """One short training run: the loss history and how far each parameter moved per step.

    update_ratios maps a parameter to the median over steps of ||w_next - w|| / ||w||
    (for SGD this is ||lr * dW|| / ||W||); parameters that start at zero are left out.
    """

    learning_rate: float
    losses: list[float] = field(default_factory=list)
    update_ratios: dict[str, float] = field(default_factory=dict)
    train_acc: float | None = None

    @property
    def initial_loss(self) -> float:
        return self.losses[0] if self.losses else math.nan

    @property
    def final_loss(self) -> float:
        tail = self.losses[-3:]
        return float(np.mean(tail)) if tail else math.nan

    @property
    def verdict(self) -> str:
        return classify_losses(self.losses)


def classify_losses(losses: Sequence[float]) -> str:
    """no progress / progress / diverged for one loss history.

    Diverged: a NaN or inf, or a loss above DIVERGENCE_FACTOR x the first one.
    Progress: the mean of the last three losses is PROGRESS_DROP below the first.

    Args:
        losses: the loss at each step, first one before any update.
    """
    losses = np.asarray(list(losses), dtype=np.float64)
    if losses.size == 0:
        return NO_PROGRESS
    if not np.all(np.isfinite(losses)) or np.max(losses) > DIVERGENCE_FACTOR * max(losses[0], 1e-12):
        return DIVERGED
    if np.mean(losses[-3:]) <= (1 - PROGRESS_DROP) * losses[0]:
        return PROGRESS
    return NO_PROGRESS


def train_run(model: Any, X: np.ndarray, y: np.ndarray, *, update_rule: Callable,
              learning_rate: float, num_iters: int, batch_size: int | None = None,
              seed: int = 0, optim_config: dict | None = None,
              rule_name: str | None = None) -> TrainRun:
    """Train `model` in place for num_iters steps of update_rule; stop early once diverged.

    Args:
        model: .params dict and .loss(X, y) -> (loss, grads).
        X, y: training data.
        update_rule: (w, dw, config) -> (next_w, config), the course protocol.
        learning_rate: written into each parameter's config.
        num_iters: number of updates.
        batch_size: None (default) for full batch (deterministic), else minibatches
            drawn from default_rng(seed).
        seed: seed of the minibatch sampler.
        optim_config: further hyperparameters for every parameter's config.
        rule_name: name used in messages (default update_rule.__name__).
    """
    rng = np.random.default_rng(seed)
    run = TrainRun(learning_rate)
    configs = {name: {**(optim_config or {}), "learning_rate": learning_rate} for name in model.params}
    ratios: dict[str, list[float]] = {name: [] for name in model.params}
    rule_name = rule_name or getattr(update_rule, "__name__", "update_rule")
    with np.errstate(all="ignore"):  # a diverging run overflows: that is the measurement
        for _ in range(num_iters):
            idx = slice(None) if batch_size is None else rng.choice(len(y), batch_size)
            loss, grads = model_loss(model, X[idx], y[idx])
            run.losses.append(loss)
            if classify_losses(run.losses) == DIVERGED:
                break
            for name, w in list(model.params.items()):
                if name not in grads:
                    raise UserCodeError(f"the grads returned by loss() have no {name!r}",
                                        subject="FullyConnectedNet.loss")
                next_w, configs[name] = _step(update_rule, w, grads[name], configs[name], rule_name)
                w_norm = float(np.linalg.norm(w))
                if w_norm > 0:
                    ratios[name].append(float(np.linalg.norm(next_w - w)) / w_norm)
                model.params[name] = next_w
    run.update_ratios = {name: float(np.median(r)) for name, r in ratios.items() if r}
    return run


def _step(update_rule: Callable, w: np.ndarray, dw: np.ndarray, config: dict, rule_name: str):
    """One call of the user's update rule, with its result checked."""
    result = call_user(update_rule, w, dw, config, subject=rule_name)
    if result is None:
        raise NotImplementedYet(rule_name, "returned None")
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise UserCodeError(f"{rule_name} returned {type(result).__name__}, expected (next_w, config)",
                            subject=rule_name)
    next_w, config = result
    if next_w is None:
        raise NotImplementedYet(rule_name, "returned next_w = None")
    return np.asarray(next_w, dtype=np.float64), config if config is not None else {}


def curve_departure(losses: Sequence[float], reference: Sequence[float], *, tol: float = 0.02,
                    floor: float = 1e-3) -> int | None:
    """The first step where two loss curves differ by more than tol (relative), or None.

    Once the reference has converged (its loss below floor x its first loss), rounding in a
    correct rule moves the tiny remaining loss by more than 2% of itself without meaning
    anything: there the tolerance is relative to floor x the first loss instead.

    Args:
        losses: the curve under test.
        reference: the curve of the reference run on the same model, data and batches.
        tol: relative tolerance, default 2%.
        floor: fraction of the reference's first loss below which differences are not judged
            relative to the (tiny) loss itself.
    """
    scale = floor * abs(reference[0]) if len(reference) else 0.0
    for t, (a, b) in enumerate(zip(losses, reference)):
        if not (math.isfinite(a) and abs(a - b) <= tol * max(abs(b), scale, 1e-12)):
            return t
    if len(losses) < len(reference):  # stopped early: diverged
        return len(losses)
    return None


# ---------------------------------------------------------------- learning-rate bracket

@dataclass
class LrBracket:
    """Learning rates tried (sorted), each with its verdict, and the edges found between them.

    lower: smallest rate seen to make progress; upper: largest rate seen to make progress
    without diverging. Both None when no rate made progress.
    """

    runs: list[TrainRun]
    lower: float | None
    upper: float | None

    @property
    def recommended(self) -> tuple[float, float] | None:
        """A starting range a decade or so below the divergence edge, as the usual rule of thumb."""
        if self.upper is None:
            return None
        return max(self.lower, self.upper / 30), self.upper / 3

    @property
    def verdicts(self) -> dict[float, str]:
        return {run.learning_rate: run.verdict for run in self.runs}

    def verdict_at(self, learning_rate: float) -> str:
        """The verdict of the run at the tried rate nearest (in log space) to learning_rate."""
        nearest = min(self.runs, key=lambda r: abs(math.log10(r.learning_rate) - math.log10(learning_rate)))
        return nearest.verdict


def _bisect_edge(verdict: Callable[[float], str], *, works: float, fails: float, steps: int) -> float:
    """Bisect (in log space) between a rate that makes progress and one that does not; the last that does.

    Args:
        verdict: learning_rate -> verdict of a run at that rate.
        works: a rate whose verdict is PROGRESS.
        fails: a neighbouring rate (above or below) whose verdict is not.
        steps: bisection steps.
    """
    for _ in range(steps):
        mid = math.sqrt(works * fails)
        if verdict(mid) == PROGRESS:
            works = mid
        else:
            fails = mid
    return works


def bracket_learning_rate(run_at: Callable[[float], TrainRun], *, low: float = 1e-7, high: float = 1e1,
                          per_decade: int = 1, refine_steps: int = 3,
                          on_run: Callable[[TrainRun], None] | None = None) -> LrBracket:
    """Try log-spaced rates from low to high, then binary-search (in log space) both edges.

    Args:
        run_at: learning_rate -> TrainRun (a fresh model each time).
        low, high: range of rates, default 1e-7 .. 1e1.
        per_decade: grid points per decade, default 1.
        refine_steps: bisection steps at each edge, default 3 (an edge to ~10**(1/8)).
        on_run: called with each finished run (a progress bar), default None.
    """
    runs: dict[float, TrainRun] = {}

    def verdict(lr: float) -> str:
        if lr not in runs:
            runs[lr] = run_at(lr)
            if on_run is not None:
                on_run(runs[lr])
        return runs[lr].verdict

    decades = round(math.log10(high / low))
    grid = [float(low * 10 ** (k / per_decade)) for k in range(decades * per_decade + 1)]
    verdicts = [verdict(lr) for lr in grid]
    progress = [i for i, v in enumerate(verdicts) if v == PROGRESS]
    if not progress:
        return LrBracket(sorted(runs.values(), key=lambda r: r.learning_rate), None, None)
    first, last = progress[0], progress[-1]
    lower, upper = grid[first], grid[last]
    if first > 0:  # bisect between the last rate too small and the first that works
        lower = _bisect_edge(verdict, works=lower, fails=grid[first - 1], steps=refine_steps)
    if last + 1 < len(grid):  # bisect between the last rate that works and the first too large
        upper = _bisect_edge(verdict, works=upper, fails=grid[last + 1], steps=refine_steps)
    return LrBracket(sorted(runs.values(), key=lambda r: r.learning_rate), lower, upper)


# ---------------------------------------------------------------- activation statistics

@dataclass(frozen=True)
class LayerStats:
    """Statistics of one layer's output on a batch.

    dead_fraction: units that output zero for every example (ReLU that never fires).
    saturated_fraction: outputs with |value| > 0.99 (tanh in its flat tails).
    """

    layer: int
    mean: float
    std: float
    dead_fraction: float
    saturated_fraction: float


def layer_stats(layer: int, out: np.ndarray) -> LayerStats:
    """Mean, std, dead-unit fraction and saturated fraction of a layer output (N, units).

    Args:
        layer: 1-based layer number.
        out: the layer's output; flattened to (N, units).
    """
    out = np.asarray(out, dtype=np.float64).reshape(len(out), -1)
    dead = float(np.mean(np.all(out == 0, axis=0)))
    saturated = float(np.mean(np.abs(out) > 0.99))
    return LayerStats(layer, float(np.mean(out)), float(np.std(out)), dead, saturated)


COLLAPSES, SHRINKS, HOLDS, EXPLODES = "collapses", "shrinks", "holds", "explodes"
VANISHED_STD = 1e-3  # a last-layer std this small carries no signal whatever the first layer had


def depth_regime(stats: Sequence[LayerStats]) -> str:
    """collapses / shrinks / holds / explodes, from the per-layer factor of the std.

    The factor is (std_last / std_first) ** (1 / (L - 1)): below 0.5 the signal collapses
    within a few layers, below 0.85 it shrinks steadily, above 1.2 it explodes.

    Args:
        stats: per-layer statistics, first layer first.
    """
    first, last = stats[0].std, stats[-1].std
    if not (math.isfinite(first) and math.isfinite(last)):
        return EXPLODES
    if last < VANISHED_STD or first == 0:
        return COLLAPSES
    factor = (last / first) ** (1 / max(len(stats) - 1, 1))
    if factor < 0.5:
        return COLLAPSES
    if factor < 0.85:
        return SHRINKS
    if factor > 1.2:
        return EXPLODES
    return HOLDS


INIT_SCALES: dict[str, Callable[[int], float]] = {
    "small": lambda fan_in: 0.01,                    # the course's 0.01 * randn
    "xavier": lambda fan_in: 1 / math.sqrt(fan_in),   # keeps the variance through tanh's linear part
    "he": lambda fan_in: math.sqrt(2 / fan_in),       # ReLU halves the variance; this doubles it back
}
# The known picture (CS231n lecture 6): what each init does to a deep tanh / ReLU stack.
EXPECTED_REGIMES = {
    ("tanh", "small"): COLLAPSES, ("relu", "small"): COLLAPSES,
    ("tanh", "xavier"): HOLDS, ("relu", "xavier"): SHRINKS,
    ("relu", "he"): HOLDS,
}


@dataclass
class DepthProfile:
    """Per-layer statistics of one deep stack (nonlinearity, init) and its regime."""

    nonlinearity: str
    init: str
    stats: list[LayerStats]

    @property
    def regime(self) -> str:
        return depth_regime(self.stats)

    @property
    def expected(self) -> str | None:
        return EXPECTED_REGIMES.get((self.nonlinearity, self.init))


def deep_stack_profile(affine_forward: Callable, nonlinearity_forward: Callable, nonlinearity: str,
                       init: str, *, num_layers: int = 10, hidden_dim: int = 500, batch: int = 200,
                       seed: int = 0, initialiser: Callable | None = None) -> DepthProfile:
    """Forward unit-Gaussian data through num_layers x (affine, nonlinearity) and record each output.

    The weights of layer l are INIT_SCALES[init](fan_in) * standard normal from
    default_rng(seed + l), so every (nonlinearity, init) pair sees the same random numbers;
    with `initialiser` (the user's he_init, ...) they are drawn by it instead.

    Args:
        affine_forward: (x, w, b) -> (out, cache).
        nonlinearity_forward: x -> (out, cache), e.g. relu_forward or tanh_forward.
        nonlinearity: "relu" or "tanh" (names the profile).
        init: a key of INIT_SCALES.
        num_layers, hidden_dim, batch: stack size, default 10 x 500 units, 200 examples.
        seed: seed of the data and weights.
        initialiser: the user's `init(shape, rng)` for this scheme, or None for INIT_SCALES.
    """
    x = np.random.default_rng(seed).standard_normal((batch, hidden_dim))
    stats = []
    with np.errstate(all="ignore"):
        for layer in range(1, num_layers + 1):
            rng = np.random.default_rng(seed + layer)
            if initialiser is None:
                w = INIT_SCALES[init](hidden_dim) * rng.standard_normal((hidden_dim, hidden_dim))
            else:
                w = draw_init(initialiser, (hidden_dim, hidden_dim), seed + layer, subject=f"{init}_init")
            a = _first(call_user(affine_forward, x, w, np.zeros(hidden_dim), subject="affine_forward"),
                       "affine_forward")
            x = _first(call_user(nonlinearity_forward, a, subject=f"{nonlinearity}_forward"),
                       f"{nonlinearity}_forward")
            stats.append(layer_stats(layer, x))
    return DepthProfile(nonlinearity, init, stats)


# ---------------------------------------------------------------- initialisers

INIT_FUNCTIONS = {"small": "small_init", "xavier": "xavier_init", "he": "he_init"}
INIT_FORMULAS = {"small": "0.01 * randn", "xavier": "randn / sqrt(fan_in)", "he": "randn * sqrt(2 / fan_in)"}
# An affine (D, H) and a conv (F, C, HH, WW) shape whose fan-ins differ from every other
# reading of the shape (H, F, C, F * C, C * HH * WW * F), so a wrong fan-in shows in the std.
INIT_SHAPES = ((200, 100), (16, 8, 3, 3))


def fan_in_of(shape: tuple[int, ...]) -> int:
    """The course's fan-in: D for an affine (D, H), C * HH * WW for a conv filter bank (F, C, HH, WW)."""
    return int(shape[0]) if len(shape) == 2 else int(np.prod(shape[1:]))


def fan_in_readings(shape: tuple[int, ...]) -> dict[str, int]:
    """Plausible wrong fan-ins of `shape`, by how a student would describe them."""
    if len(shape) == 2:
        return {"the number of outputs H (shape[1])": int(shape[1]), "D * H": int(shape[0] * shape[1])}
    F, C, HH, WW = shape
    return {"the number of filters F (shape[0])": int(F), "the number of channels C": int(C),
            "HH * WW (without C)": int(HH * WW), "F * C * HH * WW": int(F * C * HH * WW)}


def init_std_bound(size: int) -> float:
    """Relative tolerance of a sample std of `size` normal values: 5 standard errors (1/sqrt(2n)) plus 1%."""
    return 5 / math.sqrt(2 * size) + 0.01


def draw_init(initialiser: Callable, shape: tuple[int, ...], seed: int, *, subject: str) -> np.ndarray:
    """initialiser(shape, rng) with a seeded Generator; an initialiser without an rng argument
    is called as initialiser(shape) under a seeded (and restored) global numpy state.

    Args:
        initialiser: the user's function.
        shape: weight shape.
        seed: seed of the draw.
        subject: the function's name, for messages.
    """
    try:
        takes_rng = len(inspect.signature(initialiser).parameters) >= 2
    except (TypeError, ValueError):
        takes_rng = False
    with global_numpy_seed(seed):
        if takes_rng:
            value = call_user(initialiser, shape, np.random.default_rng(seed), subject=subject)
        else:
            value = call_user(initialiser, shape, subject=subject)
    if value is None:
        raise NotImplementedYet(subject, "returned None")
    value = np.asarray(value, dtype=np.float64)
    if value.shape != tuple(shape):
        raise UserCodeError(f"{subject}({tuple(shape)}) returned an array of shape {value.shape}", subject=subject)
    return value


@dataclass(frozen=True)
class InitMeasure:
    """The std of one initialiser's draw on one shape, against the scheme's."""

    scheme: str
    shape: tuple[int, ...]
    std: float
    expected: float
    bound: float  # relative tolerance

    @property
    def ok(self) -> bool:
        return abs(self.std / self.expected - 1) <= self.bound

    def matches(self, std: float) -> bool:
        return std > 0 and abs(self.std / std - 1) <= self.bound


def measure_init(initialiser: Callable, scheme: str, shape: tuple[int, ...], seed: int) -> InitMeasure:
    """Draw `shape` from the user's initialiser of `scheme` ("small", "xavier", "he") and measure its std."""
    w = draw_init(initialiser, shape, seed, subject=INIT_FUNCTIONS[scheme])
    expected = INIT_SCALES[scheme](fan_in_of(shape))
    return InitMeasure(scheme, tuple(shape), float(w.std()), expected, init_std_bound(w.size))


def init_explanation(measure: InitMeasure) -> str:
    """Which wrong scheme or fan-in reproduces a measured std, in words ("" when none does)."""
    fan = fan_in_of(measure.shape)
    for other in ("small", "xavier", "he"):
        if other != measure.scheme and measure.matches(INIT_SCALES[other](fan)):
            return f"its std is {other}'s ({INIT_FORMULAS[other]})"
    for words, wrong in fan_in_readings(measure.shape).items():
        if measure.matches(INIT_SCALES[measure.scheme](wrong)):
            return f"its std matches fan_in = {wrong}, {words}"
    return ""


# ---------------------------------------------------------------- probing a Solver

class SolverProbe:
    """A model for a Solver whose gradients and validation accuracy are chosen, not learned.

    params w (1,) and b (2,) get gradient -1 every step, so plain SGD moves them by exactly
    the learning rate in use: the recorded params give the learning rate of each step.
    Scores put class 1 ahead for an example x when x[0] > |w - best_w|: validation accuracy
    (every label 1, x spread over (0, 3]) peaks when w passes best_w, then falls.
    """

    def __init__(self, best_w: float = 2.0) -> None:
        self.best_w = best_w
        self.params = {"w": np.zeros(1), "b": np.zeros(2)}
        self.seen: list[dict[str, np.ndarray]] = []  # params at each loss(X, y) call

    def loss(self, X, y=None):
        w = float(np.asarray(self.params["w"]).reshape(-1)[0])
        margin = np.asarray(X, dtype=np.float64)[:, 0] - abs(w - self.best_w)
        scores = np.stack([np.zeros(len(margin)), margin], axis=1)
        if y is None:
            return scores
        self.seen.append({k: np.array(v, dtype=np.float64, copy=True) for k, v in self.params.items()})
        return abs(w - self.best_w), {k: -np.ones_like(v, dtype=np.float64) for k, v in self.params.items()}


def probe_data(num: int = 10) -> dict[str, np.ndarray]:
    """Inputs for SolverProbe: x[0] evenly in (0, 3], every label 1, the same for train and val."""
    X = np.linspace(3.0 / num, 3.0, num).reshape(num, 1)
    y = np.ones(num, dtype=int)
    return {"X_train": X, "y_train": y, "X_val": X.copy(), "y_val": y.copy()}


def probe_step_sizes(seen: Sequence[dict[str, np.ndarray]]) -> dict[str, list[float]]:
    """Per parameter, the mean change between consecutive loss calls: SGD's learning rate at gradient -1."""
    return {name: [float(np.mean(after[name] - before[name])) for before, after in zip(seen, seen[1:])]
            for name in (seen[0] if seen else {})}


def _first(result: Any, subject: str) -> np.ndarray:
    """`out` of an (out, cache) pair, as a float64 array."""
    if result is None or (isinstance(result, tuple) and result[0] is None):
        raise NotImplementedYet(subject, "returned None")
    out = result[0] if isinstance(result, tuple) else result
    return np.asarray(out, dtype=np.float64)


# ---------------------------------------------------------------- recording a model's layers

# Functions whose output is a hidden layer's activation (the ReLU comes last in each).
ACTIVATION_CALLS = ("affine_relu_forward", "affine_bn_relu_forward", "affine_ln_relu_forward",
                    "relu_forward", "tanh_forward", "leaky_relu_forward")
NORM_CALLS = ("batchnorm_forward", "layernorm_forward")


class LayerRecorder:
    """Wraps layer functions so that every call's output is kept, in call order.

    A call made inside another recorded call (the relu_forward inside affine_relu_forward)
    is kept too but marked nested, so activations are counted once per layer.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, np.ndarray, int]] = []  # (name, out, nesting depth)
        self._depth = 0

    def wrap(self, name: str, fn: Callable) -> Callable:
        def recorded(*args: Any, **kwargs: Any) -> Any:
            self._depth += 1
            try:
                result = fn(*args, **kwargs)
            finally:
                self._depth -= 1
            out = result[0] if isinstance(result, tuple) and result else result
            if isinstance(out, np.ndarray):
                self.calls.append((name, np.array(out, dtype=np.float64), self._depth))
            return result

        recorded.__name__ = getattr(fn, "__name__", name)
        recorded.__wrapped__ = fn
        return recorded

    def wrappers(self, functions: dict[str, Callable]) -> dict[str, Callable]:
        """name -> recording wrapper, for every name in functions."""
        return {name: self.wrap(name, fn) for name, fn in functions.items()}

    def activations(self) -> list[np.ndarray]:
        """One output per hidden layer: the outermost activation-producing calls."""
        calls = [(out, depth) for name, out, depth in self.calls if name in ACTIVATION_CALLS]
        outermost = min((depth for _, depth in calls), default=0)
        return [out for out, depth in calls if depth == outermost]

    def normalized(self) -> list[np.ndarray]:
        """The outputs of batchnorm_forward / layernorm_forward calls, in order."""
        return [out for name, out, _ in self.calls if name in NORM_CALLS]


@contextlib.contextmanager
def patched_globals(namespace: dict, replacements: dict[str, Any]) -> Iterator[None]:
    """Rebind names in a module's globals for the duration of the block, then restore them.

    Args:
        namespace: vars(module).
        replacements: name -> object; only names the module already has are rebound.
    """
    present = {name: namespace[name] for name in replacements if name in namespace}
    try:
        namespace.update({name: replacements[name] for name in present})
        yield
    finally:
        namespace.update(present)


# ---------------------------------------------------------------- initial loss, preprocessing

def expected_initial_loss(num_classes: int, loss: str = "softmax") -> float:
    """The loss at near-zero scores: log C for softmax, C - 1 for the multiclass SVM (margin 1).

    Args:
        num_classes: C.
        loss: "softmax" or "svm".
    """
    return math.log(num_classes) if loss == "softmax" else float(num_classes - 1)


def initial_loss_tolerance(num_examples: int, score_std: float) -> float:
    """How far from log C a correct softmax loss may land, for N examples and scores of std s.

    Each example's loss is log C - (s_y - mean s) + O(s^2): the mean over N has a standard
    error of about s / sqrt(N), and a bias below s^2. Four standard errors, the bias, and a
    floor of 1e-3.

    Args:
        num_examples: N.
        score_std: std of the scores a correct model produces at this weight scale.
    """
    return 4 * score_std / math.sqrt(num_examples) + score_std ** 2 + 1e-3


def mean_fitted_on(out_val: np.ndarray, X_train: np.ndarray, X_val: np.ndarray) -> str:
    """Which data a mean-subtraction helper fitted its mean on, judged from its val output.

    Args:
        out_val: what the helper returned for X_val.
        X_train, X_val: the inputs given to it.
    Returns:
        "train", "val", "train+val", "nothing" (not subtracted) or "something else".
    """
    candidates = {
        "train": X_val - X_train.mean(axis=0),
        "val": X_val - X_val.mean(axis=0),
        "train+val": X_val - np.concatenate([X_train, X_val]).mean(axis=0),
        "nothing": X_val,
    }
    for name, expected in candidates.items():
        if out_val.shape == expected.shape and np.allclose(out_val, expected, rtol=1e-7, atol=1e-9):
            return name
    return "something else"


# ---------------------------------------------------------------- coarse-to-fine search

@dataclass(frozen=True)
class Trial:
    """One hyperparameter setting of a search and how it did."""

    stage: str
    hyperparams: dict[str, float]
    train_acc: float
    val_acc: float


def coarse_to_fine(train_and_score: Callable[[dict[str, float], int], tuple[float, float]],
                   space: dict[str, tuple[float, float]], rng: np.random.Generator, *,
                   num_coarse: int = 8, num_fine: int = 8, coarse_epochs: int = 1,
                   fine_epochs: int = 3, zoom: float = 10.0) -> list[Trial]:
    """Random search on a log scale: a coarse stage of short runs, then a fine stage around the best.

    The fine stage samples each hyperparameter log-uniformly within a factor sqrt(zoom) of
    the best coarse value (clipped to the space).

    Args:
        train_and_score: (hyperparams, epochs) -> (train_acc, val_acc).
        space: name -> (low, high), positive bounds, searched with log_uniform.
        rng: np.random.Generator.
        num_coarse, num_fine: trials per stage, default 8 each.
        coarse_epochs, fine_epochs: epochs per trial in each stage, default 1 and 3.
        zoom: width (as a ratio high/low) of the fine range, default 10.
    Returns:
        every trial, best validation accuracy first.
    """
    def stage(name: str, bounds: dict[str, tuple[float, float]], count: int, epochs: int) -> list[Trial]:
        trials = []
        for _ in range(count):
            hyperparams = {k: log_uniform(lo, hi, rng) for k, (lo, hi) in bounds.items()}
            train_acc, val_acc = train_and_score(hyperparams, epochs)
            trials.append(Trial(name, hyperparams, float(train_acc), float(val_acc)))
        return trials

    coarse = stage("coarse", space, num_coarse, coarse_epochs)
    best = max(coarse, key=lambda t: t.val_acc)
    half = math.sqrt(zoom)
    fine_space = {k: (max(lo, best.hyperparams[k] / half), min(hi, best.hyperparams[k] * half))
                  for k, (lo, hi) in space.items()}
    fine = stage("fine", fine_space, num_fine, fine_epochs)
    return sorted(coarse + fine, key=lambda t: -t.val_acc)
