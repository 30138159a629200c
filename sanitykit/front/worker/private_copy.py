"""The private copy of a tree that student code runs against, and its paths mapped back.

A student's code may delete or rewrite its own files, write `__pycache__` or data next to
itself: `check` must leave the user's tree as it found it. The tree is laid out again under
a scratch folder, with the same folder names (so "cs231n/ from assignment2/" and relative
paths read as on the original). Files bigger than COPIED_FILE_LIMIT and folders that are
never imported (datasets/, .git, venvs) are linked instead of copied, so a CIFAR-10 download
costs nothing; COPIED_FILES_LIMIT bounds the copy of a file target sitting in a big folder.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sanitykit.front.layout import SKIPPED_DIRS, Layout

COPIED_FILE_LIMIT = 1_000_000  # bytes; bigger files (data, checkpoints) are linked
COPIED_FILES_LIMIT = 5_000  # files copied at most; beyond, entries are linked


@dataclass(frozen=True)
class PrivateCopy:
    """A copy of the user's tree in a scratch folder.

    Args:
        original: the folder that was copied (absolute, symlinks resolved).
        copy: its copy, `scratch / original.name`.
        target: what the worker loads: the copy's counterpart of the user's target.
        scratch: the scratch folder, removed by close().
    """

    original: Path
    copy: Path
    target: Path
    scratch: Path

    def to_copy(self, path: Path) -> Path:
        """The copy's counterpart of a path inside the original (the path itself when outside)."""
        try:
            return self.copy / Path(path).resolve().relative_to(self.original)
        except ValueError:
            return Path(path)

    def to_user(self, text: str) -> str:
        """`text` with the copy's paths written as the user's (a JSON line or a message)."""
        copied, original = json.dumps(str(self.copy))[1:-1], json.dumps(str(self.original))[1:-1]
        return text.replace(copied, original) if copied in text else text

    def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)


def copied_root(layout: Layout) -> tuple[Path, tuple[str, ...] | None]:
    """The folder to copy for `layout`, and the only top-level entries to take (None: all).

    A package is copied with its folder's pyproject.toml only (its parent may be a home
    folder); an assignment, a folder of modules and a file's folder are copied whole.
    """
    if layout.kind == "package":
        return layout.home.parent, (layout.home.name, "pyproject.toml")
    return layout.root if layout.kind == "file" else Path(layout.spec).expanduser().resolve(), None


def make_private_copy(layout: Layout, scratch: Path | None = None) -> PrivateCopy:
    """Copy the tree of `layout` under `scratch` (default: a new temporary folder).

    Args:
        layout: from resolve_layout on the user's target.
        scratch: an empty folder to copy into.
    """
    scratch = Path(scratch or tempfile.mkdtemp(prefix="sanitykit-check-")).resolve()
    original, only = copied_root(layout)
    copy = scratch / (original.name or "root")
    budget = [COPIED_FILES_LIMIT]
    copy.mkdir()
    for entry in sorted(original.iterdir()):
        if only is None or entry.name in only:
            _lay(entry, copy / entry.name, budget)
    user_target = Path(layout.spec).expanduser().resolve()  # inside `original`, or `original` itself
    return PrivateCopy(original, copy, copy / user_target.relative_to(original), scratch)


def _lay(source: Path, dest: Path, budget: list[int]) -> None:
    """Copy `source` to `dest`, or link it (big files, folders never imported, budget spent)."""
    try:
        if source.is_symlink() or not (source.is_dir() or source.is_file()):
            _link(source, dest)
        elif source.is_dir():
            if source.name in SKIPPED_DIRS or source.name.startswith(".") or budget[0] <= 0:
                _link(source, dest)
                return
            dest.mkdir()
            for entry in sorted(source.iterdir()):
                _lay(entry, dest / entry.name, budget)
        elif source.stat().st_size > COPIED_FILE_LIMIT or budget[0] <= 0:
            _link(source, dest)
        else:
            shutil.copy2(source, dest)
            budget[0] -= 1
    except OSError:
        pass  # unreadable: the loader reports a module it cannot read; anything else is not ours


def _link(source: Path, dest: Path) -> None:
    os.symlink(os.path.realpath(source), dest)

