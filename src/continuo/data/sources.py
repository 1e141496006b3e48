"""Turn the SOURCE arguments of ``continuo prepare`` into the list of files to read.

A source is a file, a folder (walked recursively; files of unknown type are ignored) or a corpus
name such as ``music21:essenFolksong``. Each file gets a *display name* that is stable across
machines (relative to the folder given, or the corpus name), from which piece names and the
train/valid/test split are derived.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from continuo import io
from continuo.errors import ReadError

__all__ = ["SourceFile", "expand_sources"]


@dataclass(frozen=True)
class SourceFile:
    """A file to read, and the name its pieces are known by (``kinder/kindr001.krn``)."""

    path: Path
    name: str


def expand_sources(sources: Sequence[str | Path]) -> list[SourceFile]:
    """All files named by ``sources``, in a deterministic order, without duplicates.

    Raises :class:`ReadError` for a source that does not exist, and for a file named directly
    whose type continuo cannot read (inside a folder such files are silently passed over).
    """
    files: list[SourceFile] = []
    seen: set[Path] = set()

    def add(path: Path, name: str) -> None:
        resolved = path.resolve()
        if resolved not in seen:
            seen.add(resolved)
            files.append(SourceFile(path, name))

    for source in sources:
        text = str(source)
        if io.is_corpus_name(text):
            paths = io.music21_corpus_paths(text)
            root = _common_root(paths)
            for path in paths:
                add(path, f"{text}/{path.relative_to(root).as_posix()}")
            continue
        path = Path(source)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix.lower() in io.SUFFIXES:
                    add(child, f"{path.name}/{child.relative_to(path).as_posix()}")
        elif path.is_file():
            if path.suffix.lower() not in io.SUFFIXES:
                known = " ".join(sorted(io.SUFFIXES))
                raise ReadError(path, f"unknown file type (continuo reads {known})")
            add(path, path.name)
        else:
            raise ReadError(path, "no such file or folder")
    return files


def _common_root(paths: Sequence[Path]) -> Path:
    if not paths:
        return Path()
    parents = [p.parent for p in paths]
    root = parents[0]
    while any(root not in p.parents and p != root for p in parents):
        root = root.parent
    return root
