"""The ``events`` codec: polyphonic music as note events with learned rhythm (miditok TSD or REMI).

The MIDI-LSTM seed's "notes and chords" vocabulary, made complete: every note is a pitch, a
velocity bin and a duration, and the time between onsets is its own token, so a model learns
rhythm instead of writing every note as an eighth. A chord is the pitches that share an onset.

The tokens are miditok's (3.x, https://miditok.readthedocs.io), see
``docs/decisions/0004-codecs.md``. With the default ``tokenization="TSD"`` and programs on, a
piece is a stream of ``TimeShift_b.p.r`` (time to the next onset: ``b`` quarters plus ``p`` of
``r`` steps), ``Program_n`` (only when the instrument changes), ``Pitch_n`` (``PitchDrum_n`` for
drums), ``Velocity_v`` and ``Duration_b.p.r``; ``"REMI"`` writes ``Bar_None`` and ``Position_i``
(a 4/4 bar of ``4 * steps_per_quarter`` positions) instead of time shifts. The separator between
pieces is ``EOS_None``; ``PAD_None`` is id 0.

continuo, not miditok, does the quantisation (:meth:`EventsCodec.quantize`), so that it is
stated exactly; miditok only writes and reads an already quantised score, which it does without
loss (the round-trip tests check this):

- with ``sustain`` (the default) each pitched track's sustain pedal first lengthens the notes
  released while it is down (see :mod:`continuo.codecs._sustain`);
- pitched notes outside ``low..high`` are dropped; drum tracks are dropped unless ``drums``
  (then drum notes outside 27..88, miditok's drum range, are dropped);
- onsets go to the nearest grid step (``steps_per_quarter`` per quarter, halves up), durations
  to the nearest whole number of steps, at least 1 and at most ``max_duration`` quarters;
- notes of one output track that land on the same step with the same pitch (a duplicated
  note-on, a unison of two same-program tracks) become one note: the longest, at the loudest
  of their velocities;
- velocities go to the nearest of ``velocity_bins`` levels ``linspace(0, 127, bins + 1)[1:]``
  (ties up); with ``velocity_bins=0`` every note gets velocity 80;
- with ``programs`` the notes of all tracks of one program become one track, tracks in
  ascending program order, drums last; without, all notes are one program-0 track;
- with ``transpose`` every pitched note moves by :meth:`EventsCodec.transposition` (to C major /
  A minor), and notes that this moves out of ``low..high`` are dropped; decoded scores then carry
  a C major or A minor key signature (whichever fits the notes), so that encoding them again
  moves nothing;
- the time before the first note is kept; tempo, time and key signatures are not encoded.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import symusic

from continuo.codecs._grid import (
    check_steps_per_quarter,
    score_from_notes,
    to_steps,
)
from continuo.codecs._sustain import sustained_notes
from continuo.codecs.base import Codec
from continuo.codecs.keys import estimate_key, transposition_to_c
from continuo.errors import CodecError, ConfigError
from continuo.score import DECODED_VELOCITY, DEFAULT_TPQ, Score, notes_of

if TYPE_CHECKING:
    import miditok

__all__ = ["DRUM_RANGE", "EventsCodec", "EventsConfig"]

#: Drum pitches miditok's PitchDrum tokens cover (General MIDI 2 recommendation).
DRUM_RANGE = (27, 88)
_TOKENIZATIONS = ("TSD", "REMI")


@dataclass(frozen=True)
class EventsConfig:
    """Options of the ``events`` codec (see the module docstring)."""

    #: ``"TSD"`` (time shifts) or ``"REMI"`` (bars and positions).
    tokenization: str = "TSD"
    #: Grid steps per quarter for onsets and durations (4: 16ths, 12: also triplets).
    steps_per_quarter: int = 4
    #: Longest note in quarters; longer notes are cut to it.
    max_duration: int = 8
    #: Velocity levels; 0 for no velocity tokens (every note at velocity 80).
    velocity_bins: int = 8
    #: Lowest and highest pitched note kept (piano: 21..108).
    low: int = 21
    high: int = 108
    #: Keep instruments apart (``Program_n`` tokens) or merge everything into one piano track.
    programs: bool = True
    #: Keep drum tracks (``PitchDrum_n`` tokens; needs ``programs``).
    drums: bool = False
    #: Apply each track's sustain pedal to its note ends before quantising.
    sustain: bool = True
    #: Move every piece to C major / A minor (the melody codec's normalisation, with the shared
    #: key finder of :mod:`continuo.codecs.keys`); generation moves the output back.
    transpose: bool = False


class EventsCodec(Codec):
    """Polyphonic note events via a miditok tokenizer; see the module docstring."""

    name = "events"
    version = 1
    Config = EventsConfig
    separator = "EOS_None"
    config: EventsConfig

    def check_config(self) -> None:
        c = self.config
        if c.tokenization not in _TOKENIZATIONS:
            raise ConfigError(
                f"codec 'events': tokenization must be one of {', '.join(_TOKENIZATIONS)}, "
                f"not {c.tokenization!r}"
            )
        check_steps_per_quarter(self.name, c.steps_per_quarter)
        if not isinstance(c.max_duration, int) or not 1 <= c.max_duration <= 64:
            raise ConfigError(
                f"codec 'events': max_duration must be 1..64 quarters, not {c.max_duration!r}"
            )
        if not isinstance(c.velocity_bins, int) or not 0 <= c.velocity_bins <= 127:
            raise ConfigError(
                f"codec 'events': velocity_bins must be 0..127, not {c.velocity_bins!r}"
            )
        if not (isinstance(c.low, int) and isinstance(c.high, int) and 0 <= c.low <= c.high <= 127):
            raise ConfigError(
                f"codec 'events': need 0 <= low <= high <= 127, not {c.low!r}..{c.high!r}"
            )
        if c.drums and not c.programs:
            raise ConfigError("codec 'events': drums need programs=True")
        if not isinstance(c.sustain, bool):
            raise ConfigError(f"codec 'events': sustain must be true or false, not {c.sustain!r}")
        if not isinstance(c.transpose, bool):
            raise ConfigError(
                f"codec 'events': transpose must be true or false, not {c.transpose!r}"
            )

    def build_vocab(self) -> list[str]:
        import miditok  # here, not at the top: miditok imports torch (seconds)

        c = self.config
        programs = list(range(128)) + ([-1] if c.drums else [])
        tokenizer_config = miditok.TokenizerConfig(
            pitch_range=(c.low, c.high),
            beat_res={(0, c.max_duration): c.steps_per_quarter},
            num_velocities=max(c.velocity_bins, 1),
            use_velocities=c.velocity_bins > 0,
            special_tokens=["PAD", "EOS"],
            use_chords=False,
            use_rests=False,
            use_tempos=False,
            use_time_signatures=False,
            use_sustain_pedals=False,
            use_pitch_bends=False,
            use_programs=c.programs,
            programs=programs,
            one_token_stream_for_programs=True,
            program_changes=c.programs,
            use_pitchdrum_tokens=c.drums,
            drums_pitch_range=DRUM_RANGE,
            remove_duplicated_notes=False,
        )
        self._tokenizer = getattr(miditok, c.tokenization)(tokenizer_config)
        vocab = self._tokenizer.vocab
        tokens = sorted(vocab, key=vocab.__getitem__)
        if [vocab[t] for t in tokens] != list(range(len(tokens))):
            raise AssertionError("miditok vocabulary ids are not 0..n-1")
        self._velocities = np.asarray(self._tokenizer.velocities, dtype=np.int64)
        self._timing = _timing_tables(tokens, c.steps_per_quarter)
        return tokens

    @property
    def step_ticks(self) -> int:
        """Ticks (at DEFAULT_TPQ) of one grid step."""
        return DEFAULT_TPQ // self.config.steps_per_quarter

    @property
    def tokenizer(self) -> miditok.MusicTokenizer:
        """The miditok tokenizer behind this codec (for BPE training and miditok tools)."""
        return self._tokenizer

    # -- quantisation --------------------------------------------------------------------------
    def _tracks_in_steps(
        self, score: Score
    ) -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """Per output track: ``(program, onset, duration, pitch, velocity)``, times in steps."""
        c = self.config
        tpq = score.ticks_per_quarter
        if tpq <= 0:
            raise CodecError(f"invalid resolution of {tpq} ticks per quarter")
        notes = sustained_notes(score.tracks, tpq) if c.sustain else notes_of(score.tracks, tpq)
        if not len(notes):
            raise CodecError("no notes to encode")
        drum = notes.program < 0
        keep = ~drum & (notes.pitch >= c.low) & (notes.pitch <= c.high)
        if c.drums:
            keep |= drum & (notes.pitch >= DRUM_RANGE[0]) & (notes.pitch <= DRUM_RANGE[1])
        if not keep.any():
            if drum.all() and not c.drums:
                raise CodecError("only drum tracks: no pitched notes to encode")
            raise CodecError(f"no notes in the codec's pitch range {c.low}..{c.high}")
        notes = notes.take(keep)
        shift = self.transposition(score)
        if shift:
            moved = notes.pitch + np.where(notes.program < 0, 0, shift)
            inside = (notes.program < 0) | ((moved >= c.low) & (moved <= c.high))
            if not inside.any():
                raise CodecError(f"no notes in the pitch range {c.low}..{c.high} once in C")
            notes = dataclasses.replace(notes.take(inside), pitch=moved[inside])
        spq = c.steps_per_quarter
        onset = to_steps(notes.onset, tpq, spq)
        duration = np.clip(to_steps(notes.offset - notes.onset, tpq, spq), 1, c.max_duration * spq)
        if c.velocity_bins:
            levels = self._velocities
            index = np.searchsorted(levels, notes.velocity)  # first level >= velocity
            below = levels[np.maximum(index - 1, 0)]
            above = levels[np.minimum(index, len(levels) - 1)]
            velocity = np.where(notes.velocity - below < above - notes.velocity, below, above)
        else:
            velocity = np.full(len(notes), DECODED_VELOCITY, dtype=np.int64)
        program = notes.program if c.programs else np.zeros(len(notes), dtype=np.int64)
        return _tracks(program, onset, duration, notes.pitch, velocity)

    def quantize(self, score: Score) -> Score:
        step = self.step_ticks
        return score_from_notes(
            [
                (p, on * step, dur * step, pitch, vel)
                for p, on, dur, pitch, vel in self._tracks_in_steps(score)
            ]
        )

    def note_token_ids(self) -> list[int]:
        return [i for i, token in enumerate(self.vocab) if token.startswith("Pitch")]

    def transposition(self, score: Score) -> int:
        """Semitones (-5..+6) that :meth:`encode` adds to every pitched note: 0 unless
        ``transpose``, else the shift to C major / A minor of
        :func:`~continuo.codecs.keys.transposition_to_c` (key signature, checked against the
        notes, else the notes' key)."""
        if not self.config.transpose:
            return 0
        return transposition_to_c(score)

    # -- the codec -----------------------------------------------------------------------------
    def encode(self, score: Score) -> list[int]:
        steps = score_from_notes(self._tracks_in_steps(score), tpq=self.config.steps_per_quarter)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sequence = self._tokenizer.encode(steps)
        if isinstance(sequence, list):  # programs=False: one sequence per track, and one track
            sequence = sequence[0]
        return [int(i) for i in sequence.ids]

    def decode(self, ids: Sequence[int]) -> Score:
        """Ids back to a score. Special tokens (``PAD``, ``EOS``) and ids outside the vocabulary
        are dropped wherever they are; miditok skips tokens that make no sense where they stand
        (a duration without a pitch, ...), so any sequence decodes. A pitch written twice at one
        time in one track is one note, as :meth:`quantize` makes it."""
        specials = {self.token_id("PAD_None"), self.separator_id}
        size = self.vocab_size
        clean = [int(i) for i in ids if 0 <= int(i) < size and int(i) not in specials]
        if not clean:
            return symusic.Score(DEFAULT_TPQ)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # with programs, one stream for all tracks; without, a list of one track's stream
            decoded = self._tokenizer.decode(clean if self.config.programs else [clean])
        tpq = decoded.ticks_per_quarter
        if DEFAULT_TPQ % tpq:  # miditok 3.1 decodes at steps_per_quarter ticks per quarter
            raise AssertionError(f"miditok decoded at {tpq} ticks per quarter")
        scale = DEFAULT_TPQ // tpq
        notes = notes_of(decoded.tracks, tpq)
        velocity = (
            notes.velocity if self.config.velocity_bins else np.full(len(notes), DECODED_VELOCITY)
        )
        program = notes.program if self.config.programs else np.zeros(len(notes), dtype=np.int64)
        duration = notes.offset - notes.onset
        score = score_from_notes(
            _tracks(program, notes.onset * scale, duration * scale, notes.pitch, velocity)
        )
        if self.config.transpose and len(notes):
            # in C major or A minor by construction; which of the two, the notes say
            minor = estimate_key(notes.pitch, duration, keys=((0, 0), (9, 1)))[1]
            score.key_signatures.append(symusic.KeySignature(0, 0, minor))
        return score

    def length_in_quarters(self, ids: Sequence[int]) -> float:
        """Where the last note ends or time has got to, read from the time tokens alone (no
        decoding: the generator asks this after every token)."""
        array = np.asarray([int(i) for i in ids], dtype=np.int64)
        array = array[(array >= 0) & (array < self.vocab_size)]
        if not len(array):
            return 0.0
        shift, duration, position, bar = (table[array] for table in self._timing)
        index = np.arange(len(array))
        if self.config.tokenization == "TSD":
            start = np.cumsum(shift) - shift  # the time at each token
        else:  # REMI: bars of 4 quarters, a position counts from the start of its bar
            bars = np.cumsum(bar) - 1
            last_bar = np.maximum.accumulate(np.where(bar, index, -1))
            last_position = np.maximum.accumulate(np.where(position >= 0, index, -1))
            offset = np.where(last_position > last_bar, position[np.maximum(last_position, 0)], 0)
            start = np.maximum(bars, 0) * 4 * self.config.steps_per_quarter + offset
        end = max(int((start + shift).max()), int((start + duration).max()))
        return end / self.config.steps_per_quarter

    def length_counter(self) -> Callable[[int], float]:
        """:meth:`length_in_quarters` of the ids so far, one id at a time, from a running time
        (TSD: the sum of the time shifts; REMI: the bars so far and the last position in the
        current bar) and the latest end seen."""
        shifts, durations, positions, bars = self._timing
        spq, size = self.config.steps_per_quarter, self.vocab_size
        remi = self.config.tokenization != "TSD"
        time = n_bars = offset = 0
        end: int | None = None

        def push(token: int) -> float:
            nonlocal time, n_bars, offset, end
            token = int(token)
            if not 0 <= token < size:
                return (end or 0) / spq
            if remi:
                if bars[token]:
                    n_bars, offset = n_bars + 1, 0
                if positions[token] >= 0:
                    offset = int(positions[token])
                start = max(n_bars - 1, 0) * 4 * spq + offset
            else:
                start, time = time, time + int(shifts[token])
            reach = start + max(int(shifts[token]), int(durations[token]))
            end = reach if end is None else max(end, reach)
            return end / spq

        return push

    def pitch_shift_table(self, semitones: int) -> np.ndarray:
        table = np.arange(self.vocab_size, dtype=np.int64)
        for index, token in enumerate(self.vocab):
            if token.startswith("Pitch_"):
                target = f"Pitch_{int(token[6:]) + int(semitones)}"
                table[index] = self._ids.get(target, -1)
        return table


def _tracks(
    program: np.ndarray,
    onset: np.ndarray,
    duration: np.ndarray,
    pitch: np.ndarray,
    velocity: np.ndarray,
) -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Notes grouped into tracks by program (ascending, drums last), one note per
    ``(program, onset, pitch)``: of notes that share these the longest is kept, at the loudest
    of their velocities. Encode and decode both pass through here, so a duplicated note that a
    model writes decodes to the single note the codec would encode."""
    order = np.lexsort((-velocity, -duration, pitch, onset, program))
    key = np.stack([program, onset, pitch], axis=1)[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (key[1:] != key[:-1]).any(axis=1)
    loudest = (
        np.maximum.reduceat(velocity[order], np.flatnonzero(first)) if len(order) else velocity
    )
    keep = order[first]
    program, onset, duration, pitch = program[keep], onset[keep], duration[keep], pitch[keep]
    tracks = []
    for p in sorted(np.unique(program).tolist(), key=lambda p: (p < 0, p)):
        mine = program == p
        tracks.append((p, onset[mine], duration[mine], pitch[mine], loudest[mine]))
    return tracks


def _timing_tables(vocab: list[str], steps_per_quarter: int) -> tuple[np.ndarray, ...]:
    """Per token id: time shift and duration in steps (0 if none), position (-1 if none), bar."""
    size = len(vocab)
    shift, duration = np.zeros(size, dtype=np.int64), np.zeros(size, dtype=np.int64)
    position, bar = np.full(size, -1, dtype=np.int64), np.zeros(size, dtype=bool)
    for index, token in enumerate(vocab):
        kind, _, value = token.partition("_")
        if kind in ("TimeShift", "Duration"):
            beats, steps, resolution = map(int, value.split("."))
            length = (beats * resolution + steps) * steps_per_quarter // resolution
            (shift if kind == "TimeShift" else duration)[index] = length
        elif kind == "Position":
            position[index] = int(value)
        elif kind == "Bar":
            bar[index] = True
    return shift, duration, position, bar
