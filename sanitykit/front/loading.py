"""Loading the code under test: a .py file, a folder or a dotted module -> LoadedTarget.

`load_target` takes one step per module, in this order:
1. layout.py: what kind of tree it is, its modules and the names they import each other by;
2. name_map.py: which of the user's names is the course's (`[tool.sanitykit.map]`, --map);
3. importing.py: every module imported on its own under a private package (the import
   hooks are finders.py's, Python 2 is read by shims.py); a module that cannot be imported
   is a problem, every other module still loads;
4. substitute.py: sanitykit's fast layers where the course's cannot run here;
5. conventions.py: the course conventions measured on the user's code;
and hands back a LoadedTarget (target.py), or raises one TargetError with a one-line reason.
"""
from __future__ import annotations

import os
import types
from pathlib import Path

from sanitykit.front import conventions as measured
from sanitykit.front import substitute
from sanitykit.front.capture import fenced
from sanitykit.front.course import load_course
from sanitykit.front.importing import (NOTE_MISSING_PACKAGE, ImportProblem, defined_names,
                                       describe_import_failure, import_dotted, import_installed,
                                       import_layout, import_problem, looks_dotted, missing_package)
from sanitykit.front.layout import (CONVENTIONAL_NAMES, SKIPPED_DIRS, SKIPPED_FILES, Layout,
                                    assignment_roots, implicit_relative_aliases, resolve_layout, shown_path)
from sanitykit.front.name_map import parse_map_items, read_name_map
from sanitykit.front.shims import tree_is_python2
from sanitykit.front.target import LoadedTarget, TargetError

# What `sanitykit.front.loading` has always offered (the CLI and the tests import from here);
# each name lives in the module of its step.
__all__ = [
    "load_target", "measure_conventions", "TargetError", "LoadedTarget",
    "resolve_layout", "Layout", "implicit_relative_aliases", "CONVENTIONAL_NAMES", "SKIPPED_FILES",
    "SKIPPED_DIRS", "read_name_map", "parse_map_items", "import_layout", "ImportProblem",
    "import_problem", "missing_package", "NOTE_MISSING_PACKAGE", "defined_names",
    "describe_import_failure", "tree_is_python2",
]


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
        target = _installed_target(spec, spec.__name__, timeout)
    elif not Path(spec).expanduser().exists() and isinstance(spec, str) and looks_dotted(spec):
        target = _installed_target(import_dotted(spec, timeout), spec, timeout)
    elif assignment_roots(spec):  # assignment1/, assignment2/, ... of one course: loaded together
        target = load_course(str(spec), assignment_roots(spec), lambda root: _tree_target(root, timeout))
    else:
        target = _tree_target(spec, timeout)
    if name_map:
        target.name_map.update(name_map)
        target.map_source = f"{target.map_source} and --map" if target.map_source else "--map"
    measure_conventions(target, timeout)
    return target


def _tree_target(spec: str | os.PathLike, timeout: float | None) -> LoadedTarget:
    """A .py file or a folder of the user's: resolve, read the name map, import, substitute."""
    layout = resolve_layout(spec)
    file_map, map_source = read_name_map(layout.config_dirs)
    imported = import_layout(layout, timeout)
    with imported.hooks.installed():  # the probe runs the course's code, which may import its own
        substitute.replace_broken_fast_layers(imported, layout.root, timeout)
    substitute.fill_missing_helpers(imported)
    target = LoadedTarget(layout.spec, imported.modules, imported.problems, dict(file_map),
                          description=layout.description, root=layout.home,
                          private=imported.private, aliases=dict(layout.aliases),
                          import_output=imported.output, import_output_dropped=imported.output_dropped,
                          map_source=map_source, substitutions=imported.substitutions,
                          shims=imported.hooks.shims, absent=imported.absent, _hooks=imported.hooks,
                          numpy_restored=[{"file": shown_path(str(path), layout.root), "name": name}
                                          for path, name in imported.numpy_restored],
                          candidates=list(layout.candidates))
    unread = nothing_read(target)
    if unread:
        target.close()
        raise TargetError(unread)
    return target


def nothing_read(target: LoadedTarget) -> str:
    """The one-line reason when no file of the target could be read at all (every one failed to
    decode, and what did import defines nothing), else ''.

    A tree saved as UTF-16 would otherwise be "0 passed, 0 failed": exit 0 and a grade of 0/0.
    """
    if not target.problems or not all(p.unreadable for p in target.problems):
        return ""
    if any(getattr(obj, "__module__", None) == module.__name__
           for module in target.modules.values() for obj in vars(module).values()):
        return ""
    first = min(target.problems, key=lambda p: bool(p.imported_by))  # a file's own problem first
    others = len({p.file for p in target.problems}) - 1
    more = f" (and {others} more file{'s' * (others > 1)} that cannot be read)" if others else ""
    return f"{first.file} {first.message}{more}"


def _installed_target(module: types.ModuleType, name: str, timeout: float | None) -> LoadedTarget:
    """An installed module and its submodules, under their own names (no private package, no hooks)."""
    modules, problems = import_installed(module, timeout)
    file = getattr(module, "__file__", None)
    return LoadedTarget(name, modules, problems, description=f"module {module.__name__}",
                        root=Path(file).resolve().parent if file else None)


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
