"""Submissions on disk: find them, fingerprint them, copy or safely extract them.

A class folder holds one subfolder or `.zip` per student (an assignment root with
`cs231n/` inside, or the `cs231n/` package itself). Grading never runs a student's
files where they are: each is copied (or extracted) into a private temporary folder.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterator

# Never part of a submission (caches, VCS data, the Mac's zip sidecars); the files that tell
# a folder is the cs231n package itself rather than an assignment root.
from sanitykit.front.starter import IGNORED, PACKAGE_MARKERS

# A zip bomb must not fill the grader's disk.
MAX_UNZIPPED_BYTES = 512 * 1024 * 1024
MAX_ZIP_MEMBERS = 20_000


class SubmissionError(Exception):
    """A submission cannot be prepared (a broken or unsafe zip); str() is one line."""


@dataclass(frozen=True)
class Submission:
    """One student's hand-in.

    Args:
        name: the name in class.csv and of its output folder (file or folder name, made safe).
        path: the folder or .zip.
    """

    name: str
    path: Path

    @property
    def is_zip(self) -> bool:
        return self.path.suffix.lower() == ".zip"


def safe_name(name: str) -> str:
    """A folder name safe on every OS: letters, digits, `._-@+`; others become `_`."""
    cleaned = re.sub(r"[^A-Za-z0-9._@+-]", "_", name).strip(".") or "submission"
    return cleaned[:100]


def discover(folder: Path, exclude: tuple[Path, ...] = ()) -> list[Submission]:
    """The submissions in `folder`, sorted by name: its subfolders and .zip files.

    Args:
        folder: the class folder.
        exclude: folders to leave out (the --out folder when it lies inside).
    """
    excluded = {p.resolve() for p in exclude}
    found: dict[str, Submission] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or entry.name in IGNORED or entry.resolve() in excluded:
            continue
        if entry.is_dir() or (entry.is_file() and entry.suffix.lower() == ".zip"):
            name = safe_name(entry.stem if entry.is_file() else entry.name)
            # Two hand-ins of one student (alice/ and alice.zip) keep distinct names.
            while name in found:
                name += "_"
            found[name] = Submission(name, entry)
    return list(found.values())


def _files(folder: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED)
        for name in sorted(files):
            if name not in IGNORED and not name.endswith(".pyc"):
                yield Path(root) / name


def content_digest(submission: Submission) -> str:
    """sha256 of the submission's file names and contents (what a rerun compares).

    Args:
        submission: a folder or a zip.
    """
    digest = hashlib.sha256()
    if submission.is_zip:
        digest.update(submission.path.read_bytes())
        return digest.hexdigest()
    for path in _files(submission.path):
        digest.update(str(path.relative_to(submission.path)).encode() + b"\0")
        if not path.is_symlink():
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _unsafe_member(info: zipfile.ZipInfo) -> str | None:
    """Why a zip member may not be extracted (path traversal, absolute, link), or None."""
    path = PurePosixPath(info.filename.replace("\\", "/"))
    if path.is_absolute() or re.match(r"^[A-Za-z]:", info.filename):
        return f"{info.filename!r} is an absolute path"
    if ".." in path.parts:
        return f"{info.filename!r} points outside the zip's folder"
    if stat.S_ISLNK(info.external_attr >> 16):
        return f"{info.filename!r} is a symbolic link"
    return None


def extract_zip(archive: Path, dest: Path) -> None:
    """Extract `archive` into `dest`; SubmissionError for a broken, unsafe or huge zip.

    Args:
        archive: the .zip file.
        dest: an empty folder.
    """
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            if len(members) > MAX_ZIP_MEMBERS:
                raise SubmissionError(f"{archive.name} holds {len(members)} files (at most {MAX_ZIP_MEMBERS})")
            if sum(m.file_size for m in members) > MAX_UNZIPPED_BYTES:
                raise SubmissionError(f"{archive.name} unpacks to more than {MAX_UNZIPPED_BYTES // 2**20} MB")
            for info in members:
                reason = _unsafe_member(info)
                if reason:
                    raise SubmissionError(f"{archive.name}: unsafe zip: {reason}")
                parts = PurePosixPath(info.filename.replace("\\", "/")).parts
                if any(part in IGNORED for part in parts):
                    continue
                out = dest.joinpath(*parts)
                if info.is_dir():
                    out.mkdir(parents=True, exist_ok=True)
                    continue
                out.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as source, open(out, "wb") as sink:
                    shutil.copyfileobj(source, sink)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise SubmissionError(f"{archive.name} is not a readable zip file ({exc})") from None


def _ignore(folder: str, names: list[str]) -> set[str]:
    # Links are not followed: a link could bring in another student's files.
    return {n for n in names if n in IGNORED or n.endswith(".pyc") or os.path.islink(os.path.join(folder, n))}


def _single_folder(folder: Path) -> Path:
    """The one folder a zip wrapped everything in (alice.zip -> alice/...), or `folder` itself."""
    entries = [e for e in folder.iterdir() if e.name not in IGNORED]
    if len(entries) == 1 and entries[0].is_dir() and entries[0].name != "cs231n":
        return entries[0]
    return folder


def materialize(submission: Submission, scratch: Path) -> Path:
    """Copy (or extract) the submission into `scratch`; the path to hand to load_target.

    A folder that is the cs231n package itself (layers.py at its top) is placed as
    `cs231n/`, so `from cs231n.layers import *` inside it still works.

    Args:
        submission: the hand-in.
        scratch: an empty private folder.
    """
    work = scratch / "work"
    if submission.is_zip:
        work.mkdir()
        extract_zip(submission.path, work)
    else:
        shutil.copytree(submission.path, work, ignore=_ignore)
    root = _single_folder(work)
    if not (root / "cs231n").is_dir() and any((root / m).is_file() for m in PACKAGE_MARKERS):
        package = scratch / "root" / "cs231n"
        package.parent.mkdir()
        shutil.move(str(root), str(package))
        return package.parent
    return root
