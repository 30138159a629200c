"""Wall time of `pytest --sanitykit TREE` alone and with pytest-xdist `-n 2`, and whether the outcomes agree.

Each item runs its own check (after what it reads), so two workers split the work instead
of each running the whole suite. Prints, per tree, the two wall times and their ratio, the
CPU time of each run (what -n 2 repeats: prerequisites run on both workers; on a machine
shared with other work the wall time says less), and whether every item has the same
outcome in both runs (read from the JUnit files).

Run: python benchmarks/pytest_xdist.py [TREE ...]   (default: the demo assignment and two student trees)
"""
from __future__ import annotations

import resource
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


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_run(tree: str, workers: int, folder: Path) -> tuple[float, float, dict[str, str]]:
    junit = folder / f"junit-{workers}.xml"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--sanitykit", str(ROOT / tree),
               f"--junitxml={junit}", "--rootdir", str(folder)]
    if workers:
        command += ["-n", str(workers)]
    started, cpu = time.perf_counter(), children_cpu()
    subprocess.run(command, cwd=folder, capture_output=True, text=True)
    return time.perf_counter() - started, children_cpu() - cpu, outcomes(junit)


def main(trees: list[str]) -> None:
    for tree in trees:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            serial, serial_cpu, alone = timed_run(tree, 0, folder)
            parallel, parallel_cpu, split = timed_run(tree, 2, folder)
        differ = sorted(k for k in {*alone, *split} if alone.get(k) != split.get(k))
        same = "same outcomes" if not differ else f"{len(differ)} differ: " + ", ".join(
            f"{k.rsplit('::', 1)[-1]} ({alone.get(k)} alone, {split.get(k)} with -n 2)" for k in differ)
        print(f"{tree:36s} alone {serial:6.2f} s (cpu {serial_cpu:6.2f})   -n 2 {parallel:6.2f} s "
              f"(cpu {parallel_cpu:6.2f})   wall ratio {parallel / serial:4.2f}   {len(alone)} items, {same}")


if __name__ == "__main__":
    main(sys.argv[1:] or list(TREES))
