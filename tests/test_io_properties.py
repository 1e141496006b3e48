"""Property tests: generated kern agrees across both kern paths; MIDI and MusicXML round-trip."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import symusic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from continuo.io import read_kern, read_midi, read_musicxml, write_midi, write_musicxml
from continuo.score import note_table

# kern reciprocal durations (with dots) that are whole numbers of ticks at 480 per quarter
_DURATIONS = ["1", "2", "4", "8", "16", "32", "3", "6", "12", "24", "2.", "4.", "8.", "16.", "4.."]
_LETTERS = ["C", "D", "E", "F", "G", "A", "B", "c", "d", "e", "f", "g", "a", "b", "cc", "dd", "ee"]


@st.composite
def kern_melodies(draw: st.DrawFn) -> str:
    meter = draw(st.sampled_from(["*M2/4", "*M3/4", "*M4/4", "*M6/8", "*MX"]))
    key = draw(st.sampled_from(["*k[]\n*C:", "*k[f#]\n*e:", "*k[b-e-]\n*B-:", "*k[f#c#g#]"]))
    lines = ["**kern", meter, key]
    tied: str | None = None
    for _ in range(draw(st.integers(1, 24))):
        duration = draw(st.sampled_from(_DURATIONS))
        if tied is not None:  # continue or end the tie on the same pitch
            end = draw(st.booleans())
            lines.append(f"{duration}{tied}{']' if end else '_'}")
            tied = None if end else tied
            continue
        if draw(st.integers(0, 5)) == 0:
            lines.append(f"{duration}r")
            continue
        pitch = draw(st.sampled_from(_LETTERS)) + draw(st.sampled_from(["", "#", "-", "n"]))
        marks = draw(st.sampled_from(["", "{", "L", ";", "'"]))
        if draw(st.integers(0, 4)) == 0:
            tied = pitch
            lines.append(f"[{marks}{duration}{pitch}")
        else:
            lines.append(f"{marks}{duration}{pitch}")
        if draw(st.integers(0, 6)) == 0:
            lines.append("=")
    lines.append("*-")
    return "\n".join(lines) + "\n"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kern_melodies())
def test_generated_kern_reads_the_same_natively_and_with_music21(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.krn"
        path.write_text(text)
        native = read_kern(path, engine="native")
        music21 = read_kern(path, engine="music21")
    np.testing.assert_array_equal(note_table(native), note_table(music21))
    for events in ("time_signatures", "key_signatures", "tempos"):
        assert str(list(getattr(native, events))) == str(list(getattr(music21, events)))


@st.composite
def scores(draw: st.DrawFn, *, step: int, tpq: int = 480, max_tracks: int = 3) -> symusic.Score:
    score = symusic.Score(tpq)
    for index in range(draw(st.integers(1, max_tracks))):
        track = symusic.Track(f"t{index}", draw(st.integers(0, 127)), index == 2)
        for _ in range(draw(st.integers(1, 12))):
            onset = draw(st.integers(0, 32)) * step
            duration = draw(st.integers(1, 12)) * step
            pitch = draw(st.integers(30, 90))
            track.notes.append(symusic.Note(onset, duration, pitch, draw(st.integers(1, 127))))
        score.tracks.append(track)
    score.time_signatures.append(symusic.TimeSignature(0, *draw(st.sampled_from([(4, 4), (3, 4)]))))
    score.key_signatures.append(symusic.KeySignature(0, draw(st.integers(-7, 7)), 0))
    return score


def _distinct(score: symusic.Score) -> symusic.Score:
    """Drop notes that start on the same tick and pitch in a track (MIDI cannot keep both)."""
    for track in score.tracks:
        seen, kept = set(), []
        for note in sorted(track.notes, key=lambda n: (n.time, n.pitch, -n.duration)):
            if (note.time, note.pitch) not in seen:
                seen.add((note.time, note.pitch))
                kept.append(note)
        track.notes.clear()
        track.notes.extend(kept)
    return score


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([96, 480, 960]).flatmap(lambda tpq: scores(step=tpq // 4, tpq=tpq)))
def test_midi_round_trip(score: symusic.Score) -> None:
    score = _distinct(score)
    overlapping = any(
        a.pitch == b.pitch and b.time < a.time + a.duration
        for t in score.tracks
        for i, a in enumerate(sorted(t.notes, key=lambda n: (n.time, n.pitch)))
        for b in sorted(t.notes, key=lambda n: (n.time, n.pitch))[i + 1 :]
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.mid"
        write_midi(score, path)
        back = read_midi(path)
    assert back.ticks_per_quarter == score.ticks_per_quarter
    if not overlapping:  # overlapping equal pitches are ambiguous in MIDI
        np.testing.assert_array_equal(note_table(back), note_table(score))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([120, 160]).flatmap(lambda step: scores(step=step, max_tracks=2)))
def test_musicxml_round_trip_on_the_grid(score: symusic.Score) -> None:
    """Sixteenths or triplet eighths, chords, overlaps (voices), notes across barlines.

    Velocities are left out: MusicXML keeps one per chord.
    """
    for track in score.tracks:
        track.is_drum = False
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.musicxml"
        write_musicxml(score, path)
        back = read_musicxml(path)
    columns = [0, 1, 2, 4]
    expected = note_table(_unisons_cut(score))[:, columns]
    np.testing.assert_array_equal(note_table(back)[:, columns], expected)


def _unisons_cut(score: symusic.Score) -> symusic.Score:
    """What notation (and MIDI) keeps of a pitch struck again while it sounds: the first note
    ends where the second starts; of two on one onset the longer stays."""
    for track in score.tracks:
        kept: list[symusic.Note] = []
        last: dict[int, symusic.Note] = {}
        for note in sorted(track.notes, key=lambda n: (n.time, n.pitch, -n.duration)):
            before = last.get(note.pitch)
            if before is not None and before.time == note.time:
                continue
            if before is not None and before.time + before.duration > note.time:
                before.duration = note.time - before.time
            kept.append(note)
            last[note.pitch] = note
        track.notes.clear()
        track.notes.extend(kept)
    return score
