"""Time `sanitykit check` per suite on the reference package (issue 4's budget: all four < 20 s).

Run: python benchmarks/check_suites.py   (prints one line per suite, then the total)
"""
from __future__ import annotations

import time

from sanitykit.front.runner import check

SUITES = ("layers", "losses", "optim", "models", "training")


def main() -> None:
    total = 0.0
    for suite in SUITES:
        start = time.perf_counter()
        report = check("sanitykit.reference", suites=[suite])
        elapsed = time.perf_counter() - start
        total += elapsed if suite != "training" else 0.0
        s = report.summary
        print(f"{suite:9s} {elapsed:6.2f} s  {len(report.checks):3d} checks  "
              f"pass {s['pass']} warn {s['warn']} fail {s['fail']} error {s['error']} skip {s['skip']}")
    print(f"layers+losses+optim+models: {total:.2f} s (budget 20 s)")


if __name__ == "__main__":
    main()
