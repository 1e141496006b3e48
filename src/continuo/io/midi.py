"""Reading and writing Standard MIDI Files with symusic.

A MIDI file keeps its own resolution: :func:`read_midi` returns a score in the file's ticks per
quarter (96, 480, 960, ...), so reading is lossless; codecs quantise as they state. Types 0 and 1
are read; symusic splits every track by channel, so a type-0 file with several channels gives
several tracks (channel 10 becomes a drum track). A type-2 file holds independent patterns, each
with its own time 0: they are laid end to end in the order of the file, each starting where the
one before ends (its end-of-track event), rather than sounding all at once as a type-1 reader
would play them. Refused with a one-line reason: a header that declares 0 ticks per quarter (no
time can be read) and SMPTE time division (frames per second, which symusic cannot read).
"""

from __future__ import annotations

import struct
from os import PathLike

from continuo.atomic import atomic_file
from continuo.errors import ReadError
from continuo.io._common import read_bytes, reading
from continuo.score import Score

__all__ = ["midi_bytes", "read_midi", "write_midi"]


def read_midi(path: str | PathLike[str]) -> Score:
    """The score of a ``.mid``/``.midi`` file; :class:`ReadError` for empty, truncated or foreign
    bytes."""
    import symusic

    data = read_bytes(path)
    midi_type, division, chunks = _check_chunks(path, data)
    if division & 0x8000:
        frames = 256 - (division >> 8)
        raise ReadError(
            path,
            f"SMPTE time division ({frames} frames per second, {division & 0xFF} ticks per "
            "frame) is not supported; save the file with ticks per quarter note",
        )
    if division == 0:
        raise ReadError(path, "the header declares 0 ticks per quarter note: no time can be read")
    with reading(path, "MIDI"):
        if midi_type == 2 and len(chunks) > 1:
            return _read_patterns(division, chunks)
        return symusic.Score.from_midi(data)


def write_midi(score: Score, path: str | PathLike[str]) -> None:
    """Write ``score`` as a type-1 MIDI file (written to a temporary file, then renamed)."""
    with atomic_file(path) as tmp:
        score.dump_midi(str(tmp))


def midi_bytes(score: Score) -> bytes:
    """``score`` as the bytes of a type-1 MIDI file (what :func:`write_midi` writes)."""
    return bytes(score.dumps_midi())


def _read_patterns(division: int, chunks: list[bytes]) -> Score:
    """The patterns of a type-2 file laid end to end (see the module docstring).

    Each ``MTrk`` chunk is read as a type-0 file of its own, moved to the end of the patterns
    before it, and its tracks, tempos and signatures are added to one score.
    """
    import symusic

    score = symusic.Score(division)
    start = 0
    for chunk in chunks:
        header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, division)
        pattern = symusic.Score.from_midi(header + chunk).shift_time(start)
        score.tracks.extend(pattern.tracks)
        score.tempos.extend(pattern.tempos)
        score.time_signatures.extend(pattern.time_signatures)
        score.key_signatures.extend(pattern.key_signatures)
        score.markers.extend(pattern.markers)
        start += max(_track_ticks(chunk[8:]), pattern.end() - start)
    return score


def _track_ticks(body: bytes) -> int:
    """The time of a track chunk's last event (its end of track), in ticks: the sum of its
    delta times, walking events with running status. ``ValueError`` on malformed events."""
    position, ticks, status = 0, 0, 0
    while position < len(body):
        delta, position = _read_vlq(body, position)
        ticks += delta
        if position >= len(body):
            break
        byte = body[position]
        if byte == 0xFF:  # meta event: type, length, data
            length, after = _read_vlq(body, position + 2)
            if body[position + 1] == 0x2F:
                break
            position = after + length
        elif byte in (0xF0, 0xF7):  # sysex: length, data
            length, after = _read_vlq(body, position + 1)
            position = after + length
        else:
            if byte & 0x80:
                status, position = byte, position + 1
            elif not status:
                raise ValueError("running status with no status byte before it")
            position += 1 if status & 0xF0 in (0xC0, 0xD0) else 2
    return ticks


def _read_vlq(data: bytes, position: int) -> tuple[int, int]:
    """A variable-length quantity at ``position``: ``(value, position after it)``."""
    value = 0
    for _ in range(4):
        if position >= len(data):
            raise ValueError("a track chunk ends inside a variable-length number")
        byte = data[position]
        position += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, position
    raise ValueError("a variable-length number longer than 4 bytes")


def _check_chunks(path: str | PathLike[str], data: bytes) -> tuple[int, int, list[bytes]]:
    """Catch what symusic may let through: a foreign header or a file cut short.

    Walks the chunks up to the number of tracks the header declares (bytes after them are
    ignored, as players do). Returns the type, the time division and the ``MTrk`` chunks
    (each with its 8-byte chunk header).
    """
    if data[:4] != b"MThd":
        if data[:4] == b"RIFF" and data[8:12] == b"RMID":
            raise ReadError(path, "RIFF-wrapped MIDI (.rmi) is not supported; extract the SMF")
        raise ReadError(path, "not a MIDI file (no MThd header)")
    if len(data) < 14:
        raise ReadError(path, f"truncated MIDI file: {len(data)} bytes, the header alone needs 14")
    header_length, midi_type, declared, division = struct.unpack(">IHHH", data[4:14])
    if midi_type > 2:
        raise ReadError(path, f"not a MIDI file (unknown type {midi_type})")
    position = 8 + header_length
    tracks = 0
    chunks: list[bytes] = []
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
            chunks.append(data[position:end])
        position = end
    if tracks < declared:
        raise ReadError(
            path,
            f"truncated MIDI file: the header declares {declared} tracks, {tracks} are present",
        )
    return midi_type, division, chunks
