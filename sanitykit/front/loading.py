"""Loading the code under test: a .py file, a folder or a dotted module -> LoadedTarget.

Every module of the user's tree is imported on its own, under a private package name
(`_sanitykit_target_3.cs231n.layers`), so that two targets in one process never share
modules. While loading, an import hook answers the names the student's modules import
each other by (`from cs231n.layers import *`, `import layers`) with those private
modules. A module that cannot be imported is a *problem* (file, line, message): the
names it would define are reported as errors, every other module still loads.
"""
from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import itertools
import os
import pkgutil
import re
import sys
import traceback
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from sanitykit.engine.usercode import CheckTimeout, describe_exception
from sanitykit.front import conventions as measured
from sanitykit.front import substitute
from sanitykit.front.capture import fenced
from sanitykit.front.finders import Hooks, aliases_installed
from sanitykit.front.layout import (CONVENTIONAL_NAMES, SKIPPED_DIRS, SKIPPED_FILES,  # noqa: F401
                                    Layout, implicit_relative_aliases, resolve_layout, shown_path)
from sanitykit.front.name_map import parse_map_items, read_name_map  # noqa: F401 - re-exported
from sanitykit.front.shims import tree_is_python2
from sanitykit.front.target import LoadedTarget, TargetError


_counter = itertools.count(1)


@dataclass(frozen=True)
class ImportProblem:
    """A module of the user's tree that could not be imported.

    Args:
        module: its name as the user knows it ("cs231n.layers").
        file: where the error is, relative to the target when possible.
        line: line number, or None.
        message: "SyntaxError: invalid syntax".
        names: the functions and classes the module would have defined.
        note: True when this is only a note: a course helper (data_utils.py) needing a package not
            installed here, defining nothing sanitykit checks.
    """

    module: str
    file: str
    line: int | None
    message: str
    names: tuple[str, ...] = ()
    note: bool = False

    def one_line(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{self.module} could not be imported: {where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        info = {"module": self.module, "file": self.file, "line": self.line, "message": self.message}
        if self.note:
            info["note"] = True
        return info


NOTE_MISSING_PACKAGE = "{message} (a package not installed here; this file defines nothing sanitykit checks)"


def missing_package(exc: BaseException, own_names: Any) -> str | None:
    """The third-party package an import failed for (imageio, h5py, scipy.misc, torch, ...), or None.

    Args:
        exc: what the import raised.
        own_names: the tree's own top-level import names (cs231n): their failures are not about packages.
    """
    name = getattr(exc, "name", None) if isinstance(exc, ImportError) else None
    if not name:
        return None
    top = name.partition(".")[0]
    return None if top in own_names or top.startswith("_sanitykit_target") else name


def import_problem(dotted: str, path: Path, exc: BaseException, root: Path, own_names: Any) -> ImportProblem:
    """An ImportProblem for a module that raised at import; a note when only a package is missing
    and the module defines none of the names sanitykit checks."""
    file, line, message = describe_import_failure(exc, path, root)
    names = defined_names(path)
    note = missing_package(exc, own_names) is not None and not set(names) & set(CONVENTIONAL_NAMES)
    if note:
        message = NOTE_MISSING_PACKAGE.format(message=message)
    return ImportProblem(dotted, file, line, message, names, note)


# ---------------------------------------------------------------- reading problems

_DEF_LINE = re.compile(r"^(?:async\s+def|def|class)\s+([A-Za-z_]\w*)", re.MULTILINE)


def defined_names(path: Path) -> tuple[str, ...]:
    """Top-level def/class names of a source file, even when it does not parse.

    Args:
        path: the module's file.
    """
    try:
        source = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ()
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        # A broken module is exactly the case we scan for: fall back to the text.
        return tuple(dict.fromkeys(_DEF_LINE.findall(source)))
    return tuple(node.name for node in tree.body
                 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)))


def describe_import_failure(exc: BaseException, module_file: Path, base: Path) -> tuple[str, int | None, str]:
    """(file, line, message) for an exception raised while importing a user's module.

    Args:
        exc: what the import raised.
        module_file: the module being imported (used when no better frame is found).
        base: the folder file names are shown relative to.
    """
    if isinstance(exc, CheckTimeout):
        return shown_path(str(module_file), base), None, f"importing it did not finish ({exc})"
    if isinstance(exc, SyntaxError) and exc.filename:
        return shown_path(exc.filename, base), exc.lineno, f"{type(exc).__name__}: {exc.msg}"
    if isinstance(exc, SystemExit):
        what = getattr(exc, "what", None) or f"sys.exit({exc.code!r})"  # os._exit, fenced
        return shown_path(str(module_file), base), None, f"called {what} at import"
    # The innermost frame inside the user's tree says where it went wrong.
    base_text = str(base)
    filename, line = str(module_file), None
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if os.path.abspath(frame.filename).startswith(base_text):
            filename, line = frame.filename, frame.lineno
            break
    return shown_path(filename, base), line, describe_exception(exc)


@dataclass
class _Imported:
    """What import_layout hands back (see there)."""

    modules: dict[str, types.ModuleType]
    problems: list[ImportProblem]
    private: str
    output: str
    hooks: Hooks
    substitutions: list[dict[str, Any]]
    absent: dict[str, str]
    numpy_restored: list[tuple[Path, str]] = field(default_factory=list)
    output_dropped: int = 0

    def __iter__(self):  # the first four, as the earlier tuple (modules, problems, private, output)
        return iter((self.modules, self.problems, self.private, self.output))


def import_layout(layout: Layout, timeout: float | None = 30.0) -> _Imported:
    """Import every module of `layout` under a fresh private package.

    Returns modules by user dotted name, problems, private package name, captured output,
    the hooks (shims applied), the substitutions made and the names they hide.

    Args:
        layout: from resolve_layout.
        timeout: seconds allowed to import one module (None: no limit).
    """
    private = f"_sanitykit_target_{next(_counter)}"
    package = types.ModuleType(private, doc="sanitykit: private home of one target's modules")
    package.__path__ = [str(layout.root)]
    package.__package__ = private
    sys.modules[private] = package

    hooks = Hooks(private, dict(layout.aliases), layout.root, [],
                   tree_is_python2([p for _, p in layout.modules]))
    imported = _Imported({}, [], private, "", hooks, [], {})
    output: list[str] = []
    with aliases_installed(private, layout.aliases, hooks):
        for dotted, path in substitute.helpers_first(layout.modules):
            if f"{private}.{dotted}" in sys.modules and dotted in imported.modules:
                continue
            try:
                fence = None
                try:
                    with fenced(timeout) as fence:
                        imported.modules[dotted] = importlib.import_module(f"{private}.{dotted}")
                finally:  # after the fence closed: it has put numpy back by now
                    if fence is not None:
                        if fence.output.getvalue():
                            output.append(fence.output.getvalue())
                        imported.output_dropped += fence.output.dropped
                        imported.numpy_restored.extend((path, name) for name in fence.numpy_restored)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # noqa: BLE001 - anything a student module does at import
                if substitute.is_fast_layers(dotted):
                    file, line, message = describe_import_failure(exc, path, layout.root)
                    _stand_in_for_fast_layers(imported, dotted, path, file, line, message)
                    continue
                imported.problems.append(import_problem(dotted, path, exc, layout.root, layout.aliases))
        _replace_broken_fast_layers(imported, layout.root, timeout)
    imported.output = "".join(output)
    return imported


def _stand_in_for_fast_layers(imported: _Imported, dotted: str, path: Path, file: str,
                              line: int | None, message: str) -> None:
    """The course's fast_layers.py did not import: sanitykit's fast layers answer for it."""
    private_name = f"{imported.private}.{dotted}"
    module = substitute.stand_in_module(private_name, str(path))
    sys.modules[private_name] = module
    parent_name, _, leaf = private_name.rpartition(".")
    if parent_name in sys.modules:
        setattr(sys.modules[parent_name], leaf, module)
    imported.modules[dotted] = module
    where = f"{file}:{line}" if line else file
    names = ", ".join(substitute.FAST_NAMES)
    imported.substitutions.append({
        "module": dotted, "file": file, "line": line, "names": list(substitute.FAST_NAMES),
        "by": "sanitykit.reference.fast_layers",
        "message": f"the course's fast_layers.py could not be imported ({message}); sanitykit's own "
                   f"{names} are used by the modules that import it"})
    for name in substitute.FAST_NAMES:
        imported.absent[name] = (f"{name} is the course's (fast_layers.py), which could not be imported "
                                 f"here ({where}: {message}); sanitykit's own stands in for it")


def _replace_broken_fast_layers(imported: _Imported, root: Path, timeout: float | None) -> None:
    """Probe the course's fast layers; rebind sanitykit's in place of any pair that fails here."""
    for dotted, module in list(imported.modules.items()):
        if not substitute.is_fast_layers(dotted) or getattr(module, "__sanitykit_substitute__", False):
            continue
        try:
            with fenced(timeout):
                broken = substitute.broken_pairs(module)
        except BaseException as exc:  # noqa: BLE001 - a probe that hangs counts as broken
            if isinstance(exc, KeyboardInterrupt):
                raise
            broken = [(pair, describe_exception(exc)) for pair in substitute.FAST_PAIRS]
        file = shown_path(getattr(module, "__file__", "") or dotted, root)
        for pair, why in broken:
            originals = {n: getattr(module, n) for n in pair}
            changed = substitute.rebind(imported.modules, originals)
            imported.substitutions.append({
                "module": dotted, "file": file, "names": list(pair), "by": "sanitykit.reference.fast_layers",
                "message": substitute.substitution_message(pair, why, file, changed)})
            fault = ("cannot run here" if substitute.fails_for_this_machine(why)
                     else "raises in the course's own code")
            for name in pair:
                imported.absent[name] = (f"{name} is the course's (fast_layers.py) and {fault} "
                                         f"({why}); sanitykit's own is used in its place")


def _load_module_target(module: types.ModuleType, name: str, timeout: float | None) -> LoadedTarget:
    """An importable (installed) module and its submodules, imported under their own names."""
    modules = {module.__name__: module}
    problems: list[ImportProblem] = []
    if hasattr(module, "__path__"):
        for info in pkgutil.walk_packages(module.__path__, prefix=module.__name__ + "."):
            try:
                with fenced(timeout):
                    modules[info.name] = importlib.import_module(info.name)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # noqa: BLE001
                spec = importlib.util.find_spec(info.name)
                origin = Path(spec.origin) if spec and spec.origin else Path(info.name)
                file, line, message = describe_import_failure(exc, origin, origin.parent)
                problems.append(ImportProblem(info.name, file, line, message, defined_names(origin)))
    file = getattr(module, "__file__", None)
    return LoadedTarget(name, modules, problems, description=f"module {module.__name__}",
                        root=Path(file).resolve().parent if file else None)


def _import_dotted(spec: str, timeout: float | None) -> types.ModuleType:
    try:
        found = importlib.util.find_spec(spec)
    except (ImportError, ValueError):
        found = None
    if found is None:
        raise TargetError(f"{spec}: no such file, folder or importable module")
    try:
        with fenced(timeout):
            return importlib.import_module(spec)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001
        origin = Path(found.origin) if found.origin else Path(spec)
        file, line, message = describe_import_failure(exc, origin, origin.parent)
        where = f"{file}:{line}" if line else file
        raise TargetError(f"{spec} could not be imported: {where}: {message}") from None


def _looks_dotted(spec: str) -> bool:
    return all(part.isidentifier() for part in spec.split("."))


def load_target(spec: str | os.PathLike | types.ModuleType, name_map: dict[str, str] | None = None,
                *, timeout: float | None = 30.0) -> LoadedTarget:
    """Load the user's code; TargetError (one line) when there is nothing to load.

    Args:
        spec: a .py file, a folder (assignment root, the cs231n/ package, any folder of
            modules), a dotted module name, or a module object.
        name_map: conventional name -> the user's name; overrides `[tool.sanitykit.map]`.
        timeout: seconds allowed to import one module (default 30).
    """
    if isinstance(spec, types.ModuleType):
        target = _load_module_target(spec, spec.__name__, timeout)
    elif not Path(spec).expanduser().exists() and isinstance(spec, str) and _looks_dotted(spec):
        target = _load_module_target(_import_dotted(spec, timeout), spec, timeout)
    else:
        layout = resolve_layout(spec)
        imported = import_layout(layout, timeout)
        target = LoadedTarget(layout.spec, imported.modules, imported.problems,
                              description=layout.description, root=layout.home,
                              private=imported.private, aliases=dict(layout.aliases),
                              import_output=imported.output, import_output_dropped=imported.output_dropped,
                              substitutions=imported.substitutions,
                              shims=imported.hooks.shims, absent=imported.absent, _hooks=imported.hooks,
                              numpy_restored=[{"file": shown_path(str(path), layout.root), "name": name}
                                              for path, name in imported.numpy_restored])
        file_map, target.map_source = read_name_map(layout.config_dirs)
        target.name_map.update(file_map)
        if name_map and target.map_source:
            target.map_source += " and --map"
    if name_map:
        target.name_map.update(name_map)
        target.map_source = target.map_source or "--map"
    measure_conventions(target, timeout)
    return target


def measure_conventions(target: LoadedTarget, timeout: float | None = 30.0) -> None:
    """Fill target.conventions and its sentences by measuring the user's code (see conventions.py)."""
    try:
        with target.imports_active(), fenced(timeout):
            found, notes = measured.measure(target.get)
    except KeyboardInterrupt:
        raise
    except BaseException:  # noqa: BLE001 - a convention we cannot measure stays the course's default
        return
    target.conventions.update(found)
    target.convention_notes.extend(notes)
