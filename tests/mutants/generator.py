"""Materialise the reference as a student-style `cs231n/` package, then plant one change in it.

The reference is copied file by file into `<root>/assignment2/cs231n/` with its own imports
rewritten the way students write them (`sanitykit.reference.layers` -> `cs231n.layers`;
relative imports are kept, as in the 2021+ starter code), so the copy is self-contained and
loads like any submission. A change is a list of exact source replacements; each old snippet
must occur exactly once, so a refactor of the reference makes the corpus fail loudly instead
of silently testing an unchanged tree.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import sanitykit.reference as reference

REFERENCE_DIR = Path(reference.__file__).resolve().parent

# reference file -> path inside the student's cs231n/ package (course names where they differ).
STUDENT_FILES = {
    "layers.py": "layers.py",
    "fast_layers.py": "fast_layers.py",
    "layer_utils.py": "layer_utils.py",
    "optim.py": "optim.py",
    "solver.py": "solver.py",
    "init.py": "init.py",
    "preprocessing.py": "preprocessing.py",
    "data.py": "data_utils.py",
    "classifiers/fc_net.py": "classifiers/fc_net.py",
    "classifiers/cnn.py": "classifiers/cnn.py",
}

# Assignments 1 and 3 (issue 16): their files, with the layers they import beside them.
ASSIGNMENT_FILES = {
    1: {"layers.py": "layers.py", "layer_utils.py": "layer_utils.py",
        "linear_svm.py": "classifiers/linear_svm.py", "softmax.py": "classifiers/softmax.py",
        "linear_classifier.py": "classifiers/linear_classifier.py",
        "k_nearest_neighbor.py": "classifiers/k_nearest_neighbor.py",
        "classifiers/neural_net.py": "classifiers/neural_net.py"},
    2: STUDENT_FILES,
    3: {"layers.py": "layers.py", "rnn_layers.py": "rnn_layers.py", "classifiers/rnn.py": "classifiers/rnn.py"},
}
# Files moved one folder down (into classifiers/, as the course keeps them) import layers from above.
MOVED_DOWN = {(1, "linear_svm.py"), (1, "softmax.py")}

# The course's __init__ files are (nearly) empty: no flat re-exports as in the reference.
INIT_FILES = {"__init__.py": "", "classifiers/__init__.py": ""}

_ABSOLUTE_IMPORT = re.compile(r"\bsanitykit\.reference\.(\w+)")


class EditError(AssertionError):
    """A replacement whose old snippet is absent or ambiguous: the reference changed under the corpus."""


@dataclass(frozen=True)
class Edit:
    """One exact source replacement in one file of the student package.

    Args:
        file: path inside cs231n/ ("layers.py", "classifiers/fc_net.py").
        old: snippet that must occur exactly once in that file.
        new: what replaces it.
    """

    file: str
    old: str
    new: str


def student_source(reference_file: str, assignment: int = 2) -> str:
    """The reference file's text with its imports rewritten as a student's tree has them.

    Args:
        reference_file: path relative to reference/ ("classifiers/cnn.py").
        assignment: the course assignment whose tree it goes into (default 2).
    """
    text = (REFERENCE_DIR / reference_file).read_text(encoding="utf-8")
    if (assignment, reference_file) in MOVED_DOWN:
        text = text.replace("from .layers import", "from ..layers import")
    return _ABSOLUTE_IMPORT.sub(lambda m: f"cs231n.{'data_utils' if m[1] == 'data' else m[1]}", text)


def apply_edit(text: str, edit: Edit) -> str:
    """`text` with edit.old replaced by edit.new; EditError unless edit.old occurs exactly once.

    Args:
        text: the file's source.
        edit: the replacement.
    """
    count = text.count(edit.old)
    if count != 1:
        raise EditError(f"{edit.file}: expected the snippet exactly once, found it {count} times:\n{edit.old}")
    return text.replace(edit.old, edit.new)


def student_tree(edits: tuple[Edit, ...] = (), assignment: int = 2) -> dict[str, str]:
    """Every file of the student package (path inside cs231n/ -> source) with `edits` applied.

    Args:
        edits: replacements, applied in order (several may touch one file).
        assignment: 1, 2 (default) or 3: which course tree (ASSIGNMENT_FILES).
    """
    files = dict(INIT_FILES)
    files.update({student: student_source(ref, assignment) for ref, student in ASSIGNMENT_FILES[assignment].items()})
    for edit in edits:
        if edit.file not in files:
            raise EditError(f"{edit.file}: no such file in the student package ({', '.join(sorted(files))})")
        files[edit.file] = apply_edit(files[edit.file], edit)
    return files


def materialise(root: Path | str, edits: tuple[Edit, ...] = (), name: str = "", assignment: int = 2) -> Path:
    """Write the student package under `root/name/cs231n/` and return the assignment root `root/name`.

    Args:
        root: an existing (temporary) folder.
        edits: replacements to plant (default none: the reference as a student tree).
        name: the assignment folder's name, default "assignment<N>".
        assignment: 1, 2 (default) or 3.
    """
    files = student_tree(edits, assignment)
    assignment = Path(root) / (name or f"assignment{assignment}")
    for relative, source in files.items():
        path = assignment / "cs231n" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    return assignment
