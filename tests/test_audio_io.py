"""read_audio / write_audio: formats, rates, channels, atomic writes and every kind of bad file."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest
import soundfile as sf

from continuo.errors import ConfigError, ReadError
from continuo.io.audio import read_audio, resample, to_mono, write_audio
from tests.test_audio_signals import sine, write


@pytest.mark.parametrize("ext", [".wav", ".flac", ".ogg", ".mp3"])
def test_round_trip_keeps_rate_channels_and_length(tmp_path, ext):
    stereo = np.stack([sine(1.0, 44_100, 440), sine(1.0, 44_100, 660)], axis=1)
    path = write_audio(tmp_path / f"x{ext}", stereo, 44_100)
    audio = read_audio(path)
    assert audio.sample_rate == 44_100
    assert audio.channels == 2
    assert audio.samples.dtype == np.float32
    assert abs(audio.n_samples - 44_100) <= (2_000 if ext == ".mp3" else 0)
    if ext in (".wav", ".flac"):
        np.testing.assert_allclose(audio.samples, stereo, atol=1e-4)


@pytest.mark.parametrize("sr", [8_000, 11_025, 32_000, 48_000, 96_000])
def test_reads_common_rates_and_mono_is_2d(tmp_path, sr):
    audio = read_audio(write(tmp_path / "x.wav", sine(0.5, sr), sr))
    assert audio.sample_rate == sr and audio.samples.shape == (sr // 2, 1)


def test_pcm24_subtype_is_kept(tmp_path):
    src = read_audio(write(tmp_path / "a.wav", sine(0.2), 22_050, "PCM_24"))
    assert src.subtype == "PCM_24"
    out = write_audio(tmp_path / "b.flac", src.samples, 22_050, subtype=src.subtype)
    assert sf.info(str(out)).subtype == "PCM_24"


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ReadError, match="no such file"):
        read_audio(tmp_path / "nope.wav")
    with pytest.raises(ReadError, match="directory"):
        read_audio(tmp_path)


def test_text_with_an_audio_name(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("this is not audio\n" * 20)
    with pytest.raises(ReadError, match="not a readable audio file") as info:
        read_audio(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_zero_length_and_empty_files(tmp_path):
    with pytest.raises(ReadError, match="no audio samples"):
        read_audio(write(tmp_path / "zero.wav", np.zeros(0, np.float32), 22_050))
    (tmp_path / "empty.ogg").write_bytes(b"")
    with pytest.raises(ReadError):
        read_audio(tmp_path / "empty.ogg")


@pytest.mark.parametrize("ext", [".flac", ".ogg", ".mp3"])
def test_truncated_compressed_files_are_refused(tmp_path, ext):
    whole = write(tmp_path / f"whole{ext}", sine(3.0), 22_050)
    data = whole.read_bytes()
    cut = tmp_path / f"cut{ext}"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ReadError) as info:
        read_audio(cut)
    assert str(cut) in str(info.value)


def test_a_damaged_mp3_is_one_line_without_the_decoders_chatter(tmp_path, capfd):
    """mpg123 prints notes ("Trying to resync...") on file descriptor 2: none of it gets out,
    and what the process writes to standard error afterwards still does."""
    from continuo.cli import main

    whole = write(tmp_path / "whole.mp3", sine(5.0, 44_100), 44_100)
    data = whole.read_bytes()
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(data[: len(data) // 2] + bytes(100))
    code = main(["extend", str(cut), "--duration", "10", "--out", str(tmp_path / "o.wav")])
    os.write(2, b"after\n")
    err = capfd.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 2, err
    assert str(cut) in err[0] and "truncated" in err[0] and err[1] == "after"


def test_truncated_wav_reads_what_is_there(tmp_path):
    whole = write(tmp_path / "whole.wav", sine(2.0), 22_050)
    data = whole.read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[: len(data) // 2])
    audio = read_audio(cut)  # libsndfile trusts the file size: a correct, shorter result
    assert 0.9 < audio.duration < 1.1


def test_nan_samples_are_refused(tmp_path):
    x = sine(0.5)
    x[100] = np.nan
    with pytest.raises(ReadError, match="NaN"):
        read_audio(write(tmp_path / "nan.wav", x, 22_050, "FLOAT"))


def test_rate_outside_range(tmp_path):
    with pytest.raises(ReadError, match="sample rate"):
        read_audio(write(tmp_path / "low.wav", sine(0.5, 4_000), 4_000))


def test_write_refuses_unknown_extension_and_mp3_rate(tmp_path):
    with pytest.raises(ConfigError, match="cannot write"):
        write_audio(tmp_path / "x.xyz", sine(0.1), 22_050)
    with pytest.raises(ConfigError, match="MP3"):
        write_audio(tmp_path / "x.mp3", sine(0.1, 96_000), 96_000)
    assert list(tmp_path.iterdir()) == []


def test_write_is_atomic_and_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    target = write_audio(tmp_path / "out.wav", sine(0.5), 22_050)
    before = target.read_bytes()

    class Boom(RuntimeError):
        pass

    def broken_write(self, data):
        raise Boom("disk full")

    monkeypatch.setattr(sf.SoundFile, "write", broken_write)
    with pytest.raises(Boom):
        write_audio(target, sine(1.0), 22_050)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.wav"]


def test_written_file_has_the_usual_mode_and_clipped_samples(tmp_path):
    path = write_audio(tmp_path / "loud.wav", np.full(100, 3.0, np.float32), 22_050)
    mode = stat.S_IMODE(os.stat(path).st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask
    assert read_audio(path).samples.max() <= 1.0


def test_mono_mix_and_resample():
    stereo = np.stack([np.ones(10), -np.ones(10)], axis=1).astype(np.float32)
    assert np.allclose(to_mono(stereo), 0.0)
    y = resample(sine(1.0, 44_100), 44_100, 22_050)
    assert y.dtype == np.float32 and abs(y.shape[0] - 22_050) <= 1
