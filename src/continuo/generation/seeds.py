"""Turning what a user gives as a seed into a :class:`~continuo.score.Score`, and lengths into steps.

- :func:`seed_from_text`: melody text in any syntax :func:`continuo.codecs.melody.parse_melody_text`
  accepts (``"67 _ 67 _ 65 64 _ r"``, Magenta's primer ``"[67, -2, 67, -2, 65, 64]"``, note names
  ``"G4 _ G4 _ F4 E4"``), decoded by the melody codec.
- :func:`seed_from_file`: any file :func:`continuo.io.read_score` reads (MIDI, kern, ABC,
  MusicXML), optionally only its last bars (:func:`clip_last_bars`).
- :func:`length_in_steps`: a requested length in steps, bars or seconds as a number of grid
  steps of a codec, given the meter and tempo of the seed (:func:`seed_meter`);
  :func:`steps_to_bar_line` lengthens a length in bars so that the output ends on a bar line.

Every user mistake raises :class:`~continuo.errors.SeedError` or
:class:`~continuo.errors.ConfigError` with a one-line message.
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, NamedTuple

import symusic

from continuo.codecs.melody import parse_melody_text
from continuo.errors import CodecError, ConfigError, SeedError
from continuo.io import read_score
from continuo.score import Score, bar_starts

if TYPE_CHECKING:
    from continuo.codecs import Codec

__all__ = [
    "DEFAULT_QPM",
    "DEFAULT_TIME_SIGNATURE",
    "MAX_STEPS",
    "Meter",
    "clip_last_bars",
    "encode_seed",
    "length_in_steps",
    "seed_from_file",
    "seed_from_text",
    "seed_meter",
    "steps_to_bar_line",
]

DEFAULT_QPM = 120.0
#: The longest generation, in grid steps: 16,384 quarter notes with 16th-note steps (4,096 bars
#: of 4/4, 2 h 16 min at 120 qpm). Time and memory grow with the length; a request beyond it is
#: a one-line error rather than a run that seems to hang.
MAX_STEPS = 65_536
DEFAULT_TIME_SIGNATURE = (4, 4)


class Meter(NamedTuple):
    """Time signature ``(numerator, denominator)`` and tempo in quarter notes per minute."""

    time_signature: tuple[int, int]
    qpm: float


# -- seeds -------------------------------------------------------------------------------------
def seed_from_text(text: str, *, codec: Codec | None = None) -> Score:
    """A melody seed written as text, as a score in the key it was written in.

    ``codec`` (one that takes text seeds, :attr:`Codec.text_seed`; a default MelodyCodec when
    None) gives the grid (``steps_per_quarter``) and the vocabulary the tokens must belong to. The score has no key signature, so a transposing codec
    estimates the seed's key from its notes rather than taking it for C major.
    Raises :class:`SeedError` for text that does not parse, holds a pitch the codec cannot
    represent, or holds no note at all.
    """
    from continuo.codecs.melody import MelodyCodec, melody_from_text

    tokens = parse_melody_text(text)
    if codec is None:
        codec = MelodyCodec()
    unknown = [token for token in tokens if token not in codec.vocab]
    if unknown:
        raise SeedError(
            f"seed {_shorten(text)!r}: token {unknown[0]!r} is outside the model's vocabulary"
        )
    score = melody_from_text(text, steps_per_quarter=codec.steps_per_quarter)
    if score.note_num() == 0:
        raise SeedError(f"seed {_shorten(text)!r} holds no note (only rests, holds or '/')")
    return score


def seed_from_file(path: str | os.PathLike[str], *, last_bars: int | None = None) -> Score:
    """The score in ``path`` as a seed, or only its last ``last_bars`` bars (see clip_last_bars).

    Raises :class:`~continuo.errors.ReadError` when the file cannot be read and
    :class:`SeedError` (naming the file) when it, or its last bars, hold no notes.
    """
    score = read_score(path)
    if score.note_num() == 0:
        raise SeedError(f"{os.fspath(path)}: no notes to use as a seed")
    if last_bars is None:
        return score
    try:
        return clip_last_bars(score, last_bars)
    except SeedError as error:
        raise SeedError(f"{os.fspath(path)}: {error}") from None


def encode_seed(codec: Codec, score: Score, name: str) -> list[int]:
    """``codec.encode(score)`` for a seed called ``name`` (its file, or "the seed score").

    A score the codec refuses is a :class:`SeedError` that names the seed and says what a
    caller of the generator can do about it; a codec option it would need (``polyphony='top'``)
    is not something generation offers, so it is not suggested.
    """
    try:
        return codec.encode(score)
    except CodecError as error:
        advice = ""
        if not codec.polyphonic:
            advice = (
                f"; this model's {codec.name!r} codec continues one-voice melodies: give a seed "
                "with one voice, or use a polyphonic model (such as 'piano')"
            )
        raise SeedError(f"{name}: {error.reason}{advice}") from None


def clip_last_bars(score: Score, n: int) -> Score:
    """The last ``n`` bars of ``score``, shifted to start at tick 0.

    Bars come from the score's time signatures (4/4 when it has none) counted from tick 0; the
    last bar is the one in which the last note ends. A note that is still sounding where the
    clip starts is kept, shortened to start there. The time signature, key signature and tempo
    in effect at the cut move to tick 0; later changes, controllers, pedals and lyrics keep their
    place. Tracks without notes in the clip are dropped. Raises :class:`SeedError` when nothing is
    left and :class:`ConfigError` when ``n`` is not a positive integer.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"the number of bars to keep must be a positive integer, got {n!r}")
    if score.ttype != symusic.TimeUnit.tick:
        score = score.to("tick")
    end = max((note.end for track in score.tracks for note in track.notes), default=0)
    if end <= 0:
        raise SeedError("the score has no notes")
    starts = bar_starts(score, end)
    cut = starts[max(len(starts) - n, 0)]

    clipped = symusic.Score(score.ticks_per_quarter)
    for track in score.tracks:
        kept = track.clip(cut, max(end, track.end()) + 1, clip_end=False).shift_time(-cut)
        for note in track.notes:
            if note.time < cut < note.end:
                kept.notes.append(symusic.Note(0, note.end - cut, note.pitch, note.velocity))
        if kept.note_num():
            kept.notes.sort()
            clipped.tracks.append(kept)
    if not clipped.tracks:
        raise SeedError(f"the last {n} bar{'s' if n > 1 else ''} hold no notes")
    for events, target in (
        (score.time_signatures, clipped.time_signatures),
        (score.key_signatures, clipped.key_signatures),
        (score.tempos, clipped.tempos),
    ):
        for event in _events_from(events, cut):
            target.append(event)
    for marker in score.markers:
        if marker.time >= cut:
            target_marker = marker.copy()
            target_marker.time = marker.time - cut
            clipped.markers.append(target_marker)
    return clipped


def _events_from(events, cut: int) -> list:
    """Copies of ``events`` (sorted by time) from ``cut`` on, the one in effect at ``cut`` at 0."""
    ordered = sorted(events, key=lambda event: event.time)
    current = [event for event in ordered if event.time <= cut][-1:]
    later = [event for event in ordered if event.time > cut]
    copies = []
    for event in current + later:
        copy = event.copy()
        copy.time = max(event.time - cut, 0)
        copies.append(copy)
    return copies


def seed_meter(score: Score | None) -> Meter:
    """The time signature and tempo in effect where ``score`` ends (defaults: 4/4, 120 qpm).

    That is where a continuation starts, so it is what a length in bars or seconds refers to.
    """
    if score is None:
        return Meter(DEFAULT_TIME_SIGNATURE, DEFAULT_QPM)
    signatures = [s for s in score.time_signatures if s.numerator > 0 and s.denominator > 0]
    tempos = [t for t in score.tempos if t.qpm > 0]
    signature = max(signatures, key=lambda s: s.time, default=None)
    tempo = max(tempos, key=lambda t: t.time, default=None)
    return Meter(
        (signature.numerator, signature.denominator) if signature else DEFAULT_TIME_SIGNATURE,
        float(tempo.qpm) if tempo else DEFAULT_QPM,
    )


# -- lengths -----------------------------------------------------------------------------------
def length_in_steps(
    *,
    steps: int | None = None,
    bars: float | None = None,
    seconds: float | None = None,
    steps_per_quarter: int,
    time_signature: tuple[int, int] = DEFAULT_TIME_SIGNATURE,
    qpm: float = DEFAULT_QPM,
) -> int:
    """A requested length as a number of grid steps (at least 1) of a codec.

    Exactly one of ``steps`` (a positive integer, returned as is), ``bars`` (a positive number of
    bars of ``time_signature``) or ``seconds`` (at ``qpm`` quarter notes per minute) must be
    given. Bars and seconds round to the nearest step: 2 bars of 3/4 with 4 steps per quarter
    are 24 steps; 10 seconds at 120 qpm are 80 steps. More than :data:`MAX_STEPS` steps is a
    :class:`ConfigError` that says the most this unit allows.
    """
    given = {
        name: value
        for name, value in (("steps", steps), ("bars", bars), ("seconds", seconds))
        if value is not None
    }
    if len(given) != 1:
        what = f"got {' and '.join(given)}" if given else "got none"
        raise ConfigError(f"give exactly one length: steps, bars or seconds ({what})")
    if isinstance(steps_per_quarter, bool) or not isinstance(steps_per_quarter, int):
        raise ConfigError(
            f"steps per quarter must be a positive integer, got {steps_per_quarter!r}"
        )
    if steps_per_quarter < 1:
        raise ConfigError(
            f"steps per quarter must be a positive integer, got {steps_per_quarter!r}"
        )
    if steps is not None:
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise ConfigError(f"steps must be a positive integer, got {steps!r}")
        if steps > MAX_STEPS:
            raise ConfigError(
                f"steps {steps:,} is over the maximum of {MAX_STEPS:,} steps per generation"
            )
        return steps
    name, value = next(iter(given.items()))
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be a positive number, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{name} must be a positive number, got {value!r}")
    if bars is not None:
        numerator, denominator = _check_time_signature(time_signature)
        quarters = bars * 4 * numerator / denominator
    else:
        if isinstance(qpm, bool) or not isinstance(qpm, (int, float)):
            raise ConfigError(
                f"tempo must be a positive number of quarters per minute, got {qpm!r}"
            )
        if not (math.isfinite(qpm) and qpm > 0):
            raise ConfigError(
                f"tempo must be a positive number of quarters per minute, got {qpm!r}"
            )
        quarters = value * qpm / 60.0
    if quarters * steps_per_quarter > MAX_STEPS:  # compared as floats (1e308 bars is inf steps)
        per_unit = 4 * numerator / denominator if bars is not None else qpm / 60.0  # quarters
        most = MAX_STEPS / steps_per_quarter / per_unit
        unit = f"bars of {numerator}/{denominator}" if bars is not None else f"s at {qpm:g} qpm"
        raise ConfigError(
            f"{name} {value:g} is over the maximum of {MAX_STEPS:,} steps per generation "
            f"({math.floor(most):,} {unit} with {steps_per_quarter} steps per quarter)"
        )
    return max(1, round(quarters * steps_per_quarter))


def steps_to_bar_line(seed: Score | None, seed_end: int, steps: int, steps_per_quarter: int) -> int:
    """``steps`` grid steps after tick ``seed_end`` of ``seed``, lengthened as little as needed
    for the output to end on a bar line of the seed's meter.

    Bar lines are those of :func:`~continuo.score.bar_starts` (the seed's time
    signatures, 4/4 without one; from tick 0 without a seed). A seed that stops half-way through
    a bar, continued for 8 bars, ends after 8 and a half: on the bar line, not in mid-bar.
    """
    score = seed if seed is not None else symusic.Score(480)
    if score.ttype != symusic.TimeUnit.tick:
        score = score.to("tick")
    tpq = score.ticks_per_quarter
    step = tpq / steps_per_quarter
    origin = bar_starts(score, seed_end + 1)[-1]  # the bar the continuation starts in
    numerator, denominator = seed_meter(score).time_signature
    bar = tpq * 4 * numerator / denominator
    end = seed_end + steps * step
    bars = math.ceil((end - origin) / bar - 1e-9)
    return max(steps, math.ceil((origin + bars * bar - seed_end) / step - 1e-9))


def _check_time_signature(time_signature: tuple[int, int]) -> tuple[int, int]:
    try:
        numerator, denominator = (int(part) for part in time_signature)
    except (TypeError, ValueError):
        raise ConfigError(
            f"time signature must be (numerator, denominator), got {time_signature!r}"
        ) from None
    if numerator < 1 or denominator < 1 or denominator & (denominator - 1):
        raise ConfigError(f"time signature {numerator}/{denominator} is not a valid meter")
    return numerator, denominator


def _shorten(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
