"""Time of each `training` check on the reference FullyConnectedNet (the issue's budget: 30 s in all).

Run: /tmp/venv/bin/python benchmarks/training.py [--seed N]
"""
from __future__ import annotations

import argparse
import time

import sanitykit.reference as reference
from sanitykit.checks.registry import CheckContext, DictTarget, catalogue


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    target = DictTarget.from_modules(reference, name="reference")
    total = 0.0
    for spec in catalogue(["training"]):
        start = time.perf_counter()
        outcome = spec.func(CheckContext(target, seed=args.seed))
        elapsed = time.perf_counter() - start
        total += elapsed
        print(f"{spec.id:42} {outcome.status:5} {elapsed:7.3f} s")
    print(f"{'total':42} {'':5} {total:7.3f} s  (budget 30 s)")


if __name__ == "__main__":
    main()
