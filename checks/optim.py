"""The `optim` suite: sgd, sgd_momentum, rmsprop, adam with the course's config-dict protocol.

`rule(w, dw, config=None) -> (next_w, config)`. Course years name the arguments (w, dw) or
(x, dx): rules are always called positionally. Explicit state (velocity, cache, m, v, t) is
passed where the years' defaults differ, and Adam's two conventions for t (incremented
before or after the bias correction) are both accepted and named.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from dataclasses import replace

from sanitykit import reference as ref
from sanitykit.checks.blame import blamed_on
from sanitykit.checks.common import compare_arrays, describe_value, expect_array, unpack
from sanitykit.checks.registry import CheckContext, check
from sanitykit.engine.findings import Finding, Reason
from sanitykit.engine.numeric import rel_error
from sanitykit.engine.results import FAIL, PASS, Outcome, failed, passed, warned
from sanitykit.engine.usercode import UserCodeError, call_user

RULES = ("sgd", "sgd_momentum", "rmsprop", "adam")
SHAPE = (4, 5)
STEP_TOL = 1e-6

# Hyperparameters passed explicitly in `step` and `state` (never the user's defaults).
HYPER = {
    "sgd": {"learning_rate": 1e-3},
    "sgd_momentum": {"learning_rate": 1e-3, "momentum": 0.9},
    "rmsprop": {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8},
    "adam": {"learning_rate": 1e-2, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
}
# The course's defaults (every year), checked by `defaults`.
DEFAULTS = {
    "sgd": {"learning_rate": 1e-2},
    "sgd_momentum": {"learning_rate": 1e-2, "momentum": 0.9},
    "rmsprop": {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8},
    "adam": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
}
STATE = {"sgd": (), "sgd_momentum": ("velocity",), "rmsprop": ("cache",), "adam": ("m", "v", "t")}
REFERENCE = {"sgd": ref.sgd, "sgd_momentum": ref.sgd_momentum, "rmsprop": ref.rmsprop, "adam": ref.adam}
# The update the course asks for, as the rewrite a hint offers.
UPDATE = {
    "sgd": "next_w = w - config['learning_rate'] * dw",
    "sgd_momentum": "v = config['momentum'] * v - config['learning_rate'] * dw; next_w = w + v",
    "rmsprop": ("cache = decay_rate * cache + (1 - decay_rate) * dw**2; "
                "next_w = w - learning_rate * dw / (np.sqrt(cache) + epsilon)"),
    "adam": ("t += 1; m = beta1*m + (1-beta1)*dw; v = beta2*v + (1-beta2)*dw**2; "
             "mt = m / (1 - beta1**t); vt = v / (1 - beta2**t); "
             "next_w = w - learning_rate * mt / (np.sqrt(vt) + epsilon)"),
}


# ---------------------------------------------------------------- fixed inputs and calls

def fixed_inputs() -> tuple[np.ndarray, np.ndarray]:
    """w and dw as in the course's optimizer tests (evenly spaced, both signs)."""
    n = int(np.prod(SHAPE))
    return np.linspace(-0.4, 0.6, n).reshape(SHAPE), np.linspace(-0.6, 0.4, n).reshape(SHAPE)


def explicit_state(rule: str) -> dict[str, Any]:
    """Non-trivial starting state, so a rule that ignores it cannot match the reference."""
    n = int(np.prod(SHAPE))
    return {
        "sgd": {},
        "sgd_momentum": {"velocity": np.linspace(0.6, 0.9, n).reshape(SHAPE)},
        "rmsprop": {"cache": np.linspace(0.5, 0.9, n).reshape(SHAPE)},
        "adam": {"m": np.linspace(0.6, 0.9, n).reshape(SHAPE),
                 "v": np.linspace(0.7, 0.5, n).reshape(SHAPE), "t": 5},
    }[rule]


def copy_config(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in config.items()}


def call_rule(ctx: CheckContext, rule: str, w: np.ndarray, dw: np.ndarray,
              config: dict[str, Any] | None) -> tuple[np.ndarray, dict[str, Any]]:
    """One step of the user's rule on copies of w and dw; returns (next_w, config).

    Args:
        ctx: the CheckContext.
        rule: "sgd", "sgd_momentum", "rmsprop" or "adam".
        w, dw: parameter and gradient (copied: the course's sgd updates w in place).
        config: the config dict passed (the user's rule may fill and return it), or None.
    """
    next_w, config = unpack(call_user(ctx.fn(rule), w.copy(), dw.copy(), config, subject=rule),
                            ("next_w", "config"), rule)
    next_w = expect_array(next_w, "next_w", subject=rule)
    if not isinstance(config, dict):
        raise UserCodeError(f"{rule} returned config as {describe_value(config)}, expected the dict",
                            subject=rule)
    return next_w, config


def run_steps(step, w: np.ndarray, grads: list[np.ndarray], config: dict[str, Any]) -> list[np.ndarray]:
    """Apply `step(w, dw, config) -> (next_w, config)` once per gradient, threading w and config."""
    trajectory = []
    for dw in grads:
        w, config = step(w, dw, config)
        trajectory.append(w)
    return trajectory


def gradients(dw: np.ndarray, count: int) -> list[np.ndarray]:
    """`count` different gradients (scaled and shifted copies of dw), so history matters."""
    return [dw * (1 + 0.5 * k) + 0.1 * k for k in range(count)]


def reference_step(rule: str, t_before_increment: bool = False, base=None):
    """The reference rule as a step function; for Adam optionally with t used before its increment.

    Args:
        rule: the rule's name.
        t_before_increment: Adam's older convention for t.
        base: the step function standing for the reference (default sanitykit's own).
    """
    step = base or REFERENCE[rule]
    if not t_before_increment:
        return step

    def adam_old_convention(w, dw, config):
        # Older years: use t in the bias correction, then increment. Same as the reference from t - 1.
        config = dict(config, t=config["t"] - 1)
        next_w, config = step(w, dw, config)
        return next_w, dict(config, t=config["t"] + 1)

    return adam_old_convention


# ---------------------------------------------------------------- nan / inf from finite inputs

T_ZERO_HINT = ("t is still 0 when 1 - beta1**t is computed: increment t first (config['t'] += 1) "
               "and then bias-correct")
# One bug, one failure: t used at 0 is reported by optim.adam.step; the others point there.
T_ZERO_BLAME = Reason("blamed", ("adam",), ("optim.adam.step",), note="t is still 0 when 1 - beta1**t is computed")


def nonfinite_names(next_w: np.ndarray, config: dict[str, Any]) -> list[str]:
    """'next_w' and the config keys whose numbers are not all finite (nan or inf)."""
    named = [("next_w", next_w), *((f"config['{k}']", v) for k, v in config.items())]
    bad = []
    for name, value in named:
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            continue  # not a number: not ours to judge here
        if not np.all(np.isfinite(array)):
            bad.append(name)
    return bad


def call_recording(ctx: CheckContext, rule: str, w: np.ndarray, dw: np.ndarray,
                   config: dict[str, Any] | None) -> tuple[np.ndarray, dict[str, Any], bool]:
    """call_rule, plus whether numpy warned of a division by zero during the call."""
    with warnings.catch_warnings(record=True) as caught, np.errstate(divide="warn", invalid="warn"):
        warnings.simplefilter("always")
        next_w, config = call_rule(ctx, rule, w, dw, config)
    divided = any(issubclass(c.category, RuntimeWarning) and "divide by zero" in str(c.message) for c in caught)
    return next_w, config, divided


def t_zero_at_correction(ctx: CheckContext) -> bool:
    """Whether the user's adam is nan/inf from t = 0 and finite from t = 1: t is used before its increment."""
    w, dw = fixed_inputs()
    finite = []
    for t0 in (0, 1):
        config = {**DEFAULTS["adam"], "m": np.zeros_like(w), "v": np.zeros_like(w), "t": t0}
        with np.errstate(all="ignore"):
            next_w, config = call_rule(ctx, "adam", w, dw, config)
        finite.append(not nonfinite_names(next_w, config))
    return finite == [False, True]


def nonfinite_problem(ctx: CheckContext, rule: str) -> Outcome | None:
    """A failure when the rule, called with config=None on finite w and dw, returns nan/inf or divides by zero.

    The course's Adam starts t at 0 and increments it before the bias correction; moved after
    the update, the first step divides by 1 - beta1**0 = 0.
    """
    w, dw = fixed_inputs()
    next_w, config, divided = call_recording(ctx, rule, w, dw, None)
    bad = nonfinite_names(next_w, config)
    if not bad and not divided:
        return None
    t_zero = rule == "adam" and t_zero_at_correction(ctx)
    found = f"nan/inf in {', '.join(bad)}" if bad else "finite values, but numpy warned: divide by zero"
    what = (f"{rule} called with config=None on finite w and dw returns {found}"
            + (" (numpy warned: divide by zero)" if bad and divided else ""))
    if t_zero:
        what += "; with t = 0 the first step divides by 1 - beta1**0 = 0"
    fix = T_ZERO_HINT if t_zero else (f"a quantity that starts at 0 is divided by: add epsilon where the "
                                      f"course does ({UPDATE[rule]})")
    return failed(Finding("t_zero" if t_zero else "nan", what, fix=fix, where=tuple(bad) or ("next_w",)),
                  nonfinite=bad, divide_by_zero=divided, t_zero=t_zero)


def adam_t_zero_problem(ctx: CheckContext) -> Outcome | None:
    """nonfinite_problem of adam when its cause is t used at 0 (None otherwise)."""
    problem = nonfinite_problem(ctx, "adam")
    return problem if problem is not None and problem.finding.pattern == "t_zero" else None


def t_zero_reported(ctx: CheckContext) -> bool:
    """Whether optim.adam.step already failed because t is 0 at the bias correction."""
    result = ctx.results.get("optim.adam.step")
    return (result is not None and result.status == FAIL and result.diagnosis is not None
            and result.diagnosis.pattern == "t_zero")


# ---------------------------------------------------------------- step

def user_runs(ctx: CheckContext, rule: str) -> tuple[np.ndarray, np.ndarray, dict[str, Any], list[np.ndarray]]:
    """(w, dw, config, got): the user's w after one step and after three from the explicit state."""
    w, dw = fixed_inputs()
    config = {**HYPER[rule], **explicit_state(rule)}
    user = lambda w, dw, config: call_rule(ctx, rule, w, dw, config)  # noqa: E731
    got = [run_steps(user, w, gradients(dw, 1), copy_config(config))[0],
           run_steps(user, w, gradients(dw, 3), copy_config(config))[-1]]
    return w, dw, config, got


def optim_step(ctx: CheckContext, rule: str, base=None) -> Outcome:
    """One step, then three steps threading the returned config, against the reference (or `base`)."""
    w, dw, config, got = user_runs(ctx, rule)
    conventions = [False, True] if rule == "adam" else [False]
    for old_t in conventions:
        ref = reference_step(rule, t_before_increment=old_t, base=base)
        expected = [run_steps(ref, w, gradients(dw, 1), copy_config(config))[0],
                    run_steps(ref, w, gradients(dw, 3), copy_config(config))[-1]]
        if all(rel_error(g - w, e - w) < STEP_TOL for g, e in zip(got, expected)):
            note = " (t used before its increment: the older course convention)" if old_t else ""
            return passed(f"one step and three steps match the reference{note}",
                          t_convention="before increment" if old_t else "after increment")
    if base is None:
        # explicit t: only epsilon's place can differ here
        convention = matching_convention(rule, w, [gradients(dw, 1), gradients(dw, 3)], got, config=config)
        if convention is not None:
            return convention_outcome(rule, convention, "one step and three steps")
        mistake = matching_mistake(rule, w, dw, config, got)
        if mistake is not None:
            return mistake_outcome(rule, mistake, rel_error(got[0] - w, REFERENCE[rule](w, dw, copy_config(config))[0] - w))
    expected = [run_steps(base or REFERENCE[rule], w, gradients(dw, k), copy_config(config))[-1]
                for k in (1, 3)]
    first = compare_arrays(got[0] - w, expected[0] - w, "step", subject=rule, tol=STEP_TOL,
                           what="next_w - w, one step from explicit state")
    if first.status == "fail" and ignores_learning_rate(scaled_steps(ctx, rule, w, dw, config)):
        return failed(replace(first.finding, pattern="lr_ignored", what=f"{rule}: {first.finding.what}",
                              likely="the step is the same for config['learning_rate'] and a tenth of it: "
                                     "the learning rate is hard-coded or never read",
                              fix=f"scale the update by config['learning_rate']: {UPDATE[rule]}",
                              where=("config['learning_rate']",)), **first.details)
    if first.status == "fail":
        # sgd and momentum are linear in dw: the part of the step due to dw alone shows a sign error.
        without_dw = REFERENCE[rule](w, np.zeros_like(dw), copy_config(config))[0] - w
        pattern, fix = step_mistake(rule, got[0] - w - without_dw, expected[0] - w - without_dw)
        return failed(replace(first.finding, pattern=pattern or first.finding.pattern,
                              what=f"{rule}: {first.finding.what}", fix=fix), **first.details)
    third = compare_arrays(got[1] - w, expected[1] - w, "step", subject=rule, tol=STEP_TOL,
                           what="next_w - w after three steps")
    return failed(replace(third.finding, pattern="state_not_carried",
                          what=f"{rule}: the first step matches, but {third.finding.what}",
                          fix="the state in config is not carried from one call to the next: store it back, "
                              f"e.g. config['{STATE[rule][0] if STATE[rule] else 'learning_rate'}'] = ..."),
                  **third.details)


def scaled_steps(ctx: CheckContext, rule: str, w: np.ndarray, dw: np.ndarray,
                 config: dict) -> list[np.ndarray]:
    """The user's first step (next_w - w) with config's learning rate, then with a tenth of it."""
    return [call_rule(ctx, rule, w, dw, copy_config({**config, "learning_rate": scale * config["learning_rate"]}))[0]
            - w for scale in (1.0, 0.1)]


def ignores_learning_rate(steps: list[np.ndarray]) -> bool:
    """Whether the step of `scaled_steps` moves w, and exactly as far with a tenth of the learning rate."""
    return bool(np.any(steps[0])) and rel_error(steps[0], steps[1]) < 1e-9


def step_mistake(rule: str, step: np.ndarray, expected: np.ndarray) -> tuple[str | None, str]:
    """(pattern or None to keep the comparison's, fix) behind a wrong first step (the parts due to dw)."""
    if not np.any(step):
        return "zeros", f"the gradient does not move w: compute the update and return it ({UPDATE[rule]})"
    if rule in ("sgd", "sgd_momentum") and rel_error(step, -expected) < STEP_TOL:
        return "sign", f"the gradient term has the wrong sign (it pushes w uphill): {UPDATE[rule]}"
    return None, f"the course's update is: {UPDATE[rule]}"


# ---------------------------------------------------------------- the course's rules with one mistake

def average(old: np.ndarray, new: np.ndarray, weight: float, swapped: bool) -> np.ndarray:
    """weight * old + (1 - weight) * new, or with the two weights swapped (a student's mistake)."""
    return (1 - weight) * old + weight * new if swapped else weight * old + (1 - weight) * new


def mistaken_rule(rule: str, *, sqrt: bool = True, swapped: tuple[str, ...] = (),
                  betas: dict[str, str] | None = None, corrected: tuple[str, ...] = ("m", "v")):
    """The course's rule (sgd_momentum, rmsprop, adam) with one planted mistake, as a step function.

    Args:
        rule: the rule's name.
        sqrt: False: the root of the cache (rmsprop) or of vt (adam) left out.
        swapped: the moving averages whose two weights are swapped ("velocity", "cache", "m", "v").
        betas: the decay rate each Adam moment uses ({"v": "beta1"}: v decayed with beta1).
        corrected: the Adam moments that are bias-corrected.
    """
    betas = {"m": "beta1", "v": "beta2", **(betas or {})}

    def step(w, dw, config):
        config, zeros, lr = dict(config), np.zeros_like(w), config["learning_rate"]
        if rule == "sgd_momentum":
            mu = 1 - config["momentum"] if "velocity" in swapped else config["momentum"]
            v = mu * config.get("velocity", zeros) - lr * dw
            return w + v, dict(config, velocity=v)
        if rule == "rmsprop":
            cache = average(config.get("cache", zeros), dw ** 2, config["decay_rate"], "cache" in swapped)
            root = np.sqrt(cache) if sqrt else cache
            return w - lr * dw / (root + config["epsilon"]), dict(config, cache=cache)
        t = config.get("t", 0) + 1
        m = average(config.get("m", zeros), dw, config[betas["m"]], "m" in swapped)
        v = average(config.get("v", zeros), dw ** 2, config[betas["v"]], "v" in swapped)
        mt = m / (1 - config["beta1"] ** t) if "m" in corrected else m
        vt = v / (1 - config["beta2"] ** t) if "v" in corrected else v
        root = np.sqrt(vt) if sqrt else vt
        return w - lr * mt / (root + config["epsilon"]), dict(config, m=m, v=v, t=t)

    return step


# rule -> (pattern, what the user's steps do, the line to write, mistaken_rule's options): the
# mistakes students make in each update, named when the user's steps match one exactly.
MISTAKES = {
    "sgd_momentum": [
        ("swapped_decay", "the velocity is decayed by 1 - momentum instead of momentum",
         "v = config['momentum'] * v - config['learning_rate'] * dw", {"swapped": ("velocity",)}),
    ],
    "rmsprop": [
        ("no_sqrt", "the step divides by cache + epsilon: the square root of the cache is missing",
         "next_w = w - learning_rate * dw / (np.sqrt(cache) + epsilon)", {"sqrt": False}),
        ("swapped_decay", "the cache weighs its old value by 1 - decay_rate and dw**2 by decay_rate "
         "(the two weights swapped)", "cache = decay_rate * cache + (1 - decay_rate) * dw**2",
         {"swapped": ("cache",)}),
    ],
    "adam": [
        ("no_sqrt", "the step divides by vt + epsilon: the square root of vt is missing",
         "next_w = w - learning_rate * mt / (np.sqrt(vt) + epsilon)", {"sqrt": False}),
        ("wrong_beta", "the second moment v is decayed with beta1 instead of beta2",
         "v = beta2 * v + (1 - beta2) * dw**2", {"betas": {"v": "beta1"}}),
        ("wrong_beta", "the first moment m is decayed with beta2 instead of beta1",
         "m = beta1 * m + (1 - beta1) * dw", {"betas": {"m": "beta2"}}),
        ("swapped_decay", "v weighs its old value by 1 - beta2 and dw**2 by beta2 (the two weights swapped)",
         "v = beta2 * v + (1 - beta2) * dw**2", {"swapped": ("v",)}),
        ("swapped_decay", "m weighs its old value by 1 - beta1 and dw by beta1 (the two weights swapped)",
         "m = beta1 * m + (1 - beta1) * dw", {"swapped": ("m",)}),
        ("no_bias_correction", "neither m nor v is bias-corrected",
         "mt = m / (1 - beta1**t); vt = v / (1 - beta2**t)", {"corrected": ()}),
        ("no_bias_correction", "m is bias-corrected but v is not", "vt = v / (1 - beta2**t)",
         {"corrected": ("m",)}),
        ("no_bias_correction", "v is bias-corrected but m is not", "mt = m / (1 - beta1**t)",
         {"corrected": ("v",)}),
    ],
}


def matching_mistake(rule: str, w: np.ndarray, dw: np.ndarray, config: dict[str, Any],
                     got: list[np.ndarray]) -> tuple[str, str, str, dict] | None:
    """The entry of MISTAKES whose rule reproduces the user's one and three steps (user_runs), or None."""
    with np.errstate(all="ignore"):
        for mistake in MISTAKES.get(rule, ()):
            step = mistaken_rule(rule, **mistake[3])
            finals = [run_steps(step, w, gradients(dw, k), copy_config(config))[-1] for k in (1, 3)]
            if all(rel_error(g - w, e - w) < STEP_TOL for g, e in zip(got, finals)):
                return mistake
    return None


def mistake_outcome(rule: str, mistake: tuple[str, str, str, dict], error: float) -> Outcome:
    """A wrong step named: it differs from the reference and equals the course's rule with `mistake`."""
    pattern, words, fix, _ = mistake
    return failed(Finding(pattern, f"{rule}: the step differs from the reference (relative error {error:.2g}) "
                          f"and equals the course's update with one mistake: {words}",
                          fix=f"{fix} (the course's update: {UPDATE[rule]})", where=("next_w",)),
                  mistake=words)


# ---------------------------------------------------------------- defaults

def optim_defaults(ctx: CheckContext, rule: str) -> Outcome:
    """Called with config=None, the rule fills in the course's defaults and creates its state."""
    w, dw = fixed_inputs()
    problem = nonfinite_problem(ctx, rule)
    if problem is not None:
        if problem.finding.pattern == "t_zero" and t_zero_reported(ctx):
            return blamed_on(T_ZERO_BLAME, with_yours=problem.message)
        return problem
    _, config = call_rule(ctx, rule, w, dw, None)
    missing = [key for key in (*DEFAULTS[rule], *STATE[rule]) if key not in config]
    if missing and all(key in STATE[rule] for key in missing) and state_check(ctx, rule).status == FAIL:
        # One bug, one failure: a state never stored is the state check's to report.
        return blamed_on(Reason("blamed", (rule,), (f"optim.{rule}.state",),
                                note=f"the {', '.join(missing)} is not stored"), missing=missing)
    if missing:
        first = missing[0]
        rewrite = (f"config.setdefault('{first}', {DEFAULTS[rule][first]!r})" if first in DEFAULTS[rule]
                   else f"config['{first}'] = {first}  (after computing it)")
        return failed(Finding("defaults_missing", f"{rule} called with config=None returned a config without "
                              f"{', '.join(repr(k) for k in missing)}", fix=rewrite,
                              where=tuple(f"config['{k}']" for k in missing)), missing=missing)
    bad_state = [key for key in STATE[rule] if key != "t"
                 and np.shape(config[key]) != w.shape]
    if bad_state and state_check(ctx, rule).status == FAIL:
        return blamed_on(Reason("blamed", (rule,), (f"optim.{rule}.state",),
                                note=f"config['{bad_state[0]}'] is not shaped like w"))
    if bad_state:
        key = bad_state[0]
        return failed(Finding("shape", f"{rule}: config['{key}'] has shape {np.shape(config[key])}, expected "
                              f"w's shape {w.shape}", fix=f"create it like w: config.setdefault('{key}', "
                              "np.zeros_like(w))", where=(f"config['{key}']",)))
    changed = {key: config[key] for key, value in DEFAULTS[rule].items()
               if not _close(config[key], value)}
    if changed:
        return warned(Finding("defaults_changed", f"{rule}: default "
                              f"{', '.join(f'{k}={v!r}' for k, v in changed.items())}; the course's defaults are "
                              f"{', '.join(f'{k}={DEFAULTS[rule][k]!r}' for k in changed)}",
                              fix="keep the course's config.setdefault(...) lines unchanged",
                              where=tuple(f"config['{k}']" for k in changed)), changed=changed)
    state = f"; state {', '.join(STATE[rule])} created" if STATE[rule] else ""
    return passed(f"defaults {', '.join(f'{k}={v!r}' for k, v in DEFAULTS[rule].items())}{state}")


def _close(value: Any, expected: float) -> bool:
    try:
        return bool(np.isclose(float(value), expected, rtol=1e-9, atol=0))
    except (TypeError, ValueError):
        return False


# ---------------------------------------------------------------- state

def optim_state(ctx: CheckContext, rule: str, base=None) -> Outcome:
    """Two steps from a config holding only hyperparameters: the state of the first is used by the second."""
    w, dw = fixed_inputs()
    grads = gradients(dw, 2)
    step = base or REFERENCE[rule]
    user_w, user_config = w, dict(HYPER[rule])
    ref_w, ref_config = w, dict(HYPER[rule])
    first_t = 0
    for k, g in enumerate(grads, start=1):
        user_w, user_config = call_rule(ctx, rule, user_w, g, user_config)
        ref_w, ref_config = step(ref_w, g, ref_config)
        problem = state_problem(rule, k, user_config, ref_config)
        if problem:
            return problem
        bad = nonfinite_names(user_w, user_config)
        if bad:
            t_zero = rule == "adam" and t_zero_at_correction(ctx)
            return failed(Finding("t_zero" if t_zero else "nan", f"{rule}: after step {k} from finite w and dw, "
                                  f"{', '.join(bad)} {'is' if len(bad) == 1 else 'are'} nan/inf",
                                  fix=T_ZERO_HINT if t_zero else f"the course's update is: {UPDATE[rule]}",
                                  where=tuple(bad)), nonfinite=bad, step=k)
        if k == 1:
            first_t = first_t_of(rule, user_config, ref_config)
    if rel_error(user_w - w, ref_w - w) > STEP_TOL and base is None:
        convention = matching_convention(rule, w, [grads], [user_w], first_t=first_t)
        if convention is not None:
            return convention_outcome(rule, convention, "two steps")
    if rel_error(user_w - w, ref_w - w) > STEP_TOL:
        fresh_w = step(run_steps(step, w, grads[:1], dict(HYPER[rule]))[0], grads[1], dict(HYPER[rule]))[0]
        ignored = rel_error(user_w, fresh_w) < STEP_TOL
        reason = "the second step ignores the first one's state" if ignored else "the second step differs from the reference"
        return failed(Finding("state_not_carried" if ignored else "update_rule",
                              f"{rule}: after two steps w differs from the reference "
                              f"(relative error {rel_error(user_w - w, ref_w - w):.2g}): {reason}",
                              fix=f"read the state from config at the start and store it back at the end: "
                                  f"{UPDATE[rule]}", where=("next_w",)))
    kept = ", ".join(STATE[rule]) or "no state (sgd has none)"
    return passed(f"two steps match the reference; config carries {kept}")


def state_problem(rule: str, step: int, got: dict[str, Any], expected: dict[str, Any]) -> Outcome | None:
    """A failed Outcome when the user's state after `step` steps differs from the reference's."""
    for key in STATE[rule]:
        if key not in got:
            return failed(Finding("state_missing", f"{rule}: after step {step} the returned config has no '{key}'",
                                  fix=f"store the new state for the next call: config['{key}'] = {key}",
                                  where=(f"config['{key}']",)))
        if key == "t":
            continue  # years start t at 0 or 1; only the increments matter (checked through w)
        value = np.asarray(got[key], dtype=np.float64)
        if value.shape == expected[key].shape and rel_error(value, expected[key]) < STEP_TOL:
            continue
        # Storing the velocity with the opposite sign (v = mu*v + lr*dw; w -= v) is equivalent.
        if key == "velocity" and value.shape == expected[key].shape and rel_error(value, -expected[key]) < STEP_TOL:
            continue
        stale = not np.any(value)
        error = rel_error(value, expected[key]) if value.shape == expected[key].shape else 1
        return failed(Finding("state_not_updated" if stale else "update_rule",
                              f"{rule}: after step {step} config['{key}'] "
                              f"{'is still all zeros' if stale else 'differs from the reference'}"
                              f" (relative error {error:.2g})",
                              fix=(f"the new {key} is computed but never stored: config['{key}'] = {key}" if stale
                                   else f"the course's update is: {UPDATE[rule]}"), where=(f"config['{key}']",)),
                      key=key, step=step)
    return None


# ---------------------------------------------------------------- conventions of other years

# Where epsilon sits: the course adds it to the square root; textbooks (and some students) put it
# inside, np.sqrt(cache + eps), or as eps**2 inside. The steps differ only where cache ~ eps.
EPS_PLACES = {"outside": "np.sqrt({}) + epsilon", "inside": "np.sqrt({} + epsilon)",
              "inside_squared": "np.sqrt({} + epsilon**2)"}
FIRST_T_WORDS = ("t starts at 1 (the 2017 course's config.setdefault('t', 1)), so the first step is "
                 "bias-corrected with t = 2; today's course starts at 0")


def first_t_of(rule: str, user_config: dict[str, Any], ref_config: dict[str, Any]) -> int:
    """The user's first t: 1 when, from the same config, their t after one step is the reference's + 1.

    The 2017 course wrote config.setdefault('t', 1) and incremented before use; today's starts at 0.
    """
    if rule != "adam":
        return 0
    try:
        return 1 if float(user_config["t"]) == float(ref_config["t"]) + 1 else 0
    except (KeyError, TypeError, ValueError):
        return 0


def convention_step(rule: str, *, first_t: int = 0, eps: str = "outside"):
    """The reference rule under another year's convention: Adam's first t, or epsilon's place."""
    reference = REFERENCE[rule]

    def step(w, dw, config):
        config = dict(config)
        if rule == "adam":
            config.setdefault("t", first_t)
        if eps == "outside":
            return reference(w, dw, config)
        lr, epsilon = config["learning_rate"], config["epsilon"]
        shift = epsilon if eps == "inside" else epsilon ** 2
        if rule == "rmsprop":
            cache = config["decay_rate"] * config.get("cache", np.zeros_like(w)) + (1 - config["decay_rate"]) * dw ** 2
            return w - lr * dw / np.sqrt(cache + shift), dict(config, cache=cache)
        t = config["t"] + 1
        m = config["beta1"] * config.get("m", np.zeros_like(w)) + (1 - config["beta1"]) * dw
        v = config["beta2"] * config.get("v", np.zeros_like(w)) + (1 - config["beta2"]) * dw ** 2
        mt, vt = m / (1 - config["beta1"] ** t), v / (1 - config["beta2"] ** t)
        return w - lr * mt / np.sqrt(vt + shift), dict(config, m=m, v=v, t=t)

    return step


def candidate_conventions(rule: str, first_t: int) -> list[dict[str, Any]]:
    """Conventions that are not bugs, to try when the course's fails: Adam's first t x epsilon's place."""
    places = ["outside", "inside", "inside_squared"] if rule == "adam" else ["outside", "inside"] \
        if rule == "rmsprop" else ["outside"]
    return [{"first_t": first_t, "eps": eps} for eps in places if first_t or eps != "outside"]


def matching_convention(rule: str, w: np.ndarray, grad_lists: list[list[np.ndarray]], got: list[np.ndarray],
                        *, config: dict[str, Any] | None = None, first_t: int = 0) -> dict[str, Any] | None:
    """The first convention under which the reference reproduces the user's final w of each run, or None.

    Args:
        rule: the rule's name.
        w: the starting parameter.
        grad_lists: one list of gradients per run (each run starts from w and config).
        got: the user's final w of each run.
        config: the starting config (default: hyperparameters only).
        first_t: the user's first t as read from their config (first_t_of).
    """
    start = config if config is not None else HYPER[rule]
    with np.errstate(all="ignore"):
        for convention in candidate_conventions(rule, first_t):
            step = convention_step(rule, **convention)
            finals = [run_steps(step, w, grads, copy_config(start))[-1] for grads in grad_lists]
            if all(rel_error(g - w, e - w) < STEP_TOL for g, e in zip(got, finals)):
                return convention
    return None


def convention_outcome(rule: str, convention: dict[str, Any], what: str) -> Outcome:
    """pass when only Adam's first t differs (the course's own line), warn when epsilon moved."""
    words = [FIRST_T_WORDS] if convention["first_t"] else []
    if convention["eps"] != "outside":
        moment = "cache" if rule == "rmsprop" else "vt"
        words.append(f"epsilon is inside the square root ({EPS_PLACES[convention['eps']].format(moment)}; "
                     f"the course writes {EPS_PLACES['outside'].format(moment)}): a convention, not a bug; "
                     f"the steps differ only where {moment} is as small as epsilon")
    message = f"{what} match the reference under another convention: {'; '.join(words)}"
    if convention["eps"] == "outside":
        return passed(message, first_t=convention["first_t"])
    return warned(Finding("eps_placement", message, fix=f"to match the course exactly: {UPDATE[rule]}",
                          where=("epsilon",)), **convention)


# ---------------------------------------------------------------- adam bias correction


def adam_bias_correction(ctx: CheckContext) -> Outcome:
    """From zero moments, Adam's first step moves each coordinate by ~learning_rate at any gradient scale."""
    lr = 1e-3
    w = np.zeros(12)
    signs = np.where(ctx.rng.random(12) < 0.5, -1.0, 1.0)
    dw = signs * np.repeat([1e-3, 1.0, 1e3], 4) * ctx.rng.uniform(0.5, 2.0, 12)
    ratio, note = None, ""
    for t0 in (0, 1):  # t0 = 1: the older convention of using t before incrementing it
        config = {**DEFAULTS["adam"], "learning_rate": lr, "m": np.zeros(12), "v": np.zeros(12), "t": t0}
        with np.errstate(all="ignore"):
            next_w, _ = call_rule(ctx, "adam", w, dw, config)
        if np.all(np.isfinite(next_w)):
            ratio = np.abs(next_w - w) / lr
            note = " (t starts at 1: used before its increment)" if t0 else ""
            break
    if note and adam_t_zero_problem(ctx) is not None:
        # t = 1 works, but the user's own default t is 0: the 2017 convention does not apply.
        return blamed_on(T_ZERO_BLAME)
    if ratio is None:
        return failed(Finding("nan", "adam's first step from m = v = 0 is NaN/inf for t = 0 and for t = 1",
                              fix="increment t before the bias correction so that 1 - beta1**t is never 0: "
                                  "config['t'] += 1; mt = m / (1 - beta1**t)", where=("next_w",)))
    if np.all(np.abs(ratio - 1) < 0.1):
        return passed(f"first step = learning_rate for gradients of 1e-3, 1 and 1e3{note}",
                      step_over_lr=float(np.median(ratio)))
    factor = float(np.median(ratio))
    message = (f"adam's first step from m = v = 0 moves w by {factor:.3g} x learning_rate "
               f"(expected 1 x, for gradients of 1e-3, 1 and 1e3)")
    # The size of the first step alone does not tell a missing bias correction from a wrong
    # beta (v decayed with beta1 also gives 0.1 x): the steps from a full state decide.
    mistake = matching_mistake("adam", *user_runs(ctx, "adam"))
    if mistake is not None and mistake[0] != "no_bias_correction":
        return blamed_on(Reason("blamed", ("adam",), ("optim.adam.step",), note=mistake[1]),
                         with_yours=message, step_over_lr=factor)
    if mistake is not None:
        return failed(Finding("no_bias_correction", f"{message}: {mistake[1]}",
                              fix="divide both moments by their bias before the update: "
                                  "mt = m / (1 - beta1**t); vt = v / (1 - beta2**t)", where=("mt", "vt")),
                      step_over_lr=factor)
    return failed(Finding("update_rule", message, fix=f"the course's update is: {UPDATE['adam']}",
                          where=("next_w",)), step_over_lr=[float(r) for r in ratio])


# ---------------------------------------------------------------- progress on a quadratic bowl

BOWL_STEPS = 100
PROGRESS = {  # learning rates at which the reference rule converges on the bowl below
    "sgd": {"learning_rate": 0.1},
    "sgd_momentum": {"learning_rate": 0.02, "momentum": 0.9},
    "rmsprop": {"learning_rate": 0.01},
    "adam": {"learning_rate": 0.05},
}


def bowl(w: np.ndarray, curvature: np.ndarray) -> tuple[float, np.ndarray]:
    """f(w) = 0.5 * sum(curvature * w**2) and its gradient."""
    return float(0.5 * np.sum(curvature * w * w)), curvature * w


def optim_progress(ctx: CheckContext, rule: str) -> Outcome:
    """On a quadratic bowl the loss falls over 100 steps; the step scales with learning_rate."""
    curvature = np.linspace(0.5, 2.0, 10)
    w0 = ctx.rng.uniform(0.5, 1.5, 10) * np.where(ctx.rng.random(10) < 0.5, -1, 1)
    loss0, dw0 = bowl(w0, curvature)
    lr = PROGRESS[rule]["learning_rate"]
    steps = scaled_steps(ctx, rule, w0, dw0, PROGRESS[rule])
    if ignores_learning_rate(steps):
        return failed(Finding("lr_ignored", f"{rule}: the first step is the same for learning_rate={lr:g} and "
                              f"{0.1 * lr:g}", fix=f"the learning rate is ignored: scale the update by "
                              f"config['learning_rate'] ({UPDATE[rule]})", where=("config['learning_rate']",)))
    if float(np.dot(steps[0], dw0)) > 0:
        return failed(Finding("sign", f"{rule}: the first step goes uphill (along +dw) on the bowl "
                              "f(w) = 0.5 * sum(a * w**2)", fix=f"a sign error: {UPDATE[rule]}", where=("next_w",)))
    w, config, losses = w0, dict(PROGRESS[rule]), [loss0]
    with np.errstate(all="ignore"):
        for _ in range(BOWL_STEPS):
            w, config = call_rule(ctx, rule, w, bowl(w, curvature)[1], config)
            losses.append(bowl(w, curvature)[0])
    final = losses[-1]
    if np.isfinite(final) and final < 0.1 * loss0:
        return passed(f"loss {loss0:.3g} -> {final:.3g} in {BOWL_STEPS} steps on a quadratic bowl",
                      initial_loss=loss0, final_loss=final)
    if not np.isfinite(losses[1]):
        t_zero = rule == "adam" and t_zero_at_correction(ctx)
        return failed(Finding("t_zero" if t_zero else "nan", f"{rule}: on the bowl f(w) = 0.5 * sum(a * w**2) "
                              f"the loss is {losses[1]} after the first step, from finite w and dw",
                              fix=T_ZERO_HINT if t_zero else f"the first step divides by zero or overflows: "
                                                             f"{UPDATE[rule]}", where=("next_w",)),
                      initial_loss=loss0, final_loss=final)
    worst = int(np.nanargmax(np.where(np.isfinite(losses), losses, np.inf)))
    grows = final > loss0 or not np.isfinite(final)
    return failed(Finding("diverges" if grows else "stalls",
                          f"{rule}: on the bowl f(w) = 0.5 * sum(a * w**2) the loss went {loss0:.3g} -> "
                          f"{final:.3g} in {BOWL_STEPS} steps (largest {losses[worst]:.3g} at step {worst}; "
                          f"expected below {0.1 * loss0:.3g})",
                          fix=("the steps grow instead of settling: check the sign of each term, " if grows
                               else "the steps shrink too fast or stall: ") + UPDATE[rule], where=("next_w",)),
                  initial_loss=loss0, final_loss=final)


# ---------------------------------------------------------------- one bug, one failure

def earlier_status(ctx: CheckContext, check_id: str) -> str | None:
    """The status of an earlier check of this run (None when it has not run)."""
    result = ctx.results.get(check_id)
    return result.status if result is not None else None


def adam_without_correction(correct_m: bool, correct_v: bool):
    """Adam as the reference computes it, with the bias correction of m and/or v left out."""
    return mistaken_rule("adam", corrected=tuple(k for k, on in (("m", correct_m), ("v", correct_v)) if on))


UNCORRECTED = {(False, False): "neither moment bias-corrected", (True, False): "m corrected, v not",
               (False, True): "v corrected, m not"}


def explained_by_bias_correction(ctx: CheckContext, outcome: Outcome, recheck) -> Outcome:
    """A failing Adam check skipped when optim.adam.bias_correction failed and the user's adam
    passes this check against the reference with that correction left out: one bug, one failure.

    Args:
        ctx: the CheckContext.
        outcome: this check's outcome against the reference.
        recheck: base step function -> this check's outcome against it.
    """
    if outcome.status != FAIL or earlier_status(ctx, "optim.adam.bias_correction") != FAIL:
        return outcome
    for (m, v), words in UNCORRECTED.items():
        if recheck(adam_without_correction(m, v)).status == PASS:
            return blamed_on(Reason("blamed", ("adam",), ("optim.adam.bias_correction",),
                                    note="of the missing bias correction"),
                             with_yours=outcome.message, matches_with=words)
    return outcome


def step_check(ctx: CheckContext, rule: str) -> Outcome:
    """optim_step, graded once: a bias-correction bug or a state-carrying bug speaks in its own check."""
    if rule == "adam":
        # Before comparing steps from an explicit t: with the user's default t of 0, a t used
        # before its increment makes the very first step nan (the 2017 convention needs t = 1).
        problem = adam_t_zero_problem(ctx)
        if problem is not None:
            return problem
    outcome = optim_step(ctx, rule)
    if rule == "adam":
        outcome = explained_by_bias_correction(ctx, outcome, lambda base: optim_step(ctx, rule, base))
    if outcome.status == FAIL and STATE[rule] and outcome.finding.pattern == "state_not_carried":
        state = optim_state(ctx, rule)
        if state.status == FAIL:
            return blamed_on(not_carried(rule), with_yours=outcome.message)
    return outcome


def not_carried(rule: str) -> Reason:
    return Reason("blamed", (rule,), (f"optim.{rule}.state",), note="the state is not carried between calls")


def state_check(ctx: CheckContext, rule: str) -> Outcome:
    """optim_state, skipped when its failure is the wrong single step optim.<rule>.step reports."""
    outcome = optim_state(ctx, rule)
    if outcome.status == FAIL and rule == "adam" and t_zero_reported(ctx):
        return blamed_on(T_ZERO_BLAME, with_yours=outcome.message)
    if rule == "adam":
        outcome = explained_by_bias_correction(ctx, outcome, lambda base: optim_state(ctx, rule, base))
    mistake = reported_mistake(ctx, rule)
    if outcome.status == FAIL and mistake is not None and \
            optim_state(ctx, rule, mistaken_rule(rule, **mistake[3])).status == PASS:
        # The state follows the mistaken update optim.<rule>.step names: the same bug.
        return blamed_on(Reason("blamed", (rule,), (f"optim.{rule}.step",), note=mistake[1]),
                         with_yours=outcome.message)
    if outcome.status == FAIL and earlier_status(ctx, f"optim.{rule}.step") == FAIL and first_step_differs(ctx, rule):
        return blamed_on(Reason("blamed", (rule,), (f"optim.{rule}.step",), note="the single step is wrong"),
                         with_yours=outcome.message)
    return outcome


def reported_mistake(ctx: CheckContext, rule: str) -> tuple[str, str, str, dict] | None:
    """The MISTAKES entry optim.<rule>.step failed with (read from its details), or None."""
    result = ctx.results.get(f"optim.{rule}.step")
    words = result.details.get("mistake") if result is not None and result.status == FAIL else None
    return next((m for m in MISTAKES.get(rule, ()) if m[1] == words), None)


def first_step_differs(ctx: CheckContext, rule: str) -> bool:
    """Whether the user's first step from hyperparameters only differs from the reference's."""
    w, dw = fixed_inputs()
    got, user_config = call_rule(ctx, rule, w, dw, dict(HYPER[rule]))
    expected, ref_config = REFERENCE[rule](w, dw, dict(HYPER[rule]))
    if rel_error(got - w, expected - w) <= STEP_TOL:
        return False
    # The 2017 course starts t at 1: its first step is right for that start.
    first_t = first_t_of(rule, user_config, ref_config)
    return matching_convention(rule, w, [[dw]], [got], first_t=first_t) is None


def progress_check(ctx: CheckContext, rule: str) -> Outcome:
    """optim_progress, skipped when optim.<rule>.step already reports a wrong update."""
    outcome = optim_progress(ctx, rule)
    if outcome.status == FAIL and earlier_status(ctx, f"optim.{rule}.step") == FAIL:
        return blamed_on(Reason("blamed", (rule,), (f"optim.{rule}.step",), note="the update itself is wrong"),
                         with_yours=outcome.message)
    if outcome.status == FAIL and earlier_status(ctx, f"optim.{rule}.state") == FAIL:
        # Without its state (velocity, cache, m, v) the rule cannot settle on the bowl either.
        return blamed_on(not_carried(rule), with_yours=outcome.message)
    if outcome.status == FAIL and rule == "adam" and earlier_status(ctx, "optim.adam.bias_correction") == FAIL:
        return blamed_on(Reason("blamed", ("adam",), ("optim.adam.bias_correction",),
                                note="of the missing bias correction"), with_yours=outcome.message)
    return outcome


# ---------------------------------------------------------------- declarations
# Adam's bias_correction comes first and step before state and progress: the later checks
# read the earlier results so that one bug fails one check (the most specific one).

STEP = "one and three steps match the reference"
DEFAULTS_TITLE = "fills the course's defaults and creates its state"
STATE_TITLE = "carries its state between calls in config"
PROGRESS_TITLE = "descends a quadratic bowl; honours learning_rate"


@check("optim.sgd.step", subject="sgd", title=STEP)
def sgd_step(ctx: CheckContext) -> Outcome:
    return step_check(ctx, "sgd")


@check("optim.sgd.defaults", subject="sgd", title=DEFAULTS_TITLE)
def sgd_defaults(ctx: CheckContext) -> Outcome:
    return optim_defaults(ctx, "sgd")


@check("optim.sgd.progress", subject="sgd", title=PROGRESS_TITLE)
def sgd_progress(ctx: CheckContext) -> Outcome:
    return progress_check(ctx, "sgd")


@check("optim.sgd_momentum.step", subject="sgd_momentum", title=STEP)
def sgd_momentum_step(ctx: CheckContext) -> Outcome:
    return step_check(ctx, "sgd_momentum")


@check("optim.sgd_momentum.defaults", subject="sgd_momentum", title=DEFAULTS_TITLE)
def sgd_momentum_defaults(ctx: CheckContext) -> Outcome:
    return optim_defaults(ctx, "sgd_momentum")


@check("optim.sgd_momentum.state", subject="sgd_momentum", title=STATE_TITLE)
def sgd_momentum_state(ctx: CheckContext) -> Outcome:
    return state_check(ctx, "sgd_momentum")


@check("optim.sgd_momentum.progress", subject="sgd_momentum", title=PROGRESS_TITLE)
def sgd_momentum_progress(ctx: CheckContext) -> Outcome:
    return progress_check(ctx, "sgd_momentum")


@check("optim.rmsprop.step", subject="rmsprop", title=STEP)
def rmsprop_step(ctx: CheckContext) -> Outcome:
    return step_check(ctx, "rmsprop")


@check("optim.rmsprop.defaults", subject="rmsprop", title=DEFAULTS_TITLE)
def rmsprop_defaults(ctx: CheckContext) -> Outcome:
    return optim_defaults(ctx, "rmsprop")


@check("optim.rmsprop.state", subject="rmsprop", title=STATE_TITLE)
def rmsprop_state(ctx: CheckContext) -> Outcome:
    return state_check(ctx, "rmsprop")


@check("optim.rmsprop.progress", subject="rmsprop", title=PROGRESS_TITLE)
def rmsprop_progress(ctx: CheckContext) -> Outcome:
    return progress_check(ctx, "rmsprop")


@check("optim.adam.bias_correction", subject="adam", title="first step ~ learning_rate at any gradient scale")
def adam_bias_correction_check(ctx: CheckContext) -> Outcome:
    return adam_bias_correction(ctx)


@check("optim.adam.step", subject="adam", title=STEP)
def adam_step(ctx: CheckContext) -> Outcome:
    return step_check(ctx, "adam")


@check("optim.adam.defaults", subject="adam", title=DEFAULTS_TITLE)
def adam_defaults(ctx: CheckContext) -> Outcome:
    return optim_defaults(ctx, "adam")


@check("optim.adam.state", subject="adam", title=STATE_TITLE)
def adam_state(ctx: CheckContext) -> Outcome:
    return state_check(ctx, "adam")


@check("optim.adam.progress", subject="adam", title=PROGRESS_TITLE)
def adam_progress(ctx: CheckContext) -> Outcome:
    return progress_check(ctx, "adam")
