"""Rubrics: which checks count, how many points each is worth, and what a student may see of it.

A rubric is a TOML file of rules, read top to bottom; the first rule with points whose
glob matches a check id decides its points (and its visibility and feedback). A check no
such rule matches is not graded (and not run). A rule without points only sets the
visibility and/or feedback of the checks it matches (the first such rule wins), so a
check or a whole suite can be hidden whatever rule gives its points.

    [grading]
    visibility = "visible"        # default of every rule
    feedback = "full"             # default of every rule: "full", "category" or "none"
    absent = "zero"               # a checked function the submission lacks: "zero" or "not_applicable"

    [limits]                      # optional: timeout, submission_timeout, memory, jobs, seed
    timeout = 30

    [[rule]]
    checks = "layers.affine.*"    # a glob or a list of globs on check ids
    points = 2                    # each matching check is worth 2 ...
    [[rule]]
    checks = "models.*"
    total = 25                    # ... or 25 split over the matching checks that apply,
    weights = { "*.gradcheck*" = 3, "*.interface" = 1 }   # in proportion to these (else 1)
    visibility = "after_published"
    [[rule]]
    checks = "layers.batchnorm.*" # no points: these are graded by the rules above, but hidden
    visibility = "hidden"         # from students; they learn the kind of mistake only
    feedback = "category"

visibility is Gradescope's (when a student sees the test). feedback is what a student may
read about a check: "full" (the diagnosis), "category" (the kind of mistake and the
function, never the inputs), "none" (passed or failed). A hidden check's details never
reach the student; its kind of mistake does, in the summary, unless feedback = "none".
Shares of a total are in hundredths of a point and sum exactly to the total (largest
remainder), so the tests of results.json add up to the rubric's points.
"""
from __future__ import annotations

import dataclasses
import fnmatch
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from sanitykit.engine.results import PASS, WARN
from sanitykit.front.scoring import CREDIT, NOT_APPLICABLE, ZERO, credit_kinds

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10 (Gradescope's default image): the same parser, from PyPI
    import tomli as tomllib

# Gradescope's test visibilities (https://gradescope-autograders.readthedocs.io).
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
# What a student may read about a check (module docstring).
FEEDBACKS = ("full", "category", "none")
# Shares of a `total` are whole hundredths of a point (class.csv shows 2 decimals).
POINT_DECIMALS = 2
# A warning is suspicious, not wrong (DESIGN.md): it earns the points.
CREDITED = (PASS, WARN)

# What a check of a function absent from the submission earns (sanitykit.front.scoring).
ABSENT_CHOICES = ("zero", "not_applicable")

# Points per family of the default rubric: the layers and models are most of the assignment.
# 100 for each assignment's own families: 2's above, 1's linear + knn + the two-layer net's
# models share, 3's rnn + captioning (listed before "models": the first matching rule wins).
DEFAULT_WEIGHTS = (("layers", 40), ("losses", 10), ("optim", 15), ("models.captioning_rnn", 40), ("models", 25),
                   ("training", 10), ("linear", 45), ("knn", 30), ("rnn", 60))

# Within a family of the default rubric: a gradient check is the heart of a backward pass, an
# interface check (returns, shapes, no mutation) the least of it.
DEFAULT_CHECK_WEIGHTS = '{ "*.gradcheck*" = 3, "*.interface" = 1, "*" = 2 }'

_RULE_KEYS = {"checks", "points", "total", "weights", "visibility", "feedback"}
_TOP_KEYS = {"grading", "limits", "rule"}


class RubricError(ValueError):
    """The rubric cannot be used; str() says which file, which rule and what is wrong."""


@dataclass(frozen=True)
class Rule:
    """One `[[rule]]`: globs on check ids and what a matching check is worth.

    Args:
        patterns: globs on check ids ("layers.affine.*").
        points: points of each matching check, or None when `total` is given.
        total: points split over the matching checks, or None.
        visibility: one of VISIBILITIES, or None when the rule does not say (the default).
        where: "rule 3 in rubric.toml", for messages.
        feedback: one of FEEDBACKS, or None when the rule does not say.
        weights: (glob, weight) of a `total` rule, first match wins; other checks weigh 1.
    """

    patterns: tuple[str, ...]
    points: float | None = None
    total: float | None = None
    visibility: str | None = None
    where: str = ""
    feedback: str | None = None
    weights: tuple[tuple[str, float], ...] = ()

    def matches(self, check_id: str) -> bool:
        return any(fnmatch.fnmatchcase(check_id, p) for p in self.patterns)

    @property
    def scores(self) -> bool:
        """True for a rule that gives points; False for one that only sets visibility or feedback."""
        return self.points is not None or self.total is not None

    def weight(self, check_id: str) -> float:
        return next((w for glob, w in self.weights if fnmatch.fnmatchcase(check_id, glob)), 1.0)


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
    feedback: str = "full"
    weight: float = 1.0  # its part of a shared total, relative to the others of its rule


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
    visibility: str = "visible"  # [grading] visibility: of a check no rule says anything of
    feedback: str = "full"  # [grading] feedback

    def fingerprint_data(self) -> str:
        """A canonical text of everything that changes scores or what students read, for reruns."""
        rules = [[list(r.patterns), r.points, r.total, r.visibility, r.feedback, list(map(list, r.weights))]
                 for r in self.rules]
        return json.dumps({"rules": rules, "limits": self.limits, "absent_counts": self.absent_counts,
                           "visibility": self.visibility, "feedback": self.feedback}, sort_keys=True)

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
            rule = next((r for r in self.rules if r.scores and r.matches(spec.id)), None)
            if rule is not None:
                chosen[rule.where].append(spec)
        graded = []
        for rule in self.rules:
            if self.strict and not any(rule.matches(s.id) for s in specs):
                raise RubricError(f"{rule.where}: {' '.join(rule.patterns)} matches no check "
                                  "(see `sanitykit list` for the ids)")
            matched = chosen[rule.where]
            weights = [rule.weight(s.id) for s in matched]
            for spec, weight in zip(matched, weights):
                each = rule.points if rule.points is not None else (rule.total or 0.0) * weight / (sum(weights) or 1)
                shared = rule.where if rule.points is None else ""
                graded.append(GradedCheck(spec.id, spec.suite, spec.title, round(each, 6),
                                          self._view(spec.id, rule, "visibility"), shared,
                                          rule.total if shared else None, self._view(spec.id, rule, "feedback"),
                                          weight))
        order = {s.id: i for i, s in enumerate(specs)}
        return sorted(graded, key=lambda c: order[c.id])

    def _view(self, check_id: str, scoring: Rule, key: str) -> str:
        """A check's visibility or feedback: a view rule's, else its scoring rule's, else [grading]'s."""
        for rule in self.rules:
            if not rule.scores and getattr(rule, key) is not None and rule.matches(check_id):
                return getattr(rule, key)
        return getattr(scoring, key) or getattr(self, key)


# ---------------------------------------------------------------- reading

def _number(value: Any, key: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise RubricError(f"{where}: {key} must be a number of points, 0 or more, got {value!r}")
    return float(value)


def _choice(value: Any, key: str, choices: tuple[str, ...], where: str) -> Any:
    if value is not None and value not in choices:
        raise RubricError(f"{where}: {key} {value!r} is not one of {', '.join(choices)}")
    return value


def _parse_weights(value: Any, where: str) -> tuple[tuple[str, float], ...]:
    if not isinstance(value, dict):
        raise RubricError(f'{where}: weights must be a table of globs, e.g. weights = {{ "*.gradcheck" = 3 }}')
    return tuple((glob, _number(w, f"the weight of {glob!r}", where)) for glob, w in value.items())


def _parse_rule(table: Any, where: str) -> Rule:
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
    if "points" in table and "total" in table:
        raise RubricError(f"{where}: give either points (each check) or total (split over the checks)")
    if not {"points", "total", "visibility", "feedback"} & set(table):
        raise RubricError(f"{where}: give points (each check), total (split over the checks), "
                          "or only visibility / feedback")
    if "weights" in table and "total" not in table:
        raise RubricError(f"{where}: weights split a total; give total = N")
    points = _number(table["points"], "points", where) if "points" in table else None
    total = _number(table["total"], "total", where) if "total" in table else None
    weights = _parse_weights(table["weights"], where) if "weights" in table else ()
    visibility = _choice(table.get("visibility"), "visibility", VISIBILITIES, where)
    feedback = _choice(table.get("feedback"), "feedback", FEEDBACKS, where)
    return Rule(tuple(patterns), points, total, visibility, where, feedback, weights)


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
    if not isinstance(grading, dict):
        raise RubricError(f"{source}: [grading] must be a table")
    default_visibility = _choice(grading.get("visibility", "visible"), "[grading] visibility", VISIBILITIES, source)
    default_feedback = _choice(grading.get("feedback", "full"), "[grading] feedback", FEEDBACKS, source)
    absent = grading.get("absent", "zero")
    if absent not in ABSENT_CHOICES:
        raise RubricError(f"{source}: [grading] absent {absent!r} is not one of {', '.join(ABSENT_CHOICES)}")
    tables = data.get("rule", [])
    if not isinstance(tables, list) or not tables:
        raise RubricError(f"{source}: no [[rule]] tables; each rule gives checks and points")
    rules = tuple(_parse_rule(t, f"rule {i} in {source}") for i, t in enumerate(tables, 1))
    limits = data.get("limits", {})
    if not isinstance(limits, dict):
        raise RubricError(f"{source}: [limits] must be a table")
    return Rubric(rules, source, limits, strict=True, absent_counts=absent == "zero",
                  visibility=default_visibility, feedback=default_feedback)


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
    lines = ["# sanitykit default rubric: every check, weighted by family (100 points per assignment).",
             "# Copy it, edit it, pass it with --rubric. The first matching rule wins;",
             "# a check no rule matches is not graded.",
             "", "[grading]", 'visibility = "visible"   # or hidden, after_due_date, after_published',
             'feedback = "full"         # or category (the kind of mistake, never the inputs), none',
             "# A function the submission lacks (no TwoLayerNet in 2023): its checks do not count.",
             '# "zero" makes them earn 0, for a rubric naming what your assignment has.',
             'absent = "not_applicable"',
             "", "[limits]",
             "# timeout = 30              # seconds per check",
             "# submission_timeout = 600  # seconds per submission",
             "# memory = 768              # MB per submission"]
    for suite, total in DEFAULT_WEIGHTS:
        lines += ["", "[[rule]]", f'checks = "{suite}.*"', f"total = {total}",
                  f"weights = {DEFAULT_CHECK_WEIGHTS}"]
    return "\n".join(lines) + "\n"


def default_rubric() -> Rubric:
    """Every check, weighted by family; a family with no checks yet is ignored."""
    rubric = parse_rubric(default_rubric_text(), "the default rubric")
    return dataclasses.replace(rubric, strict=False)


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
    """Split each `total = N` rule over its checks that apply to this submission, by weight.

    "layers: 40 points" stays 40 for a tree of a course year without leaky_relu: the
    checks that do not apply give their share to the others.
    """
    rules: dict[str, list[int]] = {}
    for i, s in enumerate(scores):
        if s.check.shared and s.credit != NOT_APPLICABLE:
            rules.setdefault(s.check.shared, []).append(i)
    shares: dict[int, float] = {}
    for members in rules.values():
        total = scores[members[0]].check.total or 0.0
        shares.update(zip(members, split_points(total, [scores[i].check.weight for i in members])))
    return [dataclasses.replace(s, share=shares[i]) if i in shares else s for i, s in enumerate(scores)]


def split_points(total: float, weights: Sequence[float], decimals: int = POINT_DECIMALS) -> list[float]:
    """`total` split in proportion to `weights`, in steps of 10**-decimals, summing exactly to `total`.

    Largest remainder: each part is rounded down, and the hundredths left over go to the
    parts that lost the most (the earlier on a tie), so 40 over 21 checks is 1.91 for 10
    of them and 1.90 for 11, never 21 x 1.904762 shown as 40.00 but summed as 39.90.

    Args:
        total: the points to split.
        weights: one relative weight per part (all 0: equal parts).
        decimals: the step (default 2: hundredths of a point).
    """
    unit = 10 ** decimals
    steps = round(total * unit)
    weights = list(weights) if sum(weights) > 0 else [1.0] * len(weights)
    exact = [steps * w / sum(weights) for w in weights]
    parts = [math.floor(e + 1e-9) for e in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in by_remainder[:steps - sum(parts)]:
        parts[i] += 1
    return [p / unit for p in parts]
