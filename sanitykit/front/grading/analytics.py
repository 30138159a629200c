"""Class analytics: <out>/summary.json and <out>/summary.html, what 200 reports say at once.

Read from the reports' data, never from their words: per check, how many submissions
passed, failed, errored or skipped it; per function, the diagnosed mistakes
(`diagnosis.pattern`, in the words of sanitykit.engine.patterns.PATTERNS) and the share
of the class that made each ("a matrix product with its factors in the wrong order ...
in affine_backward: 38%"); the score histogram; the slowest submissions and those that
could not be graded to the end (`grading.reasons`).

    summary.json = {"submissions", "graded", "score": {"mean", "median", "min", "max",
                    "max_score", "histogram": [{"low", "high", "count"}]},
                    "checks": [{"id", "subject", "pass", "warn", "fail", "error", "skip", "pass_rate"}],
                    "patterns": [{"subject", "pattern", "meaning", "submissions", "percent", "checks"}],
                    "slowest": [{"submission", "duration_s"}],
                    "not_graded": [{"submission", "reasons"}]}
"""
from __future__ import annotations

import html
import json
import statistics
from pathlib import Path
from typing import Any, Sequence

from sanitykit.engine.patterns import PATTERNS
from sanitykit.engine.results import STATUSES
from sanitykit.front.grading.outputs import histogram, write_atomic
from sanitykit.front.grading.result import GRADED, SubmissionResult

SLOWEST = 10
PATTERN_LINE = "{meaning} in {subject}: {percent:.0f}%"


def read_reports(out: Path, results: Sequence[SubmissionResult]) -> dict[str, dict[str, Any]]:
    """Each submission's report.json from <out> (reused submissions' too); unreadable ones left out."""
    reports = {}
    for r in results:
        try:
            reports[r.name] = json.loads((out / r.name / "report.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
    return reports


def check_rates(reports: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per check: status counts over the class, and the pass rate among the submissions it ran on."""
    rows: dict[str, dict[str, Any]] = {}
    for report in reports.values():
        for check in report.get("checks", []):
            row = rows.setdefault(check["id"], {"id": check["id"], "subject": check.get("subject", ""),
                                                **{s: 0 for s in STATUSES}})
            row["subject"] = row["subject"] or check.get("subject", "")
            if check.get("status") in STATUSES:
                row[check["status"]] += 1
    for row in rows.values():
        ran = sum(row[s] for s in STATUSES if s != "skip")
        row["pass_rate"] = round((row["pass"] + row["warn"]) / ran, 3) if ran else None
    return list(rows.values())


def pattern_counts(reports: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (function, diagnosed pattern): how many submissions, and which checks found it; most common first."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for name, report in reports.items():
        for check in report.get("checks", []):
            pattern = (check.get("diagnosis") or {}).get("pattern")
            if not pattern:
                continue
            key = (check.get("subject", ""), pattern)
            entry = found.setdefault(key, {"subject": key[0], "pattern": pattern,
                                           "meaning": PATTERNS.get(pattern, pattern), "names": set(), "checks": set()})
            entry["names"].add(name)
            entry["checks"].add(check["id"])
    total = len(reports) or 1
    rows = [{"subject": e["subject"], "pattern": e["pattern"], "meaning": e["meaning"], "submissions": len(e["names"]),
             "percent": round(100 * len(e["names"]) / total, 1), "checks": sorted(e["checks"])}
            for e in found.values()]
    return sorted(rows, key=lambda r: (-r["submissions"], r["subject"], r["pattern"]))


def summarize(out: Path, results: Sequence[SubmissionResult]) -> dict[str, Any]:
    """The summary.json content for the class `results` graded into `out`."""
    reports = read_reports(out, results)
    scores = [r.score for r in results]
    durations = sorted(((name, (rep.get("grading") or {}).get("duration_s", 0.0)) for name, rep in reports.items()),
                       key=lambda item: -item[1])
    return {
        "submissions": len(results), "graded": sum(r.status == GRADED for r in results),
        "score": {"mean": round(statistics.fmean(scores), 2) if scores else None,
                  "median": statistics.median(scores) if scores else None,
                  "min": min(scores, default=None), "max": max(scores, default=None),
                  "max_score": max((r.max_score for r in results), default=0.0),
                  "histogram": [{"low": lo, "high": hi, "count": n} for lo, hi, n in histogram(results)]},
        "checks": check_rates(reports),
        "patterns": pattern_counts(reports),
        "slowest": [{"submission": n, "duration_s": d} for n, d in durations[:SLOWEST]],
        "not_graded": [{"submission": r.name, "reasons": list(r.reasons)} for r in results if r.status != GRADED],
    }


def pattern_lines(summary: dict[str, Any], limit: int = 10) -> list[str]:
    """"a matrix product ... in affine_backward: 38%" for the most common diagnosed mistakes."""
    return [PATTERN_LINE.format(**row) for row in summary["patterns"][:limit]]


def render_html(summary: dict[str, Any]) -> str:
    """summary.html: the same numbers as summary.json, as a page a course's staff can open."""
    e = html.escape
    top = max((b["count"] for b in summary["score"]["histogram"]), default=0) or 1
    bars = "".join(f"<tr><td>{b['low']:g}-{b['high']:g} %</td><td><span class=bar style='width:{200 * b['count'] / top:.0f}px'>"
                   f"</span> {b['count']}</td></tr>" for b in summary["score"]["histogram"])
    patterns = "".join(f"<tr><td>{e(p['subject'])}</td><td>{e(p['meaning'])}</td><td>{p['submissions']}</td>"
                       f"<td>{p['percent']:g} %</td><td>{e(', '.join(p['checks']))}</td></tr>" for p in summary["patterns"])
    checks = "".join(f"<tr><td>{e(c['id'])}</td><td>{e(c['subject'])}</td>"
                     + "".join(f"<td>{c[s]}</td>" for s in STATUSES)
                     + f"<td>{'' if c['pass_rate'] is None else format(100 * c['pass_rate'], '.0f') + ' %'}</td></tr>"
                     for c in sorted(summary["checks"], key=lambda c: (c["pass_rate"] is None, c["pass_rate"] or 0)))
    slowest = "".join(f"<tr><td>{e(s['submission'])}</td><td>{s['duration_s']:g} s</td></tr>" for s in summary["slowest"])
    failed = "".join(f"<tr><td>{e(f['submission'])}</td><td>{e('; '.join(f['reasons']))}</td></tr>"
                     for f in summary["not_graded"]) or "<tr><td colspan=2>none</td></tr>"
    s = summary["score"]
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>sanitykit: class summary</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse;margin-bottom:2em}}
td,th{{border:1px solid #ccc;padding:2px 8px;text-align:left}} .bar{{display:inline-block;height:10px;background:#4a7}}</style>
</head><body>
<h1>Class summary</h1>
<p>{summary['submissions']} submissions, {summary['graded']} graded to the end; score mean {s['mean']}, median {s['median']},
min {s['min']}, max {s['max']} of {s['max_score']:g}.</p>
<h2>Scores</h2><table>{bars}</table>
<h2>Most common mistakes, by function</h2>
<table><tr><th>function</th><th>mistake</th><th>submissions</th><th>share</th><th>found by</th></tr>{patterns}</table>
<h2>Checks, least passed first</h2>
<table><tr><th>check</th><th>function</th>{''.join(f'<th>{st}</th>' for st in STATUSES)}<th>pass rate</th></tr>{checks}</table>
<h2>Slowest submissions</h2><table>{slowest}</table>
<h2>Not graded to the end</h2><table>{failed}</table>
</body></html>
"""


def write_summary(out: Path, results: Sequence[SubmissionResult]) -> dict[str, Any]:
    """Write <out>/summary.json and <out>/summary.html; the summary."""
    summary = summarize(out, results)
    write_atomic(out / "summary.json", json.dumps(summary, indent=2))
    write_atomic(out / "summary.html", render_html(summary))
    return summary
