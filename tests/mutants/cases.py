"""What a corpus entry is, which checks it concerns, and how a report is judged against it.

A `Mutant` is one realistic student mistake planted in the reference; it is *caught* when a
check matching one of its `expected` globs fails or errors (skips, for a stub), and
*localised* when that check's message or hint also names the mistake (`diagnosis`). A
`Variant` is a correct implementation written differently: no check may fail or error on it.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

from .generator import Edit

INTERNAL_ERROR = "internal error in sanitykit"
ALARM = ("fail", "error")

# Checks that legitimately fail too when a topic is wrong: the sandwiches, models and
# training runs that call the mutated function (blame may spread, it is not a false alarm).
USERS = {
    "affine": ("layers.affine_relu.*", "layers.affine_bn_relu.*", "layers.affine_ln_relu.*", "models.*", "training.*"),
    "relu": ("layers.affine_relu.*", "layers.affine_bn_relu.*", "layers.affine_ln_relu.*",
             "layers.conv_relu.*", "layers.conv_relu_pool.*", "layers.conv_bn_relu.*", "models.*", "training.*"),
    "batchnorm": ("layers.affine_bn_relu.*", "layers.spatial_batchnorm.*", "layers.conv_bn_relu.*",
                  "models.*", "training.*"),
    "layernorm": ("layers.affine_ln_relu.*", "models.*", "training.*"),
    "dropout": ("models.*", "training.*"),
    "conv_fast": ("layers.conv_relu.*", "layers.conv_relu_pool.*", "layers.conv_bn_relu.*", "models.*", "training.*"),
    "max_pool_fast": ("layers.conv_relu_pool.*", "models.*", "training.*"),
    "spatial_batchnorm": ("layers.conv_bn_relu.*", "models.*", "training.*"),
    "affine_relu": ("models.*", "training.*"),
    "affine_bn_relu": ("models.*", "training.*"),
    "affine_ln_relu": ("models.*", "training.*"),
    "conv_relu_pool": ("models.*", "training.*"),
    "softmax": ("models.*", "training.*"),
    # assignments 1 and 3 (tests/mutants/assignment1.py, assignment3.py)
    "two_loops": ("knn.predict.*",), "one_loop": ("knn.predict.*",), "no_loops": ("knn.predict.*",),
    "predict_labels": ("knn.predict.*",),
    "rnn_step": ("rnn.rnn.*", "models.captioning_rnn.*"), "rnn": ("models.captioning_rnn.*",),
    "lstm_step": ("rnn.lstm.*", "models.captioning_rnn.*"), "lstm": ("models.captioning_rnn.*",),
    "word_embedding": ("models.captioning_rnn.*",), "temporal_affine": ("models.captioning_rnn.*",),
    "temporal_softmax": ("models.captioning_rnn.*",),
}


def topic_glob(pattern: str) -> str:
    """`suite.topic.*` for a check id or glob (`layers.affine.gradcheck` -> `layers.affine.*`)."""
    parts = pattern.split(".")
    if len(parts) < 2 or "*" in parts[1]:
        return parts[0] + ".*"
    return f"{parts[0]}.{parts[1]}.*"


def _topic(pattern: str) -> str:
    parts = pattern.split(".")
    return parts[1] if len(parts) > 1 else ""


@dataclass(frozen=True)
class Mutant:
    """One student mistake: where it is planted and which check must catch it.

    Args:
        id: short name (`affine_dw_over_n`).
        mistake: what the student did, in a sentence.
        edits: exact replacements in the student package.
        expected: check-id globs; at least one must fail or error (skip when `stub`).
        diagnosis: words each caught check's message/hint must name (`"batch size|N="`:
            alternatives; every entry must match), empty when no wording is required.
        also: extra globs allowed to fail (beyond the users of the expected topics).
        only: the checks to run for this mutant (default: `suite.topic.*` of each expected glob).
        stub: the mutation is an unimplemented stub, expected to be skipped.
        pattern: the Finding pattern (sanitykit list --patterns) a caught check must carry to
            count as localised ("" when any pattern will do): the planted family, named.
        assignment: the course tree it is planted in (1, 2 or 3; generator.ASSIGNMENT_FILES).
    """

    id: str
    mistake: str
    edits: tuple[Edit, ...]
    expected: tuple[str, ...]
    diagnosis: tuple[str, ...] = ()
    also: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    stub: bool = False
    pattern: str = ""
    assignment: int = 2

    @property
    def selection(self) -> tuple[str, ...]:
        """The globs passed to `check(only=...)`."""
        return self.only or tuple(dict.fromkeys(topic_glob(p) for p in self.expected))

    @property
    def scope(self) -> tuple[str, ...]:
        """Every glob allowed to fail: expected topics, their users, and `also`."""
        globs = [topic_glob(p) for p in self.expected]
        for pattern in self.expected:
            globs.extend(USERS.get(_topic(pattern), ()))
        return tuple(dict.fromkeys([*globs, *self.also]))


@dataclass(frozen=True)
class Variant:
    """A correct implementation written differently from the reference: zero fail, zero error.

    Args:
        id: short name (`batchnorm_backward_compact`).
        description: how it differs.
        edits: exact replacements in the student package.
        assignment: the course tree it is written in (1, 2 or 3).
    """

    id: str
    description: str
    edits: tuple[Edit, ...]
    assignment: int = 2


def mutant(id: str, mistake: str, file: str, old: str, new: str, expected, diagnosis=(), **options) -> Mutant:
    """A Mutant made of one replacement (the usual case); `expected`/`diagnosis` may be a string."""
    as_tuple = (lambda v: (v,) if isinstance(v, str) else tuple(v))
    return Mutant(id, mistake, (Edit(file, old, new),), as_tuple(expected), as_tuple(diagnosis), **options)


def matches(check_id: str, globs) -> bool:
    return any(fnmatch.fnmatchcase(check_id, g) for g in globs)


def names(text: str, entry: str) -> bool:
    """True when `text` contains one of the `|`-separated alternatives of `entry` (case-insensitive)."""
    lowered = text.lower()
    return any(word.lower() in lowered for word in entry.split("|"))


@dataclass
class Verdict:
    """How the suite did on one corpus entry (plain data, so it crosses process boundaries).

    Args:
        id: the entry's id.
        kind: "mutant" or "variant".
        caught: an expected check failed or errored (mutants).
        localised: caught, and a catching check names every diagnosis entry.
        alarms: (id, status, message) of every fail/error (variants: all are false alarms).
        unrelated: alarms outside the mutant's scope.
        internal: alarms that are sanitykit's own internal errors.
        expected_results: (id, status, message, hint) of the checks matching `expected`.
        seconds: wall time of loading and checking.
    """

    id: str
    kind: str
    caught: bool = False
    localised: bool = False
    alarms: list = field(default_factory=list)
    unrelated: list = field(default_factory=list)
    internal: list = field(default_factory=list)
    expected_results: list = field(default_factory=list)
    seconds: float = 0.0
    setup_error: str = ""


def judge_mutant(entry: Mutant, checks) -> Verdict:
    """Judge a mutant from its report's CheckResults.

    Args:
        entry: the mutant.
        checks: report.checks (objects with id, status, message, hint).
    """
    verdict = Verdict(entry.id, "mutant")
    _collect_alarms(verdict, checks)
    wanted = ("skip",) if entry.stub else ALARM
    for result in checks:
        if not matches(result.id, entry.expected):
            continue
        verdict.expected_results.append((result.id, result.status, result.message, result.hint))
        if result.status in wanted:
            verdict.caught = True
            text = f"{result.message}\n{result.hint}"
            found = getattr(getattr(result, "diagnosis", None), "pattern", "")
            if all(names(text, word) for word in entry.diagnosis) and entry.pattern in ("", found):
                verdict.localised = True
    verdict.unrelated = [a for a in verdict.alarms if not matches(a[0], entry.scope)]
    return verdict


def judge_variant(entry: Variant, checks) -> Verdict:
    """Judge a correct variant: every fail or error is a false alarm."""
    verdict = Verdict(entry.id, "variant")
    _collect_alarms(verdict, checks)
    verdict.unrelated = list(verdict.alarms)
    return verdict


def _collect_alarms(verdict: Verdict, checks) -> None:
    for result in checks:
        if result.status in ALARM:
            verdict.alarms.append((result.id, result.status, result.message))
            if INTERNAL_ERROR in (result.message or ""):
                verdict.internal.append((result.id, result.message))
