"""The neural extender: tiny models that train in seconds, checkpoints, resume, generation."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from continuo.audio.extension import sound_bounds
from continuo.audio.neural import (
    ModelConfig,
    TrainConfig,
    extend_neural,
    load_model,
    train_audio,
)
from continuo.audio.neural.features import FeatureConfig, log_mel
from continuo.audio.neural.models import build_model
from continuo.audio.neural.vocoder import griffin_lim, mel_to_magnitude
from continuo.errors import ConfigError, ReadError
from continuo.io.audio import Audio
from tests.test_audio_signals import groove, sine, write

SR = 22_050
TINY = ModelConfig(arch="frame_rnn", hidden=16, context=8, horizon=4)
FAST = TrainConfig(steps=6, batch=4, window=8, checkpoint_every=3)


@pytest.fixture(scope="module")
def song_path(tmp_path_factory):
    return write(tmp_path_factory.mktemp("src") / "groove.wav", groove(SR, bars=4), SR)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, song_path):
    out = tmp_path_factory.mktemp("runs") / "tiny"
    train_audio([song_path], out, TINY, FAST, progress=False)
    return out


def test_run_dir_is_self_describing(run_dir):
    names = sorted(p.name for p in run_dir.iterdir())
    assert names == ["config.json", "model.safetensors", "training.safetensors"]
    config = json.loads((run_dir / "config.json").read_text())
    assert config["format"] == "continuo.audio-model" and config["version"] == 1
    assert config["model"]["arch"] == "frame_rnn" and config["model"]["hidden"] == 16
    assert config["features"]["sample_rate"] == SR
    loaded = load_model(run_dir)
    assert loaded.step == 6
    weights = load_file(str(run_dir / "model.safetensors"))
    assert {"mean", "std", "residual_scale"} <= set(weights)


def test_loading_never_unpickles(run_dir, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("unpickling attempted")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    loaded = load_model(run_dir)
    audio = Audio(groove(SR, bars=2)[:, None], SR)
    ext = extend_neural(audio, audio.duration + 2.0, loaded, progress=False)
    assert ext.samples.shape[0] == round((audio.duration + 2.0) * SR)


def test_a_killed_run_resumes_to_the_uninterrupted_result(
    tmp_path, song_path, run_dir, monkeypatch
):
    import continuo.audio.neural.train as train_module

    real_loss = train_module._loss
    calls = {"n": 0}

    def dies_at_step_5(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:  # after the checkpoint of step 3, in the middle of step 5
            raise KeyboardInterrupt
        return real_loss(*args, **kwargs)

    killed = tmp_path / "killed"
    monkeypatch.setattr(train_module, "_loss", dies_at_step_5)
    with pytest.raises(KeyboardInterrupt):
        train_audio([song_path], killed, TINY, FAST, progress=False)
    monkeypatch.setattr(train_module, "_loss", real_loss)
    assert load_model(killed).step == 3
    assert not [p for p in killed.iterdir() if p.name.startswith(".")]  # no temp files left
    result = train_audio([song_path], killed, TINY, FAST, resume=True, progress=False)
    assert result.step == 6 and len(result.history) == 6
    a = load_file(str(killed / "model.safetensors"))
    b = load_file(str(run_dir / "model.safetensors"))
    for key in b:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6)


def test_existing_run_needs_resume_and_resume_needs_a_run(tmp_path, song_path, run_dir):
    with pytest.raises(ConfigError, match="--resume"):
        train_audio([song_path], run_dir, TINY, FAST, progress=False)
    with pytest.raises(ConfigError, match="no model"):
        train_audio([song_path], tmp_path / "empty", TINY, FAST, resume=True, progress=False)


def test_resume_keeps_the_runs_settings(song_path, run_dir):
    from dataclasses import replace

    with pytest.raises(ConfigError, match="batch is 4 in the run, 8 given"):
        train_audio([song_path], run_dir, TINY, replace(FAST, batch=8), resume=True)
    with pytest.raises(ConfigError, match="hidden"):
        train_audio([song_path], run_dir, replace(TINY, hidden=32), resume=True)
    # configs left out are the run's own: its 6 steps are done, so nothing more is trained
    result = train_audio([song_path], run_dir, resume=True, progress=False)
    assert result.step == 6 and load_model(run_dir).step == 6


def test_bad_sources_are_skipped_and_reported(tmp_path, song_path):
    junk = tmp_path / "junk.wav"
    junk.write_text("not audio")
    quiet = write(tmp_path / "quiet.wav", np.zeros(5 * SR, np.float32), SR)
    result = train_audio(
        [song_path, junk, quiet],
        tmp_path / "run",
        TINY,
        TrainConfig(**{**FAST.to_json(), "steps": 1}),
        progress=False,
    )
    reasons = dict(result.skipped)
    assert "not a readable audio file" in reasons[str(junk)]
    assert reasons[str(quiet)] == "silent"
    with pytest.raises(ConfigError, match="no usable training audio"):
        train_audio([junk], tmp_path / "run2", TINY, FAST, progress=False)
    with pytest.raises(ReadError, match="no such file"):
        train_audio([tmp_path / "missing.ogg"], tmp_path / "run3", TINY, FAST, progress=False)


def test_corrupt_or_foreign_model_folders(tmp_path, run_dir):
    with pytest.raises(ReadError, match="no such model folder"):
        load_model(tmp_path / "nothing")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text((run_dir / "config.json").read_text())
    data = (run_dir / "model.safetensors").read_bytes()
    (broken / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ReadError, match="corrupt or truncated"):
        load_model(broken)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "config.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ReadError, match="not a continuo audio model"):
        load_model(foreign)


def test_extend_neural_contract(run_dir):
    y = groove(44_100, bars=2)
    audio = Audio(np.stack([y, y], axis=1), 44_100)
    ext = extend_neural(audio, audio.duration + 3.0, run_dir, progress=False)
    n = round((audio.duration + 3.0) * 44_100)
    assert ext.samples.shape == (n, 2) and ext.sample_rate == 44_100
    (splice,) = ext.splices
    join = round(splice.output_time * 44_100)
    sound = audio.duration - ext.details["trimmed_end_seconds"]  # the groove ends in silence
    assert ext.details["trimmed_start_seconds"] == 0.0
    assert sound - 0.1 < splice.output_time <= sound
    np.testing.assert_array_equal(ext.samples[:join], audio.samples[:join])
    assert np.abs(ext.samples[-10:]).max() < 1e-3  # faded out
    assert ext.details["realtime_factor"] > 0
    with pytest.raises(ConfigError, match="at least"):
        extend_neural(audio, sound - 1.0, run_dir, progress=False)


def test_silence_at_the_ends_is_trimmed_before_continuing(run_dir):
    sr = 22_050
    y = groove(sr, bars=2)
    start, end = sound_bounds(y[:, None], sr)
    assert start == 0 and 0.5 * sr <= y.shape[0] - end < 2.0 * sr  # its final 0.5 s are silent
    lead, tail = np.zeros(sr, np.float32), np.full(3 * sr, 1e-6, np.float32)  # 1 s, 3 s
    padded = np.concatenate([lead, y, tail])
    audio = Audio(padded[:, None], sr)
    assert sound_bounds(audio.samples, sr) == (sr, sr + end)
    ext = extend_neural(audio, audio.duration, run_dir, progress=False)
    assert ext.details["trimmed_start_seconds"] == 1.0
    assert ext.details["trimmed_end_seconds"] == round((y.shape[0] - end) / sr + 3.0, 3)
    (splice,) = ext.splices
    join = round(splice.output_time * sr)
    assert join <= end and splice.source_from == pytest.approx(1.0 + join / sr)
    np.testing.assert_array_equal(ext.samples[:join, 0], y[:join])  # starts with the sound
    silent = Audio(np.zeros((5 * sr, 1), np.float32), sr)
    assert sound_bounds(silent.samples, sr) == (0, 5 * sr)  # nothing but silence: kept whole
    short = Audio(np.concatenate([np.zeros(3 * sr), sine(0.5, sr)])[:, None], sr)
    with pytest.raises(ConfigError, match=r"only 0\.50 s of sound"):
        extend_neural(short, 6.0, run_dir, progress=False)


def test_training_sources_are_trimmed_of_silence(tmp_path):
    """A model never sees a source's leading or trailing silence, so it does not learn that the
    music is followed by silence (and continue a recording with it)."""
    from continuo.audio.neural.train import load_corpus

    y = groove(SR, bars=2)
    start, end = sound_bounds(y, SR)
    padded = np.concatenate([np.zeros(2 * SR, np.float32), y, np.zeros(4 * SR, np.float32)])
    plain = write(tmp_path / "plain.wav", y[start:end], SR)
    quiet_ends = write(tmp_path / "quiet-ends.wav", padded, SR)
    feats = FeatureConfig()
    corpus, used, skipped = load_corpus([plain, quiet_ends], feats, 0.0, 1.0)
    assert skipped == [] and len(used) == 2
    assert abs(corpus[0].shape[0] - corpus[1].shape[0]) <= 2  # the same frames, but for rounding
    blip = np.concatenate([np.zeros(2 * SR), sine(1.0, SR), np.zeros(3 * SR)]).astype(np.float32)
    short = write(tmp_path / "blip.wav", blip, SR)  # 6 s long, 1 s of it sound
    _, _, skipped = load_corpus([short], feats, 0.0, 2.0)
    assert "only 1.0 s of sound" in skipped[0][1] and "needs 2.0 s" in skipped[0][1]


def test_seq2seq_trains_and_chains(tmp_path, song_path):
    config = ModelConfig(arch="seq2seq", hidden=16, context=8, horizon=4)
    out = tmp_path / "s2s"
    train_audio(
        [song_path], out, config, TrainConfig(**{**FAST.to_json(), "steps": 2}), progress=False
    )
    audio = Audio(groove(SR, bars=2)[:, None], SR)
    ext = extend_neural(audio, audio.duration + 2.5, out, progress=False)
    assert ext.samples.shape == (round((audio.duration + 2.5) * SR), 1)
    assert np.isfinite(ext.samples).all()


def test_models_shapes():
    for arch in ("frame_rnn", "seq2seq"):
        model = build_model(ModelConfig(arch=arch, hidden=8, context=6, horizon=3))
        frames = torch.randn(40, 80)
        supers = model.normalise(frames)
        assert supers.shape == (10, 320)
        torch.testing.assert_close(model.denormalise(supers), frames)
        out = model.generate(supers, 7, temperature=0.5, gen=torch.Generator().manual_seed(0))
        assert out.shape == (7, 320)


def test_vocoder_keeps_the_prefix_and_inverts_a_tone():
    feats = FeatureConfig()
    x = torch.from_numpy(sine(1.0, SR, 440.0))
    from continuo.audio.neural.features import stft

    spec = stft(x, feats)
    mag = mel_to_magnitude(log_mel(x.numpy(), feats), feats)
    assert mag.shape == spec.shape
    wave, final = griffin_lim(spec.abs()[:, 20:40], feats, spec[:, :20], n_iter=8)
    torch.testing.assert_close(final[:, :20], spec[:, :20])
    assert wave.shape == ((40 - 1) * feats.hop,)
    # the reconstruction of the known part is the original
    np.testing.assert_allclose(wave[1024:3000], x.numpy()[1024:3000], atol=1e-3)


def test_model_rate_follows_the_sources(tmp_path):
    from continuo.audio.neural.features import features_for_rate

    assert features_for_rate(8_000).sample_rate == 22_050
    assert (features_for_rate(44_100).sample_rate, features_for_rate(44_100).hop) == (44_100, 512)
    assert features_for_rate(96_000).sample_rate == 48_000
    src = write(tmp_path / "hi.wav", groove(44_100, bars=2), 44_100)
    train_audio(
        [src], tmp_path / "run", TINY, TrainConfig(**{**FAST.to_json(), "steps": 1}), progress=False
    )
    loaded = load_model(tmp_path / "run")
    assert loaded.features.sample_rate == 44_100 and loaded.features.n_fft == 2048
    audio = Audio(groove(44_100, bars=2)[:, None], 44_100)
    ext = extend_neural(audio, audio.duration + 1.5, loaded, progress=False)
    assert ext.samples.shape == (round((audio.duration + 1.5) * 44_100), 1)


def test_checkpoint_files_get_the_usual_mode(run_dir):
    import os
    import stat

    umask = os.umask(0)
    os.umask(umask)
    for path in run_dir.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, path.name
