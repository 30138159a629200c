"""Benchmark: grade 40 varied copies of the reference with --jobs 2; print submissions per minute.

Not a test (no assertion on time). The copies vary the way a class does: assignment
roots, bare cs231n/ packages and zips; a planted bug in a quarter of them (dw divided
by N again), chatty prints in some, a missing optim.py in others. Every check of the
default rubric runs, under the default limits.

    python benchmarks/grading.py [--count 40] [--jobs 2] [--keep DIR]
    python benchmarks/grading.py --dask [--count 20]    # the same class on 1 and 2 Dask workers

With --dask (needs sanitykit[dask]), the class is graded four times: local jobs 1 and 2,
then a local Dask cluster of 1 and 2 workers (its start-up time printed apart).
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import zipfile
from pathlib import Path

MODULES = {
    "layers.py": ("from sanitykit.reference.layers import *\n"
                  "from sanitykit.reference.fast_layers import *\n"
                  "from sanitykit.reference.layer_utils import *\n"),
    "optim.py": "from sanitykit.reference.optim import *\n",
    "solver.py": "from sanitykit.reference.solver import *\n",
    "data_utils.py": "from sanitykit.reference.preprocessing import *\n",
    "classifiers/__init__.py": "",
    "classifiers/fc_net.py": "from sanitykit.reference.classifiers.fc_net import *\n",
    "classifiers/cnn.py": "from sanitykit.reference.classifiers.cnn import *\n",
    "__init__.py": "",
}
# The classic mistake: dout already carries the 1/N of the loss.
PLANTED_BUG = ("\nimport sanitykit.reference.layers as _ref\n"
               "def affine_backward(dout, cache):\n"
               "    dx, dw, db = _ref.affine_backward(dout, cache)\n"
               "    return dx, dw / dout.shape[0], db\n")
CHATTY = "\nprint('loaded my layers!')\n" * 5


def submission_files(index: int) -> dict[str, str]:
    """The cs231n/ files of copy `index`: a bug every 4th, prints every 3rd, no optim every 5th."""
    files = dict(MODULES)
    if index % 4 == 1:
        files["layers.py"] += PLANTED_BUG
    if index % 3 == 2:
        files["layers.py"] += CHATTY
    if index % 5 == 4:
        del files["optim.py"]
    return files


def write_class(folder: Path, count: int) -> None:
    """`count` submissions in `folder`: assignment roots, bare packages and zips in turn."""
    for index in range(count):
        files = submission_files(index)
        name = f"student{index:02d}"
        layout = index % 3
        if layout == 2:
            with zipfile.ZipFile(folder / f"{name}.zip", "w") as zf:
                for rel, text in files.items():
                    zf.writestr(f"assignment2/cs231n/{rel}", text)
            continue
        base = folder / name / "cs231n" if layout == 0 else folder / name
        for rel, text in files.items():
            (base / rel).parent.mkdir(parents=True, exist_ok=True)
            (base / rel).write_text(text)


def make_plan(jobs: int):
    from sanitykit.checks.registry import catalogue
    from sanitykit.front.grading.limits import resolve_limits
    from sanitykit.front.grading.plan import GradingPlan
    from sanitykit.front.grading.rubric import default_rubric

    rubric = default_rubric()
    specs = catalogue()
    return GradingPlan(rubric, tuple(rubric.grade(specs)), resolve_limits({"jobs": jobs}, env={}),
                       tuple(s.id for s in specs))


def timed_run(work: Path, label: str, plan, jobs=None) -> None:
    """Grade the class once (every submission, --force) and print the throughput."""
    from sanitykit.front.grading.runner import grade_class
    from sanitykit.front.grading.submissions import discover

    start = time.perf_counter()
    results = grade_class(discover(work / "class"), plan, work / "out", force=True, jobs=jobs)
    elapsed = time.perf_counter() - start
    scores = sorted(r.score for r in results)
    print(f"{label}: graded {len(results)} submissions ({len(plan.graded)} checks each) in {elapsed:.1f} s: "
          f"{60 * len(results) / elapsed:.1f} submissions per minute")
    print(f"    scores: min {scores[0]:g}, median {scores[len(scores) // 2]:g}, max {scores[-1]:g} "
          f"of {results[0].max_score:g}; errors: {sum(r.status != 'graded' for r in results)}")


def dask_runs(work: Path) -> None:
    """Local jobs 1 and 2, then 1 and 2 local Dask workers, on the same class."""
    from sanitykit.front.grading.dask_backend import DaskJobs

    for jobs in (1, 2):
        timed_run(work, f"--jobs {jobs}", make_plan(jobs))
    for workers in (1, 2):
        plan = make_plan(workers)
        start = time.perf_counter()
        cluster = DaskJobs(plan, local_workers=workers)
        print(f"--dask-local {workers}: cluster up in {time.perf_counter() - start:.1f} s")
        timed_run(work, f"--dask-local {workers}", plan, jobs=cluster)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--dask", action="store_true", help="compare 1 and 2 local Dask workers")
    parser.add_argument("--keep", type=Path, default=None, help="keep the class and results here")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="sanitykit-bench-"))
    (work / "class").mkdir(parents=True, exist_ok=True)
    write_class(work / "class", args.count)
    if args.dask:
        dask_runs(work)
    else:
        timed_run(work, f"--jobs {args.jobs}", make_plan(args.jobs))
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
