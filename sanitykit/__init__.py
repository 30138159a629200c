"""sanitykit: gradient checks and sanity checks, with diagnoses, for hand-written numpy layers."""
from __future__ import annotations

from sanitykit._version import __version__

__all__ = ["__version__", "rel_error", "numerical_gradient", "gradcheck", "gradcheck_loss",
           "gradcheck_model", "GradcheckResult", "assert_gradients_match",
           "assert_loss_gradient_matches", "assert_model_gradients_match", "h_sweep", "check"]


def __getattr__(name: str):
    # Lazy: `import sanitykit` stays light (the pytest plugin imports it at start-up).
    if name in ("rel_error", "numerical_gradient"):
        from sanitykit.engine import numeric
        return getattr(numeric, name)
    if name in ("gradcheck", "gradcheck_loss", "gradcheck_model", "GradcheckResult",
                "assert_gradients_match", "assert_loss_gradient_matches",
                "assert_model_gradients_match", "h_sweep"):
        from sanitykit.engine import gradcheck
        return getattr(gradcheck, name)
    if name == "check":
        from sanitykit.front.runner import check
        return check
    raise AttributeError(f"module 'sanitykit' has no attribute {name!r}")
