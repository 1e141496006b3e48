"""Reading the JSB chorales JSON files (Boulanger-Lewandowski's split, czhuang's JSON).

A file maps ``train``/``valid``/``test`` to lists of chorales; a chorale is a list of time steps
on a fixed grid (16th, 8th or quarter note, told by the file name); a step lists MIDI pitches:
four, one per voice from soprano down (``Jsb16thSeparated.json``: exactly four, ``-1`` for a
silent voice), or fewer where a voice rests, or - in the quarter-note file - the sounding pitches
sorted upwards. Every chorale becomes a four-track score (soprano, alto, tenor, bass); a pitch
that a voice holds over consecutive steps is one held note (the data cannot tell a held note
from a repeated one).
"""

from __future__ import annotations

import json
import re
from itertools import pairwise
from os import PathLike
from pathlib import Path

import symusic

from continuo.errors import ReadError
from continuo.io._common import read_text
from continuo.score import DEFAULT_TPQ, UNMARKED_VELOCITY, Piece, Score

__all__ = ["GRIDS", "grid_of", "read_jsb_chorales"]

VOICES = ("Soprano", "Alto", "Tenor", "Bass")
#: The time grids of the JSB files, by the word their names use: steps per quarter note.
GRIDS = {"16th": 4, "8th": 2, "quarter": 1}
_SPLIT_ORDER = ("train", "valid", "test")


def read_jsb_chorales(
    path: str | PathLike[str], *, steps_per_quarter: int | None = None
) -> list[Piece]:
    """Every chorale of the file, named ``f"{path}#{split}/{index}"`` (e.g. ``...#train/12``).

    ``steps_per_quarter`` defaults to what the file name says (``16th`` 4, ``8th`` 2,
    ``quarter`` 1). Errors: :class:`ReadError` naming the file and the problem.
    """
    text = read_text(path)
    if steps_per_quarter is None:
        steps_per_quarter = _grid_from_name(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ReadError(path, f"not JSON ({error.msg} at line {error.lineno})") from None
    if not isinstance(data, dict) or not data:
        raise ReadError(path, "not a JSB chorales file: expected an object of train/valid/test")
    splits = sorted(
        data, key=lambda k: (_SPLIT_ORDER.index(k) if k in _SPLIT_ORDER else len(_SPLIT_ORDER), k)
    )
    pieces = []
    for split in splits:
        chorales = data[split]
        if not isinstance(chorales, list):
            raise ReadError(path, f"not a JSB chorales file: {split!r} is not a list of chorales")
        for index, steps in enumerate(chorales):
            name = f"{split}/{index}"
            score = _chorale(path, name, steps, steps_per_quarter)
            pieces.append(Piece(f"{path}#{name}", score))
    return pieces


def grid_of(path: str | PathLike[str]) -> str | None:
    """The grid a JSB file's name says (``16th``, ``8th`` or ``quarter``; see :data:`GRIDS`)."""
    name = Path(path).name.lower()
    for word in GRIDS:
        if re.search(rf"(?<![0-9]){word}", name):
            return word
    return None


def _grid_from_name(path: str | PathLike[str]) -> int:
    word = grid_of(path)
    if word is None:
        raise ReadError(
            path, "cannot tell the time grid: the name says neither 16th, 8th nor quarter"
        )
    return GRIDS[word]


def _chorale(path: str | PathLike[str], name: str, steps: object, steps_per_quarter: int) -> Score:
    if not isinstance(steps, list):
        raise ReadError(path, f"chorale {name} is not a list of time steps")
    step_ticks = DEFAULT_TPQ // steps_per_quarter
    voices: list[list[int | None]] = [[] for _ in VOICES]
    previous: list[int | None] = [None] * len(VOICES)
    for number, step in enumerate(steps):
        pitches = _pitches(path, name, number, step)
        previous = _assign(previous, pitches)
        for voice, pitch in zip(voices, previous, strict=True):
            voice.append(pitch)
    score = symusic.Score(DEFAULT_TPQ)
    for voice_name, line in zip(VOICES, voices, strict=True):
        track = symusic.Track(voice_name, 0, False)
        start = 0
        for i in range(1, len(line) + 1):
            if i == len(line) or line[i] != line[start]:
                if line[start] is not None:
                    duration = (i - start) * step_ticks
                    track.notes.append(
                        symusic.Note(start * step_ticks, duration, line[start], UNMARKED_VELOCITY)
                    )
                start = i
        score.tracks.append(track)
    return score


def _pitches(path: str | PathLike[str], name: str, number: int, step: object) -> list[int | None]:
    if not isinstance(step, list) or len(step) > len(VOICES):
        raise ReadError(path, f"chorale {name}, step {number}: expected a list of up to 4 pitches")
    pitches: list[int | None] = []
    for value in step:
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            raise ReadError(path, f"chorale {name}, step {number}: {value!r} is not a MIDI pitch")
        pitch = int(value)
        if pitch == -1:
            pitches.append(None)
        elif 0 <= pitch <= 127:
            pitches.append(pitch)
        else:
            raise ReadError(path, f"chorale {name}, step {number}: pitch {pitch} is out of range")
    if len(pitches) > 1 and all(
        a is not None and b is not None and a < b for a, b in pairwise(pitches)
    ):
        pitches.reverse()  # a pitch set sorted upwards (the quarter-note file): soprano first
    return pitches


def _assign(previous: list[int | None], pitches: list[int | None]) -> list[int | None]:
    """The pitch of each voice at this step.

    Four entries are the voices in order. With fewer, a pitch a voice was already singing stays
    with that voice (a held note), and the others go, top down, to the free voice whose last
    pitch is nearest (a voice that was resting counts as an octave away); the remaining voices
    rest.
    """
    if len(pitches) == len(VOICES):
        return list(pitches)
    result: list[int | None] = [None] * len(VOICES)
    remaining = [p for p in pitches if p is not None]
    for voice, pitch in enumerate(previous):
        if pitch is not None and pitch in remaining:
            result[voice] = pitch
            remaining.remove(pitch)
    for pitch in remaining:
        free = [v for v in range(len(VOICES)) if result[v] is None]
        voice = min(free, key=lambda v: (_distance(previous[v], pitch), v))
        result[voice] = pitch
    return result


def _distance(previous: int | None, pitch: int) -> int:
    return 12 if previous is None else abs(previous - pitch)
