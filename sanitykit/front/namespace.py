"""A target made of what a notebook defines: `sk.check(globals())`, a dict, or an object.

A student who writes `affine_forward` in a cell checks it where it is, without saving a
file. Names are looked up when a check asks for them, so running `sk.check(globals())`
again after editing a cell checks the edited function. The name map is the CLI's: the
`name_map=` argument over `[tool.sanitykit.map]` of a pyproject.toml in the working
directory (the notebook's folder). Always checked in this process: a function defined in
a notebook cannot be sent to another one.
"""
from __future__ import annotations

import contextlib
import os
import sysconfig
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

# A module's globals (a notebook's `globals()`, `vars(module)`) has a __name__.
GLOBALS_LABEL, NAMESPACE_LABEL = "<globals()>", "<namespace>"
# Files that are nobody's homework: the interpreter's and the installed packages'.
LIBRARY_DIRS = tuple({os.path.realpath(sysconfig.get_paths()[key]) + os.sep
                      for key in ("stdlib", "platstdlib", "purelib", "platlib")})


def is_namespace_label(label: str) -> bool:
    """True for the target label of a namespace (its rerun line is a Python call, not a command)."""
    return label in (GLOBALS_LABEL, NAMESPACE_LABEL)


def _code_files(obj: Any) -> Iterator[str]:
    """The source files of a function, or of a class's methods (where a traceback points)."""
    if isinstance(obj, type):
        for member in vars(obj).values():
            member = getattr(member, "__func__", member)  # staticmethod, classmethod
            code = getattr(member, "__code__", None)
            if code is not None:
                yield code.co_filename
        return
    code = getattr(getattr(obj, "__func__", obj), "__code__", None)
    if code is not None:
        yield code.co_filename


def _globals_of(obj: Any) -> dict | None:
    """The module globals a function (or a class's first method) reads its names from."""
    functions = [obj] if not isinstance(obj, type) else [getattr(m, "__func__", m) for m in vars(obj).values()]
    for function in functions:
        found = getattr(function, "__globals__", None)
        if isinstance(found, dict):
            return found
    return None


def _is_ours_or_library(filename: str) -> bool:
    real = os.path.realpath(filename)
    return real.startswith(LIBRARY_DIRS) or real.startswith(os.path.dirname(os.path.dirname(__file__)))


@dataclass
class NamespaceTarget:
    """The Target protocol (checks/registry.py) over a dict or an object's attributes.

    Args:
        namespace: a dict (globals()) or an object with the conventional names as attributes.
        name: the report's target label (GLOBALS_LABEL or NAMESPACE_LABEL).
        name_map: conventional name -> the user's name.
        map_source: where the name map came from ("" when there is none).
    """

    namespace: Any
    name: str = NAMESPACE_LABEL
    name_map: dict[str, str] = field(default_factory=dict)
    map_source: str = ""
    conventions: dict[str, Any] = field(default_factory=dict)
    convention_notes: list[str] = field(default_factory=list)
    _overrides: dict[str, Any] = field(default_factory=dict, repr=False)

    def _lookup(self, user_name: str) -> Any | None:
        if isinstance(self.namespace, dict):
            return self.namespace.get(user_name)
        try:
            return getattr(self.namespace, user_name, None)
        except Exception:  # noqa: BLE001 - a student's property may raise; then the name is absent
            return None

    def _values(self) -> list[Any]:
        items = self.namespace if isinstance(self.namespace, dict) else {
            k: self._lookup(k) for k in dir(self.namespace) if not k.startswith("__")}
        return [v for v in list(items.values()) if callable(v)]

    def get(self, name: str) -> Any | None:
        """The user's object for the conventional `name` (after the name map), read now."""
        user_name = self.name_map.get(name, name)
        if user_name in self._overrides:
            return self._overrides[user_name]
        obj = self._lookup(user_name)
        return None if isinstance(obj, types.ModuleType) else obj

    def problem_for(self, name: str) -> str | None:
        return None

    def absent_note(self, name: str) -> str | None:
        return None

    def owns_file(self, filename: str) -> bool:
        """True for the file of a function or class the namespace holds (a notebook cell's too)."""
        if _is_ours_or_library(filename):
            return False
        return any(filename == f for value in self._values() for f in _code_files(value))

    def _module_globals(self) -> list[dict]:
        """The globals the namespace's functions and classes read (the dict itself for a notebook)."""
        found: dict[int, dict] = {}
        if isinstance(self.namespace, dict):
            found[id(self.namespace)] = self.namespace
        for value in self._values():
            namespace = _globals_of(value)
            name = str((namespace or {}).get("__name__", ""))
            if namespace is not None and not name.startswith("sanitykit"):
                found.setdefault(id(namespace), namespace)
        return list(found.values())

    @contextlib.contextmanager
    def swapped(self, replacements: dict[str, Any]) -> Iterator[None]:
        """Bind `replacements` where the user's code looks its names up, then put everything back.

        A FullyConnectedNet written in a cell calls `affine_forward` through the notebook's
        globals; one imported from a module, through that module's.
        """
        saved: list[tuple[Any, str, Any]] = []
        saved_overrides = dict(self._overrides)
        holders = self._module_globals()
        try:
            for name, obj in replacements.items():
                user_name = self.name_map.get(name, name)
                self._overrides[user_name] = obj
                for holder in holders:
                    if user_name in holder:
                        saved.append((holder, user_name, holder[user_name]))
                        holder[user_name] = obj
                if not isinstance(self.namespace, dict) and user_name in vars_or_empty(self.namespace):
                    saved.append((self.namespace, user_name, getattr(self.namespace, user_name)))
                    setattr(self.namespace, user_name, obj)
            yield
        finally:
            for holder, user_name, old in reversed(saved):
                if isinstance(holder, dict):
                    holder[user_name] = old
                else:
                    setattr(holder, user_name, old)
            self._overrides.clear()
            self._overrides.update(saved_overrides)

    def imports_active(self) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()

    def loading_info(self) -> dict[str, Any]:
        what = "a notebook's or module's globals()" if self.name == GLOBALS_LABEL else \
            f"the names of a {type(self.namespace).__name__}"
        info: dict[str, Any] = {"source": f"{what}, checked in this process",
                                "conventions": dict(self.conventions),
                                "conventions_text": "; ".join(self.convention_notes),
                                "substitutions": [], "shims": [], "problems": []}
        # The map and where it came from, only when there is one (as for a loaded tree).
        info.update((key, value) for key, value in (("name_map", dict(self.name_map)),
                                                    ("name_map_source", self.map_source))
                    if value and self.name_map)
        return info

    def close(self) -> None:
        pass


def vars_or_empty(obj: Any) -> dict:
    try:
        return vars(obj)
    except TypeError:  # an object with __slots__
        return {}


def namespace_target(namespace: Any, name_map: dict[str, str] | None = None, *,
                     timeout: float | None = 30.0) -> NamespaceTarget:
    """A NamespaceTarget for `namespace`, its name map read, its conventions measured.

    Args:
        namespace: a dict (globals()) or an object with the conventional names.
        name_map: conventional name -> the user's name; over `[tool.sanitykit.map]` of
            ./pyproject.toml.
        timeout: seconds allowed to measure the conventions (default 30).
    """
    from sanitykit.front.loading import measure_conventions
    from sanitykit.front.name_map import read_name_map

    file_map, map_source = read_name_map((Path.cwd(),))
    label = GLOBALS_LABEL if isinstance(namespace, dict) and "__name__" in namespace else NAMESPACE_LABEL
    target = NamespaceTarget(namespace, label, dict(file_map), map_source)
    if name_map:
        target.name_map.update(name_map)
        target.map_source = f"{map_source} and name_map=" if map_source else "name_map="
    measure_conventions(target, timeout)
    return target
