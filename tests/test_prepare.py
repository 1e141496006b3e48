"""Corpus building: parallel, cached, atomic, and never aborted by one bad file."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from continuo.cli import main
from continuo.codecs import get_codec
from continuo.data.build import prepare_corpus
from continuo.data.dataset import TokenCorpus, piece_stream
from continuo.data.splits import assign_split
from continuo.errors import ConfigError
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
    # a piece moves only where valid or test was topped up to its share (see assign_splits)
    moved = [name for name, split in a.items() if b[name] != split]
    assert len(moved) <= 2
    assert all(
        assign_split(n, valid_fraction=0.05, test_fraction=0.05)[0] == "train" for n in moved
    )


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


# -- splits that neither leak nor starve ----------------------------------------------------


def _names(count: int) -> list[tuple[str, str, None]]:
    """``count`` distinct pieces: (name, content, no split of their source's)."""
    return [(f"piano/{n:04d}.mid", f"content-{n}", None) for n in range(count)]


def test_valid_and_test_each_get_a_fair_share() -> None:
    from continuo.data.splits import MIN_HELD_OUT, assign_splits

    for count in [*range(1, 40), 92, 150, 400]:
        splits = [
            s for s, _ in assign_splits(_names(count), valid_fraction=0.05, test_fraction=0.05)
        ]
        want = max(math.floor(0.05 * count), min(MIN_HELD_OUT, count // 10))
        assert splits.count("valid") >= want and splits.count("test") >= want, count
        assert splits.count("train") >= (count * 0.7 if count >= 10 else 1), count
    splits = [s for s, _ in assign_splits(_names(92), valid_fraction=0.05, test_fraction=0.05)]
    assert splits.count("valid") >= 4 and splits.count("test") >= 4  # was 1 and 7
    none = assign_splits(_names(50), valid_fraction=0.0, test_fraction=0.0)
    assert {s for s, _ in none} == {"train"}


def test_splits_stay_put_as_the_corpus_grows() -> None:
    from continuo.data.splits import assign_splits

    small, large = _names(92), _names(120)
    before = dict(zip([n for n, _, _ in small], assign_splits(small, valid_fraction=0.05,
                                                            test_fraction=0.05), strict=True))  # fmt: skip
    after = dict(zip([n for n, _, _ in large], assign_splits(large, valid_fraction=0.05,
                                                           test_fraction=0.05), strict=True))  # fmt: skip
    for name, (split, fold) in before.items():
        by_hash, hash_fold = assign_split(name, valid_fraction=0.05, test_fraction=0.05)
        assert fold == hash_fold == after[name][1]
        if by_hash != "train":  # the hash's own choice is never undone
            assert split == by_hash == after[name][0]
    moved = sum(before[name][0] != after[name][0] for name in before)
    assert moved <= 3  # top-ups only: a few training pieces move, held-out ones stay


def test_identical_pieces_never_straddle_splits_and_a_sources_split_is_kept() -> None:
    from continuo.data.splits import assign_splits, source_split

    assert source_split("#test/12") == "test" and source_split("#3") is None
    assert source_split("#trainee/1") is None
    pieces = _names(60)
    # every piece also under a second name, as when a folder holds copies
    pieces += [(f"copies/{n:04d}.mid", content, None) for n, (_, content, _) in enumerate(pieces)]
    pieces += [("jsb.json#test/0", "chorale-0", "test"), ("jsb.json#train/0", "chorale-1", "train")]
    pieces += [("other.json#train/5", "chorale-0", "train")]  # the same chorale, in train there
    result = dict(zip([n for n, _, _ in pieces], assign_splits(pieces, valid_fraction=0.1,
                                                             test_fraction=0.1), strict=True))  # fmt: skip
    for n in range(60):
        assert result[f"piano/{n:04d}.mid"] == result[f"copies/{n:04d}.mid"]
    assert result["jsb.json#train/0"][0] == "train"
    # a chorale held out by one source is held out wherever it appears
    assert result["jsb.json#test/0"][0] == result["other.json#train/5"][0] == "test"


def test_copies_of_a_file_share_a_split(tmp_path: Path) -> None:
    import shutil

    folder = write_melody_midis(tmp_path / "songs", count=40)
    for path in sorted(folder.glob("*.mid")):
        shutil.copy(path, folder / f"copy-of-{path.name}")
    prepare_corpus([str(folder)], get_codec("melody"), tmp_path / "d", cache_dir=None, jobs=1)
    split = {p["name"]: p["split"] for p in TokenCorpus.open(tmp_path / "d").pieces()}
    assert len(split) == 80
    for name, where in split.items():
        if "copy-of-" not in name:
            assert split[name.replace("songs/", "songs/copy-of-")] == where
    counts = [list(split.values()).count(s) for s in ("train", "valid", "test")]
    assert counts[1] >= 2 * 3 and counts[2] >= 2 * 3  # 3 pieces (each with its copy) at least


def _write_jsb(folder: Path, name: str, chorales: dict[str, list[list[list[int]]]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(chorales))
    return path


def _chorales(every: int = 1) -> dict[str, list[list[list[int]]]]:
    """Three small four-voice chorales per split, on a 16th grid (``every=2``: the 8th grid)."""
    out: dict[str, list[list[list[int]]]] = {}
    for s, split in enumerate(("train", "valid", "test")):
        out[split] = []
        for c in range(3):
            root = 60 + 2 * c + 5 * s
            steps = [[root + 12 + (t // 4) % 3, root + 7, root + 4, root - 12] for t in range(32)]
            out[split].append(steps[::every])
    return out


def test_jsb_files_at_several_grids_are_read_at_one(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "jsb"
    _write_jsb(folder, "mini-16th.json", _chorales())
    _write_jsb(folder, "mini-8th.json", _chorales(every=2))
    _write_jsb(folder, "mini-quarter.json", _chorales(every=4))
    assert main(["prepare", str(folder), "--codec", "pianoroll", "--out", str(tmp_path / "d"),
                 "--no-cache"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "jsb/mini-16th.json (16th grid" in out and "jsb/mini-8th.json" in out
    pieces = TokenCorpus.open(tmp_path / "d").pieces()
    assert len(pieces) == 9 and {p["name"].split("#")[0] for p in pieces} == {"jsb/mini-16th.json"}
    # the source's own split, not a hash's
    assert all(p["name"].split("#")[1].split("/")[0] == p["split"] for p in pieces)

    assert main(["prepare", str(folder), "--codec", "pianoroll", "--out", str(tmp_path / "q"),
                 "--jsb-grid", "quarter", "--json", "--no-cache"]) == 0  # fmt: skip
    summary = json.loads(capsys.readouterr().out)
    assert summary["pieces"] == 9 and "mini-quarter.json (quarter grid" in summary["notes"][0]
    only_16th = str(folder / "mini-16th.json")
    assert main(["prepare", only_16th, "--codec", "pianoroll", "--out", str(tmp_path / "x"),
                 "--jsb-grid", "8th", "--no-cache"]) == 2  # fmt: skip
    assert "no JSB chorales file at that grid" in capsys.readouterr().err


def test_a_build_with_nothing_read_is_an_error_and_keeps_the_earlier_dataset(
    corpus_dir: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "out"
    prepare_corpus([str(corpus_dir)], get_codec("melody"), out, cache_dir=None, jobs=1)
    before = (out / "manifest.json").read_text()
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ("a.mid", "b.mid"):
        (bad / name).write_bytes(os.urandom(200))
    empty = tmp_path / "empty"
    empty.mkdir()
    for source, words in [
        (bad, ["no piece could be read", "2 files"]),
        (empty, ["no music files"]),
    ]:
        for target in (out, tmp_path / "new"):
            assert main(["prepare", str(source), "--out", str(target), "--no-cache"]) == 2
            err = capsys.readouterr().err.strip()
            assert len(err.splitlines()) == 1 and all(w in err for w in words), err
    assert (out / "manifest.json").read_text() == before
    assert not (tmp_path / "new").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.slow
def test_prepare_the_shared_jsb_folder_keeps_its_split(jsb_dir: Path, tmp_path: Path) -> None:
    summary = prepare_corpus([str(jsb_dir)], get_codec("pianoroll"), tmp_path / "jsb",
                             cache_dir=None, jobs=2, progress=False)  # fmt: skip
    assert summary.pieces == 382
    assert summary.splits == {"train": 229, "valid": 76, "test": 77}
    assert len(summary.notes) == 1 and "16th grid" in summary.notes[0]


def test_shards_prepared_apart_merge_into_the_dataset_of_one_build(tmp_path: Path) -> None:
    """A corpus prepared in parts (on several machines) and merged is the one-shot dataset."""
    corpus = write_melody_midis(tmp_path / "songs", count=30)
    codec = get_codec("melody")
    for part in ("a", "b"):
        (tmp_path / "parts" / part / "songs").mkdir(parents=True)
    for i, path in enumerate(sorted(corpus.iterdir())):
        path.rename(tmp_path / "parts" / ("a" if i < 12 else "b") / "songs" / path.name)
    whole = prepare_corpus(
        [str(tmp_path / "parts" / p / "songs") for p in "ab"], codec, tmp_path / "whole",
        jobs=1, cache_dir=None, progress=False,
    )  # fmt: skip
    for part in "ab":
        prepare_corpus([str(tmp_path / "parts" / part / "songs")], codec, tmp_path / f"shard-{part}",
                       jobs=1, cache_dir=None, progress=False)  # fmt: skip
    merged = prepare_corpus(
        [str(tmp_path / "shard-a"), str(tmp_path / "shard-b")], codec, tmp_path / "merged",
        jobs=1, cache_dir=None, progress=False,
    )  # fmt: skip
    assert merged.parsed == 0 and merged.pieces == whole.pieces == 30
    one, two = TokenCorpus.open(tmp_path / "whole"), TokenCorpus.open(tmp_path / "merged")
    assert one.fingerprint == two.fingerprint
    assert one.manifest["pieces"] == two.manifest["pieces"]

    other = get_codec("melody", steps_per_quarter=2)
    with pytest.raises(ConfigError, match="other codec settings"):
        prepare_corpus([str(tmp_path / "shard-a")], other, tmp_path / "x", progress=False)


def test_a_piece_stream_reads_windows_of_the_joined_pieces() -> None:
    """PieceStream serves from the memory-mapped tokens exactly what joining the pieces gives."""
    from continuo.data.dataset import PieceStream

    rng = np.random.default_rng(0)
    tokens = rng.integers(1, 50, size=400).astype(np.uint16)
    pieces, offset = [], 0
    for length in (7, 1, 30, 2, 55, 13):
        pieces.append({"offset": offset, "length": length})
        offset += length + int(rng.integers(0, 5))  # pieces of other splits in between
    stream = PieceStream(tokens, pieces, separator=0)
    parts = [[0]] + [[*tokens[p["offset"] : p["offset"] + p["length"]], 0] for p in pieces]
    joined = np.concatenate(parts).astype(np.int64)
    assert len(stream) == len(joined)
    for start in range(len(joined)):
        for size in (1, 5, 33, 200):
            assert np.array_equal(stream[start : start + size], joined[start : start + size])
    assert stream[-1] == joined[-1] and stream[12] == joined[12]
