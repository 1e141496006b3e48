"""Bad and odd MIDI for the polyphonic codecs, each file made here: read correctly, or skipped
with a one-line reason; and training on a dataset with nothing to learn from stops cleanly."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from continuo.cli import main
from continuo.codecs import get_codec
from continuo.errors import CodecError, ReadError
from continuo.io import read_midi, read_pieces
from continuo.score import note_table
from tests.polyphony_fixtures import note, smf, tempo, track_chunk

CODECS = ["events", "pianoroll"]


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("codec", CODECS)
def test_only_drums_is_read_and_skipped_with_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], codec: str
) -> None:
    folder = tmp_path / "midi"
    folder.mkdir()
    drums = [e for beat in range(8) for e in note(beat * 96, 24, 36 + beat % 3, channel=9)]
    _write(folder, "drums.mid", smf([drums], fmt=0, division=96))
    [piece] = read_pieces(folder / "drums.mid")
    assert [t.is_drum for t in piece.score.tracks] == [True]
    with pytest.raises(CodecError, match="only drum tracks"):
        get_codec(codec).encode(piece.score)
    _write(folder, "piano.mid", smf([note(0, 96, 60) + note(0, 96, 64)], division=96))
    capsys.readouterr()
    assert (
        main(["prepare", str(folder), "--codec", codec, "--out", str(tmp_path / "d"), "--json"])
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["pieces"] == 1
    assert summary["skipped"] == [
        {"file": "midi/drums.mid", "reason": "only drum tracks: no pitched notes to encode"}
    ]


@pytest.mark.parametrize("codec", CODECS)
def test_a_single_note(tmp_path: Path, codec: str) -> None:
    path = _write(tmp_path, "one.mid", smf([note(0, 1, 60)], division=1))  # 1 tick per quarter
    score = read_midi(path)
    assert score.ticks_per_quarter == 1
    c = get_codec(codec)
    back = c.decode(c.encode(score))
    assert note_table(back)[:, :3].tolist() == [[0, 480, 60]]


def test_type2_patterns_are_laid_end_to_end(tmp_path: Path) -> None:
    first = track_chunk([tempo(0, 90.0), *note(0, 96, 60), *note(96, 96, 64)], end=4 * 96)
    second = track_chunk([*note(0, 48, 67), *note(0, 48, 71)], end=2 * 96)
    header = b"MThd" + (6).to_bytes(4, "big") + (2).to_bytes(2, "big") + (2).to_bytes(2, "big")
    path = _write(tmp_path, "type2.mid", header + (96).to_bytes(2, "big") + first + second)
    score = read_midi(path)
    # the second pattern starts where the first ends: its end of track at 4 quarters
    assert note_table(score)[:, :3].tolist() == [
        [0, 96, 60],
        [96, 96, 64],
        [384, 48, 67],
        [384, 48, 71],
    ]
    assert [round(t.qpm) for t in score.tempos] == [90]
    for codec in CODECS:
        assert get_codec(codec).encode(score)


@pytest.mark.parametrize(
    ("division", "words"),
    [(0, "0 ticks per quarter"), ((0xE7 << 8) | 40, "SMPTE time division (25 frames")],
)
def test_unreadable_time_division_is_a_one_line_read_error(
    tmp_path: Path, division: int, words: str
) -> None:
    path = _write(tmp_path, "odd.mid", smf([note(0, 96, 60)], division=division))
    with pytest.raises(ReadError) as info:
        read_pieces(path)
    assert str(info.value).startswith(str(path)) and words in str(info.value)
    assert "\n" not in str(info.value)


def test_overlapping_identical_notes(tmp_path: Path) -> None:
    # the same key struck twice at once, and struck again while sounding (FIFO note-offs)
    events = note(0, 96, 60) + note(0, 96, 60) + note(192, 96, 62) + note(240, 96, 62, velocity=90)
    score = read_midi(_write(tmp_path, "dup.mid", smf([events], fmt=0, division=96)))
    assert note_table(score)[:, :3].tolist() == [
        [0, 96, 60],
        [0, 96, 60],
        [192, 96, 62],
        [240, 96, 62],
    ]
    events_codec, roll = get_codec("events"), get_codec("pianoroll")
    assert note_table(events_codec.decode(events_codec.encode(score)))[:, :3].tolist() == [
        [0, 480, 60],  # the duplicate is one note
        [960, 480, 62],
        [1200, 480, 62],  # a re-strike stays a note of its own
    ]
    assert note_table(roll.decode(roll.encode(score)))[:, :3].tolist() == [
        [0, 480, 60],
        [960, 720, 62],  # frames cannot tell a re-strike from a held note (onsets=False)
    ]


def test_a_thirty_minute_file(tmp_path: Path) -> None:
    # 30 minutes at 120 quarters a minute: 3,600 quarters of two-note chords and a bass
    events = [tempo(0, 120.0)]
    for beat in range(3600):
        root = 48 + (beat * 7) % 12
        events += note(beat * 480, 480, root + 12) + note(beat * 480, 480, root + 16)
        if beat % 4 == 0:
            events += note(beat * 480, 4 * 480, root, channel=1)
    path = _write(tmp_path, "long.mid", smf([events], fmt=0, division=480))
    started = time.perf_counter()
    score = read_midi(path)
    assert score.note_num() == 3600 * 2 + 900
    assert score.end() == 3600 * 480
    for codec in CODECS:
        c = get_codec(codec)
        ids = c.encode(score)
        assert c.length_in_quarters(ids) == 3600.0
    assert time.perf_counter() - started < 20


def test_training_on_a_dataset_without_training_pieces_stops_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "midi"
    folder.mkdir()
    _write(folder, "drums.mid", smf([note(0, 96, 36, channel=9)], division=96))
    # nothing to encode at all: prepare itself refuses, in one line, and writes nothing
    assert main(["prepare", str(folder), "--codec", "events", "--out", str(tmp_path / "d")]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "no piece could be read" in error[0]
    assert not (tmp_path / "d").exists()
    # pieces, but none in the train split (a source with its own split, all of it test)
    chorale = [[72, 67, 64, 48]] * 8 + [[74, 67, 65, 47]] * 8
    (folder / "held-16th.json").write_text(json.dumps({"train": [], "test": [chorale]}))
    assert main(["prepare", str(folder), "--codec", "events", "--out", str(tmp_path / "d")]) == 0
    capsys.readouterr()
    argv = ["train", str(tmp_path / "d"), "--model", "gru", "--preset", "debug"]
    code = main([*argv, "--out", str(tmp_path / "run")])
    assert code == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("continuo: error: ")
    assert "Traceback" not in error[0]
    assert not np.any([p.name == "best" for p in tmp_path.glob("run/*")])
