"""Conversions between music21 streams and the one score type.

:func:`from_music21` is how every music21-parsed source (kern fallback, ABC, MusicXML, music21's
corpora) becomes a :class:`~continuo.score.Score`: one track per part, ties merged into one note,
grace notes dropped, times rounded to ticks of ``DEFAULT_TPQ`` (480, so triplets are exact).

:func:`to_music21` goes the other way for the MusicXML writer: one part per track, chords for
notes that share onset and duration (one velocity per chord: MusicXML has one), extra voices
where notes of one track overlap, a pitch struck again while it sounds cut there (as in MIDI),
onsets and durations on a grid music21 can notate (1/12 quarter unless a coarser grid fits).
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any

import symusic

from continuo.io._common import (
    TIE_CONTINUE,
    TIE_NONE,
    TIE_START,
    TIE_STOP,
    add_tied_note,
    fold_sharps,
    set_signatures,
    to_ticks,
    tonic_sharps,
)
from continuo.score import DEFAULT_TPQ, UNMARKED_VELOCITY, Score

if TYPE_CHECKING:
    import music21

__all__ = ["from_music21", "to_music21"]

_TIES = {"start": TIE_START, "continue": TIE_CONTINUE, "stop": TIE_STOP}
_MINOR_MODES = frozenset({"minor", "dorian", "phrygian", "aeolian", "locrian"})
#: Grids (divisions of a quarter) tried in turn by :func:`to_music21`; the last is the fallback.
_GRIDS = (1, 2, 4, 3, 8, 6, 12, 16, 24, 32)
_FALLBACK_GRID = 12


def from_music21(stream: music21.stream.Stream, *, tpq: int = DEFAULT_TPQ) -> Score:
    """A music21 score, part or flat stream as a :class:`Score` (one track per part).

    Raises ``ValueError`` for an ``Opus`` (several pieces): convert each of ``opus.scores``.
    """
    from music21 import key, meter, tempo
    from music21 import stream as m21stream

    if isinstance(stream, m21stream.Opus):
        raise ValueError(f"an Opus holds {len(stream.scores)} scores; convert them one by one")
    parts = list(stream.getElementsByClass(m21stream.Part)) or [stream]
    score = symusic.Score(tpq)
    time_signatures: list[tuple[int, int, int]] = []
    keys: list[tuple[int, int, int, bool]] = []
    tempos: list[tuple[int, float]] = []
    for part in parts:
        flat = part.flatten()
        score.tracks.append(_track(part, flat, tpq))
        for ts in flat.getElementsByClass(meter.TimeSignature):
            if ts.numerator and ts.denominator:
                time_signatures.append((to_ticks(ts.offset, tpq), ts.numerator, ts.denominator))
        for ks in flat.getElementsByClass(key.KeySignature):
            keys.extend(_key(ks, tpq))
        for mark in flat.getElementsByClass(tempo.MetronomeMark):
            qpm = mark.getQuarterBPM()
            if qpm:
                tempos.append((to_ticks(mark.offset, tpq), float(qpm)))
    return set_signatures(score, time_signatures, keys, tempos)


def _track(part: Any, flat: Any, tpq: int) -> symusic.Track:
    from music21 import chord, note

    instrument = part.getInstrument(returnDefault=False)
    program = getattr(instrument, "midiProgram", None)
    is_drum = getattr(instrument, "midiChannel", None) == 9
    name = part.partName or ""
    notes: list[list[int]] = []
    open_ties: dict[int, list[int]] = {}
    for element in flat.notes:
        length = element.duration.quarterLength
        if element.duration.isGrace or length <= 0:
            continue
        if isinstance(element, chord.Chord):
            members = [n for n in element.notes if isinstance(n, note.Note)]
        elif isinstance(element, note.Note):
            members = [element]
        else:  # unpitched percussion
            continue
        onset = to_ticks(element.offset, tpq)
        duration = max(1, to_ticks(element.offset + length, tpq) - onset)
        for member in members:
            pitch = member.pitch.midi
            if not 0 <= pitch <= 127:
                continue
            # A chord's members carry their own ties (Chord.tie reads the first member's).
            tie = member.tie
            kind = _TIES.get(tie.type, TIE_NONE) if tie is not None else TIE_NONE
            velocity = _velocity(member, element)
            add_tied_note(notes, open_ties, onset, duration, pitch, velocity, kind)
    track = symusic.Track(name, int(program or 0), bool(is_drum))
    for onset, duration, pitch, velocity in notes:
        track.notes.append(symusic.Note(onset, duration, pitch, velocity))
    track.notes.sort()
    return track


def _velocity(member: Any, element: Any) -> int:
    for source in (member, element):
        if source.hasVolumeInformation():
            velocity = source.volume.velocity
            if velocity is not None:
                return max(1, min(127, int(velocity)))
    return UNMARKED_VELOCITY


def _key(ks: Any, tpq: int) -> list[tuple[int, int, int, bool]]:
    from music21 import key

    time = to_ticks(ks.offset, tpq)
    if isinstance(ks, key.Key) and ks.tonic is not None:
        minor = ks.mode in _MINOR_MODES
        alter = round(ks.tonic.alter)
        return [(time, tonic_sharps(ks.tonic.step, alter, minor), int(minor), True)]
    if ks.sharps is None:  # a non-traditional signature: nothing MIDI can say
        return []
    return [(time, fold_sharps(ks.sharps), 0, False)]


def to_music21(score: Score) -> music21.stream.Score:
    """``score`` as a music21 score: parts, signatures, tempo marks, chords and voices.

    Times are snapped to the coarsest grid in 1, 1/2, 1/4, 1/3, ... 1/32 of a quarter that holds
    every onset and duration exactly, else to 1/12 of a quarter (sixteenths and triplets). Call
    ``makeNotation()`` (or write it) to get measures, ties across barlines and rests.
    """
    from music21 import key, meter, stream, tempo

    tpq = score.ticks_per_quarter
    grid = _grid(score, tpq)

    def quarters(tick: int) -> Fraction:
        return Fraction(round(Fraction(tick * grid, tpq)), grid)

    out = stream.Score()
    for index, track in enumerate(score.tracks):
        part = stream.Part(id=f"P{index + 1}")
        part.partName = track.name or ("Drums" if track.is_drum else f"Track {index + 1}")
        part.insert(0, _instrument(track.program, track.is_drum))
        for ts in score.time_signatures:
            signature = meter.TimeSignature(f"{ts.numerator}/{ts.denominator}")
            part.insert(quarters(ts.time), signature)
        for ks in score.key_signatures:
            mode = "minor" if ks.tonality else "major"
            part.insert(quarters(ks.time), key.KeySignature(ks.key).asKey(mode))
        if index == 0:
            for mark in score.tempos:
                part.insert(quarters(mark.time), tempo.MetronomeMark(number=round(mark.qpm, 3)))
        lanes = _lanes(track, quarters, grid)
        if len(lanes) == 1:
            for offset, element in lanes[0]:
                part.insert(offset, element)
        else:
            for number, lane in enumerate(lanes, 1):
                voice = stream.Voice(id=str(number))
                for offset, element in lane:
                    voice.insert(offset, element)
                part.insert(0, voice)
        out.insert(0, part)
    return out


def _grid(score: Score, tpq: int) -> int:
    ticks = {0}
    for track in score.tracks:
        for n in track.notes:
            ticks.add(n.time)
            ticks.add(n.duration)
    for events in (score.time_signatures, score.key_signatures, score.tempos):
        ticks.update(event.time for event in events)
    for grid in _GRIDS:
        if all((tick * grid) % tpq == 0 for tick in ticks):
            return grid
    return _FALLBACK_GRID


def _lanes(track: Any, quarters: Any, grid: int) -> list[list[tuple[Fraction, Any]]]:
    """Notes grouped into chords, then into lanes (voices) in which nothing overlaps."""
    from music21 import chord, note

    groups: dict[tuple[Fraction, Fraction], list[tuple[int, int]]] = {}
    for onset, end, pitch, velocity in _unisons_cut(track, quarters, grid):
        groups.setdefault((onset, end), []).append((pitch, velocity))
    lanes: list[list[tuple[Fraction, Any]]] = []
    lane_ends: list[Fraction] = []
    for (onset, end), members in sorted(groups.items()):
        pitches = sorted(pitch for pitch, _ in members)
        if len(pitches) == 1:
            element = note.Note(pitches[0], quarterLength=end - onset)
        else:
            element = chord.Chord(pitches, quarterLength=end - onset)
        # MusicXML gives a chord one dynamics value: its loudest note's velocity.
        element.volume.velocity = max(velocity for _, velocity in members)
        for i, lane_end in enumerate(lane_ends):
            if lane_end <= onset:
                lanes[i].append((onset, element))
                lane_ends[i] = end
                break
        else:
            lanes.append([(onset, element)])
            lane_ends.append(end)
    return lanes or [[]]


def _unisons_cut(track: Any, quarters: Any, grid: int) -> list[tuple[Fraction, Fraction, int, int]]:
    """``(onset, end, pitch, velocity)`` on the grid; a pitch struck again while it still sounds
    ends there (as in MIDI), and of two notes on one pitch and onset the longer one stays."""
    step = Fraction(1, grid)
    by_pitch: dict[int, list[list[Any]]] = {}
    for n in sorted(track.notes, key=lambda n: (n.pitch, n.time, -n.duration)):
        onset = quarters(n.time)
        end = max(quarters(n.time + n.duration), onset + step)
        notes = by_pitch.setdefault(n.pitch, [])
        if notes and notes[-1][0] == onset:
            continue
        if notes and notes[-1][1] > onset:
            notes[-1][1] = onset
        notes.append([onset, end, n.pitch, n.velocity])
    return [tuple(n) for notes in by_pitch.values() for n in notes]  # type: ignore[misc]


def _instrument(program: int, is_drum: bool) -> Any:
    from music21 import instrument

    try:
        result = instrument.instrumentFromMidiProgram(program)
    except Exception:  # music21 knows no instrument for this program
        result = instrument.Instrument()
    result.midiProgram = program
    if is_drum:
        result.midiChannel = 9
    return result
