"""What a check's result is worth in a grade: credit, zero, or not applicable.

One rule for every grader (`check --format gradescope`, `sanitykit grade`), read from each
result's status and `reason` (the data of sanitykit.engine.findings), never from its words:
- pass and warn earn the points; fail and error earn nothing;
- a failure blamed on another check (reason `blamed`: a training run that fails because of
  adam) -> credit: the bug is graded once, under that check;
- a skip depends on its reason's kind:
  - `blamed` ("fails only because of <another check>"): the composite is right and the bug
    is graded once, under the other check -> credit;
  - `not_implemented` (a stub) -> zero: unfinished work is not a free pass;
  - `depends_on` (an earlier check did not pass) -> what that check is worth (zero when it
    failed; credit or not applicable when it was itself skipped that way);
  - `missing` (the function is absent from the submission) -> not applicable with the default
    rubric (course years differ: no TwoLayerNet in 2023, no leaky_relu in any year, the
    course's fast layers stood in for), zero when the instructor's rubric names the check;
  - `interrupted` -> zero (the check never ran);
  - any other kind (`not_applicable`: the model has no batchnorm option) -> not applicable.
Not applicable checks count neither in the score nor in the maximum.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from sanitykit.engine.results import ERROR, FAIL, PASS, SKIP, WARN

CREDIT, ZERO, NOT_APPLICABLE = "credit", "zero", "not_applicable"


def credit_kinds(checks: Iterable[Mapping[str, Any]], *, absent_counts: bool = False) -> dict[str, str]:
    """The credit kind of every check of a report, by id.

    Args:
        checks: the report's check dicts (id, status, reason), in run order.
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
    reason = check.get("reason") or {}
    kind = reason.get("kind")
    if status in (PASS, WARN):
        return CREDIT
    if status == FAIL and kind == "blamed":
        return CREDIT  # a training run shown failing because of another check's bug: graded there
    if status != SKIP:
        return ZERO
    if kind == "blamed":
        return CREDIT
    if kind in ("not_implemented", "interrupted"):
        return ZERO
    if kind == "depends_on" and reason.get("see"):
        # Skipped because of an earlier check: worth what that one is worth (a blamed,
        # credited composite passes its credit on; a failed one passes on its zero).
        return kind_of(reason["see"][0])
    if kind == "missing":
        return ZERO if absent_counts else NOT_APPLICABLE
    return NOT_APPLICABLE
