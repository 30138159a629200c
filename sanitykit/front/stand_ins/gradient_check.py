"""Stand-in for the course's gradient_check.py: numerical gradients by central differences."""
from random import randrange

import numpy as np

from sanitykit.engine.numeric import numerical_gradient

__all__ = ["eval_numerical_gradient", "eval_numerical_gradient_array", "grad_check_sparse"]


def eval_numerical_gradient(f, x, verbose=True, h=0.00001):
    """Gradient of the scalar f(x) at x (x is perturbed in place and restored)."""
    return numerical_gradient(lambda v: np.asarray(f(v), dtype=float), x, dout=np.ones(()), h=h)


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Gradient of sum(f(x) * df) with respect to x."""
    return numerical_gradient(f, x, dout=df, h=h)


def grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5):
    """Compare a few random elements of analytic_grad with central differences, printing each."""
    for _ in range(num_checks):
        ix = tuple(randrange(m) for m in x.shape)
        old = x[ix]
        x[ix] = old + h
        plus = f(x)
        x[ix] = old - h
        minus = f(x)
        x[ix] = old
        numeric = (plus - minus) / (2 * h)
        error = abs(numeric - analytic_grad[ix]) / max(1e-12, abs(numeric) + abs(analytic_grad[ix]))
        print(f"numerical: {numeric:f} analytic: {analytic_grad[ix]:f}, relative error: {error:e}")
