"""numpy and builtins functions a student's code replaces: caught as they are replaced, put back.

A layer that does `np.sum = ...`, `np.allclose = lambda *a, **k: True` or `builtins.abs = ...`
while it runs would bend sanitykit's own arithmetic for the rest of the check (the comparison,
the numerical gradient, the diagnosis): a planted bug reported "right (max relative error 0)".
While a fence is up (capture.fenced), the modules of numpy, builtins and math get a module
class that remembers what an attribute held the moment the user's code replaces or deletes
it, and `call_user` puts those back after every call into the user's code, before sanitykit
computes again. The check reports the names. Writes that bypass setattr (`vars(np)["sum"] =`,
`__builtins__["abs"] =`) are caught when the fence closes (capture.restore_numpy).

Writes made by sanitykit's own code (checks/layer_mistakes.py wraps np.pad to record how a
student pads) are not the student's and are left alone.
"""
from __future__ import annotations

import contextlib
import sys
import threading
import types
from typing import Any, Iterator

WATCHED_PACKAGES = ("numpy",)  # and every submodule: np.allclose reads numpy._core.numeric.isclose
WATCHED_MODULES = ("builtins", "math")

_lock = threading.RLock()
_depth = 0
_replaced: dict[tuple[int, str], tuple[types.ModuleType, str, Any]] = {}
_installed: list[tuple[types.ModuleType, type]] = []
_watching_classes: dict[type, type] = {}
_MISSING = object()


def _is_ours(frame: types.FrameType | None) -> bool:
    module = frame.f_globals.get("__name__", "") if frame is not None else ""
    return module == "sanitykit" or module.startswith("sanitykit.")


def _remember(module: types.ModuleType, name: str) -> None:
    """Keep what `module.name` holds before its first replacement (additions are left alone)."""
    if name.startswith("__") and name.endswith("__"):
        return  # __class__ (our own swap), __warningregistry__, ...
    namespace = vars(module)
    if name not in namespace or _is_ours(sys._getframe(2)):
        return
    with _lock:
        _replaced.setdefault((id(module), name), (module, name, namespace[name]))


def _watching_class(base: type) -> type:
    """A subclass of `base` (types.ModuleType, usually) whose setattr and delattr remember."""
    if base not in _watching_classes:
        def __setattr__(self, name: str, value: Any) -> None:
            _remember(self, name)
            base.__setattr__(self, name, value)

        def __delattr__(self, name: str) -> None:
            _remember(self, name)
            base.__delattr__(self, name)

        # Named as its base: `type(np).__name__` stays "module" in anything a student prints.
        _watching_classes[base] = type(base.__name__, (base,), {
            "__setattr__": __setattr__, "__delattr__": __delattr__, "__slots__": (),
            "__module__": base.__module__})
    return _watching_classes[base]


def _watched(name: str) -> bool:
    return name in WATCHED_MODULES or any(name == p or name.startswith(p + ".") for p in WATCHED_PACKAGES)


def _install() -> None:
    for name, module in list(sys.modules.items()):
        if not _watched(name) or not isinstance(module, types.ModuleType):
            continue
        base = type(module)
        if base in _watching_classes.values():
            continue
        with contextlib.suppress(TypeError):  # a module type that cannot change class: not watched
            object.__setattr__(module, "__class__", _watching_class(base))
            _installed.append((module, base))


def _uninstall() -> None:
    while _installed:
        module, base = _installed.pop()
        with contextlib.suppress(TypeError):
            object.__setattr__(module, "__class__", base)


@contextlib.contextmanager
def watched() -> Iterator[None]:
    """Watch the modules of numpy, builtins and math for replaced attributes inside the block."""
    global _depth
    with _lock:
        _depth += 1
        if _depth == 1:
            _install()
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _uninstall()


def put_back() -> list[str]:
    """Put back every attribute replaced since the last call; their names ("numpy.sum")."""
    with _lock:
        replaced = list(_replaced.values())
        _replaced.clear()
    names = []
    for module, name, original in replaced:
        namespace = vars(module)
        if namespace.get(name, _MISSING) is not original:
            namespace[name] = original
            names.append(f"{module.__name__}.{name}")
    return names
