"""Polyphony end to end: a folder of piano-style MIDI (made from music21's Bach chorales),
MusicNet label CSVs and the JSB chorales go through `continuo prepare`, `train` and `generate`
with the `events` and `pianoroll` codecs, and come out as polyphonic MIDI, WAV and PNG with
chords, learned durations and rests. Also: transposition augmentation, the sustain pedal and
duplicated notes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import symusic

from continuo.cli import main
from continuo.codecs import get_codec
from continuo.codecs._sustain import sustained_offsets
from continuo.generation.seeds import seed_from_file
from continuo.io import read_midi
from continuo.score import make_score, note_table
from tests.polyphony_fixtures import note, pedal, smf, write_piano_folder

CODECS = ["events", "pianoroll"]
TINY = ["--model", "transformer", "--preset", "debug", "--epochs", "3", "--batch-size", "8"]
TINY += ["--lr", "1e-2", "--warmup-steps", "5", "--transpose-range", "2"]


@pytest.fixture(scope="module")
def piano_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_piano_folder(tmp_path_factory.mktemp("piano") / "piano", count=10)


def _prepare(capsys: pytest.CaptureFixture[str], sources: list[str], codec: str, out: Path):
    capsys.readouterr()
    argv = ["prepare", *sources, "--codec", codec, "--out", str(out), "--json"]
    assert main([*argv, "--valid-fraction", "0.1", "--test-fraction", "0.1"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("codec", CODECS)
def test_piano_folder_to_polyphonic_midi_wav_png(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], piano_folder: Path, codec: str
) -> None:
    summary = _prepare(capsys, [str(piano_folder)], codec, tmp_path / "data")
    assert summary["pieces"] == 10 and summary["skipped"] == []

    run = tmp_path / "run"
    assert main(["train", str(tmp_path / "data"), "--out", str(run), *TINY]) == 0
    assert (run / "best" / "model.safetensors").is_file()

    seed_file = piano_folder / "chorale00.mid"
    argv = ["generate", "--model", str(run), "--seed-file", str(seed_file), "--last-bars", "2"]
    argv += ["--bars", "3", "--num-outputs", "2", "--rng-seed", "0", "--out", str(tmp_path / "o")]
    capsys.readouterr()
    assert main(argv) == 0
    written = capsys.readouterr().out.split()
    assert len(written) == 8  # two outputs: .mid .musicxml .wav .png
    for path in map(Path, written):
        assert path.stat().st_size > 100, path

    seed = seed_from_file(seed_file, last_bars=2)
    seed_notes = {tuple(row) for row in note_table(seed)[:, :3].tolist()}
    chords = durations = 0
    for midi in (tmp_path / "o" / "output-1.mid", tmp_path / "o" / "output-2.mid"):
        table = note_table(read_midi(midi))
        assert seed_notes <= {tuple(row) for row in table[:, :3].tolist()}  # seed verbatim
        new = table[table[:, 0] >= seed.end()]
        assert len(new) > 0  # and a continuation after it
        _, counts = np.unique(new[:, 0], return_counts=True)
        chords += int((counts >= 2).sum())
        durations = max(durations, len(np.unique(new[:, 1])))
    assert chords >= 2  # polyphonic: several notes struck together
    assert durations >= 2  # note lengths come from the model, not one fixed value


def test_generate_from_nothing_writes_polyphony(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], piano_folder: Path
) -> None:
    _prepare(capsys, [str(piano_folder)], "events", tmp_path / "data")
    assert main(["train", str(tmp_path / "data"), "--out", str(tmp_path / "run"), *TINY]) == 0
    capsys.readouterr()
    argv = ["generate", "--model", str(tmp_path / "run"), "--steps", "48", "--rng-seed", "3"]
    assert main([*argv, "--out", str(tmp_path / "o")]) == 0
    score = read_midi(tmp_path / "o" / "output-1.mid")
    assert score.note_num() > 4
    assert (tmp_path / "o" / "output-1.png").stat().st_size > 1000


def test_rests_survive_both_codecs() -> None:
    # a chord, two quarters of silence, a chord: the gap is a time shift / empty frames
    score = make_score(
        [
            (0, 480, 60, 80),
            (0, 480, 64, 80),
            (0, 480, 67, 80),
            (1440, 240, 62, 80),
            (1440, 240, 65, 80),
        ]
    )
    for name in CODECS:
        codec = get_codec(name)
        back = codec.decode(codec.encode(score))
        onsets = sorted({n.time for t in back.tracks for n in t.notes})
        assert onsets == [0, 1440], name
        assert {n.duration for t in back.tracks for n in t.notes} == {480, 240}, name


def _musicnet_csv(rows: list[tuple[int, int, int, int]]) -> str:
    lines = ["start_time,end_time,instrument,note,start_beat,end_beat,note_value"]
    lines += [f"{s},{e},{i},{n},0.0,1.0,Quarter" for s, e, i, n in rows]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("codec", CODECS)
def test_musicnet_label_csvs_prepare(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], codec: str
) -> None:
    folder = tmp_path / "musicnet"
    folder.mkdir()
    quarter = 22050  # samples per quarter note at 120 qpm, 44.1 kHz
    for recording in range(3):
        rows = []
        for beat in range(16):
            root = 48 + (beat * 5 + recording) % 12
            rows += [
                (beat * quarter, (beat + 1) * quarter, 1, p) for p in (root, root + 4, root + 7)
            ]
            rows.append((beat * quarter, beat * quarter + quarter // 2, 41, root + 24))
        (folder / f"{2300 + recording}.csv").write_text(_musicnet_csv(rows))
    summary = _prepare(capsys, [str(folder)], codec, tmp_path / "data")
    assert summary["pieces"] == 3 and summary["tokens"] > 100


@pytest.mark.parametrize("codec", CODECS)
def test_jsb_chorales_prepare(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], jsb_dir: Path, codec: str
) -> None:
    summary = _prepare(capsys, [str(jsb_dir / "jsb-chorales-16th.json")], codec, tmp_path / "d")
    assert summary["pieces"] == 382 and summary["skipped"] == []


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("shift", [-3, 2])
def test_pitch_shift_table_transposes_the_decoded_score(
    piano_folder: Path, codec: str, shift: int
) -> None:
    c = get_codec(codec)
    score = read_midi(piano_folder / "chorale02.mid")
    ids = np.asarray(c.encode(score))
    table = c.pitch_shift_table(shift)
    assert table.shape == (c.vocab_size,)
    moved = table[ids]
    assert (moved >= 0).all()
    expected = note_table(c.quantize(score))
    expected[:, 2] += shift
    assert np.array_equal(note_table(c.decode(moved.tolist())), expected)
    # only pitch tokens move
    unmoved = [i for i, token in enumerate(c.vocab) if not token.lstrip("+").isdigit()]
    if codec == "events":
        unmoved = [i for i, token in enumerate(c.vocab) if not token.startswith("Pitch_")]
    assert np.array_equal(table[unmoved], unmoved)


def test_pitch_shift_table_marks_pitches_that_leave_the_range() -> None:
    for name in CODECS:
        codec = get_codec(name, low=40, high=50)
        table = codec.pitch_shift_table(4)
        top = [codec.vocab.index(t) for t in codec.vocab if t in ("48", "Pitch_48")]
        assert table[top] == [-1], name


def test_sustain_extends_notes_released_under_the_pedal() -> None:
    # pedal down 100..1000: note A released at 300 (held to 1000), note B at 60 re-struck at
    # 500 (held only to 500), note C released at 1200 after the pedal (unchanged), note D
    # released at 100 exactly when the pedal goes down (not held: it is not sounding then)
    onset = np.array([0, 0, 500, 900, 0])
    offset = np.array([300, 200, 700, 1200, 100])
    pitch = np.array([64, 60, 60, 67, 72])
    ends = sustained_offsets(onset, offset, pitch, np.array([[100, 1000]]))
    assert ends.tolist() == [1000, 500, 1000, 1200, 100]


@pytest.mark.parametrize("codec", CODECS)
def test_sustain_pedal_in_a_midi_file(tmp_path: Path, codec: str) -> None:
    events = note(0, 96, 60) + note(96, 96, 64) + pedal(0, 384) + note(0, 96, 48, channel=1)
    path = tmp_path / "pedal.mid"
    path.write_bytes(smf([events], fmt=0, division=96))
    score = read_midi(path)
    with_pedal = note_table(get_codec(codec).quantize(score))
    without = note_table(get_codec(codec, sustain=False).quantize(score))
    lengths = {int(p): int(d) for _, d, p, *_ in with_pedal}
    assert lengths == {60: 1920, 64: 1440, 48: 480}  # to the pedal's release at 4 quarters
    assert {int(p): int(d) for _, d, p, *_ in without} == {60: 480, 64: 480, 48: 480}


def test_events_merges_duplicated_notes() -> None:
    score = symusic.Score(480)
    for _ in range(2):  # two tracks of one program playing the same notes, one a bit longer
        track = symusic.Track("", 0, False)
        score.tracks.append(track)
    score.tracks[0].notes.extend([symusic.Note(0, 480, 60, 70), symusic.Note(0, 480, 60, 70)])
    score.tracks[1].notes.append(symusic.Note(10, 960, 60, 100))
    codec = get_codec("events")
    [(_, duration, _, velocity, _)] = note_table(codec.decode(codec.encode(score))).tolist()
    assert duration == 960 and velocity >= 95
