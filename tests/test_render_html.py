"""`sanitykit check --format html`: one self-contained, well-formed page holding every check."""
from __future__ import annotations

from html.parser import HTMLParser

from typer.testing import CliRunner

from sanitykit.front.cli import DEMO_ROOT, app

VOID = {"meta", "br", "hr", "img", "link", "input", "wbr"}


class Structure(HTMLParser):
    """Checks that every element is closed in order, and collects ids, check ids and what is fetched."""

    def __init__(self):
        super().__init__()
        self.open: list[str] = []
        self.problems: list[str] = []
        self.ids: list[str] = []
        self.check_ids: list[str] = []
        self.fetched: list[str] = []
        self.details: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag not in VOID:
            self.open.append(tag)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if "data-check-id" in attrs:
            self.check_ids.append(attrs["data-check-id"])
        if tag == "details":
            self.details.append(attrs)
        self.fetched += [attrs[k] for k in ("src", "href") if k in attrs]

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.open[-1] if self.open else 'nothing'}")
        else:
            self.open.pop()


def test_the_html_report_is_one_well_formed_page_with_every_check(tmp_path):
    page = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["check", str(DEMO_ROOT), "--format", "html", "--output", str(page)])
    assert result.exit_code == 1, result.output  # the demo's planted bugs fail
    from sanitykit.checks.registry import catalogue

    expected = sorted(spec.id for spec in catalogue())  # no --suite: every check of the catalogue
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    parsed = Structure()
    parsed.feed(text)
    parsed.close()
    assert parsed.problems == [] and parsed.open == []
    assert sorted(parsed.check_ids) == expected
    assert len(parsed.ids) == len(set(parsed.ids))  # each id once: anchors work
    assert parsed.fetched == []  # self-contained: nothing to fetch
    # Collapsible per suite, open where something failed.
    opened = {d["id"]: "open" in d for d in parsed.details}
    assert opened["suite-layers"] and opened["suite-models"]
    assert 'data-check-id="layers.affine.gradcheck"' in text and "batch_size" in text
