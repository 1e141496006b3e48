"""The one in-memory score type and the few helpers every layer shares.

A score is a :class:`symusic.Score` in ticks: notes (pitch, onset, duration, velocity) in tracks
(program, is_drum), plus time signatures, key signatures and tempos. Readers return
:class:`Piece` objects so that a file holding many tunes (ABC, JSB JSON, a MusicNet archive) keeps
one name per tune.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
import symusic

__all__ = [
    "DEFAULT_TPQ",
    "Piece",
    "Score",
    "make_score",
    "note_table",
]

Score = symusic.Score

#: Ticks per quarter note of the scores continuo builds (divisible by 2, 3, 4, 5, 8, 16 and 32).
DEFAULT_TPQ = 480


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
