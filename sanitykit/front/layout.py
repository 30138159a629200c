"""Layout resolution: what kind of tree a target is, its modules, and the names they import each other by.

`resolve_layout` reads the folders only (nothing is imported): an assignment root holding
cs231n/ (at most two levels down: zips often add one), the cs231n/ package itself, any
folder of modules, or one .py file. The Layout it returns is what import_layout imports.
"""
from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from sanitykit.front.target import TargetError

# The course API, found by name across the user's modules (a name map covers others).
CONVENTIONAL_NAMES = (
    "affine_forward", "affine_backward", "relu_forward", "relu_backward",
    "leaky_relu_forward", "leaky_relu_backward", "sigmoid_forward", "sigmoid_backward",
    "tanh_forward", "tanh_backward",
    "batchnorm_forward", "batchnorm_backward", "batchnorm_backward_alt",
    "batchnorm_forward_alt",  # a student's own forward for the alt backward's cache
    "layernorm_forward", "layernorm_backward", "dropout_forward", "dropout_backward",
    "conv_forward_naive", "conv_backward_naive", "max_pool_forward_naive", "max_pool_backward_naive",
    "conv_forward_fast", "conv_backward_fast", "max_pool_forward_fast", "max_pool_backward_fast",
    "spatial_batchnorm_forward", "spatial_batchnorm_backward",
    "spatial_groupnorm_forward", "spatial_groupnorm_backward",
    "svm_loss", "softmax_loss",
    "affine_relu_forward", "affine_relu_backward",
    "sgd", "sgd_momentum", "rmsprop", "adam",
    "TwoLayerNet", "FullyConnectedNet", "ThreeLayerConvNet", "Solver",
    # assignment 1
    "svm_loss_naive", "svm_loss_vectorized", "softmax_loss_naive", "softmax_loss_vectorized",
    "LinearClassifier", "LinearSVM", "Softmax", "KNearestNeighbor",
    # assignment 3
    "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
    "word_embedding_forward", "word_embedding_backward",
    "temporal_affine_forward", "temporal_affine_backward", "temporal_softmax_loss",
    "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward", "CaptioningRNN",
)


# Files that are part of a course tree but must never be imported: setup.py runs the
# Cython build (and exits) the moment it is imported.
SKIPPED_FILES = {"setup.py", "__main__.py"}
SKIPPED_DIRS = {"__pycache__", "build", "dist", "datasets", "venv", ".venv"}


@dataclass(frozen=True)
class Layout:
    """Where a target's modules are and the names they import each other by.

    Args:
        spec: the target as the user named it.
        kind: "assignment" (a root holding cs231n/), "package", "folder" or "file".
        root: the folder playing the part of a sys.path entry.
        modules: (dotted name as the user knows it, file), in import order.
        aliases: top-level import name -> its dotted name under the root
            ("cs231n" -> "cs231n"); issue-7 style fixes can add more
            ("layers" -> "cs231n.layers" for Python 2 implicit relative imports).
        description: how the target was read, for the report.
        config_dirs: where a pyproject.toml with a name map may be, nearest first (default none).
        candidates: every course package found, relative to the target ("attempt1/cs231n", ...),
            when there is more than one; the first is the one loaded (default none).
    """

    spec: str
    kind: str
    root: Path
    modules: tuple[tuple[str, Path], ...]
    aliases: dict[str, str]
    description: str
    config_dirs: tuple[Path, ...] = ()
    candidates: tuple[str, ...] = ()

    @property
    def home(self) -> Path:
        """The folder holding the user's own files (blame goes to code under it)."""
        return self.root / self.modules[0][0].split(".")[0] if self.kind == "package" else self.root


# ---------------------------------------------------------------- finding the modules

def _is_identifier_path(path: Path) -> bool:
    return path.stem.isidentifier() and not path.name.startswith(".")


def _package_modules(folder: Path, dotted: str) -> list[tuple[str, Path]]:
    """The package `folder` (known as `dotted`) and everything below it, __init__ first."""
    found: list[tuple[str, Path]] = []
    init = folder / "__init__.py"
    if init.is_file():
        found.append((dotted, init))
    subpackages = []
    for entry in sorted(folder.iterdir()):
        if entry.is_file() and entry.suffix == ".py" and entry.name not in SKIPPED_FILES | {"__init__.py"}:
            if _is_identifier_path(entry):
                found.append((f"{dotted}.{entry.stem}", entry))
        elif entry.is_dir() and entry.name.isidentifier() and entry.name not in SKIPPED_DIRS:
            subpackages.append(entry)
    for sub in subpackages:
        below = _package_modules(sub, f"{dotted}.{sub.name}")
        # A folder without __init__.py is a namespace package; it only counts if it has modules.
        if any(path.suffix == ".py" for _, path in below):
            found.extend(below)
    return found


def _course_packages(folder: Path, depth: int = 2) -> list[Path]:
    """Every `cs231n/` folder at the shallowest level that has one, at most `depth` below `folder`,
    by name. `folder/cs231n` alone is what `import cs231n` there means; several one level down
    (attempt1/cs231n, attempt2/cs231n) are for the user to choose between."""
    direct = folder / "cs231n"
    if direct.is_dir():
        return [direct]
    if depth <= 1:
        return []
    found: list[Path] = []
    for entry in sorted(folder.iterdir()):
        if entry.is_dir() and not entry.name.startswith((".", "_")) and entry.name not in SKIPPED_DIRS:
            found.extend(_course_packages(entry, depth - 1))
    return found


def assignment_roots(spec: str | os.PathLike) -> list[tuple[int, Path]]:
    """(number, folder) of each assignment of a tree holding several of the course's: the folders
    assignment1/, assignment2/, assignment3/ (any case, `_` or `-` allowed) with a cs231n/ each.

    Two or more distinct assignments are one course, loaded together, not attempts to choose
    between; anything else gives [] (one tree, or a choice the user must make).
    """
    path = Path(spec).expanduser()
    if not path.is_dir() or (path / "cs231n").is_dir():
        return []
    found: dict[int, Path] = {}
    for package in _course_packages(path.resolve()):
        digits = package.parent.name.lower().replace("_", "").replace("-", "").removeprefix("assignment")
        if digits in ("1", "2", "3") and package.parent.name.lower().startswith("assignment"):
            found.setdefault(int(digits), package.parent)
    return sorted(found.items()) if len(found) >= 2 else []


def _top_level_names(folder: Path) -> list[str]:
    """Names importable from `folder` as a sys.path entry: modules and package folders."""
    names = []
    for entry in sorted(folder.iterdir()):
        if entry.is_file() and entry.suffix == ".py" and _is_identifier_path(entry):
            names.append(entry.stem)
        elif entry.is_dir() and entry.name.isidentifier() and entry.name not in SKIPPED_DIRS:
            names.append(entry.name)
    return names


def _safe_aliases(names: list[str], root: Path) -> dict[str, str]:
    """Alias only names that cannot shadow the standard library or a package already imported.

    A student's `random.py` or `test.py` must not replace the real module for everyone
    while their tree loads; those few are still imported, under the private name only.
    """
    stdlib = getattr(sys, "stdlib_module_names", frozenset())
    aliases = {}
    for name in names:
        existing = sys.modules.get(name)
        existing_file = getattr(existing, "__file__", None) or ""
        foreign = existing is not None and not os.path.abspath(existing_file).startswith(str(root))
        if name in stdlib or (foreign and name != "cs231n"):
            continue
        aliases[name] = name
    return aliases


def resolve_layout(spec: str | os.PathLike) -> Layout:
    """Decide what kind of tree `spec` names and list its modules; TargetError if none.

    Args:
        spec: a .py file or a folder (dotted module names are handled by load_target).
    """
    path = Path(spec).expanduser()
    shown = str(spec)
    if not path.exists():
        raise TargetError(f"{shown}: no such file or folder")
    path = path.resolve()
    if path.is_file():
        if path.suffix != ".py":
            raise TargetError(f"{shown} is not a .py file, a folder or an importable module")
        if not path.stem.isidentifier():
            raise TargetError(f"{shown}: {path.name} is not a valid Python module name")
        aliases = _safe_aliases(_top_level_names(path.parent), path.parent)
        return Layout(shown, "file", path.parent, ((path.stem, path),), aliases,
                      f"{path.name} in {path.parent.name}/", (path.parent,))
    if not path.is_dir():
        raise TargetError(f"{shown} is not a .py file, a folder or an importable module")

    candidates: tuple[str, ...] = ()
    is_package = path.name.isidentifier() and ((path / "__init__.py").is_file() or path.name == "cs231n")
    if is_package:
        modules = _package_modules(path, path.name)
        kind, root, description = "package", path.parent, f"{path.name}/ (a package) from {path.parent.name}/"
        aliases = {path.name: path.name}
        config_dirs = (path, path.parent)
    else:
        packages = _course_packages(path)
        course = packages[0] if packages else None
        if len(packages) > 1:
            candidates = tuple(p.relative_to(path).as_posix() for p in packages)
        if course is not None:
            modules = _package_modules(course, "cs231n")
            kind, root = "assignment", course.parent
            description = f"cs231n/ from {course.parent.relative_to(path.parent)}/"
            aliases = {"cs231n": "cs231n"}
            config_dirs = tuple(dict.fromkeys((course.parent, path)))
        else:
            modules = []
            for name in _top_level_names(path):
                entry = path / name if (path / name).is_dir() else path / f"{name}.py"
                if entry.is_dir():
                    modules.extend(_package_modules(entry, name))
                elif entry.name not in SKIPPED_FILES:
                    modules.append((name, entry))
            kind, root, description = "folder", path, f"the modules of {path.name}/"
            aliases = _safe_aliases(_top_level_names(path), path)
            config_dirs = (path,)
    if not any(p.suffix == ".py" for _, p in modules):
        raise TargetError(f"{shown}: no Python modules found in this folder")
    if kind in ("package", "assignment"):
        aliases = {**implicit_relative_aliases(modules, root), **aliases}
    return Layout(shown, kind, root, tuple(modules), aliases, description, config_dirs, candidates)


def implicit_relative_aliases(modules: list[tuple[str, Path]], root: Path) -> dict[str, str]:
    """Python 2's implicit relative imports: `import layers` inside cs231n/ means cs231n.layers.

    Each module's last name becomes an import name of its own, when it is unique in the tree
    and shadows neither the standard library nor a package already imported.
    """
    by_leaf: dict[str, list[str]] = {}
    for dotted, _ in modules:
        if "." in dotted:
            by_leaf.setdefault(dotted.rpartition(".")[2], []).append(dotted)
    unique = [leaf for leaf, owners in by_leaf.items() if len(owners) == 1]
    safe = _safe_aliases(unique, root)
    return {leaf: by_leaf[leaf][0] for leaf in safe}


# ---------------------------------------------------------------- naming the user's files

def shown_path(filename: str, base: Path) -> str:
    """How a file of the tree is named in messages: relative to `base`, else its bare name."""
    with contextlib.suppress(ValueError):
        return str(Path(filename).resolve().relative_to(base))
    return os.path.basename(filename)
