"""Turn the SOURCE arguments of ``continuo prepare`` into the list of files to read.

A source is a file, a folder (walked recursively; files of unknown type are ignored) or a corpus
name such as ``music21:essenFolksong``. Each file gets a *display name* that is stable across
machines (relative to the folder given, or the corpus name), from which piece names and the
train/valid/test split are derived.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from continuo import io
from continuo.errors import ReadError

__all__ = ["SourceFile", "iter_sources"]


@dataclass(frozen=True)
class SourceFile:
    """A file to read, and the name its pieces are known by (``kinder/kindr001.krn``)."""

    path: Path
    name: str


def iter_sources(sources: Sequence[str | Path]) -> Iterator[SourceFile]:
    """The files named by ``sources``, in a deterministic order (sources as given; a folder's
    files as ``sorted(folder.rglob("*"))`` lists them), one at a time: a folder is walked a
    directory at a time, never listed whole, so memory stays flat for a folder of any size. A
    file named twice comes twice (the build keeps the first).

    Raises :class:`ReadError` for a source that does not exist, and for a file named directly
    whose type continuo cannot read (inside a folder such files are silently passed over).
    """
    for source in sources:
        text = str(source)
        if io.is_corpus_name(text):
            paths = io.music21_corpus_paths(text)
            root = _common_root(paths)
            for path in paths:
                yield SourceFile(path, f"{text}/{path.relative_to(root).as_posix()}")
            continue
        path = Path(source)
        if path.is_dir():
            for child, relative in _walk(path, ""):
                yield SourceFile(child, f"{path.name}/{relative}")
        elif path.is_file():
            if path.suffix.lower() not in io.SUFFIXES:
                known = " ".join(sorted(io.SUFFIXES))
                raise ReadError(path, f"unknown file type (continuo reads {known})")
            yield SourceFile(path, path.name)
        else:
            raise ReadError(path, "no such file or folder")


def _walk(folder: Path, prefix: str) -> Iterator[tuple[Path, str]]:
    """The music files under ``folder`` in the order of ``sorted(folder.rglob("*"))`` (entries of
    a folder by name, each subfolder's files where its name falls), with their relative names."""
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        return
    for entry in entries:
        relative = f"{prefix}{entry.name}"
        if entry.is_dir(follow_symlinks=False):  # as rglob: linked folders are not followed
            yield from _walk(Path(entry.path), relative + "/")
        elif entry.is_file() and Path(entry.name).suffix.lower() in io.SUFFIXES:
            yield Path(entry.path), relative


def _common_root(paths: Sequence[Path]) -> Path:
    if not paths:
        return Path()
    parents = [p.parent for p in paths]
    root = parents[0]
    while any(root not in p.parents and p != root for p in parents):
        root = root.parent
    return root
