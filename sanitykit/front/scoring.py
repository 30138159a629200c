"""What a check's result is worth in a grade: credit, zero, or not applicable.

One rule for every grader (`check --format gradescope`, `sanitykit grade`):
- pass and warn earn the points; fail and error earn nothing;
- a failure that names its cause in another check (details["responsible"]: a training run
  that fails because of adam) -> credit: the bug is graded once, under that check;
- a skip depends on why it was skipped:
  - "fails only because of <another check>" (blame where it belongs): the composite is
    right and the bug is graded once, under the other check -> credit;
  - a stub ("not implemented yet") -> zero: unfinished work is not a free pass;
  - skipped because an earlier check did not pass -> what that check is worth (zero when
    it failed; credit or not applicable when it was itself skipped that way);
  - the function is absent from the submission -> not applicable with the default rubric
    (course years differ: no TwoLayerNet in 2023, no leaky_relu in any year, the course's
    fast layers stood in for), zero when the instructor's rubric names the check;
  - any other reason (the model has no batchnorm option, the Solver has no lr_decay)
    -> not applicable.
Not applicable checks count neither in the score nor in the maximum.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from sanitykit.engine.results import ERROR, FAIL, PASS, SKIP, WARN

CREDIT, ZERO, NOT_APPLICABLE = "credit", "zero", "not_applicable"
BLAMED_PREFIX = "fails only because"


def credit_kinds(checks: Iterable[Mapping[str, Any]], *, absent_counts: bool = False) -> dict[str, str]:
    """The credit kind of every check of a report, by id.

    Args:
        checks: the report's check dicts (id, status, message, details), in run order.
        absent_counts: a check whose function is absent earns zero (an instructor's rubric)
            instead of being not applicable (the default).
    """
    by_id = {c["id"]: c for c in checks}
    kinds: dict[str, str] = {}

    def kind_of(check_id: str, seen: frozenset[str] = frozenset()) -> str:
        if check_id in kinds:
            return kinds[check_id]
        check = by_id.get(check_id)
        if check is None or check_id in seen:
            return ZERO
        kinds[check_id] = kind = _kind(check, absent_counts, lambda dep: kind_of(dep, seen | {check_id}))
        return kind

    for check_id in by_id:
        kind_of(check_id)
    return kinds


def _kind(check: Mapping[str, Any], absent_counts: bool, kind_of) -> str:
    status = check.get("status", ERROR)
    details = check.get("details") or {}
    if status in (PASS, WARN):
        return CREDIT
    if status == FAIL and details.get("responsible"):
        return CREDIT  # a training run shown failing because of another check's bug: graded there
    if status in (FAIL, ERROR) or status != SKIP:
        return ZERO
    if details.get("responsible") or str(check.get("message", "")).startswith(BLAMED_PREFIX):
        return CREDIT
    if details.get("not_implemented"):
        return ZERO
    if details.get("depends_on"):
        # Skipped because of an earlier check: worth what that one is worth (a blamed,
        # credited composite passes its credit on; a failed one passes on its zero).
        return kind_of(details["depends_on"])
    if details.get("missing"):
        return ZERO if absent_counts else NOT_APPLICABLE
    return NOT_APPLICABLE
