"""continuo.audio.extender.Extender: the one front object the CLI, the app and the benchmarks call
for audio; the audio model registry and the checkpoint pieces audio shares with symbolic models."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from continuo.audio import Extender
from continuo.audio.extender import ENDINGS, METHODS, describe, ending_label
from continuo.audio.extension import Extension
from continuo.errors import ConfigError
from continuo.io.audio import Audio, read_audio
from tests.test_audio_signals import groove, write

SR = 22_050


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    return write(tmp_path_factory.mktemp("in") / "groove.wav", groove(SR, bars=4), SR)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, song):
    from continuo.audio.neural import AudioModelConfig, AudioTrainConfig, train_audio

    out = tmp_path_factory.mktemp("runs") / "tiny"
    model = AudioModelConfig(arch="frame_rnn", hidden=16, context=8, horizon=4)
    train = AudioTrainConfig(steps=4, batch=4, window=8, checkpoint_every=2)
    train_audio([song], out, model, train, progress=False)
    return out


def test_methods_and_their_checks(run_dir):
    assert set(METHODS) == {"structure", "neural", "melody"}
    assert Extender.load().method == "structure"
    with pytest.raises(ConfigError, match="unknown extension method 'loop'"):
        Extender.load("loop")
    with pytest.raises(ConfigError, match="needs an audio model"):
        Extender.load("neural")
    with pytest.raises(ConfigError, match="only used with the neural and melody methods"):
        Extender.load("structure", run_dir)
    extender = Extender.load("neural", run_dir, temperature=0.0, seed=3)
    assert extender.model.step == 4 and extender.temperature == 0.0 and extender.seed == 3


def test_structure_extends_a_file(song, tmp_path):
    out = tmp_path / "long.flac"
    warnings: list[str] = []
    result, audio = Extender.load().extend_file(song, out, 12.0, warn=warnings.append)
    assert isinstance(result, Extension) and result.method == "structure"
    assert not warnings
    written = read_audio(out)
    assert written.sample_rate == SR and abs(written.duration - 12.0) < 1e-3
    assert audio.duration < 12.0 and result.ending in ENDINGS
    assert [p.name for p in tmp_path.iterdir()] == ["long.flac"]


def test_neural_extends_and_the_cli_agrees(song, run_dir, tmp_path):
    extender = Extender.load("neural", run_dir, temperature=0.0)
    audio = Extender.read(song)
    result = extender.extend(audio, audio.duration + 2.0, name="groove")
    assert result.method == "neural" and result.ending == "fade"
    assert result.samples.shape == (round((audio.duration + 2.0) * SR), 1)
    path = extender.write(result, tmp_path / "out.wav", like=audio)
    np.testing.assert_allclose(read_audio(path).samples, result.samples, atol=1e-4)

    from continuo.cli import main

    cli_out = tmp_path / "cli.wav"
    argv = ["extend", str(song), "--duration", str(audio.duration + 2.0), "--out", str(cli_out)]
    assert main([*argv, "--method", "neural", "--model", str(run_dir), "--temperature", "0"]) == 0
    np.testing.assert_array_equal(read_audio(cli_out).samples, read_audio(path).samples)


def test_bad_input_is_named(tmp_path):
    with pytest.raises(ConfigError, match="clip"):
        Extender.load().extend(Audio(np.zeros((10, 1), np.float32), SR), 5.0, name="clip")
    with pytest.raises(Exception, match="no such"):
        Extender.read(tmp_path / "missing.wav")


def test_ending_labels_live_in_one_place():
    assert ending_label("song") == "its own ending"
    assert ending_label("fade") == "a fade-out"
    assert ending_label("weird") == "weird"
    ext = Extension(np.zeros((SR * 2, 1), np.float32), SR, [], "fade", "neural", 1.0, {})
    assert describe(ext) == "2.00 s from 1.00 s, 0 splice(s), ends with a fade-out"


def test_cli_methods_are_the_registry():
    import argparse

    from continuo.cli import extend

    parser = argparse.ArgumentParser()
    extend.add_parser(parser.add_subparsers())
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    (method,) = [a for a in sub.choices["extend"]._actions if a.dest == "method"]
    assert tuple(method.choices) == tuple(METHODS)


def test_audio_models_are_a_registry():
    from continuo.audio.neural.config import ARCHITECTURES, AudioModelConfig
    from continuo.audio.neural.models import AUDIO_MODELS, build_audio_model

    assert tuple(AUDIO_MODELS) == ARCHITECTURES
    for name, cls in AUDIO_MODELS.items():
        config = AudioModelConfig(arch=name, hidden=8, context=6, horizon=3)
        model = build_audio_model(config)
        assert isinstance(model, cls)
        n = cls.example_length(config, window=5)
        windows = torch.randn(2, n, config.width)
        errors = model.errors(windows)
        assert errors.ndim == 3 and errors.shape[-1] == config.width and (errors >= 0).all()
    with pytest.raises(ValueError, match="unknown audio model architecture"):
        build_audio_model(AudioModelConfig(arch="wavenet"))


def test_training_state_of_the_old_layout_still_loads(run_dir, tmp_path):
    """Audio runs written before checkpoint_io kept the optimizer's groups without "scalars"."""
    import shutil

    from safetensors.torch import load_file, save_file

    from continuo.audio.neural.checkpoint import TRAINING_NAME, load_model, load_training_state

    old = tmp_path / "old"
    shutil.copytree(run_dir, old)
    path = old / TRAINING_NAME
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        meta = dict(handle.metadata())
    optimizer_meta = json.loads(meta["optimizer"])
    optimizer_meta.pop("scalars", None)
    meta["optimizer"] = json.dumps(optimizer_meta)
    save_file(load_file(str(path)), str(path), metadata=meta)
    model = load_model(old).model
    optimizer = torch.optim.Adam(model.parameters(), lr=1.0)
    step, history = load_training_state(old, optimizer)
    assert step == 4 and len(history) == 4
    assert optimizer.param_groups[0]["lr"] != 1.0
