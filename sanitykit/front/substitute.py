"""sanitykit's own fast layers in place of the course's `fast_layers.py` when that cannot run here.

The course's fast layers need a compiled Cython extension (`im2col_cython`), some years
Python 2 or torch. When `fast_layers.py` does not import, a stand-in module with
sanitykit.reference.fast_layers takes its place, so `layer_utils` and `cnn` (which import
it) still load. When it imports but a fast function fails on a small probe, that pair is
replaced wherever the course's function is bound: in fast_layers, layer_utils, cnn, and any
user module that imported it. Only the course's own objects (by identity) are replaced, and
every replacement is listed in the report; the student's functions are never touched.
"""
from __future__ import annotations

import builtins
import re
import sys
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from sanitykit.engine.usercode import describe_exception
from sanitykit.front.capture import fenced
from sanitykit.front.layout import shown_path

if TYPE_CHECKING:
    from sanitykit.front.importing import Imported

HELPER_MODULES = ("im2col", "fast_layers")   # imported first: the rest of the tree imports them
FAST_PAIRS = (("conv_forward_fast", "conv_backward_fast"),
              ("max_pool_forward_fast", "max_pool_backward_fast"))
FAST_NAMES = tuple(n for pair in FAST_PAIRS for n in pair)


def is_fast_layers(dotted: str) -> bool:
    return dotted.rpartition(".")[2] == "fast_layers"


def helpers_first(modules: tuple[tuple[str, Any], ...]) -> tuple[tuple[str, Any], ...]:
    """The layout's modules with the course helpers moved to the front (stable otherwise)."""
    rank = {name: i for i, name in enumerate(HELPER_MODULES)}

    def key(item: tuple[str, Any]) -> int:
        if getattr(item[1], "name", "") == "__init__.py":
            return -1  # packages first: a helper's import would run them anyway
        return rank.get(item[0].rpartition(".")[2], len(rank))

    return tuple(sorted(modules, key=key))


def stand_in_module(private_name: str, file: str) -> types.ModuleType:
    """A module answering for the course's fast_layers with sanitykit's own fast layers."""
    import sanitykit.reference.fast_layers as reference

    module = types.ModuleType(private_name, "sanitykit: stand-in for the course's fast_layers.py")
    module.__dict__.update({n: getattr(reference, n) for n in reference.__all__})
    module.__file__ = file
    module.__sanitykit_substitute__ = True
    return module


def _probe_conv(forward: Callable, backward: Callable) -> None:
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    from sanitykit.reference import conv_backward_fast, conv_forward_fast

    for conv_param in ({"stride": 1, "pad": 1}, {"stride": 2, "pad": 1}):
        out, cache = forward(x, w, b, conv_param)
        ref_out, ref_cache = conv_forward_fast(x, w, b, conv_param)
        dout = rng.standard_normal(ref_out.shape)
        grads = backward(dout, cache)
        _same(out, ref_out, "out")
        for got, want, name in zip(grads, conv_backward_fast(dout, ref_cache), ("dx", "dw", "db")):
            _same(got, want, name)


def _probe_pool(forward: Callable, backward: Callable) -> None:
    from sanitykit.reference import max_pool_backward_fast, max_pool_forward_fast

    rng = np.random.default_rng(1)
    # 2x2/2 on 4x4 takes the course's reshape path; 3x3/1 its im2col (Cython) path.
    for shape, pool_param in (((2, 3, 4, 4), {"pool_height": 2, "pool_width": 2, "stride": 2}),
                              ((2, 3, 5, 5), {"pool_height": 3, "pool_width": 3, "stride": 1})):
        x = rng.permutation(int(np.prod(shape))).reshape(shape).astype(np.float64)
        out, cache = forward(x, pool_param)
        ref_out, ref_cache = max_pool_forward_fast(x, pool_param)
        dout = rng.standard_normal(ref_out.shape)
        _same(out, ref_out, "out")
        _same(backward(dout, cache), max_pool_backward_fast(dout, ref_cache), "dx")


def _same(got: Any, want: np.ndarray, name: str) -> None:
    """Only what cannot run counts: wrong numbers are a bug for the checks to report, not to hide."""
    got = np.asarray(got)
    if got.dtype.kind not in "fiub":
        raise TypeError(f"{name} is not a numeric array ({got.dtype})")


PROBES = {"conv_forward_fast": _probe_conv, "max_pool_forward_fast": _probe_pool}


def broken_pairs(module: types.ModuleType) -> list[tuple[tuple[str, str], str]]:
    """The fast pairs of the course's fast_layers module that raise on a small probe: (pair, why)."""
    broken = []
    for forward_name, backward_name in FAST_PAIRS:
        forward, backward = getattr(module, forward_name, None), getattr(module, backward_name, None)
        if not callable(forward) or not callable(backward):
            continue
        state = np.random.get_state()
        try:
            with np.errstate(all="ignore"):
                PROBES[forward_name](forward, backward)
        except Exception as exc:  # noqa: BLE001 - whatever the course code does here, we replace it
            broken.append(((forward_name, backward_name), describe_exception(exc)))
        finally:
            np.random.set_state(state)
    return broken


def rebind(modules: dict[str, types.ModuleType], originals: dict[str, Any]) -> list[str]:
    """Bind sanitykit's fast layers wherever the course's `originals` (name -> object) are bound.

    Returns the dotted names of the modules whose own code names them (each module once):
    a package or module that only re-exports them by `import *` is rebound too, but saying
    so would bury the modules that matter. Identity decides: a student's own function of
    the same name is left alone.
    """
    import sanitykit.reference as reference

    changed, seen = [], set()
    for dotted, module in modules.items():
        namespace = vars(module)
        hit = False
        for name, original in originals.items():
            if namespace.get(name) is original:
                namespace[name] = getattr(reference, name)
                hit = True
        if hit and id(module) not in seen and names_used_in(module, originals):
            seen.add(id(module))
            changed.append(dotted)
    return changed


def names_used_in(module: types.ModuleType, names: Any) -> bool:
    """Whether the module's source mentions one of `names` (True when the source cannot be read)."""
    try:
        with open(module.__file__, encoding="utf-8", errors="replace") as file:
            source = file.read()
    except (OSError, TypeError, AttributeError):
        return True
    return any(re.search(rf"\b{re.escape(name)}\b", source) for name in names)


# Why the course's fast layers fail: this machine lacks something (the compiled Cython extension,
# torch, a package) -- or the course's own file is broken (a NameError of its own, e.g. `im2col`).
MISSING_HERE = re.compile(r"cython|torch|No module named|ImportError|did not finish|stopped after", re.I)


def fails_for_this_machine(why: str) -> bool:
    """Whether a probe failure (a one-line exception) is about what this machine lacks."""
    return bool(MISSING_HERE.search(why))


def substitution_message(pair: tuple[str, ...], why: str, file: str, changed: list[str]) -> str:
    """The report's sentence for one substituted pair of the course's fast layers."""
    where = f"; sanitykit's own are used instead in {', '.join(changed)}" if changed else \
        "; sanitykit's own are used instead"
    if fails_for_this_machine(why):
        return f"the course's {' / '.join(pair)} cannot run here ({why}){where}"
    return f"the course's own {file.rpartition('/')[2] or file} raises ({why}) in {' / '.join(pair)}{where}"


# ---------------------------------------------------------------- in the target's modules

def stand_in_for_fast_layers(imported: Imported, dotted: str, path: Path, file: str,
                             line: int | None, message: str) -> None:
    """The course's fast_layers.py did not import: sanitykit's fast layers answer for it.

    Args:
        imported: what import_layout has imported so far; the stand-in joins its modules.
        dotted: the module's dotted name ("cs231n.fast_layers").
        path: its file.
        file, line, message: where and why it did not import (describe_import_failure).
    """
    private_name = f"{imported.private}.{dotted}"
    module = stand_in_module(private_name, str(path))
    sys.modules[private_name] = module
    parent_name, _, leaf = private_name.rpartition(".")
    if parent_name in sys.modules:
        setattr(sys.modules[parent_name], leaf, module)
    imported.modules[dotted] = module
    where = f"{file}:{line}" if line else file
    names = ", ".join(FAST_NAMES)
    imported.substitutions.append({
        "module": dotted, "file": file, "line": line, "names": list(FAST_NAMES),
        "by": "sanitykit.reference.fast_layers",
        "message": f"the course's fast_layers.py could not be imported ({message}); sanitykit's own "
                   f"{names} are used by the modules that import it"})
    for name in FAST_NAMES:
        imported.absent[name] = (f"{name} is the course's (fast_layers.py), which could not be imported "
                                 f"here ({where}: {message}); sanitykit's own stands in for it")


def replace_broken_fast_layers(imported: Imported, root: Path, timeout: float | None = 30.0) -> None:
    """Probe the course's fast layers; rebind sanitykit's in place of any pair that fails here.

    Run with the target's import hooks installed: the probe runs the course's code.

    Args:
        imported: from import_layout; its substitutions and absent names are added to.
        root: the folder file names are shown relative to.
        timeout: seconds allowed for the probe (None: no limit).
    """
    for dotted, module in list(imported.modules.items()):
        if not is_fast_layers(dotted) or getattr(module, "__sanitykit_substitute__", False):
            continue
        try:
            with fenced(timeout):
                broken = broken_pairs(module)
        except BaseException as exc:  # noqa: BLE001 - a probe that hangs counts as broken
            if isinstance(exc, KeyboardInterrupt):
                raise
            broken = [(pair, describe_exception(exc)) for pair in FAST_PAIRS]
        file = shown_path(getattr(module, "__file__", "") or dotted, root)
        for pair, why in broken:
            originals = {n: getattr(module, n) for n in pair}
            changed = rebind(imported.modules, originals)
            imported.substitutions.append({
                "module": dotted, "file": file, "names": list(pair), "by": "sanitykit.reference.fast_layers",
                "message": substitution_message(pair, why, file, changed)})
            fault = ("cannot run here" if fails_for_this_machine(why)
                     else "raises in the course's own code")
            for name in pair:
                imported.absent[name] = (f"{name} is the course's (fast_layers.py) and {fault} "
                                         f"({why}); sanitykit's own is used in its place")


# ---------------------------------------------------------------- course files missing from the upload

# A course file students often leave out of a partial upload -> sanitykit's module standing in for it.
MISSING_STAND_INS = {"fast_layers": "sanitykit.reference.fast_layers", "layer_utils": "sanitykit.reference.layer_utils"}
# Assignments 1 and 3: the helper files the course ships beside the student's, and assignment 3's
# layers.py / rnn_layers.py, which classifiers/rnn.py imports (a partial upload may hold rnn.py alone).
MISSING_STAND_INS.update({
    "data_utils": "sanitykit.front.stand_ins.data_utils", "gradient_check": "sanitykit.front.stand_ins.gradient_check",
    "image_utils": "sanitykit.front.stand_ins.image_utils", "coco_utils": "sanitykit.front.stand_ins.coco_utils",
    "layers": "sanitykit.reference.layers", "rnn_layers": "sanitykit.reference.rnn_layers",
})


def missing_course_module(exc: BaseException, private: str) -> str | None:
    """The private dotted name of a course helper the user's code imports but the tree lacks, or None."""
    name = getattr(exc, "name", None) or ""
    if not isinstance(exc, ModuleNotFoundError) or not name.startswith(private + "."):
        return None
    return name if name.rpartition(".")[2] in MISSING_STAND_INS and name not in sys.modules else None


def stand_in_for_missing(imported: Imported, private_name: str) -> None:
    """A course file (fast_layers.py, layer_utils.py) missing from the tree: sanitykit's own stands in for it.

    The stand-in's functions run with the user's own layers: its globals are sanitykit's module's,
    with the names the user's layers module (a sibling) defines laid over them, so a sandwich
    helper calls the student's affine_forward, not sanitykit's.
    """
    import importlib

    leaf = private_name.rpartition(".")[2]
    source = importlib.import_module(MISSING_STAND_INS[leaf])
    parent = private_name.rpartition(".")[0]
    siblings = None
    if leaf == "layer_utils":
        try:  # the user's layers, beside the missing file (imported now if its turn has not come)
            siblings = importlib.import_module(f"{parent}.layers")
        except Exception:  # noqa: BLE001 - no layers of theirs, or a broken one: reported on its own
            siblings = None
    own = {k: v for k, v in vars(siblings).items() if not k.startswith("_")} if siblings is not None else {}
    module = types.ModuleType(private_name, f"sanitykit: stand-in for the course's {leaf}.py, absent from the tree")
    module.__dict__["__builtins__"] = builtins.__dict__  # its rebound functions call range, float, ...
    # The module's own dict is its functions' globals, so that blame's swaps (rebinding names in
    # the target's modules) reach the stand-in too.
    module.__dict__.update({k: v for k, v in vars(source).items() if not k.startswith("__")}, **own)
    module.__dict__.update({n: _rebound(getattr(source, n), module.__dict__, source.__name__) for n in source.__all__})
    module.__sanitykit_substitute__ = True
    sys.modules[private_name] = module
    if parent in sys.modules:
        setattr(sys.modules[parent], leaf, module)
    dotted = private_name[len(imported.private) + 1:]
    imported.modules[dotted] = module
    imported.substitutions.append({
        "module": dotted, "file": f"{dotted.replace('.', '/')}.py", "names": list(source.__all__),
        "by": MISSING_STAND_INS[leaf],
        "message": f"the course's {leaf}.py is not in the tree; sanitykit's own {leaf} stands in for it"
                   + (" (calling your layers)" if own else "")})
    for name in source.__all__:
        imported.absent.setdefault(name, f"{name} is the course's ({leaf}.py), which is not in the tree; "
                                         "sanitykit's own stands in for it")


def _rebound(obj: Any, namespace: dict, owner: str) -> Any:
    """A function of sanitykit's module `owner` that looks its globals up in `namespace` instead.

    It keeps `owner` as its __module__: the target knows it as sanitykit's, never the user's.
    """
    if not isinstance(obj, types.FunctionType):
        return obj
    function = types.FunctionType(obj.__code__, namespace, obj.__name__, obj.__defaults__, obj.__closure__)
    function.__module__, function.__doc__ = owner, obj.__doc__
    return function


def import_with_stand_ins(imported: Imported, private_name: str, exc: BaseException,
                          timeout: float | None, attempts: int = 3) -> BaseException | None:
    """Import `private_name` again after standing in for each missing course file its import names.

    Returns None once it imports, else the exception that stops it (the original one when no
    course file was missing).
    """
    import importlib

    for _ in range(attempts):
        missing = missing_course_module(exc, imported.private)
        if missing is None:
            return exc
        stand_in_for_missing(imported, missing)
        try:
            with fenced(timeout):
                importlib.import_module(private_name)
            return None
        except KeyboardInterrupt:
            raise
        except BaseException as again:  # noqa: BLE001 - the module's own error, reported by the caller
            exc = again
    return exc


# ---------------------------------------------------------------- course helpers missing from a file

# Helpers the course ships inside assignment 3's rnn_layers.py (affine_* there from 2021), which a
# student's copy may lack: classifiers/rnn.py takes them with `from ..rnn_layers import *`.
RNN_HELPERS = ("sigmoid", "temporal_affine_forward", "temporal_affine_backward", "temporal_softmax_loss",
               "affine_forward", "affine_backward")


def fill_missing_helpers(imported: Imported) -> None:
    """Bind sanitykit's rnn_layers helpers in the user's modules that use them but have none.

    Only a module that imports rnn_layers (or is it) and names the helper gets it; the tree's
    own definition always wins, and each name filled is listed in the report.
    """
    import sanitykit.reference as reference

    defined = {n for m in imported.modules.values() for n in RNN_HELPERS
               if getattr(vars(m).get(n), "__module__", "").startswith(imported.private)}
    for dotted, module in imported.modules.items():
        if getattr(module, "__sanitykit_substitute__", False) or not names_used_in(module, ("rnn_layers",)):
            continue
        names = [n for n in RNN_HELPERS if n not in vars(module) and n not in defined and names_used_in(module, (n,))]
        if not names:
            continue
        for name in names:
            vars(module)[name] = getattr(reference.rnn_layers, name, None) or getattr(reference, name)
            imported.absent.setdefault(name, f"{name} is the course's (rnn_layers.py), which this tree lacks; "
                                             "sanitykit's own stands in for it")
        imported.substitutions.append({
            "module": dotted, "file": f"{dotted.replace('.', '/')}.py", "names": names,
            "by": "sanitykit.reference.rnn_layers",
            "message": f"the course's {', '.join(names)} (shipped in rnn_layers.py) are not in the tree; "
                       f"sanitykit's own are used in {dotted}"})
