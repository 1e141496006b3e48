"""The sustain pedal, applied to note ends before a polyphonic codec quantises them.

A piano performance releases keys early and holds the sound with the sustain pedal (MIDI
control 64; symusic reads a value >= 64 as down and gives each down span as a ``Pedal``). A
codec that ignored the pedal would hear such a performance as staccato. The rule (the piano's,
and that of Magenta's ``apply_sustain_control_changes``), per track:

- a note whose release falls inside a pedal-down span, ``start < end_note < end_pedal``, sounds
  on until the pedal comes up: ``end_note := end_pedal``;
- but not past the next strike of the same pitch in the same track (a key struck again damps
  the string): ``end_note := max(end_note, min(end_pedal, next_onset))``, where ``next_onset``
  is the first onset of that pitch strictly after the note's own onset.

Notes released while the pedal is up, and drum tracks, are left alone. symusic 0.5.8 keeps a
pedal with the notes of its own MIDI track and channel; a pedal in a track that holds no notes is
dropped when the file is read (see ``docs/decisions/0010-polyphony.md``).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import symusic

from continuo.score import NoteArrays, notes_of

__all__ = ["sustained_notes", "sustained_offsets"]


def sustained_offsets(
    onset: np.ndarray, offset: np.ndarray, pitch: np.ndarray, pedals: np.ndarray
) -> np.ndarray:
    """The note ends of one track after applying its pedal spans.

    ``onset``, ``offset``, ``pitch``: int64 ``(n,)``; ``pedals``: int64 ``(m, 2)`` rows
    ``(start, end)`` of the pedal-down spans, in ticks. Returns int64 ``(n,)``, never earlier
    than ``offset``.
    """
    offset = np.asarray(offset, dtype=np.int64)
    if not len(pedals) or not len(offset):
        return offset.copy()
    pedals = pedals[np.argsort(pedals[:, 0], kind="stable")]
    starts, ends = pedals[:, 0], np.maximum.accumulate(pedals[:, 1])
    index = np.searchsorted(starts, offset, side="left") - 1  # last pedal with start < offset
    held = index >= 0
    pedal_end = np.where(held, ends[np.maximum(index, 0)], offset)
    held &= offset < pedal_end
    next_onset = np.full(len(offset), np.iinfo(np.int64).max, dtype=np.int64)
    for p in np.unique(pitch[held]):
        mine = np.flatnonzero(pitch == p)
        times = np.sort(onset[mine])
        after = np.searchsorted(times, onset[mine], side="right")
        found = after < len(times)
        next_onset[mine[found]] = times[after[found]]
    extended = np.maximum(offset, np.minimum(pedal_end, next_onset))
    return np.where(held, extended, offset)


def sustained_notes(tracks: Iterable[symusic.Track], tpq: int) -> NoteArrays:
    """All notes of ``tracks`` (as :func:`~continuo.score.notes_of`), each pitched
    track's note ends moved by its own sustain pedal (:func:`sustained_offsets`)."""
    tracks = list(tracks)
    parts = [notes_of([track], tpq) for track in tracks]
    if not parts:
        return notes_of([], tpq)
    offsets = []
    for track, notes in zip(tracks, parts, strict=True):
        pedals = _pedal_spans(track)
        if track.is_drum or not len(pedals):
            offsets.append(notes.offset)
        else:
            offsets.append(sustained_offsets(notes.onset, notes.offset, notes.pitch, pedals))
    return NoteArrays(
        onset=np.concatenate([n.onset for n in parts]),
        offset=np.concatenate(offsets),
        pitch=np.concatenate([n.pitch for n in parts]),
        velocity=np.concatenate([n.velocity for n in parts]),
        program=np.concatenate([n.program for n in parts]),
        tpq=tpq,
    )


def _pedal_spans(track: symusic.Track) -> np.ndarray:
    """``(m, 2)`` int64 rows ``(start, end)`` of the track's pedal-down spans."""
    soa = track.pedals.numpy()
    start = np.asarray(soa["time"], dtype=np.int64)
    end = start + np.maximum(np.asarray(soa["duration"], dtype=np.int64), 0)
    return np.stack([start, end], axis=1) if len(start) else np.zeros((0, 2), dtype=np.int64)
