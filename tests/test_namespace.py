"""sk.check on what a notebook defines: a dict such as globals(), or an object with the names."""
from __future__ import annotations

import types

import numpy as np

import sanitykit as sk
from sanitykit import reference as ref
from sanitykit.front.namespace import GLOBALS_LABEL, NamespaceTarget

AFFINE_ONLY = "layers.affine.*"


def correct_affine_backward(dout, cache):
    x, w, b = cache
    dx = dout.dot(w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T.dot(dout)
    return dx, dw, dout.sum(axis=0)


def batch_divided_affine_backward(dout, cache):
    # The classic mistake: dw divided by N although dout already carries the 1/N of the loss.
    dx, dw, db = correct_affine_backward(dout, cache)
    return dx, dw / cache[0].shape[0], db


def notebook_globals(**names) -> dict:
    """A dict shaped like a notebook's globals() (it has a __name__)."""
    return {"__name__": "__main__", "np": np, **names}


def test_a_dict_of_cell_functions_is_checked_and_the_rerun_line_is_a_python_call():
    cells = notebook_globals(affine_forward=ref.affine_forward, affine_backward=batch_divided_affine_backward)
    report = sk.check(cells, only=AFFINE_ONLY)
    assert report.target == GLOBALS_LABEL
    assert report.by_id("layers.affine.gradcheck").status == "fail"
    assert report.by_id("layers.affine.gradcheck").diagnosis.pattern == "batch_size"
    text = report._repr_mimebundle_()["text/plain"]
    assert "rerun: sk.check(globals(), only='layers.affine.gradcheck', seed=0)" in text


def test_running_again_after_redefining_a_function_checks_the_new_one():
    cells = notebook_globals(affine_forward=ref.affine_forward, affine_backward=batch_divided_affine_backward)
    assert not sk.check(cells, only=AFFINE_ONLY).ok
    cells["affine_backward"] = correct_affine_backward  # the student re-runs the edited cell
    assert sk.check(cells, only=AFFINE_ONLY).ok


def test_an_object_with_the_names_and_a_name_map_like_the_cli():
    names = types.SimpleNamespace(my_affine=ref.affine_forward, affine_backward=correct_affine_backward)
    report = sk.check(names, only=AFFINE_ONLY, name_map={"affine_forward": "my_affine"})
    assert report.summary["pass"] == len(report.checks) > 0
    assert report.loading["name_map"] == {"affine_forward": "my_affine"}
    unmapped = sk.check(names, only=AFFINE_ONLY)
    assert {r.status for r in unmapped.checks if r.subject == "affine_forward"} == {"skip"}


def test_an_exception_in_a_cell_function_is_the_students_error_not_sanitykits():
    def affine_forward(x, w, b):
        return x.dot(w) + b[0, 0], None  # b is 1-d: IndexError in the student's code

    report = sk.check(notebook_globals(affine_forward=affine_forward), only=["layers.affine.interface"])
    result = report.by_id("layers.affine.interface")
    assert result.status == "error"
    assert result.reason.kind == "raised"
    assert "internal error" not in result.message


def test_swapping_a_reference_in_rebinds_the_notebook_globals_and_puts_them_back():
    cells = notebook_globals(affine_forward=ref.affine_forward)
    target = NamespaceTarget(cells)
    with target.swapped({"affine_forward": "stand-in"}):
        assert cells["affine_forward"] == "stand-in" and target.get("affine_forward") == "stand-in"
    assert cells["affine_forward"] is ref.affine_forward


def test_a_module_in_the_namespace_is_not_mistaken_for_a_function():
    target = NamespaceTarget(notebook_globals(layers=types.ModuleType("layers")))
    assert target.get("layers") is None
