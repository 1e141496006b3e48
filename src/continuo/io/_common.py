"""Helpers every reader and writer shares: reading a file's bytes, wrapping foreign errors into
:class:`~continuo.errors.ReadError`, merging ties, key-signature arithmetic and setting the
signatures of a freshly built score in one canonical form (files are written by
:mod:`continuo.atomic`).
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Callable, Iterable, Iterator
from fractions import Fraction
from os import PathLike
from pathlib import Path
from typing import Any

import symusic

from continuo.errors import ContinuoError, ReadError
from continuo.score import Score

__all__ = [
    "TIE_CONTINUE",
    "TIE_NONE",
    "TIE_START",
    "TIE_STOP",
    "add_tied_note",
    "check_file",
    "fold_sharps",
    "one_line",
    "quiet_music21",
    "read_bytes",
    "read_text",
    "reading",
    "set_signatures",
    "to_ticks",
    "tonic_sharps",
]

#: Tie kinds of a note, as kern's ``[`` ``_`` ``]`` and music21's ``Tie.type`` say.
TIE_NONE, TIE_START, TIE_CONTINUE, TIE_STOP = 0, 1, 2, 3

_FIFTHS = {"f": -1, "c": 0, "g": 1, "d": 2, "a": 3, "e": 4, "b": 5}


def one_line(text: object, limit: int = 160) -> str:
    """``text`` squeezed onto one line of at most ``limit`` characters (for error reasons)."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def check_file(path: str | PathLike[str]) -> None:
    """A :class:`ReadError` unless ``path`` is an existing, non-empty file (nothing is read)."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except FileNotFoundError:
        raise ReadError(path, "no such file") from None
    except OSError as error:
        raise ReadError(path, f"cannot be read ({one_line(error.strerror or error)})") from None
    if p.is_dir():
        raise ReadError(path, "is a folder, not a file")
    if size == 0:
        raise ReadError(path, "empty file")


def read_bytes(path: str | PathLike[str]) -> bytes:
    """The bytes of ``path``; a :class:`ReadError` for a missing, unreadable or empty file."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise ReadError(path, "no such file") from None
    except IsADirectoryError:
        raise ReadError(path, "is a folder, not a file") from None
    except OSError as error:
        raise ReadError(path, f"cannot be read ({one_line(error.strerror or error)})") from None
    if not data:
        raise ReadError(path, "empty file")
    return data


def read_text(path: str | PathLike[str]) -> str:
    """The text of ``path`` (UTF-8, else Latin-1, which never fails); errors as :func:`read_bytes`."""
    data = read_bytes(path)
    if b"\x00" in data[:4096]:
        raise ReadError(path, "binary data where text was expected")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    if not text.strip():
        raise ReadError(path, "empty file (only white space)")
    return text


@contextlib.contextmanager
def reading(path: str | PathLike[str], what: str) -> Iterator[None]:
    """Turn any foreign exception raised inside the block into ``ReadError(path, ...)``.

    ``what`` names the format ("MIDI", "MusicXML", ...). Errors of continuo itself pass through.
    """
    try:
        yield
    except (ContinuoError, MemoryError):
        raise
    except Exception as error:
        detail = one_line(error) or type(error).__name__
        raise ReadError(path, f"not a readable {what} file ({detail})") from error


def add_tied_note(
    notes: list[list[int]],
    open_ties: dict[int, list[int]],
    onset: int,
    duration: int,
    pitch: int,
    velocity: int,
    tie: int,
) -> None:
    """Append ``[onset, duration, pitch, velocity]`` to ``notes``, merging ties into one note.

    A continuing or stopping tie extends the open note of the same pitch (``open_ties`` maps
    pitch -> note) to its own end; one with nothing open starts a new note. A note without a tie
    closes any tie left open on its pitch. The kern and music21 paths share this, so both merge
    the same way.
    """
    if tie in (TIE_CONTINUE, TIE_STOP):
        note = open_ties.get(pitch)
        if note is not None:
            note[1] = max(note[1], onset + duration - note[0])
            if tie == TIE_STOP:
                del open_ties[pitch]
            return
    note = [onset, duration, pitch, velocity]
    notes.append(note)
    if tie in (TIE_START, TIE_CONTINUE):
        open_ties[pitch] = note
    else:
        open_ties.pop(pitch, None)


@contextlib.contextmanager
def quiet_music21() -> Iterator[io.StringIO]:
    """Silence music21 (it prints warnings to stderr); yields what it printed, for inspection."""
    messages = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stderr(messages):
        warnings.simplefilter("ignore")
        yield messages


def to_ticks(quarters: Fraction | float, tpq: int) -> int:
    """A time in quarter notes as the nearest tick."""
    return round(Fraction(quarters) * tpq)


def fold_sharps(sharps: int) -> int:
    """A line-of-fifths position folded into MIDI's -7..7 (``9`` sharps -> ``-3``, enharmonically)."""
    while sharps > 7:
        sharps -= 12
    while sharps < -7:
        sharps += 12
    return sharps


def tonic_sharps(step: str, alter: int, minor: bool) -> int:
    """Sharps (negative: flats) of the major or minor key on ``step`` + ``alter`` semitones."""
    position = _FIFTHS[step.lower()] + 7 * alter - (3 if minor else 0)
    return fold_sharps(position)


def set_signatures(
    score: Score,
    time_signatures: Iterable[tuple[int, int, int]] = (),
    keys: Iterable[tuple[int, int, int, bool]] = (),
    tempos: Iterable[tuple[int, float]] = (),
) -> Score:
    """Replace the signatures and tempos of ``score``, one per time, restatements dropped.

    ``time_signatures`` are ``(tick, numerator, denominator)``; ``keys`` are
    ``(tick, sharps, tonality, tonality_known)``: at one time a key whose tonality is known (from
    ``*F:`` in kern or ``K:Dm`` in ABC) wins over a bare key signature, else the last one wins;
    ``tempos`` are ``(tick, quarters_per_minute)``. Events are kept in time order and an event equal
    to the one before it is dropped, so readers of every format give the same canonical form.
    """
    ts_at = {tick: (num, den) for tick, num, den in time_signatures}
    key_at: dict[int, tuple[int, int, bool]] = {}
    for tick, sharps, tonality, known in keys:
        if known or not key_at.get(tick, (0, 0, False))[2]:
            key_at[tick] = (sharps, tonality, known)
    tempo_at = {tick: float(qpm) for tick, qpm in tempos}
    _replace(score.time_signatures, ts_at, lambda t, v: symusic.TimeSignature(t, v[0], v[1]))
    _replace(
        score.key_signatures,
        {t: v[:2] for t, v in key_at.items()},
        lambda t, v: symusic.KeySignature(t, v[0], v[1]),
    )
    _replace(score.tempos, tempo_at, lambda t, v: symusic.Tempo(t, v))
    return score


def _replace(events: Any, by_time: dict[int, Any], make: Callable[[int, Any], Any]) -> None:
    events.clear()
    previous = None
    for time in sorted(by_time):
        value = by_time[time]
        if value != previous:
            events.append(make(time, value))
        previous = value
