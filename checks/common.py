"""Helpers shared by every check module: calling the user's functions, validating what they
return, comparing arrays with a diagnosis, and making random inputs.

Conventions:
- Unusable output (None, not an array, wrong tuple arity) is raised: `NotImplementedYet` for
  stubs (the runner makes it `skip`), `UserCodeError` otherwise (the runner makes it `error`).
- Wrong values, shapes or dtypes are the student's bug: helpers return a failed `Outcome`
  (or None when all is well), so a check reads `problem = ...; if problem: return problem`.
- Everything is float64 and comes from `ctx.rng`; global numpy random state is never touched.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
from dataclasses import replace
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from sanitykit.engine import wording
from sanitykit.engine.findings import Finding
from sanitykit.engine.results import Outcome, failed, passed
from sanitykit.engine.usercode import NotImplementedYet, UserCodeError, call_user

# A float64 implementation agrees with the reference to ~1e-12; 1e-7 is the course's bar.
FORWARD_TOL = 1e-7
# Numbers that are "zero" at the scale of the output (summation-order noise), see elements_wrong.
ATOL_SCALE = 1e-10
MAX_PLACES = 5  # name at most five wrong elements, as numpy's "First 5 mismatches"


# ---------------------------------------------------------------- calling user code

def describe_value(value: Any) -> str:
    """A short description of what user code returned: `an ndarray of shape (3, 5)`, `None`, `a list of 2`."""
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"an ndarray of shape {value.shape} ({value.dtype})"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)}"
    if isinstance(value, (np.generic, int, float)):
        return f"the scalar {value!r}"
    return f"a {type(value).__name__}"


def unpack(value: Any, names: Sequence[str], subject: str) -> tuple:
    """Check that `subject` returned a tuple of len(names) values; return it as a tuple.

    Args:
        value: what the user's function returned.
        names: what each element is called, e.g. ("out", "cache") or ("dx", "dw", "db").
        subject: the user's function name, for messages.
    """
    if value is None:
        raise NotImplementedYet(subject, "returned None")
    if len(names) == 1:
        return (value,)
    expected = f"({', '.join(names)})"
    if not isinstance(value, (tuple, list)):
        raise UserCodeError(f"{subject} returned {describe_value(value)}, expected a tuple {expected}",
                            subject=subject)
    if len(value) != len(names):
        raise UserCodeError(f"{subject} returned {describe_value(value)}, expected {len(names)} "
                            f"values {expected}", subject=subject)
    return tuple(value)


def call_stub_aware(fn: Callable, *args: Any, subject: str) -> Any:
    """call_user, with the course's stub pattern read as "not implemented yet", and an error's
    hint naming what the check passed (with_call_named).

    The starter code of dropout_forward ends with `out = out.astype(x.dtype, copy=False)`
    after `out = None` and an empty TODO block, so the untouched stub raises AttributeError
    on None instead of returning None.
    """
    try:
        return call_user(fn, *args, subject=subject)
    except UserCodeError as exc:
        if "'NoneType' object has no attribute 'astype'" in exc.reason:
            raise NotImplementedYet(subject, "its output is still None") from None
        raise with_call_named(exc, fn, subject, args) from None


def argument_names(fn: Callable, count: int) -> list[str]:
    """The names of fn's first `count` positional parameters (`x`, `w`, `b`), `argument i` beyond them."""
    try:
        params = [p.name for p in inspect.signature(fn).parameters.values()
                  if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    return params[:count] + [f"argument {i + 1}" for i in range(len(params), count)]


def with_call_named(error: UserCodeError, fn: Callable, subject: str, args: Sequence[Any]) -> UserCodeError:
    """`error` with a hint that names the shapes the check passed to `fn` (x (4, 5), w (5, 3), b (3,)).

    A broadcast or shape error is about arrays the student never saw printed: the hint says
    what went in. A NumPy-2 fix, or a fix the raiser knew better, is kept as it is.
    """
    if not error.error_type or error.error_type in wording.CALL_BLIND_ERRORS or error.fix:
        return error
    call = wording.call_text(subject, zip(argument_names(fn, len(args)), args))
    fix = wording.called_fix(error.error_type, call, unpacking="values to unpack" in error.reason)
    return UserCodeError(error.reason, subject=error.subject, where=error.where, source_line=error.source_line,
                         error_type=error.error_type, fix=fix, numpy_change=error.numpy_change)


def call_named(fn: Callable, *args: Any, subject: str) -> Any:
    """call_user, an error's hint naming what the check passed (with_call_named)."""
    try:
        return call_user(fn, *args, subject=subject)
    except UserCodeError as exc:
        raise with_call_named(exc, fn, subject, args) from None


def context_named(fn: Callable, subject: str) -> Callable:
    """`fn` for the engine's gradcheck: called through call_stub_aware, so an error names its inputs."""
    @functools.wraps(fn)
    def named_call(*args: Any) -> Any:
        return call_stub_aware(fn, *args, subject=subject)

    return named_call


def forward_pair(ctx: Any, name: str, *args: Any) -> tuple[np.ndarray, Any]:
    """Call the user's forward `name(*args)` and return (out, cache) with out a float ndarray.

    A stub returning None or (None, cache) raises NotImplementedYet; anything else unusable
    raises UserCodeError with one line naming what came back.

    Args:
        ctx: the CheckContext (the function is ctx.fn(name); SkipCheck when absent).
        name: conventional name, e.g. "affine_forward".
        args: the forward's arguments.
    """
    fn = ctx.fn(name)
    x = args[0] if args else None
    before = x.copy() if isinstance(x, np.ndarray) else None
    out, cache = unpack(call_stub_aware(fn, *args, subject=name), ("out", "cache"), name)
    # A stub such as `out = x  # TODO` hands back its very input, untouched; dropout's test mode
    # legitimately does (`out = x`), and an in-place edit of x is a bug the checks must see.
    if out is x and before is not None and name != "dropout_forward" and np.array_equal(out, before, equal_nan=True):
        raise NotImplementedYet(name, "returned its input unchanged")
    return expect_array(out, "out", subject=name), cache


def call_backward(ctx: Any, name: str, dout: np.ndarray, cache: Any,
                  grad_names: Sequence[str] = ("dx",)) -> tuple[np.ndarray, ...]:
    """Call the user's backward `name(dout, cache)`; return its gradients as a tuple of ndarrays.

    Args:
        ctx: the CheckContext.
        name: conventional name, e.g. "affine_backward".
        dout: upstream gradient.
        cache: the cache the forward returned.
        grad_names: names of the returned gradients, e.g. ("dx", "dw", "db").
    """
    fn = ctx.fn(name)
    grads = unpack(call_stub_aware(fn, dout, cache, subject=name), grad_names, name)
    return tuple(expect_array(g, n, subject=name) for g, n in zip(grads, grad_names))


def expect_array(value: Any, name: str, *, subject: str) -> np.ndarray:
    """`value` as a numeric ndarray, or raise: None -> NotImplementedYet; non-numeric -> UserCodeError.

    Args:
        value: one returned value (out, dx, ...).
        name: what it is called ("out", "dw").
        subject: the user's function name.
    """
    if value is None:
        raise NotImplementedYet(subject, f"returned {name} = None")
    if isinstance(value, np.ndarray) and value.dtype.kind in "fiub":
        return value
    raise UserCodeError(f"{subject} returned {name} as {describe_value(value)}, expected a numpy array",
                        subject=subject)


def shape_problem(array: np.ndarray, name: str, expected: tuple, *, subject: str,
                  hint: str = "") -> Outcome | None:
    """A failed Outcome when `array` does not have shape `expected`, else None.

    Args:
        array: the returned array.
        name: its name in messages ("dw").
        expected: the shape it must have.
        subject: the user's function name.
        hint: the likely mistake for this layer (default: a generic one, transposes named).
    """
    expected = tuple(int(s) for s in expected)
    if array.shape == expected:
        return None
    if not hint and array.shape == expected[::-1] and len(expected) > 1:
        hint = f"{name} looks transposed: build it with the same orientation as its input ({name}.T)"
    elif not hint and int(np.prod(array.shape)) == int(np.prod(expected)):
        hint = f"same number of elements: reshape at the end, e.g. {name} = {name}.reshape({expected})"
    what = f"{subject} returned {name} of shape {array.shape}, expected {expected}"
    return failed(Finding("shape", what, fix=hint, where=(name,)), name=name,
                  got_shape=list(array.shape), expected_shape=list(expected))


def dtype_problem(array: np.ndarray, name: str, *, subject: str,
                  expected: Any = np.float64) -> Outcome | None:
    """A failed Outcome when `array` does not keep the float64 precision of its inputs, else None.

    Args:
        array: the returned array.
        name: its name in messages.
        subject: the user's function name.
        expected: the dtype it must have (default float64).
    """
    if array.dtype == np.dtype(expected):
        return None
    if array.dtype.kind in "iub":
        hint = (f"{name} was built from an integer array: allocate with np.zeros(shape) or "
                f"np.zeros_like(x, dtype=float), not np.zeros_like of an int array")
    else:
        hint = f"allocate {name} with the input's dtype (np.zeros_like(x)) instead of a fixed {array.dtype}"
    what = f"{subject} returned {name} as {array.dtype} for {np.dtype(expected)} inputs"
    return failed(Finding("dtype", what, fix=hint, where=(name,)), name=name,
                  got_dtype=str(array.dtype), expected_dtype=str(np.dtype(expected)))


def first_problem(*outcomes: Outcome | None) -> Outcome | None:
    """The first of `outcomes` that is not None (helpers return None when all is well)."""
    return next((o for o in outcomes if o is not None), None)


# ---------------------------------------------------------------- mutation and determinism

def snapshot(value: Any) -> Any:
    """A deep copy of the arrays inside `value` (arrays, dicts, lists, tuples); other objects as they are."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: snapshot(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(snapshot(v) for v in value)
    return value


def mutated_arrays(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Names of the arrays whose values differ between two snapshots (`x`, `w`)."""
    changed = []
    for name, old in before.items():
        new = after.get(name)
        if isinstance(old, np.ndarray) and isinstance(new, np.ndarray):
            if old.shape != new.shape or not np.array_equal(old, new, equal_nan=True):
                changed.append(name)
    return changed


def inputs_unchanged(call: Callable[[], Any], inputs: dict[str, Any], *, subject: str) -> Outcome | None:
    """Run `call()` and fail when it modified any array in `inputs` (dicts such as bn_param are allowed to change).

    Args:
        call: a closure calling the user's function on the arrays of `inputs`.
        inputs: name -> the very objects passed to the function.
        subject: the user's function name.
    """
    before = {k: v.copy() for k, v in inputs.items() if isinstance(v, np.ndarray)}
    call()
    changed = mutated_arrays(before, inputs)
    if not changed:
        return None
    name = changed[0]
    return failed(Finding(
        "mutates_input", f"{subject} modified its input {', '.join(changed)} in place",
        fix=(f"an in-place update (`{name} += ...`, `{name}[mask] = 0`, `{name} -= ...`) changes "
             f"the caller's array; work on a copy: `{name} = {name}.copy()` or write `out = {name} + ...`"),
        where=tuple(changed)), mutated=changed)


def deterministic(call: Callable[[], Any], *, subject: str, name: str = "out") -> Outcome | None:
    """Call `call()` twice and fail when the two results differ (hidden global state or randomness).

    Args:
        call: a closure returning an array, called on fresh copies of the inputs each time.
        subject: the user's function name.
        name: what the array is called in messages.
    """
    first, second = np.asarray(call(), dtype=np.float64), np.asarray(call(), dtype=np.float64)
    if first.shape == second.shape and np.array_equal(first, second, equal_nan=True):
        return None
    return failed(Finding(
        "nondeterministic_forward", f"{subject} gave a different {name} on two calls with the same inputs",
        fix=("the result depends on something besides the arguments: unseeded np.random, a "
             "module-level variable, or state kept between calls"), where=(name,)))


@contextlib.contextmanager
def global_random_preserved() -> Iterator[None]:
    """Restore numpy's global random state afterwards: student dropout calls np.random.seed."""
    state = np.random.get_state()
    try:
        yield
    finally:
        np.random.set_state(state)


# ---------------------------------------------------------------- comparing arrays

def elements_wrong(got: np.ndarray, expected: np.ndarray, tol: float = FORWARD_TOL) -> np.ndarray:
    """Boolean mask of elements where got and expected disagree beyond `tol` relative error.

    An absolute floor proportional to the output's scale keeps an element that is ~0 in both
    (where relative error is pure round-off) from counting as wrong.
    """
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    diff = np.abs(got - expected)
    bad = diff > tol * (np.abs(got) + np.abs(expected)) + ATOL_SCALE * scale
    return bad | (np.isnan(got) != np.isnan(expected))


def course_rel_error(got: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Per-element |a - b| / max(1e-8, |a| + |b|), the course's relative error."""
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        err = np.abs(got - expected) / np.maximum(1e-8, np.abs(got) + np.abs(expected))
    return np.where(np.isnan(err), np.inf, err)


def place(name: str, index: tuple) -> str:
    """`out[1, 2]` for name "out" and index (1, 2)."""
    return f"{name}[{', '.join(str(int(i)) for i in index)}]"


def pattern_of(got: np.ndarray, expected: np.ndarray, name: str) -> tuple[str, str] | None:
    """(pattern tag, one sentence) naming a simple relation between wrong and right values, or None.

    Recognises: all zeros, NaN/inf, a constant factor (sign flip included), transposition,
    a constant offset, an offset constant along the batch axis (a bias), differences only
    where the expected value is not positive.
    """
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if not np.all(np.isfinite(got)):
        count = int(np.sum(~np.isfinite(got)))
        return "nan", f"{name} holds {count} NaN/inf value{'s' * (count > 1)}"
    if not np.any(got) and np.any(expected):
        return "zeros", f"{name} is all zeros (never filled in?)"
    if got.ndim == 2 and got.shape == expected.shape[::-1] and got.shape != expected.shape:
        if np.allclose(got, expected.T, rtol=1e-6, atol=1e-9):
            return "transposed", f"{name} equals the expected values transposed"
    if got.shape != expected.shape:
        return None
    nonzero = np.abs(expected) > 1e-6 * max(1e-12, float(np.max(np.abs(expected), initial=0)))
    if np.any(nonzero):
        ratios = got[nonzero] / expected[nonzero]
        factor = float(np.median(ratios))
        if np.allclose(ratios, factor, rtol=1e-5) and np.allclose(got[~nonzero], 0, atol=1e-9):
            if np.isclose(factor, -1):
                return "sign", f"{name} has the sign flipped everywhere"
            return "factor", f"{name} = {_number(factor)} x the expected value everywhere"
    diff = got - expected
    if np.allclose(diff, diff.flat[0], rtol=1e-6, atol=1e-9):
        return "offset", f"{name} is off by the same constant {float(diff.flat[0]):.4g} everywhere"
    if got.ndim >= 2 and np.allclose(diff, diff[:1], rtol=1e-6, atol=1e-9):
        return "row_offset", f"{name} is off by the same amount in every row of the batch (a bias-like term)"
    wrong = elements_wrong(got, expected)
    if np.any(wrong) and np.all(expected[wrong] <= 0) and np.any(expected > 0):
        return "nonpositive_only", f"{name} is wrong only where the expected value is <= 0"
    return None


def measured(pattern: str, lines: str, fix: str = "", *, likely: str = "", where: tuple[str, ...] = ()) -> Finding:
    """A Finding whose `what` is the first line of `lines` and whose evidence is the rest.

    For checks that measure a run (a loss curve, a table of rates): the first line says what
    is wrong, the others are the figures behind it.
    """
    what, *evidence = lines.splitlines() or [""]
    return Finding(pattern, what, likely=likely, fix=fix, where=where, evidence=tuple(evidence))


def named(outcome: Outcome, pattern: str) -> Outcome:
    """A failure from compare_arrays tagged with the mistake the check knows it to be."""
    if outcome.finding is None:
        return outcome
    return replace(outcome, finding=replace(outcome.finding, pattern=pattern))


def _number(value: float) -> str:
    """A factor or offset written for people: 2, 0.5, 1/8, 3.14."""
    if value != 0 and abs(1 / value - round(1 / value)) < 1e-6 and abs(value) < 1:
        return f"1/{int(round(1 / value))}"
    return f"{value:.4g}"


def compare_arrays(got: np.ndarray, expected: np.ndarray, name: str, *, subject: str,
                   tol: float = FORWARD_TOL, hint: str = "", what: str = "") -> Outcome:
    """passed when `got` matches `expected`, else failed with where, how much and the pattern.

    Args:
        got: the user's array.
        expected: the reference's array on the same inputs.
        name: its name in messages ("out", "dx").
        subject: the user's function name.
        tol: relative tolerance per element (default 1e-7).
        hint: the likely mistake when the values differ (layer-specific).
        what: a short description of the inputs for the message ("train mode, N=8").
    """
    got = np.asarray(got)
    expected = np.asarray(expected)
    shape_fail = shape_problem(got, name, expected.shape, subject=subject)
    if shape_fail is not None:
        tagged = pattern_of(got, expected, name)
        finding = shape_fail.finding
        if tagged:
            finding = replace(finding, pattern=tagged[0], what=f"{finding.what}; {tagged[1]}")
        return failed(replace(finding, fix=hint or finding.fix), **shape_fail.details)
    err = course_rel_error(got, expected)
    max_err = float(np.max(err, initial=0.0))
    wrong = elements_wrong(got, expected, tol)
    context = f" ({what})" if what else ""
    if not np.any(wrong):
        return passed(f"{name} matches the reference{context}, max relative error {max_err:.1e}",
                      max_rel_error=max_err)
    places = [place(name, idx) for idx in zip(*np.nonzero(wrong))][:MAX_PLACES]
    worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(np.where(wrong, err, -1))), err.shape))
    n_wrong, n = int(wrong.sum()), int(wrong.size)
    evidence = []
    if n_wrong > 1:
        evidence.append(f"wrong at {', '.join(places)}" + (", ..." if n_wrong > MAX_PLACES else ""))
    evidence.append(f"{place(name, worst)} = {float(got[worst]):.6g}, expected {float(expected[worst]):.6g}")
    tagged = pattern_of(got, expected, name)
    if tagged:
        evidence.append(tagged[1])
    finding = Finding(tagged[0] if tagged else "unknown",
                      f"{name} differs from the reference{context}: {n_wrong} / {n} elements "
                      f"({100 * n_wrong / n:.0f}%), max relative error {max_err:.2g} at {place(name, worst)}",
                      fix=hint, where=(place(name, worst), *[p for p in places if p != place(name, worst)]),
                      evidence=tuple(evidence))
    return failed(finding, max_rel_error=max_err, worst=place(name, worst), n_wrong=n_wrong, size=n)


# ---------------------------------------------------------------- random inputs

def randn(rng: np.random.Generator, *shape: int, scale: float = 1.0) -> np.ndarray:
    """Standard normal float64 array of `shape` times `scale`."""
    return scale * rng.standard_normal(shape)


def away_from_zero(rng: np.random.Generator, *shape: int, margin: float = 1e-3) -> np.ndarray:
    """Random float64 values with margin <= |value| <= 3 (about half negative): no ReLU kink within reach of h.

    Magnitudes are log-uniform, so every scale down to the margin is present: a mask with
    the wrong threshold (x >= -0.1, x > 0.01) meets values on both sides of its mistake.
    """
    magnitude = 10.0 ** rng.uniform(np.log10(margin), np.log10(3.0), size=shape)
    return np.where(rng.random(shape) < 0.5, -magnitude, magnitude)


def distinct_values(rng: np.random.Generator, *shape: int, gap: float = 1e-2) -> np.ndarray:
    """A random permutation of well-separated values: max-pool windows have a clear winner (no ties, no kink)."""
    size = int(np.prod(shape))
    return (rng.permutation(size).astype(np.float64) * gap - size * gap / 2).reshape(shape)
