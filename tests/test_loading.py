"""Target loading: every kind of target, per-module problems, name maps, isolation between targets."""
from __future__ import annotations

import codecs
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from sanitykit.front.loading import (LoadedTarget, TargetError, defined_names, load_target,
                                     parse_map_items, resolve_layout)
from sanitykit.front.sources import UnreadableSource, decode_source

ASSETS = Path(__file__).parent / "assets"


def test_assignment_root_loads_cs231n_with_absolute_and_relative_imports():
    target = load_target(ASSETS / "assignment")

    assert set(target.modules) >= {"cs231n.layers", "cs231n.layer_utils", "cs231n.classifiers.fc_net"}
    assert target.problems == []
    x, w, b = np.ones((2, 3)), np.ones((3, 4)), np.arange(4.0)
    out, _ = target.get("affine_forward")(x, w, b)
    np.testing.assert_array_equal(out, np.tile(3.0 + np.arange(4.0), (2, 1)))  # 1*1 summed over 3 inputs, plus b


def test_a_name_is_found_in_the_module_that_defines_it():
    target = load_target(ASSETS / "assignment")

    # fc_net.py re-imports affine_forward with `from ..layers import *`; layers.py defines it.
    assert target.get("affine_forward").__module__.endswith("cs231n.layers")
    assert target.get("FullyConnectedNet").__module__.endswith("cs231n.classifiers.fc_net")
    assert target.get("no_such_function") is None


def test_loading_leaves_no_cs231n_alias_in_sys_modules():
    load_target(ASSETS / "assignment")

    assert not [k for k in sys.modules if k == "cs231n" or k.startswith("cs231n.")]


def test_two_targets_in_one_process_share_no_modules():
    first = load_target(ASSETS / "assignment")
    second = load_target(ASSETS / "assignment")

    assert first.get("affine_forward") is not second.get("affine_forward")
    assert first.get("affine_forward").__module__ != second.get("affine_forward").__module__
    assert not set(map(id, first.modules.values())) & set(map(id, second.modules.values()))


def test_the_cs231n_package_itself_is_a_target():
    target = load_target(ASSETS / "assignment" / "cs231n")

    assert target.get("sgd") is not None
    assert target.get("affine_relu_forward") is not None


def test_a_bare_py_file_is_a_target():
    target = load_target(ASSETS / "single_file" / "my_layers.py")

    out, _ = target.get("relu_forward")(np.array([-1.0, 2.0]))
    np.testing.assert_array_equal(out, [0.0, 2.0])


def test_a_folder_of_modules_imports_siblings_by_bare_name():
    target = load_target(ASSETS / "modules_folder")

    assert target.problems == []
    next_w, _ = target.get("sgd")(np.array([1.0]), np.array([10.0]))
    np.testing.assert_allclose(next_w, [0.9])  # 1 - 1e-2 * 10
    assert "layers" not in sys.modules


def test_a_syntax_error_breaks_only_its_own_module():
    target = load_target(ASSETS / "broken_tree")

    assert target.get("relu_forward") is not None       # layers.py still loads
    assert target.get("relu_twice") is not None         # and so does what imports it
    assert target.get("adam") is None and target.get("sgd") is None
    [problem] = target.problems
    assert (problem.module, problem.file, problem.line) == ("cs231n.optim", "cs231n/optim.py", 5)
    assert problem.message.startswith("SyntaxError")
    assert target.problem_for("adam") == problem.one_line()
    assert "cs231n/optim.py:5" in target.problem_for("sgd")
    assert target.problem_for("relu_forward") is None
    assert target.problem_for("svm_loss") is None        # absent, not broken
    assert target.loading_info()["problems"] == [
        {"module": "cs231n.optim", "file": "cs231n/optim.py", "line": 5, "message": problem.message}]


def test_defined_names_reads_a_file_that_does_not_parse():
    assert defined_names(ASSETS / "broken_tree" / "cs231n" / "optim.py") == ("sgd", "adam")


def test_name_map_from_pyproject_beside_the_target():
    target = load_target(ASSETS / "mapped")

    assert target.get("affine_forward") is target.modules["layers"].my_affine
    assert target.loading_info()["name_map"] == {"affine_forward": "my_affine"}


def test_name_map_argument_overrides_names():
    target = load_target(ASSETS / "single_file" / "my_layers.py", {"softmax_loss": "relu_forward"})

    assert target.get("softmax_loss") is target.get("relu_forward")


def test_output_printed_at_import_is_captured(capsys):
    target = load_target(ASSETS / "noisy")

    assert capsys.readouterr() == ("", "")
    assert "hello TA" in target.import_output


def test_swapped_rebinds_global_names_in_every_module_and_restores_them():
    target = load_target(ASSETS / "assignment")
    net = target.get("FullyConnectedNet")()
    X = np.ones((2, 4))
    original = net.loss(X)

    def zero_affine(x, w, b):
        return np.zeros((x.shape[0], w.shape[1])), None

    with target.swapped({"affine_forward": zero_affine}):
        np.testing.assert_array_equal(net.loss(X), np.zeros((2, 3)))
        assert target.get("affine_forward") is zero_affine
    np.testing.assert_array_equal(net.loss(X), original)
    assert target.get("affine_forward").__module__.endswith("cs231n.layers")


def test_swapped_restores_even_when_the_body_raises():
    target = load_target(ASSETS / "assignment")
    before = target.get("relu_forward")

    with pytest.raises(RuntimeError):
        with target.swapped({"relu_forward": print}):
            raise RuntimeError("boom")
    assert target.get("relu_forward") is before


def test_an_installed_dotted_module_is_a_target():
    target = load_target("json")

    assert target.get("dumps") is not None
    assert isinstance(target, LoadedTarget)


@pytest.mark.parametrize("spec, words", [
    ("tests/assets/no/such/folder", "no such file or folder"),
    (str(ASSETS / "mapped" / "pyproject.toml"), "is not a .py file, a folder"),
    ("no_such_module_anywhere.sub", "no such file, folder or importable module"),
])
def test_unloadable_targets_raise_a_one_line_target_error(spec, words):
    with pytest.raises(TargetError) as info:
        load_target(spec)

    assert words in str(info.value)
    assert "\n" not in str(info.value)


def test_a_folder_without_python_modules_is_a_target_error(tmp_path):
    (tmp_path / "notes.txt").write_text("nothing here")

    with pytest.raises(TargetError, match="no Python modules"):
        load_target(tmp_path)


def test_layout_kinds():
    assert resolve_layout(ASSETS / "assignment").kind == "assignment"
    assert resolve_layout(ASSETS / "assignment" / "cs231n").kind == "package"
    assert resolve_layout(ASSETS / "modules_folder").kind == "folder"
    assert resolve_layout(ASSETS / "single_file" / "my_layers.py").kind == "file"


def test_a_module_that_exits_or_loops_at_import_is_a_problem(tmp_path):
    (tmp_path / "quits.py").write_text("import sys\nsys.exit(3)\n")
    (tmp_path / "loops.py").write_text("while True:\n    pass\n")
    (tmp_path / "fine.py").write_text("def sgd(w, dw, config=None):\n    return w, config\n")

    target = load_target(tmp_path, timeout=0.5)

    assert target.get("sgd") is not None
    messages = {p.module: p.message for p in target.problems}
    assert "sys.exit(3)" in messages["quits"]
    assert "did not finish" in messages["loops"]


def test_parse_map_items_rejects_malformed_items():
    assert parse_map_items(["affine_forward=my_affine"]) == {"affine_forward": "my_affine"}
    with pytest.raises(ValueError, match="NAME=OTHER"):
        parse_map_items(["affine_forward"])


def test_six_is_answered_by_a_stand_in_when_not_installed(tmp_path):
    """The course's data_utils.py: `from six.moves import cPickle as pickle` (six is no dependency)."""
    if "six" in sys.modules or _installed("six"):
        pytest.skip("six is installed here: the real package answers")
    (tmp_path / "data_utils.py").write_text(
        "import six\nfrom six.moves import cPickle as pickle\nfrom six.moves import range\n"
        "def roundtrip(obj):\n    return pickle.loads(pickle.dumps(obj))\n"
        "def pairs(d):\n    return sorted(six.iteritems(d))\n"
        "def is_text(s):\n    return isinstance(s, six.string_types) and six.PY3 and not six.PY2\n"
        "def count(n):\n    return list(range(n))\n")

    target = load_target(tmp_path)

    assert target.problems == []
    assert any(s.startswith("six: not installed here") for s in target.shims)
    assert target.get("roundtrip")({"a": [1, 2]}) == {"a": [1, 2]}
    assert target.get("pairs")({"b": 2, "a": 1}) == [("a", 1), ("b", 2)]
    assert target.get("is_text")("x") and target.get("count")(3) == [0, 1, 2]


def _installed(name):
    import importlib.util

    return importlib.util.find_spec(name) is not None


def test_a_helper_needing_a_missing_package_is_a_note_and_breaks_no_check(tmp_path):
    """data_utils.py importing imageio (not installed) defines nothing checked: a note, not an alarm;
    a module with a checked name failing the same way stays a plain problem."""
    if _installed("imageio_sanitykit_absent"):
        pytest.skip("unexpectedly installed")
    (tmp_path / "data_utils.py").write_text(
        "from imageio_sanitykit_absent import imread\ndef load_CIFAR10(root):\n    return imread(root)\n")
    (tmp_path / "layers.py").write_text(
        "import numpy as np\nfrom scipy_sanitykit_absent.misc import imread\n"
        "def relu_forward(x):\n    return np.maximum(0, x), x\n")
    (tmp_path / "optim.py").write_text("def sgd(w, dw, config=None):\n    config = config or {}\n"
                                       "    config.setdefault('learning_rate', 1e-2)\n"
                                       "    return w - config['learning_rate'] * dw, config\n")

    target = load_target(tmp_path)
    problems = {p["file"]: p for p in target.loading_info()["problems"]}

    assert problems["data_utils.py"].get("note") is True
    assert "a package not installed here" in problems["data_utils.py"]["message"]
    assert "note" not in problems["layers.py"]  # relu_forward is lost: that one is a real problem
    from sanitykit.front.runner import check

    report = check(tmp_path, suites=["optim"])
    assert [c.id for c in report.checks if c.status == "error"] == []


# ---------------------------------------------------------------- reading sources (issue 19)

@pytest.mark.parametrize("data, found, line", [
    (codecs.BOM_UTF16_LE + "x = 1\n".encode("utf-16-le"), "saved as UTF-16", 1),
    (codecs.BOM_UTF32_LE + "x = 1\n".encode("utf-32-le"), "saved as UTF-32", 1),
    (b"x = 1\ny = 2\nz = '\x00'\n", "a NUL byte on line 3", 3),
    (b"x = 1\n# \xe9t\xe9\n", "byte 0xe9 on line 2 is not UTF-8", 2),
    (b"# -*- coding: ascii -*-\nx = '\xc3\xa9'\n", "byte 0xc3 on line 2 is not valid ascii", 2),
    (b"# -*- coding: klingon -*-\nx = 1\n", "an encoding Python does not know ('klingon')", None),
    (codecs.BOM_UTF8 + b"# -*- coding: latin-1 -*-\nx = 1\n", "UTF-8 byte-order mark but its coding line", None),
])
def test_a_source_python_cannot_decode_says_what_is_in_it(data, found, line):
    with pytest.raises(UnreadableSource) as info:
        decode_source(data, "layers.py")

    assert found in info.value.what
    assert info.value.line == line
    with pytest.raises((SyntaxError, ValueError, UnicodeDecodeError)):  # Python agrees it cannot be read
        compile(importlib.util.decode_source(data), "layers.py", "exec")


@pytest.mark.parametrize("data", [
    b"# -*- coding: latin-1 -*-\nname = 'caf\xe9'\n",
    codecs.BOM_UTF8 + "name = 'café'\n".encode(),
    "name = 'café'\r\n".encode(),
])
def test_a_source_is_read_as_python_reads_it(data):
    assert decode_source(data, "layers.py") == importlib.util.decode_source(data)


def test_defined_names_reads_a_file_python_cannot_decode(tmp_path):
    source = "def affine_forward(x, w, b):\n    pass\n\n\nclass FullyConnectedNet:\n    pass\n"
    for name, data in (("utf16.py", codecs.BOM_UTF16_LE + source.encode("utf-16-le")),
                       ("bare16.py", source.encode("utf-16-be")),
                       ("latin.py", ("# caf\xe9\n" + source).encode("latin-1"))):
        (tmp_path / name).write_bytes(data)
        assert defined_names(tmp_path / name) == ("affine_forward", "FullyConnectedNet"), name


def test_an_import_failure_is_blamed_on_the_failing_file_with_its_chain(tmp_path):
    (tmp_path / "layers.py").write_text("raise RuntimeError('boom')\ndef relu_forward(x):\n    return x, x\n")
    (tmp_path / "layer_utils.py").write_text("from layers import *\ndef affine_relu_forward(x, w, b):\n    pass\n")

    problems = {p.module: p for p in load_target(tmp_path).problems}

    assert problems["layers"].where() == "layers.py:1"
    assert problems["layer_utils"].where() == "layers.py:1 (imported by layer_utils.py)"
    assert problems["layer_utils"].message == "RuntimeError: boom"
    assert problems["layer_utils"].to_dict()["imported_by"] == ["layer_utils.py"]
    assert "imported_by" not in problems["layers"].to_dict()
