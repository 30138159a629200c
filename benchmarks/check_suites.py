"""Time `sanitykit check` per suite and whole, in this process and in the supervised worker.

Issue 4's budget: layers+losses+optim+models under 20 s. Issue 15's: the whole suite on a
correct tree in the worker (a persistent child, the default) no slower than 1.5x the
in-process run (`--in-process`). The target is the reference package read as a tree (a path,
so that the worker copies and loads it as it would a student's); every check passes on it.

Run: python benchmarks/check_suites.py   (one line per suite and mode, then the whole suite)
"""
from __future__ import annotations

import time
from pathlib import Path

from sanitykit.front.runner import check

SUITES = ("layers", "losses", "optim", "models", "training", "linear", "knn", "rnn")
TARGET = str(Path(__file__).resolve().parent.parent / "reference")
MODES = ("in-process", "worker")


def timed(**options) -> tuple[float, object]:
    start = time.perf_counter()
    report = check(TARGET, **options)
    return time.perf_counter() - start, report


def line(label: str, mode: str, elapsed: float, report) -> str:
    s = report.summary
    return (f"{label:9s} {mode:10s} {elapsed:6.2f} s  {len(report.checks):3d} checks  "
            f"pass {s['pass']} warn {s['warn']} fail {s['fail']} error {s['error']} skip {s['skip']}")


def main() -> None:
    from sanitykit.checks.registry import SUITES as KNOWN

    budget = {mode: 0.0 for mode in MODES}
    for suite in (s for s in SUITES if s in KNOWN):
        for mode in MODES:
            elapsed, report = timed(suites=[suite], isolation=mode)
            if suite in ("layers", "losses", "optim", "models"):
                budget[mode] += elapsed
            print(line(suite, mode, elapsed, report))
    for mode in MODES:
        print(f"layers+losses+optim+models {mode}: {budget[mode]:.2f} s (budget 20 s)")
    whole = {}
    for mode in MODES:
        whole[mode], report = timed(isolation=mode)
        print(line("all", mode, whole[mode], report))
    print(f"whole suite: worker / in-process = {whole['worker'] / whole['in-process']:.2f} (budget 1.5)")


if __name__ == "__main__":
    main()
