"""Helpers the codecs share: snapping ticks to a grid, building scores (notes as arrays,
:func:`~continuo.score.notes_of`, and the velocity of decoded notes are :mod:`continuo.score`'s).

Rounding rule used by every codec: a time ``t`` (ticks at ``tpq`` ticks per quarter) falls on grid
step ``floor(t * spq / tpq + 1/2)`` (nearest step, halves up), computed exactly in integers.
"""

from __future__ import annotations

import numpy as np
import symusic

from continuo.errors import ConfigError
from continuo.score import DEFAULT_TPQ, Score

__all__ = [
    "check_steps_per_quarter",
    "format_quarters",
    "is_on_grid",
    "score_from_notes",
    "to_steps",
]


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
