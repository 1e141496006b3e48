"""Helpers the codecs share: reading notes as arrays, snapping ticks to a grid, building scores.

Rounding rule used by every codec: a time ``t`` (ticks at ``tpq`` ticks per quarter) falls on grid
step ``floor(t * spq / tpq + 1/2)`` (nearest step, halves up), computed exactly in integers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import symusic

from continuo.errors import ConfigError
from continuo.score import DEFAULT_TPQ, Score

__all__ = [
    "DEFAULT_VELOCITY",
    "NoteArrays",
    "check_steps_per_quarter",
    "format_quarters",
    "is_on_grid",
    "notes_of",
    "score_from_notes",
    "to_steps",
]

#: Velocity of every note a codec without velocity tokens decodes to.
DEFAULT_VELOCITY = 80


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
    """All notes of ``tracks`` as :class:`NoteArrays` (negative durations read as zero)."""
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


def check_steps_per_quarter(codec: str, steps_per_quarter: int) -> None:
    """Grid steps must be a whole number of :data:`DEFAULT_TPQ` ticks, so decoding is exact."""
    if (
        not isinstance(steps_per_quarter, int)
        or steps_per_quarter < 1
        or DEFAULT_TPQ % steps_per_quarter
    ):
        divisors = [d for d in range(1, 49) if DEFAULT_TPQ % d == 0]
        raise ConfigError(
            f"codec {codec!r}: steps_per_quarter must divide {DEFAULT_TPQ} "
            f"(e.g. {', '.join(map(str, divisors))}), not {steps_per_quarter!r}"
        )


def to_steps(ticks: np.ndarray, tpq: int, steps_per_quarter: int) -> np.ndarray:
    """Nearest grid step of each tick time, halves rounded up (exact integer arithmetic)."""
    ticks = np.asarray(ticks, dtype=np.int64)
    return (2 * ticks * steps_per_quarter + tpq) // (2 * tpq)


def is_on_grid(ticks: np.ndarray, tpq: int, steps_per_quarter: int) -> np.ndarray:
    """Whether each tick time lies exactly on the grid."""
    ticks = np.asarray(ticks, dtype=np.int64)
    return (ticks * steps_per_quarter) % tpq == 0


def format_quarters(ticks: int, tpq: int) -> str:
    """A tick time as quarters for messages: ``7.5``, ``12``, ``3.333``."""
    return f"{ticks / tpq:.4g}"


def score_from_notes(
    tracks: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
    tpq: int = DEFAULT_TPQ,
) -> Score:
    """A score from ``(program, onset, duration, pitch, velocity)`` per track (-1 = drums).

    Notes inside a track are sorted by onset, duration, pitch, velocity so that equal note sets
    give equal scores.
    """
    score = symusic.Score(tpq)
    for program, onset, duration, pitch, velocity in tracks:
        order = np.lexsort((velocity, pitch, duration, onset))
        track = symusic.Track("", max(int(program), 0), program < 0)
        track.notes = symusic.Note.from_numpy(
            time=np.asarray(onset, dtype=np.int64)[order].astype(np.int32),
            duration=np.asarray(duration, dtype=np.int64)[order].astype(np.int32),
            pitch=np.asarray(pitch, dtype=np.int64)[order].astype(np.int8),
            velocity=np.asarray(velocity, dtype=np.int64)[order].astype(np.int8),
        )
        score.tracks.append(track)
    return score
