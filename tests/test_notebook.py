"""A notebook executed headless, as a student's assignment notebook is: what each cell shows."""
from __future__ import annotations

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

CELLS = [
    """
import numpy as np
import sanitykit as sk
from sanitykit.reference import affine_forward

def affine_backward(dout, cache):
    x, w, b = cache
    dx = dout.dot(w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T.dot(dout) / x.shape[0]  # the classic mistake: dout has the 1/N
    return dx, dw, dout.sum(axis=0)

rng = np.random.default_rng(0)
x, w, b = rng.standard_normal((4, 5)), rng.standard_normal((5, 3)), rng.standard_normal(3)
""",
    "sk.gradcheck(affine_forward, affine_backward, x, w, b)",
    "report = sk.check(globals(), only='layers.affine.*')\nreport",
    "report.by_id('layers.affine.gradcheck')",
    "[name for name in ('gradcheck', 'check', 'lr_find', 'activations', 'overfit') if name in dir(sk)]",
]


@pytest.fixture(scope="module")
def shown():
    """What each cell's last line displayed: {mime type: data} per cell."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c.strip()) for c in CELLS])
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3").execute()
    results = []
    for cell in notebook.cells:
        found = [o for o in cell.outputs if o.output_type == "execute_result"]
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, errors
        results.append(found[0].data if found else {})
    return results


def test_a_gradcheck_result_shows_html_and_its_diagnosis_as_plain_text(shown):
    data = shown[1]
    assert "<pre" in data["text/html"] and "dw" in data["text/html"]
    plain = data["text/plain"]
    assert "\x1b" not in plain
    assert "dw is wrong" in plain and "likely: dw was divided by N" in plain


def test_a_report_of_the_notebooks_own_functions_shows_its_html_and_clean_text(shown):
    data = shown[2]
    assert 'id="check-layers.affine.gradcheck"' in data["text/html"] and "<details" in data["text/html"]
    assert "\x1b" not in data["text/plain"]
    assert "rerun: sk.check(globals(), only='layers.affine.gradcheck', seed=0)" in data["text/plain"]


def test_a_single_check_result_shows_its_verdict_not_a_dataclass_repr(shown):
    data = shown[3]
    assert "FAIL" in data["text/html"]
    assert data["text/plain"].startswith("✗ FAIL  layers.affine.gradcheck")
    assert "CheckResult(" not in data["text/plain"] and "\x1b" not in data["text/plain"]


def test_tab_completion_lists_the_public_api(shown):
    assert shown[4]["text/plain"] == "['gradcheck', 'check', 'lr_find', 'activations', 'overfit']"
