"""MusicXML: write -> read round trips, the notation written, music21 conversions, bad files."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
import symusic
from music21 import chord, converter, key, meter, note, stream, tie

from continuo.errors import ReadError
from continuo.io import from_music21, read_musicxml, read_pieces, to_music21, write_musicxml
from continuo.score import make_score, note_table


def _score() -> symusic.Score:
    notes = [
        (0, 480, 60, 80),
        (0, 480, 64, 80),  # a chord
        (480, 1440, 67, 90),  # crosses the barline of 3/4: tied in the file, one note back
        (960, 240, 72, 70),  # overlaps the note above: a second voice
        (1200, 160, 74, 70),
        (1360, 160, 76, 70),
        (1520, 160, 77, 70),  # a triplet
        (1920, 2400, 60, 64),
    ]
    score = make_score(notes, time_signature=(3, 4), key=(-2, 1), qpm=90, track_name="Melody")
    bass = symusic.Track("Bass", 33, False)
    bass.notes.append(symusic.Note(0, 1440 * 2, 40, 100))
    drums = symusic.Track("Drums", 0, True)
    drums.notes.append(symusic.Note(0, 240, 36, 100))
    score.tracks.extend([bass, drums])
    score.time_signatures.append(symusic.TimeSignature(2880, 2, 4))
    return score


@pytest.mark.parametrize("suffix", [".musicxml", ".xml", ".mxl"])
def test_round_trip(tmp_path: Path, suffix: str) -> None:
    score = _score()
    path = tmp_path / f"out{suffix}"
    write_musicxml(score, path)
    if suffix == ".mxl":
        assert zipfile.is_zipfile(path)
    back = read_musicxml(path)
    np.testing.assert_array_equal(note_table(back), note_table(score))
    assert [(t.name, t.program, t.is_drum) for t in back.tracks] == [
        ("Melody", 0, False),
        ("Bass", 33, False),
        ("Drums", 0, True),
    ]
    assert [(t.time, t.numerator, t.denominator) for t in back.time_signatures] == [
        (0, 3, 4),
        (2880, 2, 4),
    ]
    assert [(k.time, k.key, k.tonality) for k in back.key_signatures] == [(0, -2, 1)]
    assert [round(t.qpm) for t in back.tempos] == [90]
    [piece] = read_pieces(path)
    assert piece.name == str(path)


def test_written_file_is_proper_notation(tmp_path: Path) -> None:
    path = tmp_path / "out.musicxml"
    write_musicxml(_score(), path, title="A test")
    parsed = converter.parse(path, forceSource=True, storePickle=False)
    assert parsed.metadata.bestTitle == "A test"
    assert len(parsed.parts) == 3
    melody = parsed.parts[0]
    measures = list(melody.getElementsByClass(stream.Measure))
    assert len(measures) >= 3
    assert measures[0].timeSignature.ratioString == "3/4"
    assert melody.recurse().getElementsByClass(key.Key).first().sharps == -2
    ties = [n.tie.type for n in melody.recurse().notes if n.tie is not None]
    assert "start" in ties and "stop" in ties  # the note over the barline
    assert any(m.hasVoices() for m in measures)
    text = path.read_text()
    assert "<voice>0</voice>" not in text and "<voice>1</voice>" in text


def test_off_grid_times_are_snapped_to_notation(tmp_path: Path) -> None:
    score = make_score([(0, 481, 60, 64), (481, 239, 62, 64), (727, 960, 64, 64)], tpq=480)
    path = tmp_path / "rough.xml"
    write_musicxml(score, path)
    back = read_musicxml(path)
    assert [(int(n[0]), int(n[1])) for n in note_table(back)] == [(0, 480), (480, 240), (720, 960)]


def test_from_music21_merges_ties_drops_grace_notes_and_splits_chords() -> None:
    part = stream.Part()
    part.partName = "Voice"
    part.append(meter.TimeSignature("2/4"))
    part.append(key.Key("e"))
    first = note.Note("C4", quarterLength=1)
    first.tie = tie.Tie("start")
    second = note.Note("C4", quarterLength=1)
    second.tie = tie.Tie("stop")
    grace = note.Note("D4").getGrace()
    triad = chord.Chord(["E4", "G4", "B4"], quarterLength=2 / 3)
    part.append([first, second, grace, triad])
    score = from_music21(part)
    assert [(int(n[0]), int(n[1]), int(n[2])) for n in note_table(score)] == [
        (0, 960, 60),
        (960, 320, 64),
        (960, 320, 67),
        (960, 320, 71),
    ]
    assert [(k.key, k.tonality) for k in score.key_signatures] == [(1, 1)]
    assert score.tracks[0].name == "Voice"


def test_to_music21_then_from_music21_is_the_identity_on_the_grid() -> None:
    score = _score()
    back = from_music21(to_music21(score))
    np.testing.assert_array_equal(note_table(back), note_table(score))


def test_from_music21_refuses_an_opus() -> None:
    with pytest.raises(ValueError, match="Opus"):
        from_music21(stream.Opus([stream.Score(), stream.Score()]))


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("random.xml", bytes(range(256)) * 4, "not a MusicXML file"),
        ("words.musicxml", b"<html><body>hello</body></html>", "not a readable MusicXML file"),
        ("broken.xml", b'<?xml version="1.0"?><score-partwise><part id="P1">', "MusicXML"),
        ("notzip.mxl", b"<score-partwise/>", "not a zip archive"),
        ("empty.xml", b"", "empty file"),
    ],
)
def test_bad_musicxml_gives_a_read_error(
    tmp_path: Path, name: str, data: bytes, words: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ReadError) as info:
        read_pieces(path)
    assert str(info.value).startswith(f"{path}: ")
    assert words in str(info.value)
    assert "\n" not in str(info.value)


def test_a_bach_chorale_from_music21s_corpus() -> None:
    from continuo.io import music21_corpus_paths

    paths = music21_corpus_paths("music21:bach")
    assert len(paths) > 300
    [piece] = read_pieces(paths[0])
    assert len(piece.score.tracks) == 4
    assert piece.score.note_num() > 30
