"""Reading a student's source file by Python's own rules, and saying why one cannot be read.

Python reads source as UTF-8 unless a PEP 263 coding line (`# -*- coding: latin-1 -*-`) says
otherwise; a UTF-8 byte-order mark is allowed. `decode_source` applies exactly those rules
(tokenize.detect_encoding, as importlib does) and raises UnreadableSource naming what it found:
a UTF-16 byte-order mark (Notepad's "Unicode"), NUL bytes (a binary file, or UTF-16 without a
mark), or the first byte that is not valid in the file's encoding, with its line.
`lenient_text` is the text read anyway, for the names a file would have defined.
"""
from __future__ import annotations

import codecs
import io
import re
import tokenize
from pathlib import Path

UTF16_MARKS = ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
               (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16"))
SAVE_AS_UTF8 = "save it as UTF-8"


class UnreadableSource(Exception):
    """A source file that Python cannot decode; str() is one line saying what was found.

    Args:
        path: the file.
        what: what was found ("it starts with a UTF-16 byte-order mark; save it as UTF-8").
        line: the line of the first bad byte, when there is one.
    """

    def __init__(self, path: str | Path, what: str, line: int | None = None):
        super().__init__(what)
        self.path = str(path)
        self.what = what
        self.line = line


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _byte_mark(data: bytes) -> str:
    """The wide encoding whose byte-order mark `data` starts with, or ''."""
    for mark, name in UTF16_MARKS:
        if data.startswith(mark):
            return name
    return ""


def _wide_without_mark(data: bytes) -> bool:
    """NUL on about every other byte: ASCII text saved as UTF-16 with no byte-order mark."""
    sample = data[:400]
    return sample.count(b"\x00") * 3 > len(sample)


def _nul_problem(data: bytes) -> tuple[str, int] | None:
    """(what, line) when `data` holds NUL bytes, which no Python source may."""
    at = data.find(b"\x00")
    if at < 0:
        return None
    if _wide_without_mark(data):
        return (f"it holds a NUL byte on every other byte, as UTF-16 text without a byte-order mark "
                f"does: {SAVE_AS_UTF8}"), 1
    line = _line_of(data, at)
    return f"it holds binary data (a NUL byte on line {line}; Python source never contains one)", line


def _declared_encoding(data: bytes, path: str | Path) -> str:
    """The encoding Python reads `data` in (PEP 263 cookie, BOM, else UTF-8); UnreadableSource if it
    declares one Python does not know."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        message = str(getattr(exc, "msg", exc))
        if message.startswith("unknown encoding"):
            declared = message.partition(":")[2].strip()
            raise UnreadableSource(path, f"its coding line declares an encoding Python does not know "
                                         f"({declared!r}); {SAVE_AS_UTF8} and remove that line") from None
        if data.startswith(codecs.BOM_UTF8):  # "encoding problem: utf-8": a BOM and another coding line
            raise UnreadableSource(path, "it starts with a UTF-8 byte-order mark but its coding line "
                                         "declares another encoding; remove the coding line") from None
        # "invalid or missing encoding declaration": the first two lines are not UTF-8 themselves.
        return "utf-8"
    return encoding


def _bad_byte(data: bytes, encoding: str, exc: UnicodeDecodeError, path: str | Path) -> UnreadableSource:
    byte = data[exc.start] if exc.start < len(data) else 0
    line = _line_of(data, exc.start)
    if encoding.replace("_", "-").lower() in ("utf-8", "utf-8-sig"):
        what = (f"byte 0x{byte:02x} on line {line} is not UTF-8, and the file declares no other "
                f"encoding; {SAVE_AS_UTF8}, or declare its encoding on the first line: "
                "# -*- coding: latin-1 -*-")
    else:
        what = (f"byte 0x{byte:02x} on line {line} is not valid {encoding}, the encoding its coding "
                f"line declares; {SAVE_AS_UTF8}")
    return UnreadableSource(path, what, line)


def decode_source(data: bytes, path: str | Path) -> str:
    """The text of a source file as Python reads it (newlines made universal); UnreadableSource if none.

    Args:
        data: the file's bytes.
        path: the file, for the error.
    """
    mark = _byte_mark(data)
    if mark:
        raise UnreadableSource(path, f"it is saved as {mark} (it starts with a {mark} byte-order mark), "
                                     f"and Python reads source as UTF-8: {SAVE_AS_UTF8}", 1)
    nul = _nul_problem(data)
    if nul is not None:
        raise UnreadableSource(path, *nul)
    encoding = _declared_encoding(data, path)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise _bad_byte(data, encoding, exc, path) from None
    except LookupError:  # pragma: no cover - detect_encoding only returns known codecs
        raise UnreadableSource(path, f"unknown encoding {encoding!r}") from None
    return io.IncrementalNewlineDecoder(None, translate=True).decode(text.removeprefix("\ufeff"), final=True)


def read_source(path: str | Path) -> str:
    """The text of the file at `path` as Python reads it; UnreadableSource (or OSError) if none."""
    return decode_source(Path(path).read_bytes(), path)


def lenient_text(data: bytes) -> str:
    """The file's text as best it can be read (for the names it defines), whatever its encoding."""
    mark = _byte_mark(data)
    if mark or _wide_without_mark(data):
        for encoding in (("utf-32",) if mark == "UTF-32" else ()) + ("utf-16", "utf-16-le", "utf-16-be"):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                continue
            if re.search(r"^(?:def|class)\s", text, re.MULTILINE):
                return text
    try:
        return decode_source(data, "")
    except UnreadableSource:
        return data.replace(b"\x00", b"").decode("utf-8", errors="replace")
