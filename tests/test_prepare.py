"""Corpus building: parallel, cached, atomic, and never aborted by one bad file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from continuo.cli import main
from continuo.codecs import get_codec
from continuo.data.build import prepare_corpus
from continuo.data.dataset import TokenCorpus, piece_stream
from tests.fixtures import write_melody_midis


def _bad_files(folder: Path) -> dict[str, str]:
    """Broken inputs beside the good ones; returns name -> a word the reason must contain."""
    good = next(folder.glob("*.mid")).read_bytes()
    (folder / "truncated.mid").write_bytes(good[: len(good) // 2])
    (folder / "random.mid").write_bytes(os.urandom(300))
    (folder / "empty.mid").write_bytes(b"")
    (folder / "notes.txt").write_text("not music, and ignored inside a folder")
    return {"truncated.mid": "", "random.mid": "", "empty.mid": ""}


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    folder = write_melody_midis(tmp_path / "corpus", count=30)
    _bad_files(folder)
    return folder


def test_prepare_skips_bad_files_and_reports_them(corpus_dir: Path, tmp_path: Path) -> None:
    summary = prepare_corpus(
        [str(corpus_dir)], get_codec("melody"), tmp_path / "out", jobs=2, cache_dir=None,
        progress=False,
    )  # fmt: skip
    assert summary.files == 33  # .txt is ignored
    assert summary.pieces == 30
    skipped = {Path(s["file"]).name: s["reason"] for s in summary.skipped}
    assert set(skipped) == {"truncated.mid", "random.mid", "empty.mid"}
    assert all(reason for reason in skipped.values())

    corpus = TokenCorpus.open(tmp_path / "out")
    assert corpus.tokens.shape == (summary.tokens,)
    assert isinstance(corpus.tokens, np.memmap)
    names = [p["name"] for p in corpus.pieces()]
    assert len(set(names)) == 30 and all(n.startswith("corpus/") for n in names)
    assert sum(len(corpus.pieces(s)) for s in ("train", "valid", "test")) == 30
    piece = corpus.pieces()[0]
    assert corpus.codec.decode(corpus.piece_ids(piece)).note_num() > 0
    stream = piece_stream(corpus, corpus.pieces())
    assert stream[0] == corpus.codec.separator_id == stream[-1]


def test_second_build_reads_everything_from_the_cache(corpus_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    codec = get_codec("melody")
    first = prepare_corpus([str(corpus_dir)], codec, tmp_path / "a", cache_dir=cache, jobs=1)
    second = prepare_corpus([str(corpus_dir)], codec, tmp_path / "b", cache_dir=cache, jobs=1)
    assert (first.parsed, first.cached) == (33, 0)
    assert (second.parsed, second.cached) == (0, 33)
    assert second.skipped == first.skipped
    a = np.load(tmp_path / "a" / "tokens.npy")
    b = np.load(tmp_path / "b" / "tokens.npy")
    assert np.array_equal(a, b)
    # another codec setting re-encodes from the cached parses without re-reading a file
    third = prepare_corpus(
        [str(corpus_dir)], get_codec("melody", steps_per_quarter=2), tmp_path / "c",
        cache_dir=cache, jobs=1,
    )  # fmt: skip
    assert third.parsed == 0 and third.cached == 0 and third.pieces == 30


def test_split_is_by_piece_and_stable(melody_midi_dir: Path, tmp_path: Path) -> None:
    codec = get_codec("melody")
    prepare_corpus([str(melody_midi_dir)], codec, tmp_path / "a", cache_dir=None, jobs=1)
    more = write_melody_midis(tmp_path / "more", count=5, seed=9)
    prepare_corpus([str(melody_midi_dir), str(more)], codec, tmp_path / "b", cache_dir=None, jobs=1)
    a = {p["name"]: p["split"] for p in TokenCorpus.open(tmp_path / "a").pieces()}
    b = {p["name"]: p["split"] for p in TokenCorpus.open(tmp_path / "b").pieces()}
    assert all(b[name] == split for name, split in a.items())


def test_a_failed_build_keeps_the_earlier_dataset(corpus_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    prepare_corpus([str(corpus_dir)], get_codec("melody"), out, cache_dir=None, jobs=1)
    before = (out / "manifest.json").read_text()
    with pytest.raises(Exception, match="no such file"):
        prepare_corpus([str(tmp_path / "missing")], get_codec("melody"), out, cache_dir=None)
    assert (out / "manifest.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_cli_prepare_json_summary(corpus_dir: Path, tmp_path: Path, capsys) -> None:
    code = main(["prepare", str(corpus_dir), "--codec", "melody", "--out", str(tmp_path / "d"),
                 "--json", "--jobs", "2"])  # fmt: skip
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["pieces"] == 30
    assert {Path(s["file"]).name for s in summary["skipped"]} == {
        "truncated.mid",
        "random.mid",
        "empty.mid",
    }


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["prepare", "/nonexistent/folder", "--out", "x"], "no such file or folder"),
        (["prepare", "README.md", "--out", "x"], "unknown file type"),
        (["prepare", "README.md", "--codec", "melody", "-o", "bogus=1", "--out", "x"], "bogus"),
    ],
)
def test_cli_prepare_user_errors_are_one_line(argv, message, capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_prepare_essen_kinder(essen_kinder: Path, tmp_path: Path) -> None:
    summary = prepare_corpus(
        [str(essen_kinder)], get_codec("melody"), tmp_path / "kinder", jobs=2, cache_dir=None,
        progress=False,
    )  # fmt: skip
    assert summary.files == 213
    assert summary.pieces + len(summary.skipped) >= 213
    assert summary.pieces >= 200
