"""The ``pianoroll`` codec: multi-hot frames on a time grid, serialised frame by frame.

The representation of the MusicNet and JSB seeds: frame ``t`` covers grid step ``t`` (from tick
0; ``steps_per_quarter`` frames per quarter, 4 = the JSB 16th grid) and says which pitches of
``low..high`` (piano: 21..108) sound in it. As tokens, each frame is its sounding pitches in
ascending order, then the frame end ``"|"``; an empty frame is ``"|"`` alone. Pitch tokens are
the MIDI numbers (``"60"``). With ``onsets=True`` a pitch struck in this frame is written
``"+60"`` and one held from the frame before ``"60"``, so re-struck notes survive; with the
default ``onsets=False`` a held note and a re-struck one look the same. The separator between
pieces is ``"/"``. Vocabulary: ``"/", "|"``, the pitches, then (with onsets) the struck pitches.

A frame-level model (the sigmoid piano-roll baseline) works on :meth:`PianorollCodec.to_frames`
directly; a token model's probability of a frame is the product over that frame's tokens, up to
and including its ``"|"`` (:attr:`PianorollCodec.frame_end_id`).

:meth:`PianorollCodec.quantize` states what survives: notes of all non-drum tracks with pitches
in ``low..high`` (others are dropped), their ends first moved by each track's sustain pedal
(with ``sustain``, the default; see :mod:`continuo.codecs._sustain`); onset and end go to the
nearest step (halves up; at least one step); then, per pitch, overlapping or touching notes
merge into one (with ``onsets``, a note still starts at every step where one was struck). The
result is one track (program 0) at :data:`~continuo.score.DEFAULT_TPQ`, velocity 80, starting
where the source starts (tick 0).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from continuo.codecs._grid import (
    check_steps_per_quarter,
    score_from_notes,
    to_steps,
)
from continuo.codecs._sustain import sustained_notes
from continuo.codecs.base import Codec
from continuo.errors import CodecError, ConfigError
from continuo.score import DECODED_VELOCITY, DEFAULT_TPQ, Score, notes_of

__all__ = ["FRAME_END", "SEPARATOR", "PianorollCodec", "PianorollConfig"]

SEPARATOR = "/"
FRAME_END = "|"
_SEP_ID, _END_ID, _FIRST_PITCH_ID = 0, 1, 2


@dataclass(frozen=True)
class PianorollConfig:
    """Options of the ``pianoroll`` codec (see the module docstring)."""

    #: Frames per quarter note (4: 16ths); must divide 480.
    steps_per_quarter: int = 4
    #: Lowest and highest pitch of the roll (piano: 21..108).
    low: int = 21
    high: int = 108
    #: Mark struck pitches (``"+60"``) apart from held ones (``"60"``).
    onsets: bool = False
    #: Apply each track's sustain pedal to its note ends before quantising.
    sustain: bool = True


class PianorollCodec(Codec):
    """Multi-hot frames, one token per sounding pitch and one per frame end."""

    name = "pianoroll"
    version = 1
    Config = PianorollConfig
    separator = SEPARATOR
    config: PianorollConfig

    def check_config(self) -> None:
        c = self.config
        check_steps_per_quarter(self.name, c.steps_per_quarter)
        if not (isinstance(c.low, int) and isinstance(c.high, int) and 0 <= c.low <= c.high <= 127):
            raise ConfigError(
                f"codec 'pianoroll': need 0 <= low <= high <= 127, not {c.low!r}..{c.high!r}"
            )
        if not isinstance(c.onsets, bool):
            raise ConfigError(f"codec 'pianoroll': onsets must be true or false, not {c.onsets!r}")
        if not isinstance(c.sustain, bool):
            raise ConfigError(
                f"codec 'pianoroll': sustain must be true or false, not {c.sustain!r}"
            )

    def build_vocab(self) -> list[str]:
        pitches = range(self.config.low, self.config.high + 1)
        struck = [f"+{p}" for p in pitches] if self.config.onsets else []
        return [SEPARATOR, FRAME_END, *(str(p) for p in pitches), *struck]

    @property
    def n_pitches(self) -> int:
        """Width of a frame: ``high - low + 1`` (88 for the piano)."""
        return self.config.high - self.config.low + 1

    @property
    def frame_end_id(self) -> int:
        """The id of ``"|"``, the last token of every frame."""
        return _END_ID

    @property
    def step_ticks(self) -> int:
        """Ticks (at DEFAULT_TPQ) of one frame."""
        return DEFAULT_TPQ // self.config.steps_per_quarter

    # -- frames --------------------------------------------------------------------------------
    def to_rolls(self, score: Score) -> tuple[np.ndarray, np.ndarray]:
        """``(frames, onsets)``: bool arrays ``(T, n_pitches)``, column ``j`` = pitch ``low + j``;
        ``onsets`` marks the frames where a note of that pitch starts (always within
        ``frames``). ``T`` ends with the last sounding frame. Raises :class:`CodecError` when no
        note is left."""
        c = self.config
        tpq = score.ticks_per_quarter
        if tpq <= 0:
            raise CodecError(f"invalid resolution of {tpq} ticks per quarter")
        pitched = [t for t in score.tracks if not t.is_drum]
        notes = sustained_notes(pitched, tpq) if c.sustain else notes_of(pitched, tpq)
        if not len(notes):
            if any(len(t.notes) for t in score.tracks):
                raise CodecError("only drum tracks: no pitched notes to encode")
            raise CodecError("no notes to encode")
        notes = notes.take((notes.pitch >= c.low) & (notes.pitch <= c.high))
        if not len(notes):
            raise CodecError(f"no notes in the codec's pitch range {c.low}..{c.high}")
        start = to_steps(notes.onset, tpq, c.steps_per_quarter)
        end = np.maximum(to_steps(notes.offset, tpq, c.steps_per_quarter), start + 1)
        column = notes.pitch - c.low
        count = np.zeros((int(end.max()) + 1, self.n_pitches), dtype=np.int32)
        np.add.at(count, (start, column), 1)
        np.add.at(count, (end, column), -1)
        frames = np.cumsum(count, axis=0)[:-1] > 0
        onsets = np.zeros_like(frames)
        onsets[start, column] = True
        return frames, onsets

    def to_frames(self, score: Score) -> np.ndarray:
        """The sounding pitches of each frame: bool ``(T, n_pitches)`` (see :meth:`to_rolls`)."""
        return self.to_rolls(score)[0]

    def from_frames(self, frames: np.ndarray, onsets: np.ndarray | None = None) -> Score:
        """A score from frames: each run of sounding frames of a pitch is a note, split where
        ``onsets`` (if given) marks a new strike. One track, velocity 80, DEFAULT_TPQ."""
        frames = np.asarray(frames, dtype=bool).reshape(-1, self.n_pitches)
        previous = np.vstack([np.zeros((1, frames.shape[1]), dtype=bool), frames[:-1]])
        starts = frames & ~previous
        if onsets is not None:
            starts |= frames & np.asarray(onsets, dtype=bool).reshape(frames.shape)
        boundary = np.vstack([starts | ~frames, np.ones((1, frames.shape[1]), dtype=bool)])
        onset_list, end_list, pitch_list = [], [], []
        for j in np.flatnonzero(starts.any(axis=0)):
            first = np.flatnonzero(starts[:, j])
            stops = np.flatnonzero(boundary[:, j])
            onset_list.append(first)
            end_list.append(stops[np.searchsorted(stops, first, side="right")])
            pitch_list.append(np.full(len(first), self.config.low + j, dtype=np.int64))
        if not onset_list:
            return score_from_notes([(0, *(np.zeros(0, dtype=np.int64),) * 4)])
        onset, end = np.concatenate(onset_list), np.concatenate(end_list)
        step = self.step_ticks
        velocity = np.full(len(onset), DECODED_VELOCITY, dtype=np.int64)
        return score_from_notes(
            [(0, onset * step, (end - onset) * step, np.concatenate(pitch_list), velocity)]
        )

    def frames_to_ids(self, frames: np.ndarray, onsets: np.ndarray | None = None) -> list[int]:
        """Frames (and, with ``onsets=True`` in the config, strikes) as token ids."""
        frames = np.asarray(frames, dtype=bool).reshape(-1, self.n_pitches)
        time, column = np.nonzero(frames)  # row-major: by frame, pitches ascending
        pitch_ids = column + _FIRST_PITCH_ID
        if self.config.onsets:
            previous = np.vstack([np.zeros((1, frames.shape[1]), dtype=bool), frames[:-1]])
            struck = frames & ~previous
            if onsets is not None:
                struck |= frames & np.asarray(onsets, dtype=bool).reshape(frames.shape)
            pitch_ids = pitch_ids + self.n_pitches * struck[time, column]
        per_frame = np.bincount(time, minlength=len(frames)) + 1
        ids = np.empty(int(per_frame.sum()), dtype=np.int64)
        is_end = np.zeros(len(ids), dtype=bool)
        is_end[np.cumsum(per_frame) - 1] = True
        ids[is_end] = _END_ID
        ids[~is_end] = pitch_ids
        return ids.tolist()

    def ids_to_rolls(self, ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids back to ``(frames, onsets)``. Lenient: separators and ids outside the
        vocabulary are ignored, pitches may come in any order or twice, and pitches after the
        last ``"|"`` make one more frame. A held pitch not sounding in the frame before counts
        as struck."""
        array = np.asarray([int(i) for i in ids], dtype=np.int64)
        array = array[(array > _SEP_ID) & (array < self.vocab_size)]
        is_end = array == _END_ID
        frame = np.cumsum(is_end) - is_end
        n_frames = int(is_end.sum()) + int(len(array) > 0 and not is_end[-1])
        frames = np.zeros((n_frames, self.n_pitches), dtype=bool)
        onsets = np.zeros_like(frames)
        pitch = array[~is_end] - _FIRST_PITCH_ID
        where = frame[~is_end]
        struck = pitch >= self.n_pitches
        column = pitch % self.n_pitches
        frames[where, column] = True
        onsets[where[struck], column[struck]] = True
        return frames, onsets

    def ids_to_frames(self, ids: Sequence[int]) -> np.ndarray:
        """Token ids back to frames, bool ``(T, n_pitches)`` (see :meth:`ids_to_rolls`)."""
        return self.ids_to_rolls(ids)[0]

    # -- the codec -----------------------------------------------------------------------------
    def quantize(self, score: Score) -> Score:
        frames, onsets = self.to_rolls(score)
        return self.from_frames(frames, onsets if self.config.onsets else None)

    def encode(self, score: Score) -> list[int]:
        frames, onsets = self.to_rolls(score)
        return self.frames_to_ids(frames, onsets)

    def decode(self, ids: Sequence[int]) -> Score:
        frames, onsets = self.ids_to_rolls(ids)
        return self.from_frames(frames, onsets if self.config.onsets else None)

    def length_in_quarters(self, ids: Sequence[int]) -> float:
        """Frames (as :meth:`ids_to_rolls` counts them) over frames per quarter."""
        return len(self.ids_to_rolls(ids)[0]) / self.config.steps_per_quarter

    def length_counter(self) -> Callable[[int], float]:
        """:meth:`length_in_quarters` of the ids so far, one id at a time: each ``"|"`` closes a
        frame, and pitches after the last one make one more."""
        ends, open_frame = 0, False

        def push(token: int) -> float:
            nonlocal ends, open_frame
            token = int(token)
            if token == _END_ID:
                ends, open_frame = ends + 1, False
            elif _SEP_ID < token < self.vocab_size:
                open_frame = True
            return (ends + open_frame) / self.config.steps_per_quarter

        return push

    def pitch_shift_table(self, semitones: int) -> np.ndarray:
        table = np.arange(self.vocab_size, dtype=np.int64)
        n = self.n_pitches
        column = np.arange(n) + int(semitones)
        shifted = np.where((column >= 0) & (column < n), column + _FIRST_PITCH_ID, -1)
        table[_FIRST_PITCH_ID : _FIRST_PITCH_ID + n] = shifted
        if self.config.onsets:
            table[_FIRST_PITCH_ID + n :] = np.where(shifted >= 0, shifted + n, -1)
        return table
