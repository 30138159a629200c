"""Every verdict of a real report carries its meaning as data (issue 13's contract)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from sanitykit.engine.findings import REASON_KINDS
from sanitykit.engine.patterns import PATTERNS
from sanitykit.front.cli import DEMO_ROOT
from sanitykit.front.runner import check

ASSETS = Path(__file__).parent / "assets"
TREES = [DEMO_ROOT, ASSETS / "buggy", ASSETS / "students" / "y2017", ASSETS / "eras" / "y2017_bugs",
         ASSETS / "eras" / "y2016"]


@pytest.mark.parametrize("tree", TREES, ids=lambda p: p.name)
def test_every_failure_is_named_and_every_skip_and_error_has_a_reason(tree):
    data = json.loads(json.dumps(check(tree, suites=["layers", "losses", "optim", "models"]).to_dict()))
    for c in data["checks"]:
        assert {"diagnosis", "reason"} <= set(c), c["id"]
        if c["status"] == "fail" and c["id"].endswith("gradcheck") and not c["reason"]:
            assert c["diagnosis"] and c["diagnosis"]["pattern"] in PATTERNS, c["id"]
        if c["status"] in ("fail", "warn") and c["diagnosis"]:
            assert c["diagnosis"]["pattern"] in PATTERNS and c["diagnosis"]["what"], c["id"]
        if c["status"] in ("skip", "error"):
            assert c["reason"] and c["reason"]["kind"] in REASON_KINDS, c["id"]
        if c["status"] == "fail":
            assert c["diagnosis"] or (c["reason"] and c["reason"]["kind"] == "blamed"), c["id"]


def test_only_an_unnamed_finding_says_that_no_pattern_describes_it():
    from dataclasses import replace

    from sanitykit.engine import wording
    from sanitykit.engine.findings import Finding

    unnamed = Finding("unknown", "9 of 20 probed elements of dW2 are wrong (45%)", evidence=("dW2[1, 1]: ...",))
    assert wording.finding_message(unnamed).splitlines()[-1] == wording.UNNAMED
    # A check that names the mistake later (a known mistake reproduces the output) keeps the
    # measured lines and loses the "unnamed" one: the message never contradicts the pattern.
    named = replace(unnamed, pattern="mask")
    assert wording.UNNAMED not in wording.finding_message(named)
    assert wording.finding_message(named).splitlines() == [unnamed.what, *unnamed.evidence]
