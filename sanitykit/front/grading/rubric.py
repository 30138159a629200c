"""Rubrics: which checks count, how many points each is worth, and who may see it.

A rubric is a TOML file of rules, read top to bottom; the first rule whose glob
matches a check id decides its points and visibility. A check no rule matches is
not graded (and not run).

    [grading]
    visibility = "visible"        # default of every rule
    absent = "zero"               # a checked function the submission lacks: "zero" or "not_applicable"

    [limits]                      # optional: timeout, submission_timeout, memory, jobs, seed
    timeout = 30

    [[rule]]
    checks = "layers.affine.*"    # a glob or a list of globs on check ids
    points = 2                    # each matching check is worth 2 ...
    [[rule]]
    checks = "models.*"
    total = 25                    # ... or 25 split evenly over the matching checks
    visibility = "after_published"
"""
from __future__ import annotations

import dataclasses
import fnmatch
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from sanitykit.engine.results import PASS, WARN
from sanitykit.front.scoring import CREDIT, NOT_APPLICABLE, ZERO, credit_kinds

# Gradescope's test visibilities (https://gradescope-autograders.readthedocs.io).
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
# A warning is suspicious, not wrong (DESIGN.md): it earns the points.
CREDITED = (PASS, WARN)

# What a check of a function absent from the submission earns (sanitykit.front.scoring).
ABSENT_CHOICES = ("zero", "not_applicable")

# Points per family of the default rubric: the layers and models are most of the assignment.
DEFAULT_WEIGHTS = (("layers", 40), ("losses", 10), ("optim", 15), ("models", 25), ("training", 10))

_RULE_KEYS = {"checks", "points", "total", "visibility"}
_TOP_KEYS = {"grading", "limits", "rule"}


class RubricError(ValueError):
    """The rubric cannot be used; str() says which file, which rule and what is wrong."""


@dataclass(frozen=True)
class Rule:
    """One `[[rule]]`: globs on check ids and what a matching check is worth.

    Args:
        patterns: globs on check ids ("layers.affine.*").
        points: points of each matching check, or None when `total` is given.
        total: points split evenly over the matching checks, or None.
        visibility: one of VISIBILITIES.
        where: "rule 3 in rubric.toml", for messages.
    """

    patterns: tuple[str, ...]
    points: float | None = None
    total: float | None = None
    visibility: str = "visible"
    where: str = ""

    def matches(self, check_id: str) -> bool:
        return any(fnmatch.fnmatchcase(check_id, p) for p in self.patterns)


@dataclass(frozen=True)
class GradedCheck:
    """A check as the rubric grades it."""

    id: str
    suite: str
    title: str
    points: float
    visibility: str = "visible"
    # Set for a check of a `total = N` rule: the rule (its `where`) and N. Such a total is
    # shared by the checks of the rule that apply to the submission being graded.
    shared: str = ""
    total: float | None = None


@dataclass(frozen=True)
class Rubric:
    """Rules read from a file (or the default), plus its `[limits]` table.

    Args:
        rules: in file order; the first matching rule wins.
        source: the file, or "the default rubric".
        limits: the `[limits]` table, resolved by limits.resolve_limits.
        strict: a rule that matches no check is an error (user rubrics), not ignored (default).
    """

    rules: tuple[Rule, ...]
    source: str = "the default rubric"
    limits: dict[str, Any] = field(default_factory=dict)
    strict: bool = True
    # An instructor's rubric names what the assignment has: a function the submission lacks
    # earns 0. The default rubric covers every course year, so there it does not apply.
    absent_counts: bool = True

    def fingerprint_data(self) -> str:
        """A canonical text of everything that changes scores, for the rerun fingerprint."""
        rules = [[list(r.patterns), r.points, r.total, r.visibility] for r in self.rules]
        return json.dumps({"rules": rules, "limits": self.limits, "absent_counts": self.absent_counts},
                          sort_keys=True)

    def suites(self, checks: Sequence[GradedCheck]) -> tuple[str, ...]:
        """The suites the graded checks come from, in catalogue order."""
        return tuple(dict.fromkeys(c.suite for c in checks))

    def grade(self, catalogue: Iterable[Any]) -> list[GradedCheck]:
        """The graded checks of `catalogue` (CheckSpec-like: id, suite, title), with their points.

        Args:
            catalogue: the check catalogue, in run order.
        """
        specs = list(catalogue)
        chosen: dict[str, list[Any]] = {rule.where: [] for rule in self.rules}
        for spec in specs:
            rule = next((r for r in self.rules if r.matches(spec.id)), None)
            if rule is not None:
                chosen[rule.where].append(spec)
        graded = []
        for rule in self.rules:
            matched = chosen[rule.where]
            if not matched and self.strict and not any(rule.matches(s.id) for s in specs):
                raise RubricError(f"{rule.where}: {' '.join(rule.patterns)} matches no check "
                                  "(see `sanitykit list` for the ids)")
            each = rule.points if rule.points is not None else (rule.total or 0.0) / max(1, len(matched))
            shared = rule.where if rule.points is None else ""
            graded += [GradedCheck(s.id, s.suite, s.title, round(each, 6), rule.visibility, shared,
                                   rule.total if shared else None) for s in matched]
        order = {s.id: i for i, s in enumerate(specs)}
        return sorted(graded, key=lambda c: order[c.id])


# ---------------------------------------------------------------- reading

def _number(value: Any, key: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise RubricError(f"{where}: {key} must be a number of points, 0 or more, got {value!r}")
    return float(value)


def _parse_rule(table: Any, where: str, default_visibility: str) -> Rule:
    """One `[[rule]]` table -> Rule; RubricError naming `where` when a key is wrong."""
    if not isinstance(table, dict):
        raise RubricError(f"{where}: expected a [[rule]] table")
    unknown = sorted(set(table) - _RULE_KEYS)
    if unknown:
        raise RubricError(f"{where}: unknown key(s) {', '.join(unknown)}; expected {', '.join(sorted(_RULE_KEYS))}")
    patterns = table.get("checks")
    if isinstance(patterns, str):
        patterns = [patterns]
    if not patterns or not isinstance(patterns, list) or not all(isinstance(p, str) and p for p in patterns):
        raise RubricError(f"{where}: checks must be a glob on check ids or a list of them, "
                          'e.g. checks = "layers.affine.*"')
    if ("points" in table) == ("total" in table):
        raise RubricError(f"{where}: give either points (each check) or total (split over the checks)")
    points = _number(table["points"], "points", where) if "points" in table else None
    total = _number(table["total"], "total", where) if "total" in table else None
    visibility = table.get("visibility", default_visibility)
    if visibility not in VISIBILITIES:
        raise RubricError(f"{where}: visibility {visibility!r} is not one of {', '.join(VISIBILITIES)}")
    return Rule(tuple(patterns), points, total, visibility, where)


def parse_rubric(text: str, source: str = "rubric.toml") -> Rubric:
    """Parse rubric TOML; RubricError with the file, the rule and the problem.

    Args:
        text: the TOML text.
        source: the file name used in messages.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RubricError(f"{source}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise RubricError(f"{source}: unknown table(s) {', '.join(unknown)}; expected [grading], [limits], [[rule]]")
    grading = data.get("grading", {})
    default_visibility = grading.get("visibility", "visible") if isinstance(grading, dict) else None
    if default_visibility not in VISIBILITIES:
        raise RubricError(f"{source}: [grading] visibility {default_visibility!r} is not one of "
                          f"{', '.join(VISIBILITIES)}")
    absent = grading.get("absent", "zero") if isinstance(grading, dict) else "zero"
    if absent not in ABSENT_CHOICES:
        raise RubricError(f"{source}: [grading] absent {absent!r} is not one of {', '.join(ABSENT_CHOICES)}")
    tables = data.get("rule", [])
    if not isinstance(tables, list) or not tables:
        raise RubricError(f"{source}: no [[rule]] tables; each rule gives checks and points")
    rules = tuple(_parse_rule(t, f"rule {i} in {source}", default_visibility) for i, t in enumerate(tables, 1))
    limits = data.get("limits", {})
    if not isinstance(limits, dict):
        raise RubricError(f"{source}: [limits] must be a table")
    return Rubric(rules, source, limits, strict=True, absent_counts=absent == "zero")


def load_rubric(path: str | Path | None) -> Rubric:
    """The rubric in `path`, or the default rubric when None.

    Args:
        path: a TOML file, or None.
    """
    if path is None:
        return default_rubric()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RubricError(f"{path}: cannot read the rubric ({exc.__class__.__name__}: {exc})") from None
    return parse_rubric(text, str(path))


# ---------------------------------------------------------------- the default

def default_rubric_text() -> str:
    """The default rubric as TOML (what `sanitykit grade --print-rubric` prints)."""
    lines = ["# sanitykit default rubric: every check, weighted by family (100 points).",
             "# Copy it, edit it, pass it with --rubric. The first matching rule wins;",
             "# a check no rule matches is not graded.",
             "", "[grading]", 'visibility = "visible"   # or hidden, after_due_date, after_published',
             "# A function the submission lacks (no TwoLayerNet in 2023): its checks do not count.",
             '# "zero" makes them earn 0, for a rubric naming what your assignment has.',
             'absent = "not_applicable"',
             "", "[limits]",
             "# timeout = 30              # seconds per check",
             "# submission_timeout = 600  # seconds per submission",
             "# memory = 768              # MB per submission"]
    for suite, total in DEFAULT_WEIGHTS:
        lines += ["", "[[rule]]", f'checks = "{suite}.*"', f"total = {total}"]
    return "\n".join(lines) + "\n"


def default_rubric() -> Rubric:
    """Every check, weighted by family; a family with no checks yet is ignored."""
    rubric = parse_rubric(default_rubric_text(), "the default rubric")
    return Rubric(rubric.rules, rubric.source, rubric.limits, strict=False, absent_counts=rubric.absent_counts)


# ---------------------------------------------------------------- scoring

@dataclass(frozen=True)
class CheckScore:
    """One graded check of one submission."""

    check: GradedCheck
    status: str
    message: str = ""
    kind: str = ""  # credit / zero / not_applicable (sanitykit.front.scoring); "" = from the status
    share: float | None = None  # this check's part of its rule's total, when it shares one
    reason_kind: str = ""  # the result's reason (not_run: the process ended before the check)

    @property
    def credit(self) -> str:
        return self.kind or (CREDIT if self.status in CREDITED else ZERO)

    @property
    def points(self) -> float:
        """What the check is worth for this submission (0 when it does not apply)."""
        if self.credit == NOT_APPLICABLE:
            return 0.0
        return self.check.points if self.share is None else self.share

    @property
    def score(self) -> float:
        return self.points if self.credit == CREDIT else 0.0

    @property
    def max_points(self) -> float:
        return self.points


def score_checks(graded: Sequence[GradedCheck], results: dict[str, dict[str, Any]],
                 missing_reason: str, *, absent_counts: bool = True) -> list[CheckScore]:
    """Score every graded check from a report's check dicts; a missing one is `error`.

    Args:
        graded: from Rubric.grade.
        results: check id -> the check's dict in report.json.
        missing_reason: the message of a graded check the child never reported.
    """
    kinds = credit_kinds(({"id": cid, **r} for cid, r in results.items()), absent_counts=absent_counts)
    scores = []
    for check in graded:
        result = results.get(check.id)
        if result is None:
            scores.append(CheckScore(check, "error", missing_reason, reason_kind="not_run"))
        else:
            # A stored result of an earlier run may carry its kind (grading.json).
            kind = result.get("kind") or kinds.get(check.id, "")
            reason_kind = result.get("reason_kind") or (result.get("reason") or {}).get("kind", "")
            scores.append(CheckScore(check, result.get("status", "error"), result.get("message", ""), kind,
                                     reason_kind=reason_kind))
    return _share_totals(scores)


def _share_totals(scores: list[CheckScore]) -> list[CheckScore]:
    """Split each `total = N` rule over its checks that apply to this submission.

    "layers: 40 points" stays 40 for a tree of a course year without leaky_relu: the
    checks that do not apply give their share to the others.
    """
    applicable: dict[str, int] = {}
    for s in scores:
        if s.check.shared and s.credit != NOT_APPLICABLE:
            applicable[s.check.shared] = applicable.get(s.check.shared, 0) + 1
    return [dataclasses.replace(s, share=round((s.check.total or 0.0) / applicable[s.check.shared], 6))
            if s.check.shared and s.check.shared in applicable else s for s in scores]
