"""Keys of notes: from a key signature (checked against the notes), or estimated from the notes.

One estimator, :func:`estimate_key`, serves every codec: the ``melody`` and ``events`` codecs
transpose pieces to C major / A minor with :func:`transposition_to_c` (the folk-melody seed's
normalisation), and generation moves output back to the seed's key. It must be right on a
seed of a few notes and on a whole piano piece alike; docs/decisions/0012-key-finding.md and
``benchmarks/key_finding.py`` measure it (Essen openings of 2 and 4 bars, POP909 pieces).
"""

from __future__ import annotations

import numpy as np

from continuo.score import Score, notes_of

__all__ = [
    "KOSTKA_PAYNE_MAJOR",
    "KOSTKA_PAYNE_MINOR",
    "MAJOR_PROFILE",
    "MINOR_PROFILE",
    "MIN_NOTES_TO_CHECK",
    "SCALE_FIT_TO_OVERRIDE",
    "SIGNATURE_MARGIN",
    "estimate_key",
    "key_transposition",
    "krumhansl_schmuckler",
    "nearest_shift",
    "scale_fit",
    "transposition_to_c",
]

#: Krumhansl-Kessler probe-tone ratings, tonic first (Krumhansl 1990, Table 2.1).
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])

#: Temperley's key profiles from the Kostka-Payne corpus (excerpts of the tonal repertoire in a
#: harmony textbook), tonic first: how often each scale degree occurs in a segment (D. Temperley,
#: *Music and Probability*, MIT Press 2007, ch. 6; the figures as music21 carries them,
#: ``analysis.discrete.TemperleyKostkaPayne``). Not fitted to folk song or to any data here.
KOSTKA_PAYNE_MAJOR = np.array(
    [0.748, 0.060, 0.488, 0.082, 0.670, 0.460, 0.096, 0.715, 0.104, 0.366, 0.057, 0.400]
)
KOSTKA_PAYNE_MINOR = np.array(
    [0.712, 0.084, 0.474, 0.618, 0.049, 0.460, 0.105, 0.747, 0.404, 0.067, 0.133, 0.330]
)

#: The major scale's pitch classes above its tonic (its relative minor's natural minor scale).
DIATONIC = (0, 2, 4, 5, 7, 9, 11)

#: A key signature is checked against its notes only when it governs at least this many.
MIN_NOTES_TO_CHECK = 16
#: ... and overruled only when the notes' scale holds this much more of their duration ...
SIGNATURE_MARGIN = 0.05
#: ... and at least this much of it (the notes sit in one diatonic scale).
SCALE_FIT_TO_OVERRIDE = 0.9

_ALL_KEYS = tuple((tonic, mode) for mode in (0, 1) for tonic in range(12))


def _log_profiles() -> np.ndarray:
    """``[24, 12]``: log of each key's profile as a distribution, row ``12 * mode + tonic``."""
    rows = []
    for profile in (KOSTKA_PAYNE_MAJOR, KOSTKA_PAYNE_MINOR):
        q = np.log(profile / profile.sum())
        rows += [np.roll(q, tonic) for tonic in range(12)]
    return np.array(rows)


_LOG_PROFILES = _log_profiles()
_SCALES = np.array([[(pc - c) % 12 in DIATONIC for pc in range(12)] for c in range(12)], float)


def nearest_shift(semitones: int) -> int:
    """``semitones`` modulo 12, as the nearest shift in -5..+6."""
    return (int(semitones) + 5) % 12 - 5


def _histogram(pitches: np.ndarray, durations: np.ndarray) -> np.ndarray:
    """Duration-weighted pitch-class histogram, scaled so that a note weighs 1 on average
    (negative durations count as 0; all of them 0, or none given, counts every note as 1)."""
    pitches = np.asarray(pitches, dtype=np.int64)
    weights = np.maximum(np.asarray(durations, dtype=np.float64), 0.0)
    if len(weights) != len(pitches) or weights.sum() <= 0:
        weights = np.ones(len(pitches))
    weights = weights * (len(weights) / weights.sum()) if len(weights) else weights
    return np.bincount(pitches % 12, weights, minlength=12)


def _candidates(keys: tuple[tuple[int, int], ...] | None) -> list[int]:
    """Row indices (``12 * mode + tonic``) of the candidate keys, in the order given."""
    return [12 * int(mode) + int(tonic) % 12 for tonic, mode in (keys or _ALL_KEYS)]


def _ks_pick(histogram: np.ndarray, rows: list[int]) -> int:
    """Of ``rows``, the key whose Krumhansl-Kessler profile correlates best with ``histogram``
    (the first of equals, and the first when the histogram is flat)."""
    if np.ptp(histogram) == 0:
        return rows[0]
    profiles = (MAJOR_PROFILE, MINOR_PROFILE)
    best, best_r = rows[0], -np.inf
    for row in rows:
        r = np.corrcoef(histogram, np.roll(profiles[row // 12], row % 12))[0, 1]
        if r > best_r + 1e-12:
            best, best_r = row, r
    return best


def krumhansl_schmuckler(
    pitches: np.ndarray,
    durations: np.ndarray,
    keys: tuple[tuple[int, int], ...] | None = None,
) -> tuple[int, int]:
    """The Krumhansl-Schmuckler key of some notes as ``(tonic pitch class, mode)``.

    C. L. Krumhansl, *Cognitive Foundations of Musical Pitch*, Oxford University Press 1990,
    ch. 4: build the duration-weighted pitch-class distribution ``d[pc] = sum of the durations of
    the notes of pitch class pc``, compute Pearson's correlation ``r(d, rotate(profile, tonic))``
    with each of the 24 major and minor Krumhansl-Kessler profiles rotated to each tonic, and
    return the key with the highest ``r`` (first of equals in the order C major .. B major,
    C minor .. B minor). A flat distribution (no notes) gives the first candidate.
    Kept as the reference :func:`estimate_key` is measured against: on short excerpts it often
    names the dominant's key (the opening 2 bars of the Essen songs: 59% right).
    """
    rows = _candidates(keys)
    tonic_mode = _ks_pick(_histogram(pitches, durations), rows)
    return tonic_mode % 12, tonic_mode // 12


def scale_fit(pitches: np.ndarray, durations: np.ndarray) -> np.ndarray:
    """``[12]``: the share of the notes' duration inside the major scale of each tonic ``c``
    (``fit[c] = sum of d[pc] for pc in c + {0, 2, 4, 5, 7, 9, 11}, over sum of d``; the major
    scale of ``c`` is the natural minor scale of ``c + 9``). All zeros without notes."""
    histogram = _histogram(pitches, durations)
    total = histogram.sum()
    return _SCALES @ histogram / total if total > 0 else np.zeros(12)


def estimate_key(
    pitches: np.ndarray,
    durations: np.ndarray,
    keys: tuple[tuple[int, int], ...] | None = None,
    *,
    first: int | None = None,
) -> tuple[int, int]:
    """The key of some notes as ``(tonic pitch class, mode)``, mode 0 major and 1 minor.

    Two steps, each measured against the alternatives in docs/decisions/0012-key-finding.md:

    1. *Which scale* (the transposition; a major key and its relative minor share one): a
       probabilistic key finder after D. Temperley (*Music and Probability*, MIT Press 2007,
       ch. 6). With ``w_i = d_i / mean(d)`` (each note weighs its duration, 1 on average) and
       ``h[pc] = sum of w_i over the notes of pitch class pc``, every key ``k`` scores the
       log-likelihood of the notes plus that of the first note once more::

           S(k) = sum_pc h[pc] * log q_k(pc) + log q_k(pc_first)

       where ``q_k`` is the Kostka-Payne profile of ``k``'s mode (:data:`KOSTKA_PAYNE_MAJOR`,
       :data:`KOSTKA_PAYNE_MINOR`) rotated to ``k``'s tonic and normalised to sum to 1. Notes
       outside a key's scale are improbable under it, so a key whose scale holds the notes
       wins; among keys whose scales all hold them, the weight of the tonic triad and the first
       note decide (the opening note of a tune is most often a degree of its tonic chord).
    2. *Which mode* (major, or the relative minor of the same scale): Krumhansl-Schmuckler
       (:func:`krumhansl_schmuckler`) restricted to those two keys, which tells the modes apart
       better than the Kostka-Payne profiles do (POP909: 90.6% against 70.2% exact keys).

    ``first``: pitch of the first note (default ``pitches[0]``; for chords, pass the lowest of
    the first onset). ``keys`` restricts the candidates, e.g. ``((0, 0), (9, 1))`` for C major
    or A minor; ties go to the first candidate in order (C major .. B major, C minor .. B minor
    by default). No notes give the first candidate. The estimate moves with the notes:
    ``estimate_key(p + n)`` is ``estimate_key(p)`` with its tonic ``n`` semitones higher.
    Measured: Essen folk songs, opening 2 bars 86% / 4 bars 89% in the right scale
    (Krumhansl-Schmuckler 59% / 58%); POP909 whole piano pieces 99% (KS 93%).
    """
    rows = _candidates(keys)
    pitches = np.asarray(pitches, dtype=np.int64)
    if not len(pitches):
        tonic_mode = rows[0]
        return tonic_mode % 12, tonic_mode // 12
    histogram = _histogram(pitches, durations)
    opening = int(pitches[0] if first is None else first) % 12
    scores = _LOG_PROFILES[rows] @ histogram + _LOG_PROFILES[rows, opening]
    best = rows[int(np.argmax(scores))]
    scale = (best % 12 + 3 * (best // 12)) % 12  # major tonic of the best key's scale
    pair = [row for row in rows if row in (scale, 12 + (scale + 9) % 12)]
    tonic_mode = _ks_pick(histogram, pair)
    return tonic_mode % 12, tonic_mode // 12


def key_transposition(tonic: int, mode: int) -> int:
    """Semitones (-5..+6) that move a key with this tonic to C major (mode 0) or A minor (1)."""
    return nearest_shift((9 if mode else 0) - tonic)


def transposition_to_c(score: Score, track_index: int | None = None) -> int:
    """Semitones (-5..+6) that move ``score`` to C major / A minor.

    The notes are those of ``track_index`` (all pitched tracks when ``None``; drums never).

    Without a key signature: :func:`estimate_key` of the notes (the first note being the lowest
    of the first onset), moved to C major / A minor (:func:`key_transposition`).

    With key signatures, the first one counts: only its sharps, because a major key and its
    relative minor share a signature (``-7 * sharps`` modulo 12; e.g. one sharp, G major or E
    minor, gives +5). It is checked against the notes it governs (those that start before the
    next key signature), because MIDI files from sequencers and notation software often carry a
    default C major signature whatever the key. The notes' estimate replaces it when all of:

    - it governs at least :data:`MIN_NOTES_TO_CHECK` (16) notes;
    - the estimate's scale holds at least :data:`SCALE_FIT_TO_OVERRIDE` (90%) of their duration
      (:func:`scale_fit`) and at least :data:`SIGNATURE_MARGIN` (5 points) more than the
      signature's scale: ``fit[estimate] >= 0.9`` and ``fit[estimate] - fit[signature] >= 0.05``;
    - the last note (the lowest of the last onset) is not the tonic of the signature's major key
      or of its relative minor: a modal tune (G mixolydian written with one sharp, D dorian with
      one flat) ends on its tonic, and keeps its signature.

    The rule moves with the notes (transposing notes and signature together never changes the
    outcome), so a codec's decoded output, which carries a C major / A minor signature, encodes
    back to the same tokens. Measured (benchmarks/key_finding.py): of the 5,365 Essen songs,
    whose signatures were written by hand, 13 change, each one whose notes contradict its
    signature (the signature's scale holds 46-94% of their duration, the notes' scale 93-100%,
    and the song does not end on a tonic of the signature); of POP909's 115 single-key songs that
    carry a MIDI key signature (every one C major, 105 of them wrong), 90 get the right
    transposition (10 when the signature is trusted).
    """
    tracks = [score.tracks[track_index]] if track_index is not None else list(score.tracks)
    notes = notes_of([track for track in tracks if not track.is_drum], score.ticks_per_quarter)
    pitch, onset, duration = notes.pitch, notes.onset, notes.duration
    if len(score.key_signatures):
        signatures = sorted(score.key_signatures, key=lambda ks: ks.time)
        sharps = int(signatures[0].key)
        later = [ks.time for ks in signatures[1:] if ks.time > signatures[0].time]
        governed = onset < later[0] if later else np.ones(len(pitch), dtype=bool)
        estimate = _contradicting_estimate(
            sharps, pitch[governed], onset[governed], duration[governed]
        )
        return estimate if estimate is not None else nearest_shift(-7 * sharps)
    if not len(pitch):
        return 0
    return key_transposition(*_estimate(pitch, onset, duration))


def _estimate(pitch: np.ndarray, onset: np.ndarray, duration: np.ndarray) -> tuple[int, int]:
    """:func:`estimate_key` with the lowest note of the first onset as the first note."""
    first = int(pitch[onset == onset.min()].min())
    return estimate_key(pitch, duration, first=first)


def _contradicting_estimate(
    sharps: int, pitch: np.ndarray, onset: np.ndarray, duration: np.ndarray
) -> int | None:
    """The notes' transposition where they overrule a signature of ``sharps`` (the rule of
    :func:`transposition_to_c`), else None."""
    if len(pitch) < MIN_NOTES_TO_CHECK:
        return None
    tonic, mode = _estimate(pitch, onset, duration)
    fit = scale_fit(pitch, duration)
    signature_scale = (7 * sharps) % 12
    estimate_scale = (tonic + 3 * mode) % 12
    final = int(pitch[onset == onset.max()].min()) % 12
    if (
        fit[estimate_scale] >= SCALE_FIT_TO_OVERRIDE
        and fit[estimate_scale] - fit[signature_scale] >= SIGNATURE_MARGIN - 1e-9
        and final not in (signature_scale, (signature_scale + 9) % 12)
    ):
        return key_transposition(tonic, mode)
    return None
