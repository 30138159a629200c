"""What a verdict says, as data: a `Finding` names a mistake, a `Reason` explains a skip or a blame.

Both travel unchanged from the check that measured them to every consumer: the JSON report
(`diagnosis`, `reason`), the grade (scoring reads `Reason.kind`, never a message), the
renderers. Sentences are made from them in one place, sanitykit.engine.wording.

The vocabularies are closed: a `Finding.pattern` is a key of `PATTERNS` and a `Reason.kind`
a key of `REASON_KINDS`; `sanitykit list --patterns` prints the first.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from sanitykit.engine.patterns import PATTERNS

# Why a check did not judge the code itself (skip), could not run it (error), or judged a
# composite that is wrong only because of a building block (blamed).
REASON_KINDS: dict[str, str] = {
    "missing": "the function or class is not in the target (or sanitykit's stand-in takes its place)",
    "not_implemented": "the function is still the course's stub (raises NotImplementedError, returns None)",
    "depends_on": "an earlier check this one needs did not pass",
    "blamed": "the check fails only because of another function's bug, graded under that function's check",
    "not_applicable": "the check does not apply to this code (an option or a method it lacks)",
    "import_failed": "the module defining the function could not be imported",
    "raised": "the user's code raised, or returned something unusable",
    "timeout": "the check ran past its time limit",
    "hung": "a function already stopped for running past the time limit; not called again",
    "crashed": "the user's code ended the process that ran it (a signal, os._exit, the memory limit)",
    "interrupted": "the run was interrupted (Ctrl-C) before this check",
    "not_run": "the process grading the submission ended before this check (a limit or a crash)",
    "internal": "a bug in sanitykit, not in the user's code",
}


def _strings(values: Iterable[str] | str) -> tuple[str, ...]:
    return (values,) if isinstance(values, str) else tuple(str(v) for v in values)


@dataclass(frozen=True)
class Finding:
    """A named mistake: which pattern, what is wrong, where, the likely cause and the fix.

    Args:
        pattern: a tag of the vocabulary `PATTERNS` ("batch_size", "transposed", ...).
        what: what is wrong and by how much, one sentence.
        likely: the likely mistake, spoken to the student ("" when the fix says it all).
        fix: what to change or try next, with a concrete rewrite where there is one.
        where: the places, indices or inputs concerned ("dw[4, 1]", "dbeta"), at most a few.
        evidence: further measured lines shown under `what` (values at the worst places).
    """

    pattern: str
    what: str
    likely: str = ""
    fix: str = ""
    where: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.pattern not in PATTERNS:
            raise ValueError(f"unknown pattern {self.pattern!r}: add it to sanitykit.engine.patterns")
        object.__setattr__(self, "where", _strings(self.where))
        object.__setattr__(self, "evidence", _strings(self.evidence))

    def to_dict(self) -> dict[str, Any]:
        """The report's `diagnosis` object (evidence only when there is some)."""
        d: dict[str, Any] = {"pattern": self.pattern, "what": self.what, "where": list(self.where),
                             "likely": self.likely, "fix": self.fix}
        if self.evidence:
            d["evidence"] = list(self.evidence)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "Finding | None":
        if not data:
            return None
        pattern = data.get("pattern", "unknown")
        return cls(pattern if pattern in PATTERNS else "unknown", str(data.get("what", "")),
                   str(data.get("likely", "")), str(data.get("fix", "")),
                   tuple(data.get("where") or ()), tuple(data.get("evidence") or ()))


@dataclass(frozen=True)
class Reason:
    """Why a check was skipped, errored without judging, or was blamed on another check.

    Args:
        kind: a key of `REASON_KINDS`.
        responsible: the user's functions at fault or concerned (the missing name, the stub,
            the failed building block).
        see: the check ids where the matter is reported (the dependency, the blamed check).
        note: the specifics in words ("returned None", the import error, why not applicable).
        fix: what to do, when the kind alone does not say it (an error's hint).
        also: a second cause met on the way (a blame found again with the reference blocks).
    """

    kind: str
    responsible: tuple[str, ...] = ()
    see: tuple[str, ...] = ()
    note: str = ""
    fix: str = ""
    also: "Reason | None" = None

    def __post_init__(self) -> None:
        if self.kind not in REASON_KINDS:
            raise ValueError(f"unknown reason kind {self.kind!r}; expected one of {sorted(REASON_KINDS)}")
        object.__setattr__(self, "responsible", tuple(dict.fromkeys(_strings(self.responsible))))
        object.__setattr__(self, "see", tuple(dict.fromkeys(_strings(self.see))))

    def to_dict(self) -> dict[str, Any]:
        """The report's `reason` object (note and fix only when set)."""
        d: dict[str, Any] = {"kind": self.kind, "responsible": list(self.responsible), "see": list(self.see)}
        if self.note:
            d["note"] = self.note
        if self.fix:
            d["fix"] = self.fix
        if self.also is not None:
            d["also"] = self.also.to_dict()
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "Reason | None":
        if not data:
            return None
        kind = data.get("kind", "internal")
        return cls(kind if kind in REASON_KINDS else "internal", tuple(data.get("responsible") or ()),
                   tuple(data.get("see") or ()), str(data.get("note", "")), str(data.get("fix", "")),
                   cls.from_dict(data.get("also")))
