"""One entry point for every symbolic file type: :func:`read_pieces` dispatches by suffix."""

from __future__ import annotations

from collections.abc import Callable
from os import PathLike
from pathlib import Path

from continuo.errors import ReadError
from continuo.io._common import check_file
from continuo.score import Piece, Score

__all__ = ["SUFFIXES", "companion_files", "read_pieces", "read_score"]


def _midi(path: str | PathLike[str], *, trust_pickle: bool = False) -> list[Piece]:
    from continuo.io.midi import read_midi
    from continuo.io.pop909 import pop909_annotations, read_pop909

    if pop909_annotations(path):  # a POP909 song: bars and key from its annotations
        return [Piece(str(path), read_pop909(path))]
    return [Piece(str(path), read_midi(path))]


def _kern(path: str | PathLike[str], *, trust_pickle: bool = False) -> list[Piece]:
    from continuo.io.kern import read_kern

    return [Piece(str(path), read_kern(path))]


def _abc(path: str | PathLike[str], *, trust_pickle: bool = False) -> list[Piece]:
    from continuo.io.abc import read_abc

    return read_abc(path)


def _musicxml(path: str | PathLike[str], *, trust_pickle: bool = False) -> list[Piece]:
    from continuo.io.musicxml import read_musicxml

    return [Piece(str(path), read_musicxml(path))]


def _jsb(path: str | PathLike[str], *, trust_pickle: bool = False) -> list[Piece]:
    from continuo.io.jsb import read_jsb_chorales

    return read_jsb_chorales(path)


def _musicnet_csv(path: str | PathLike[str], *, trust_pickle: bool = False) -> list[Piece]:
    from continuo.io.musicnet import read_musicnet_csv

    return [Piece(str(path), read_musicnet_csv(path))]


def _musicnet_npz(path: str | PathLike[str], *, trust_pickle: bool = False) -> list[Piece]:
    from continuo.io.musicnet import read_musicnet_npz

    return read_musicnet_npz(path, trust_pickle=trust_pickle)


# Readers are imported when first used, so that a worker reading kern never imports music21.
_READERS: dict[str, Callable[..., list[Piece]]] = {
    ".mid": _midi,
    ".midi": _midi,
    ".krn": _kern,
    ".abc": _abc,
    ".xml": _musicxml,
    ".musicxml": _musicxml,
    ".mxl": _musicxml,
    ".json": _jsb,
    ".csv": _musicnet_csv,
    ".npz": _musicnet_npz,
}

#: The lower-case suffixes :func:`read_pieces` reads (``.json``: JSB chorales; ``.csv`` and
#: ``.npz``: MusicNet labels). Folder walkers use it and ignore other files.
SUFFIXES: frozenset[str] = frozenset(_READERS)


def companion_files(path: str | PathLike[str]) -> list[Path]:
    """Files beside ``path`` that change how it is read (POP909's beat and key annotations
    beside its ``.mid``): a cache of parses must key on their bytes too."""
    if Path(path).suffix.lower() in (".mid", ".midi"):
        from continuo.io.pop909 import pop909_annotations

        return pop909_annotations(path)
    return []


def read_pieces(path: str | PathLike[str], *, trust_pickle: bool = False) -> list[Piece]:
    """Every piece in the file ``path``, read by the reader its suffix names.

    Names: ``str(path)`` for one-piece files, ``file#X`` for ABC tunes, ``file#split/index`` for
    JSB chorales and ``file#id`` for MusicNet archives. ``trust_pickle`` opts in to ``.npz``
    archives that need pickle. Pieces without notes are left out. Every problem - a missing,
    empty, truncated or foreign file, an unknown suffix, a file with no notes - is a
    :class:`~continuo.errors.ReadError` whose message names the file and the problem.
    """
    suffix = Path(path).suffix.lower()
    reader = _READERS.get(suffix)
    if reader is None:
        kinds = " ".join(sorted(SUFFIXES))
        what = f"unknown file type {suffix!r}" if suffix else "no file type (no suffix)"
        raise ReadError(path, f"{what}; continuo reads {kinds}")
    check_file(path)
    pieces = [piece for piece in reader(path, trust_pickle=trust_pickle) if piece.score.note_num()]
    if not pieces:
        raise ReadError(path, "no notes")
    return pieces


def read_score(path: str | PathLike[str], **kwargs: bool) -> Score:
    """The score of a file that holds exactly one piece (else a :class:`ReadError`)."""
    pieces = read_pieces(path, **kwargs)
    if len(pieces) != 1:
        raise ReadError(path, f"holds {len(pieces)} pieces where one was expected")
    return pieces[0].score
