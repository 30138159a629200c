"""The catalogue as a reader finds it: every id written where its check is declared."""
from __future__ import annotations

import inspect
import json
import re

from typer.testing import CliRunner

from sanitykit.checks.registry import catalogue
from sanitykit.engine.patterns import PATTERNS
from sanitykit.front.cli import app


def test_every_check_id_is_written_literally_at_its_declaration():
    for spec in catalogue():
        func = inspect.unwrap(spec.func)
        source = inspect.getsource(inspect.getmodule(func))
        assert f'@check("{spec.id}"' in source, spec.id
        # A traceback names a real function, not a lambda or a closure made in a loop.
        assert func.__name__ != "<lambda>" and "<locals>" not in func.__qualname__, (spec.id, func.__qualname__)


def test_the_declaration_is_the_function_that_runs():
    for spec in catalogue():
        func = inspect.unwrap(spec.func)
        lines, start = inspect.getsourcelines(func)
        decorators = "".join(lines[:12])
        assert f'"{spec.id}"' in decorators, (spec.id, func.__qualname__)


def test_list_patterns_prints_the_vocabulary_one_line_each():
    result = CliRunner().invoke(app, ["list", "--patterns"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for tag, meaning in PATTERNS.items():
        assert any(re.match(rf"{tag}\s+{re.escape(meaning)}\s*$", line) for line in lines), tag
    assert lines[-1] == f"{len(PATTERNS)} patterns"


def test_list_patterns_as_json():
    result = CliRunner().invoke(app, ["list", "--patterns", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [d["pattern"] for d in data] == list(PATTERNS)
    assert all(d["meaning"] for d in data)
