"""Starter files: the course's files laid first, the student's on top (`--starter DIR`).

A course hands out a tree (`cs231n/layer_utils.py`, `fast_layers.py`, the stubs students
fill in) and students often upload only the files they edited, flat: `layers.py`,
`optim.py`, `fc_net.py`. Graded alone, such an upload misses the course's helpers (a flat
upload scored 61/100 because `layer_utils.py` was missing). `lay_starter` copies the starter
tree, then puts each student file where it belongs in it:
1. under the one way of aligning the two trees that matches most student files to starter
   files (the same root; the student's folder is the `cs231n/` package itself; the
   student's files sit one folder deeper);
2. a file that still matches nothing, but whose name is one starter file's name, replaces
   that file (a flat `fc_net.py` is `cs231n/classifiers/fc_net.py`);
3. anything else keeps its own place (a helper module of the student's).
The result says which files came from the starter (the report's `loading.starter`).
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Iterator

# Never laid: caches and VCS data (a starter folder is often a course repository).
IGNORED = {"__pycache__", ".git", ".hg", ".ipynb_checkpoints", "__MACOSX", ".DS_Store"}
# A folder holding these at its top is the cs231n package itself, not an assignment root.
PACKAGE_MARKERS = ("layers.py", "layer_utils.py", "optim.py", "solver.py")


class StarterError(Exception):
    """The starter folder cannot be used; str() is one line."""


@dataclass(frozen=True)
class StarterLayering:
    """What `lay_starter` did.

    Args:
        folder: the starter folder as given.
        from_starter: files (relative paths in the laid tree) that came from the starter.
        replaced: starter files a student file took the place of.
        placed: student file -> its place in the laid tree, for those laid elsewhere than
            their own path (a flat upload).
    """

    folder: str
    from_starter: tuple[str, ...] = ()
    replaced: tuple[str, ...] = ()
    placed: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The report's `loading.starter` block."""
        return {"folder": self.folder, "files": list(self.from_starter), "replaced": list(self.replaced),
                "placed": dict(self.placed)}


def tree_files(root: Path) -> list[str]:
    """Relative posix paths of the files under `root` (caches, VCS data and links left out)."""
    if root.is_file():
        return [root.name]
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED and not os.path.islink(os.path.join(folder, d)))
        for name in sorted(files):
            path = Path(folder) / name
            if name not in IGNORED and not name.endswith(".pyc") and not path.is_symlink():
                found.append(path.relative_to(root).as_posix())
    return found


def _package_prefix(files: list[str]) -> str:
    """"cs231n/" when the files are the cs231n package itself (layers.py at the top), else ""."""
    top = {f for f in files if "/" not in f}
    has_package = any(f.startswith("cs231n/") for f in files)
    return "cs231n/" if not has_package and any(m in top for m in PACKAGE_MARKERS) else ""


def _alignments(student: list[str], starter: set[str]) -> list[tuple[str, str]]:
    """(strip, add) prefix pairs to try: the student's folders to strip, the starter's to add."""
    def folders(files) -> set[str]:
        return {"/".join(PurePosixPath(f).parts[:i]) + "/" for f in files
                for i in range(1, len(PurePosixPath(f).parts))}
    return [("", "")] + [("", p) for p in sorted(folders(starter))] + [(q, "") for q in sorted(folders(student))]


def _align(path: str, strip: str, add: str) -> str:
    return add + (path[len(strip):] if strip and path.startswith(strip) else path)


def placements(student: list[str], starter: list[str]) -> dict[str, str]:
    """Student file -> its path in the laid tree (see the module docstring for the rule).

    Args:
        student: the student's files, relative to the upload's root.
        starter: the starter's files, relative to the starter's root (as laid).
    """
    starter_set = set(starter)

    def matched(pair):
        return sum(_align(s, *pair) in starter_set for s in student if s.startswith(pair[0]))

    # Most matches wins; on a tie, the first pair tried (the trees' own roots).
    strip, add = max(_alignments(student, starter_set), key=matched)
    by_name = Counter(PurePosixPath(f).name for f in starter)
    unique = {PurePosixPath(f).name: f for f in starter if by_name[PurePosixPath(f).name] == 1}
    placed = {}
    for path in student:
        aligned = _align(path, strip, add) if path.startswith(strip) else path
        if aligned not in starter_set and PurePosixPath(path).name in unique:
            aligned = unique[PurePosixPath(path).name]
        placed[path] = aligned
    return placed


def lay_starter(starter: Path, student: Path, dest: Path) -> StarterLayering:
    """Copy the starter tree into `dest`, then the student's files on top; what came from where.

    Args:
        starter: the course's folder (an assignment root, or the cs231n/ package itself).
        student: the student's upload: a folder or one .py file.
        dest: an empty or absent folder that becomes the laid tree.
    """
    if not starter.is_dir():
        raise StarterError(f"{starter}: the starter must be a folder of the course's files")
    raw = tree_files(starter)
    prefix = _package_prefix(raw)
    starter_files = [prefix + f for f in raw]
    student_root = student if student.is_dir() else student.parent
    student_files = tree_files(student)
    placed = placements(student_files, starter_files)
    dest.mkdir(parents=True, exist_ok=True)
    for rel, laid in zip(raw, starter_files):
        _copy(starter / rel, dest / laid)
    for rel, laid in placed.items():
        _copy(student_root / rel, dest / laid)
    overwritten = set(placed.values())
    return StarterLayering(str(starter), tuple(f for f in starter_files if f not in overwritten),
                           tuple(f for f in starter_files if f in overwritten),
                           {s: d for s, d in placed.items() if s != d})


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


@contextlib.contextmanager
def laid_with_starter(starter: Path, student: Path) -> Iterator[tuple[Path, StarterLayering]]:
    """The student's upload laid over the starter in a temporary folder, removed afterwards.

    Args:
        starter: the course's folder.
        student: the student's folder or .py file.
    """
    scratch = Path(tempfile.mkdtemp(prefix="sanitykit-starter-"))
    try:
        layering = lay_starter(starter, student, scratch / "laid")
        yield scratch / "laid", layering
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def starter_digest(starter: Path) -> str:
    """sha256 of the starter's file names and contents (a changed starter regrades everyone)."""
    digest = hashlib.sha256()
    for rel in tree_files(starter):
        digest.update(rel.encode() + b"\0" + hashlib.sha256((starter / rel).read_bytes()).digest())
    return digest.hexdigest()
