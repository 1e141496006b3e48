"""Keys of melodies: from a key signature, or estimated with the Krumhansl-Schmuckler algorithm.

Used by the ``melody`` codec to transpose songs to C major / A minor, the folk-melody seed's
normalisation, and by generation to move output back to the seed's key.
"""

from __future__ import annotations

import numpy as np

from continuo.score import Score

__all__ = [
    "MAJOR_PROFILE",
    "MINOR_PROFILE",
    "estimate_key",
    "key_transposition",
    "nearest_shift",
    "transposition_to_c",
]

#: Krumhansl-Kessler probe-tone ratings, tonic first (Krumhansl 1990, Table 2.1).
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def nearest_shift(semitones: int) -> int:
    """``semitones`` modulo 12, as the nearest shift in -5..+6."""
    return (int(semitones) + 5) % 12 - 5


def estimate_key(
    pitches: np.ndarray,
    durations: np.ndarray,
    keys: tuple[tuple[int, int], ...] | None = None,
) -> tuple[int, int]:
    """The key of some notes as ``(tonic pitch class, mode)``, mode 0 major and 1 minor.

    Krumhansl-Schmuckler key finding (C. L. Krumhansl, *Cognitive Foundations of Musical Pitch*,
    Oxford University Press 1990, ch. 4): build the duration-weighted pitch-class distribution
    ``d[pc] = sum of the durations of the notes of pitch class pc``, compute Pearson's correlation
    ``r(d, rotate(profile, tonic))`` with each of the 24 major and minor Krumhansl-Kessler profiles
    rotated to each tonic, and return the key with the highest ``r`` (first of equals in the order
    C major .. B major, C minor .. B minor). A flat distribution (no notes) gives C major.
    ``keys`` restricts the candidates, e.g. ``((0, 0), (9, 1))`` for C major or A minor.
    """
    weights = np.maximum(np.asarray(durations, dtype=np.float64), 0.0)
    if not len(weights) or weights.sum() <= 0:
        weights = np.ones(len(pitches))
    histogram = np.bincount(np.asarray(pitches, dtype=np.int64) % 12, weights, minlength=12)
    candidates = keys or tuple((tonic, mode) for mode in (0, 1) for tonic in range(12))
    if np.ptp(histogram) == 0:
        return candidates[0]
    profiles = (MAJOR_PROFILE, MINOR_PROFILE)
    best, best_r = candidates[0], -np.inf
    for tonic, mode in candidates:
        r = np.corrcoef(histogram, np.roll(profiles[mode], tonic))[0, 1]
        if r > best_r + 1e-12:
            best, best_r = (tonic, mode), r
    return best


def key_transposition(tonic: int, mode: int) -> int:
    """Semitones (-5..+6) that move a key with this tonic to C major (mode 0) or A minor (1)."""
    return nearest_shift((9 if mode else 0) - tonic)


def transposition_to_c(score: Score, track_index: int | None = None) -> int:
    """Semitones (-5..+6) that move ``score`` to C major / A minor.

    From the first key signature when the score has one: only its sharps count, because a major
    key and its relative minor share a signature (``-7 * sharps`` modulo 12; e.g. one sharp, G
    major or E minor, gives +5). Otherwise estimated from the notes of ``track_index`` (all
    pitched tracks when ``None``) with :func:`estimate_key`.
    """
    if len(score.key_signatures):
        first = min(score.key_signatures, key=lambda ks: ks.time)
        return nearest_shift(-7 * int(first.key))
    tracks = [score.tracks[track_index]] if track_index is not None else list(score.tracks)
    pitches: list[np.ndarray] = []
    durations: list[np.ndarray] = []
    for track in tracks:
        if track.is_drum:
            continue
        soa = track.notes.numpy()
        pitches.append(soa["pitch"].astype(np.int64))
        durations.append(soa["duration"].astype(np.int64))
    if not pitches:
        return 0
    tonic, mode = estimate_key(np.concatenate(pitches), np.concatenate(durations))
    return key_transposition(tonic, mode)
