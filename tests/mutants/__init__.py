"""The mutant corpus: realistic student mistakes planted in the reference, and correct variants.

- generator.py: the reference as a student `cs231n/` package, with exact replacements;
- cases.py: Mutant / Variant / Verdict and how a report is judged;
- corpus.py: MUTANTS; variants.py: VARIANTS; run.py: running them over a process pool.
"""
