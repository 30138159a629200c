"""Gradient checks with a diagnosis: gradcheck (a layer), gradcheck_loss, gradcheck_model.

The flow of one check, each step a small function:
  1. structure  — backward is deterministic and returns arrays of the right shapes (a wrong
                  shape is read: sanitykit.engine.shapes); no finite differences;
  2. fast       — one random direction through every input at once (two forward passes
                  confirm a correct layer), then per-input directions when it disagrees;
  3. explain    — only once something disagrees: the tests that call the user's code again
                  (a noisy forward, an input written in place, linearity in dout:
                  sanitykit.engine.structure), so a correct layer never pays for them;
  4. localise   — central differences per coordinate (every one in "full" mode; in "auto"
                  only for inputs that failed fast, on a budget of coordinates when large;
                  in "fast" a few structured coordinates of an input its directions cannot name);
  5. diagnose   — name the pattern of a wrong gradient (sanitykit.engine.diagnosis), and warn
                  of right values with a harmful habit (dout written in place, a (1, D) shape).
Always returns a GradcheckResult; raising is assert_gradients_match's job.

Verdict thresholds (Thresholds): relative error <= 1e-7 is a pass, <= 1e-4 a warning
(suspicious), above a failure. A coordinate whose difference is below the estimated
round-off of the numerical gradient counts as agreement (a gradient that is truly zero, such
as the bias before a batchnorm); a coordinate where the forward pass crosses a kink (ReLU,
max) between x-h and x+h is a `kink` warning, never a failure. When the user's code computes
in float32, h grows to 1e-3 and the thresholds widen to 1e-4 / 1e-2, and the result says so.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from sanitykit.engine import diagnosis as dg
from sanitykit.engine import naming, structure, wording
from sanitykit.engine.findings import Finding, Reason
from sanitykit.engine.notebook import NotebookDisplay
from sanitykit.engine.naming import MAX_SHOWN
from sanitykit.engine.numeric import (AGREE_CAP, directional_error, directional_quotients,
                                      joint_quotients, one_sided_differences, roundoff)
from sanitykit.engine.problems import LayerProblem, LossProblem, ModelProblem, default_names
from sanitykit.engine.shapes import read_shape
from sanitykit.engine.results import ERROR, FAIL, PASS, SKIP, WARN, Outcome
from sanitykit.engine.usercode import NotImplementedYet, UserCodeError, subject_name

__all__ = ["gradcheck", "gradcheck_loss", "gradcheck_model", "GradcheckResult", "InputResult",
           "Thresholds", "assert_gradients_match", "assert_loss_gradient_matches",
           "assert_model_gradients_match", "DEFAULT_BUDGET", "h_sweep"]

MODES = ("auto", "fast", "full")
DEFAULT_BUDGET = 200    # coordinates per input probed by auto's localisation when sampling
FAST_PROBE = 32         # coordinates fast mode probes in a failing input its directions cannot name
N_DIRECTIONS = 2        # random directions per input in the fast pass
GRADCHECK_STREAM = 0x6764  # mixed into the seed: dout and directions never repeat the caller's draws


@dataclass(frozen=True)
class Thresholds:
    """Verdict thresholds on the relative error.

    Args:
        good: at or below, the gradient is right (default 1e-7).
        suspicious: at or below (above good), a warning; above, a failure (default 1e-4).
    """

    good: float = 1e-7
    suspicious: float = 1e-4

    def verdict(self, error: float) -> str:
        if not np.isfinite(error) or error > self.suspicious:
            return FAIL
        return PASS if error <= self.good else WARN


FLOAT32_THRESHOLDS = Thresholds(good=1e-4, suspicious=1e-2)


@dataclass
class InputResult:
    """The verdict on one input's gradient (dw for input w)."""

    name: str
    shape: tuple
    status: str = PASS
    rel_error: float = 0.0
    worst_index: tuple | None = None
    finding: Finding | None = None         # the named mistake (or the kink) when not a plain pass
    kinks: int = 0
    errors: np.ndarray | None = None       # per-element relative error (NaN where not probed)
    analytic: np.ndarray | None = None
    numeric: np.ndarray | None = None      # NaN where not probed
    probed: int = 0
    wrong: int = 0
    fast_error: float | None = None
    worst: list = field(default_factory=list)   # [(index, analytic, numeric, rel_error)]

    @property
    def grad(self) -> str:
        return "d" + self.name

    @property
    def pattern(self) -> str | None:
        return self.finding.pattern if self.finding else None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def ok(self) -> bool:
        return self.status in (PASS, WARN)

    @property
    def where(self) -> str:
        return dg.format_index(self.grad, self.worst_index)


@dataclass
class GradcheckResult(NotebookDisplay):
    """The verdict of a gradient check: overall status, per-input results, notes.

    `message`, `hint` and str() are made from these fields by sanitykit.engine.wording, the
    rich view by sanitykit.engine.gradcheck_view; nothing here formats text beyond one line.
    """

    status: str
    subject: str = ""
    mode: str = ""                 # passes that ran: "fast", "fast+probed", "fast+sampled", "fast+full", "full"
    requested_mode: str = "auto"
    sampled: bool = False
    per_input: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    problem: str = ""              # one line when status is error/skip
    reason: Reason | None = None   # why it is error/skip, as data (default: made from problem)
    finding: Finding | None = None  # a whole-check finding (nondeterministic_forward, swapped...)
    h: float = 1e-5
    thresholds: Thresholds = field(default_factory=Thresholds)

    def __post_init__(self) -> None:
        if self.problem and self.reason is None and self.status in (ERROR, SKIP):
            kind = "raised" if self.status == ERROR else "not_implemented"
            self.reason = Reason(kind, (self.subject,) if self.subject else (), note=self.problem)

    @property
    def ok(self) -> bool:
        return self.status in (PASS, WARN)

    @property
    def max_rel_error(self) -> float:
        errs = [r.rel_error for r in self.per_input]
        if errs:
            return float(max(errs))
        if self.status == FAIL:
            # Stopped by a structural test (wrong shape or order) before any comparison:
            # report the largest relative error there is, never a reassuring 0.
            return 1.0
        return float("nan") if self.status in (ERROR, SKIP) else 0.0

    @property
    def probed(self) -> int:
        return sum(r.probed for r in self.per_input)

    @property
    def worst(self) -> str | None:
        bad = [r for r in self.per_input if r.worst_index is not None]
        return max(bad, key=lambda r: r.rel_error).where if bad else None

    @property
    def pattern(self) -> str | None:
        return self.finding.pattern if self.finding else None

    @property
    def patterns(self) -> list[str]:
        tags = [self.pattern] + [r.pattern for r in self.per_input]
        return list(dict.fromkeys(t for t in tags if t))  # each tag once, in order

    @property
    def findings(self) -> list[Finding]:
        """The whole-check finding, then each wrong (or kinked) input's, worst first."""
        inputs = sorted((r for r in self.per_input if r.finding and r.status != PASS),
                        key=lambda r: -r.rel_error)
        return ([self.finding] if self.finding else []) + [r.finding for r in inputs]

    @property
    def message(self) -> str:
        return wording.gradcheck_message(self)

    @property
    def hint(self) -> str:
        return wording.gradcheck_hint(self)

    def to_outcome(self) -> Outcome:
        """The check-suite view: status, the main finding (or reason) and the numbers behind them."""
        findings = self.findings
        details: dict[str, Any] = {
            "max_rel_error": self.max_rel_error, "mode": self.mode, "sampled": self.sampled,
            "probed": self.probed, "patterns": self.patterns, "worst": self.worst,
            "per_input": {r.name: {"status": r.status, "rel_error": r.rel_error,
                                   "worst_index": list(r.worst_index) if r.worst_index else None,
                                   "pattern": r.pattern, "kinks": r.kinks,
                                   "probed": r.probed, "wrong": r.wrong,
                                   "diagnosis": r.finding.to_dict() if r.finding else None}
                          for r in self.per_input},
        }
        if self.notes:
            details["notes"] = list(self.notes)
        finding = _with_places(findings[0], self) if findings and self.status in (FAIL, WARN) else None
        return Outcome(self.status, self.message, self.hint, details, finding=finding,
                       reason=self.reason if self.status in (ERROR, SKIP) else None)

    def __str__(self) -> str:
        return wording.gradcheck_text(self)

    def __repr__(self) -> str:
        err = self.max_rel_error
        return (f"GradcheckResult(ok={self.ok}, status={self.status!r}, "
                f"max_rel_error={err:.2g}, worst={self.worst!r})")

    def __rich_console__(self, console, options):
        from sanitykit.engine.gradcheck_view import rich_renderables
        yield from rich_renderables(self, console, options)

    def _plain_text(self) -> str:
        # A notebook's text part and IPython's terminal: the diagnosis a student would print().
        return str(self)


def _with_places(finding: Finding, result: "GradcheckResult") -> Finding:
    """`finding` with the wrong places of its input as `where` (the worst first), when it has none."""
    if finding.where:
        return finding
    for r in result.per_input:
        if r.finding is finding:
            places = [dg.format_index(r.grad, idx) for idx, *_ in r.worst[:MAX_SHOWN]]
            return replace(finding, where=tuple(places) or (r.grad,))
    return finding


# ------------------------------------------------------------------ public entry points

def gradcheck(forward, backward, *inputs, args=(), names=None, mode="auto", seed=0, h=None,
              thresholds=None, budget=DEFAULT_BUDGET, dout=None, subject=None) -> GradcheckResult:
    """Check backward against central differences of forward, and diagnose a mismatch.

    Args:
        forward: forward(*inputs, *args) -> out or (out, cache).
        backward: backward(dout, cache) -> grad or tuple of grads, one per input (extra
            trailing grads, e.g. batchnorm's dgamma/dbeta when only x is checked, are ignored).
            Without a cache from forward, backward gets the input (one input) or the tuple of inputs.
        inputs: the arrays to differentiate; copied to float64, never modified.
        args: extra arguments that are not differentiated (conv_param, bn_param, ...).
        names: input names for messages (default: forward's parameter names, e.g. x, w, b).
        mode: "auto" (default), "fast" or "full".
        seed: seeds dout, directions and samples.
        h: finite-difference step (default 1e-5; 1e-3 when the code computes in float32).
        thresholds: Thresholds or dict(good=..., suspicious=...).
        budget: coordinates per input probed by auto's localisation on a large input.
        dout: upstream gradient (default: standard normal, seeded).
        subject: the name used in messages (default: backward's name).
    """
    subject = subject or subject_name(backward)
    setup = _Setup(mode, seed, h, thresholds, budget, subject)
    try:
        names = list(names) if names is not None else default_names(forward, len(inputs))
        copies, notes = _float64_copies(inputs, names)
        problem = LayerProblem(forward, backward, copies, args, names, subject=subject)
    except ValueError as exc:
        return GradcheckResult(ERROR, subject, problem=str(exc))
    return _run(problem, setup, notes, dout=dout, batch=_batch_size(copies[0]))


def gradcheck_loss(loss_fn, x, *args, names=None, mode="auto", seed=0, h=None, thresholds=None,
                   budget=DEFAULT_BUDGET, subject=None) -> GradcheckResult:
    """Check a loss: loss_fn(x, *args) -> (loss, dx), e.g. svm_loss(x, y), softmax_loss(x, y).

    Args:
        loss_fn: the user's loss function.
        x: the scores, copied to float64; args (labels y, ...) are passed unchanged.
        other options as in gradcheck.
    """
    subject = subject or subject_name(loss_fn)
    setup = _Setup(mode, seed, h, thresholds, budget, subject)
    name = (list(names) if names else default_names(loss_fn, 1))[0]
    try:
        copies, notes = _float64_copies((x,), [name])
    except ValueError as exc:
        return GradcheckResult(ERROR, subject, problem=str(exc))
    problem = LossProblem(loss_fn, copies[0], args, name, subject=subject)
    return _run(problem, setup, notes, dout=None, batch=_batch_size(copies[0]))


def gradcheck_model(model, X, y, *, mode="auto", seed=0, h=None, thresholds=None,
                    budget=DEFAULT_BUDGET, subject=None) -> GradcheckResult:
    """Check every array of model.params against model.loss(X, y) -> (loss, grads).

    The parameters are perturbed in place and always restored, also when loss raises.
    float32 parameters are refused (the check needs float64 to mean anything).

    Args:
        model: has .params (dict of arrays) and .loss(X, y); .reg when it regularises.
        X, y: a small batch.
        other options as in gradcheck.
    """
    subject = subject or f"{type(model).__name__}.loss"
    setup = _Setup(mode, seed, h, thresholds, budget, subject)
    params = getattr(model, "params", None)
    if not isinstance(params, dict) or not params:
        return GradcheckResult(ERROR, subject, problem=f"{type(model).__name__} has no "
                               "params dict (model.params = {'W1': ..., 'b1': ...})")
    bad = [k for k, v in params.items() if not isinstance(v, np.ndarray)
           or v.dtype != np.float64]
    if bad:
        got = params[bad[0]]
        got_type = got.dtype if isinstance(got, np.ndarray) else type(got).__name__
        return GradcheckResult(ERROR, subject, problem=(
            f"model.params[{bad[0]!r}] is {got_type}, not float64: gradient checks need "
            f"float64 parameters; build the model with dtype=np.float64"))
    saved = {k: v.copy() for k, v in params.items()}
    try:
        problem = ModelProblem(model, X, y, subject=subject)
        result = _run(problem, setup, [], dout=None, batch=_batch_size(np.asarray(X)),
                      reg=getattr(model, "reg", None))
    finally:
        for k, v in saved.items():  # belt and braces: every perturbation already restored
            if model.params.get(k) is not None and model.params[k].shape == v.shape:
                model.params[k][...] = v
    return result


def assert_gradients_match(forward, backward, *inputs, **kw) -> GradcheckResult:
    """gradcheck, raising AssertionError(str(result)) unless the verdict is pass or warn."""
    __tracebackhide__ = True
    result = gradcheck(forward, backward, *inputs, **kw)
    if not result.ok:
        raise AssertionError(str(result))
    return result


def assert_loss_gradient_matches(loss_fn, x, *args, **kw) -> GradcheckResult:
    """gradcheck_loss, raising AssertionError(str(result)) unless pass or warn."""
    __tracebackhide__ = True
    result = gradcheck_loss(loss_fn, x, *args, **kw)
    if not result.ok:
        raise AssertionError(str(result))
    return result


def assert_model_gradients_match(model, X, y, **kw) -> GradcheckResult:
    """gradcheck_model, raising AssertionError(str(result)) unless pass or warn."""
    __tracebackhide__ = True
    result = gradcheck_model(model, X, y, **kw)
    if not result.ok:
        raise AssertionError(str(result))
    return result


def h_sweep(forward, backward, *inputs, steps=(1e-3, 1e-4, 1e-5, 1e-6, 1e-7), **kw) -> list:
    """max_rel_error for several steps h: tells truncation from round-off on a borderline error.

    An error that falls as h shrinks is truncation (a kink or strong curvature nearby); one that
    grows as h shrinks is round-off (float32 inside the code, or a huge output sum).

    Args:
        forward, backward, inputs: as for gradcheck.
        steps: the values of h to try.
        kw: other gradcheck options (the mode is always "full").
    Returns:
        [(h, max_rel_error), ...] in the order of `steps`.
    """
    kw["mode"] = "full"
    sweep = []
    for h in steps:
        result = gradcheck(forward, backward, *inputs, h=h, **kw)
        # The raw course error, without the round-off allowance the verdict grants.
        raw = [float(np.nanmax(r.errors)) for r in result.per_input if r.errors is not None]
        sweep.append((h, max(raw) if raw else result.max_rel_error))
    return sweep


# ------------------------------------------------------------------------------ set-up

@dataclass
class _Setup:
    mode: str
    seed: int
    h: float | None
    thresholds: Any
    budget: int
    subject: str

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if isinstance(self.thresholds, dict):
            self.thresholds = Thresholds(**self.thresholds)
        self.thresholds = self.thresholds or Thresholds()
        self.budget = max(1, int(self.budget))


def _float64_copies(inputs, names) -> tuple[list[np.ndarray], list[str]]:
    """Contiguous float64 copies of the inputs (the user's arrays are never touched), with notes."""
    if len(inputs) == 0:
        raise ValueError("gradcheck needs at least one input array to differentiate")
    if len(names) != len(inputs):
        raise ValueError(f"{len(names)} names for {len(inputs)} inputs")
    copies, notes = [], []
    for x, name in zip(inputs, names):
        arr = np.asarray(x)
        if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
            raise ValueError(f"input {name} is {arr.dtype}, not a number array")
        if arr.dtype != np.float64 or not isinstance(x, np.ndarray):
            what = arr.dtype if isinstance(x, np.ndarray) else type(x).__name__
            notes.append(f"{name} was {what}; checked on a float64 copy (central differences "
                         "need float64's digits to see errors below 1e-4)")
        copies.append(np.array(arr, dtype=np.float64, order="C", copy=True))
    return copies, notes


def _batch_size(x: np.ndarray) -> int | None:
    return int(x.shape[0]) if x.ndim >= 2 else None


# --------------------------------------------------------------------------- the run

class _Stop(Exception):
    """Ends a run early with a finished result (a structural failure)."""

    def __init__(self, result: GradcheckResult):
        self.result = result


def _run(problem, setup: _Setup, notes: list[str], *, dout, batch, reg=None) -> GradcheckResult:
    base = GradcheckResult(PASS, setup.subject, requested_mode=setup.mode, notes=list(notes),
                           thresholds=setup.thresholds, h=setup.h or 1e-5)
    pristine = [x.copy() for x in problem.inputs]
    try:
        return _run_checked(problem, setup, base, dout, batch, reg, pristine)
    except _Stop as stop:
        return stop.result
    except NotImplementedYet as exc:
        base.status, base.problem = SKIP, str(exc)
        base.reason = Reason("not_implemented", (exc.subject,), note=exc.how)
        return base
    except UserCodeError as exc:
        base.status, base.problem = ERROR, exc.reason
        base.reason = Reason("raised", (exc.subject or setup.subject,), note=exc.reason, fix=exc.fix)
        return base
    finally:
        for x, p in zip(problem.inputs, pristine):
            np.copyto(x, p)


def _run_checked(problem, setup, result, dout, batch, reg, pristine) -> GradcheckResult:
    # A stream of its own: a check that drew its inputs from default_rng(seed) must not get a
    # dout made of the same numbers (an affine function of x per feature: batchnorm's dx vanishes).
    rng = np.random.default_rng([setup.seed, GRADCHECK_STREAM])
    out0 = problem.prepare()
    _check_output(problem, out0, result)
    u = _upstream(problem, out0, dout, rng)
    _restore_after(problem, pristine, result, "forward")
    before = structure.cache_snapshot(problem)
    grads = [g.copy() for g in problem.gradients(u, fresh=False)]
    written = structure.cache_written(before, problem)
    mutated = _restore_after(problem, pristine, result, "backward", strict=False)
    h, thr, eps = _precision(problem, out0, grads, setup, result)
    result.h, result.thresholds = h, thr
    ctx = _Context(problem, out0, u, grads, h, thr, roundoff(out0, u, h, eps), rng, batch, reg,
                   seed=setup.seed, eps=eps, pristine=pristine, result=result, raw_grads=list(grads))
    soft = _check_shapes(ctx, result)
    _check_nan(problem, ctx.grads, result)
    per_input = [InputResult(n, x.shape) for n, x in zip(problem.names, problem.inputs)]
    passes = []
    if setup.mode in ("fast", "auto"):
        passes.append("fast")
        _fast_pass(ctx, per_input)
        _explain_structure(ctx, per_input, mutated)
    to_localise = [i for i, r in enumerate(per_input)
                   if setup.mode == "full" or (setup.mode == "auto" and r.status != PASS)]
    sampled = False
    for i in to_localise:
        indices, was_sampled = _coordinates(problem.inputs[i].shape, setup.budget, rng,
                                            everything=setup.mode == "full",
                                            targets=_targets(ctx, i, setup.budget))
        sampled |= was_sampled
        _localise(ctx, i, indices, per_input[i])
    if to_localise:
        passes.append("sampled" if sampled else "full")
    if setup.mode == "full":
        _explain_structure(ctx, per_input, mutated)
    if setup.mode == "fast" and _probe_fast(ctx, per_input):
        passes.append("probed")
    result.mode, result.sampled, result.per_input = "+".join(passes), sampled, per_input
    naming.diagnose(ctx, per_input, result)
    _soft_faults(ctx, per_input, result, soft, mutated, written)
    return _finish(result)


def _probe_fast(ctx: "_Context", per_input) -> bool:
    """Fast mode: a failing input that no hypothesis on its random directions names (a constant
    ratio, a transpose, all zeros) gets FAST_PROBE one-hot directions laid out by structure
    (every row, every channel, the border pixels), enough for the element-wise patterns.

    Returns whether any input was probed.
    """
    probed = False
    for i, r in enumerate(per_input):
        if r.status == PASS or r.pattern == "kink" or naming.named_by_directions(ctx, i):
            continue
        indices, _ = _coordinates(ctx.problem.inputs[i].shape, FAST_PROBE, ctx.rng,
                                  targets=_targets(ctx, i, FAST_PROBE), groups=FAST_PROBE // 4)
        _localise(ctx, i, indices, r)
        probed = True
    return probed


def _failing(per_input) -> bool:
    """A gradient failed, or is suspicious for a reason other than a kink."""
    return any(r.status == FAIL or (r.status == WARN and r.pattern != "kink") for r in per_input)


def _explain_structure(ctx: "_Context", per_input, mutated: str | None) -> None:
    """Once a gradient disagrees, the structural tests that can explain it (they call the user's
    code again, so a correct layer never pays for them): a noisy forward or backward, an input
    the backward wrote into, terms that do not go through dout."""
    if ctx.explained or all(r.status == PASS for r in per_input):
        return
    problem, result = ctx.problem, ctx.result
    # Noise looks like a kink to a directional step: tested on any doubt.
    _stop_on(structure.forward_noise(problem, ctx.out0), result)
    _stop_on(structure.backward_noise(problem, ctx.u, ctx.raw_grads, ctx.restore), result)
    if not _failing(per_input):
        return
    ctx.explained = True
    if mutated:
        _stop_mutated(problem, mutated, "backward", result)
    if problem.kind == "layer":
        notes, ctx.zero_grads = structure.linearity(problem, ctx.u, ctx.grads, ctx.restore)
        result.notes.extend(notes)


@dataclass
class _Context:
    problem: Any
    out0: np.ndarray
    u: Any
    grads: list
    h: float
    thr: Thresholds
    atol: float
    rng: Any
    batch: int | None
    reg: float | None
    seed: int = 0
    eps: float = float(np.finfo(np.float64).eps)  # the machine epsilon the user's code computes in
    pristine: list = field(default_factory=list)  # the inputs as given, to put back after a call
    result: Any = None
    zero_grads: list | None = None             # backward(dout=0) per input (layers only)
    fast: dict = field(default_factory=dict)   # input index -> [(v, d_plus, d_minus)]
    explained: bool = False                    # the structural tests of _explain_structure ran
    raw_grads: list = field(default_factory=list)  # the gradients as returned (before a shape repair)

    @property
    def low_precision(self) -> bool:
        """The user's code computes in float32 (h and the round-off estimate grew for it)."""
        return self.eps > np.finfo(np.float64).eps

    def restore(self) -> None:
        """Put the inputs back after a call of the user's code (stop if the forward wrote into them)."""
        _restore_after(self.problem, self.pristine, self.result, "backward", strict=False)

    def stream(self, k: int):
        """A generator of its own for step k, so that what the failure path draws stays the same."""
        return np.random.default_rng([self.seed, GRADCHECK_STREAM, k])


def _upstream(problem, out0, dout, rng):
    if problem.kind != "layer":
        return 1.0
    if dout is None:
        return rng.standard_normal(out0.shape)
    dout = np.asarray(dout, dtype=np.float64)
    if dout.shape != out0.shape:
        raise _Stop(GradcheckResult(ERROR, problem.bname, problem=(
            f"dout has shape {dout.shape} but {problem.fname} returned shape {out0.shape}")))
    return dout


def _stop(result: GradcheckResult, status: str, pattern: str, what: str, likely: str,
          fix: str = "") -> None:
    result.status, result.finding = status, Finding(pattern, what, likely, fix)
    raise _Stop(result)


def _stop_on(finding: Finding | None, result: GradcheckResult) -> None:
    """A structural finding ends the run as a failure."""
    if finding is not None:
        result.status, result.finding = FAIL, finding
        raise _Stop(result)


def _check_output(problem, out0, result) -> None:
    if not np.all(np.isfinite(out0)):
        raise UserCodeError(f"{problem.fname} returned NaN or inf in its output at the check's "
                            "random inputs", subject=problem.fname)


def _restore_after(problem, pristine, result, which: str, strict: bool = True) -> str | None:
    """Put the inputs back; return the name of one the user's code modified (stop if `strict`)."""
    changed = None
    for name, x, p in zip(problem.names, problem.inputs, pristine):
        if not np.array_equal(x, p):
            np.copyto(x, p)
            changed = changed or name
    if changed and strict:
        _stop_mutated(problem, changed, which, result)
    return changed


def _stop_mutated(problem, name: str, which: str, result) -> None:
    fn = problem.fname if which == "forward" else problem.bname
    _stop(result, FAIL, "mutates_input",
          f"{fn} modified {name} in place (the array it was given changed)",
          f"an in-place operation on {name} or on the array of the cache that is {name} "
          "(x -= mean, x *= mask, x[x <= 0] = 0)",
          "work on a copy: write x = x - mean, not x -= mean")


def _check_shapes(ctx: "_Context", result) -> dict:
    """Stop on a gradient of the wrong shape, with the mistake read from the shape itself.

    The repair that mechanism implies (a transpose, a sum, a crop) is measured along a random
    direction, so the finding says whether the values are right. A gradient that differs only by
    axes of length 1 ((1, D) for (D,)) and is right once reshaped is checked on: the returned
    {input index: Finding} are warnings to give when its values pass.
    """
    problem, grads = ctx.problem, list(ctx.grads)
    shapes = [x.shape for x in problem.inputs]
    got = [g.shape for g in grads]
    if got == shapes:
        return {}
    names = problem.names
    if sorted(map(str, got)) == sorted(map(str, shapes)):
        order = [names[shapes.index(s)] for s in got]
        _stop(result, FAIL, "swapped",
              f"{problem.bname} returned gradients shaped like ({', '.join('d' + n for n in order)}) "
              f"in place of ({', '.join('d' + n for n in names)})",
              "the gradients are returned in the wrong order",
              f"return them in the order of the inputs: return {', '.join('d' + n for n in names)}")
    soft = {}
    for k, (g, shape) in enumerate(zip(grads, shapes)):
        if g.shape == shape:
            continue
        reading = read_shape(names[k], g.shape, shape, batch_shape=_batch_shape(problem),
                             dout_shape=ctx.out0.shape if problem.kind == "layer" else None,
                             pad=_conv_pad(problem))
        repaired = _repaired(reading, g, shape)
        right = None if repaired is None else _agrees_along_random(ctx, k, repaired)
        if reading.soft and right:
            ctx.grads[k], soft[k] = repaired, reading.finding
            continue
        result.status, result.finding = FAIL, reading.measured(right)
        raise _Stop(result)
    return soft


def _repaired(reading, g: np.ndarray, shape: tuple) -> np.ndarray | None:
    if reading.repair is None:
        return None
    try:
        fixed = np.asarray(reading.repair(g), dtype=np.float64)
    except ValueError:
        return None
    return fixed if fixed.shape == shape else None


def _agrees_along_random(ctx: "_Context", k: int, g: np.ndarray) -> bool:
    """g (for input k) matches the numerical directional derivative along one random direction."""
    x = ctx.problem.inputs[k]
    v = ctx.stream(2).standard_normal(x.shape)
    v /= max(np.linalg.norm(v), 1e-300)
    dp, dm, _ = directional_quotients(ctx.problem.evaluate, x, v, ctx.out0, ctx.u, ctx.h)
    return directional_error(float(np.vdot(g, v)), dp, dm, g, ctx.atol) <= ctx.thr.suspicious


def _batch_shape(problem) -> tuple | None:
    """The shape whose first axis is the batch: the layer's (loss's) first input, the model's X."""
    if problem.kind == "model":
        return tuple(np.shape(problem.X))
    return problem.inputs[0].shape if problem.inputs[0].ndim >= 2 else None


def _conv_pad(problem) -> int | None:
    for arg in getattr(problem, "args", ()):
        if isinstance(arg, dict) and isinstance(arg.get("pad"), (int, np.integer)):
            return int(arg["pad"])
    return None


def _precision(problem, out0, grads, setup, result) -> tuple[float, Thresholds, float]:
    """(h, thresholds, eps): widened, with a note, when the user's code computes in float32."""
    h = setup.h or 1e-5
    lowp = [("d" + n) for n, g in zip(problem.names, grads) if g.dtype.itemsize < 8]
    if getattr(problem, "out_dtype", np.float64) != np.float64:
        lowp.insert(0, "the output")
    if not lowp:
        return h, setup.thresholds, float(np.finfo(np.float64).eps)
    if setup.h is None:
        h = 1e-3
    thr = setup.thresholds if setup.thresholds != Thresholds() else FLOAT32_THRESHOLDS
    result.notes.append(f"{', '.join(lowp)} came back in float32 although the inputs were "
                        f"float64: your code casts, so the check used h={h:g} and thresholds "
                        f"{thr.good:g} / {thr.suspicious:g} (float32 keeps about 7 digits, so a "
                        f"difference quotient with h={h:g} is good to about 1e-4 at best)")
    return h, thr, float(np.finfo(np.float32).eps)


def _check_nan(problem, grads, result) -> None:
    for name, g in zip(problem.names, grads):
        if not np.all(np.isfinite(g)):
            count = int(np.sum(~np.isfinite(g)))
            idx = np.unravel_index(int(np.argmax(~np.isfinite(g).reshape(-1))), g.shape)
            _stop(result, FAIL, "nan",
                  f"d{name} contains NaN or inf in {count} of {g.size} elements, first at "
                  f"{dg.format_index('d' + name, idx)}",
                  f"something in the backward pass of d{name} overflows or divides by zero "
                  "(1/x of a zero, np.log(0), an exp of large scores)",
                  "print the intermediate arrays and find the first with np.isnan(...).any(); "
                  "add the eps of the forward pass where you divide")


# ---------------------------------------------------------------------------- the passes

def _refine(ctx: _Context, x, indices, analytic, numeric, err, agree) -> None:
    """Richardson-extrapolate the central differences of the elements that look wrong.

    A smooth but strongly curved function (batchnorm over a few close values) leaves a
    truncation error of O(h²) that can exceed 1e-7 on a correct gradient. (4·D(h/2) - D(h))/3
    cancels that term; a real bug, or a kink, stays wrong. Updates the arrays in place.
    """
    suspect = np.flatnonzero((err > ctx.thr.good) & ~agree)
    if suspect.size == 0:
        return
    d_plus, d_minus = one_sided_differences(ctx.problem.evaluate, x, indices[suspect], ctx.out0,
                                            ctx.u, ctx.h / 2)
    refined = (4 * 0.5 * (d_plus + d_minus) - numeric[suspect]) / 3
    err2, agree2 = _element_errors(analytic[suspect], refined, 3 * ctx.atol)  # round-off grows as h shrinks
    better = err2 < err[suspect]
    take = suspect[better]
    numeric[take], err[take], agree[take] = refined[better], err2[better], agree2[better]


def _kink_like(analytic, d_plus, d_minus, atol) -> np.ndarray:
    """True where the one-sided quotients disagree and the analytic value lies between them.

    A kink crossed between x-h and x+h makes one quotient follow each side of it; the true
    derivative is then one of the two, while the central difference is their mean.
    """
    lo, hi = np.minimum(d_plus, d_minus), np.maximum(d_plus, d_minus)
    gap = hi - lo
    margin = 0.01 * gap + atol
    big_gap = gap > np.maximum(10 * atol, 1e-6 * (np.abs(d_plus) + np.abs(d_minus)))
    return big_gap & (analytic >= lo - margin) & (analytic <= hi + margin)


def _element_errors(analytic, numeric, atol):
    """(course relative error, agreement within round-off) per element."""
    diff = np.abs(analytic - numeric)
    err = diff / np.maximum(1e-8, np.abs(analytic) + np.abs(numeric))
    return err, diff <= atol


def _fast_pass(ctx: _Context, per_input: list[InputResult]) -> None:
    """One random direction through every input at once; per input only when it disagrees.

    A correct layer costs two forward passes, whatever its number of inputs (torch's fast mode
    pays two per input). When the joint derivative disagrees, or its step crossed a kink, each
    input gets its own directions, so the verdict and the diagnosis are per input as before.
    """
    if len(ctx.problem.inputs) > 1 and _joint_agrees(ctx, per_input):
        return
    _per_input_pass(ctx, per_input)


def _joint_agrees(ctx: _Context, per_input: list[InputResult]) -> bool:
    """The directional derivative along (v_x, v_w, v_b), each block of norm 1/sqrt(k), agrees."""
    rng, k = ctx.stream(1), len(ctx.problem.inputs)
    vs = []
    for x in ctx.problem.inputs:
        v = rng.standard_normal(x.shape)
        vs.append(v / (max(np.linalg.norm(v), 1e-300) * np.sqrt(k)))
    dp, dm, _ = joint_quotients(ctx.problem.evaluate, ctx.problem.inputs, vs, ctx.out0, ctx.u, ctx.h)
    analytic = float(sum(np.vdot(g, v) for g, v in zip(ctx.grads, vs)))
    # The expected size of <g_i, v_i> is ||g_i|| / sqrt(n_i k): their root sum of squares.
    typical = float(np.sqrt(sum(np.vdot(g, g) / (max(g.size, 1) * k) for g in ctx.grads)))
    err = directional_error(analytic, dp, dm, None, ctx.atol, typical=typical)
    if err > ctx.thr.good:
        return False
    for r in per_input:
        r.fast_error = r.rel_error = err
    return True


def _per_input_pass(ctx: _Context, per_input: list[InputResult]) -> None:
    """Random directional derivatives per input: (f(x+hv) - f(x-hv))/2h against <grad, v>.

    A direction whose step crosses a kink (ReLU, max: see directional_quotients) can make
    the central difference meaningless; when the kinks crossed explain the disagreement, it
    is a `kink` warning, not a failure (auto mode then checks element by element).
    """
    for i, (x, g, r) in enumerate(zip(ctx.problem.inputs, ctx.grads, per_input)):
        worst, kink = 0.0, None
        ctx.fast[i] = []
        for _ in range(N_DIRECTIONS):
            v = ctx.rng.standard_normal(x.shape)
            v /= max(np.linalg.norm(v), 1e-300)
            dp, dm, bound = directional_quotients(ctx.problem.evaluate, x, v, ctx.out0, ctx.u,
                                                  ctx.h)
            ctx.fast[i].append((v, dp, dm))
            analytic = float(np.vdot(g, v))
            err = directional_error(analytic, dp, dm, g, ctx.atol)
            if err > ctx.thr.good and (_kink_like(analytic, dp, dm, ctx.atol)
                                       or abs(0.5 * (dp + dm) - analytic) <= bound + ctx.atol):
                kink = kink or (analytic, dp, dm)
                continue
            worst = max(worst, err)
        r.fast_error = r.rel_error = worst
        r.status = ctx.thr.verdict(worst)
        if kink and r.status == PASS:
            r.status, r.kinks = WARN, 1
            r.finding = dg.fast_kink(ctx.problem.fname, *kink)


def _targets(ctx: _Context, i: int, budget: int) -> np.ndarray:
    """Elements worth probing whatever the sample: where backward(dout=0) is nonzero."""
    if not ctx.zero_grads or ctx.zero_grads[i].shape != ctx.problem.inputs[i].shape:
        return np.array([], dtype=np.int64)
    return np.flatnonzero(ctx.zero_grads[i])[:max(1, budget // 4)]


def _coordinates(shape, budget, rng, everything=False, targets=None,
                 groups: int | None = None) -> tuple[np.ndarray, bool]:
    """Flat indices to probe: all of them when small, else a seeded sample with structure.

    The structured part gives every example (row), every channel and the border pixels some
    coordinates, so "only the first example is right" or "wrong at the border" can be seen;
    `targets` (elements where backward(dout=0) is nonzero) are always included. `groups` caps
    the rows (channels) that get their two coordinates: the first, the last and random others.
    """
    size = int(np.prod(shape, dtype=np.int64))
    if everything or size <= budget:
        return np.arange(size), False
    picks = [np.asarray(targets, dtype=np.int64)] if targets is not None and len(targets) else []
    if len(shape) >= 2:
        for axis in range(min(2, len(shape))):
            for k in _groups_probed(shape[axis], groups, rng):  # two coordinates in every row / channel
                idx = [rng.integers(0, s, size=2) for s in shape]
                idx[axis] = np.full(2, k)
                picks.append(np.ravel_multi_index(idx, shape))
    if len(shape) == 4 and min(shape[2:]) >= 3:
        n = max(2, budget // 8)
        idx = [rng.integers(0, s, size=n) for s in shape]
        edge = rng.integers(0, 4, size=n)  # top, bottom, left, right
        idx[2] = np.where(edge == 0, 0, np.where(edge == 1, shape[2] - 1, idx[2]))
        idx[3] = np.where(edge == 2, 0, np.where(edge == 3, shape[3] - 1, idx[3]))
        picks.append(np.ravel_multi_index(idx, shape))
    chosen = np.unique(np.concatenate(picks)) if picks else np.array([], dtype=np.int64)
    rest = np.setdiff1d(np.arange(size), chosen)
    extra = max(0, budget - chosen.size)
    if extra:
        chosen = np.concatenate([chosen, rng.choice(rest, size=min(extra, rest.size), replace=False)])
    return np.sort(chosen[:max(budget, chosen.size)]), True


def _groups_probed(count: int, cap: int | None, rng) -> list[int]:
    if cap is None or count <= cap:
        return list(range(count))
    others = rng.choice(np.arange(1, count - 1), size=max(0, cap - 2), replace=False)
    return [0, count - 1, *sorted(int(k) for k in others)]


def _localise(ctx: _Context, i: int, indices: np.ndarray, r: InputResult) -> None:
    """Central differences at `indices` of input i; per-element errors, kinks and the worst places."""
    x, g = ctx.problem.inputs[i], ctx.grads[i]
    r.finding, r.kinks = None, 0  # the element-wise verdict replaces fast's
    d_plus, d_minus = one_sided_differences(ctx.problem.evaluate, x, indices, ctx.out0, ctx.u, ctx.h)
    numeric = 0.5 * (d_plus + d_minus)
    analytic = g.reshape(-1)[indices]
    err, agree = _element_errors(analytic, numeric, ctx.atol)
    _refine(ctx, x, indices, analytic, numeric, err, agree)
    kink = _kink_like(analytic, d_plus, d_minus, ctx.atol) & (err > ctx.thr.good) & ~agree
    effective = np.where(kink, 0.0, np.where(agree, np.minimum(err, AGREE_CAP), err))
    full_num = np.full(x.size, np.nan)
    full_num[indices] = numeric
    full_err = np.full(x.size, np.nan)
    full_err[indices] = err
    r.numeric, r.errors, r.analytic = full_num.reshape(x.shape), full_err.reshape(x.shape), g
    r.probed, r.kinks = int(indices.size), int(kink.sum())
    wrong = effective > ctx.thr.good
    r.wrong = int(wrong.sum())
    r.rel_error = float(effective.max(initial=0.0))
    status = ctx.thr.verdict(r.rel_error)
    if status == PASS and r.fast_error is not None and r.fast_error > ctx.thr.suspicious \
            and indices.size < x.size:
        status = FAIL  # fast saw a mismatch the sample did not hit: still wrong
    r.status = status
    order = np.argsort(-np.where(wrong, effective, -1.0))[:MAX_SHOWN]
    r.worst = [(tuple(int(k) for k in np.unravel_index(indices[j], x.shape)), float(analytic[j]),
                float(numeric[j]), float(err[j])) for j in order if wrong[j]]
    if r.worst:
        r.worst_index = r.worst[0][0]
    if r.status == PASS and r.kinks:
        r.status = WARN
        ki = int(np.flatnonzero(kink)[0])
        r.worst_index = tuple(int(k) for k in np.unravel_index(indices[ki], x.shape))
        r.finding = dg.element_kink(r.grad, r.kinks, r.where, float(analytic[ki]),
                                    float(d_plus[ki]), float(d_minus[ki]))
        r.rel_error = float(err[ki]) if r.rel_error <= ctx.thr.good else r.rel_error
    r._wrong_mask = wrong  # for the diagnosis
    r._indices = indices


def _soft_faults(ctx: _Context, per_input: list[InputResult], result: GradcheckResult,
                 soft: dict, mutated: str | None, written: list[str]) -> None:
    """Right values, harmful habits: a warning where the values pass, a note where they do not."""
    for k, finding in soft.items():
        r = per_input[k]
        if r.status == PASS:
            r.status, r.finding, r.rel_error = WARN, finding, max(r.rel_error, 0.0)
        else:
            result.notes.append(finding.what)
    problem = ctx.problem
    habit = None
    if getattr(problem, "dout_changed", 0):
        habit = dg.writes_dout(problem.bname, problem.dout_changed, int(np.size(ctx.u)),
                               problem.dout_zeroed)
    elif mutated:
        habit = dg.writes_input(problem.bname, mutated)
    elif written:
        habit = dg.writes_cache(problem.bname, written)
    if habit is None:
        return
    if _failing(per_input):
        result.notes.append(habit.what)
    else:
        result.finding = habit


def _finish(result: GradcheckResult) -> GradcheckResult:
    from sanitykit.engine.results import SEVERITY
    statuses = [r.status for r in result.per_input] or [PASS]
    result.status = max(statuses, key=lambda s: SEVERITY[s])
    if result.finding is not None and result.status == PASS:
        result.status = WARN  # a habit found with right values (_soft_faults)
    for r in result.per_input:
        if hasattr(r, "_wrong_mask"):
            del r._wrong_mask, r._indices
    return result
