"""POP909 songs read with their beat and key annotations: bar lines and keys where they belong."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import symusic

from continuo import io
from continuo.codecs import get_codec
from continuo.data.build import prepare_corpus
from continuo.errors import ReadError
from continuo.io.pop909 import parse_key_label, read_pop909
from tests.conftest import SHARED_DATA

TPQ = 480
QPM = 100.0
OFFSET = 200  # ticks before the first annotated beat, as in POP909


def write_song(folder: Path, *, key: str = "D:min", pickup_beats: int = 1) -> Path:
    """A POP909-style song: beats every quarter from tick OFFSET, the first downbeat after
    ``pickup_beats`` beats, a note on every beat, placeholder 2/4 signature, no key signature."""
    folder.mkdir(parents=True)
    score = symusic.Score(TPQ)
    score.tempos.append(symusic.Tempo(0, QPM))
    score.time_signatures.append(symusic.TimeSignature(0, 2, 4))
    track = symusic.Track("PIANO", 0, False)
    n_beats = 17
    for beat in range(n_beats):
        track.notes.append(symusic.Note(OFFSET + beat * TPQ, TPQ, 62 + beat % 5, 70))
    score.tracks.append(track)
    path = folder / f"{folder.name}.mid"
    score.dump_midi(path)
    seconds = [(OFFSET + beat * TPQ) / TPQ * 60 / QPM for beat in range(n_beats)]
    lines = [
        f"{t} {float(b % 2 == 0)} {float((b - pickup_beats) % 4 == 0)}"
        for b, t in enumerate(seconds)
    ]
    (folder / "beat_midi.txt").write_text("\n".join(lines) + "\n")
    (folder / "key_audio.txt").write_text(f"0.0\t30.0\t{key}\n")
    return path


def onsets(score: symusic.Score) -> np.ndarray:
    return np.sort(np.concatenate([t.notes.numpy()["time"] for t in score.tracks]))


def test_downbeats_land_on_bar_lines_and_the_key_comes_from_the_annotation(tmp_path: Path) -> None:
    path = write_song(tmp_path / "001", pickup_beats=1)
    score = read_pop909(path)
    times = onsets(score)
    # the first downbeat is the second note; it lands on the bar line at 4 quarters, the pickup
    # note one beat before it, and the bar holding the first note starts at tick 0
    assert times[1] == 4 * TPQ and times[0] == 3 * TPQ
    assert np.all(times % TPQ == 0)
    assert [(ts.time, ts.numerator, ts.denominator) for ts in score.time_signatures] == [(0, 4, 4)]
    assert [(ks.key, ks.tonality) for ks in score.key_signatures] == [(-1, 1)]  # D minor
    assert score.tempos[0].time == 0 and score.tempos[0].qpm == pytest.approx(QPM, rel=1e-3)


def test_read_pieces_uses_the_annotations_and_plain_midi_stays_as_it_is(tmp_path: Path) -> None:
    path = write_song(tmp_path / "002", pickup_beats=0)
    assert onsets(io.read_score(path))[0] == 0
    plain = tmp_path / "plain.mid"
    plain.write_bytes(path.read_bytes())
    assert onsets(io.read_score(plain))[0] == OFFSET


def test_a_remi_codec_sees_bars_in_the_right_place(tmp_path: Path) -> None:
    codec = get_codec("events", tokenization="REMI", velocity_bins=0, transpose=True)
    tokens = codec.ids_to_tokens(codec.encode(read_pop909(write_song(tmp_path / "003"))))
    # D minor moves to A minor (-5); the pickup at the last beat of bar 0, then a bar line
    first_bar = tokens.index("Bar_None")
    assert tokens[first_bar + 1] == "Position_12"
    assert tokens[tokens.index("Bar_None", first_bar + 1) + 1] == "Position_0"
    assert "Pitch_57" in tokens  # D4 (62) as A3


@pytest.mark.parametrize(
    ("label", "key"),
    [("Gb:maj", (6, 0)), ("C#:min", (1, 1)), ("Bb:min", (10, 1)), ("E:maj", (4, 0))],
)
def test_key_labels(label: str, key: tuple[int, int]) -> None:
    assert parse_key_label(label) == key


def test_bad_annotations_name_the_file(tmp_path: Path) -> None:
    path = write_song(tmp_path / "004")
    (path.parent / "beat_midi.txt").write_text("0.1 x y\n")
    with pytest.raises(ReadError, match=r"beat_midi\.txt.*line 1"):
        io.read_score(path)
    write_song(tmp_path / "005")
    (tmp_path / "005" / "key_audio.txt").write_text("0 10 H:dorian\n")
    with pytest.raises(ReadError, match=r"key_audio\.txt"):
        io.read_score(tmp_path / "005" / "005.mid")


def test_the_parse_cache_keys_on_the_annotations(tmp_path: Path) -> None:
    song = write_song(tmp_path / "songs" / "006", pickup_beats=0)
    codec = get_codec("events", tokenization="REMI", velocity_bins=0)
    cache = tmp_path / "cache"
    first = prepare_corpus(
        [str(tmp_path / "songs")], codec, tmp_path / "a", cache_dir=cache, jobs=1
    )
    lines = (song.parent / "beat_midi.txt").read_text().splitlines()
    moved = [f"{t} {b} {float(i % 4 == 1)}" for i, (t, b, _) in enumerate(map(str.split, lines))]
    (song.parent / "beat_midi.txt").write_text("\n".join(moved) + "\n")
    second = prepare_corpus(
        [str(tmp_path / "songs")], codec, tmp_path / "b", cache_dir=cache, jobs=1
    )
    assert first.parsed == 1 and second.parsed == 1  # the new annotation was read, not cached
    a = np.load(tmp_path / "a" / "tokens.npy")
    b = np.load(tmp_path / "b" / "tokens.npy")
    assert not np.array_equal(a, b)


@pytest.mark.shared_data
def test_real_pop909_songs_start_their_bars_on_annotated_downbeats() -> None:
    folder = SHARED_DATA / "pop909" / "001"
    if not folder.exists():
        pytest.skip(f"{folder} is not here")
    score = io.read_score(folder / "001.mid")
    assert score.time_signatures[0].numerator == 4
    assert (score.key_signatures[0].key, score.key_signatures[0].tonality) == (6, 0)  # Gb major
    # most onsets sit on the 16th grid once the bars are in place
    assert np.mean(onsets(score) % (TPQ // 4) == 0) > 0.85
