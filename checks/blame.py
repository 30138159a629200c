"""Blame where it belongs: one bug is graded once, under the check of the function that has it.

A check that runs several of the user's functions together (a sandwich layer, a model, a
training run) also fails when one of its building blocks is wrong. When that building block
already failed its own check (layers.*, losses.*, optim.*), the composite check is rerun on
the same inputs with sanitykit's reference version of the failed functions bound in the
user's modules (`ctx.target.swapped`). If it then passes, the composite is fine: the check
is `skip` "fails only because of X (see <check id>)". If it still fails, the failure is its
own, measured with the reference building blocks, and the message says what was substituted.

Use `with_blame(...)` to wrap a check function, or `blame(ctx, compute, ...)` directly.
"""
from __future__ import annotations

import functools
from dataclasses import replace
import inspect
import re
import types
from typing import Any, Callable, Iterable

import numpy as np

from sanitykit.checks.registry import CheckContext
from sanitykit.engine import wording
from sanitykit.engine.findings import Reason
from sanitykit.engine.results import ERROR, FAIL, PASS, SKIP, WARN, CheckResult, Outcome, errored, skipped
from sanitykit.engine.usercode import UserCodeError, user_error_reason

BUILDING_BLOCKS = ("layers", "losses")  # suites whose failures a composite check may be blamed on
MAX_NARROWING = 8  # culprits tried one at a time to name the responsible ones

# Stem of a layer -> the course's sandwich layers (layer_utils) built on it.
SANDWICHES = {
    "affine": ("affine_relu", "affine_bn_relu", "affine_ln_relu"),
    "relu": ("affine_relu", "affine_bn_relu", "affine_ln_relu", "conv_relu", "conv_relu_pool", "conv_bn_relu"),
    "batchnorm": ("affine_bn_relu",),
    "layernorm": ("affine_ln_relu",),
    "conv": ("conv_relu", "conv_relu_pool", "conv_bn_relu"),
    "max_pool": ("conv_relu_pool",),
    "spatial_batchnorm": ("conv_bn_relu",),
}


def failed_checks(results: dict[str, CheckResult], suites: Iterable[str] = BUILDING_BLOCKS,
                  subjects: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """(id, subject) of the checks of `suites` that failed or errored so far.

    Args:
        results: ctx.results, earlier results by check id.
        suites: the suites whose failures count.
        subjects: only failures of these functions (None: any function).
    """
    suites, wanted = set(suites), None if subjects is None else set(subjects)
    found = []
    for check_id, result in results.items():
        status, subject = result.status, result.subject
        if (check_id.split(".")[0] in suites and status in (FAIL, ERROR) and subject
                and (wanted is None or subject in wanted)):
            found.append((check_id, subject))
    return found


def layer_family(subject: str) -> list[str]:
    """The names to substitute for a failed `subject`: its forward/backward pair and the sandwiches using it.

    A model calls the sandwich helpers (affine_relu_backward ...) as often as the layers: their
    reference versions go in too, so the model sees no user code built on the failed layer.
    """
    match = re.fullmatch(r"(.+?)_(forward|backward)(_\w+)?", subject)
    if not match:
        return [subject]  # softmax_loss, svm_loss, adam, Solver
    stem, suffix = match.group(1), match.group(3) or ""
    names = [subject, f"{stem}_forward{suffix}", f"{stem}_backward{suffix}", f"{stem}_forward", f"{stem}_backward"]
    for sandwich in SANDWICHES.get(stem, ()):
        names += [f"{sandwich}_forward", f"{sandwich}_backward"]
    return list(dict.fromkeys(names))


def substitutions(ctx: CheckContext, subjects: Iterable[str], exclude: Iterable[str] = ()) -> dict[str, Any]:
    """name -> reference object for the failed functions' families that both the target and the reference have.

    Args:
        ctx: the CheckContext.
        subjects: the failed functions.
        exclude: names never substituted (the function under test itself).
    """
    import sanitykit.reference as reference

    skip = set(exclude)
    names = dict.fromkeys(n for s in subjects for n in layer_family(s) if n not in skip)
    return {n: getattr(reference, n) for n in names if hasattr(reference, n) and ctx.has(n)}


def code_names(code: types.CodeType) -> set[str]:
    """Global and attribute names a code object uses, nested functions and comprehensions included."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= code_names(const)
    return names


def functions_of(obj: Any) -> list[types.FunctionType]:
    """The Python functions behind obj: itself, or a class's methods (static, class and properties too)."""
    if isinstance(obj, types.FunctionType):
        return [obj]
    if not inspect.isclass(obj):
        return []
    found = []
    for klass in obj.__mro__:
        if klass is object or klass.__module__ == "builtins":
            continue
        for value in vars(klass).values():
            value = getattr(value, "__func__", None) or getattr(value, "fget", None) or value
            if isinstance(value, types.FunctionType):
                found.append(value)
    return found


def referenced_names(obj: Any, limit: int = 200) -> set[str]:
    """Names obj's code uses, followed through the functions it calls in the same (user) modules.

    FullyConnectedNet calls affine_relu_forward, which calls affine_forward: both are named.
    numpy and the standard library are not followed.

    Args:
        obj: a function or a class.
        limit: at most this many functions are read (a guard against huge modules).
    """
    names: set[str] = set()
    todo, seen = functions_of(obj), set()
    while todo and len(seen) < limit:
        func = todo.pop()
        if func in seen:
            continue
        seen.add(func)
        used = code_names(func.__code__)
        names |= used
        for name in used:
            value = func.__globals__.get(name)
            module = getattr(value, "__module__", "") or ""
            if module.split(".")[0] in ("numpy", "builtins", "sanitykit"):
                continue
            todo += [f for f in functions_of(value) if f not in seen]
    return names


def used_by(ctx: CheckContext, calls: str | None, culprits: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The culprits `calls` (a user class or function) can reach; optimizers and the like always stay.

    A fully connected net never calls spatial_batchnorm_backward: a failed spatial batchnorm
    must not be listed among the functions substituted for it.
    """
    obj = ctx.target.get(calls) if calls else None
    names = referenced_names(obj) if obj is not None else set()
    if not names:
        return culprits
    return [(i, s) for i, s in culprits
            if i.split(".")[0] not in BUILDING_BLOCKS or names & set(layer_family(s))]


def outcome_of(compute: Callable[[CheckContext], Outcome], ctx: CheckContext) -> Outcome:
    """compute(ctx), the user's exceptions as an `error` Outcome (NotImplementedYet and SkipCheck pass through)."""
    try:
        return compute(ctx)
    except UserCodeError as exc:
        return errored(user_error_reason(exc))


def rerun(compute: Callable[[CheckContext], Outcome], ctx: CheckContext, replacements: dict[str, Any]) -> Outcome:
    """compute(ctx) again, on the same inputs (a fresh ctx.rng), with `replacements` bound in the user's modules."""
    with ctx.target.swapped(replacements):
        ctx.rng = np.random.default_rng(ctx.seed)
        return outcome_of(compute, ctx)


def blame(ctx: CheckContext, compute: Callable[[CheckContext], Outcome], *,
          suites: Iterable[str] = BUILDING_BLOCKS, subjects: Iterable[str] | None = None,
          exclude: Iterable[str] = (), owner: str = "the model",
          exclude_from: Callable[[Outcome], Iterable[str]] | None = None, calls: str | None = None,
          keep_failing: bool = False) -> Outcome:
    """compute(ctx); on failure after a building block's own failure, judged again with the reference block.

    Args:
        ctx: the CheckContext (ctx.results holds the earlier results).
        compute: the check's computation, ctx -> Outcome.
        suites: suites whose failed checks may take the blame.
        subjects: the functions this check depends on (None: any failed function; the
            reruns then name the ones that matter).
        exclude: names never substituted (the composite under test: its own check is this one).
        owner: what has the bug when the reference blocks do not fix it, for the message.
        exclude_from: first outcome -> further names never substituted (the functions that
            outcome shows are not what failed: a training run names the rules whose curve departed).
        calls: the user's class or function under test (FullyConnectedNet): only the failed
            layers its code reaches are substituted and named.
        keep_failing: report the blame as a fail naming its cause, not as a skip: for the
            training suite, whose point is to show what a bug does to training (issue 5: Adam
            without bias correction is caught by overfitting). It keeps its reason (kind
            "blamed"), so a grade counts the bug once (sanitykit.front.scoring).
    """
    shown = shown_as_failure if keep_failing else (lambda outcome: outcome)
    first = outcome_of(compute, ctx)
    if first.status not in (FAIL, ERROR):
        return first
    exclude = (*exclude, *(exclude_from(first) if exclude_from else ()))
    culprits = [(i, s) for i, s in failed_checks(ctx.results, suites, subjects)
                if s not in exclude and substitutions(ctx, [s], exclude)]
    culprits = used_by(ctx, calls, culprits)
    replacements = substitutions(ctx, [s for _, s in culprits], exclude)
    if not replacements:
        return first
    second = rerun(compute, ctx, replacements)
    ctx.rng = np.random.default_rng(ctx.seed)
    if is_blamed(second):
        # With the reference blocks the check blames an earlier check of its own suite:
        # both bugs are graded elsewhere.
        return shown(blamed(first, responsible(compute, ctx, culprits, exclude), sorted(replacements),
                            also=second.reason))
    if second.status not in (PASS, WARN):
        return still_failing(first, second, culprits, sorted(replacements), owner)
    return shown(blamed(first, responsible(compute, ctx, culprits, exclude), sorted(replacements)))


def with_blame(**options: Any) -> Callable[[Callable[[CheckContext], Outcome]], Callable[[CheckContext], Outcome]]:
    """Decorator form of `blame`: `@with_blame(subjects=..., exclude=...)` under `@check(...)`.

    Args:
        options: see `blame`.
    """
    def wrap(compute: Callable[[CheckContext], Outcome]) -> Callable[[CheckContext], Outcome]:
        @functools.wraps(compute)
        def run(ctx: CheckContext) -> Outcome:
            return blame(ctx, compute, **options)

        return run

    return wrap


def is_blamed(outcome: Outcome) -> bool:
    """A skip that says "fails only because of another check's bug" (as data: its reason)."""
    return outcome.status == SKIP and outcome.reason is not None and outcome.reason.kind == "blamed"


def shown_as_failure(outcome: Outcome) -> Outcome:
    """A blamed skip as the failure it is, with its cause named first; anything else unchanged."""
    if not is_blamed(outcome):
        return outcome
    message = wording.blamed_failure_message(outcome.reason, outcome.details.get("with_yours", ""))
    return Outcome(FAIL, message, wording.reason_hint(outcome.reason, FAIL), outcome.details,
                   reason=outcome.reason)


def responsible(compute: Callable[[CheckContext], Outcome], ctx: CheckContext,
                culprits: list[tuple[str, str]], exclude: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """The failed functions whose reference alone makes the check pass (all of them when none does alone).

    A buggy dropout_forward does not explain a failure of the model without dropout: name only
    the functions that matter, so the student knows which one to fix first.
    """
    subjects = list(dict.fromkeys(s for _, s in culprits))
    if len(subjects) == 1 or len(subjects) > MAX_NARROWING:
        return culprits
    alone = {s for s in subjects if explained(rerun(compute, ctx, substitutions(ctx, [s], exclude)))}
    if not alone:
        # Two bugs at once (a captioning net through rnn_backward and word_embedding_backward):
        # the ones it still fails without are responsible; an LSTM step the vanilla net never runs is not.
        alone = {s for s in subjects
                 if not explained(rerun(compute, ctx, substitutions(ctx, [o for o in subjects if o != s], exclude)))}
    ctx.rng = np.random.default_rng(ctx.seed)
    return [(i, s) for i, s in culprits if s in (alone or set(subjects))]


def explained(outcome: Outcome) -> bool:
    """The rerun passes, or is left only with a bug another check already reports."""
    return outcome.status in (PASS, WARN) or is_blamed(outcome)


def blamed(first: Outcome, culprits: list[tuple[str, str]], substituted: list[str],
           also: Reason | None = None) -> Outcome:
    """Skip, not warn: the composite is right; the bug is graded once, under the function's own check.

    Args:
        first: the outcome with the user's building blocks (kept as details["with_yours"]).
        culprits: (check id, subject) of the failed building blocks.
        substituted: the names bound to sanitykit's reference for the rerun.
        also: the reason of a second blame met with the reference blocks (its causes join).
    """
    first_id: dict[str, str] = {}
    for check_id, subject in culprits:
        first_id.setdefault(subject, check_id)
    reason = Reason("blamed", tuple(first_id), tuple(first_id.values()), also=also)
    return blamed_on(reason, with_yours=first.message, substituted=substituted)


def blamed_on(reason: Reason, *, with_yours: str = "", **details: Any) -> Outcome:
    """A blamed skip: the check is right but for the bug `reason` names, graded under `reason.see`.

    Args:
        reason: kind "blamed", with the functions at fault and the checks that grade them.
        with_yours: the message this check gave with the user's code as it is.
    """
    return skipped(reason, **({"with_yours": with_yours} if with_yours else {}), **details)


def still_failing(first: Outcome, second: Outcome, culprits: list[tuple[str, str]],
                  substituted: list[str], owner: str) -> Outcome:
    """The composite's own failure, measured with the reference building blocks, saying which were substituted."""
    subjects = list(dict.fromkeys(s for _, s in culprits))
    note = wording.still_failing_note(second.status, subjects, owner)
    return replace(second, message=f"{second.message}\n{note}",
                   details={**second.details, "substituted": substituted, "with_yours": first.message})
