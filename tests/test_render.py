"""Renderers read a hand-made Report: pinned plain text, JSON, JUnit counts, Gradescope shape."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from sanitykit import __version__
from sanitykit.engine.findings import Reason
from sanitykit.engine.results import CheckResult
from sanitykit.front.render.gradescope import gradescope_dict, render_gradescope
from sanitykit.front.render.json_ import render_json
from sanitykit.front.render.junit import render_junit
from sanitykit.front.render.text import render_text, rerun_command, summary_line
from sanitykit.front.report import Report

DROPOUT_STUB = "dropout_forward is not implemented yet"
STUB = Reason("not_implemented", ("dropout_forward",))


def small_report() -> Report:
    """Two suites, every status, a folded skip, a multi-line message and an import problem."""
    checks = [
        CheckResult("layers.affine.forward", "layers", "affine_forward", "pass",
                    "matches the reference", duration_s=0.012),
        CheckResult("layers.affine.gradcheck", "layers", "affine_backward", "fail",
                    "gradient of every input matches finite differences",
                    message="dw is wrong: max relative error 0.96 at dw[3, 1]\n"
                            "analytic = numerical / 50 everywhere",
                    hint="dw was divided by N again", duration_s=0.5),
        CheckResult("layers.relu.gradcheck", "layers", "relu_backward", "warn",
                    "gradient matches", message="x[2, 0] is 4e-6 from the kink", duration_s=0.02),
        CheckResult("layers.dropout.keep_ratio", "layers", "dropout_forward", "skip", "keep ratio",
                    message=DROPOUT_STUB, reason=STUB),
        CheckResult("layers.dropout.scaling", "layers", "dropout_forward", "skip", "scaling",
                    message=DROPOUT_STUB, reason=STUB),
        CheckResult("layers.dropout.test_mode", "layers", "dropout_forward", "skip", "identity",
                    message=DROPOUT_STUB, reason=STUB),
        CheckResult("losses.softmax.value", "losses", "softmax_loss", "error",
                    "matches the reference", message="softmax_loss raised IndexError",
                    duration_s=0.001, reason=Reason("raised", ("softmax_loss",), note="softmax_loss raised IndexError")),
        CheckResult("losses.svm.value", "losses", "svm_loss", "skip", "matches the reference",
                    message="svm_loss not found in the target", reason=Reason("missing", ("svm_loss",))),
    ]
    loading = {"conventions": {"dropout_p": "keep"},
               "problems": [{"module": "cs231n.optim", "file": "cs231n/optim.py", "line": 3,
                             "message": "SyntaxError: invalid syntax"}]}
    return Report("cs231n", seed=7, checks=checks, loading=loading)


EXPECTED_TEXT_90 = f"""\
sanitykit {__version__} · cs231n · seed 7
conventions: dropout_p=keep
could not import:
  cs231n/optim.py:3: SyntaxError: invalid syntax

layers  1 passed, 1 warned, 1 failed, 3 skipped
  ✓ PASS   layers.affine.forward    affine_forward   matches the reference           0.01s
  ✗ FAIL   layers.affine.gradcheck  affine_backward  gradient of every input         0.50s
                                                     matches finite differences
           dw is wrong: max relative error 0.96 at dw[3, 1]
           analytic = numerical / 50 everywhere
           hint: dw was divided by N again
           rerun: sanitykit check cs231n --only 'layers.affine.gradcheck' --seed 7
  ! WARN   layers.relu.gradcheck    relu_backward    gradient matches                0.02s
           x[2, 0] is 4e-6 from the kink
           rerun: sanitykit check cs231n --only 'layers.relu.gradcheck' --seed 7
  ○ SKIP   layers.dropout.*         dropout_forward  3 checks
           dropout_forward is not implemented yet

losses  1 error, 1 skipped
  ✗ ERROR  losses.softmax.value     softmax_loss     matches the reference           0.00s
           softmax_loss raised IndexError
           rerun: sanitykit check cs231n --only 'losses.softmax.value' --seed 7
  ○ SKIP   losses.svm.value         svm_loss         svm_loss not found

1 passed, 1 warned, 1 failed, 1 error, 4 skipped
"""


def test_plain_text_report_is_pinned_at_90_columns():
    assert render_text(small_report(), width=90) == EXPECTED_TEXT_90


def test_narrow_console_drops_the_subject_column_and_fits_80_columns():
    text = render_text(small_report(), width=80)
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    # ... but a failing row still names the function to open.
    assert "  ✗ FAIL   layers.affine.gradcheck  affine_backward: gradient of every     0.50s" in lines
    # The title wraps in its column rather than being cut.
    assert "                                    input matches finite differences" in lines
    # The rerun command is never cut in the middle of a word: it breaks with a shell continuation.
    narrow = render_text(small_report(), width=60).splitlines()
    assert "           rerun: sanitykit check cs231n \\" in narrow
    assert "                    --only 'layers.relu.gradcheck' --seed 7" in narrow
    assert "    --only 'layers.affine.gradcheck' --seed 7" in narrow  # too long to align: less indent


def skip(id, message, reason=None, **details):
    return CheckResult(id, id.split(".")[0], "sgd_momentum", "skip", "one and three steps match",
                       message=message, details=details, reason=reason)


BLAMED = ("fails only because the state is not carried between calls "
          "(see optim.sgd_momentum.state)")


@pytest.mark.parametrize("width", [60, 80, 100])
def test_a_skip_reason_is_read_in_full_on_its_own_line(width):
    report = Report("t", checks=[skip("optim.sgd_momentum.step", BLAMED + "\nevidence: curves"),
                                 skip("optim.sgd_momentum.defaults", "sgd_momentum is not "
                                      "implemented yet", Reason("not_implemented", ("sgd_momentum",)))])

    lines = render_text(report, width=width).splitlines()

    row = next(i for i, line in enumerate(lines) if "optim.sgd_momentum.step" in line)
    # The reason, whole, on the lines under the row (wrapped, never cut), indented like a message.
    # (At 60 columns the row's title takes a second line, in its own column, before the reason.)
    under = " ".join(line.strip() for line in lines[row + 1:row + 6] if line.startswith(" " * 11))
    assert BLAMED in under
    assert "evidence" not in "\n".join(lines)  # the first line is the reason; the rest is in JSON
    assert "           sgd_momentum is not implemented yet" in lines
    assert all(len(line) <= width for line in lines)


def test_a_name_not_found_stays_on_its_row_shortened_when_it_must():
    missing = [skip(f"layers.tanh.{k}", "tanh_forward not found in the target", Reason("missing", ("tanh_forward",)))
               for k in ("interface", "forward", "gradcheck")]

    wide = render_text(Report("t", checks=missing), width=100).splitlines()
    narrow = render_text(Report("t", checks=missing), width=84).splitlines()

    assert any(line.endswith("3 checks: tanh_forward not found in the target") for line in wide)
    assert any(line.endswith("3 checks: tanh_forward not found") for line in narrow)
    assert len(narrow) == len(wide)  # one line either way


def test_header_lines_wrap_with_a_hanging_indent():
    long = ("past: not installed here; sanitykit's stand-in answered its imports (xrange = range, "
            "basestring = unicode = str, long = int, old_div = Python 2 division)")
    loading = {"conventions_text": "FullyConnectedNet takes `dropout` and `use_batchnorm`; its "
                                   "default dtype is float32, rebuilt in float64 for checking",
               "shims": [long, "six: not installed here"]}

    lines = render_text(Report("t", loading=loading), width=60).splitlines()

    conventions = lines.index(next(line for line in lines if line.startswith("conventions: ")))
    assert lines[conventions + 1].startswith("  ") and not lines[conventions + 1].startswith("   ")
    shims = lines.index("shims:")
    assert lines[shims + 1].startswith("  past: ")
    six = lines.index("  six: not installed here")
    continued = lines[shims + 2:six]
    assert continued and all(line.startswith("    ") for line in continued)
    assert " ".join(line.strip() for line in [lines[shims + 1], *continued]) == "past: " + long[6:]
    assert all(len(line) <= 60 for line in lines)


def printing_report() -> Report:
    checks = [CheckResult("layers.affine.forward", "layers", "affine_forward", "pass", "t"),
              *(CheckResult(f"layers.relu.{k}", "layers", "relu_backward", "pass", "t",
                            details={"printed": "\nrelu_backward (4, 5) (4, 5)\n" * 2})
                for k in ("interface", "forward", "gradcheck"))]
    return Report("t", checks=checks)


def test_printed_output_is_noted_once_in_the_text_report():
    text = render_text(printing_report(), width=160)

    notes = [line for line in text.splitlines() if "printed" in line]
    assert notes == ["note: your code printed during 3 checks (first in relu_backward: "
                     "'relu_backward (4, 5) (4, 5)'); --format json keeps it in details.printed"]
    assert "printed" not in render_text(small_report(), width=120)


def test_printed_output_is_noted_in_the_gradescope_output():
    output = gradescope_dict(printing_report())["output"]

    assert "your code printed during 3 checks" in output and "relu_backward (4, 5)" in output
    assert "printed" not in gradescope_dict(small_report())["output"]


def test_ascii_only_uses_ascii_glyphs():
    text = render_text(small_report(), width=90, ascii_only=True)
    assert text.isascii()
    assert "  x FAIL   layers.affine.gradcheck  affine_backward  gradient of every input         0.50s" in text
    assert "  E ERROR  losses.softmax.value" in text
    assert f"sanitykit {__version__} - cs231n - seed 7" in text


def test_empty_report_says_no_checks_ran():
    assert render_text(Report("x.py"), width=60) == (
        f"sanitykit {__version__} · x.py · seed 0\nno checks ran\n\n"
        "0 passed, 0 warned, 0 failed, 0 errors, 0 skipped\n")


def test_summary_line_counts_every_status():
    assert summary_line({"pass": 12, "warn": 1, "fail": 3, "error": 0, "skip": 4}) == \
        "12 passed, 1 warned, 3 failed, 0 errors, 4 skipped"


def test_rerun_command_quotes_a_target_with_spaces():
    assert rerun_command("my hw/cs231n", "layers.affine.forward", 3) == \
        "sanitykit check 'my hw/cs231n' --only 'layers.affine.forward' --seed 3"


def test_message_with_markup_like_brackets_is_printed_verbatim():
    report = Report("t", checks=[CheckResult("layers.a.b", "layers", "f", "fail", "t",
                                             message="[bold]dx[0, 1][/bold] is wrong")])
    assert "[bold]dx[0, 1][/bold] is wrong" in render_text(report, width=80)


def test_rich_console_renders_report_with_theme_styles():
    import io

    from rich.console import Console

    console = Console(file=io.StringIO(), record=True, width=90, force_terminal=True,
                      color_system="standard")
    console.print(small_report())
    assert "\x1b[" in console.export_text(styles=True, clear=False)  # coloured in a terminal
    assert console.export_text().splitlines()[0] == f"sanitykit {__version__} · cs231n · seed 7"


# ---------------------------------------------------------------- JSON

def test_json_is_exactly_the_report_dict():
    report = small_report()
    data = json.loads(render_json(report))
    assert data == json.loads(json.dumps(report.to_dict()))
    assert list(data) == ["sanitykit_version", "target", "seed", "summary", "loading", "checks"]
    assert data["summary"] == {"pass": 1, "warn": 1, "fail": 1, "error": 1, "skip": 4}
    assert set(data["checks"][0]) == {"id", "suite", "subject", "status", "title", "message",
                                      "hint", "diagnosis", "reason", "details", "duration_s"}
    assert data["checks"][3]["reason"] == {"kind": "not_implemented", "responsible": ["dropout_forward"],
                                           "see": []}
    assert data["checks"][0]["diagnosis"] is None and data["checks"][0]["reason"] is None


# ---------------------------------------------------------------- JUnit

def test_junit_parses_and_counts_match_per_suite_and_overall():
    root = ET.fromstring(render_junit(small_report()))
    assert root.tag == "testsuites"
    assert {k: root.get(k) for k in ("tests", "failures", "errors", "skipped")} == \
        {"tests": "8", "failures": "1", "errors": "1", "skipped": "4"}
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert {k: suites["sanitykit.layers"].get(k) for k in ("tests", "failures", "errors", "skipped")} == \
        {"tests": "6", "failures": "1", "errors": "0", "skipped": "3"}
    assert {k: suites["sanitykit.losses"].get(k) for k in ("tests", "failures", "errors", "skipped")} == \
        {"tests": "2", "failures": "0", "errors": "1", "skipped": "1"}
    # Recount from the children: the attributes agree with the cases.
    for suite in root.findall("testsuite"):
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases)
        assert int(suite.get("failures")) == sum(c.find("failure") is not None for c in cases)
        assert int(suite.get("skipped")) == sum(c.find("skipped") is not None for c in cases)


def test_junit_failure_holds_the_diagnosis_and_warn_is_a_passing_case():
    root = ET.fromstring(render_junit(small_report()))
    cases = {c.get("name"): c for c in root.iter("testcase")}
    failure = cases["layers.affine.gradcheck"].find("failure")
    assert cases["layers.affine.gradcheck"].get("classname") == "sanitykit.layers"
    assert failure.get("message") == "dw is wrong: max relative error 0.96 at dw[3, 1]"
    assert "analytic = numerical / 50 everywhere" in failure.text
    assert "hint: dw was divided by N again" in failure.text
    assert "--only 'layers.affine.gradcheck' --seed 7" in failure.text
    warn = cases["layers.relu.gradcheck"]
    assert warn.find("failure") is None and warn.find("skipped") is None
    assert "4e-6 from the kink" in warn.find("system-out").text
    assert cases["losses.svm.value"].find("skipped").get("message") == "svm_loss not found in the target"
    assert cases["losses.softmax.value"].find("error").get("message") == "softmax_loss raised IndexError"


def test_junit_survives_control_characters_in_a_message():
    report = Report("t", checks=[CheckResult("layers.a.b", "layers", "f", "fail", "t",
                                             message="printed \x1b[31mred\x00")])
    failure = ET.fromstring(render_junit(report)).find(".//failure")
    assert "red" in failure.get("message")


# ---------------------------------------------------------------- Gradescope

def test_gradescope_uses_the_default_rubric_of_grade():
    data = gradescope_dict(small_report())
    assert set(data) == {"score", "tests", "output", "output_format", "test_output_format"}
    tests = {t["name"].split(":")[0]: t for t in data["tests"]}
    # A function this submission does not have (course years differ) is left out.
    assert "losses.svm.value" not in tests and len(tests) == 7
    # The families that apply keep their whole points (layers 40, losses 10), to the hundredth.
    assert round(sum(t["max_score"] for t in tests.values()), 2) == 50
    assert data["score"] == round(sum(t["score"] for t in tests.values()), 2)
    # A gradient check is worth more than a forward check of the same family.
    assert tests["layers.affine.gradcheck"]["max_score"] > tests["layers.affine.forward"]["max_score"]
    forward = tests["layers.affine.forward"]
    assert (forward["status"], forward["score"], forward["tags"], forward["number"]) == (
        "passed", forward["max_score"], ["layers"], "1.1")
    assert tests["losses.softmax.value"]["number"] == "2.1"
    assert tests["layers.relu.gradcheck"]["status"] == "passed"
    assert "4e-6 from the kink" in tests["layers.relu.gradcheck"]["output"]
    assert tests["layers.affine.gradcheck"]["status"] == "failed"
    assert "dw was divided by N again" in tests["layers.affine.gradcheck"]["output"]
    # A stub earns nothing but still counts in the maximum.
    stub = tests["layers.dropout.scaling"]
    assert (stub["score"], stub["status"]) == (0, "failed") and stub["max_score"] > 0
    assert stub["output"] == f"skipped: {DROPOUT_STUB}"
    assert "1 failed" in data["output"] and "cs231n/optim.py:3" in data["output"]


def test_gradescope_rubric_first_matching_glob_wins_and_unmatched_are_left_out():
    rubric = {"checks": {"layers.affine.*": {"points": 5, "visibility": "after_due_date"},
                         "layers.*": 2},
              "visibility": "visible"}
    data = gradescope_dict(small_report(), rubric)
    tests = {t["name"].split(":")[0]: t for t in data["tests"]}
    assert set(tests) == {"layers.affine.forward", "layers.affine.gradcheck", "layers.relu.gradcheck",
                          "layers.dropout.keep_ratio", "layers.dropout.scaling", "layers.dropout.test_mode"}
    assert (tests["layers.affine.forward"]["score"], tests["layers.affine.forward"]["max_score"]) == (5, 5)
    assert tests["layers.affine.forward"]["visibility"] == "after_due_date"
    assert (tests["layers.relu.gradcheck"]["score"], tests["layers.relu.gradcheck"]["visibility"]) == (2, "visible")
    assert data["score"] == 7
    assert data["visibility"] == "visible"
    assert json.loads(render_gradescope(small_report(), rubric)) == data


def test_gradescope_rubric_mistakes_name_the_entry():
    with pytest.raises(ValueError, match="'layers.*'.*unknown key 'pts'"):
        gradescope_dict(small_report(), {"layers.*": {"pts": 2}})
    with pytest.raises(ValueError, match="visibility 'public'"):
        gradescope_dict(small_report(), {"layers.*": {"points": 1, "visibility": "public"}})


def test_report_renders_in_jupyter_as_html_and_text():
    import sanitykit as sk

    report = sk.check("sanitykit.reference", suites=["losses"], only=["losses.softmax.value"])
    bundle = report._repr_mimebundle_()
    assert "losses.softmax.value" in bundle["text/plain"] and "\x1b" not in bundle["text/plain"]
    # The notebook shows the HTML of `check --format html`: a collapsible section per suite.
    assert '<details class="suite" id="suite-losses"' in bundle["text/html"]
    assert 'id="check-losses.softmax.value"' in bundle["text/html"]


def test_header_says_how_the_target_was_read_in_words():
    from sanitykit.front.render.text import loading_lines

    parts = dict(loading_lines({"source": "cs231n/ from assignment2/",
                                "conventions": {"dropout_p": "drop"},
                                "conventions_text": "dropout's p is the drop probability"}))
    assert parts["loaded"] == ["cs231n/ from assignment2/"]
    assert parts["conventions"] == ["dropout's p is the drop probability"]
    assert dict(loading_lines({"conventions": {"dropout_p": "keep"}}))["conventions"] == ["dropout_p=keep"]


def test_a_helper_file_missing_a_package_is_a_note_not_an_import_failure():
    from sanitykit.front.render.text import loading_lines

    parts = dict(loading_lines({"problems": [
        {"file": "cs231n/layers.py", "line": 3, "message": "SyntaxError: invalid syntax"},
        {"file": "cs231n/coco_utils.py", "line": 3, "message": "No module named 'h5py'", "note": True}]}))
    assert parts["could not import"] == ["cs231n/layers.py:3: SyntaxError: invalid syntax"]
    assert parts["not checked"] == ["cs231n/coco_utils.py:3: No module named 'h5py'"]


def test_header_names_the_name_map_and_where_it_came_from():
    from sanitykit.front.render.text import loading_lines

    parts = dict(loading_lines({"name_map": {"affine_forward": "my_affine"}, "name_map_source": "--map"}))
    assert parts["name map"] == ["affine_forward=my_affine (from --map)"]
