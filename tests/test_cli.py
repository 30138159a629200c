"""The command line through typer's CliRunner: exit codes, formats, one-line errors."""
from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from sanitykit import __version__
from sanitykit.front.cli import DEMO_ROOT, app

ASSETS = Path(__file__).parent / "assets"
runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_version():
    result = invoke("--version")

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"sanitykit {__version__}"


def test_help_lists_the_commands():
    result = invoke("--help")

    assert result.exit_code == 0, result.output
    for command in ("check", "list", "demo"):
        assert command in result.stdout


def test_a_correct_target_exits_0():
    result = invoke("check", ASSETS / "assignment", "--only", "layers.affine.forward")

    assert result.exit_code == 0, result.output
    assert "layers.affine.forward" in result.stdout


def test_a_failing_check_exits_1_and_shows_the_diagnosis():
    result = invoke("check", ASSETS / "buggy", "--only", "layers.affine.*")

    assert result.exit_code == 1, result.output
    assert "layers.affine.forward" in result.stdout
    assert "Traceback" not in result.output


def test_a_missing_target_exits_2_with_one_line():
    result = invoke("check", ASSETS / "no_such_folder")

    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "no such file or folder" in result.stderr
    assert "Traceback" not in result.output


def test_json_on_stdout_has_the_design_fields_even_when_user_code_prints():
    # noisy/ prints at import and inside relu_forward.
    result = invoke("check", ASSETS / "noisy", "--only", "layers.relu.*", "--format", "json")

    assert result.exit_code in (0, 1), result.output
    report = json.loads(result.stdout)
    assert set(report) == {"sanitykit_version", "target", "seed", "summary", "loading", "checks"}
    assert set(report["summary"]) == {"pass", "warn", "fail", "error", "skip"}
    assert set(report["loading"]) >= {"conventions", "substitutions", "shims", "problems"}
    assert report["checks"], "no check ran"
    for entry in report["checks"]:
        assert set(entry) >= {"id", "suite", "subject", "status", "title", "message", "hint",
                              "details", "duration_s"}
        assert entry["id"].startswith("layers.relu.")


def test_an_import_problem_is_in_the_json_loading_block():
    result = invoke("check", ASSETS / "broken_tree", "--only", "optim.adam.*", "--format", "json")

    report = json.loads(result.stdout)
    [problem] = report["loading"]["problems"]
    assert (problem["file"], problem["line"]) == ("cs231n/optim.py", 5)


def test_output_writes_the_report_to_a_file(tmp_path):
    out = tmp_path / "report.json"

    result = invoke("check", ASSETS / "buggy", "--only", "layers.affine.*", "--format", "json", "--output", out)

    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert json.loads(out.read_text())["summary"]["fail"] >= 1


def test_name_map_option_finds_a_renamed_function():
    result = invoke("check", ASSETS / "single_file" / "my_layers.py", "--only", "layers.relu.forward",
                    "--map", "relu_forward=relu_forward", "--format", "json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["loading"]["name_map"] == {"relu_forward": "relu_forward"}


def test_bad_command_lines_exit_2():
    assert invoke("check", ASSETS / "assignment", "--map", "no_equals_sign").exit_code == 2
    assert invoke("check", ASSETS / "assignment", "--suite", "nonsense").exit_code == 2
    assert invoke("check", ASSETS / "assignment", "--format", "yaml").exit_code == 2
    assert invoke("check", ASSETS / "assignment", "--timeout", "0").exit_code == 2
    assert invoke("check").exit_code == 2


def test_list_prints_the_catalogue_as_a_table_and_as_json():
    table = invoke("list", "--suite", "layers")
    as_json = invoke("list", "--format", "json")

    assert table.exit_code == 0, table.output
    assert "layers.affine.forward" in table.stdout
    entries = json.loads(as_json.stdout)
    assert {"id", "suite", "subject", "title"} <= set(entries[0])
    assert "layers.affine.forward" in {e["id"] for e in entries}


def test_the_demo_tree_is_bundled():
    assert (DEMO_ROOT / "cs231n" / "layers.py").is_file()


def test_demo_exits_0_and_says_how_to_run_on_your_own_code():
    result = invoke("demo", "--suite", "losses")

    assert result.exit_code == 0, result.output
    assert "sanitykit check path/to/assignment2" in result.stdout
    assert "losses.softmax" in result.stdout


def test_output_written_to_the_descriptor_never_corrupts_json(tmp_path):
    # os.write(1, ...) bypasses sys.stdout: the fences capture the descriptor itself.
    import json
    import subprocess
    import sys

    package = tmp_path / "cs231n"
    package.mkdir()
    (package / "layers.py").write_text(
        "import os\nos.write(1, b'junk at import\\n')\n"
        "from sanitykit.reference.layers import *\n"
        "def relu_forward(x):\n    os.write(1, b'junk in relu\\n')\n    os.write(2, b'err\\n')\n"
        "    import numpy as np\n    return np.maximum(0, x), x\n")
    done = subprocess.run([sys.executable, "-c", "from sanitykit.front.cli import main; main()",
                           "check", str(tmp_path),
                           "--only", "layers.relu.interface", "--format", "json"],
                          capture_output=True, text=True, timeout=120)
    report = json.loads(done.stdout)
    assert done.returncode == 0, done.stderr
    assert report["checks"][0]["details"]["printed"].startswith("junk in relu\nerr\n")
