"""JSB chorales JSON: the shared files, the held-note rule, voice assignment and bad files."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import pytest

from continuo.errors import ReadError
from continuo.io import read_jsb_chorales, read_pieces


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("name", "step"),
    [
        ("jsb-chorales-16th.json", 120),
        ("jsb-chorales-8th.json", 240),
        ("jsb-chorales-quarter.json", 480),
        ("Jsb16thSeparated.json", 120),
    ],
)
def test_shared_files(jsb_dir: Path, name: str, step: int) -> None:
    path = jsb_dir / name
    pieces = read_pieces(path)
    splits = [p.name.split("#")[1].split("/")[0] for p in pieces]
    assert (splits.count("train"), splits.count("valid"), splits.count("test")) == (229, 76, 77)
    assert pieces[12].name == f"{path}#train/12"
    for piece in pieces[:20]:
        tracks = piece.score.tracks
        assert [t.name for t in tracks] == ["Soprano", "Alto", "Tenor", "Bass"]
        for track in tracks:
            assert all(n.time % step == 0 and n.duration % step == 0 for n in track.notes)
            assert all(a.time + a.duration <= b.time for a, b in pairwise(track.notes))
        soprano = [n.pitch for n in tracks[0].notes]
        bass = [n.pitch for n in tracks[3].notes]
        assert sum(soprano) / len(soprano) > sum(bass) / len(bass)


def _write(tmp_path: Path, data: object, name: str = "tiny-16th.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_equal_consecutive_pitches_are_one_held_note(tmp_path: Path) -> None:
    chorale = [
        [72, 67, 64, 48],
        [72, 67, 64, 48],
        [74, 67, 65.0, 47],
        [74, 67, -1, 47],
        [],
    ]
    path = _write(tmp_path, {"train": [chorale], "valid": [], "test": []})
    [piece] = read_jsb_chorales(path)
    assert piece.name == f"{path}#train/0"
    voices = {t.name: [(n.time, n.duration, n.pitch) for n in t.notes] for t in piece.score.tracks}
    assert voices == {
        "Soprano": [(0, 240, 72), (240, 240, 74)],
        "Alto": [(0, 480, 67)],
        "Tenor": [(0, 240, 64), (240, 120, 65)],
        "Bass": [(0, 240, 48), (240, 240, 47)],
    }


def test_fewer_than_four_pitches_keep_held_voices(tmp_path: Path) -> None:
    # quarter-note file style: pitch sets sorted upwards, a doubled pitch appears once
    chorale = [[48, 64, 67, 72], [48, 67, 72], [47, 62, 67, 74]]
    path = _write(tmp_path, {"test": [chorale]}, "tiny-quarter.json")
    [piece] = read_jsb_chorales(path)
    voices = {t.name: [(n.time, n.duration, n.pitch) for n in t.notes] for t in piece.score.tracks}
    assert voices == {
        "Soprano": [(0, 960, 72), (960, 480, 74)],
        "Alto": [(0, 1440, 67)],
        "Tenor": [(0, 480, 64), (960, 480, 62)],
        "Bass": [(0, 960, 48), (960, 480, 47)],
    }


def test_grid_can_be_given_when_the_name_does_not_say(tmp_path: Path) -> None:
    path = _write(tmp_path, {"train": [[[60], [60], [62]]]}, "chorales.json")
    with pytest.raises(ReadError, match="cannot tell the time grid"):
        read_jsb_chorales(path)
    [piece] = read_jsb_chorales(path, steps_per_quarter=2)
    assert [(n.time, n.duration) for n in piece.score.tracks[0].notes] == [(0, 480), (480, 240)]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ("{not json", "not JSON"),
        ("[1, 2, 3]", "expected an object of train/valid/test"),
        ('{"train": 5}', "'train' is not a list of chorales"),
        ('{"train": [[[60, "x"]]]}', "'x' is not a MIDI pitch"),
        ('{"train": [[[60, 61, 62, 63, 64]]]}', "up to 4 pitches"),
        ('{"train": [[[200]]]}', "pitch 200 is out of range"),
        ('{"train": [[[], []]]}', "no notes"),
    ],
)
def test_bad_json_gives_a_read_error(tmp_path: Path, data: str, words: str) -> None:
    path = tmp_path / "bad-8th.json"
    path.write_text(data)
    with pytest.raises(ReadError) as info:
        read_pieces(path)
    assert str(info.value).startswith(f"{path}: ")
    assert words in str(info.value)
