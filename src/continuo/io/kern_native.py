"""A small, fast parser for the common subset of Humdrum ``**kern``.

It reads what the Essen folk songs and most chorale files use: one or more ``**kern`` spines
(other spines such as ``**dynam`` are carried and ignored), notes, rests and chords with
durations (dots and tuplets such as ``3``, ``6``, ``12`` included), ties ``[`` ``_`` ``]``,
accidentals, ``*M`` meters, ``*k[]`` key signatures, ``*X:`` keys, ``*MM`` tempos, barlines,
comments, and the spine operations split ``*^``, join ``*v``, exchange ``*x`` and end ``*-``.
Phrases, slurs, beams, stems, fermatas and articulations are ignored; grace notes are dropped.

Anything else raises :class:`KernUnsupported` (the caller then asks music21, the parser of
record); a token that cannot be kern at all raises :class:`KernSyntaxError`. The result agrees
note for note with ``from_music21(music21.converter.parse(...))`` (see the tests and
docs/decisions/0003-readers.md), about a hundred times faster.
"""

from __future__ import annotations

import re
from functools import lru_cache

import symusic

from continuo.io._common import (
    TIE_CONTINUE,
    TIE_NONE,
    TIE_START,
    TIE_STOP,
    add_tied_note,
    set_signatures,
    tonic_sharps,
)
from continuo.score import DEFAULT_TPQ, UNMARKED_VELOCITY, Score

__all__ = ["KernSyntaxError", "KernUnsupported", "parse_kern"]


class KernUnsupported(Exception):
    """Valid kern (as far as we can tell) that the native parser does not handle."""


class KernSyntaxError(ValueError):
    """Text that is not kern: a token with no pitch or rest, no duration, too few fields..."""


_STEPS = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
_PITCH_CHARS = frozenset("abcdefgABCDEFG")
# Phrases, slurs, elisions, beams, stems, fermata, articulations, breath, arpeggio: no effect on
# the notes music21 reads, so the native parser skips them too.
_IGNORED = frozenset("{}()&LJKk;'\"`~^,:/\\")

_METER = re.compile(r"\*M(\d+)/(\d+)")
_TEMPO = re.compile(r"\*MM(\d+(?:\.\d+)?)")
_KEY = re.compile(r"\*([A-Ga-g])([#-]*):")


class _Spine:
    """One spine path: whether it is kern, the track it feeds and its current tick."""

    __slots__ = ("is_kern", "time", "track")

    def __init__(self, is_kern: bool, track: int, time: int = 0) -> None:
        self.is_kern = is_kern
        self.track = track
        self.time = time

    def copy(self) -> _Spine:
        return _Spine(self.is_kern, self.track, self.time)


@lru_cache(maxsize=8192)
def _parse_token(token: str, tpq: int) -> tuple[int, int | None, int, bool]:
    """``(duration_ticks, midi_pitch or None for a rest, tie kind, is_grace)`` of one note token."""
    digits = ""
    digits_done = False
    dots = sharps = flats = 0
    letters = ""
    rest = grace = False
    tie_start = tie_stop = tie_continue = False
    unknown = ""
    previous_digit = False
    for char in token:
        is_digit = "0" <= char <= "9"
        if is_digit:
            if digits_done:
                raise KernUnsupported(f"token {token!r} has two numbers")
            digits += char
        else:
            if previous_digit:
                digits_done = True
            if char in _PITCH_CHARS:
                letters += char
            elif char == ".":
                dots += 1
            elif char == "#":
                sharps += 1
            elif char == "-":
                flats += 1
            elif char == "n":
                pass
            elif char == "r":
                rest = True
            elif char == "[":
                tie_start = True
            elif char == "]":
                tie_stop = True
            elif char == "_":
                tie_continue = True
            elif char in "qQ":
                grace = True
            elif char not in _IGNORED:
                unknown += char
        previous_digit = is_digit
    if not letters and not rest:
        raise KernSyntaxError(f"unknown kern token {token!r} (no pitch and no rest)")
    if not digits and not grace:
        raise KernSyntaxError(f"kern token {token!r} has no duration")
    if unknown:
        raise KernUnsupported(f"token {token!r} uses {unknown!r}")
    if (letters and (rest or letters.count(letters[0]) != len(letters))) or (sharps and flats):
        raise KernUnsupported(f"unusual token {token!r}")
    duration = 0 if grace else _ticks(digits, dots, tpq, token)
    pitch = None
    if letters:
        step = letters[0]
        octave = 3 + len(letters) if step.islower() else 4 - len(letters)
        pitch = 12 * (octave + 1) + _STEPS[step.lower()] + sharps - flats
        if not 0 <= pitch <= 127:
            raise KernUnsupported(f"pitch of {token!r} is outside MIDI's range")
    # music21's precedence when a token holds several tie marks: start, then stop, then continue.
    tie = TIE_NONE
    if tie_start:
        tie = TIE_START
    elif tie_stop:
        tie = TIE_STOP
    elif tie_continue:
        tie = TIE_CONTINUE
    return duration, pitch, tie, grace


def _ticks(digits: str, dots: int, tpq: int, token: str) -> int:
    """Ticks of a kern reciprocal duration (``4`` quarter, ``3`` triplet half, ``0`` breve)."""
    if set(digits) == {"0"}:
        whole = 4 * tpq * 2 ** len(digits)
        base = whole
    else:
        recip = int(digits)
        if (4 * tpq) % recip:
            raise KernUnsupported(f"duration of {token!r} is not a whole number of ticks")
        base = 4 * tpq // recip
    total = add = base
    for _ in range(dots):
        if add % 2:
            raise KernUnsupported(f"dotted duration of {token!r} is not a whole number of ticks")
        add //= 2
        total += add
    return total


def _key_signature(token: str) -> int:
    """Sharps (negative: flats) of a ``*k[...]`` token.

    Like music21, a signature out of the usual order (``*k[c-e-a-]``, ten Essen songs) counts
    its accidentals; one that mixes sharps and flats is left to music21.
    """
    inside = token[3:-1]
    if not token.endswith("]") or len(inside) % 2:
        raise KernUnsupported(f"key signature {token!r}")
    letters, marks = inside[0::2], set(inside[1::2])
    if not inside:
        return 0
    if len(set(letters)) != len(letters) or not set(letters) <= set(_STEPS):
        raise KernUnsupported(f"key signature {token!r}")
    if marks == {"#"}:
        return len(letters)
    if marks == {"-"}:
        return -len(letters)
    raise KernUnsupported(f"key signature {token!r} mixes sharps and flats")


class _Builder:
    """Notes, ties and signatures collected while the lines go by."""

    def __init__(self, tpq: int) -> None:
        self.tpq = tpq
        self.notes: list[list[list[int]]] = []  # per track: [onset, duration, pitch, velocity]
        self.open_ties: list[dict[int, list[int]]] = []
        self.time_signatures: list[tuple[int, int, int]] = []
        self.keys: list[tuple[int, int, int, bool]] = []
        self.tempos: list[tuple[int, float]] = []

    def new_track(self) -> int:
        self.notes.append([])
        self.open_ties.append({})
        return len(self.notes) - 1

    def interpretation(self, token: str, time: int) -> None:
        if token.startswith("*M"):
            meter = _METER.fullmatch(token)
            if meter:
                numerator, denominator = int(meter[1]), int(meter[2])
                if denominator & (denominator - 1) or not numerator or not denominator:
                    raise KernUnsupported(f"meter {token!r}")
                self.time_signatures.append((time, numerator, denominator))
            elif token.startswith("*MM"):
                tempo = _TEMPO.fullmatch(token)
                if not tempo or float(tempo[1]) <= 0:
                    raise KernUnsupported(f"tempo {token!r}")
                self.tempos.append((time, float(tempo[1])))
            elif token != "*MX":  # *MX: irregular meter; music21 warns and carries none
                raise KernUnsupported(f"meter {token!r}")
        elif token.startswith("*k["):
            self.keys.append((time, _key_signature(token), 0, False))
        elif token.startswith("*I"):
            pass  # instrument, class, group or name
        elif token.endswith(":"):  # as in music21: *G:mix and the like are not keys
            key = _KEY.fullmatch(token)
            if not key:
                raise KernUnsupported(f"key {token!r}")
            step, accidentals = key[1], key[2]
            alter = accidentals.count("#") - accidentals.count("-")
            minor = step.islower()
            self.keys.append((time, tonic_sharps(step, alter, minor), int(minor), True))
        elif token.startswith(("*Tr", "*ITr", "*tr", "*8va", "*8ba")):
            raise KernUnsupported(f"transposition {token!r}")

    def data(self, field: str, spine: _Spine) -> None:
        start = spine.time
        advance = None
        for token in field.split(" "):
            if not token:
                continue
            duration, pitch, tie, grace = _parse_token(token, self.tpq)
            if grace:
                continue
            if advance is None:
                advance = duration
            elif duration != advance:
                raise KernUnsupported(f"chord {field!r} mixes durations")
            if pitch is not None:
                add_tied_note(
                    self.notes[spine.track],
                    self.open_ties[spine.track],
                    start,
                    duration,
                    pitch,
                    UNMARKED_VELOCITY,
                    tie,
                )
        if advance is not None:
            spine.time = start + advance

    def score(self) -> Score:
        score = symusic.Score(self.tpq)
        # music21 lists the rightmost spine (the top voice) first; do the same.
        for notes in reversed(self.notes):
            track = symusic.Track("", 0, False)
            for onset, duration, pitch, velocity in notes:
                track.notes.append(symusic.Note(onset, duration, pitch, velocity))
            track.notes.sort()
            score.tracks.append(track)
        return set_signatures(score, self.time_signatures, self.keys, self.tempos)


def parse_kern(text: str, *, tpq: int = DEFAULT_TPQ) -> Score:
    """The score of a kern document (``KernUnsupported`` / ``KernSyntaxError`` as above)."""
    builder = _Builder(tpq)
    spines: list[_Spine] | None = None
    ended = False
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip("\r")
        if not line or line[0] == "!":
            continue
        if ended:
            if line.startswith("**"):
                raise KernUnsupported("more than one piece in the file")
            raise KernSyntaxError(f"line {number}: data after the spines ended")
        fields = line.split("\t")
        if spines is None:
            if not line.startswith("**"):
                raise KernSyntaxError(f"line {number}: {line[:20]!r} before any ** interpretation")
            spines = [
                _Spine(True, builder.new_track()) if field == "**kern" else _Spine(False, -1)
                for field in fields
            ]
            if not any(spine.is_kern for spine in spines):
                raise KernSyntaxError(f"no **kern spine (found {' '.join(fields)[:60]})")
            continue
        if len(fields) != len(spines):
            raise KernSyntaxError(f"line {number}: {len(fields)} fields for {len(spines)} spines")
        first = line[0]
        if first == "*":
            spines = _interpret(fields, spines, builder, number)
            ended = not spines
        elif first != "=":
            for field, spine in zip(fields, spines, strict=True):
                if spine.is_kern and field != ".":
                    builder.data(field, spine)
    if spines is None:
        raise KernSyntaxError("no **kern spine")
    return builder.score()


def _interpret(
    fields: list[str], spines: list[_Spine], builder: _Builder, number: int
) -> list[_Spine]:
    """Apply one interpretation line; returns the spines that go on."""
    result: list[_Spine] = []
    i = 0
    while i < len(fields):
        token, spine = fields[i], spines[i]
        if token == "*^":
            result += [spine, spine.copy()]
        elif token == "*v":
            j = i
            while j < len(fields) and fields[j] == "*v":
                j += 1
            group = spines[i:j]
            if len(group) < 2 or len({(s.is_kern, s.track) for s in group}) != 1:
                raise KernUnsupported(f"line {number}: join of different spines")
            spine.time = max(s.time for s in group)
            result.append(spine)
            i = j
            continue
        elif token == "*x":
            if i + 1 >= len(fields) or fields[i + 1] != "*x":
                raise KernSyntaxError(f"line {number}: unpaired *x")
            result += [spines[i + 1], spine]
            i += 2
            continue
        elif token == "*-":
            pass
        elif token.startswith("**") or token == "*+":
            raise KernUnsupported(f"line {number}: spine {token!r} in the middle of the piece")
        else:
            if spine.is_kern and token != "*":
                builder.interpretation(token, spine.time)
            result.append(spine)
        i += 1
    return result
