"""sanitykit: gradient checks and sanity checks, with diagnoses, for hand-written numpy layers."""
from sanitykit._version import __version__

# Where each public name lives; imported on first use so that `import sanitykit` stays light
# (the pytest plugin imports it at start-up).
_LAZY = {
    "rel_error": "sanitykit.engine.numeric",
    "numerical_gradient": "sanitykit.engine.numeric",
    **dict.fromkeys(("gradcheck", "gradcheck_loss", "gradcheck_model", "GradcheckResult",
                     "assert_gradients_match", "assert_loss_gradient_matches",
                     "assert_model_gradients_match", "h_sweep"), "sanitykit.engine.gradcheck"),
    "check": "sanitykit.front.runner",
    **dict.fromkeys(("lr_find", "activations", "overfit"), "sanitykit.front.diagnostics"),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sanitykit' has no attribute {name!r}")


def __dir__() -> list[str]:
    # Tab completion in a notebook offers the lazy names too: a module's dir() shows only
    # what is already bound, and `gradcheck` is not until first used.
    return sorted({*globals(), *__all__})
