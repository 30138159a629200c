"""Run the suite on corpus entries: materialise each in a temporary folder, check it, judge the report.

`run_entry` is a plain top-level function of picklable arguments, so `run_corpus` can spread
entries over a process pool (the checks are CPU-bound numpy; two workers on CI's two cores).
"""
from __future__ import annotations

import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Iterable

from sanitykit.front.runner import check

from .cases import Mutant, Variant, Verdict, judge_mutant, judge_variant
from .generator import materialise

# Correct variants run every suite of their assignment: a false alarm anywhere counts.
VARIANT_SUITES = ("layers", "losses", "optim", "models", "training")
ASSIGNMENT_SUITES = {1: ("linear", "knn", "models"), 2: VARIANT_SUITES, 3: ("rnn", "models")}


def run_entry(entry: Mutant | Variant, timeout: float = 30.0, wide: bool = False) -> Verdict:
    """Materialise `entry`, run its checks, and judge the report.

    Args:
        entry: a Mutant (its `selection` is run) or a Variant (VARIANT_SUITES are run).
        timeout: per-check limit in seconds (default 30).
        wide: for a mutant, run whole suites of its expected checks instead of its selection,
            so that failures outside its scope (false alarms) can be counted.
    """
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"sk_mutant_{entry.id}_") as folder:
        try:
            root = materialise(folder, entry.edits, assignment=entry.assignment)
        except AssertionError as exc:  # the reference changed under the corpus
            verdict = Verdict(entry.id, "mutant" if isinstance(entry, Mutant) else "variant")
            verdict.setup_error = str(exc)
            return verdict
        if isinstance(entry, Variant):
            report = check(root, suites=ASSIGNMENT_SUITES[entry.assignment], seed=0, timeout=timeout)
            verdict = judge_variant(entry, report.checks)
        else:
            if wide:
                suites = tuple(dict.fromkeys(glob.split(".")[0] for glob in entry.selection))
                report = check(root, suites=suites, seed=0, timeout=timeout)
            else:
                report = check(root, only=entry.selection, seed=0, timeout=timeout)
            verdict = judge_mutant(entry, report.checks)
    verdict.seconds = time.perf_counter() - started
    return verdict


def run_corpus(entries: Iterable[Mutant | Variant], workers: int = 2, timeout: float = 30.0,
               wide: bool = False) -> dict[str, Verdict]:
    """Verdicts by entry id, computed over `workers` processes (1: in this process).

    Args:
        entries: mutants and/or variants (ids must be unique).
        workers: number of worker processes, default 2.
        timeout: per-check limit in seconds.
        wide: see run_entry.
    """
    entries = list(entries)
    if workers <= 1:
        return {e.id: run_entry(e, timeout, wide) for e in entries}
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run_entry, e, timeout, wide) for e in entries]
        return {e.id: f.result() for e, f in zip(entries, futures)}
