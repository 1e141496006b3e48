"""The one in-memory score type and the few helpers every layer shares.

A score is a :class:`symusic.Score` in ticks: notes (pitch, onset, duration, velocity) in tracks
(program, is_drum), plus time signatures, key signatures and tempos. Readers return
:class:`Piece` objects so that a file holding many tunes (ABC, JSB JSON, a MusicNet archive) keeps
one name per tune.

The helpers here are the only ones of their kind: notes as arrays (:func:`notes_of`), bar lines
(:func:`bar_starts`), pitch names (:func:`pitch_name`) and the two velocities continuo makes up
(:data:`UNMARKED_VELOCITY` when reading, :data:`DECODED_VELOCITY` when decoding).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import symusic

__all__ = [
    "DECODED_VELOCITY",
    "DEFAULT_TPQ",
    "UNMARKED_VELOCITY",
    "NoteArrays",
    "Piece",
    "Score",
    "bar_starts",
    "make_score",
    "note_table",
    "notes_of",
    "pitch_name",
]

Score = symusic.Score

#: Ticks per quarter note of the scores continuo builds (divisible by 2, 3, 4, 5, 8, 16 and 32).
DEFAULT_TPQ = 480

#: Velocity given to the notes of a source that says nothing about loudness (kern, ABC, JSB,
#: MusicNet, music21 notes without dynamics): MIDI's middle, 64.
UNMARKED_VELOCITY = 64

#: Velocity of every note a codec without velocity tokens decodes to (what the model wrote is
#: played a little above the middle, 80, so that rendered audio is not faint).
DECODED_VELOCITY = 80

_PITCH_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


class Piece(NamedTuple):
    """One piece of music: a score and a name that says where it came from (``file#X`` for tunes)."""

    name: str
    score: Score


def make_score(
    notes: Iterable[tuple[int, int, int, int]],
    *,
    tpq: int = DEFAULT_TPQ,
    program: int = 0,
    is_drum: bool = False,
    track_name: str = "",
    time_signature: tuple[int, int] | None = None,
    key: tuple[int, int] | None = None,
    qpm: float | None = None,
) -> Score:
    """Build a one-track score from ``(onset_tick, duration_tick, pitch, velocity)`` tuples.

    ``key`` is ``(sharps, tonality)`` as in MIDI: sharps in -7..7, tonality 0 major, 1 minor.
    """
    score = symusic.Score(tpq)
    track = symusic.Track(track_name, program, is_drum)
    for onset, duration, pitch, velocity in notes:
        track.notes.append(symusic.Note(int(onset), int(duration), int(pitch), int(velocity)))
    track.notes.sort()
    score.tracks.append(track)
    if time_signature is not None:
        score.time_signatures.append(symusic.TimeSignature(0, *time_signature))
    if key is not None:
        score.key_signatures.append(symusic.KeySignature(0, key[0], key[1]))
    if qpm is not None:
        score.tempos.append(symusic.Tempo(0, float(qpm)))
    return score


def note_table(score: Score, *, include_drums: bool = True) -> np.ndarray:
    """All notes of ``score`` as an int64 array of shape ``(n_notes, 5)``.

    Columns: onset tick, duration tick, pitch, velocity, track index; sorted by onset, then pitch,
    then track. Handy for comparing scores in tests and for statistics.
    """
    rows: list[tuple[int, int, int, int, int]] = []
    for index, track in enumerate(score.tracks):
        if track.is_drum and not include_drums:
            continue
        for note in track.notes:
            rows.append((note.time, note.duration, note.pitch, note.velocity, index))
    table = np.array(rows, dtype=np.int64).reshape(-1, 5)
    if len(table):
        table = table[np.lexsort((table[:, 4], table[:, 2], table[:, 0]))]
    return table


@dataclass(frozen=True)
class NoteArrays:
    """Notes as parallel int64 arrays (ticks at ``tpq``); ``program`` is -1 for drums."""

    onset: np.ndarray
    offset: np.ndarray
    pitch: np.ndarray
    velocity: np.ndarray
    program: np.ndarray
    tpq: int

    def __len__(self) -> int:
        return len(self.onset)

    @property
    def duration(self) -> np.ndarray:
        """``offset - onset`` (never negative)."""
        return self.offset - self.onset

    def take(self, index: np.ndarray) -> NoteArrays:
        """The notes selected by a boolean mask or an index array."""
        return NoteArrays(
            self.onset[index],
            self.offset[index],
            self.pitch[index],
            self.velocity[index],
            self.program[index],
            self.tpq,
        )


def notes_of(tracks: Iterable[symusic.Track], tpq: int) -> NoteArrays:
    """All notes of ``tracks`` as :class:`NoteArrays`, track after track (negative durations
    read as zero). ``tpq`` is the score's ticks per quarter."""
    parts: list[dict[str, np.ndarray]] = []
    programs: list[np.ndarray] = []
    for track in tracks:
        soa = track.notes.numpy()
        parts.append(soa)
        program = -1 if track.is_drum else int(track.program)
        programs.append(np.full(len(soa["time"]), program, dtype=np.int64))
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return NoteArrays(empty, empty, empty, empty, empty, tpq)
    onset = np.concatenate([p["time"] for p in parts]).astype(np.int64)
    duration = np.maximum(np.concatenate([p["duration"] for p in parts]).astype(np.int64), 0)
    return NoteArrays(
        onset=onset,
        offset=onset + duration,
        pitch=np.concatenate([p["pitch"] for p in parts]).astype(np.int64),
        velocity=np.concatenate([p["velocity"] for p in parts]).astype(np.int64),
        program=np.concatenate(programs),
        tpq=tpq,
    )


def pitch_name(pitch: int) -> str:
    """Scientific pitch name of a MIDI pitch, sharps for black keys, C4 = 60:
    ``61 -> "C#4"``, ``0 -> "C-1"``."""
    return f"{_PITCH_NAMES[pitch % 12]}{pitch // 12 - 1}"


def bar_starts(score: Score, end_tick: int) -> list[int]:
    """Ticks at which bars start, from 0 up to (not including) ``end_tick``; ``[0]`` at least.

    Bars follow the score's time signatures (4/4 when it has none); a time signature that
    changes in the middle of a bar starts a new bar there. ``score`` must be in ticks.
    """
    tpq = score.ticks_per_quarter
    changes: dict[int, tuple[int, int]] = {0: (4, 4)}
    for signature in score.time_signatures:
        numerator, denominator = signature.numerator, signature.denominator
        if numerator > 0 and denominator > 0:
            changes[max(int(signature.time), 0)] = (numerator, denominator)
    times = sorted(changes)
    starts: list[int] = []
    for index, change in enumerate(times):
        stop = times[index + 1] if index + 1 < len(times) else max(end_tick, 1)
        numerator, denominator = changes[change]
        bar = max(round(tpq * 4 * numerator / denominator), 1)
        starts.extend(range(change, stop, bar))
    return [start for start in starts if start < max(end_tick, 1)]
