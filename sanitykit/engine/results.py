"""Result objects shared by every layer above the engine: data only, no rendering."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

PASS, WARN, FAIL, ERROR, SKIP = "pass", "warn", "fail", "error", "skip"
STATUSES = (PASS, WARN, FAIL, ERROR, SKIP)
# Worst first: a report or a group takes the status of its worst member.
SEVERITY = {ERROR: 4, FAIL: 3, WARN: 2, SKIP: 1, PASS: 0}


@dataclass(frozen=True)
class Outcome:
    """What a check function returns: the verdict and its diagnosis, without metadata.

    Args:
        status: one of pass / warn / fail / error / skip.
        message: what is wrong, where and by how much (may span lines).
        hint: the likely mistake and what to change, spoken to the student.
        details: numbers behind the verdict (JSON-serialisable).
    """

    status: str
    message: str = ""
    hint: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}; expected one of {STATUSES}")


def passed(message: str = "", **details: Any) -> Outcome:
    return Outcome(PASS, message, "", details)


def warned(message: str, hint: str = "", **details: Any) -> Outcome:
    return Outcome(WARN, message, hint, details)


def failed(message: str, hint: str = "", **details: Any) -> Outcome:
    return Outcome(FAIL, message, hint, details)


def errored(message: str, hint: str = "", **details: Any) -> Outcome:
    return Outcome(ERROR, message, hint, details)


def skipped(message: str, **details: Any) -> Outcome:
    return Outcome(SKIP, message, "", details)


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict, with the metadata a report needs (fields fixed by DESIGN.md)."""

    id: str
    suite: str
    subject: str
    status: str
    title: str
    message: str = ""
    hint: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status in (PASS, WARN, SKIP)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["details"] = to_jsonable(self.details)
        d["duration_s"] = round(float(self.duration_s), 4)
        return d


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
