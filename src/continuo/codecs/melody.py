"""The ``melody`` codec: a monophonic song as a time series, one symbol per grid step.

This is the folk-melody seed's representation. With ``steps_per_quarter=4`` every symbol is a
16th note:

- ``"0"`` .. ``"127"``: a note of that MIDI pitch starts at this step;
- ``"_"``: the note (or rest) of the step before goes on;
- ``"r"``: a rest starts at this step (following ``"_"`` extend it);
- ``"/"``: the separator between songs (never inside an encoded song).

The vocabulary is fixed: ``"/", "r", "_", "0", "1", ..., "127"`` in that order, so the id of
pitch ``p`` is ``p + 3`` whatever the options (:data:`MELODY_VOCAB`, :func:`pitch_token`).

Example: a quarter G4, a quarter G4, an eighth F4, a dotted eighth E4, an eighth rest and a 16th
D4 encode as ``67 _ _ _ 67 _ _ _ 65 _ 64 _ _ r _ 62``. A song ends with its last note.

:meth:`MelodyCodec.quantize` states what survives: the first non-drum track with notes is the
melody; onsets and ends go to the nearest grid step (halves up; a note is at least one step
long); when ``off_grid="skip"`` a note whose onset or end is off the grid is refused instead.
Notes of different pitch that sound together in the source for more than half a step are a chord
or several voices: refused (``polyphony="skip"``, the error names the onset) or reduced to the
highest line (``polyphony="top"``, the skyline: of notes starting together the highest is kept,
a note starting under a higher sounding note is dropped, one starting over a lower note cuts
it). Otherwise each note ends where the next one starts: a re-strike of a sounding pitch cuts it,
identical notes count once (the longest), and of notes closer together than the grid that land
on one step the later one is kept. Rests before the first note are dropped, so the song starts
at tick 0. With ``transpose=True`` every pitch moves by :meth:`MelodyCodec.transposition` (to C
major / A minor) and decoded scores carry a C major or A minor key signature (whichever fits the
notes); with ``transpose=False`` none. Decoded scores have one track (program 0) at
:data:`~continuo.score.DEFAULT_TPQ` ticks per quarter, velocity 80, no time signature.

Seeds are written as text in two syntaxes (plus note names) read by :func:`parse_melody_text`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import symusic

from continuo.codecs._grid import (
    check_steps_per_quarter,
    format_quarters,
    is_on_grid,
    score_from_notes,
    to_steps,
)
from continuo.codecs.base import Codec
from continuo.codecs.keys import estimate_key, transposition_to_c
from continuo.errors import CodecError, ConfigError, SeedError
from continuo.score import DECODED_VELOCITY, DEFAULT_TPQ, Score, notes_of, pitch_name

__all__ = [
    "HOLD",
    "MELODY_VOCAB",
    "PITCH_OFFSET",
    "REST",
    "SEPARATOR",
    "MelodyCodec",
    "MelodyConfig",
    "format_melody_tokens",
    "is_pitch",
    "melody_from_text",
    "parse_melody_text",
    "pitch_token",
    "token_pitch",
]

SEPARATOR = "/"
REST = "r"
HOLD = "_"
#: The id of pitch ``p`` is ``p + PITCH_OFFSET``.
PITCH_OFFSET = 3
#: The melody codec's vocabulary, whatever its options: the id of a token is its index.
MELODY_VOCAB: tuple[str, ...] = (SEPARATOR, REST, HOLD, *(str(p) for p in range(128)))
_SEP_ID, _REST_ID, _HOLD_ID = 0, 1, 2
_PITCH_TOKENS = frozenset(MELODY_VOCAB[PITCH_OFFSET:])
_STEPS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ACCIDENTALS = {"": 0, "#": 1, "##": 2, "♯": 1, "b": -1, "bb": -2, "♭": -1}
_NOTE_NAME = re.compile(r"([A-Ga-g])(##|bb|#|b|♯|♭)?(-?\d+)")
_INTEGER = re.compile(r"[+-]?\d+")


def pitch_token(pitch: int) -> str:
    """The token of MIDI pitch ``pitch`` (0..127): its decimal string, ``60 -> "60"``."""
    if not 0 <= int(pitch) <= 127:
        raise ValueError(f"MIDI pitch {pitch} is outside 0..127")
    return str(int(pitch))


def is_pitch(token: str) -> bool:
    """Whether ``token`` is a pitch token (``"0"`` .. ``"127"``, no sign, no leading zero)."""
    return token in _PITCH_TOKENS


def token_pitch(token: str) -> int:
    """The MIDI pitch of a pitch token; ``ValueError`` for ``"_"``, ``"r"``, ``"/"`` and others."""
    if token not in _PITCH_TOKENS:
        raise ValueError(f"{token!r} is not a pitch token")
    return int(token)


@dataclass(frozen=True)
class MelodyConfig:
    """Options of the ``melody`` codec (see the module docstring)."""

    #: Grid steps per quarter note (4: 16ths); must divide 480.
    steps_per_quarter: int = 4
    #: Transpose every song to C major / A minor (see :meth:`MelodyCodec.transposition`).
    transpose: bool = True
    #: ``"quantize"``: snap off-grid onsets and ends; ``"skip"``: refuse the song (CodecError).
    off_grid: str = "quantize"
    #: ``"skip"``: refuse overlapping notes (a chord is not a melody); ``"top"``: keep the highest.
    polyphony: str = "skip"


class MelodyCodec(Codec):
    """Monophonic melodies as one symbol per grid step; see the module docstring."""

    name = "melody"
    version = 1
    Config = MelodyConfig
    separator = SEPARATOR
    polyphonic = False
    text_seed = True
    config: MelodyConfig

    def check_config(self) -> None:
        check_steps_per_quarter(self.name, self.config.steps_per_quarter)
        if self.config.off_grid not in ("quantize", "skip"):
            raise ConfigError(
                f"codec 'melody': off_grid must be 'quantize' or 'skip', not {self.config.off_grid!r}"
            )
        if self.config.polyphony not in ("skip", "top"):
            raise ConfigError(
                f"codec 'melody': polyphony must be 'skip' or 'top', not {self.config.polyphony!r}"
            )
        if not isinstance(self.config.transpose, bool):
            raise ConfigError(
                f"codec 'melody': transpose must be true or false, not {self.config.transpose!r}"
            )

    def build_vocab(self) -> list[str]:
        return list(MELODY_VOCAB)

    @property
    def step_ticks(self) -> int:
        """Ticks (at DEFAULT_TPQ) of one grid step."""
        return DEFAULT_TPQ // self.config.steps_per_quarter

    def pitch_id(self, pitch: int) -> int:
        """The id of MIDI pitch ``pitch``."""
        return self.token_id(pitch_token(pitch))

    # -- analysis ----------------------------------------------------------------------------
    @staticmethod
    def melody_track(score: Score) -> int:
        """Index of the track the codec reads: the first non-drum track with notes."""
        for index, track in enumerate(score.tracks):
            if not track.is_drum and len(track.notes):
                return index
        if any(len(track.notes) for track in score.tracks):
            raise CodecError("only drum tracks: no melody to encode")
        raise CodecError("no notes to encode")

    def note_token_ids(self) -> list[int]:
        return list(range(PITCH_OFFSET, len(MELODY_VOCAB)))

    def transposition(self, score: Score) -> int:
        """Semitones (-5..+6) that :meth:`encode` adds to every pitch: 0 unless ``transpose``.

        From the score's first key signature when it has one (only its sharps matter: C major
        and A minor share a signature) unless the melody's notes clearly contradict it, else
        from the key of the melody track's notes (:func:`~continuo.codecs.keys.transposition_to_c`
        states the rule). Add ``-transposition(score)`` to the pitches of decoded output to bring
        it back to the original key.
        """
        if not self.config.transpose:
            return 0
        return transposition_to_c(score, self.melody_track(score))

    def off_grid_onsets(self, score: Score) -> list[float]:
        """Onsets (in quarters) of the melody's notes whose onset or end is off the grid."""
        notes = notes_of([score.tracks[self.melody_track(score)]], score.ticks_per_quarter)
        spq = self.config.steps_per_quarter
        bad = ~(is_on_grid(notes.onset, notes.tpq, spq) & is_on_grid(notes.offset, notes.tpq, spq))
        return sorted({float(t) / notes.tpq for t in notes.onset[bad]})

    def melody_steps(self, score: Score) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The melody as ``(onset steps, end steps, pitches)``: sorted, non-overlapping, the first
        onset at 0, transposed. Raises :class:`CodecError` for what the codec refuses."""
        tpq = score.ticks_per_quarter
        if tpq <= 0:
            raise CodecError(f"invalid resolution of {tpq} ticks per quarter")
        notes = notes_of([score.tracks[self.melody_track(score)]], tpq)
        spq = self.config.steps_per_quarter
        if self.config.off_grid == "skip":
            bad = ~(is_on_grid(notes.onset, tpq, spq) & is_on_grid(notes.offset, tpq, spq))
            if bad.any():
                first = int(notes.onset[bad].min())
                raise CodecError(
                    f"note at quarter {format_quarters(first, tpq)} is off the "
                    f"1/{spq}-quarter grid (off_grid='skip')"
                )
        start = to_steps(notes.onset, tpq, spq)
        end = np.maximum(to_steps(notes.offset, tpq, spq), start + 1)
        # by onset; of notes starting together the highest first, of equal ones the longest last
        order = np.lexsort((notes.offset - notes.onset, -notes.pitch, notes.onset))
        top = self.config.polyphony == "top"
        kept: list[list[int]] = []  # [start step, end step, pitch, end tick in the source]
        for i in order:
            s, e, p = int(start[i]), int(end[i]), int(notes.pitch[i])
            if kept:
                last = kept[-1]
                # sounding together in the source for more than half a step: a chord or voices
                if last[2] != p and 2 * spq * (last[3] - int(notes.onset[i])) > tpq:
                    if not top:
                        raise CodecError(
                            f"notes overlap at quarter {format_quarters(int(notes.onset[i]), tpq)}"
                            ": a chord or several voices is not a melody",
                            option="polyphony='top' keeps the highest line",
                        )
                    if last[2] > p:
                        continue  # under a higher sounding note: dropped
                # this note follows: the one before ends where it starts, or vanishes when both
                # start on one step (a re-strike, a duplicate, notes closer than the grid)
                last[1] = min(last[1], s)
                if last[1] <= last[0]:
                    kept.pop()
            kept.append([s, e, p, int(notes.offset[i])])
        steps = np.array(kept, dtype=np.int64).reshape(-1, 4)[:, :3]
        steps[:, :2] -= steps[0, 0]
        shift = self.transposition(score)
        pitches = steps[:, 2] + shift
        if shift and (pitches.min() < 0 or pitches.max() > 127):
            raise CodecError(f"transposing by {shift:+d} semitones leaves MIDI pitches 0..127")
        return steps[:, 0], steps[:, 1], pitches

    # -- the codec ---------------------------------------------------------------------------
    def quantize(self, score: Score) -> Score:
        start, end, pitch = self.melody_steps(score)
        return self._score(start, end, pitch)

    def encode(self, score: Score) -> list[int]:
        start, end, pitch = self.melody_steps(score)
        ids = np.full(int(end[-1]), _HOLD_ID, dtype=np.int64)
        gaps = end[:-1] < start[1:]
        ids[end[:-1][gaps]] = _REST_ID
        ids[start] = pitch + PITCH_OFFSET
        return ids.tolist()

    def decode(self, ids: Sequence[int]) -> Score:
        """Ids back to a score. Ill-formed input is read leniently: ids outside the vocabulary
        are ignored, ``_`` at the start or after ``r`` extends a rest, and a ``/`` inside the
        sequence ends the sounding note without taking time."""
        notes: list[tuple[int, int, int]] = []
        current: list[int] | None = None  # [start step, pitch]
        position = 0
        size = len(MELODY_VOCAB)
        for raw in ids:
            token = int(raw)
            if not 0 <= token < size:
                continue
            if token >= PITCH_OFFSET or token in (_REST_ID, _SEP_ID):
                if current is not None:
                    notes.append((current[0], position, current[1]))
                    current = None
                if token >= PITCH_OFFSET:
                    current = [position, token - PITCH_OFFSET]
            if token != _SEP_ID:
                position += 1
        if current is not None:
            notes.append((current[0], position, current[1]))
        array = np.array(notes, dtype=np.int64).reshape(-1, 3)
        return self._score(array[:, 0], array[:, 1], array[:, 2])

    def length_in_quarters(self, ids: Sequence[int]) -> float:
        """Every token but ``/`` (and ids outside the vocabulary) lasts one grid step."""
        array = np.asarray(ids, dtype=np.int64)  # the generator asks after every token: no loop
        steps = np.count_nonzero((array > 0) & (array < len(MELODY_VOCAB)))
        return int(steps) / self.config.steps_per_quarter

    def length_counter(self) -> Callable[[int], float]:
        """:meth:`length_in_quarters` of the ids so far, one id at a time: a running count."""
        steps, size, per_quarter = 0, len(MELODY_VOCAB), self.config.steps_per_quarter

        def push(token: int) -> float:
            nonlocal steps
            steps += 0 < int(token) < size
            return steps / per_quarter

        return push

    def pitch_shift_table(self, semitones: int) -> np.ndarray:
        table = np.arange(len(MELODY_VOCAB), dtype=np.int64)
        pitches = np.arange(128) + int(semitones)
        table[PITCH_OFFSET:] = np.where(
            (pitches >= 0) & (pitches <= 127), pitches + PITCH_OFFSET, -1
        )
        return table

    def _score(self, start: np.ndarray, end: np.ndarray, pitch: np.ndarray) -> Score:
        step = self.step_ticks
        velocity = np.full(len(start), DECODED_VELOCITY, dtype=np.int64)
        score = score_from_notes([(0, start * step, (end - start) * step, pitch, velocity)])
        if self.config.transpose and len(pitch):
            # in C major or A minor by construction; which of the two, the notes say
            minor = estimate_key(pitch, end - start, keys=((0, 0), (9, 1)))[1]
            score.key_signatures.append(symusic.KeySignature(0, 0, minor))
        return score


# -- seed text ---------------------------------------------------------------------------------
def parse_melody_text(text: str) -> list[str]:
    """Melody tokens from seed text; every syntax below gives the same tokens.

    - the seed's own syntax: ``"67 _ 67 _ 65 64 _ r"`` (MIDI pitches, ``_`` hold, ``r`` rest,
      ``/`` song separator), separated by spaces or commas;
    - Magenta's primer melody: ``"[67, -2, 67, -2, 65, 64]"`` (-2 hold, -1 note off, i.e. a rest);
    - note names, C4 = 60, with ``#``/``b`` (or ``♯``/``♭``, doubled for double accidentals):
      ``"G4 _ G4 _ F4 E4"``, ``"F#4"``, ``"Bb3"``.

    The syntaxes may be mixed. Anything else raises :class:`SeedError` naming the token and its
    position (from 1). Empty text gives no tokens.
    """
    stripped = text.strip()
    if stripped.startswith("[") or stripped.endswith("]"):
        if not (stripped.startswith("[") and stripped.endswith("]")):
            raise SeedError(f"seed {stripped!r} opens or closes a '[...]' list but not both")
        stripped = stripped[1:-1]
    items = [item for item in re.split(r"[\s,]+", stripped) if item]
    return [_seed_token(item, position) for position, item in enumerate(items, 1)]


def _seed_token(item: str, position: int) -> str:
    if item in (HOLD, SEPARATOR):
        return item
    if item in ("r", "R"):
        return REST
    if _INTEGER.fullmatch(item):
        value = int(item)
        if value == -2:
            return HOLD
        if value == -1:
            return REST
        if not 0 <= value <= 127:
            raise SeedError(
                f"seed token {position} {item!r} is out of range: pitches are 0..127 "
                "(-1 rest, -2 hold)"
            )
        return str(value)
    match = _NOTE_NAME.fullmatch(item)
    if match:
        letter, accidental, octave = match.groups()
        pitch = 12 * (int(octave) + 1) + _STEPS[letter.upper()] + _ACCIDENTALS[accidental or ""]
        if not 0 <= pitch <= 127:
            raise SeedError(f"seed token {position} {item!r} is pitch {pitch}, out of range 0..127")
        return str(pitch)
    raise SeedError(
        f"seed token {position} {item!r} is not a MIDI pitch, a note name, '_', 'r' or '/'"
    )


def melody_from_text(text: str, *, steps_per_quarter: int = 4) -> Score:
    """A melody written as seed text (any syntax of :func:`parse_melody_text`) as a score.

    The text is taken as it is, in its own key: the score has no key signature, so
    :meth:`MelodyCodec.transposition` estimates the key from the notes. (Decoding the same
    tokens with a transposing codec would mark the score C major / A minor, which is right for
    model output but not for a seed a user wrote in another key.)
    """
    codec = MelodyCodec(steps_per_quarter=steps_per_quarter, transpose=False)
    return codec.decode(codec.tokens_to_ids(parse_melody_text(text)))


def format_melody_tokens(tokens: Sequence[str], *, names: bool = False) -> str:
    """Tokens as seed text, ``"67 _ 67 _ 65 64 _ r"``; with ``names``, ``"G4 _ G4 _ F4 E4 _ r"``.

    :func:`parse_melody_text` reads it back to the same tokens.
    """
    if names:
        return " ".join(pitch_name(int(t)) if is_pitch(t) else t for t in tokens)
    return " ".join(tokens)
