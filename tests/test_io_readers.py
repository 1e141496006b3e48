"""read_pieces / read_score dispatch, SUFFIXES, and music21 corpus names."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import continuo.io
from continuo.errors import ConfigError, ReadError
from continuo.io import SUFFIXES, is_corpus_name, music21_corpus_paths, read_pieces, read_score
from continuo.io.midi import write_midi
from continuo.score import make_score


def test_suffixes() -> None:
    assert {
        ".mid",
        ".midi",
        ".krn",
        ".abc",
        ".xml",
        ".musicxml",
        ".mxl",
        ".json",
        ".csv",
        ".npz",
    } == SUFFIXES
    assert all(s == s.lower() and s.startswith(".") for s in SUFFIXES)


def test_public_api_is_exported() -> None:
    for name in continuo.io.__all__:
        assert getattr(continuo.io, name) is not None


@pytest.mark.parametrize("name", ["song.MID", "song.Midi"])
def test_suffixes_are_matched_without_case(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    write_midi(make_score([(0, 480, 60, 90)]), path)
    score = read_score(path)
    assert score.note_num() == 1


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("notes.txt", "unknown file type '.txt'; continuo reads .abc .csv"),
        ("README", "no file type (no suffix)"),
        ("missing.mid", "no such file"),
        ("missing.krn", "no such file"),
        ("missing.abc", "no such file"),
        ("missing.xml", "no such file"),
        ("missing.json", "no such file"),
        ("missing.csv", "no such file"),
        ("missing.npz", "no such file"),
    ],
)
def test_unreadable_paths(tmp_path: Path, name: str, words: str) -> None:
    path = tmp_path / name
    if not name.startswith("missing"):
        path.write_text("hello\n")
    with pytest.raises(ReadError) as info:
        read_pieces(path)
    assert str(info.value) == f"{path}: {words}" or str(info.value).startswith(f"{path}: {words}")


def test_a_folder_is_not_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "songs.mid"
    folder.mkdir()
    with pytest.raises(ReadError, match="is a folder"):
        read_pieces(folder)


def test_binary_junk_named_as_text_formats(tmp_path: Path) -> None:
    for suffix in (".krn", ".abc", ".json", ".csv"):
        path = tmp_path / f"junk{suffix}"
        path.write_bytes(bytes(range(256)) * 8)
        with pytest.raises(ReadError) as info:
            read_pieces(path)
        assert str(info.value).startswith(f"{path}: ")


def test_reading_kern_and_midi_does_not_import_music21(tmp_path: Path) -> None:
    kern = tmp_path / "a.krn"
    kern.write_text("**kern\n4c\n*-\n")
    midi = tmp_path / "a.mid"
    write_midi(make_score([(0, 480, 60, 90)]), midi)
    code = (
        "import sys; from continuo.io import read_pieces; "
        f"read_pieces({str(kern)!r}); read_pieces({str(midi)!r}); "
        "print('music21' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_corpus_names() -> None:
    assert is_corpus_name("music21:bach") and not is_corpus_name("songs/bach.mid")
    essen = music21_corpus_paths("music21:essenFolksong")
    assert len(essen) == 31 and all(p.suffix == ".abc" for p in essen)
    assert music21_corpus_paths("essenFolksong") == essen
    chorales = music21_corpus_paths("music21:bach")
    assert len(chorales) > 300 and all(p.suffix.lower() in SUFFIXES for p in chorales)
    with pytest.raises(ConfigError, match=r"unknown music21 corpus 'music21:nope'.*essenFolksong"):
        music21_corpus_paths("music21:nope")
