"""Shims that let course trees written for Python 2 (2016-17) or with `future` (2017-20) import here.

Three kinds, each recorded by name so the report says what was done:
- stand-ins for the `future` / `past` / `six` packages (`from past.builtins import xrange`,
  `from future import standard_library`, `from six.moves import cPickle`), served only when
  the real package is absent;
- Python-2 source read as Python 3: `print 'x'` statements rewritten line by line (line
  numbers kept), `/` between two integers flooring as it did in Python 2 (in every module
  of a tree `tree_is_python2` finds written for Python 2);
- `xrange` bound in the namespace of a module that uses it without importing it.

Nothing here touches the user's files: the rewritten source is compiled in memory.
"""
from __future__ import annotations

import ast
import builtins
import functools
import importlib.abc
import importlib.machinery
import importlib.util
import numbers
import re
import sys
import types
from pathlib import Path
from typing import Any, Callable

from sanitykit.front.sources import UnreadableSource, decode_source, read_source

# ---------------------------------------------------------------- stand-in packages


def old_div(a: Any, b: Any) -> Any:
    """Python 2's `a / b`: floor division when both are integers, true division otherwise."""
    if isinstance(a, numbers.Integral) and isinstance(b, numbers.Integral):
        return a // b
    return a / b


def _module(name: str, doc: str, **names: Any) -> types.ModuleType:
    module = types.ModuleType(name, doc)
    module.__dict__.update({k: v for k, v in names.items() if not k.startswith("__")})
    module.__sanitykit_shim__ = True
    return module


def _with_metaclass(meta: type, *bases: type) -> type:
    return meta("_NewBase", bases or (object,), {})


def _py2_names() -> dict[str, Any]:
    """What `past.builtins` offers, in Python 3 terms."""
    return dict(xrange=range, basestring=str, unicode=str, long=int, unichr=chr, raw_input=input,
                reduce=functools.reduce, intern=sys.intern, cmp=lambda a, b: (a > b) - (a < b),
                str=str, range=range)


def _standard_library() -> types.ModuleType:
    class hooks:  # `with standard_library.hooks(): import ...`
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    return _module("future.standard_library", "sanitykit stand-in: aliases are Python 3's already",
                   install_aliases=lambda: None, install_hooks=lambda: None,
                   remove_hooks=lambda: None, hooks=hooks)


def stand_in_modules() -> dict[str, Callable[[], types.ModuleType]]:
    """Module name -> a function building its stand-in (`future`, `past`, `cPickle`, ...)."""
    future_utils = lambda: _module(  # noqa: E731
        "future.utils", "sanitykit stand-in", PY2=False, PY3=True, PY26=False,
        iteritems=lambda d, **kw: iter(d.items(**kw)), itervalues=lambda d, **kw: iter(d.values(**kw)),
        iterkeys=lambda d, **kw: iter(d.keys(**kw)), with_metaclass=_with_metaclass,
        python_2_unicode_compatible=lambda cls: cls, native_str=str, text_type=str, string_types=(str,),
        integer_types=(int,), lrange=lambda *a: list(range(*a)), old_div=old_div)
    return {
        "future": lambda: _package("future"),
        "future.standard_library": _standard_library,
        "future.utils": future_utils,
        "future.builtins": lambda: _module("future.builtins", "sanitykit stand-in", **vars(builtins)),
        "past": lambda: _package("past"),
        "past.builtins": lambda: _module("past.builtins", "sanitykit stand-in", **_py2_names()),
        "past.utils": lambda: _module("past.utils", "sanitykit stand-in", old_div=old_div),
        "cPickle": lambda: _alias_of("cPickle", "pickle"),
        "cStringIO": lambda: _alias_of("cStringIO", "io"),
        "six": _six,
        "six.moves": _six_moves,
    }


def _six_moves() -> types.ModuleType:
    """six.moves: the course's data_utils.py does `from six.moves import cPickle as pickle`."""
    import io
    import pickle

    return _module("six.moves", "sanitykit stand-in", cPickle=pickle, range=range, xrange=range,
                   zip=zip, map=map, filter=filter, input=input, reduce=functools.reduce,
                   cStringIO=io.StringIO, StringIO=io.StringIO)


def _six() -> types.ModuleType:
    """`six` in Python 3 terms (only what course trees use: moves, iteritems, string_types, PY2/PY3)."""
    module = _module("six", "sanitykit stand-in package", PY2=False, PY3=True, moves=_six_moves(),
                     iteritems=lambda d, **kw: iter(d.items(**kw)),
                     itervalues=lambda d, **kw: iter(d.values(**kw)),
                     iterkeys=lambda d, **kw: iter(d.keys(**kw)),
                     string_types=(str,), integer_types=(int,), text_type=str, binary_type=bytes,
                     with_metaclass=_with_metaclass)
    module.__path__ = []
    return module


def _package(name: str) -> types.ModuleType:
    module = _module(name, "sanitykit stand-in package")
    module.__path__ = []
    return module


def _alias_of(name: str, real: str) -> types.ModuleType:
    return _module(name, f"sanitykit stand-in for Python 2's {name}", **vars(importlib.import_module(real)))


STAND_IN_WORDS = {
    "past": "xrange = range, basestring = unicode = str, long = int, old_div = Python 2 division",
    "future": "standard_library.install_aliases() does nothing: Python 3 names are already there",
    "cPickle": "Python 2's cPickle is Python 3's pickle",
    "cStringIO": "Python 2's cStringIO is Python 3's io",
    "six": "six.moves.cPickle = pickle, six.moves.range = xrange = range, six.iteritems, "
           "six.string_types, PY3 = True",
}


class _StandInLoader(importlib.abc.Loader):
    def __init__(self, build: Callable[[], types.ModuleType]):
        self.build = build

    def create_module(self, spec):
        module = self.build()
        module.__spec__ = spec
        return module

    def exec_module(self, module):
        pass


class StandInFinder(importlib.abc.MetaPathFinder):
    """Answers `future`, `past`, `cPickle`, ... with stand-ins; sits at the END of sys.meta_path,
    so an installed package always wins. Records each top-level name served in `used`."""

    def __init__(self, used: list[str]):
        self.used = used
        self.builders = stand_in_modules()

    def find_spec(self, fullname, path=None, target=None):
        build = self.builders.get(fullname)
        if build is None:
            return None
        top = fullname.partition(".")[0]
        shim = (f"{top}: not installed here; sanitykit's stand-in answered its imports "
                f"({STAND_IN_WORDS.get(top, top)})")
        if shim not in self.used:
            self.used.append(shim)
        return importlib.util.spec_from_loader(fullname, _StandInLoader(build),
                                               is_package=hasattr(build(), "__path__"))


# ---------------------------------------------------------------- Python 2 source

# `print x, y` / `print "..." % v` / `print >>f, x` / bare `print` at the start of a statement.
_PRINT = re.compile(r"^(?P<indent>\s*(?:(?:if|elif|while|for)\s[^:'\"#]*:\s*|(?:else|try|finally):\s*)?)"
                    r"print(?P<rest>(\s+[^\s=(.\[].*|\s*>>.*)?)$")
# ^ also after a one-line header: the course's own `if verbose: print 'dx_flat: ', dx_flat.shape`
# (assignment 3's rnn_layers.py, 2016).


def _print_call(rest: str) -> str:
    """The body of a Python-2 print statement as a print() call."""
    rest = rest.strip()
    comment = ""
    if "#" in rest and rest.count('"') % 2 == 0 and rest.count("'") % 2 == 0:
        body, hash_, tail = rest.rpartition("#")
        if body.count('"') % 2 == 0 and body.count("'") % 2 == 0:
            rest, comment = body.rstrip(), "  #" + tail
    if not rest:
        return "print()" + comment
    end = ""
    if rest.endswith(","):
        rest, end = rest[:-1].rstrip(), ", end=' '"
    if rest.startswith(">>"):
        stream, _, rest = rest[2:].partition(",")
        return f"print({rest.strip()}{end}, file={stream.strip()})" + comment
    return f"print({rest}{end})" + comment


def rewrite_print_statements(source: str) -> tuple[str, int]:
    """Python-2 print statements rewritten as calls, one line for one line; (source, lines changed).

    Only single-line statements are rewritten; a print continued over several lines stays as
    it is (the module then still fails, and says so).
    """
    lines = source.splitlines(keepends=True)
    changed = 0
    for i, line in enumerate(lines):
        text = line.rstrip("\r\n")
        newline = line[len(text):]
        match = _PRINT.match(text)
        if not match or text.rstrip().endswith(("\\", "(")):
            continue
        lines[i] = match.group("indent") + _print_call(match.group("rest") or "") + newline
        changed += 1
    return "".join(lines), changed


_EXCEPT_COMMA = re.compile(r"^(\s*except\s+[\w.]+)\s*,\s*(\w+)\s*:", re.MULTILINE)


def python2_to_3(source: str) -> tuple[str, list[str]]:
    """Rewrite what Python 2 allowed and Python 3 rejects at compile time; (source, what was done)."""
    done = []
    source, prints = rewrite_print_statements(source)
    if prints:
        done.append(f"{prints} Python-2 print statement{'s' * (prints > 1)} read as print()")
    source, excepts = _EXCEPT_COMMA.subn(r"\1 as \2:", source)
    if excepts:
        done.append("`except E, e:` read as `except E as e:`")
    return source, done


OLD_DIV = "__sanitykit_old_div__"


PY2_METHODS = {"iteritems": "items", "itervalues": "values", "iterkeys": "keys"}


class _Python2Semantics(ast.NodeTransformer):
    """`a / b` -> old_div(a, b); `a /= b` -> `a = old_div(a, b)` for simple names;
    `d.iteritems()` -> `d.items()` (the 2016 starter's `self.params.iteritems()`)."""

    def __init__(self, division: bool):
        self.division = division

    def visit_Call(self, node):
        self.generic_visit(node)
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in PY2_METHODS and not node.args and not node.keywords:
            func.attr = PY2_METHODS[func.attr]
        return node

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if self.division and isinstance(node.op, ast.Div):
            call = ast.Call(ast.Name(OLD_DIV, ast.Load()), [node.left, node.right], [])
            return ast.copy_location(call, node)
        return node

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        if self.division and isinstance(node.op, ast.Div) and isinstance(node.target, ast.Name):
            value = ast.Call(ast.Name(OLD_DIV, ast.Load()), [ast.Name(node.target.id, ast.Load()), node.value], [])
            return ast.copy_location(ast.Assign([node.target], value), node)
        return node


def has_true_division_import(tree: ast.Module) -> bool:
    return any(isinstance(n, ast.ImportFrom) and n.module == "__future__" and any(a.name == "division" for a in n.names)
               for n in tree.body)


def compile_python2(tree: ast.Module, filename: str, division: bool) -> types.CodeType:
    """Code for `tree` with Python 2's dict methods and (when `division`) integer division (`7 / 2 == 3`)."""
    tree = ast.fix_missing_locations(_Python2Semantics(division).visit(tree))
    return compile(tree, filename, "exec", dont_inherit=True)


def uses_name_unbound(tree: ast.Module, name: str) -> bool:
    """True when the module reads `name` but never defines or imports it (a bare Python-2 `xrange`)."""
    read = bound = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == name:
            if isinstance(node.ctx, ast.Load):
                read = True
            else:
                bound = True
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
            bound = True
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound = bound or any((a.asname or a.name) == name for a in node.names)
    return read and not bound


PYTHON2_MARKERS = re.compile(r"^\s*print\s+[\"'\w%]|^\s*except\s+[\w.]+\s*,\s*\w+\s*:|\bxrange\s*\(|"
                             r"\.iteritems\(\)|\braw_input\s*\(", re.MULTILINE)


def looks_python2(source: str) -> bool:
    """True for source written for Python 2 (print statements, xrange, except E, e)."""
    return bool(PYTHON2_MARKERS.search(source))


def tree_is_python2(paths: list[Path]) -> bool:
    """True when some module of the tree is Python 2: print statements, or xrange never imported.

    Then `/` between integers floors in every module that does not import true division,
    as it did when the tree was written (`H_out = 1 + (H + 2 * pad - HH) / stride`).
    """
    for path in paths:
        try:
            source = read_source(path)
        except (OSError, UnreadableSource):  # reported when the module is imported
            continue
        if not looks_python2(source):
            continue
        try:
            tree = ast.parse(source)
        except SyntaxError:
            rewritten, done = python2_to_3(source)
            if done:
                return True
            continue
        if uses_name_unbound(tree, "xrange"):
            return True
    return False


# ---------------------------------------------------------------- the loader

class ShimLoader(importlib.machinery.SourceFileLoader):
    """Loads one of the user's modules, reading Python 2 where needed; never reads or writes .pyc.

    Args:
        fullname, path: as for SourceFileLoader.
        record: called with one line per shim applied ("cs231n/layers.py: xrange -> range").
        python2_tree: the tree holds Python-2 code, so `/` between integers floors everywhere
            that does not import true division.
        shown: the file name as the report shows it.
    """

    def __init__(self, fullname: str, path: str, record: Callable[[str], None], python2_tree: bool, shown: str):
        super().__init__(fullname, path)
        self.record = record
        self.python2_tree = python2_tree
        self.shown = shown
        self.inject: dict[str, Any] = {}

    def get_code(self, fullname):
        # No bytecode cache: the student's folder stays clean and every shim is seen each load.
        # Python's own rules (coding line, BOM); what they reject is named (sources.py).
        source = decode_source(self.get_data(self.path), self.path)
        try:
            tree = ast.parse(source, self.path)
        except SyntaxError as original:
            rewritten, done = python2_to_3(source)
            if not done:
                raise
            try:
                tree = ast.parse(rewritten, self.path)
            except SyntaxError:
                raise original from None
            for line in done:
                self.record(f"{self.shown}: {line}")
        if uses_name_unbound(tree, "xrange"):
            self.inject["xrange"] = range
            self.record(f"{self.shown}: Python-2 xrange read as range")
        if not self.python2_tree:
            return compile(tree, self.path, "exec", dont_inherit=True)
        division = not has_true_division_import(tree) and _has_division(tree)
        if division:
            self.inject[OLD_DIV] = old_div
            self.record(f"{self.shown}: Python-2 division (`/` between integers floors)")
        if _calls_py2_methods(tree):
            self.record(f"{self.shown}: Python-2 dict.iteritems() / itervalues() / iterkeys() read as items() ...")
        return compile_python2(tree, self.path, division)

    def exec_module(self, module):
        code = self.get_code(module.__name__)
        module.__dict__.update(self.inject)
        exec(code, module.__dict__)


def _calls_py2_methods(tree: ast.Module) -> bool:
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in PY2_METHODS
               for n in ast.walk(tree))


def _has_division(tree: ast.Module) -> bool:
    return any(isinstance(n, (ast.BinOp, ast.AugAssign)) and isinstance(n.op, ast.Div) for n in ast.walk(tree))
