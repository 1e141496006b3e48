"""Seeds: melody text and files into scores, the last N bars, lengths in steps/bars/seconds."""

from __future__ import annotations

from pathlib import Path

import pytest
import symusic

from continuo.errors import ConfigError, ContinuoError, SeedError
from continuo.generation.seeds import (
    Meter,
    clip_last_bars,
    length_in_steps,
    seed_from_file,
    seed_from_text,
    seed_meter,
)
from continuo.score import DEFAULT_TPQ, make_score, note_table

TPQ = DEFAULT_TPQ


# -- lengths -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({"steps": 37, "steps_per_quarter": 4}, 37),
        ({"bars": 2, "steps_per_quarter": 4}, 32),
        ({"bars": 2, "steps_per_quarter": 4, "time_signature": (3, 4)}, 24),
        ({"bars": 1, "steps_per_quarter": 4, "time_signature": (6, 8)}, 12),
        ({"bars": 0.5, "steps_per_quarter": 4}, 8),
        ({"bars": 3, "steps_per_quarter": 1, "time_signature": (3, 8)}, 4),  # 4.5 -> 4 (even)
        ({"seconds": 10, "steps_per_quarter": 4}, 80),  # 120 qpm: 2 quarters a second
        ({"seconds": 10, "steps_per_quarter": 4, "qpm": 90.0}, 60),
        ({"seconds": 0.01, "steps_per_quarter": 4}, 1),  # never less than one step
        ({"seconds": 1.5, "steps_per_quarter": 2, "qpm": 100}, 5),
    ],
)
def test_length_in_steps(kwargs: dict, expected: int) -> None:
    assert length_in_steps(**kwargs) == expected


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "exactly one"),
        ({"steps": 4, "bars": 1}, "steps and bars"),
        ({"steps": 0}, "steps must be"),
        ({"steps": 2.5}, "steps must be"),
        ({"bars": -1}, "bars must be"),
        ({"seconds": float("inf")}, "seconds must be"),
        ({"seconds": "ten"}, "seconds must be"),
        ({"seconds": 3, "qpm": 0}, "tempo"),
        ({"bars": 2, "time_signature": (3, 5)}, "time signature"),
        ({"bars": 2, "time_signature": "4/4"}, "time signature"),
        ({"steps": 4, "steps_per_quarter": 0}, "steps per quarter"),
    ],
)
def test_length_in_steps_rejects_bad_requests(kwargs: dict, message: str) -> None:
    kwargs = {"steps_per_quarter": 4, **kwargs}
    with pytest.raises(ConfigError, match=message) as info:
        length_in_steps(**kwargs)
    assert "\n" not in str(info.value)


def test_seed_meter_reads_where_the_seed_ends() -> None:
    assert seed_meter(None) == Meter((4, 4), 120.0)
    assert seed_meter(make_score([])) == Meter((4, 4), 120.0)
    score = make_score([], time_signature=(2, 4), qpm=80.0)
    score.time_signatures.append(symusic.TimeSignature(4 * TPQ, 6, 8))
    score.tempos.append(symusic.Tempo(4 * TPQ, 100.0))
    meter = seed_meter(score)
    assert meter == Meter((6, 8), 100.0)
    assert length_in_steps(bars=1, steps_per_quarter=4, **meter._asdict()) == 12


# -- the last bars -----------------------------------------------------------------------------
def _three_four_tune():
    """5 bars of 3/4 in D major at 90 qpm; a note held over the 4th bar line; 70 qpm from there."""
    notes = [
        (bar * 3 * TPQ + beat * TPQ, TPQ, 60 + bar, 80) for bar in range(5) for beat in range(3)
    ]
    notes = [n for n in notes if n[0] != 9 * TPQ]  # bar 4, beat 1 is held from the bar before
    notes = [(8 * TPQ, 2 * TPQ, 70, 81) if n[0] == 8 * TPQ else n for n in notes]
    score = make_score(notes, time_signature=(3, 4), key=(2, 0), qpm=90.0)
    score.tempos.append(symusic.Tempo(10 * TPQ, 70.0))
    return score


def test_clip_last_bars_keeps_the_tail_and_shifts_it() -> None:
    score = _three_four_tune()
    clipped = clip_last_bars(score, 2)
    table = note_table(clipped)
    assert table[:, 0].min() == 0 and table[:, 0].max() == 5 * TPQ
    # the note held over the cut comes first, shortened to its part inside the clip
    assert list(table[:, 2]) == [70, 63, 63, 64, 64, 64]
    assert tuple(table[0, :4]) == (0, TPQ, 70, 81)
    assert [(s.time, s.numerator, s.denominator) for s in clipped.time_signatures] == [(0, 3, 4)]
    assert [(k.time, k.key, k.tonality) for k in clipped.key_signatures] == [(0, 2, 0)]
    assert [(t.time, round(t.qpm)) for t in clipped.tempos] == [(0, 90), (TPQ, 70)]
    assert clipped.ticks_per_quarter == TPQ
    assert len(note_table(score)) == 14  # the original is untouched


def test_clip_last_bars_keeps_a_note_sounding_at_the_cut() -> None:
    clipped = clip_last_bars(_three_four_tune(), 3)  # cut at bar 3 (tick 6 * TPQ)
    table = note_table(clipped)
    assert (table[:, 0] >= 0).all()
    # the note from tick 8*TPQ lasting 2 quarters is inside; nothing is held over here
    assert [tuple(row[:3]) for row in table if row[2] == 70] == [(2 * TPQ, 2 * TPQ, 70)]
    cut_inside = clip_last_bars(
        make_score([(0, 6 * TPQ, 60, 80), (6 * TPQ, TPQ, 62, 80)], time_signature=(4, 4)), 1
    )
    assert [tuple(row[:3]) for row in note_table(cut_inside)] == [
        (0, 2 * TPQ, 60),
        (2 * TPQ, TPQ, 62),
    ]


def test_clip_last_bars_edge_cases() -> None:
    score = _three_four_tune()
    whole = clip_last_bars(score, 50)  # more bars than there are: everything
    assert len(note_table(whole)) == len(note_table(score))
    # 4/4 when there is no time signature: 8 quarters = 2 bars
    plain = make_score([(i * TPQ, TPQ, 60 + i, 80) for i in range(8)])
    assert list(note_table(clip_last_bars(plain, 1))[:, 2]) == [64, 65, 66, 67]
    with pytest.raises(SeedError, match="no notes"):
        clip_last_bars(make_score([]), 1)
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ConfigError, match="positive integer"):
            clip_last_bars(score, bad)


# -- text and file seeds -----------------------------------------------------------------------
def test_seed_from_text_all_syntaxes_agree() -> None:
    plain = seed_from_text("67 _ 67 _ 65 64 _ r")
    magenta = seed_from_text("[67, -2, 67, -2, 65, 64, -2, -1]")
    names = seed_from_text("G4 _ G4 _ F4 E4 _ r")
    table = note_table(plain)
    assert list(table[:, 2]) == [67, 67, 65, 64]
    assert table[1, 0] > table[0, 0] and table[0, 1] == table[1, 0] - table[0, 0]
    assert (note_table(magenta) == table).all() and (note_table(names) == table).all()


@pytest.mark.parametrize("text", ["67 _ banana", "200 _", "", "r r _"])
def test_bad_text_seeds_are_seed_errors(text: str) -> None:
    with pytest.raises(SeedError) as info:
        seed_from_text(text)
    assert "\n" not in str(info.value)


def test_seed_from_midi_file_and_its_last_bars(tmp_path: Path) -> None:
    path = tmp_path / "tune.mid"
    _three_four_tune().dump_midi(str(path))
    whole = seed_from_file(path)
    assert len(note_table(whole)) == 14
    last = seed_from_file(path, last_bars=2)
    table = note_table(last)
    assert len(table) == 6 and table[0, 0] == 0
    assert last.ticks_per_quarter > 0
    assert [(s.numerator, s.denominator) for s in last.time_signatures] == [(3, 4)]
    assert round(last.tempos[0].qpm) == 90


def test_empty_or_noteless_files_are_clear_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mid"
    empty.write_bytes(b"")
    with pytest.raises(ContinuoError, match=r"empty\.mid") as info:
        seed_from_file(empty)
    assert "\n" not in str(info.value)

    silent = tmp_path / "silent.mid"
    make_score([], time_signature=(4, 4), qpm=100.0).dump_midi(str(silent))
    with pytest.raises(ContinuoError, match=r"silent\.mid.*no notes"):
        seed_from_file(silent)


def test_seed_from_abc_file_keeps_meter_key_and_tempo(tmp_path: Path) -> None:
    path = tmp_path / "waltz.abc"
    path.write_text("X:1\nT:Waltz\nM:3/4\nL:1/4\nQ:1/4=100\nK:G\nG A B | c2 B | A G F | G3 |]\n")
    last = seed_from_file(path, last_bars=2)
    assert [tuple(row[:3]) for row in note_table(last)] == [
        (0, TPQ, 69),
        (TPQ, TPQ, 67),
        (2 * TPQ, TPQ, 66),
        (3 * TPQ, 3 * TPQ, 67),
    ]
    assert [(s.time, s.numerator, s.denominator) for s in last.time_signatures] == [(0, 3, 4)]
    assert [(k.time, k.key) for k in last.key_signatures] == [(0, 1)]
    assert [(t.time, round(t.qpm)) for t in last.tempos] == [(0, 100)]
