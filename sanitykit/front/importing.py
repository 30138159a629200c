"""Importing a target's modules, each on its own, and saying which could not be imported and why.

A tree's modules are imported under a fresh private package (`_sanitykit_target_3.cs231n.layers`;
the hooks are finders.py's), each inside the fences of capture.py, course helpers first. A module
that cannot be imported is an ImportProblem (file, line, message, the names it would have
defined): those names are reported as errors, every other module still loads. An installed
module is imported under its own names, with its submodules.
"""
from __future__ import annotations

import ast
import importlib
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
from typing import Any

from sanitykit.engine.usercode import CheckTimeout, describe_exception, numpy_change
from sanitykit.engine.wording import numpy_fix
from sanitykit.front import substitute
from sanitykit.front.capture import fenced
from sanitykit.front.finders import Hooks, aliases_installed, import_chain
from sanitykit.front.layout import CONVENTIONAL_NAMES, Layout, shown_path
from sanitykit.front.shims import tree_is_python2
from sanitykit.front.sources import UnreadableSource, lenient_text, read_source
from sanitykit.front.target import TargetError

_counter = itertools.count(1)


@dataclass
class Imported:
    """What import_layout hands back.

    Args:
        modules: the modules imported, by the dotted name the user knows them by.
        problems: the modules that could not be imported.
        private: the private package they live under ("_sanitykit_target_3").
        output: what they printed at import, as far as the fences kept it.
        hooks: the target's import hooks, with the shims they applied.
        substitutions: the course helpers sanitykit stood in for (substitute.py), one dict each.
        absent: conventional names whose object is sanitykit's stand-in: name -> why.
        numpy_restored: (file, "numpy.sum") for each numpy function replaced at import and put back.
        output_dropped: characters printed at import beyond what was kept.
    """

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


def import_layout(layout: Layout, timeout: float | None = 30.0) -> Imported:
    """Import every module of `layout` under a fresh private package.

    Returns modules by user dotted name, problems, private package name, captured output,
    the hooks (shims applied), the substitutions made and the names they hide. A course
    fast_layers.py that does not import is stood in for here, so that the modules importing
    it still load; fast layers that import but cannot run are substitute.py's next step.

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
    imported = Imported({}, [], private, "", hooks, [], {})
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
                        imported.numpy_restored.extend(patched_by(hooks, path, fence.numpy_restored))
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # noqa: BLE001 - anything a student module does at import
                exc = substitute.import_with_stand_ins(imported, f"{private}.{dotted}", exc, timeout)
                if exc is None:  # course files left out of the upload, stood in for: imported
                    imported.modules[dotted] = sys.modules[f"{private}.{dotted}"]
                    continue
                if substitute.is_fast_layers(dotted):
                    file, line, message = describe_import_failure(exc, path, layout.root)
                    substitute.stand_in_for_fast_layers(imported, dotted, path, file, line, message)
                    continue
                imported.problems.append(import_problem(dotted, path, exc, layout.root, layout.aliases))
    imported.output = "".join(output)
    return imported


def patched_by(hooks: Hooks, path: Path, restored: list[str]) -> list[tuple[Path, str]]:
    """(file, name) for each numpy name put back after importing `path`: the file whose code
    replaced it (finders.py notes that), else `path` itself."""
    noted = {name: Path(file) for file, name in hooks.numpy_patches}
    return [(noted.get(name, path), name) for name in restored]


def import_installed(module: types.ModuleType,
                     timeout: float | None = 30.0) -> tuple[dict[str, types.ModuleType], list[ImportProblem]]:
    """An importable (installed) module and its submodules, imported under their own names.

    Returns (modules by dotted name, problems).

    Args:
        module: the module, already imported.
        timeout: seconds allowed to import one submodule (None: no limit).
    """
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
                problems.append(ImportProblem(info.name, file, line, message, defined_names(origin),
                                              unreadable=unreadable_of(exc, origin) is not None))
    return modules, problems


def import_dotted(spec: str, timeout: float | None = 30.0) -> types.ModuleType:
    """The installed module named `spec` ("mypkg.layers"), imported; TargetError if it cannot be.

    Args:
        spec: a dotted module name.
        timeout: seconds allowed to import it (None: no limit).
    """
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


def looks_dotted(spec: str) -> bool:
    """Whether `spec` can be a dotted module name ("mypkg.layers")."""
    return all(part.isidentifier() for part in spec.split("."))


# ---------------------------------------------------------------- what went wrong

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
        imported_by: when `file` is another module's, the files importing it on the way to this
            one, nearest first ("cs231n/classifiers/fc_net.py"); empty when this module failed itself.
        unreadable: `file` cannot be decoded as Python source (sources.py): nothing of it was read.
    """

    module: str
    file: str
    line: int | None
    message: str
    names: tuple[str, ...] = ()
    note: bool = False
    imported_by: tuple[str, ...] = ()
    unreadable: bool = False

    def where(self) -> str:
        """`cs231n/layers.py:3 (imported by cs231n/classifiers/fc_net.py)`: the failing file, the chain once."""
        where = f"{self.file}:{self.line}" if self.line else self.file
        if self.imported_by:
            where += f" (imported by {', imported by '.join(self.imported_by)})"
        return where

    def one_line(self) -> str:
        """The problem in one line: "cs231n.layers could not be imported: cs231n/layers.py:12: ..."."""
        return f"{self.module} could not be imported: {self.where()}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """The entry of the report's `loading.problems` (DESIGN.md); `note`, `imported_by` and
        `unreadable` only when they apply."""
        info: dict[str, Any] = {"module": self.module, "file": self.file, "line": self.line,
                                "message": self.message}
        if self.note:
            info["note"] = True
        if self.imported_by:
            info["imported_by"] = list(self.imported_by)
        if self.unreadable:
            info["unreadable"] = True
        return info


NOTE_MISSING_PACKAGE = "{message} (a package not installed here; this file defines nothing sanitykit checks)"


def import_problem(dotted: str, path: Path, exc: BaseException, root: Path, own_names: Any) -> ImportProblem:
    """An ImportProblem for a module that raised at import; a note when only a package is missing
    and the module defines none of the names sanitykit checks."""
    origin, importers = failure_origin(exc, path)
    file, line, message = describe_import_failure(exc, origin, root)
    names = defined_names(path)
    note = missing_package(exc, own_names) is not None and not set(names) & set(CONVENTIONAL_NAMES)
    if note:
        message = NOTE_MISSING_PACKAGE.format(message=message)
    return ImportProblem(dotted, file, line, message, names, note,
                         imported_by=tuple(shown_path(str(p), root) for p in importers),
                         unreadable=unreadable_of(exc, origin) is not None)


def failure_origin(exc: BaseException, module_file: Path) -> tuple[Path, tuple[Path, ...]]:
    """(the file that failed, the files importing it on the way to `module_file`).

    A `sys.exit` or an undecodable byte in layers.py fails every module importing it; the blame
    is layers.py's, and the importers are the chain (finders.IMPORT_CHAIN), up to `module_file`
    itself (or all of it, when `module_file` failed because its package's __init__ did).
    """
    chain = [Path(p) for p in import_chain(exc)]
    if not chain or _same_file(chain[0], module_file):
        return module_file, ()
    importers = chain[1:]
    for i, importer in enumerate(importers):
        if _same_file(importer, module_file):
            importers = importers[:i + 1]
            break
    return chain[0], tuple(importers)


def _same_file(a: Path | str, b: Path | str) -> bool:
    return os.path.abspath(a) == os.path.abspath(b)


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


_DEF_LINE = re.compile(r"^(?:async\s+def|def|class)\s+([A-Za-z_]\w*)", re.MULTILINE)


def defined_names(path: Path) -> tuple[str, ...]:
    """Top-level def/class names of a source file, even when it does not parse.

    Args:
        path: the module's file.
    """
    try:
        # Read leniently: a UTF-16 or latin-1 file that cannot be imported still names its functions,
        # so the checks that need them are errors ("could not be read"), not "not found".
        source = lenient_text(path.read_bytes())
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
    unreadable = unreadable_of(exc, module_file)
    if unreadable is not None:
        return (shown_path(unreadable.path, base), unreadable.line,
                f"cannot be read as Python source: {unreadable.what}")
    shown = shown_path(str(module_file), base)
    if isinstance(exc, CheckTimeout):
        return shown, _line_in(exc, module_file), f"importing it did not finish ({exc})"
    if isinstance(exc, SyntaxError) and exc.filename and not exc.filename.startswith("<"):
        return shown_path(exc.filename, base), exc.lineno, f"{type(exc).__name__}: {exc.msg}"
    if isinstance(exc, SystemExit):
        what = getattr(exc, "what", None) or f"sys.exit({exc.code!r})"  # os._exit, fenced
        return shown, _line_in(exc, module_file), f"called {what} at import"
    # The innermost frame inside the user's tree says where it went wrong (importlib's own
    # frames are "<frozen ...>", which abspath would put under the working folder).
    base_text = str(base)
    filename, line = str(module_file), None
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if not frame.filename.startswith("<") and os.path.abspath(frame.filename).startswith(base_text):
            filename, line = frame.filename, frame.lineno
            break
    message = describe_exception(exc)
    change = numpy_change(exc)  # `DTYPE = np.float` at the top of layers.py, under NumPy 2
    return shown_path(filename, base), line, f"{message.rstrip('.')}; {numpy_fix(change)}" if change else message


def _line_in(exc: BaseException, module_file: Path) -> int | None:
    """The line of `module_file` that was running when `exc` was raised (sys.exit, a hang), or None."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if _same_file(frame.filename, module_file):
            return frame.lineno
    return None


def unreadable_of(exc: BaseException, module_file: Path) -> UnreadableSource | None:
    """What could not be decoded, when `exc` is about decoding a source file; else None.

    Our loader raises UnreadableSource itself; an installed module's decoding error comes from
    importlib (a UnicodeDecodeError, or "invalid or missing encoding declaration"): the file is
    read again by sources.py to say what is in it.
    """
    if isinstance(exc, UnreadableSource):
        return exc
    decoding = isinstance(exc, UnicodeDecodeError) or (
        isinstance(exc, SyntaxError) and "encoding" in str(getattr(exc, "msg", "")))
    if not decoding:
        return None
    try:
        read_source(module_file)
    except UnreadableSource as found:
        return found
    except OSError:
        return None
    return None
