"""MIDI: write -> read round trips (types 0 and 1, tracks, channels, resolutions) and bad files."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import pytest
import symusic

from continuo.errors import ReadError
from continuo.io import read_midi, read_pieces, write_midi
from continuo.score import note_table


def _score(tpq: int) -> symusic.Score:
    score = symusic.Score(tpq)
    piano = symusic.Track("piano", 0, False)
    for i, pitch in enumerate([60, 64, 67, 72]):
        piano.notes.append(symusic.Note(i * tpq // 2, tpq // 2, pitch, 60 + i))
    piano.notes.append(symusic.Note(0, 2 * tpq, 48, 100))  # overlaps the others
    bass = symusic.Track("bass", 33, False)
    bass.notes.append(symusic.Note(tpq // 3, tpq, 36, 90))
    drums = symusic.Track("drums", 0, True)
    drums.notes.extend([symusic.Note(t * tpq, tpq // 4, 36, 110) for t in range(3)])
    score.tracks.extend([piano, bass, drums])
    score.time_signatures.extend(
        [symusic.TimeSignature(0, 3, 4), symusic.TimeSignature(3 * tpq, 6, 8)]
    )
    score.key_signatures.append(symusic.KeySignature(0, -3, 1))
    score.tempos.extend([symusic.Tempo(0, 100.0), symusic.Tempo(2 * tpq, 140.0)])
    return score


@pytest.mark.parametrize("tpq", [96, 480, 960])
def test_type1_round_trip_keeps_everything(tmp_path: Path, tpq: int) -> None:
    score = _score(tpq)
    path = tmp_path / "sub" / "song.mid"
    write_midi(score, path)
    back = read_midi(path)
    assert back.ticks_per_quarter == tpq
    np.testing.assert_array_equal(note_table(back), note_table(score))
    assert [(t.name, t.program, t.is_drum) for t in back.tracks] == [
        ("piano", 0, False),
        ("bass", 33, False),
        ("drums", 0, True),
    ]
    assert [(t.time, t.numerator, t.denominator) for t in back.time_signatures] == [
        (0, 3, 4),
        (3 * tpq, 6, 8),
    ]
    assert [(k.time, k.key, k.tonality) for k in back.key_signatures] == [(0, -3, 1)]
    assert [(t.time, round(t.qpm)) for t in back.tempos] == [(0, 100), (2 * tpq, 140)]
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp files


def _vlq(value: int) -> bytes:
    out = [value & 0x7F]
    while value > 0x7F:
        value >>= 7
        out.append((value & 0x7F) | 0x80)
    return bytes(reversed(out))


def _type0(tpq: int) -> bytes:
    """A type-0 file: one track, notes on channels 0 and 3 and drums on channel 9."""
    events = [
        (0, b"\xff\x51\x03" + (500000).to_bytes(3, "big")),
        (0, b"\xc3\x28"),  # channel 3: program 40 (violin)
        (0, b"\x90\x3c\x64"),  # ch0 C4 on
        (0, b"\x93\x4c\x50"),  # ch3 E5 on
        (0, b"\x99\x24\x70"),  # ch9 kick on
        (tpq // 4, b"\x89\x24\x00"),
        (tpq - tpq // 4, b"\x80\x3c\x00"),
        (tpq, b"\x83\x4c\x00"),
        (0, b"\xff\x2f\x00"),
    ]
    body = b"".join(_vlq(delta) + data for delta, data in events)
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, tpq)
    return header + b"MTrk" + struct.pack(">I", len(body)) + body


@pytest.mark.parametrize("tpq", [96, 480, 960])
def test_type0_with_several_channels_splits_into_tracks(tmp_path: Path, tpq: int) -> None:
    path = tmp_path / "type0.midi"
    path.write_bytes(_type0(tpq))
    score = read_midi(path)
    by_program = {
        (t.program, t.is_drum): [(n.time, n.duration, n.pitch) for n in t.notes]
        for t in score.tracks
    }
    assert by_program == {
        (0, False): [(0, tpq, 60)],
        (40, False): [(0, 2 * tpq, 76)],
        (0, True): [(0, tpq // 4, 36)],
    }
    # and it survives being written as type 1
    write_midi(score, tmp_path / "again.mid")
    np.testing.assert_array_equal(
        note_table(read_midi(tmp_path / "again.mid"))[:, :4], note_table(score)[:, :4]
    )


def test_read_pieces_names_a_midi_piece_by_its_path(tmp_path: Path) -> None:
    path = tmp_path / "x.MID"
    write_midi(_score(480), path)
    [piece] = read_pieces(path)
    assert piece.name == str(path)


def _bad_files(tmp_path: Path) -> dict[str, Path]:
    good = _score(480).dumps_midi()
    cases = {
        "empty": b"",
        "random": os.urandom(300).replace(b"MThd", b"xxxx"),
        "text": b"this is not a midi file at all\n",
        "header_only": good[:14],
        "cut_in_header": good[:10],
        "cut_in_track": good[: len(good) // 2],
        "cut_before_end": good[:-3],
        "no_notes": _type0(480)[:14] + b"MTrk" + struct.pack(">I", 4) + b"\x00\xff\x2f\x00",
    }
    paths = {}
    for name, data in cases.items():
        paths[name] = tmp_path / f"{name}.mid"
        paths[name].write_bytes(data)
    return paths


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("empty", "empty"),
        ("random", "not a MIDI file"),
        ("text", "not a MIDI file"),
        ("header_only", "truncated"),
        ("cut_in_header", "truncated"),
        ("cut_in_track", "truncated"),
        ("cut_before_end", "truncated"),
        ("no_notes", "no notes"),
    ],
)
def test_bad_midi_gives_a_read_error_naming_the_file(tmp_path: Path, case: str, words: str) -> None:
    path = _bad_files(tmp_path)[case]
    with pytest.raises(ReadError) as info:
        read_pieces(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert words in message
    assert "\n" not in message
