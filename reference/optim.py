"""First-order update rules with the course's config-dict protocol.

Each rule is `rule(w, dw, config=None) -> (next_w, config)`: `config` holds the
hyperparameters (defaults filled in with `setdefault`) and the rule's state
(velocity, cache, m, v, t), so the Solver can keep one config per parameter and
pass it back on the next step.
"""
from __future__ import annotations

import numpy as np

__all__ = ["sgd", "sgd_momentum", "rmsprop", "adam"]


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent: w -= learning_rate * dw.

    Args:
        w, dw: parameter and its gradient, same shape.
        config: dict; learning_rate (default 1e-2).
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    next_w = w - config["learning_rate"] * dw
    return next_w, config


def sgd_momentum(w, dw, config=None):
    """SGD with momentum: v = momentum * v - learning_rate * dw; w += v.

    Args:
        w, dw: parameter and its gradient, same shape.
        config: dict; learning_rate (default 1e-2), momentum (default 0.9),
            velocity (state, default zeros_like(w)).
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v - config["learning_rate"] * dw
    next_w = w + v
    config["velocity"] = v
    return next_w, config


def rmsprop(w, dw, config=None):
    """RMSProp: a decaying average of squared gradients scales each coordinate's step.

    Args:
        w, dw: parameter and its gradient, same shape.
        config: dict; learning_rate (default 1e-2), decay_rate (default 0.99),
            epsilon (default 1e-8), cache (state, default zeros_like(w)).
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("cache", np.zeros_like(w))
    decay = config["decay_rate"]
    cache = decay * config["cache"] + (1 - decay) * dw**2
    next_w = w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])
    config["cache"] = cache
    return next_w, config


def adam(w, dw, config=None):
    """Adam: momentum plus RMSProp, with bias-corrected moment estimates.

    `t` is incremented before the bias correction (the course's current version), so
    the first step uses 1 - beta**1 and moves each coordinate by about learning_rate.

    Args:
        w, dw: parameter and its gradient, same shape.
        config: dict; learning_rate (default 1e-3), beta1 (default 0.9),
            beta2 (default 0.999), epsilon (default 1e-8), m, v (state, default
            zeros_like(w)), t (step count, default 0).
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)
    beta1, beta2 = config["beta1"], config["beta2"]
    t = config["t"] + 1
    m = beta1 * config["m"] + (1 - beta1) * dw
    v = beta2 * config["v"] + (1 - beta2) * dw**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])
    config.update(m=m, v=v, t=t)
    return next_w, config
