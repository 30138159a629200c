"""The diagnostic suite: `catalogue()` lists every declared check."""
from sanitykit.checks.registry import (CheckContext, CheckSpec, DictTarget, SkipCheck, Target,
                                       catalogue, check)

__all__ = ["CheckContext", "CheckSpec", "DictTarget", "SkipCheck", "Target", "catalogue", "check"]
