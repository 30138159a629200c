"""Result objects shared by every layer above the engine: data only, no rendering."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from sanitykit.engine import wording
from sanitykit.engine.findings import Finding, Reason
from sanitykit.engine.notebook import NotebookDisplay
from sanitykit.engine.status import ERROR, FAIL, PASS, SEVERITY, SKIP, STATUSES, WARN

__all__ = ["PASS", "WARN", "FAIL", "ERROR", "SKIP", "STATUSES", "SEVERITY", "Outcome", "CheckResult",
           "Finding", "Reason", "passed", "warned", "failed", "errored", "skipped", "to_jsonable"]


@dataclass(frozen=True)
class Outcome:
    """What a check function returns: the verdict, its finding or reason, and the numbers behind it.

    `message` and `hint` are made from `finding` / `reason` by sanitykit.engine.wording (the
    constructors below do it); consumers that need meaning read `finding` and `reason`.

    Args:
        status: one of pass / warn / fail / error / skip.
        message: what is wrong, where and by how much (may span lines).
        hint: the likely mistake and what to change, spoken to the student.
        details: numbers behind the verdict (JSON-serialisable).
        finding: the named mistake of a fail or warn.
        reason: why a check was skipped, errored, or is blamed on another check.
    """

    status: str
    message: str = ""
    hint: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    finding: Finding | None = None
    reason: Reason | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}; expected one of {STATUSES}")

    def with_details(self, **extra: Any) -> "Outcome":
        """The same outcome with `extra` merged into its details."""
        return dataclasses.replace(self, details={**self.details, **extra})


def passed(message: str = "", **details: Any) -> Outcome:
    """A pass; `message` says what was verified ("out matches the reference ...")."""
    return Outcome(PASS, message, "", details)


def _judged(status: str, finding: Finding, details: dict[str, Any]) -> Outcome:
    if not isinstance(finding, Finding):
        raise TypeError(f"a {status} needs a Finding (sanitykit.engine.findings), not {type(finding).__name__}")
    return Outcome(status, wording.finding_message(finding), wording.finding_hint(finding), details,
                   finding=finding)


def failed(finding: Finding, **details: Any) -> Outcome:
    """A failure: the code is wrong, and `finding` says how."""
    return _judged(FAIL, finding, details)


def warned(finding: Finding, **details: Any) -> Outcome:
    """A warning: suspicious, not wrong; `finding` says why (a kink, a course convention)."""
    return _judged(WARN, finding, details)


def _unjudged(status: str, reason: Reason, details: dict[str, Any]) -> Outcome:
    if not isinstance(reason, Reason):
        raise TypeError(f"a {status} needs a Reason (sanitykit.engine.findings), not {type(reason).__name__}")
    return Outcome(status, wording.reason_message(reason, status), wording.reason_hint(reason, status),
                   details, reason=reason)


def errored(reason: Reason, **details: Any) -> Outcome:
    """The check could not judge the code: it raised, hung, crashed, or sanitykit failed."""
    return _unjudged(ERROR, reason, details)


def skipped(reason: Reason, **details: Any) -> Outcome:
    """The check did not apply or did not run: `reason` says why, as data."""
    return _unjudged(SKIP, reason, details)


@dataclass(frozen=True)
class CheckResult(NotebookDisplay):
    """One check's verdict, with the metadata a report needs (fields fixed by DESIGN.md).

    Shows as its verdict and diagnosis in a notebook and with `rich.print` (engine/result_view.py).
    """

    id: str
    suite: str
    subject: str
    status: str
    title: str
    message: str = ""
    hint: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0
    diagnosis: Finding | None = None
    reason: Reason | None = None

    @property
    def ok(self) -> bool:
        return self.status in (PASS, WARN, SKIP)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "suite": self.suite, "subject": self.subject, "status": self.status,
                "title": self.title, "message": self.message, "hint": self.hint,
                "diagnosis": self.diagnosis.to_dict() if self.diagnosis else None,
                "reason": self.reason.to_dict() if self.reason else None,
                "details": to_jsonable(self.details),
                "duration_s": round(float(self.duration_s), 4)}

    def __rich_console__(self, console, options):
        from sanitykit.engine.result_view import check_result_renderables

        yield from check_result_renderables(self, console, options)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CheckResult":
        """Rebuild from `to_dict()` output (grading reads a child's JSON back)."""
        plain = {k: data[k] for k in ("id", "suite", "subject", "status", "title", "message",
                                       "hint", "details", "duration_s") if k in data}
        return cls(**plain, diagnosis=Finding.from_dict(data.get("diagnosis")),
                   reason=Reason.from_dict(data.get("reason")))


def to_jsonable(value: Any) -> Any:
    """Turn numpy scalars/arrays, tuples and other odd values into plain JSON values."""
    import math

    import numpy as np

    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist()) if value.size <= 64 else f"<array shape={value.shape}>"
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN/inf
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
