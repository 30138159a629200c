"""Wall time of `pytest --sanitykit TREE` alone and with pytest-xdist `-n 2`, and whether the outcomes agree.

Each item runs its own check (after what it reads), so two workers split the work instead
of each running the whole suite. Prints, per tree, the two wall times, their ratio and
whether every item has the same outcome in both runs (read from the JUnit files).

Run: python benchmarks/pytest_xdist.py [TREE ...]   (default: the demo assignment and two student trees)
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TREES = ("sanitykit/demo/assignment2", "tests/assets/students/loops", "tests/assets/students/vectorised")


def outcomes(junit: Path) -> dict[str, str]:
    """name -> passed / failed / skipped / error of every sanitykit item in a JUnit file."""
    found = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        kind = next((child.tag for child in case if child.tag in ("failure", "error", "skipped")), "passed")
        found[f"{case.get('classname')}::{case.get('name')}"] = kind
    return found


def timed_run(tree: str, workers: int, folder: Path) -> tuple[float, dict[str, str]]:
    junit = folder / f"junit-{workers}.xml"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--sanitykit", str(ROOT / tree),
               f"--junitxml={junit}", "--rootdir", str(folder)]
    if workers:
        command += ["-n", str(workers)]
    started = time.perf_counter()
    subprocess.run(command, cwd=folder, capture_output=True, text=True)
    return time.perf_counter() - started, outcomes(junit)


def main(trees: list[str]) -> None:
    for tree in trees:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            serial, alone = timed_run(tree, 0, folder)
            parallel, split = timed_run(tree, 2, folder)
        same = "same outcomes" if alone == split else f"{sum(alone.get(k) != v for k, v in split.items())} differ"
        print(f"{tree:40s} alone {serial:6.2f} s   -n 2 {parallel:6.2f} s   ratio {parallel / serial:4.2f}   "
              f"{len(alone)} items, {same}")


if __name__ == "__main__":
    main(sys.argv[1:] or list(TREES))
