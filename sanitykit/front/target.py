"""What loading hands back: a LoadedTarget, or a TargetError when there is nothing to load."""
from __future__ import annotations


class TargetError(Exception):
    """The target cannot be loaded at all; str() is a one-line reason for the user."""
