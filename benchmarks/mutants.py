"""Detection power of the suite on the mutant corpus (tests/mutants): a benchmark, not a test.

Prints detection % (mutants caught by an expected check), localisation % (caught with the
expected diagnosis words), false alarms (fail/error on correct variants, and failures of
checks outside a mutant's scope), and the corpus time, then every escape with what the
expected checks said.

    python benchmarks/mutants.py [--workers 2] [--narrow] [--only ID ...]

By default each mutant runs the whole suites of its expected checks (so unrelated failures
can be counted); --narrow runs only its selection, as tests/test_mutants.py does.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from mutants import assignment1, assignment3  # noqa: E402
from mutants.corpus import MUTANTS  # noqa: E402
from mutants.run import run_corpus  # noqa: E402
from mutants.variants import VARIANTS  # noqa: E402


def summarise(mutant_verdicts: list, variant_verdicts: list) -> dict:
    """The figures of the benchmark from verdicts (pure computation)."""
    with_words = [v for m, v in mutant_verdicts if m.diagnosis]
    return {
        "mutants": len(mutant_verdicts),
        "caught": sum(v.caught for _, v in mutant_verdicts),
        "localised": sum(v.localised for v in with_words),
        "with_diagnosis": len(with_words),
        "variants": len(variant_verdicts),
        "variant_alarms": sum(len(v.alarms) for v in variant_verdicts),
        "variants_flagged": sum(bool(v.alarms) for v in variant_verdicts),
        "unrelated": sum(len(v.unrelated) for _, v in mutant_verdicts),
        "mutants_with_unrelated": sum(bool(v.unrelated) for _, v in mutant_verdicts),
        "internal": sum(len(v.internal) for _, v in mutant_verdicts) + sum(len(v.internal) for v in variant_verdicts),
    }


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "n/a"


def render(figures: dict, seconds: float, mutant_verdicts: list, variant_verdicts: list) -> str:
    """The printed report."""
    f = figures
    lines = [
        f"mutants:       {f['mutants']}",
        f"detection:     {percent(f['caught'], f['mutants'])} ({f['caught']} / {f['mutants']} caught by an expected check)",
        f"localisation:  {percent(f['localised'], f['with_diagnosis'])} ({f['localised']} / {f['with_diagnosis']} "
        "with a diagnosis naming the expected words)",
        f"false alarms:  {f['variant_alarms']} fail/error on {f['variants_flagged']} / {f['variants']} correct variants; "
        f"{f['unrelated']} unrelated failures on {f['mutants_with_unrelated']} mutants",
        f"internal errors: {f['internal']}",
        f"corpus time:   {seconds:.1f} s",
    ]
    for mutant, verdict in mutant_verdicts:
        if verdict.caught and (verdict.localised or not mutant.diagnosis) and not verdict.unrelated:
            continue
        label = "ESCAPED" if not verdict.caught else ("NOT LOCALISED" if not verdict.localised else "UNRELATED FAILURES")
        lines.append(f"\n{label} {mutant.id}: {mutant.mistake}  (expected {', '.join(mutant.expected)}"
                     + (f"; words {mutant.diagnosis}" if mutant.diagnosis else "") + ")")
        if verdict.setup_error:
            lines.append(f"  setup: {verdict.setup_error}")
        shown = verdict.expected_results if label != "UNRELATED FAILURES" else verdict.unrelated
        for result in shown[:8]:
            lines.append(f"  {result[0]}: {result[1]}: {' '.join(str(result[2]).split())[:220]}")
        if not shown:
            lines.append("  no check matched the expected ids")
    for verdict in variant_verdicts:
        for alarm in verdict.alarms:
            lines.append(f"\nFALSE ALARM on variant {verdict.id}: {alarm[0]}: {alarm[1]}: {' '.join(alarm[2].split())[:220]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--narrow", action="store_true", help="run each mutant's selection only, as the test does")
    parser.add_argument("--only", nargs="*", default=None, help="entry ids to run (default: all)")
    args = parser.parse_args(argv)
    all_mutants = (*MUTANTS, *assignment1.MUTANTS, *assignment3.MUTANTS)  # assignments 2, 1, 3
    all_variants = (*VARIANTS, *assignment1.VARIANTS, *assignment3.VARIANTS)
    mutants = [m for m in all_mutants if not args.only or m.id in args.only]
    variants = [v for v in all_variants if not args.only or v.id in args.only]
    started = time.perf_counter()
    verdicts = run_corpus([*mutants, *variants], workers=args.workers, wide=not args.narrow)
    seconds = time.perf_counter() - started
    mutant_verdicts = [(m, verdicts[m.id]) for m in mutants]
    variant_verdicts = [verdicts[v.id] for v in variants]
    print(render(summarise(mutant_verdicts, variant_verdicts), seconds, mutant_verdicts, variant_verdicts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
