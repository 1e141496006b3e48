"""What `continuo prepare` tells a user: skipped files named in one form, progress in a pipe."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from continuo import progress
from continuo.cli import main
from continuo.codecs import get_codec
from continuo.data.build import prepare_corpus
from tests.fixtures import write_melody_midis


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """Eight songs, one in a subfolder, and two files that cannot be read (one a chord piece the
    melody codec refuses, one not MIDI at all)."""
    folder = write_melody_midis(tmp_path / "corpus", count=8)
    (folder / "sub").mkdir()
    (folder / "song007.mid").rename(folder / "sub" / "song007.mid")
    (folder / "sub" / "broken.mid").write_bytes(os.urandom(200))
    from continuo.score import make_score

    chords = make_score([(0, 480, 60, 80), (0, 480, 64, 80)], time_signature=(4, 4))
    chords.dump_midi(folder / "chords.mid")
    return folder


@pytest.mark.parametrize("absolute", [True, False])
def test_skipped_files_are_named_like_pieces(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, absolute: bool
) -> None:
    """A file that cannot be read and a piece the codec refuses are named the same way: relative
    to the source given (its folder's name first), as the pieces are, however it was given."""
    monkeypatch.chdir(tmp_path)
    source = str(corpus) if absolute else "corpus"
    summary = prepare_corpus(
        [source], get_codec("melody"), tmp_path / "out", jobs=1, cache_dir=None, progress=False
    )
    named = sorted(s["file"] for s in summary.skipped)
    assert named == ["corpus/chords.mid", "corpus/sub/broken.mid"]


def test_prepare_prints_progress_lines_when_piped(
    corpus: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without a terminal (here: captured), the reading bar becomes plain lines, one every
    LINE_SECONDS (set to 0 here so that every update is a line)."""
    monkeypatch.setattr(progress, "LINE_SECONDS", 0.0)
    code = main(["prepare", str(corpus), "--out", str(tmp_path / "out"), "--jobs", "1",
                 "--no-cache"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0
    lines = [line for line in captured.err.splitlines() if line.startswith("reading")]
    assert lines and "\r" not in captured.err
    assert any("10/10" in line for line in lines)
    assert "skipped 2:" in captured.out and "corpus/sub/broken.mid" in captured.out
