"""The GradingPlan: what is the same for every submission of a run, and the fingerprint it gives each."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from sanitykit._version import __version__
from sanitykit.front.grading.limits import Limits
from sanitykit.front.grading.rubric import GradedCheck, Rubric


@dataclass(frozen=True)
class GradingPlan:
    """Everything that is the same for every submission of a run.

    Args:
        rubric: the rubric (its text is part of the fingerprint).
        graded: the checks it grades, with points.
        limits: the resolved limits.
        catalogue_ids: every check id of the catalogue, to tell a part of a suite from all of it
            (default none; not part of equality).
        starter: the course's starter folder laid under every submission ("" for none).
        starter_digest: its content digest (part of the fingerprint: a new starter regrades).
    """

    rubric: Rubric
    graded: tuple[GradedCheck, ...]
    limits: Limits
    catalogue_ids: tuple[str, ...] = field(default=(), compare=False)
    starter: str = ""
    starter_digest: str = ""

    @property
    def suites(self) -> tuple[str, ...]:
        """The suites the graded checks belong to, in rubric order."""
        return tuple(dict.fromkeys(c.suite for c in self.graded))

    @property
    def only(self) -> list[str] | None:
        """Check ids to run when the rubric grades part of its suites; None to run them whole."""
        graded = {c.id for c in self.graded}
        in_suites = {i for i in self.catalogue_ids if i.split(".")[0] in self.suites}
        return None if not in_suites or in_suites <= graded else sorted(graded)

    def fingerprint(self, digest: str) -> str:
        """What decides a submission's scores: its files, the rubric, the limits, the version, the starter."""
        data = {"files": digest, "rubric": self.rubric.fingerprint_data(),
                "graded": [[c.id, c.points, c.visibility] for c in self.graded],
                "limits": self.limits.fingerprint_data(), "sanitykit": __version__}
        if self.starter_digest:  # absent without --starter, so earlier runs' fingerprints still hold
            data["starter"] = self.starter_digest
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
