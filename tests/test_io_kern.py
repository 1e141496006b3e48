"""Kern: the native reader on small documents and real Essen songs, checked against music21."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from continuo.errors import ReadError
from continuo.io import read_kern, read_pieces
from continuo.io.kern_native import KernSyntaxError, KernUnsupported, parse_kern
from continuo.score import note_table

from .conftest import shared_path


def _notes(score) -> list[tuple[int, int, int, int]]:
    """(onset, duration, pitch, track) of every note."""
    return [tuple(int(v) for v in row) for row in note_table(score)[:, [0, 1, 2, 4]]]


def _signatures(score) -> tuple[list, list, list]:
    return (
        [(t.time, t.numerator, t.denominator) for t in score.time_signatures],
        [(k.time, k.key, k.tonality) for k in score.key_signatures],
        [(t.time, round(t.qpm, 2)) for t in score.tempos],
    )


def _write(tmp_path: Path, text: str, name: str = "song.krn") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


CASES = {
    "melody": (
        "!!!OTL: test\n**kern\n*M2/4\n*k[b-]\n*F:\n=1\n{4a\n8g\n8g\n=2\n4f\n4r}\n==\n*-\n",
        [(0, 480, 69, 0), (480, 240, 67, 0), (720, 240, 67, 0), (960, 480, 65, 0)],
        ([(0, 2, 4)], [(0, -1, 0)], []),
    ),
    "ties_and_dots": (
        "**kern\n*M3/4\n*k[f#]\n*e:\n[4.e\n8e]\n4.d#\n8c#_\n4c#_\n4c#]\n*-\n",
        [(0, 960, 64, 0), (960, 720, 63, 0), (1680, 1200, 61, 0)],
        ([(0, 3, 4)], [(0, 1, 1)], []),
    ),
    "triplets_and_tempo": (
        "**kern\n*MM96\n*M4/4\n12c\n12d\n12e\n6f\n6g\n6a\n3cc\n3b\n3a\n*-\n",
        [
            (0, 160, 60, 0),
            (160, 160, 62, 0),
            (320, 160, 64, 0),
            (480, 320, 65, 0),
            (800, 320, 67, 0),
            (1120, 320, 69, 0),
            (1440, 640, 72, 0),
            (2080, 640, 71, 0),
            (2720, 640, 69, 0),
        ],
        ([(0, 4, 4)], [], [(0, 96.0)]),
    ),
    "meter_and_key_change_after_a_pickup": (
        "**kern\n*M2/4\n*C:\n8c\n=1\n4c\n4d\n=2\n*M3/4\n*k[f#]\n*G:\n4e\n4f#\n4g\n=3\n*MX\n2cc\n*-\n",
        [
            (0, 240, 60, 0),
            (240, 480, 60, 0),
            (720, 480, 62, 0),
            (1200, 480, 64, 0),
            (1680, 480, 66, 0),
            (2160, 480, 67, 0),
            (2640, 960, 72, 0),
        ],
        ([(0, 2, 4), (1200, 3, 4)], [(0, 0, 0), (1200, 1, 0)], []),
    ),
    "octaves_accidentals_breve": (
        "**kern\n4CC#\n4C\n4c\n4ccc--\n4B-\n4bn\n0r\n0F\n*-\n",
        [
            (0, 480, 37, 0),
            (480, 480, 48, 0),
            (960, 480, 60, 0),
            (1440, 480, 82, 0),
            (1920, 480, 58, 0),
            (2400, 480, 71, 0),
            (6720, 3840, 53, 0),
        ],
        ([], [], []),
    ),
    "chords_grace_and_ornament_marks": (
        "**kern\n4c 4e 4g\n8qd\n(8d/L\n8e\\J)\n[4G; 4B]\n4G]\n*-\n",
        [
            (0, 480, 60, 0),
            (0, 480, 64, 0),
            (0, 480, 67, 0),
            (480, 240, 62, 0),
            (720, 240, 64, 0),
            (960, 960, 55, 0),
            (960, 480, 59, 0),
        ],
        ([], [], []),
    ),
    "two_spines_top_voice_first": (
        "**kern\t**dynam\t**kern\n*M2/4\t*\t*M2/4\n4C\tp\t4c\n4D\t.\t8e\n.\t.\t8f\n*-\t*-\t*-\n",
        [(0, 480, 48, 1), (0, 480, 60, 0), (480, 480, 50, 1), (480, 240, 64, 0), (720, 240, 65, 0)],
        ([(0, 2, 4)], [], []),
    ),
    "spine_split_and_join": (
        "**kern\n*M2/4\n4c\n*^\n4e\t8g\n.\t8a\n*v\t*v\n2c\n*-\n",
        [
            (0, 480, 60, 0),
            (480, 480, 64, 0),
            (480, 240, 67, 0),
            (720, 240, 69, 0),
            (960, 960, 60, 0),
        ],
        ([(0, 2, 4)], [], []),
    ),
    "spine_exchange": (
        "**kern\t**kern\n4c\t4e\n*x\t*x\n4d\t4f\n*-\t*-\n",
        [(0, 480, 64, 0), (0, 480, 60, 1), (480, 480, 62, 0), (480, 480, 65, 1)],
        ([], [], []),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_native_reader_reads_the_common_subset(tmp_path: Path, case: str) -> None:
    text, notes, signatures = CASES[case]
    score = read_kern(_write(tmp_path, text), engine="native")
    assert score.ticks_per_quarter == 480
    assert _notes(score) == sorted(notes, key=lambda n: (n[0], n[2], n[3]))
    assert _signatures(score) == signatures


@pytest.mark.parametrize("case", sorted(CASES))
def test_native_reader_agrees_with_music21(tmp_path: Path, case: str) -> None:
    path = _write(tmp_path, CASES[case][0])
    native, music21 = read_kern(path, engine="native"), read_kern(path, engine="music21")
    assert _notes(native) == _notes(music21)
    assert _signatures(native) == _signatures(music21)
    assert [(t.name, t.program) for t in native.tracks] == [
        (t.name, t.program) for t in music21.tracks
    ]


@pytest.mark.parametrize(
    "text",
    [
        "**kern\n*d:dor\n*M5/1%2+3%\n4c\n*-\n",  # odd meter
        "**kern\n4c\n1.5d\n*-\n",  # two numbers in one token
        "**kern\n4cT\n4d\n*-\n",  # trill
        "**kern\n*k[f#b-]\n4c\n*-\n",  # mixed key signature
        "**kern\n7c\n*-\n",  # septuplet: not a whole number of ticks at 480
    ],
)
def test_outside_the_subset_falls_back_to_music21(tmp_path: Path, text: str) -> None:
    with pytest.raises(KernUnsupported):
        parse_kern(text)
    path = _write(tmp_path, text)
    score = read_kern(path)  # auto: music21 reads it
    assert score.note_num() >= 1
    with pytest.raises(ReadError, match="outside the native kern subset"):
        read_kern(path, engine="native")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("**kern\n4c\n4zz\n*-\n", "unknown kern token '4zz'"),
        ("**kern\n4c\nhello\n*-\n", "'hello' has no duration"),
        ("**kern\n*kx\n4\n*-\n", "unknown kern token '4'"),
        ("**text\nla\n*-\n", "no **kern spine"),
        ("4c\n4d\n", "before any ** interpretation"),
        ("**kern\t**kern\n4c\n*-\t*-\n", "1 fields for 2 spines"),
        ("   \n\n", "empty file"),
        ("", "empty file"),
        ("**kern\n4r\n*-\n", "no notes"),
    ],
)
def test_bad_kern_gives_a_read_error_naming_the_file(tmp_path: Path, text: str, words: str) -> None:
    path = _write(tmp_path, text, "bad.krn")
    with pytest.raises(ReadError) as info:
        read_pieces(path)
    assert str(info.value).startswith(f"{path}: ")
    assert words in str(info.value)


def test_a_bad_token_is_refused_even_on_the_music21_path(tmp_path: Path) -> None:
    path = _write(tmp_path, "**kern\n4cT\n4zz\n*-\n")  # trill: not native; then a bad token
    with pytest.raises(ReadError, match="unknown kern token '4zz'"):
        read_kern(path)
    with pytest.raises(KernSyntaxError):
        parse_kern("**kern\n4c\n4zz\n*-\n")


@pytest.mark.shared_data
def test_essen_kinder_songs_read_natively(essen_kinder: Path) -> None:
    files = sorted(essen_kinder.glob("*.krn"))
    assert len(files) == 213
    for path in files:
        parse_kern(path.read_text(encoding="latin-1"))  # no fallback needed
    pieces = [piece for path in files for piece in read_pieces(path)]
    assert [piece.name for piece in pieces] == [str(path) for path in files]
    notes = sum(piece.score.note_num() for piece in pieces)
    assert notes == 8393  # the count in Pearce's IDyOM thesis (ties merged, rests not counted)
    for piece in pieces:
        score = piece.score
        assert len(score.tracks) == 1 and score.ticks_per_quarter == 480
        assert len(score.time_signatures) >= 1 and len(score.key_signatures) >= 1


def _sample() -> list[Path]:
    root = shared_path("essen_kern", "deutschl")
    every = sorted(root.glob("**/*.krn"))
    kinder = [p for p in every if p.parent.name == "kinder"]
    others = [p for p in every if p.parent.name != "kinder"][::25]
    return kinder + others


@pytest.mark.slow
@pytest.mark.shared_data
def test_native_reader_matches_music21_note_for_note_on_essen() -> None:
    """All of kinder and every 25th other deutschl song (about 420 files, a few seconds)."""
    files = _sample()
    mismatched, fallen_back = [], []
    for path in files:
        text = path.read_text(encoding="latin-1")
        try:
            native = parse_kern(text)
        except KernUnsupported:
            fallen_back.append(path.name)
            continue
        music21 = read_kern(path, engine="music21")
        same = np.array_equal(note_table(native), note_table(music21))
        if not same or _signatures(native) != _signatures(music21):
            mismatched.append(path.name)
    assert mismatched == []
    assert len(fallen_back) <= len(files) // 100  # 10 of all 5,365 songs fall back
