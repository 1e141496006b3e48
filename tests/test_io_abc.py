"""ABC: one piece per tune of a multi-tune file, named file#X; files without notes refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from continuo.errors import ReadError
from continuo.io import read_abc, read_pieces, read_score
from continuo.score import note_table

TUNES = """\
%abc-2.1
X:3
T:First
M:2/4
L:1/8
K:G
GA Bc | d2 B2 | c2- c2 |]

X:7
T:Second, in D minor with a triplet
M:3/4
L:1/4
Q:1/4=90
K:Dm
(3DEF G2 | A3 |]

X:8
T:Only a header

X:7
T:A repeated number
M:4/4
L:1/4
K:C
[CEG]4 |]
"""


@pytest.fixture
def abc_file(tmp_path: Path) -> Path:
    path = tmp_path / "tunes.abc"
    path.write_text(TUNES)
    return path


def test_every_tune_with_notes_is_one_piece_named_by_x(abc_file: Path) -> None:
    pieces = read_pieces(abc_file)
    assert [p.name for p in pieces] == [f"{abc_file}#3", f"{abc_file}#7", f"{abc_file}#7~2"]
    assert [p.name for p in read_abc(abc_file)] == [p.name for p in pieces]


def test_tune_contents(abc_file: Path) -> None:
    first, second, third = (p.score for p in read_abc(abc_file))
    # G A B c d(quarter) B(quarter) c tied over the barline: one note of a half
    assert [(n[0], n[1], n[2]) for n in note_table(first)] == [
        (0, 240, 67),
        (240, 240, 69),
        (480, 240, 71),
        (720, 240, 72),
        (960, 480, 74),
        (1440, 480, 71),
        (1920, 960, 72),
    ]
    assert [(t.numerator, t.denominator) for t in first.time_signatures] == [(2, 4)]
    assert [(k.key, k.tonality) for k in first.key_signatures] == [(1, 0)]
    triplet = [(int(n[0]), int(n[1])) for n in note_table(second)][:3]
    assert triplet == [(0, 320), (320, 320), (640, 320)]
    assert [(k.key, k.tonality) for k in second.key_signatures] == [(-1, 1)]
    assert [round(t.qpm) for t in second.tempos] == [90]
    assert sorted(int(n[2]) for n in note_table(third)) == [60, 64, 67]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("X:1\nT:Nothing here\nK:C\n", "no notes"),
        ("X:1\nT:a\nK:C\nz4 |]\n\nX:2\nT:b\nK:C\n", "no notes in any of its 2 ABC tune(s)"),
        ("just some words\nwithout any header\n", "not ABC"),
        ("", "empty file"),
    ],
)
def test_abc_without_notes_gives_a_read_error(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "bad.abc"
    path.write_text(text)
    with pytest.raises(ReadError) as info:
        read_pieces(path)
    assert str(info.value).startswith(f"{path}: ")
    assert words in str(info.value)


def test_read_score_refuses_a_file_of_several_tunes(abc_file: Path) -> None:
    with pytest.raises(ReadError, match="holds 3 pieces"):
        read_score(abc_file)
