"""Reading a student's source file as Python does: what decodes, and what each failure says."""
from __future__ import annotations

import codecs

import pytest

from sanitykit.front.sources import UnreadableSource, decode_source, lenient_text

SOURCE = "def affine_forward(x, w, b):\n    return x @ w + b, (x, w, b)\n"


def test_plain_utf8_and_a_utf8_bom_read_the_same():
    assert decode_source(SOURCE.encode(), "layers.py") == SOURCE
    assert decode_source(codecs.BOM_UTF8 + SOURCE.encode(), "layers.py") == SOURCE


def test_a_pep263_coding_line_is_obeyed():
    text = "# -*- coding: latin-1 -*-\n# caf\u00e9\n" + SOURCE
    assert decode_source(text.encode("latin-1"), "layers.py") == text


def test_windows_newlines_become_universal():
    assert decode_source(SOURCE.replace("\n", "\r\n").encode(), "layers.py") == SOURCE


@pytest.mark.parametrize("data, words, line", [
    (SOURCE.encode("utf-16"), "UTF-16", 1),
    (SOURCE.encode("utf-16-le"), "every other byte", 1),
    (b"x = 1\ny = 2\n\x00\x01\x02", "binary data (a NUL byte on line 3", 3),
    ("x = 1\n# caf\u00e9\n".encode("latin-1"), "byte 0xe9 on line 2 is not UTF-8", 2),
])
def test_an_undecodable_file_says_what_was_found_and_where(data, words, line):
    with pytest.raises(UnreadableSource) as caught:
        decode_source(data, "layers.py")
    assert words in caught.value.what and caught.value.line == line and caught.value.path == "layers.py"
    if "binary" not in words:  # text in another encoding: what to do is save it as UTF-8
        assert "UTF-8" in caught.value.what


def test_an_unknown_declared_encoding_is_named():
    with pytest.raises(UnreadableSource, match="does not know"):
        decode_source(b"# -*- coding: klingon -*-\n" + SOURCE.encode(), "layers.py")


def test_the_names_of_a_utf16_file_can_still_be_read_leniently():
    assert "def affine_forward" in lenient_text(SOURCE.encode("utf-16"))
