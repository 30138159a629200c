"""`--format junit`: JUnit XML, one <testsuite> per sanitykit suite, one <testcase> per check.

The layout CI servers (GitHub, GitLab, Jenkins) read: fail -> <failure>, error -> <error>,
skip -> <skipped>, warn -> a passing case whose <system-out> holds the warning.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from sanitykit.engine.results import ERROR, FAIL, SKIP, WARN, CheckResult
from sanitykit.front.render.text import diagnosis_text, group_by_suite

# Characters XML 1.0 forbids even escaped; a student's message may carry any of them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """`text` without the characters XML 1.0 cannot hold."""
    return _NOT_XML.sub("?", str(text))


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def testcase(result: CheckResult, target: str, seed: int) -> ET.Element:
    """One <testcase> for one check."""
    case = ET.Element("testcase", classname=f"sanitykit.{result.suite}", name=result.id,
                      time=f"{result.duration_s:.3f}")
    if result.status in (FAIL, ERROR):
        tag = "failure" if result.status == FAIL else "error"
        element = ET.SubElement(case, tag, message=xml_safe(first_line(result.message) or tag),
                                type=result.status)
        element.text = xml_safe(f"{result.subject}: {result.title}\n"
                                + diagnosis_text(result, target, seed))
    elif result.status == SKIP:
        ET.SubElement(case, "skipped", message=xml_safe(first_line(result.message) or "skipped"))
    elif result.status == WARN:
        ET.SubElement(case, "system-out").text = xml_safe(
            "warning: " + diagnosis_text(result, target, seed))
    return case


def counts(results: list[CheckResult]) -> dict[str, str]:
    """The tests / failures / errors / skipped / time attributes of a suite."""
    def n(status: str) -> str:
        return str(sum(r.status == status for r in results))

    return {"tests": str(len(results)), "failures": n(FAIL), "errors": n(ERROR),
            "skipped": n(SKIP), "time": f"{sum(r.duration_s for r in results):.3f}"}


def render_junit(report) -> str:
    """The report as a JUnit XML document (UTF-8 text with an XML declaration).

    Args:
        report: a sanitykit.front.report.Report.
    """
    root = ET.Element("testsuites", name=xml_safe(f"sanitykit {report.target}"), **counts(report.checks))
    for suite, results in group_by_suite(report.checks):
        element = ET.SubElement(root, "testsuite", name=f"sanitykit.{suite}", **counts(results))
        properties = ET.SubElement(element, "properties")
        ET.SubElement(properties, "property", name="target", value=xml_safe(report.target))
        ET.SubElement(properties, "property", name="seed", value=str(report.seed))
        for result in results:
            element.append(testcase(result, report.target, report.seed))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
