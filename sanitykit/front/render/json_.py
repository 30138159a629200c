"""`--format json`: the DESIGN.md report format, exactly `Report.to_dict()`."""
from __future__ import annotations

import json


def render_json(report) -> str:
    """The report as indented JSON (the one serialisation, `Report.to_dict()`).

    Args:
        report: a sanitykit.front.report.Report.
    """
    return json.dumps(report.to_dict(), indent=2) + "\n"
