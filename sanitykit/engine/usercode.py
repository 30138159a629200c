"""Calling student code: every exception becomes a one-line reason, never a traceback.

The boundary between sanitykit and the user's functions. A check (or gradcheck)
calls `call_user(fn, *args)`; whatever goes wrong inside comes back as
`UserCodeError` (the code raised or returned something unusable) or
`NotImplementedYet` (a stub: NotImplementedError, `pass`, returning None).
"""
from __future__ import annotations

import contextlib
import contextvars
import linecache
import os
import re
import traceback
from typing import Any, Callable, Iterator

from sanitykit.engine.findings import Reason


class UserCodeError(Exception):
    """The user's code raised or returned something unusable; str() is one line."""

    def __init__(self, reason: str, *, subject: str = "", where: str = "", source_line: str = "",
                 error_type: str = "", fix: str = "", numpy_change: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.subject = subject
        self.where = where  # "layers.py:42" of the innermost user frame, when known
        self.source_line = source_line  # the code on that line, stripped, when readable
        self.error_type = error_type  # the exception's class name ("ValueError"), when it raised
        self.fix = fix  # what to change, when the raiser knows better than the exception's class
        self.numpy_change = numpy_change  # the NumPy-2 break it matches ("np.float"), see numpy_change()


class CheckTimeout(BaseException):
    """Raised by the runner's alarm when one check exceeds its time limit.

    A BaseException so that a student's bare `except Exception:` cannot swallow it.
    """


class NotImplementedYet(Exception):
    """The user's function is a stub (raises NotImplementedError or returns None)."""

    def __init__(self, subject: str, how: str = ""):
        super().__init__(f"{subject} is not implemented yet" + (f" ({how})" if how else ""))
        self.subject = subject
        self.how = how


_OWN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _user_frame(exc: BaseException) -> str:
    """file:line of the innermost frame outside sanitykit and outside numpy, or ''."""
    frame = _innermost_user_frame(exc)
    return f"{os.path.basename(frame.filename)}:{frame.lineno}" if frame else ""


def _innermost_user_frame(exc: BaseException) -> traceback.FrameSummary | None:
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        path = os.path.abspath(frame.filename)
        if path.startswith(_OWN_DIR) or f"{os.sep}numpy{os.sep}" in path:
            continue
        return frame
    return None


def source_line(filename: str, lineno: int | None) -> str:
    """The stripped source of filename:lineno (linecache), or '' when it cannot be read."""
    if not lineno:
        return ""
    line = linecache.getline(filename, lineno).strip()
    return line if len(line) <= 200 else line[:197] + "..."


# The UserCodeErrors raised while a check runs (see `recording`), so the runner can show the
# offending line even when a check turned the error into an outcome itself.
_RECORDED: contextvars.ContextVar[list | None] = contextvars.ContextVar("sanitykit_raised", default=None)


@contextlib.contextmanager
def recording() -> Iterator[list]:
    """Collect every UserCodeError that `call_user` raises inside the block (the runner, per check)."""
    raised: list = []
    token = _RECORDED.set(raised)
    try:
        yield raised
    finally:
        _RECORDED.reset(token)


# Called after every call into the user's code, even one that raised: the runner's fences put
# back there the numpy and builtins functions the call replaced, before sanitykit computes again.
_AFTER_CALL: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar(
    "sanitykit_after_call", default=None)


@contextlib.contextmanager
def after_each_call(hook: Callable[[], None]) -> Iterator[None]:
    """Call `hook()` after every `call_user` inside the block (the fences, per check)."""
    token = _AFTER_CALL.set(hook)
    try:
        yield
    finally:
        _AFTER_CALL.reset(token)


def describe_exception(exc: BaseException) -> str:
    """`ValueError: shapes (4,5) and (6,3) not aligned` — the last line of a traceback."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    if len(first) > 200:
        first = first[:197] + "..."
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def user_error_reason(error: UserCodeError, subject: str = "") -> Reason:
    """The `raised` reason of an error in the user's code, with a hint for its kind of exception."""
    from sanitykit.engine.wording import user_error_fix

    return Reason("raised", (error.subject or subject,) if (error.subject or subject) else (),
                  note=error.reason, fix=error.fix or user_error_fix(error.error_type))


def subject_name(fn: Callable, subject: str | None = None) -> str:
    return subject or getattr(fn, "__name__", None) or type(fn).__name__


def call_user(fn: Callable, *args: Any, subject: str | None = None, **kwargs: Any) -> Any:
    """Call the user's `fn`; turn any exception into UserCodeError / NotImplementedYet.

    Args:
        fn: the user's function or bound method.
        subject: the name used in messages (default: fn.__name__).
    """
    name = subject_name(fn, subject)
    try:
        try:
            return fn(*args, **kwargs)
        finally:
            after = _AFTER_CALL.get()
            if after is not None:
                after()
    except NotImplementedError as exc:
        raise NotImplementedYet(name, "raises NotImplementedError") from None
    except (KeyboardInterrupt, CheckTimeout, UserCodeError, NotImplementedYet):
        raise
    except SystemExit as exc:
        # Student code calling sys.exit()/exit() (or os._exit, which the runner's fence turns
        # into a SystemExit carrying `.what`) must not end our process.
        what = getattr(exc, "what", None) or f"sys.exit({exc.code!r})"
        raise UserCodeError(f"{name} called {what}", subject=name, error_type="SystemExit") from None
    except AttributeError as exc:
        # The course's untouched stubs end with `out = out.astype(x.dtype, copy=False)` on
        # `out = None`: that is "not written yet", not a crash of the student's code.
        if "'NoneType' object has no attribute 'astype'" in str(exc):
            raise NotImplementedYet(name, "its output is still None") from None
        raise _raised(name, exc) from None
    except RecursionError as exc:
        raise UserCodeError(f"{name} recursed without end (RecursionError)", subject=name,
                            error_type="RecursionError") from None
    except MemoryError:
        raise UserCodeError(f"{name} ran out of memory (MemoryError)", subject=name,
                            error_type="MemoryError") from None
    except BaseException as exc:  # noqa: BLE001 - student code may raise anything
        if passes_through(exc):
            raise
        raise _raised(name, exc) from None


def passes_through(exc: BaseException) -> bool:
    """True for what must reach the test runner unchanged: Ctrl-C, and pytest's own outcomes
    raised while a check runs under the plugin (pytest.exit, pytest.skip, and pytest.fail,
    which is how pytest-timeout stops a test), recognised without importing pytest."""
    return isinstance(exc, KeyboardInterrupt) or any(
        cls.__module__ == "_pytest.outcomes" for cls in type(exc).__mro__)


def _raised(name: str, exc: BaseException) -> UserCodeError:
    """`affine_forward raised ValueError: ... (at layers.py:12)` as a UserCodeError.

    The reason stays one line; the code on that line goes in `.source_line`.
    """
    frame = _innermost_user_frame(exc)
    where = f"{os.path.basename(frame.filename)}:{frame.lineno}" if frame else ""
    code = source_line(frame.filename, frame.lineno) if frame else ""
    reason = f"{name} raised {describe_exception(exc)}" + (f" (at {where})" if where else "")
    change = numpy_change(exc)
    error = UserCodeError(reason, subject=name, where=where, source_line=code,
                          error_type=type(exc).__name__, numpy_change=change,
                          fix=_raised_fix(exc, change))
    recorded = _RECORDED.get()
    if recorded is not None:
        recorded.append(error)
    return error


# How NumPy names what it no longer has: its AttributeError for a removed name ("module 'numpy'
# has no attribute 'float'", "`np.NaN` was removed in the NumPy 2.0 release") and the
# DeprecationWarning of one on its way out ("`row_stack` alias is deprecated"), when warnings
# are errors.
_NUMPY_NAME = re.compile(r"module 'numpy' has no attribute '(\w+)'|`np\.(\w+)` was removed|`(\w+)` (?:alias )?is deprecated")
# int() / float() of an array of one element: deprecated in NumPy 1.25, an error in NumPy 2.
_SCALAR_CONVERSION = ("only 0-dimensional arrays can be converted", "Conversion of an array with ndim > 0")


def numpy_change(exc: BaseException) -> str:
    """The NumPy-2 break `exc` is (code written for NumPy 1), or '': "np.float" (a removed name),
    "scalar_conversion" (int() of a one-element array) or "copy_false" (np.array(x, copy=False))."""
    from sanitykit.engine.wording import NUMPY_REMOVED

    text = str(exc)
    if isinstance(exc, (AttributeError, DeprecationWarning)):
        match = _NUMPY_NAME.search(text)
        name = f"np.{next(g for g in match.groups() if g)}" if match else ""
        if name in NUMPY_REMOVED:
            return name
    if isinstance(exc, (TypeError, DeprecationWarning)) and any(s in text for s in _SCALAR_CONVERSION):
        return "scalar_conversion"
    if isinstance(exc, ValueError) and "Unable to avoid copy" in text:
        return "copy_false"
    return ""


SHAPE_IN_MESSAGE = re.compile(r"\((\d+(?:\s*,\s*\d+)+)\s*,?\)")


def reversed_shapes(message: str) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """Two shapes of a broadcast error that are each other's reverse, (4, 6) and (6, 4), or None."""
    shapes = [tuple(int(n) for n in group.split(",")) for group in SHAPE_IN_MESSAGE.findall(message)]
    for i, first in enumerate(shapes):
        for second in shapes[i + 1:]:
            if first != second and first == second[::-1]:
                return first, second
    return None


def _raised_fix(exc: BaseException, change: str) -> str:
    """The fix the raised exception itself tells ("" leaves the hint to the exception's class).

    A NumPy-2 break first; then two arrays shaped as each other's transpose (a product's
    factors swapped), read from a broadcast error's shapes.
    """
    from sanitykit.engine.wording import reversed_shapes_fix, user_error_fix

    if change:
        return user_error_fix(type(exc).__name__, change)
    pair = reversed_shapes(str(exc)) if isinstance(exc, ValueError) else None
    return reversed_shapes_fix(*pair) if pair else ""
