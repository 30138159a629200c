"""The one place where verdicts become sentences: messages and hints made from findings and reasons.

A check measures and returns data (`Finding`, `Reason`, numbers); the report's `message` and
`hint` are made here, so a wording change is one edit and nothing downstream ever needs to read
a sentence back. Plain text only: colours and bold belong to the renderers and their theme.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from sanitykit.engine.findings import Finding, Reason
from sanitykit.engine.status import ERROR, FAIL, PASS, SKIP, WARN

MAX_PLACES = 5
STATUS_WORD = {PASS: "right", WARN: "suspicious", FAIL: "wrong", ERROR: "error", SKIP: "skipped"}
# What a dependency that did not pass did, after "depends on <id>, which ...".
DEPENDENCY_WORDS = {FAIL: "failed", ERROR: "raised an error", SKIP: "was skipped"}
SOURCE_INDENT = "    "


def number(x: float) -> str:
    """3 significant digits; nan/inf spelled out."""
    return f"{x:.3g}" if np.isfinite(x) else str(x)


def names(items: Iterable[str]) -> str:
    return ", ".join(dict.fromkeys(items))


# ---------------------------------------------------------------- findings

def hint_lines(likely: str, fix: str) -> list[str]:
    """`likely: ...` and `try: ...` when both are known; a lone fix is the hint as it is."""
    if likely and fix:
        return [f"likely: {likely}", f"try: {fix}"]
    if likely:
        return [f"likely: {likely}"]
    return [fix] if fix else []


UNNAMED = "none of sanitykit's patterns describes it"


def finding_message(finding: Finding) -> str:
    """What is wrong, then the measured evidence lines (and, for an unnamed mistake, that it is)."""
    unnamed = (UNNAMED,) if finding.pattern == "unknown" else ()
    return "\n".join(line for line in (finding.what, *finding.evidence, *unnamed) if line)


def finding_hint(finding: Finding) -> str:
    return "\n".join(hint_lines(finding.likely, finding.fix))


# ---------------------------------------------------------------- reasons

def reason_message(reason: Reason, status: str = SKIP) -> str:
    """The one line saying why a check was skipped, errored or was blamed."""
    kind, who, see = reason.kind, names(reason.responsible), names(reason.see)
    if kind == "missing":
        return reason.note or f"{who or 'the function'} not found in the target"
    if kind == "not_implemented":
        return f"{who or 'the function'} is not implemented yet" + (f" ({reason.note})" if reason.note else "")
    if kind == "depends_on":
        return f"depends on {see}, which {reason.note or 'did not pass'}"
    if kind == "blamed":
        return blamed_message(reason, status)
    if kind == "internal":
        return f"internal error in sanitykit: {reason.note}"
    return reason.note or kind.replace("_", " ")


def blamed_message(reason: Reason, status: str) -> str:
    """`fails only because of affine_backward (see layers.affine.gradcheck); passes with ...`.

    A fail (the training suite shows what the bug does) leads with "fails because" instead.
    """
    lead = "fails because" if status == FAIL else "fails only because"
    cause = _cause(reason)
    if reason.also is not None:
        cause += f" and {_cause(reason.also)}"
    if reason.note or not reason.responsible:  # a cause that is not a function: "the weights start at zero"
        return f"{lead} {cause}"
    substituted = f"sanitykit's reference {names(reason.responsible)} substituted"
    if reason.also is not None:
        return f"{lead} {cause}, with {substituted}"
    return f"{lead} {cause}; passes with {substituted}"


def _cause(reason: Reason) -> str:
    """`of affine_backward (see layers.affine.gradcheck)`, or `the weights start at zero (see ...)`."""
    see = f" (see {names(reason.see)})" if reason.see else ""
    if reason.note:
        return f"{reason.note}{see}"
    return f"of {names(reason.responsible) or 'another function'}{see}"


def blamed_failure_message(reason: Reason, with_yours: str = "") -> str:
    """A blamed check shown as a failure: its cause first, then what it gave with the user's code."""
    message = blamed_message(reason, FAIL)
    return message + (f"\nwith your code: {with_yours}" if with_yours else "")


def cause_line(cause: str, check_id: str) -> str:
    """`the cause: the weights start at zero (see models.fc_net.init)`, under a failure it explains."""
    return f"the cause: {cause} (see {check_id})"


def still_failing_note(status: str, subjects: list[str], owner: str) -> str:
    """Under a composite's failure that the reference building blocks did not fix: whose bug it is."""
    who = names(subjects)
    verb = "fails" if status == FAIL else "errors"
    built_on = "it" if len(subjects) == 1 else "them"
    return (f"still {verb} with sanitykit's reference {who} substituted (and what is built on "
            f"{built_on}), so the bug is in {owner}{'' if ' or ' in owner else ' itself'}")


REASON_HINTS = {
    "not_implemented": "implement the function, then run the check again",
    "import_failed": "fix the error above so that the module imports",
    "timeout": "look for a loop that never ends, or raise --timeout for slow code",
    "hung": "fix the loop that never ends first (the check named above says where); this check then runs",
    "crashed": ("a crash comes from below Python (ctypes, a C extension) or a deliberate exit "
                "(posix._exit): call the function alone under `python -X faulthandler` to see where"),
    "internal": "this is a bug in sanitykit, not in your code; please report it",
}


def reason_hint(reason: Reason, status: str) -> str:
    if reason.fix:
        return reason.fix
    if reason.kind == "blamed" and status == FAIL:
        return (f"fix {names(reason.responsible) or 'that function'} first (its own check says how); "
                "this check then passes as it is")
    return "" if status == SKIP else REASON_HINTS.get(reason.kind, "")


# What to do about an exception in the user's code, by its class: the first thing to look at.
ERROR_FIXES = {
    "ValueError": "print the shapes of the arrays on that line (print(x.shape, w.shape)): a product "
                  "or a reshape needs them to agree, e.g. x.reshape(x.shape[0], -1) @ w",
    "IndexError": "an index on that line runs past an array's end: check the range of the loop "
                  "(range(H_out), not range(H)) and the shape of the array it indexes",
    "TypeError": "a value on that line has the wrong type or the call the wrong arguments: compare "
                 "the call with the function's signature, and check for a None left by a stub",
    "KeyError": "a dictionary key on that line does not exist: print the dict's keys (cache, "
                "bn_param, config, self.params) and use the course's names",
    "NameError": "a name on that line is not defined: a typo, or a variable defined only in another branch",
    "ZeroDivisionError": "a division by zero on that line: an integer size of 0, or a missing eps",
    "AttributeError": "an attribute on that line does not exist: a typo, or None where an array belongs",
    "UnboundLocalError": "a variable on that line is used before it is assigned (defined only in one branch)",
    "SystemExit": "remove the exit call: a layer must return its result, never end the program",
    "RecursionError": "the function calls itself (or two functions call each other) without end",
    "MemoryError": "an array far larger than the inputs: look for np.zeros of a product of sizes, "
                   "or an outer product where an element-wise one belongs",
    "FloatingPointError": "np.seterr raises on an overflow or a division by zero: compute in a "
                          "stable form (subtract the max before exp, add eps before dividing)",
}
RETURN_FIX = ("return exactly what the course's docstring says, e.g. `return out, cache` from a "
              "forward and `return dx, dw, db` from a backward, each an ndarray")


def reversed_shapes_fix(first: tuple[int, ...], second: tuple[int, ...]) -> str:
    """The fix for two arrays on one line shaped as each other's transpose (a reversed_shape mistake)."""
    return (f"the arrays on that line are shaped {first} and {second}, each other's transpose: one of them "
            "(often a gradient like dW) was built with the factors of a product swapped, e.g. dscores.T @ X "
            "where X.T @ dscores belongs; give it the shape of the parameter it belongs to (dW.shape == W.shape)")


def user_error_fix(error_type: str, numpy_change: str = "") -> str:
    """The hint for an error in the user's code (`error_type` "" when it returned something unusable).

    Args:
        error_type: the exception's class name.
        numpy_change: the NumPy-2 break it matches (usercode.numpy_change), default none.
    """
    if numpy_change:
        return numpy_fix(numpy_change)
    if error_type:
        return ERROR_FIXES.get(error_type, "read the line quoted above: that is where your code raised")
    return RETURN_FIX


# Errors whose hint gains nothing from the arguments of the call (the fix is the same whatever they are).
CALL_BLIND_ERRORS = ("SystemExit", "RecursionError")


def value_words(value: object, *, nested: bool = False) -> str:
    """What a check passed, in a few characters: an array's shape, a small dict, a tuple's arrays.

    Args:
        value: an argument of the call (a cache, a param dict, an array).
        nested: inside a tuple or dict: containers are only counted, not opened again.
    """
    if isinstance(value, np.ndarray):
        return str(value.shape)
    if isinstance(value, (dict, tuple, list)) and nested:
        return f"a {type(value).__name__} of {len(value)}"
    if isinstance(value, dict):
        items = [f"{k!r}: {value_words(v, nested=True)}" for k, v in list(value.items())[:6]]
        return "{" + ", ".join(items) + (", ..." if len(value) > 6 else "") + "}"
    if isinstance(value, (tuple, list)):
        inner = ", ".join(value_words(v, nested=True) for v in value[:6]) + (", ..." if len(value) > 6 else "")
        return f"(a {type(value).__name__} of {inner})" if value else f"(an empty {type(value).__name__})"
    return repr(value) if isinstance(value, (int, float, str, np.generic, type(None))) else f"a {type(value).__name__}"


def call_text(subject: str, arguments: Iterable[tuple[str, object]]) -> str:
    """`affine_forward(x (4, 5), w (5, 3), b (3,))`: the call a check made, shapes for arrays."""
    return f"{subject}({', '.join(f'{name} {value_words(value)}' for name, value in arguments)})"


UNPACK_FIX = ("that line unpacks more or fewer values than there are: unpack a cache exactly as the "
              "forward packed it (cache = (x, w, b) in the forward, x, w, b = cache in the backward)")


def called_fix(error_type: str, call: str, *, unpacking: bool = False) -> str:
    """The hint for an error raised inside a call whose arguments the check knows: the shapes first.

    Args:
        error_type: the exception's class name.
        call: call_text(...) of the call that raised.
        unpacking: the error is Python's "too many / not enough values to unpack".
    """
    return f"the check called {call}; {UNPACK_FIX if unpacking else user_error_fix(error_type)}"


# Names code written for NumPy 1 uses that NumPy 1.24 / 2.0 removed -> what to write instead.
NUMPY_REMOVED = {
    "np.float": "float", "np.int": "int", "np.bool": "bool", "np.object": "object", "np.str": "str",
    "np.complex": "complex", "np.long": "int", "np.unicode": "str",
    "np.float_": "np.float64", "np.complex_": "np.complex128", "np.string_": "np.bytes_",
    "np.unicode_": "np.str_", "np.NaN": "np.nan", "np.Inf": "np.inf", "np.PINF": "np.inf",
    "np.infty": "np.inf", "np.Infinity": "np.inf", "np.NINF": "-np.inf", "np.NZERO": "-0.0",
    "np.PZERO": "0.0", "np.product": "np.prod", "np.cumproduct": "np.cumprod", "np.alltrue": "np.all",
    "np.sometrue": "np.any", "np.in1d": "np.isin", "np.row_stack": "np.vstack", "np.round_": "np.round",
    "np.asfarray": "np.asarray(x, dtype=float)", "np.trapz": "np.trapezoid", "np.msort": "np.sort(a, axis=0)",
    "np.asscalar": "x.item()",
}
NUMPY_CHANGES = {
    "scalar_conversion": ("no longer turns an array into a number with int() or float(); take its "
                          "element: float(x.item()), or x[0, 0] (an array of several elements needs a "
                          "sum or an index first)"),
    "copy_false": ("reads np.array(x, copy=False) as 'never copy' and raises when a copy is needed: "
                   "write np.asarray(x) instead"),
}


def numpy_fix(change: str) -> str:
    """The one-line fix of a NumPy-2 break, naming the NumPy installed: "written for NumPy 1: ..."."""
    here = f"NumPy {np.__version__} is installed here"
    if change in NUMPY_REMOVED:
        # np.row_stack is only deprecated in some releases: an error when warnings are errors.
        has = hasattr(np, change.partition(".")[2])
        return (f"this line was written for NumPy 1: {here} and {'deprecates' if has else 'has no'} "
                f"{change}; write {NUMPY_REMOVED[change]} instead of {change}")
    return f"this line was written for NumPy 1: {here}, which {NUMPY_CHANGES.get(change, change)}"


def with_source_line(message: str, source_line: str) -> str:
    """The code of the line that raised, quoted under the message's first line."""
    if not source_line:
        return message
    first, *rest = message.splitlines() or [""]
    return "\n".join([first, SOURCE_INDENT + source_line, *rest])


def paired_with(message: str, backward: str, forward: str, *, forward_wrong: bool = False) -> str:
    """A backward's result told which forward it was checked against, when not the layer's usual one.

    Args:
        forward_wrong: `message` is the forward's own failure (its out differs from the reference).
    """
    if forward_wrong:
        return f"{forward}, whose cache {backward} reads, is wrong, so its gradients cannot be checked: {message}"
    return f"{backward} checked against {forward}, whose cache it reads: {message}"


def in_case(message: str, hint: str, words: str, case_hint: str) -> tuple[str, str]:
    """(message, hint) of a failure seen only on the extra input case `words`."""
    return (f"with {words} (the first case passes): {message}",
            f"{case_hint}\n{hint}" if hint else case_hint)


# ---------------------------------------------------------------- gradcheck results

def input_headline(r) -> str:
    """`dw is wrong: 60 / 60 probed elements differ, max relative error 0.96 at dw[3, 1]`."""
    if r.status == PASS:
        return f"{r.grad} is right (max relative error {number(r.rel_error)})"
    if r.pattern == "kink":
        where = f" at {r.where}" if r.worst_index is not None else ""
        return (f"{r.grad} is right away from kinks; {r.kinks} coordinate(s) straddle a "
                f"ReLU/max kink{where} (relative error {number(r.rel_error)} there)")
    verdict = "wrong" if r.status == FAIL else "suspicious"
    if r.errors is None:
        return (f"{r.grad} is {verdict}: a random directional derivative differs, "
                f"relative error {number(r.rel_error)}")
    of = f"{r.probed} probed" if r.probed < r.size else f"{r.size}"
    where = f" at {r.where}" if r.worst_index is not None else ""
    return (f"{r.grad} is {verdict}: {r.wrong} / {of} elements differ, "
            f"max relative error {number(r.rel_error)}{where}")


def input_places(r) -> list[str]:
    """At most five wrong places with both values, then a count with a percentage."""
    from sanitykit.engine.diagnosis import format_index

    lines = [f"  {format_index(r.grad, idx)}: analytic {a:.6g}, numerical {n:.6g}"
             for idx, a, n, _ in r.worst[:MAX_PLACES]]
    more = r.wrong - len(lines)
    if more > 0:
        of = "the probed elements" if r.probed < r.size else "the elements"
        lines.append(f"  ... and {more} more ({100 * r.wrong / max(r.probed, 1):.0f}% of {of})")
    return lines


def _input_finding_line(r) -> str:
    """The finding's sentence under the headline; a localised kink's headline already says it."""
    if r.finding is None:
        return ""
    if r.pattern == "kink" and r.errors is not None:
        return "\n".join(r.finding.evidence)  # the headline says the rest
    return finding_message(r.finding)


def gradcheck_message(result) -> str:
    """What is wrong, where and by how much (multi-line)."""
    if result.status in (ERROR, SKIP) and result.problem:
        return result.problem
    if result.finding:
        return finding_message(result.finding)
    lines = []
    for r in (r for r in result.per_input if r.status != PASS):
        lines.append(input_headline(r))
        lines.extend(input_places(r))
        line = _input_finding_line(r)
        if line:
            lines.append(line)
    good = [r for r in result.per_input if r.status == PASS]
    if good:
        worst = max(r.rel_error for r in good)
        lines.append(f"{names(r.grad for r in good)} {'is' if len(good) == 1 else 'are'} right "
                     f"(max relative error {number(worst)})")
    if result.mode.endswith("probed"):
        lines.append(f"(fast mode: named from {result.probed} probed coordinates; "
                     "mode='auto' lists every wrong element)")
    elif result.sampled:
        lines.append(f"(localised on a sample of {result.probed} coordinates; "
                     "mode='full' probes every one)")
    return "\n".join(lines)


def gradcheck_hint(result) -> str:
    """The likely mistake and what to do, spoken to the student."""
    if result.status == SKIP:
        return REASON_HINTS["not_implemented"]
    if result.status == ERROR:
        if result.reason is not None and result.reason.fix:  # a fix known for this error (NumPy 2)
            return result.reason.fix
        return "fix the error above; the check needs the function to run and return arrays"
    if result.finding:
        return "\n".join(hint_lines(result.finding.likely, result.finding.fix))
    # One hint per kind of mistake: dW1, dW2 and dW3 missing their regularisation say it once.
    first_of: dict[str, list] = {}
    for r in result.per_input:
        if r.status != PASS and r.finding and r.finding.likely:
            first_of.setdefault(r.finding.pattern, []).append(r)
    lines = []
    for same in first_of.values():
        finding = same[0].finding
        also = f" (the same in {names(r.grad for r in same[1:])})" if len(same) > 1 else ""
        lines.extend(hint_lines(finding.likely + also, finding.fix))
    return "\n".join(lines)


def gradcheck_text(result) -> str:
    """str(result): verdict line, message, hint, notes."""
    where = f" of {result.subject}" if result.subject else ""
    probed = f", {result.probed} coordinates probed" if result.probed else ""
    mode = f"(mode {result.mode}{probed})" if result.mode else ""
    message = gradcheck_message(result).splitlines() or [""]
    # The first line is what pytest's short summary and an AssertionError headline show:
    # the verdict and what is wrong, not only the verdict.
    head = f"gradcheck{where}: {result.status.upper()}" + (f": {message[0]}" if message[0] else "")
    lines = [head, *message[1:], mode]
    hint = gradcheck_hint(result)
    if hint and result.status != PASS:
        lines.append(hint)
    lines.extend(f"note: {n}" for n in result.notes)
    return "\n".join(line for line in lines if line)
