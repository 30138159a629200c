"""The five statuses of a verdict, and their order of severity."""
from __future__ import annotations

PASS, WARN, FAIL, ERROR, SKIP = "pass", "warn", "fail", "error", "skip"
STATUSES = (PASS, WARN, FAIL, ERROR, SKIP)
# Worst first: a report or a group takes the status of its worst member.
SEVERITY = {ERROR: 4, FAIL: 3, WARN: 2, SKIP: 1, PASS: 0}
