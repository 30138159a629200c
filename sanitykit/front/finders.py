"""The import hooks of one target: the user's import names answered with its private modules.

Every module of the user's tree is imported on its own, under a private package name
(`_sanitykit_target_3.cs231n.layers`), so that two targets in one process never share
modules. While the hooks are installed, `_AliasFinder` answers the names the student's
modules import each other by (`from cs231n.layers import *`, `import layers`) with those
private modules, `_UserModuleFinder` reads them through the shims (Python 2 read as 3),
and `future` / `past` / `six` stand-ins answer when those packages are not installed.
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from sanitykit.front.capture import numpy_snapshot
from sanitykit.front.layout import shown_path
from sanitykit.front.shims import ShimLoader, StandInFinder


class _AliasLoader(importlib.abc.Loader):
    """Answers `cs231n.layers` with the module already imported as `_sanitykit_target_3.cs231n.layers`."""

    def __init__(self, private_name: str):
        self.private_name = private_name
        self.own_spec = None

    def create_module(self, spec):
        module = importlib.import_module(self.private_name)
        self.own_spec = module.__spec__
        return module

    def exec_module(self, module):
        # Already executed under its private name; importlib has just overwritten
        # __spec__ with the alias's, so put the module's own back (relative imports read it).
        if self.own_spec is not None:
            module.__spec__ = self.own_spec


class _AliasFinder(importlib.abc.MetaPathFinder):
    """Redirects the user's own top-level import names to the private package."""

    def __init__(self, private: str, aliases: dict[str, str]):
        self.private = private
        self.aliases = aliases

    def find_spec(self, fullname, path=None, target=None):
        top, _, rest = fullname.partition(".")
        if top not in self.aliases:
            return None
        private_name = f"{self.private}.{self.aliases[top]}" + (f".{rest}" if rest else "")
        return importlib.util.spec_from_loader(fullname, _AliasLoader(private_name))


# The files an exception passed through while modules imported each other, innermost first:
# the first is the file that failed, the rest the chain of modules importing it.
IMPORT_CHAIN = "__sanitykit_import_chain__"


def import_chain(exc: BaseException) -> list[str]:
    """The files `exc` was raised through at import, the failing file first ([] when not marked)."""
    return list(getattr(exc, IMPORT_CHAIN, None) or [])


def _mark_chain(exc: BaseException, path: str) -> None:
    with contextlib.suppress(AttributeError, TypeError):  # an exception class without a __dict__
        chain = getattr(exc, IMPORT_CHAIN, None)
        if chain is None:
            setattr(exc, IMPORT_CHAIN, [path])
        elif chain[-1] != path:
            chain.append(path)


def _numpy_changed(before: dict[str, dict[str, Any]]) -> list[str]:
    """The numpy names ("numpy.sum") bound to something else than in `before`."""
    return [f"{name}.{key}" for name, saved in before.items() for key, value in saved.items()
            if vars(sys.modules[name]).get(key, value) is not value]


class _TrackedLoader(ShimLoader):
    """ShimLoader that says which file did what at import: a failure carries the import chain
    (IMPORT_CHAIN), and a numpy function replaced is noted against the module that replaced it,
    not against the first module of the tree that happened to import it."""

    def __init__(self, *args: Any, numpy_patches: list[tuple[str, str]]):
        super().__init__(*args)
        self.numpy_patches = numpy_patches

    def exec_module(self, module):
        before = numpy_snapshot()
        noted = len(self.numpy_patches)
        try:
            super().exec_module(module)
        except BaseException as exc:
            if not isinstance(exc, KeyboardInterrupt):
                _mark_chain(exc, self.path)
            raise
        finally:
            by_inner = {name for _, name in self.numpy_patches[noted:]}  # modules it imported
            self.numpy_patches.extend((self.path, name) for name in _numpy_changed(before)
                                      if name not in by_inner)


class _UserModuleFinder(importlib.abc.MetaPathFinder):
    """Finds the modules of the private package and loads them through ShimLoader (Python 2 read as 3)."""

    def __init__(self, private: str, root: Path, shims: list[str], python2_tree: bool,
                 numpy_patches: list[tuple[str, str]]):
        self.private = private
        self.root = root
        self.shims = shims
        self.python2_tree = python2_tree
        self.numpy_patches = numpy_patches

    def record(self, line: str) -> None:
        if line not in self.shims:
            self.shims.append(line)

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith(self.private + "."):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            return spec
        spec.loader = _TrackedLoader(fullname, spec.origin, self.record, self.python2_tree,
                                     shown_path(spec.origin, self.root), numpy_patches=self.numpy_patches)
        return spec


@dataclass
class Hooks:
    """What the import hooks of one target need: its private package, aliases and shim record.

    Args:
        private: the private package name ("_sanitykit_target_3").
        aliases: top-level import name -> dotted name under the root (Layout.aliases).
        root: the folder the private package stands for.
        shims: the record of shims applied, one line each (appended to while importing).
        python2_tree: the tree holds Python-2 code (see shims.tree_is_python2); default False.
        numpy_patches: (file, "numpy.sum") for each numpy name a module replaced while it imported.
    """

    private: str
    aliases: dict[str, str]
    root: Path
    shims: list[str]
    python2_tree: bool = False
    numpy_patches: list[tuple[str, str]] = field(default_factory=list)

    def installed(self) -> contextlib.AbstractContextManager[None]:
        """The hooks installed for the length of a `with` (see aliases_installed)."""
        return aliases_installed(self.private, self.aliases, self)


@contextlib.contextmanager
def aliases_installed(private: str, aliases: dict[str, str], hooks: Hooks | None = None) -> Iterator[None]:
    """Install the alias hook; afterwards remove it and every alias entry of sys.modules.

    Modules the user had imported under those names before (a notebook's own `cs231n`)
    are put back untouched. With `hooks`, the user's modules are also read through the
    shims, and `future` / `past` stand-ins answer when those packages are not installed.
    """
    def ours(key: str) -> bool:
        return key.partition(".")[0] in aliases

    stand_ins = StandInFinder(hooks.shims if hooks else [])

    def served(key: str) -> bool:
        return getattr(sys.modules.get(key), "__sanitykit_shim__", False)

    saved = {k: v for k, v in sys.modules.items() if ours(k)}
    for key in saved:
        del sys.modules[key]
    finders = [_AliasFinder(private, aliases)]
    if hooks is not None:
        finders.append(_UserModuleFinder(private, hooks.root, hooks.shims, hooks.python2_tree,
                                         hooks.numpy_patches))
    for finder in reversed(finders):
        sys.meta_path.insert(0, finder)
    if hooks is not None:
        sys.meta_path.append(stand_ins)  # last: an installed `future` always wins
    try:
        yield
    finally:
        for finder in (*finders, stand_ins):
            with contextlib.suppress(ValueError):
                sys.meta_path.remove(finder)
        for key in [k for k in sys.modules if ours(k) or served(k)]:
            del sys.modules[key]
        sys.modules.update(saved)
