"""MusicNet: label CSVs and musicnet.npz archives, built here in MusicNet's exact formats."""

from __future__ import annotations

import pickle
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest

from continuo.errors import ReadError
from continuo.io import read_musicnet_csv, read_musicnet_npz, read_pieces
from continuo.io.npz_pickle import IntervalTree, load_npz

# Two recordings' worth of labels: (start, end, instrument, note, measure, beat, note_value)
LABELS = {
    "1759": [
        (9182, 90078, 43, 53, 0, 4.0, "Dotted Quarter"),
        (9182, 33758, 42, 65, 0, 4.0, "Eighth"),
        (33758, 57310, 42, 69, 0, 4.5, "Eighth"),
        (44100, 66150, 1, 60, 1, 1.0, "Quarter"),
    ],
    "2303": [(0, 22050, 74, 84, 0, 0.0, "Eighth")],
}
HEADER = "start_time,end_time,instrument,note,start_beat,end_beat,note_value"


def _ticks(samples: int) -> int:
    return round(samples / 44100 * 2 * 480)  # 120 quarter notes a minute at 480 ticks


def _csv(labels: list[tuple]) -> str:
    rows = [HEADER]
    for start, end, instrument, note, _, beat, value in labels:
        rows.append(f"{start},{end},{instrument},{note},{beat},{0.5},{value}")
    return "\n".join(rows) + "\n"


def test_csv_gives_one_track_per_instrument(tmp_path: Path) -> None:
    path = tmp_path / "1759.csv"
    path.write_text(_csv(LABELS["1759"]))
    score = read_musicnet_csv(path)
    assert [(t.name, t.program) for t in score.tracks] == [
        ("Piano", 0),
        ("Viola", 41),
        ("Cello", 42),
    ]
    viola = score.tracks[1]
    assert [(n.time, n.duration, n.pitch) for n in viola.notes] == [
        (_ticks(9182), _ticks(33758) - _ticks(9182), 65),
        (_ticks(33758), _ticks(57310) - _ticks(33758), 69),
    ]
    assert [round(t.qpm) for t in score.tempos] == [120]
    [piece] = read_pieces(path)
    assert piece.name == str(path)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (HEADER.replace(",note,", ",") + "\n1,2,3,4,5,6\n", "missing column(s) note"),
        ("a,b,c\n1,2,3\n", "missing column(s) start_time, end_time"),
        (HEADER + "\n100,200,1,sixty,0,1,Quarter\n", "line 2: bad label"),
        (HEADER + "\n100,200,1\n", "line 2: bad label"),
        (HEADER + "\n100,200,1,160,0,1,Quarter\n", "note 160 is not a MIDI pitch"),
        (HEADER + "\n100,200,0,60,0,1,Quarter\n", "instrument 0 is not a MusicNet code"),
        (HEADER + "\n300,200,1,60,0,1,Quarter\n", "runs from sample 300 to 200"),
        (HEADER + "\n", "no notes"),
        ("", "empty file"),
    ],
)
def test_bad_csv_gives_a_read_error(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(text)
    with pytest.raises(ReadError) as info:
        read_pieces(path)
    assert str(info.value).startswith(f"{path}: ")
    assert words in str(info.value)


@pytest.fixture
def musicnet_npz(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A musicnet.npz in MusicNet's format: id -> object array (audio, IntervalTree)."""
    package = types.ModuleType("intervaltree")
    tree_module = types.ModuleType("intervaltree.intervaltree")
    interval_module = types.ModuleType("intervaltree.interval")

    class Interval(tuple):
        """Pickles as intervaltree.Interval does: (Interval, (begin, end, data))."""

        __module__ = "intervaltree.interval"
        __qualname__ = "Interval"

        def __new__(cls, begin, end, data=None):  # type: ignore[no-untyped-def]
            return super().__new__(cls, (begin, end, data))

        def __reduce__(self):  # type: ignore[no-untyped-def]
            return Interval, tuple(self)

    class Tree:
        """Pickles as intervaltree.IntervalTree does: (IntervalTree, (sorted intervals,))."""

        __module__ = "intervaltree.intervaltree"
        __qualname__ = "IntervalTree"

        def __init__(self, intervals=()) -> None:  # type: ignore[no-untyped-def]
            self.intervals = sorted(intervals)

        def __reduce__(self):  # type: ignore[no-untyped-def]
            return Tree, (self.intervals,)

    tree_module.IntervalTree = Tree  # type: ignore[attr-defined]
    interval_module.Interval = Interval  # type: ignore[attr-defined]
    for module in (package, tree_module, interval_module):
        monkeypatch.setitem(sys.modules, module.__name__, module)
    entries = {}
    for key, labels in LABELS.items():
        audio = np.zeros(max(end for _, end, *_ in labels), dtype=np.float32)
        tree = Tree(Interval(s, e, tuple(data)) for s, e, *data in labels)
        entry = np.empty(2, dtype=object)
        entry[0], entry[1] = audio, tree
        entries[key] = entry
    path = tmp_path / "musicnet.npz"
    np.savez(path, **entries)
    return path


def test_npz_is_refused_without_trust_pickle(musicnet_npz: Path) -> None:
    with pytest.raises(ReadError) as info:
        read_pieces(musicnet_npz)
    assert str(info.value).startswith(f"{musicnet_npz}: ")
    assert "--trust-pickle" in str(info.value)


def test_npz_with_trust_pickle_reads_every_recording(musicnet_npz: Path) -> None:
    pieces = read_pieces(musicnet_npz, trust_pickle=True)
    assert [p.name for p in pieces] == [f"{musicnet_npz}#1759", f"{musicnet_npz}#2303"]
    csv_path = musicnet_npz.with_name("1759.csv")
    csv_path.write_text(_csv(LABELS["1759"]))
    from_csv = read_musicnet_csv(csv_path)
    from_npz = pieces[0].score
    assert [(t.name, t.program) for t in from_npz.tracks] == [
        (t.name, t.program) for t in from_csv.tracks
    ]
    for a, b in zip(from_npz.tracks, from_csv.tracks, strict=True):
        assert [(n.time, n.duration, n.pitch) for n in a.notes] == [
            (n.time, n.duration, n.pitch) for n in b.notes
        ]
    flute = pieces[1].score.tracks[0]
    assert (flute.name, flute.program, flute.notes[0].pitch) == ("Flute", 73, 84)


def test_npz_stand_ins_need_no_intervaltree_package(musicnet_npz: Path) -> None:
    for name in ("intervaltree", "intervaltree.intervaltree", "intervaltree.interval"):
        sys.modules.pop(name, None)  # the fixture's monkeypatch restores them afterwards
    entries = load_npz(musicnet_npz, trust_pickle=True)
    tree = entries["2303"][1]
    assert isinstance(tree, IntervalTree)
    assert (tree[0].begin, tree[0].end, tree[0].data[:2]) == (0, 22050, (74, 84))


class _Evil:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (print, ("this should never run",))


def test_npz_pickle_naming_other_code_is_refused_even_with_trust(tmp_path: Path) -> None:
    path = tmp_path / "evil.npz"
    entry = np.empty(2, dtype=object)
    entry[0], entry[1] = np.zeros(3), _Evil()
    np.savez(path, **{"1": entry})
    with pytest.raises(ReadError, match=r"refers to builtins\.print"):
        read_musicnet_npz(path, trust_pickle=True)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty file"),
        (b"PK\x03\x04 not really a zip", "not an .npz archive"),
        (b"\x93NUMPY", "not an .npz archive"),
    ],
)
def test_bad_npz_gives_a_read_error(tmp_path: Path, data: bytes, words: str) -> None:
    path = tmp_path / "musicnet.npz"
    path.write_bytes(data)
    with pytest.raises(ReadError) as info:
        read_pieces(path, trust_pickle=True)
    assert str(info.value).startswith(f"{path}: ")
    assert words in str(info.value)


def test_npz_of_plain_arrays_needs_no_pickle_but_is_not_musicnet(tmp_path: Path) -> None:
    path = tmp_path / "plain.npz"
    np.savez(path, a=np.arange(3))
    assert load_npz(path)["a"].tolist() == [0, 1, 2]
    with pytest.raises(ReadError, match="entry 'a'"):
        read_pieces(path)


def test_pickle_protocols_old_and_new_load(tmp_path: Path) -> None:
    """numpy writes object arrays with pickle protocol 3; older archives used 2."""
    entry = np.empty(2, dtype=object)
    entry[0], entry[1] = np.zeros(2, dtype=np.float32), [(0, 10, (1, 60, 0, 0.0, "Quarter"))]
    for protocol in (2, 3, 4):
        path = tmp_path / f"p{protocol}.npz"
        np.savez(path, **{"7": entry})
        # rewrite the member with the protocol under test
        with zipfile.ZipFile(path, "w") as archive, archive.open("7.npy", "w") as member:
            header = np.lib.format.header_data_from_array_1_0(entry)
            np.lib.format.write_array_header_1_0(member, header)
            pickle.dump(entry, member, protocol=protocol)
        [piece] = read_musicnet_npz(path, trust_pickle=True)
        assert [(n.time, n.pitch) for n in piece.score.tracks[0].notes] == [(0, 60)]
