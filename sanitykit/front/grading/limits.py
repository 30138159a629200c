"""Grading limits: one frozen settings object, resolved once, with a stated precedence.

Precedence, highest first: the command line, the environment
(`SANITYKIT_TIMEOUT`, `SANITYKIT_SUBMISSION_TIMEOUT`, `SANITYKIT_MEMORY_MB`,
`SANITYKIT_JOBS`, `SANITYKIT_SEED`), the rubric's `[limits]` table, the defaults.
A bad value says where it came from, as pytest-timeout's "from config file" does.
The defaults fit Gradescope's default container: about 768 MB and a 10-minute budget.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any, Mapping

DEFAULT_CHECK_TIMEOUT = 30.0
DEFAULT_SUBMISSION_TIMEOUT = 600.0
DEFAULT_MEMORY_MB = 768
# `check`'s worker has no container to fit: far above what the suite needs on any correct
# tree, far below what would make a laptop swap when a student's code allocates without end.
DEFAULT_CHECK_MEMORY_MB = 2048
# Python, numpy and the reference need about 150 MB of address space before any check runs.
MIN_MEMORY_MB = 256
# Characters of a child's own stdout/stderr kept (what escaped the runner's capture).
OUTPUT_KEEP = 20_000
# The CPU limit is a backstop behind the wall clock: a little later, so that the wall-clock
# message (which names the option to raise) is the one a grader usually sees.
CPU_SLACK_S = 10.0

# (field, command-line flag, environment variable, rubric [limits] key)
SETTINGS = (
    ("check_timeout", "--timeout", "SANITYKIT_TIMEOUT", "timeout"),
    ("submission_timeout", "--submission-timeout", "SANITYKIT_SUBMISSION_TIMEOUT", "submission_timeout"),
    ("memory_mb", "--memory", "SANITYKIT_MEMORY_MB", "memory"),
    ("jobs", "--jobs", "SANITYKIT_JOBS", "jobs"),
    ("seed", "--seed", "SANITYKIT_SEED", "seed"),
)


class LimitError(ValueError):
    """A limit has a bad value; str() names the value and where it came from."""


@dataclass(frozen=True)
class Limits:
    """How long and how big one submission may run.

    Args:
        check_timeout: seconds for one check (default 30, --timeout).
        submission_timeout: wall-clock seconds for a whole submission (default 600).
        memory_mb: address-space limit of a submission's process (default 768, --memory).
        jobs: submissions graded at once (default: the number of cores).
        seed: seed of every check's generator (default 0).
        sources: field -> where its value came from ("--memory", "SANITYKIT_MEMORY_MB", ...).
    """

    check_timeout: float = DEFAULT_CHECK_TIMEOUT
    submission_timeout: float = DEFAULT_SUBMISSION_TIMEOUT
    memory_mb: int = DEFAULT_MEMORY_MB
    jobs: int = 1
    seed: int = 0
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def cpu_seconds(self) -> int:
        """RLIMIT_CPU of a submission: the wall-clock budget plus some slack."""
        return int(math.ceil(self.submission_timeout + CPU_SLACK_S))

    def flag(self, name: str) -> str:
        """Where `name` came from, in words for a message: "--memory" or "SANITYKIT_MEMORY_MB"."""
        return self.sources.get(name, _FLAGS[name])

    def fingerprint_data(self) -> dict[str, Any]:
        """The limits that can change a score (jobs cannot), for the rerun fingerprint."""
        return {"check_timeout": self.check_timeout, "submission_timeout": self.submission_timeout,
                "memory_mb": self.memory_mb, "seed": self.seed}


_FLAGS = {name: flag for name, flag, _, _ in SETTINGS}


def _convert(name: str, raw: Any, where: str) -> float | int:
    """Turn one raw value into the field's type; LimitError naming `where` when it is wrong."""
    integer = name in ("memory_mb", "jobs", "seed")
    try:
        if isinstance(raw, bool):
            raise ValueError
        value = int(raw) if integer and not isinstance(raw, float) else float(raw)
        if integer and value != int(value):
            raise ValueError
        value = int(value) if integer else value
    except (TypeError, ValueError):
        kind = "a whole number" if integer else "a number of seconds"
        raise LimitError(f"{name.replace('_', ' ')} {raw!r} (from {where}): expected {kind}") from None
    if name == "seed":
        if value < 0:
            raise LimitError(f"seed {value} (from {where}): must be 0 or more")
    elif name == "memory_mb" and value < MIN_MEMORY_MB:
        raise LimitError(f"memory {value} MB (from {where}): at least {MIN_MEMORY_MB} MB are needed "
                         "to start Python and numpy")
    elif not (value > 0 and math.isfinite(value)):
        raise LimitError(f"{name.replace('_', ' ')} {raw!r} (from {where}): must be more than 0")
    return value


def resolve_limits(options: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None,
                   rubric_limits: Mapping[str, Any] | None = None, rubric_file: str = "the rubric",
                   cpu_count: int | None = None) -> Limits:
    """Resolve every limit once: command line > environment > rubric [limits] > defaults.

    Args:
        options: field -> value given on the command line (None means not given).
        env: the environment (default os.environ).
        rubric_limits: the rubric's `[limits]` table, keyed as in SETTINGS.
        rubric_file: the rubric's path, named in messages.
        cpu_count: default for jobs (default os.cpu_count()).
    """
    options = options or {}
    env = os.environ if env is None else env
    rubric_limits = rubric_limits or {}
    known = {key for _, _, _, key in SETTINGS}
    unknown = sorted(set(rubric_limits) - known)
    if unknown:
        raise LimitError(f"{rubric_file}: [limits] has unknown key(s) {', '.join(unknown)}; "
                         f"expected {', '.join(sorted(known))}")
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, flag, env_name, key in SETTINGS:
        if options.get(name) is not None:
            raw, where = options[name], flag
        elif env.get(env_name, "").strip():
            raw, where = env[env_name].strip(), env_name
        elif key in rubric_limits:
            raw, where = rubric_limits[key], f"[limits] {key} in {rubric_file}"
        else:
            continue
        values[name] = _convert(name, raw, where)
        sources[name] = where
    values.setdefault("jobs", max(1, cpu_count or os.cpu_count() or 1))
    return Limits(**values, sources=sources)
