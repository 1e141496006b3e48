"""Files <-> the one score type: readers and writers of symbolic music.

:func:`read_pieces` reads any supported file (dispatch by suffix, see :data:`SUFFIXES`) into
:class:`~continuo.score.Piece` objects; :func:`read_score` reads a one-piece file. Format readers
and writers are importable by name. Every reader turns a bad file into a
:class:`~continuo.errors.ReadError` naming the file and the problem. music21 is imported only
when a music21-backed format is read. Audio I/O and rendering live in ``continuo.io.audio`` and
``continuo.io.render``.
"""

from __future__ import annotations

from continuo.io.abc import read_abc
from continuo.io.corpora import CORPUS_PREFIX, is_corpus_name, music21_corpus_paths
from continuo.io.jsb import read_jsb_chorales
from continuo.io.kern import read_kern
from continuo.io.midi import read_midi, write_midi
from continuo.io.music21_convert import from_music21, to_music21
from continuo.io.musicnet import read_musicnet_csv, read_musicnet_npz
from continuo.io.musicxml import read_musicxml, write_musicxml
from continuo.io.pop909 import read_pop909
from continuo.io.readers import SUFFIXES, companion_files, read_pieces, read_score

__all__ = [
    "CORPUS_PREFIX",
    "SUFFIXES",
    "companion_files",
    "from_music21",
    "is_corpus_name",
    "music21_corpus_paths",
    "read_abc",
    "read_jsb_chorales",
    "read_kern",
    "read_midi",
    "read_musicnet_csv",
    "read_musicnet_npz",
    "read_musicxml",
    "read_pieces",
    "read_pop909",
    "read_score",
    "to_music21",
    "write_midi",
    "write_musicxml",
]
