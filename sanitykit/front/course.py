"""A tree holding several assignments of the course (assignment1/, assignment2/, assignment3/), as one target.

Each assignment has its own cs231n/ package, and its modules import each other as `cs231n.*`:
they cannot share one private package. Each is loaded on its own (loading.py's `_tree_target`,
under its own private package and hooks); `CourseTarget` then looks names up across them, the
assignment that owns a name first. Assignment 2 comes first: its layers, losses and optimizers
are the student's, where assignment 3 ships the course's own (layers.py, optim.py, and the
affine layer inside rnn_layers.py from 2021); assignment 1 before 3 for the same reason.
A name both assignment 1 and 2 define (TwoLayerNet, in the years assignment 1 had one) is
assignment 2's; check assignment1/ alone for assignment 1's.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from sanitykit.front.target import LoadedTarget

PRIORITY = (2, 1, 3)  # which assignment's object a shared conventional name means


@dataclass
class CourseTarget(LoadedTarget):
    """The assignments of one course tree, looked up as one target (LoadedTarget's protocol).

    Args:
        parts: (number, folder name, LoadedTarget) of each assignment, in PRIORITY order.
        (the rest as LoadedTarget: modules, problems, substitutions... merged from the parts.)
    """

    parts: list[tuple[int, str, LoadedTarget]] = field(default_factory=list)

    def loading_info(self) -> dict[str, Any]:
        info = super().loading_info()
        info["assignments"] = {folder: part.description for _, folder, part in self.parts}
        return info

    def close(self) -> None:
        for _, _, part in self.parts:
            part.close()


def _in_folder(folder: str, entry: Any) -> Any:
    """A problem or substitution of one assignment, its file named from the course folder."""
    if dataclasses.is_dataclass(entry):
        return dataclasses.replace(entry, file=f"{folder}/{entry.file}")
    return {**entry, "file": f"{folder}/{entry.get('file', '')}"}


def load_course(spec: str, roots: list[tuple[int, Path]], load_one: Callable[[Path], LoadedTarget]) -> CourseTarget:
    """Load every assignment of `roots` and merge them into one CourseTarget.

    Args:
        spec: the course folder as the user named it.
        roots: (number, folder) from layout.assignment_roots.
        load_one: loads one assignment folder (loading.py's tree loader); its TargetError propagates.
    """
    by_number = dict(roots)
    parts: list[tuple[int, str, LoadedTarget]] = []
    try:
        for number in sorted(by_number, key=PRIORITY.index):
            parts.append((number, by_number[number].name, load_one(by_number[number])))
    except BaseException:
        for _, _, part in parts:
            part.close()
        raise
    course = Path(spec).expanduser().resolve()
    modules, absent, name_map = {}, {}, {}
    for number, folder, part in parts:
        modules.update({f"{folder}/{name}": module for name, module in part.modules.items()})
        for name, why in part.absent.items():
            absent.setdefault(name, why)
        for name, theirs in part.name_map.items():
            name_map.setdefault(name, theirs)
    primary = parts[0][2]
    folders = ", ".join(f"{folder}/" for _, folder, _ in sorted(parts))
    return CourseTarget(
        spec, modules, [_in_folder(f, p) for _, f, part in parts for p in part.problems], name_map,
        description=f"{folders} (cs231n/ of each) from {course.name}/", root=course,
        private=primary.private, aliases=dict(primary.aliases),
        import_output="".join(part.import_output for _, _, part in parts),
        import_output_dropped=sum(part.import_output_dropped for _, _, part in parts),
        map_source=" and ".join(dict.fromkeys(p.map_source for _, _, p in parts if p.map_source)),
        substitutions=[_in_folder(f, s) for _, f, part in parts for s in part.substitutions],
        shims=list(dict.fromkeys(s for _, _, part in parts for s in part.shims)),
        absent=absent, _hooks=primary._hooks,
        numpy_restored=[_in_folder(f, r) for _, f, part in parts for r in part.numpy_restored],
        parts=parts)
