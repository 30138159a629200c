"""What gradcheck checks, in one shape: inputs perturbed in place, an output, analytic gradients.

Three adapters over the user's code — a layer (forward/backward), a loss (loss_fn -> (loss, dx))
and a model (model.loss -> (loss, grads)) — each turning whatever the user returns into float64
arrays, or into a one-line UserCodeError / NotImplementedYet naming the function.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable

import numpy as np

from sanitykit.engine.usercode import NotImplementedYet, UserCodeError, call_user, subject_name


def describe_value(value: Any) -> str:
    """`a list`, `an int`, `an array of shape (3, 4) and dtype int64` — for one-line errors."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, tuple):
        return f"a tuple of {len(value)}"
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def as_output(value: Any, fname: str) -> np.ndarray:
    """The forward output as a float64 array (0-d for a scalar loss), or a one-line error."""
    if value is None:
        raise NotImplementedYet(fname, "returned None")
    if isinstance(value, (float, np.floating)):
        return np.asarray(value, dtype=np.float64)
    if not isinstance(value, np.ndarray):
        raise UserCodeError(f"{fname} returned {describe_value(value)} as its output; "
                            "expected a numpy array", subject=fname)
    if not np.issubdtype(value.dtype, np.floating):
        raise UserCodeError(f"{fname} returned {describe_value(value)}; expected floating point "
                            "(an integer array cannot carry a gradient)", subject=fname)
    return value if value.dtype == np.float64 else value.astype(np.float64)


def as_gradient(value: Any, fname: str, grad_name: str) -> np.ndarray:
    """One returned gradient as a float64 array (keeping its shape), or a one-line error."""
    if value is None:
        raise NotImplementedYet(fname, f"returned None for {grad_name}")
    if isinstance(value, (float, np.floating)):
        return np.asarray(value, dtype=np.float64)
    if not isinstance(value, np.ndarray):
        raise UserCodeError(f"{fname} returned {describe_value(value)} for {grad_name}; "
                            "expected a numpy array", subject=fname)
    if not np.issubdtype(value.dtype, np.floating):
        raise UserCodeError(f"{fname} returned {grad_name} as {describe_value(value)}; an integer "
                            "array truncates the gradient (np.zeros_like of an integer array?)",
                            subject=fname)
    return value


def default_names(fn: Callable, count: int) -> list[str]:
    """The first `count` parameter names of fn (x, w, b), else x0, x1, ..."""
    try:
        params = [p.name for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    if len(params) >= count:
        return params[:count]
    return ["x"] if count == 1 else [f"x{i}" for i in range(count)]


class LayerProblem:
    """A layer: forward(*inputs, *args) -> out or (out, cache); backward(dout, cache) -> grads.

    When forward returns no cache, backward receives the inputs instead: the single input
    itself for one input, else the tuple of inputs.
    """

    kind = "layer"

    def __init__(self, forward, backward, inputs, args, names, subject=None):
        self.forward, self.backward, self.args = forward, backward, tuple(args)
        self.inputs, self.names = inputs, names
        self.fname = subject_name(forward)
        self.bname = subject or subject_name(backward)
        self.cache = None
        self.extra_grads = 0
        self.no_cache = False   # forward returned a bare array: backward gets the inputs
        self.dout_changed = 0   # elements of dout the first backward call wrote into
        self.dout_zeroed = False  # ... and they were all set to 0 (dout[x <= 0] = 0)

    def _call_forward(self):
        value = call_user(self.forward, *self.inputs, *self.args, subject=self.fname)
        if isinstance(value, tuple) and len(value) == 2:
            self.out_dtype = getattr(value[0], "dtype", np.float64)
            return as_output(value[0], self.fname), value[1]
        if isinstance(value, tuple):
            raise UserCodeError(f"{self.fname} returned a tuple of {len(value)}; expected "
                                "out or (out, cache)", subject=self.fname)
        cache = self.inputs[0] if len(self.inputs) == 1 else tuple(self.inputs)
        self.no_cache = True
        self.out_dtype = getattr(value, "dtype", np.float64)
        return as_output(value, self.fname), cache

    def evaluate(self) -> np.ndarray:
        return self._call_forward()[0]

    def prepare(self) -> np.ndarray:
        """Run forward once, keep its cache for backward, return the output."""
        out, self.cache = self._call_forward()
        return out

    def gradients(self, dout, fresh: bool = True) -> list[np.ndarray]:
        """backward(dout, cache) as one array per input; `fresh` re-runs forward for a new cache."""
        if fresh or self.cache is None:
            self.prepare()
        # backward gets a copy: one that writes into dout (dout[x <= 0] = 0) must not change
        # the upstream gradient of the calls after it; what it changed is measured instead.
        given = np.array(dout, dtype=np.float64) if isinstance(dout, np.ndarray) else dout
        try:
            value = call_user(self.backward, given, self.cache, subject=self.bname)
        except UserCodeError as exc:
            if not self.no_cache:
                raise
            # The backward most likely unpacked a cache the forward never returned.
            got = self.names[0] if len(self.names) == 1 else f"({', '.join(self.names)})"
            raise UserCodeError(f"{self.fname} returned no cache, so {self.bname} got {got} "
                                f"as its cache and failed: {exc.reason}; return (out, cache) "
                                f"from {self.fname}", subject=self.bname, where=exc.where,
                                source_line=exc.source_line) from exc
        if given is not dout and not self.dout_changed and given.shape == np.shape(dout):
            changed = given != dout
            self.dout_changed = int(changed.sum())
            self.dout_zeroed = bool(self.dout_changed and np.all(given[changed] == 0))
        if isinstance(value, tuple):
            grads = value
        elif isinstance(value, list) and len(self.inputs) > 1:
            grads = tuple(value)  # a list of arrays is fine; a plain list for one input is not
        else:
            grads = (value,)
        if value is None or len(grads) == 0 or all(g is None for g in grads):
            raise NotImplementedYet(self.bname, "returned None")
        if len(grads) < len(self.inputs) and not isinstance(value, (tuple, list)):
            raise UserCodeError(f"{self.bname} returned {describe_value(value)}; expected a tuple "
                                f"of {len(self.inputs)} gradients "
                                f"({', '.join('d' + n for n in self.names)})", subject=self.bname)
        if len(grads) < len(self.inputs):
            raise UserCodeError(f"{self.bname} returned {len(grads)} gradient(s) for "
                                f"{len(self.inputs)} inputs ({', '.join(self.names)})",
                                subject=self.bname)
        self.extra_grads = len(grads) - len(self.inputs)
        return [as_gradient(g, self.bname, "d" + n) for g, n in zip(grads, self.names)]


class LossProblem:
    """A loss: loss_fn(x, *args) -> (loss, dx); the output is the scalar loss."""

    kind = "loss"

    def __init__(self, loss_fn, x, args, name, subject=None):
        self.loss_fn, self.args = loss_fn, tuple(args)
        self.inputs, self.names = [x], [name]
        self.fname = self.bname = subject or subject_name(loss_fn)

    def _call(self):
        value = call_user(self.loss_fn, *self.inputs, *self.args, subject=self.fname)
        if value is None:
            raise NotImplementedYet(self.fname, "returned None")
        if not (isinstance(value, tuple) and len(value) == 2):
            raise UserCodeError(f"{self.fname} returned {describe_value(value)}; expected "
                                "(loss, dx)", subject=self.fname)
        loss, dx = value
        if loss is None and dx is None:
            raise NotImplementedYet(self.fname, "returned (None, None)")
        loss = as_output(loss, self.fname)
        if loss.size != 1:
            raise UserCodeError(f"{self.fname} returned a loss of shape {loss.shape}; expected "
                                "a scalar (the mean over the batch)", subject=self.fname)
        return loss.reshape(()), dx

    def evaluate(self) -> np.ndarray:
        return self._call()[0]

    def prepare(self) -> np.ndarray:
        return self.evaluate()

    def gradients(self, dout, fresh: bool = True) -> list[np.ndarray]:
        return [as_gradient(self._call()[1], self.fname, "d" + self.names[0])]


class ModelProblem:
    """A model: model.params (dict of arrays, perturbed in place); model.loss(X, y) -> (loss, grads)."""

    kind = "model"

    def __init__(self, model, X, y, subject=None):
        self.model, self.X, self.y = model, X, y
        self.names = list(model.params.keys())
        self.inputs = [model.params[k] for k in self.names]
        self.fname = self.bname = subject or f"{type(model).__name__}.loss"

    def _call(self):
        value = call_user(self.model.loss, self.X, self.y, subject=self.fname)
        if value is None:
            raise NotImplementedYet(self.fname, "returned None")
        if not (isinstance(value, tuple) and len(value) == 2):
            raise UserCodeError(f"{self.fname} returned {describe_value(value)} with y given; "
                                "expected (loss, grads)", subject=self.fname)
        loss, grads = value
        loss = as_output(loss, self.fname)
        if loss.size != 1:
            raise UserCodeError(f"{self.fname} returned a loss of shape {loss.shape}; expected "
                                "a scalar", subject=self.fname)
        return loss.reshape(()), grads

    def evaluate(self) -> np.ndarray:
        return self._call()[0]

    def prepare(self) -> np.ndarray:
        return self.evaluate()

    def gradients(self, dout, fresh: bool = True) -> list[np.ndarray]:
        grads = self._call()[1]
        if not isinstance(grads, dict):
            raise UserCodeError(f"{self.fname} returned {describe_value(grads)} as grads; "
                                "expected a dict with one entry per key of model.params",
                                subject=self.fname)
        missing = [k for k in self.names if k not in grads]
        if missing:
            if all(grads.get(k) is None for k in self.names):
                raise NotImplementedYet(self.fname, "returned no gradients")
            raise UserCodeError(f"{self.fname} returned no gradient for {', '.join(missing)}",
                                subject=self.fname)
        return [as_gradient(grads[k], self.fname, "grads[" + repr(k) + "]") for k in self.names]
