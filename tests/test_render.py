"""Rendering: WAV through the bundled General MIDI SoundFont, PNG piano rolls, atomic writes."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile

from continuo.errors import ConfigError, ContinuoError
from continuo.io.render import (
    PEAK_LEVEL,
    SOUNDFONT_ENV,
    find_soundfont,
    to_waveform,
    write_pianoroll_png,
    write_wav,
)
from continuo.score import DEFAULT_TPQ, bar_starts, make_score, pitch_name

TPQ = DEFAULT_TPQ


def _melody(n: int = 8, *, qpm: float | None = 120.0, **kwargs):
    """``n`` quarter notes climbing from C4."""
    return make_score([(i * TPQ, TPQ, 60 + i, 90) for i in range(n)], qpm=qpm, **kwargs)


def test_soundfont_is_found_without_download() -> None:
    path = find_soundfont()
    assert path.is_file() and path.suffix in (".sf2", ".sf3")
    assert path.stat().st_size > 1_000_000


def test_soundfont_argument_and_environment(tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(ConfigError, match="no such SoundFont"):
        find_soundfont(tmp_path / "missing.sf2")
    monkeypatch.setenv(SOUNDFONT_ENV, str(tmp_path / "missing.sf2"))
    with pytest.raises(ConfigError, match=SOUNDFONT_ENV):
        find_soundfont()


def test_waveform_length_level_and_sound() -> None:
    # 8 quarters at 120 qpm = 4 s, plus a 1 s tail
    audio = to_waveform(_melody(8), sample_rate=16000)
    assert audio.dtype == np.float32 and audio.shape == (2, 5 * 16000)
    peak = np.abs(audio).max()
    assert peak == pytest.approx(PEAK_LEVEL, rel=1e-4)  # normalised, below full scale
    # every second of the melody sounds; the end fades to nothing
    for second in range(4):
        chunk = audio[:, second * 16000 : (second + 1) * 16000]
        assert np.sqrt(np.mean(chunk**2)) > 0.01
    assert np.abs(audio[:, -10:]).max() < 1e-3


def test_tempo_and_options_change_length() -> None:
    audio = to_waveform(_melody(4, qpm=60.0), sample_rate=8000, stereo=False, tail=0.5)
    assert audio.shape == (1, round(4.5 * 8000))
    no_tempo = to_waveform(_melody(4, qpm=None), sample_rate=8000, tail=0.0)
    assert no_tempo.shape == (2, 2 * 8000)  # 120 qpm when the score has no tempo


def test_empty_score_is_short_silence() -> None:
    audio = to_waveform(make_score([]), sample_rate=8000)
    assert audio.shape == (2, 8000) and not audio.any()


def test_unnormalised_never_clips() -> None:
    loud = make_score(
        [(0, 4 * TPQ, pitch, 127) for pitch in range(36, 96, 2)], qpm=120.0
    )  # a 30-note cluster, doubled: far beyond full scale before scaling
    loud.tracks.append(loud.tracks[0].copy())
    audio = to_waveform(loud, sample_rate=8000, normalize=False)
    assert np.abs(audio).max() <= PEAK_LEVEL + 1e-6


def test_program_and_drums_change_the_sound() -> None:
    notes = [(i * TPQ // 2, TPQ // 2, 38 + (i % 3) * 4, 100) for i in range(8)]
    piano = to_waveform(make_score(notes, qpm=120.0), sample_rate=8000)
    strings = to_waveform(make_score(notes, program=48, qpm=120.0), sample_rate=8000)
    drums = to_waveform(make_score(notes, is_drum=True, qpm=120.0), sample_rate=8000)
    assert piano.shape == strings.shape == drums.shape
    assert not np.allclose(piano, strings, atol=1e-3)
    assert not np.allclose(piano, drums, atol=1e-3)


def test_bad_render_arguments() -> None:
    with pytest.raises(ConfigError, match="sample rate"):
        to_waveform(_melody(2), sample_rate=100)
    with pytest.raises(ConfigError, match="tail"):
        to_waveform(_melody(2), tail=-1.0)


def test_wav_file_reads_back(tmp_path: Path) -> None:
    path = write_wav(_melody(4), tmp_path / "out" / "melody.wav", sample_rate=22050)
    assert path == tmp_path / "out" / "melody.wav"
    info = soundfile.info(str(path))
    assert (info.samplerate, info.channels, info.subtype, info.format) == (
        22050,
        2,
        "PCM_16",
        "WAV",
    )
    data, rate = soundfile.read(str(path), dtype="float32")
    assert rate == 22050 and data.shape == (3 * 22050, 2)
    assert 0.5 < np.abs(data).max() < 1.0
    assert [p.name for p in path.parent.iterdir()] == ["melody.wav"]  # no temporary left over


def test_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "keep.wav"
    target.write_bytes(b"old")

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(soundfile, "write", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_wav(_melody(2), target)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.wav"]


def test_unwritable_target_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ContinuoError, match="cannot write"):
        write_wav(_melody(2), blocker / "x.wav")


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n" and header[12:16] == b"IHDR"
    return struct.unpack(">II", header[16:24])


def test_pianoroll_png(tmp_path: Path) -> None:
    score = make_score(
        [(i * TPQ, TPQ, 60 + (i * 5) % 12, 80) for i in range(24)],
        time_signature=(3, 4),
        qpm=100.0,
    )
    path = write_pianoroll_png(
        score, tmp_path / "roll.png", seed_end_tick=8 * TPQ, title="seed and continuation"
    )
    width, height = _png_size(path)
    assert 800 <= width <= 2600 and 300 <= height <= 1100
    assert 10_000 < path.stat().st_size < 2_000_000
    assert [p.name for p in tmp_path.iterdir()] == ["roll.png"]


def test_pianoroll_of_empty_and_drum_scores(tmp_path: Path) -> None:
    assert _png_size(write_pianoroll_png(make_score([]), tmp_path / "empty.png"))[0] > 0
    drums = make_score([(0, TPQ, 36, 100)], is_drum=True)
    assert _png_size(write_pianoroll_png(drums, tmp_path / "drums.png", seed_end_tick=0))[0] > 0


def test_bar_starts_follow_time_signatures() -> None:
    assert bar_starts(make_score([]), 4 * 4 * TPQ) == [0, 4 * TPQ, 8 * TPQ, 12 * TPQ]
    waltz = make_score([], time_signature=(3, 4))
    assert bar_starts(waltz, 7 * TPQ) == [0, 3 * TPQ, 6 * TPQ]
    six_eight = make_score([], time_signature=(6, 8))
    assert bar_starts(six_eight, 6 * TPQ) == [0, 3 * TPQ]
    changing = make_score([], time_signature=(2, 4))
    changing.time_signatures.append(type(changing.time_signatures[0])(4 * TPQ, 3, 4))
    assert bar_starts(changing, 10 * TPQ) == [0, 2 * TPQ, 4 * TPQ, 7 * TPQ]


def test_pitch_names() -> None:
    assert [pitch_name(p) for p in (60, 61, 69, 21, 108, 0)] == [
        "C4",
        "C#4",
        "A4",
        "A0",
        "C8",
        "C-1",
    ]


@pytest.mark.parametrize(("program", "pitch"), [(0, 55), (0, 69), (40, 67), (52, 60), (73, 74)])
def test_rendered_notes_sound_at_their_pitch(program: int, pitch: int) -> None:
    # symusic ignores a zone's root key; TimGM6mb's piano played G3 as A4 before the fix
    import librosa

    score = make_score([(0, 2 * DEFAULT_TPQ, pitch, 90)], program=program, qpm=120.0)
    audio = to_waveform(score, stereo=False, sample_rate=22050)[0][2205:15000]
    f0 = librosa.yin(audio, fmin=60, fmax=2000, sr=22050, frame_length=2048)
    assert abs(float(np.median(librosa.hz_to_midi(f0))) - pitch) < 0.3


def test_soundfonts_without_root_keys_are_used_as_they_are(tmp_path: Path) -> None:
    from continuo.io.soundfont import in_tune_soundfont, root_key_fixes

    not_a_soundfont = tmp_path / "x.sf2"
    not_a_soundfont.write_bytes(b"RIFF\0\0\0\0WAVE")
    assert root_key_fixes(not_a_soundfont.read_bytes()) is None
    assert in_tune_soundfont(not_a_soundfont, tmp_path) == not_a_soundfont
    fixed = in_tune_soundfont(find_soundfont(), tmp_path)
    assert fixed.parent == tmp_path / "soundfonts"
    assert fixed.stat().st_size == find_soundfont().stat().st_size
