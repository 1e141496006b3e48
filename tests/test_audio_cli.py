"""``continuo extend`` and ``continuo train-audio`` end to end through ``continuo.cli.main``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from continuo.cli import main
from continuo.cli.extend import parse_duration
from continuo.errors import ConfigError
from tests.test_audio_signals import groove, sine, write

SR = 22_050


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    return write(tmp_path_factory.mktemp("in") / "groove.flac", groove(SR), SR)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, song):
    out = tmp_path_factory.mktemp("runs") / "tiny"
    code = main(
        [
            "train-audio",
            str(song),
            "--out",
            str(out),
            "--steps",
            "4",
            "--batch",
            "4",
            "--hidden",
            "16",
            "--window",
            "8",
            "--checkpoint-every",
            "2",
        ]
    )
    assert code == 0
    return out


def run_json(capsys, argv):
    code = main([*argv, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def one_line_error(capsys, argv, *needles):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert err.startswith("continuo: error:") and "\n" not in err, err
    for needle in needles:
        assert needle in err, err
    return err


def test_structure_end_to_end(tmp_path, capsys, song):
    out = tmp_path / "long.wav"
    report = run_json(capsys, ["extend", str(song), "--duration", "0:40", "--out", str(out)])
    info = sf.info(str(out))
    assert info.samplerate == SR and info.channels == 1 and info.frames == 40 * SR
    assert report["duration"] == 40.0 and report["method"] == "structure"
    assert report["ending"] in ("song", "fade") and report["splices"]
    for s in report["splices"]:
        assert set(s) == {"output_time", "source_from", "source_to", "cost"}
        assert 0 < s["output_time"] < 40 and 0 <= s["source_to"] <= 18
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("sr,channels,ext", [(8_000, 1, ".ogg"), (96_000, 2, ".flac")])
def test_rates_and_channels_are_kept(tmp_path, capsys, sr, channels, ext):
    y = groove(sr, bars=4)
    src = write(tmp_path / "in.wav", np.stack([y] * channels, axis=1) if channels > 1 else y, sr)
    out = tmp_path / f"out{ext}"
    report = run_json(capsys, ["extend", str(src), "--duration", "15", "--out", str(out)])
    info = sf.info(str(out))
    assert (info.samplerate, info.channels) == (sr, channels)
    assert abs(info.frames - 15 * sr) <= (0 if ext == ".flac" else sr // 100)
    assert report["sample_rate"] == sr and report["channels"] == channels


def test_shorter_than_the_input_is_a_correct_result(tmp_path, capsys, song):
    out = tmp_path / "short.wav"
    report = run_json(capsys, ["extend", str(song), "--duration", "9", "--out", str(out)])
    assert sf.info(str(out)).frames == 9 * SR and report["duration"] == 9.0


def test_two_second_clip_and_silence(tmp_path, capsys):
    clip = write(tmp_path / "clip.wav", groove(SR)[: 2 * SR], SR)
    run_json(capsys, ["extend", str(clip), "--duration", "8", "--out", str(tmp_path / "a.wav")])
    quiet = write(tmp_path / "quiet.wav", np.zeros(3 * SR, np.float32), SR)
    code = main(["extend", str(quiet), "--duration", "6", "--out", str(tmp_path / "b.wav")])
    assert code == 0 and "silent" in capsys.readouterr().err
    data, _ = sf.read(str(tmp_path / "b.wav"))
    assert data.shape == (6 * SR,) and not data.any()


def test_bad_inputs_give_one_line_and_no_file(tmp_path, capsys, song):
    out = tmp_path / "out.wav"
    text = tmp_path / "text.mp3"
    text.write_text("hello " * 100)
    zero = write(tmp_path / "zero.wav", np.zeros(0, np.float32), SR)
    flac = write(tmp_path / "whole.flac", sine(3.0), SR).read_bytes()
    (tmp_path / "cut.flac").write_bytes(flac[: len(flac) // 2])
    tiny = write(tmp_path / "tiny.wav", sine(0.3), SR)
    cases = [
        (["extend", str(text), "--duration", "10", "--out", str(out)], str(text)),
        (["extend", str(zero), "--duration", "10", "--out", str(out)], "no audio"),
        (["extend", str(tmp_path / "cut.flac"), "--duration", "10", "--out", str(out)], "cut.flac"),
        (["extend", str(tiny), "--duration", "10", "--out", str(out)], "too short"),
        (["extend", str(tmp_path / "none.wav"), "--duration", "10", "--out", str(out)], "no such"),
        (["extend", str(song), "--duration", "-4", "--out", str(out)], "--duration"),
        (["extend", str(song), "--duration", "abc", "--out", str(out)], "--duration"),
        (["extend", str(song), "--duration", "99999", "--out", str(out)], "limit"),
        (
            ["extend", str(song), "--duration", "10", "--out", str(tmp_path / "x.txt")],
            "cannot write",
        ),
        (
            ["extend", str(song), "--duration", "10", "--out", str(out), "--method", "neural"],
            "--model",
        ),
        (
            ["extend", str(song), "--duration", "10", "--out", str(out), "--model", str(tmp_path)],
            "only used",
        ),
    ]
    for argv, needle in cases:
        one_line_error(capsys, argv, needle)
    assert not out.exists()
    mp3 = write(tmp_path / "hi.wav", groove(96_000, bars=1), 96_000)
    one_line_error(
        capsys, ["extend", str(mp3), "--duration", "5", "--out", str(tmp_path / "o.mp3")], "MP3"
    )


def test_existing_output_survives_a_failed_run(tmp_path, capsys):
    out = write(tmp_path / "keep.wav", sine(1.0), SR)
    before = out.read_bytes()
    text = tmp_path / "bad.wav"
    text.write_text("nope")
    one_line_error(capsys, ["extend", str(text), "--duration", "5", "--out", str(out)], "bad.wav")
    assert out.read_bytes() == before


def test_neural_end_to_end(tmp_path, capsys, song, model_dir):
    assert sorted(p.name for p in model_dir.iterdir()) == [
        "config.json",
        "model.safetensors",
        "training.safetensors",
    ]
    out = tmp_path / "more.ogg"
    report = run_json(
        capsys,
        [
            "extend",
            str(song),
            "--duration",
            "21",
            "--out",
            str(out),
            "--method",
            "neural",
            "--model",
            str(model_dir),
        ],
    )
    info = sf.info(str(out))
    assert info.samplerate == SR and info.channels == 1 and abs(info.frames - 21 * SR) < 200
    assert report["method"] == "neural" and report["ending"] == "fade"
    (splice,) = report["splices"]
    # the groove's last 0.5 s are silence: trimmed, the model continues from its last sound
    tail = report["trimmed_end_seconds"]
    assert tail >= 0.5 and report["trimmed_start_seconds"] == 0.0
    assert 17.5 - tail < splice["output_time"] <= 18.0 - tail and splice["source_to"] is None
    assert report["realtime_factor"] > 0
    one_line_error(
        capsys,
        [
            "extend",
            str(song),
            "--duration",
            "5",
            "--out",
            str(out),
            "--method",
            "neural",
            "--model",
            str(model_dir),
        ],
        "at least",
    )
    one_line_error(
        capsys,
        [
            "extend",
            str(song),
            "--duration",
            "25",
            "--out",
            str(out),
            "--method",
            "neural",
            "--model",
            str(tmp_path / "nope"),
        ],
        "no such model folder",
    )


def test_train_audio_resume_and_errors(tmp_path, capsys, song, model_dir):
    one_line_error(capsys, ["train-audio", str(song), "--out", str(model_dir)], "--resume")
    code = main(["train-audio", str(song), "--out", str(model_dir), "--resume", "--steps", "5"])
    assert code == 0 and "step 5" in capsys.readouterr().out
    one_line_error(
        capsys,
        ["train-audio", str(tmp_path / "no.wav"), "--out", str(tmp_path / "r")],
        "no such file",
    )
    one_line_error(
        capsys, ["train-audio", str(song), "--out", str(tmp_path / "r"), "--steps", "0"], "--steps"
    )


def test_train_audio_resume_keeps_the_runs_own_settings(tmp_path, capsys, song, monkeypatch):
    import continuo.audio.neural.train as train_module
    import continuo.progress

    out = tmp_path / "run"
    argv = ["train-audio", str(song), "--out", str(out)]
    small = ["--arch", "frame_rnn", "--batch", "4", "--hidden", "16", "--window", "8"]
    real_loss, calls = train_module._loss, {"n": 0}

    def dies_at_step_4(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:  # killed after the checkpoint of step 2
            raise KeyboardInterrupt
        return real_loss(*args, **kwargs)

    one_line_error(capsys, [*argv, "--resume"], "no model to resume", "without --resume")
    monkeypatch.setattr(train_module, "_loss", dies_at_step_4)
    assert main([*argv, *small, "--steps", "6", "--checkpoint-every", "2"]) == 130
    monkeypatch.setattr(train_module, "_loss", real_loss)
    capsys.readouterr()
    one_line_error(capsys, [*argv, "--resume", "--hidden", "32"], "hidden is 16", "32 given")
    one_line_error(capsys, [*argv, "--resume", "--arch", "seq2seq"], "arch")
    monkeypatch.setattr(continuo.progress, "LINE_SECONDS", 0.0)  # a line at every step
    assert main([*argv, "--resume", "--hidden", "16"]) == 0  # the run's own value is fine
    captured = capsys.readouterr()
    assert "step 6 " in captured.out  # the run's --steps 6, not the default 1,200
    progress = [line for line in captured.err.splitlines() if line.startswith("train-audio:")]
    assert progress and "\r" not in captured.err  # stderr is not a terminal: plain lines
    assert json.loads((out / "config.json").read_text())["train"]["steps"] == 6


def test_parse_duration():
    assert parse_duration("300") == 300.0
    assert parse_duration("5:00") == 300.0
    assert parse_duration("1:02:03") == 3723.0
    assert parse_duration("12.5s") == 12.5
    with pytest.raises(ConfigError):
        parse_duration("five")


def test_real_recording(tmp_path, capsys, audio_dir):
    src = audio_dir / "trumpet_loop.ogg"
    out = tmp_path / "trumpet.wav"
    report = run_json(capsys, ["extend", str(src), "--duration", "20", "--out", str(out)])
    info = sf.info(str(out))
    assert info.frames == 20 * info.samplerate == 20 * sf.info(str(src)).samplerate
    assert report["splices"] and report["ending"] in ("song", "fade")
