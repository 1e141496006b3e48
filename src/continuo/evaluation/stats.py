"""Musical statistics of one piece: plain functions of a :class:`~continuo.score.Score`.

Each function returns one number (``nan`` where the piece gives it no meaning: no notes, fewer
than two bars) or, for the histograms, a vector. Times are read in the score's own ticks, so the
figures do not depend on any codec's grid unless a function says so. Pitch statistics use the
pitched notes (drum tracks left out); rhythm statistics (empty beats, groove) use every note.

Sources. The definitions follow MusPy 0.5 (Dong, Chen, Dong & McAuley, "MusPy: a toolkit for
symbolic music generation", ISMIR 2020), which collects them from Mogren 2016 (C-RNN-GAN: scale
consistency), Dong et al. 2018 (MuseGAN: empty beats, polyphony), Wu & Yang 2020 (The Jazz
Transformer on the front line: pitch-class entropy, groove consistency) and Yang & Lerch 2020
(On the evaluation of generative models in music: pitch-class and note-length histograms,
pitch range). MusPy 0.5.0 itself is not used: some of its functions are wrong at the edges
(beats and bars counted past the end of a piece, -127 as the pitch range of drums alone; see
``docs/decisions/0010-polyphony.md``, and the tests, which hold the hand-computed cases).

The set-level comparison (intra-/inter-set distances, KDE overlap) is in
:mod:`continuo.evaluation.distributions`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from continuo.score import Score, notes_of

__all__ = [
    "METRICS",
    "NOTE_LENGTHS",
    "NOTE_LENGTH_NAMES",
    "empty_beat_rate",
    "excerpt",
    "groove_consistency",
    "note_length_histogram",
    "pitch_class_entropy",
    "pitch_class_histogram",
    "pitch_range",
    "polyphony",
    "scale_consistency",
]

#: The note-length classes of Yang & Lerch 2020 (§4.2), in quarter notes: whole, half, quarter,
#: 8th, 16th, dotted half, dotted quarter, dotted 8th, dotted 16th, half-, quarter- and
#: 8th-note triplet.
NOTE_LENGTHS = np.array([4, 2, 1, 1 / 2, 1 / 4, 3, 3 / 2, 3 / 4, 3 / 8, 4 / 3, 2 / 3, 1 / 3])
NOTE_LENGTH_NAMES = (
    "whole", "half", "quarter", "8th", "16th", "dotted half", "dotted quarter", "dotted 8th",
    "dotted 16th", "half triplet", "quarter triplet", "8th triplet",
)  # fmt: skip

_MAJOR = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], dtype=bool)
_MINOR = np.array([1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0], dtype=bool)  # natural minor


def _notes(score: Score, *, pitched: bool) -> np.ndarray:
    """``(n, 3)`` int64 rows ``(onset, end, pitch)`` in ticks; ``pitched`` leaves drums out."""
    tracks = [track for track in score.tracks if not (pitched and track.is_drum)]
    notes = notes_of(tracks, score.ticks_per_quarter)
    return np.stack([notes.onset, notes.offset, notes.pitch], axis=1)


def pitch_class_histogram(score: Score) -> np.ndarray:
    """Share of the pitched notes in each pitch class: ``h[c] = #{notes: pitch mod 12 = c} / N``.

    Shape ``(12,)``, summing to 1; all ``nan`` when there is no pitched note. Notes are counted
    once each, whatever their length (as MusPy; Yang & Lerch 2020 §4.1 define the histogram).
    """
    pitch = _notes(score, pitched=True)[:, 2]
    if not len(pitch):
        return np.full(12, np.nan)
    return np.bincount(pitch % 12, minlength=12) / len(pitch)


def pitch_class_entropy(score: Score) -> float:
    """Shannon entropy of the pitch-class histogram, in bits:
    ``H = -sum_c h[c] * log2 h[c]`` (``0 log 0 = 0``), between 0 (one pitch class) and
    ``log2 12 = 3.585`` (all twelve equally often). Wu & Yang 2020, §4; MusPy's
    ``pitch_class_entropy``. ``nan`` without pitched notes."""
    histogram = pitch_class_histogram(score)
    if np.isnan(histogram).any():
        return float("nan")
    used = histogram[histogram > 0]
    return float(-(used * np.log2(used)).sum())


def scale_consistency(score: Score) -> float:
    """The largest share of pitched notes that fall in one major or natural-minor scale:
    ``max_{root, mode} #{notes in scale(root, mode)} / N`` over the 24 scales. Mogren 2016
    (C-RNN-GAN), MusPy's ``scale_consistency``. 1.0 for purely diatonic music; ``nan`` without
    pitched notes."""
    histogram = pitch_class_histogram(score)
    if np.isnan(histogram).any():
        return float("nan")
    best = 0.0
    for mode in (_MAJOR, _MINOR):
        for root in range(12):
            best = max(best, float(histogram[np.roll(mode, root)].sum()))
    return best


def polyphony(score: Score) -> float:
    """The mean number of distinct pitches sounding, over the time when at least one sounds:
    ``sum_p |U_p| / |U_1 ∪ ... ∪ U_128|``, where ``U_p`` is the union of the time spans of the
    notes of pitch ``p`` (Dong et al. 2018, MusPy's ``polyphony``, which samples the same
    quantity on the score's tick grid). A melody gives 1.0, four-part chorales about 3.5-4;
    ``nan`` without pitched notes of positive length."""
    notes = _notes(score, pitched=True)
    notes = notes[notes[:, 1] > notes[:, 0]]
    if not len(notes):
        return float("nan")
    per_pitch = sum(_union_length(notes[notes[:, 2] == p, :2]) for p in np.unique(notes[:, 2]))
    return per_pitch / _union_length(notes[:, :2])


def _union_length(spans: np.ndarray) -> int:
    """Total length of the union of ``(start, end)`` spans (``(n, 2)`` int array, ``n >= 1``).

    Sorted by start, a span opens a new block when it starts after every span before it has
    ended; a block lasts from its first start to the largest end in it."""
    spans = spans[np.argsort(spans[:, 0], kind="stable")]
    reach = np.maximum.accumulate(spans[:, 1])
    opens = np.ones(len(spans), dtype=bool)
    opens[1:] = spans[1:, 0] > reach[:-1]
    first = np.flatnonzero(opens)
    return int((np.maximum.reduceat(spans[:, 1], first) - spans[first, 0]).sum())


def empty_beat_rate(score: Score) -> float:
    """The share of beats in which no note sounds: ``#{empty beats} / B``.

    Beats are quarter notes counted from tick 0, ``B = ceil(end / tpq)`` where ``end`` is the
    end of the last note; beat ``b`` covers ``[b*tpq, (b+1)*tpq)`` and is empty when no note
    (drums included) sounds in it; a note of zero length sounds at its onset. Dong et al. 2018
    (MuseGAN), MusPy's ``empty_beat_rate``, whose 0.5.0 version also marks the beat in which a
    note *ends* (a quarter note at 0 fills beats 0 and 1) and counts one beat past the end.
    ``nan`` for a score without notes."""
    notes = _notes(score, pitched=False)
    tpq = score.ticks_per_quarter
    if not len(notes) or tpq <= 0:
        return float("nan")
    end = int(notes[:, 1].max())
    beats = max(1, -(-end // tpq))
    first = notes[:, 0] // tpq
    last = np.where(notes[:, 1] > notes[:, 0], (notes[:, 1] - 1) // tpq, first)
    count = np.zeros(beats + 1, dtype=np.int64)
    np.add.at(count, first, 1)
    np.add.at(count, last + 1, -1)
    filled = np.cumsum(count)[:beats] > 0
    return float(1.0 - filled.mean())


def groove_consistency(score: Score, steps_per_quarter: int = 4) -> float:
    """How alike the onset patterns of neighbouring bars are (Wu & Yang 2020, §4):
    ``GS = 1 - 1/(T-1) * sum_{i=1}^{T-1} d(g_i, g_{i+1}) / Q``.

    ``g_i`` is the binary onset vector of bar ``i`` at ``Q`` positions (onsets of every note,
    drums included, snapped to the nearest of ``steps_per_quarter`` steps per quarter; ``Q`` =
    steps per bar of the score's first time signature, 4/4 when it has none), ``d`` the Hamming
    distance, ``T`` the number of bars the notes occupy (``ceil(end / bar)``). Bars count from
    tick 0. MusPy 0.5.0's version counts one bar past the end whenever a piece ends on a bar
    line, which lowers the figure (an empty last bar). ``nan`` for fewer than two bars."""
    notes = _notes(score, pitched=False)
    tpq = score.ticks_per_quarter
    if not len(notes) or tpq <= 0:
        return float("nan")
    numerator, denominator = 4, 4
    if len(score.time_signatures):
        first = score.time_signatures[0]
        numerator, denominator = first.numerator, first.denominator
    bar_steps = round(numerator * 4 / denominator * steps_per_quarter)
    if bar_steps < 1:
        return float("nan")
    step = (2 * notes[:, 0] * steps_per_quarter + tpq) // (2 * tpq)  # nearest, halves up
    end_steps = -(-int(notes[:, 1].max()) * steps_per_quarter // tpq)
    bars = max(-(-end_steps // bar_steps), int(step.max()) // bar_steps + 1)
    if bars < 2:
        return float("nan")
    grooves = np.zeros((bars, bar_steps), dtype=bool)
    grooves[step // bar_steps, step % bar_steps] = True
    distance = (grooves[1:] != grooves[:-1]).sum()
    return float(1.0 - distance / (bar_steps * (bars - 1)))


def pitch_range(score: Score) -> float:
    """Highest minus lowest pitched note, in semitones (Yang & Lerch 2020 §4.1; MusPy's
    ``pitch_range``, which returns -127 for a score with only drum notes). ``nan`` without
    pitched notes."""
    pitch = _notes(score, pitched=True)[:, 2]
    return float(pitch.max() - pitch.min()) if len(pitch) else float("nan")


def note_length_histogram(score: Score) -> np.ndarray:
    """Share of the pitched notes in each of the 12 note-length classes of Yang & Lerch 2020
    (§4.2, :data:`NOTE_LENGTHS`): a note of ``d`` quarters goes to ``argmin_k |d - L_k|`` (ties
    to the class listed first). Shape ``(12,)``, summing to 1; all ``nan`` without pitched
    notes. Lengths are in quarter notes whatever the metre (Yang & Lerch's reference code reads
    the bar length from the wrong field of the time signature, so its classes are half as long
    as they say in 4/4)."""
    notes = _notes(score, pitched=True)
    if not len(notes) or score.ticks_per_quarter <= 0:
        return np.full(len(NOTE_LENGTHS), np.nan)
    quarters = (notes[:, 1] - notes[:, 0]) / score.ticks_per_quarter
    nearest = np.abs(quarters[:, None] - NOTE_LENGTHS[None, :]).argmin(axis=1)
    return np.bincount(nearest, minlength=len(NOTE_LENGTHS)) / len(notes)


def excerpt(score: Score, quarters: float) -> Score:
    """The first ``quarters`` quarter notes of ``score``: the notes that start before then, each
    cut to end there at the latest (tracks, signatures and tempos kept). Sets of pieces are
    compared at one length, since most statistics depend on it."""
    end = round(quarters * score.ticks_per_quarter)
    out = score.copy()
    for track in out.tracks:
        kept = [note for note in track.notes if note.time < end]
        for note in kept:
            note.duration = min(note.duration, end - note.time)
        track.notes.clear()
        track.notes.extend(kept)
    return out


#: The statistics ``continuo evaluate --stats`` reports, by name.
METRICS: dict[str, Callable[[Score], float | np.ndarray]] = {
    "pitch_class_entropy": pitch_class_entropy,
    "scale_consistency": scale_consistency,
    "polyphony": polyphony,
    "groove_consistency": groove_consistency,
    "empty_beat_rate": empty_beat_rate,
    "pitch_range": pitch_range,
    "pitch_class_histogram": pitch_class_histogram,
    "note_length_histogram": note_length_histogram,
}
