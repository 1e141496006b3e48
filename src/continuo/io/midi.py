"""Reading and writing Standard MIDI Files with symusic.

A MIDI file keeps its own resolution: :func:`read_midi` returns a score in the file's ticks per
quarter (96, 480, 960, ...), so reading is lossless; codecs quantise as they state. Types 0 and 1
are read; symusic splits every track by channel, so a type-0 file with several channels gives
several tracks (channel 10 becomes a drum track).
"""

from __future__ import annotations

import struct
from os import PathLike

from continuo.errors import ReadError
from continuo.io._common import read_bytes, reading, write_atomically
from continuo.score import Score

__all__ = ["read_midi", "write_midi"]


def read_midi(path: str | PathLike[str]) -> Score:
    """The score of a ``.mid``/``.midi`` file; :class:`ReadError` for empty, truncated or foreign
    bytes."""
    import symusic

    data = read_bytes(path)
    _check_chunks(path, data)
    with reading(path, "MIDI"):
        return symusic.Score.from_midi(data)


def write_midi(score: Score, path: str | PathLike[str]) -> None:
    """Write ``score`` as a type-1 MIDI file (written to a temporary file, then renamed)."""
    write_atomically(path, lambda tmp: score.dump_midi(str(tmp)))


def _check_chunks(path: str | PathLike[str], data: bytes) -> None:
    """Catch what symusic may let through: a foreign header or a file cut short.

    Walks the chunks up to the number of tracks the header declares (bytes after them are
    ignored, as players do).
    """
    if data[:4] != b"MThd":
        if data[:4] == b"RIFF" and data[8:12] == b"RMID":
            raise ReadError(path, "RIFF-wrapped MIDI (.rmi) is not supported; extract the SMF")
        raise ReadError(path, "not a MIDI file (no MThd header)")
    if len(data) < 14:
        raise ReadError(path, f"truncated MIDI file: {len(data)} bytes, the header alone needs 14")
    header_length, midi_type, declared = struct.unpack(">IHH", data[4:12])
    if midi_type > 2:
        raise ReadError(path, f"not a MIDI file (unknown type {midi_type})")
    position = 8 + header_length
    tracks = 0
    while tracks < declared and position + 8 <= len(data):
        chunk_id = data[position : position + 4]
        (length,) = struct.unpack(">I", data[position + 4 : position + 8])
        end = position + 8 + length
        if end > len(data):
            raise ReadError(
                path,
                f"truncated MIDI file: chunk {tracks + 1} declares {length} bytes, "
                f"{len(data) - position - 8} are present",
            )
        if chunk_id == b"MTrk":
            tracks += 1
        position = end
    if tracks < declared:
        raise ReadError(
            path,
            f"truncated MIDI file: the header declares {declared} tracks, {tracks} are present",
        )
