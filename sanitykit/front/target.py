"""What loading hands back: a LoadedTarget, or a TargetError when there is nothing to load."""
from __future__ import annotations

import contextlib
import os
import re
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:
    from sanitykit.front.finders import Hooks
    from sanitykit.front.importing import ImportProblem


class TargetError(Exception):
    """The target cannot be loaded at all; str() is a one-line reason for the user."""


@dataclass
class LoadedTarget:
    """The user's modules, looked up by conventional name (implements checks' Target protocol).

    Built by load_target; the runner, the checks and grading use `name`, `conventions`,
    `get`, `problem_for`, `absent_note`, `owns_file`, `swapped`, `imports_active`,
    `loading_info` and `close`.

    Args:
        name: the target as the user named it.
        modules: loaded modules by the dotted name the user knows them by.
        problems: modules that could not be imported (default none).
        name_map: conventional name -> the user's name (default empty).
        description: how the target was read ("cs231n/ from assignment2/").
        root: the folder of the user's files (None for an installed module).
        private: the private package the modules live under ("" for an installed module).
        aliases: the user's import names answered by the private package (Layout.aliases).
        import_output: what the modules printed at import, as far as it was kept.
        import_output_dropped: characters printed at import beyond what was kept.
        map_source: where the name map came from: a pyproject.toml's path, "--map", both
            ("<path> and --map"), or "" when there is none.
        conventions: the course conventions measured on the user's code (conventions.py):
            {"dropout_p": "keep", ...}; the checks read them as `ctx.conventions`.
        substitutions: the course helpers sanitykit stood in for (substitute.py), one dict each.
        shims: one line per Python-2 / `future` shim applied.
        convention_notes: the measured conventions in words, for the report.
        absent: conventional names whose object is sanitykit's stand-in, not the user's: name -> why.
        numpy_restored: {"file": "cs231n/layers.py", "name": "numpy.sum"} for each numpy function a
            module replaced at import and sanitykit put back.
        candidates: every course package the target folder holds ("attempt1/cs231n", ...) when
            there is more than one; the first is the one loaded (default none).
    """

    name: str
    modules: dict[str, types.ModuleType]
    problems: list[ImportProblem] = field(default_factory=list)
    name_map: dict[str, str] = field(default_factory=dict)
    description: str = ""
    root: Path | None = None
    private: str = ""
    aliases: dict[str, str] = field(default_factory=dict)
    import_output: str = ""
    import_output_dropped: int = 0
    map_source: str = ""
    conventions: dict[str, Any] = field(default_factory=dict)
    substitutions: list[dict[str, Any]] = field(default_factory=list)
    shims: list[str] = field(default_factory=list)
    convention_notes: list[str] = field(default_factory=list)
    absent: dict[str, str] = field(default_factory=dict)
    numpy_restored: list[dict[str, str]] = field(default_factory=list)
    candidates: list[str] = field(default_factory=list)
    _overrides: dict[str, Any] = field(default_factory=dict, repr=False)
    _hooks: Hooks | None = field(default=None, repr=False)  # None for an installed module

    def user_name(self, name: str) -> str:
        """The user's name for the conventional `name` (the name map's, else `name` itself)."""
        return self.name_map.get(name, name)

    def get(self, name: str) -> Any | None:
        """The user's object called `name` (after the name map), or None.

        The module that defines it wins over one that only imports it, so
        `from cs231n.layers import *` in fc_net.py does not hide layers.py's function.

        Args:
            name: a conventional name ("affine_forward").
        """
        user_name = self.user_name(name)
        if user_name in self._overrides:
            return self._overrides[user_name]
        stand_in = name in self.absent  # sanitykit's own is bound there: never check it as the user's
        fallback = None
        for module in self.modules.values():
            obj = vars(module).get(user_name)
            if obj is None or isinstance(obj, types.ModuleType):
                continue
            if stand_in and str(getattr(obj, "__module__", "")).startswith("sanitykit.reference"):
                continue
            if getattr(obj, "__module__", None) == module.__name__:
                return obj
            if fallback is None:
                fallback = obj
        return fallback

    def problem_for(self, name: str) -> str | None:
        """One line when `name` is missing because the module defining it failed to import, else None."""
        if self.get(name) is not None:
            return None
        user_name = self.user_name(name)
        for problem in self.problems:
            if user_name in problem.names:
                return problem.one_line()
        # A file of which nothing could be read (binary, no def found) may hold it: not "not found".
        for problem in self.problems:
            if problem.unreadable and not problem.imported_by and not problem.names:
                return f"{user_name} not found, but {problem.where()} may define it and {problem.message}"
        return None

    def absent_note(self, name: str) -> str | None:
        """Why `name` is not checked when a stand-in of sanitykit's takes its place, else None."""
        return self.absent.get(name) if self.user_name(name) not in self._overrides else None

    def owns_file(self, filename: str) -> bool:
        """True when `filename` is one of the user's source files (blame for a traceback)."""
        if self.root is None:
            return any(getattr(m, "__file__", None) == filename for m in self.modules.values())
        return os.path.abspath(filename).startswith(str(self.root) + os.sep)

    @contextlib.contextmanager
    def swapped(self, replacements: dict[str, Any]) -> Iterator[None]:
        """Bind `replacements` (conventional name -> object) in every user module that has the name.

        A FullyConnectedNet that calls `affine_forward` by global name then calls the
        replacement; everything is put back afterwards, even on an exception.

        Args:
            replacements: conventional name -> the object to bind for the length of the `with`.
        """
        saved: list[tuple[dict[str, Any], str, Any]] = []
        saved_overrides = dict(self._overrides)
        try:
            for name, obj in replacements.items():
                user_name = self.user_name(name)
                self._overrides[user_name] = obj
                for module in self.modules.values():
                    namespace = vars(module)
                    if user_name in namespace:
                        saved.append((namespace, user_name, namespace[user_name]))
                        namespace[user_name] = obj
            yield
        finally:
            for namespace, user_name, old in reversed(saved):
                namespace[user_name] = old
            self._overrides.clear()
            self._overrides.update(saved_overrides)

    @contextlib.contextmanager
    def imports_active(self) -> Iterator[None]:
        """Let the user's code import its own modules again (a lazy `from cs231n import optim`).

        An installed module imports itself under its own names: nothing to install then.
        """
        if self._hooks is None:
            yield
            return
        with self._hooks.installed():
            yield

    def loading_info(self) -> dict[str, Any]:
        """The `loading` block of the report (DESIGN.md), plus how the target was read."""
        info: dict[str, Any] = {
            "source": self.description,
            "conventions": dict(self.conventions),
            "conventions_text": "; ".join(self.convention_notes),
            "substitutions": list(self.substitutions),
            "shims": list(self.shims),
            "problems": [p.to_dict() for p in self.problems],
        }
        if self.numpy_restored:
            info["numpy_restored"] = [f"{r['file']} replaced {r['name']} at import; sanitykit put "
                                      "numpy back" for r in self.numpy_restored]
        if self.name_map:
            info["name_map"] = dict(self.name_map)
            if self.map_source:
                info["name_map_source"] = self.map_source
        if self.candidates:
            info["candidates"] = {"chosen": self.candidates[0], "found": list(self.candidates)}
        printed = printed_at_import(self.import_output, self.import_output_dropped)
        if printed:
            info["printed_at_import"] = printed
        return info

    def close(self) -> None:
        """Forget the private modules (grading loads many targets in one process)."""
        if self.private:
            for key in [k for k in sys.modules if k == self.private or k.startswith(self.private + ".")]:
                del sys.modules[key]


# How much of what the user's code printed at import the report quotes.
PRINTED_LINES, PRINTED_LINE_CHARS = 3, 100
_NOT_KEPT = re.compile(r"\n?\.\.\. \(\d+ more characters not kept\)$", re.MULTILINE)  # capture.BoundedBuffer's tail


def printed_at_import(output: str, dropped: int) -> dict[str, Any] | None:
    """`{"characters": 52428800, "first_lines": [...]}` for the report, or None when nothing was printed.

    A `print` left at the top of layers.py (or a training run at import) is worth a line in the
    header: the student learns it is there, the TA why the run was slow.

    Args:
        output: what the fences kept of it.
        dropped: characters printed beyond what was kept.
    """
    if not output and not dropped:
        return None
    kept = _NOT_KEPT.sub("", output)
    lines = [line.strip() for line in kept.splitlines() if line.strip()]
    first = [line if len(line) <= PRINTED_LINE_CHARS else line[:PRINTED_LINE_CHARS - 3] + "..."
             for line in lines[:PRINTED_LINES]]
    return {"characters": len(kept) + dropped, "first_lines": first}
