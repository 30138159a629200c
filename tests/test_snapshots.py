"""The rendered text of representative diagnoses, pinned, so that a wording change shows in review.

Each snapshot is the plain report of a few checks of the bundled demo (a batch-size factor in
affine_backward, dropout without rescaling, Adam without bias correction, a training check blamed
on a layer, a stub, a function not found) at 80 and 120 columns. After a deliberate change,
regenerate with `SANITYKIT_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_snapshots.py` and read
the diff of tests/snapshots/ before committing it.
"""
from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest

from sanitykit.front.cli import DEMO_ROOT
from sanitykit.front.render.text import render_text
from sanitykit.front.report import Report
from sanitykit.front.runner import check

SNAPSHOTS = Path(__file__).parent / "snapshots"
PINNED = ("layers.affine.gradcheck", "layers.dropout.scaling", "layers.leaky_relu.interface",
          "optim.adam.bias_correction", "optim.adam.progress", "models.fc_net.gradcheck",
          "training.fc_net.lr_bracket")


@pytest.fixture(scope="module")
def demo_report() -> Report:
    report = check(DEMO_ROOT, only=list(PINNED))
    # The target as a student names it: the snapshot must not depend on where the checkout lives.
    return Report("assignment2", seed=report.seed, checks=[r for r in report.checks if r.id in PINNED])


def without_durations(text: str) -> str:
    return re.sub(r"\d+\.\d\ds$", "0.00s", text, flags=re.MULTILINE)


def compare(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    if os.environ.get("SANITYKIT_UPDATE_SNAPSHOTS"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no snapshot {path}: run with SANITYKIT_UPDATE_SNAPSHOTS=1"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("width", [80, 120])
def test_demo_diagnoses_render_as_pinned(demo_report, width):
    text = without_durations(render_text(demo_report, width=width))
    compare(f"demo_{width}.txt", text.replace(demo_report.loading.get("source", "") or "\0", "<source>"))


def test_demo_diagnoses_render_as_pinned_in_ascii(demo_report):
    compare("demo_80_ascii.txt", without_durations(render_text(demo_report, width=80, ascii_only=True)))


def test_the_terminal_view_is_the_plain_view_in_colour(demo_report):
    from rich.console import Console

    console = Console(file=io.StringIO(), width=100, force_terminal=True, color_system="truecolor",
                      record=True, _environ={})
    console.print(demo_report)
    coloured = console.export_text(styles=True, clear=False)
    assert "\x1b[" in coloured
    plain = "\n".join(line.rstrip() for line in console.export_text().splitlines()) + "\n"
    assert plain == render_text(demo_report, width=100)


@pytest.mark.parametrize("width", [60, 80, 120])
def test_no_line_has_trailing_spaces_or_a_split_index(demo_report, width):
    lines = render_text(demo_report, width=width).splitlines()
    assert all(line == line.rstrip() for line in lines)
    assert all(len(line) <= width for line in lines)
    # dw[4, 1] never ends a line as "dw[4," with "1]" on the next.
    assert not any(re.search(r"\w\[[^\]]*$", line) for line in lines)
