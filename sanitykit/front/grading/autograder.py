"""The Gradescope autograder bundle: `sanitykit grade --make-autograder autograder.zip`.

Gradescope unpacks the zip into /autograder/source, runs `setup.sh` once to build the
image, then `run_autograder` for each submission (in /autograder/submission), and reads
/autograder/results/results.json. The zip holds:

    setup.sh                  finds Python 3.10+ (apt-get when the image has none), makes a
                              venv, installs the pinned sanitykit from wheels/
    run_autograder            sanitykit grade --gradescope with the rubric and the starter
    rubric.toml               the rubric the bundle grades with (the default when none given)
    starter/                  the course's starter files (--starter), when given
    wheels/sanitykit-*.whl    built from this sanitykit, so the image gets exactly this version;
                              with --wheels DIR, also the dependencies' wheels (then setup.sh
                              installs without the network)

Both scripts take the autograder root from $SANITYKIT_AUTOGRADER_ROOT (default
/autograder), and run_autograder from its first argument too, so a course can try the
bundle on a laptop against a fake root before uploading it.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from sanitykit._version import __version__

# What a checkout must hold to build the wheel from (pyproject.toml's package-dir).
SOURCE_PARTS = ("pyproject.toml", "README.md", "sanitykit", "reference", "checks")

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image.
# Made by sanitykit {version} (sanitykit grade --make-autograder).
set -euo pipefail
ROOT="${{SANITYKIT_AUTOGRADER_ROOT:-/autograder}}"
SOURCE="$(cd "$(dirname "$0")" && pwd)"
VENV="$ROOT/sanitykit-venv"

# sanitykit runs on Python 3.10 and newer: Gradescope's Ubuntu 22.04 image has 3.10.
suitable() {{ "$1" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; }}
PYTHON="${{SANITYKIT_PYTHON:-}}"
if [ -z "$PYTHON" ]; then
  for candidate in python3.13 python3.12 python3.11 python3.10 python3; do
    if command -v "$candidate" >/dev/null && suitable "$candidate"; then PYTHON="$candidate"; break; fi
  done
fi
if [ -z "$PYTHON" ]; then
  apt-get update -q && apt-get install -y -q python3 python3-venv python3-pip
  PYTHON=python3
  suitable "$PYTHON" || {{ echo "sanitykit needs Python 3.10 or newer; this image has $($PYTHON --version)" >&2; exit 1; }}
fi
if ! "$PYTHON" -m venv "$VENV"; then
  # Ubuntu ships venv apart from Python.
  apt-get update -q && apt-get install -y -q python3-venv
  "$PYTHON" -m venv "$VENV"
fi
# Offline first: wheels/ may hold every dependency (--wheels); else PyPI for numpy, rich, typer.
"$VENV/bin/python" -m pip install -q --no-index --find-links "$SOURCE/wheels" "sanitykit=={version}" 2>/dev/null \\
  || "$VENV/bin/python" -m pip install -q --find-links "$SOURCE/wheels" "sanitykit=={version}"
"$VENV/bin/sanitykit" --version
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission: /autograder/submission is graded into
# /autograder/results/results.json. The full diagnoses of the checks students see less
# of go to stdout, which Gradescope shows to the course staff only.
# Made by sanitykit {version} (sanitykit grade --make-autograder).
set -uo pipefail
ROOT="${{1:-${{SANITYKIT_AUTOGRADER_ROOT:-/autograder}}}}"
SOURCE="$ROOT/source"
SANITYKIT="${{SANITYKIT:-$ROOT/sanitykit-venv/bin/sanitykit}}"
args=(grade --gradescope --gradescope-root "$ROOT" --rubric "$SOURCE/rubric.toml")
if [ -d "$SOURCE/starter" ]; then args+=(--starter "$SOURCE/starter"); fi
"$SANITYKIT" "${{args[@]}}"
status=$?
# Exit 1: the submission could not be graded to the end; results.json says why and the
# score stands. Without results.json the autograder itself failed: Gradescope says so.
if [ -f "$ROOT/results/results.json" ]; then exit 0; fi
exit "$status"
"""


class AutograderError(Exception):
    """The bundle cannot be made; str() is one line."""


def source_checkout() -> Path | None:
    """The folder sanitykit is installed from when it is a source checkout (pip install -e .), else None."""
    root = Path(__file__).resolve().parents[3]
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and 'name = "sanitykit"' in pyproject.read_text(encoding="utf-8"):
        return root
    return None


def build_wheel(dest: Path) -> Path:
    """Build this sanitykit's wheel into `dest` (from a clean copy: the checkout stays untouched)."""
    root = source_checkout()
    if root is None:
        raise AutograderError("sanitykit is not installed from a source checkout; give its wheel with --wheel FILE")
    with tempfile.TemporaryDirectory(prefix="sanitykit-wheel-") as scratch:
        copy = Path(scratch) / "src"
        for part in SOURCE_PARTS:
            source = root / part
            if source.is_dir():
                shutil.copytree(source, copy / part, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            elif source.is_file():
                copy.mkdir(parents=True, exist_ok=True)
                shutil.copy(source, copy / part)
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dest), str(copy)]
        # Offline with the setuptools and wheel at hand; else pip fetches them (build isolation).
        done = subprocess.run(command[:4] + ["--no-build-isolation"] + command[4:], capture_output=True, text=True)
        if done.returncode != 0:
            done = subprocess.run(command, capture_output=True, text=True)
    wheels = sorted(dest.glob(f"sanitykit-{__version__}-*.whl"))
    if done.returncode != 0 or not wheels:
        last = (done.stderr.strip().splitlines() or ["no wheel written"])[-1]
        raise AutograderError(f"could not build the sanitykit wheel ({last}); give one with --wheel FILE")
    return wheels[0]


def bundle_files(rubric_text: str, starter: Path | None, wheel: Path, extra_wheels: Path | None) -> dict[str, Path | str]:
    """Zip member -> its text or the file to copy."""
    members: dict[str, Path | str] = {"setup.sh": SETUP_SH.format(version=__version__),
                                      "run_autograder": RUN_AUTOGRADER.format(version=__version__),
                                      "rubric.toml": rubric_text, f"wheels/{wheel.name}": wheel}
    if extra_wheels is not None:
        for path in sorted(extra_wheels.glob("*.whl")):
            members.setdefault(f"wheels/{path.name}", path)
    if starter is not None:
        from sanitykit.front.starter import tree_files

        for rel in tree_files(starter):
            members[f"starter/{rel}"] = starter / rel
    return members


def make_autograder(zip_path: Path, rubric_text: str, starter: Path | None = None, *,
                    wheel: Path | None = None, extra_wheels: Path | None = None) -> list[str]:
    """Write Gradescope's autograder zip; the names of its members.

    Args:
        zip_path: the .zip to write.
        rubric_text: the rubric's TOML (already validated by the caller).
        starter: the course's starter folder, or None.
        wheel: a sanitykit wheel to ship (default: built from this checkout).
        extra_wheels: a folder of dependency wheels to ship too (setup.sh then needs no network).
    """
    with tempfile.TemporaryDirectory(prefix="sanitykit-autograder-") as scratch:
        if wheel is None:
            wheel = build_wheel(Path(scratch))
        elif not wheel.is_file():
            raise AutograderError(f"{wheel}: no such wheel")
        members = bundle_files(rubric_text, starter, wheel, extra_wheels)
        zip_path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, content in members.items():
                info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
                # Scripts executable: Gradescope runs them as they are unpacked.
                info.external_attr = (0o755 if name in ("setup.sh", "run_autograder") else 0o644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, content if isinstance(content, str) else content.read_bytes())
    return list(members)
