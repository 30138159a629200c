"""Course conventions of a target, found by measuring its code (never by guessing its year).

The course changed several conventions between 2016 and today, and students mix them:
- dropout's `p`: the probability to DROP a unit (2016-17) or to KEEP it (since); and whether
  kept units are rescaled (inverted dropout);
- FullyConnectedNet's arguments: `dropout` / `dropout_keep_ratio`, `use_batchnorm` / `normalization`;
- the optimizers' argument names: `(x, dx, config)` or `(w, dw, config)`;
- spatial groupnorm's gamma/beta: `(C,)` or `(1, C, 1, 1)`;
- a default dtype of float32 for the models (they are rebuilt in float64 for checking).

`measure(target)` returns (conventions, sentences): the dict the checks read
(ctx.conventions) and one sentence per finding for the report.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable

import numpy as np

DROPOUT_P = 0.8        # not 0.5: keeping with probability p and with 1 - p must look different
DROPOUT_SHAPE = (200, 500)
KEPT_TOL = 0.02        # 100 binomial std of a 1e5-unit mask is 0.013: no correct code lands outside
OPTIMIZERS = ("sgd", "sgd_momentum", "rmsprop", "adam")
ABSENT_WATCHED = ("TwoLayerNet", "FullyConnectedNet", "ThreeLayerConvNet", "svm_loss", "softmax_loss")


def quiet_call(fn: Callable, *args: Any) -> Any:
    """fn(*args), or None when it raises anything (a stub, a bug: the checks will say which)."""
    try:
        with np.errstate(all="ignore"):
            return fn(*args)
    except Exception:  # noqa: BLE001 - measuring, not judging
        return None


def first_array(value: Any) -> np.ndarray | None:
    """`out` of an (out, cache) pair, or None when it is not a float array."""
    if isinstance(value, (tuple, list)) and value:
        value = value[0]
    return value if isinstance(value, np.ndarray) and value.dtype.kind == "f" else None


# ---------------------------------------------------------------- dropout

def dropout_convention(dropout_forward: Callable) -> tuple[dict[str, Any], str]:
    """Measure the kept fraction with p=0.8: ~0.8 means p keeps, ~0.2 means p drops; and the scale of kept units.

    Args:
        dropout_forward: the user's function.
    """
    x = np.ones(DROPOUT_SHAPE)
    state = np.random.get_state()
    try:
        out = first_array(quiet_call(dropout_forward, x, {"mode": "train", "p": DROPOUT_P, "seed": 0}))
    finally:
        np.random.set_state(state)
    if out is None or out.shape != x.shape:
        return {}, ""
    kept = float(np.mean(out != 0))
    if abs(kept - DROPOUT_P) <= KEPT_TOL:
        found, keep, words, year = "keep", DROPOUT_P, "the keep probability", ""
    elif abs(kept - (1 - DROPOUT_P)) <= KEPT_TOL:
        found, keep, words, year = "drop", 1 - DROPOUT_P, "the drop probability", "; the 2016-17 convention"
    else:
        return {}, ""
    conventions: dict[str, Any] = {"dropout_p": found}
    # One parenthesis: "(the 2016-17 convention) (measured: ...)" read as two afterthoughts.
    sentence = f"dropout's p is {words} (measured: {kept:.0%} of units kept with p={DROPOUT_P:g}{year})"
    scale = float(np.median(out[out != 0])) if kept else 0.0
    if np.isclose(scale, 1 / keep, rtol=1e-6):
        conventions["dropout_rescales"] = True
        sentence += ", kept units scaled by 1/keep (inverted dropout)"
    elif np.isclose(scale, 1.0):
        conventions["dropout_rescales"] = False
        sentence += ", kept units not rescaled"
    return conventions, sentence


# ---------------------------------------------------------------- signatures

def parameter_names(fn: Any) -> list[str] | None:
    """Explicit parameter names of a function, or of a class's first __init__ in its MRO that has any."""
    candidates = [k.__init__ for k in fn.__mro__ if "__init__" in vars(k)] if inspect.isclass(fn) else [fn]
    for candidate in candidates:
        try:
            params = inspect.signature(candidate).parameters
        except (TypeError, ValueError):
            return None
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            return [n for n in params if n != "self"]
    return None


def fc_net_arguments(cls: Any) -> tuple[dict[str, Any], str]:
    """Which names FullyConnectedNet takes for dropout and normalization ("dropout_keep_ratio+normalization")."""
    names = parameter_names(cls)
    if names is None:
        return {}, ""
    dropout = next((n for n in ("dropout_keep_ratio", "dropout") if n in names), None)
    norm = next((n for n in ("normalization", "use_batchnorm") if n in names), None)
    if not dropout and not norm:
        return {}, ""
    found = "+".join(n for n in (dropout, norm) if n)
    conventions: dict[str, Any] = {"fc_net_args": found}
    sentence = f"FullyConnectedNet takes {' and '.join(f'`{n}`' for n in (dropout, norm) if n)}"
    default = _default_dtype(cls)
    if default is not None and np.dtype(default) != np.float64:
        conventions["model_dtype"] = np.dtype(default).name
        sentence += f"; its default dtype is {np.dtype(default).name}, rebuilt in float64 for checking"
    return conventions, sentence


def _default_dtype(cls: Any) -> Any:
    try:
        default = inspect.signature(cls).parameters["dtype"].default
    except (KeyError, TypeError, ValueError):
        return None
    try:
        return np.dtype(default) if default is not inspect.Parameter.empty else None
    except TypeError:
        return None


def optim_signature(rules: list[Callable]) -> tuple[dict[str, Any], str]:
    """The optimizers' argument names, `(w, dw, config)` or `(x, dx, config)`; both when the file mixes them."""
    found = []
    for rule in rules:
        names = parameter_names(rule)
        if names and len(names) >= 3:
            signature = f"({', '.join(names[:3])})"
            if signature not in found:
                found.append(signature)
    if not found:
        return {}, ""
    return {"optim_signature": " / ".join(found)}, f"optimizers take {' or '.join(found)} (called by position)"


# ---------------------------------------------------------------- groupnorm

def groupnorm_shape(spatial_groupnorm_forward: Callable) -> tuple[dict[str, Any], str]:
    """Measure which gamma/beta shape the user's groupnorm gives the reference's numbers with."""
    from sanitykit.reference import spatial_groupnorm_forward as reference

    rng = np.random.default_rng(0)
    N, C, H, W, G = 2, 6, 3, 4, 2
    x = rng.standard_normal((N, C, H, W)) * 2 + 1
    gamma, beta = rng.uniform(0.5, 2.0, (1, C, 1, 1)), rng.standard_normal((1, C, 1, 1))
    expected = reference(x, gamma, beta, G, {})[0]
    for shape, found, words in (((1, C, 1, 1), "4d", "(1, C, 1, 1)"), ((C,), "1d", "(C,)")):
        out = first_array(quiet_call(spatial_groupnorm_forward, x.copy(), gamma.reshape(shape),
                                     beta.reshape(shape), G, {}))
        if out is not None and out.shape == x.shape and np.allclose(out, expected, rtol=1e-6, atol=1e-8):
            return {"groupnorm_param_shape": found}, f"groupnorm's gamma and beta are shaped {words}"
    return {}, ""


# ---------------------------------------------------------------- all at once

def measure(get: Callable[[str], Any]) -> tuple[dict[str, Any], list[str]]:
    """Every convention that can be measured on the target; (conventions, sentences for the report).

    Args:
        get: the target's lookup by conventional name (LoadedTarget.get).
    """
    conventions: dict[str, Any] = {}
    sentences: list[str] = []

    def add(found: tuple[dict[str, Any], str]) -> None:
        conventions.update(found[0])
        if found[1]:
            sentences.append(found[1])

    if get("FullyConnectedNet") is not None:
        add(fc_net_arguments(get("FullyConnectedNet")))
    if get("dropout_forward") is not None:
        found, sentence = dropout_convention(get("dropout_forward"))
        if found.get("dropout_p") == "drop" and "dropout_keep_ratio" in conventions.get("fc_net_args", ""):
            # The network hands its keep ratio to dropout as p: dropping with probability p is
            # then a bug, not a convention; check as keep so the dropout checks say so.
            found, sentence = {}, (f"{sentence}, but FullyConnectedNet's dropout_keep_ratio makes p the "
                                   f"keep probability: checked as keep")
        add((found, sentence))
    add(optim_signature([get(n) for n in OPTIMIZERS if get(n) is not None]))
    if get("spatial_groupnorm_forward") is not None:
        add(groupnorm_shape(get("spatial_groupnorm_forward")))
    from sanitykit.front import course_conventions  # assignments 1 and 3 (imports this module)

    found, notes = course_conventions.measure(get)
    conventions.update(found)
    sentences.extend(notes)
    absent = [n for n in ABSENT_WATCHED if get(n) is None]
    # Said of assignment-2 trees only (assignments 1 and 3 have no FullyConnectedNet in any year).
    assignment2 = any(get(n) is not None for n in ("batchnorm_forward", "dropout_forward", "conv_forward_naive"))
    if absent and len(absent) < len(ABSENT_WATCHED) and assignment2:
        sentences.append(f"no {', '.join(absent)} in this tree (not in every course year): "
                         f"their checks are skipped")
    return conventions, sentences
