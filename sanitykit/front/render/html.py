"""The report as HTML: one self-contained file (`check --format html`) and the notebook's view.

`render_html(report)` is a whole document (inline stylesheet, no script, no external file);
`render_html_fragment(report)` is its body, which `Report._repr_mimebundle_` shows in Jupyter,
so a file and a notebook cell show the same thing. Each suite is a `<details>` (open when
something in it failed or errored), each check an element whose `id` is `check-<check id>`;
a diagnosed check shows its finding's fields (what, where, likely, fix) apart. Reads
`report.to_dict()` only; never decides a verdict.
"""
from __future__ import annotations

from html import escape
from typing import Any

from sanitykit.engine.theme import GLYPHS, WORDS
from sanitykit.front.render.text import counted, loading_lines, rerun_command, summary_line

SUITE_OPEN = ("fail", "error")
STATUS_COLOURS = {"pass": "#1a7f37", "warn": "#9a6700", "fail": "#cf222e", "error": "#8250df",
                  "skip": "#6e7781"}
SUMMARY_WORDS = (("pass", "passed"), ("warn", "warned"), ("fail", "failed"), ("error", "errors"),
                 ("skip", "skipped"))
# Every selector under .sanitykit-report: in a notebook the stylesheet applies to the whole page.
STYLESHEET = """
.sanitykit-report { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; font-size: 14px;
  line-height: 1.4; max-width: 70em; }
.sanitykit-report h1 { font-size: 1.2em; margin: 0 0 .3em 0; }
.sanitykit-report .summary { margin: .2em 0 .8em 0; }
.sanitykit-report dl.loading { display: grid; grid-template-columns: max-content auto; gap: 0 1em; margin: 0 0 .8em 0; }
.sanitykit-report dl.loading dt { font-weight: bold; }
.sanitykit-report dl.loading dd { margin: 0; }
.sanitykit-report details.suite { border-top: 1px solid #d0d7de; padding: .3em 0; }
.sanitykit-report details.suite > summary { cursor: pointer; font-weight: bold; }
.sanitykit-report .tally { font-weight: normal; color: #6e7781; margin-left: .6em; }
.sanitykit-report .check { margin: .25em 0 .25em 1.2em; }
.sanitykit-report .check > .line { white-space: normal; }
.sanitykit-report .status { font-weight: bold; display: inline-block; min-width: 4.5em; }
.sanitykit-report code { font-family: Menlo, 'DejaVu Sans Mono', consolas, monospace; font-size: .95em; }
.sanitykit-report .subject { color: #0550ae; }
.sanitykit-report .duration, .sanitykit-report .reason { color: #6e7781; }
.sanitykit-report .body { margin: .2em 0 .5em 5.7em; }
.sanitykit-report pre { white-space: pre-wrap; margin: .2em 0; font-family: Menlo, 'DejaVu Sans Mono', consolas, monospace; }
.sanitykit-report dl.finding { display: grid; grid-template-columns: max-content auto; gap: .1em 1em; margin: .2em 0; }
.sanitykit-report dl.finding dt { color: #6e7781; }
.sanitykit-report dl.finding dd { margin: 0; }
.sanitykit-report .rerun { color: #6e7781; }
"""
STYLESHEET += "".join(f".sanitykit-report .{status} .status {{ color: {colour}; }}\n"
                      for status, colour in STATUS_COLOURS.items())


def render_html(report) -> str:
    """The report as one self-contained HTML document (UTF-8, inline stylesheet, no script).

    Args:
        report: a sanitykit.front.report.Report.
    """
    data = report.to_dict()
    title = escape(f"sanitykit report: {data['target']}")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title}</title>\n"
            "</head>\n<body>\n" + render_html_fragment(report) + "</body>\n</html>\n")


def render_html_fragment(report) -> str:
    """The report's body: stylesheet, header, loading, one collapsible section per suite, summary."""
    data = report.to_dict()
    parts = [f"<div class=\"sanitykit-report\">\n<style>{STYLESHEET}</style>\n", header(data)]
    suites: dict[str, list[dict[str, Any]]] = {}
    for result in data["checks"]:
        suites.setdefault(result["suite"], []).append(result)
    if not suites:
        parts.append("<p class=\"reason\">no checks ran</p>\n")
    for suite, results in suites.items():
        parts.append(suite_section(suite, results, data["target"], data["seed"]))
    parts.append(f"<p class=\"summary\">{escape(summary_line(data['summary']))}</p>\n</div>\n")
    return "".join(parts)


def header(data: dict[str, Any]) -> str:
    head = (f"<h1>sanitykit {escape(data['sanitykit_version'])} · <code>{escape(str(data['target']))}</code>"
            f" · seed {escape(str(data['seed']))}</h1>\n")
    head += f"<p class=\"summary\">{escape(summary_line(data['summary']))}</p>\n"
    rows = loading_lines(data.get("loading") or {})
    if rows:
        items = "".join(f"<dt>{escape(label)}</dt><dd>{'<br>'.join(escape(line) for line in lines)}</dd>"
                        for label, lines in rows)
        head += f"<dl class=\"loading\">{items}</dl>\n"
    return head


def suite_section(suite: str, results: list[dict[str, Any]], target: str, seed: int) -> str:
    """One suite: a `<details>` open when a check in it failed or errored, one element per check."""
    counts: dict[str, int] = {}
    for result in results:
        counts[result["status"]] = counts.get(result["status"], 0) + 1
    tally = ", ".join(counted(counts[s], w) for s, w in SUMMARY_WORDS if counts.get(s))
    opened = " open" if any(r["status"] in SUITE_OPEN for r in results) else ""
    checks = "".join(check_element(r, target, seed) for r in results)
    return (f"<details class=\"suite\" id=\"suite-{escape(suite)}\"{opened}>\n<summary>{escape(suite)}"
            f"<span class=\"tally\">{escape(tally)}</span></summary>\n{checks}</details>\n")


def check_element(result: dict[str, Any], target: str, seed: int) -> str:
    """One check: its line (status, id, subject, title, duration) and, unless it passed, why."""
    status = result["status"]
    line = (f"<span class=\"status\">{GLYPHS[status]} {WORDS[status]}</span> "
            f"<code>{escape(result['id'])}</code> <span class=\"subject\">{escape(result['subject'])}</span> "
            f"<span class=\"title\">{escape(result['title'])}</span>")
    if status != "skip":
        line += f" <span class=\"duration\">{float(result['duration_s']):.2f}s</span>"
    body = check_body(result, target, seed)
    return (f"<div class=\"check {status}\" id=\"check-{escape(result['id'])}\" data-check-id=\"{escape(result['id'])}\">"
            f"<div class=\"line\">{line}</div>{body}</div>\n")


def check_body(result: dict[str, Any], target: str, seed: int) -> str:
    """Why a check did not pass: the finding's fields apart, else the message and hint; the rerun."""
    status = result["status"]
    if status == "pass":
        return ""
    if status == "skip":
        first = (result.get("message") or "skipped").splitlines()[0]
        return f"<div class=\"body reason\">{escape(first)}</div>"
    finding = result.get("diagnosis")
    inner = finding_list(finding) if finding else ""
    if not finding:
        inner += f"<pre>{escape(result.get('message') or '')}</pre>" if result.get("message") else ""
        inner += f"<pre>hint: {escape(result['hint'])}</pre>" if result.get("hint") else ""
    inner += f"<div class=\"rerun\">rerun: <code>{escape(rerun_command(target, result['id'], seed))}</code></div>"
    return f"<div class=\"body\">{inner}</div>"


def finding_list(finding: dict[str, Any]) -> str:
    """what (with its evidence), where, likely, fix and the pattern, each a row of its own."""
    what = escape(finding.get("what") or "")
    if finding.get("evidence"):
        what += "<pre>" + escape("\n".join(finding["evidence"])) + "</pre>"
    rows = [("what", what)]
    if finding.get("where"):
        rows.append(("where", ", ".join(f"<code>{escape(w)}</code>" for w in finding["where"])))
    for key in ("likely", "fix"):
        if finding.get(key):
            rows.append((key, escape(finding[key])))
    rows.append(("pattern", f"<code>{escape(finding.get('pattern') or '')}</code>"))
    return "<dl class=\"finding\">" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>"
