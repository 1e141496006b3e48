"""Transcription of sung and played takes (``continuo.audio.transcription``), the ``transcribe``
command, ``generate --seed-audio`` and every bad take, on melodies rendered with the bundled
SoundFont: vibrato, re-articulated notes and noise, as in ``benchmarks/transcription.py``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from continuo.audio.transcription import (
    Transcription,
    TranscriptionConfig,
    estimate_meter,
    key_signature,
    transcribe,
)
from continuo.cli import main
from continuo.errors import ConfigError, ReadError
from continuo.io.audio import Audio, read_audio, write_audio
from continuo.io.render import to_waveform
from continuo.score import DEFAULT_TPQ, make_score

SR = 22_050
#: "Alle meine Entchen" (C major, 4/4), in quarters: (pitch, length).
ENTCHEN = [(60, 1), (62, 1), (64, 1), (65, 1), (67, 2), (67, 2), (69, 1), (69, 1), (69, 1),
           (69, 1), (67, 4), (65, 1), (65, 1), (65, 1), (65, 1), (64, 2), (64, 2)]  # fmt: skip
#: A waltz tune in G major, 3/4.
WALTZ = [(67, 2), (71, 1), (74, 2), (71, 1), (72, 2), (69, 1), (67, 3), (66, 2), (69, 1),
         (72, 2), (69, 1), (67, 3)]  # fmt: skip


def render(melody, program: int, qpm: float, *, vibrato: float = 35.0, seed: int = 0):
    """``(Audio, true notes [(onset s, offset s, pitch)])``: ``melody`` played detached (each
    note 12% short), with vibrato of ``vibrato`` cents at 5.5 Hz and noise at 20 dB SNR."""
    notes, tick = [], 0
    for pitch, quarters in melody:
        length = quarters * DEFAULT_TPQ
        notes.append((tick, int(0.88 * length), pitch, 90))
        tick += length
    audio = to_waveform(make_score(notes, program=program, qpm=qpm), stereo=False, sample_rate=SR)
    y = audio[0]
    t = np.arange(len(y)) / SR
    y = np.interp(t - (2 ** (vibrato / 1200) - 1) / (11 * np.pi) * np.sin(11 * np.pi * t), t, y)
    y = y + np.random.default_rng(seed).normal(0, np.sqrt(np.mean(y**2) / 100), len(y))
    seconds = 60.0 / qpm / DEFAULT_TPQ
    truth = [(on * seconds, (on + d) * seconds, p) for on, d, p, _ in notes]
    return Audio(y.astype(np.float32)[:, None], SR), truth


def f_measure(truth, result: Transcription) -> float:
    import mir_eval

    ref = np.asarray(truth, dtype=float)
    est = np.stack([result.onsets, result.offsets, result.pitches], axis=1).astype(float)
    hz = lambda p: 440.0 * 2 ** ((p - 69) / 12)  # noqa: E731
    return mir_eval.transcription.precision_recall_f1_overlap(
        ref[:, :2], hz(ref[:, 2]), est[:, :2], hz(est[:, 2]),
        onset_tolerance=0.05, pitch_tolerance=50.0, offset_ratio=None,
    )[2]  # fmt: skip


@pytest.mark.parametrize(
    ("melody", "program", "qpm", "key", "beats"),
    [
        (ENTCHEN, 73, 100.0, (0, 0), 4),  # flute
        (ENTCHEN, 56, 132.0, (0, 0), 4),  # trumpet
        (WALTZ, 52, 84.0, (7, 0), 3),  # choir "aah"
    ],
)
def test_rendered_melodies_are_transcribed(melody, program, qpm, key, beats) -> None:
    take, truth = render(melody, program, qpm)
    result = transcribe(take)
    assert f_measure(truth, result) >= 0.9
    assert result.key == key
    assert result.time_signature == (beats, 4)
    assert abs(result.tempo - qpm) / qpm < 0.06 or abs(result.tempo - 2 * qpm) / qpm < 0.12
    # the seed text reads back to the same melody on the grid
    from continuo.codecs.melody import melody_from_text

    again = melody_from_text(result.seed_text())
    assert [n.pitch for n in again.tracks[0].notes] == [int(p) for p in result.pitches]


def test_a_given_tempo_sets_the_grid() -> None:
    take, _ = render(ENTCHEN, 73, 100.0)
    result = transcribe(take, TranscriptionConfig(tempo=100.0))
    assert result.tempo == pytest.approx(100.0)
    text = result.seed_text().split()
    assert text[:8] == ["60", "_", "_", "_", "62", "_", "_", "_"]


def test_out_of_tune_singing_is_transcribed_in_tune() -> None:
    take, truth = render(ENTCHEN, 73, 100.0)
    shifted = Audio(_pitch_shift(take.samples[:, 0], 0.3)[:, None], SR)  # 30 cents sharp
    result = transcribe(shifted)
    assert result.tuning == pytest.approx(0.3, abs=0.12)
    faster = 2 ** (0.3 / 12)  # the shift resamples, so the take is shorter too
    assert f_measure([(a / faster, b / faster, p) for a, b, p in truth], result) >= 0.9


def _pitch_shift(y: np.ndarray, semitones: float) -> np.ndarray:
    ratio = 2 ** (semitones / 12)
    t = np.arange(int(len(y) / ratio))
    return np.interp(t * ratio, np.arange(len(y)), y).astype(np.float32)


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("short", "1.0 s long"),
        ("silence", "silent"),
        ("noise", "no single clear pitch"),
        ("two voices", "more than one voice"),
        ("two notes", r"found 2 note\(s\)"),
    ],
)
def test_bad_takes_are_refused_with_a_reason(case: str, reason: str) -> None:
    rng = np.random.default_rng(0)
    if case == "short":
        take = Audio(rng.normal(0, 0.1, (SR, 1)).astype(np.float32), SR)
    elif case == "silence":
        take = Audio(np.zeros((3 * SR, 1), np.float32), SR)
    elif case == "noise":
        take = Audio(rng.normal(0, 0.1, (3 * SR, 1)).astype(np.float32), SR)
    elif case == "two voices":
        low, _ = render(ENTCHEN[:8], 73, 100.0)
        high, _ = render([(p + 7, q) for p, q in ENTCHEN[:8]], 73, 100.0, seed=1)
        n = min(low.n_samples, high.n_samples)
        take = Audio(low.samples[:n] + high.samples[:n], SR)
    else:
        take, _ = render([(67, 4), (69, 4)], 73, 100.0)
    with pytest.raises(ReadError, match=reason) as error:
        transcribe(take, name="take.wav")
    assert str(error.value).startswith("take.wav: ")
    assert "\n" not in str(error.value)


def test_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="tempo"):
        TranscriptionConfig(tempo=5.0)
    with pytest.raises(ConfigError, match="pitch range"):
        TranscriptionConfig(fmin=500.0, fmax=100.0)


def test_meter_and_key_signature_helpers() -> None:
    spq = 4
    # a long note starting every third beat: triple
    lengths = np.array([2, 1, 2, 1, 2, 1, 3, 2, 1, 3]) * spq
    starts = np.cumsum(np.r_[0, lengths[:-1]])
    assert estimate_meter(starts, starts + lengths, spq)[0] == 3
    assert key_signature(7, 0) == (1, 0)  # G major: one sharp
    assert key_signature(2, 1) == (-1, 1)  # D minor: one flat
    assert key_signature(6, 0) == (6, 0)


@pytest.fixture(scope="module")
def hum(tmp_path_factory) -> Path:
    take, _ = render(ENTCHEN, 73, 100.0)
    return write_audio(tmp_path_factory.mktemp("takes") / "hum.wav", take.samples, SR)


def test_transcribe_command_prints_the_seed_and_writes_midi(hum: Path, tmp_path, capsys) -> None:
    assert main(["transcribe", str(hum), "--out", str(tmp_path / "seed.mid")]) == 0
    heard, seed = capsys.readouterr().out.strip().splitlines()
    assert "17 notes" in heard and "C major" in heard
    assert seed.split()[:5] == ["60", "_", "_", "_", "62"]
    from continuo.io import read_score

    notes = read_score(tmp_path / "seed.mid").tracks[0].notes
    assert [n.pitch for n in notes] == [p for p, _ in ENTCHEN]
    assert main(["transcribe", str(hum), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["notes"]) == 17 and report["key"] == {"tonic": 0, "mode": 0}


def test_generate_continues_a_take(hum: Path, tmp_path, capsys) -> None:
    out = tmp_path / "out" / "song.mid"
    code = main(["generate", "--seed-audio", str(hum), "--bars", "4", "--rng-seed", "1",
                 "--out", str(out)])  # fmt: skip
    assert code == 0
    assert "heard" in capsys.readouterr().err
    from continuo.io import read_score

    notes = read_score(out).tracks[0].notes
    assert [n.pitch for n in notes[:17]] == [p for p, _ in ENTCHEN]  # the take, verbatim
    assert len(notes) > 17


def test_bad_takes_and_options_are_one_line_errors(hum: Path, tmp_path, capsys) -> None:
    silent = write_audio(tmp_path / "quiet.wav", np.zeros((3 * SR, 1), np.float32), SR)
    assert main(["transcribe", str(silent)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"continuo: error: {silent}: the take is silent (check the microphone)"
    )
    assert main(["transcribe", str(tmp_path / "missing.wav")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["generate", "--seed", "60 62", "--tempo", "90", "--out", str(tmp_path)]) == 2
    assert "--tempo is the tempo of a --seed-audio take" in capsys.readouterr().err


def test_browser_recordings_are_read(tmp_path) -> None:
    import av

    take, _ = render(ENTCHEN, 73, 100.0)
    path = tmp_path / "take.webm"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libopus", rate=48000)
        stream.layout = "mono"
        from continuo.io.audio import resample

        y = resample(take.samples[:, 0], SR, 48000)
        frame = av.AudioFrame.from_ndarray(y[None, :], format="flt", layout="mono")
        frame.sample_rate = 48000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    audio = read_audio(path)
    assert audio.sample_rate == 48000 and audio.channels == 1
    assert [int(p) for p in transcribe(audio).pitches] == [p for p, _ in ENTCHEN]
    (tmp_path / "bad.webm").write_bytes(b"no")
    with pytest.raises(ReadError, match=r"bad\.webm: not a readable audio file"):
        read_audio(tmp_path / "bad.webm")
