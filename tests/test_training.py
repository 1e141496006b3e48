"""Training end to end: checkpoints, metrics, evaluation, resume after kill -9, DDP on 2 CPUs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from continuo.cli import main
from continuo.training.checkpoint import load_checkpoint

TINY = ["--preset", "debug", "--batch-size", "8", "--block-size", "32", "--warmup-steps", "5"]


def _train(dataset: Path, out: Path, *extra: str) -> int:
    return main(["train", str(dataset), "--out", str(out), *TINY, *extra])


@pytest.mark.parametrize("model", ["gru", "transformer"])
def test_train_writes_checkpoints_and_metrics(melody_dataset: Path, tmp_path: Path, model, capsys):
    run = tmp_path / "run"
    assert _train(melody_dataset, run, "--model", model, "--epochs", "2") == 0
    for name in ("best", "last"):
        assert (run / name / "model.safetensors").is_file()
        config = json.loads((run / name / "config.json").read_text())
        assert config["model"]["name"] == model and config["codec"]["name"] == "melody"
    assert (run / "last" / "trainer.safetensors").is_file()
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [m["epoch"] for m in lines] == [1, 2]
    assert {"train_loss", "valid_loss", "valid_bits_per_token", "valid_accuracy",
            "tokens_per_second"} <= set(lines[0])  # fmt: skip
    model_, codec, _ = load_checkpoint(run)  # rebuilds from the folder alone
    assert codec.name == "melody" and not model_.training

    capsys.readouterr()
    assert main(["evaluate", str(run), str(melody_dataset), "--split", "test", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert {"bits_per_token", "bits_per_note", "accuracy"} <= set(figures)
    assert 0 < figures["bits_per_note"] < 8 and 0 <= figures["accuracy"] <= 1


def test_window_objective_and_bilstm(melody_dataset: Path, tmp_path: Path, capsys) -> None:
    run = tmp_path / "bilstm"
    assert _train(melody_dataset, run, "--model", "bilstm", "--epochs", "1",
                  "--objective", "window", "--window-stride", "4") == 0  # fmt: skip
    assert main(["evaluate", str(run), str(melody_dataset), "--json"]) == 0
    capsys.readouterr()
    assert _train(melody_dataset, tmp_path / "bad", "--model", "bilstm", "--epochs", "1") == 2
    assert "only be trained with --objective window" in capsys.readouterr().err


def test_user_errors(melody_dataset: Path, tmp_path: Path, capsys) -> None:
    assert _train(melody_dataset, tmp_path / "a", "--model", "gru", "--bogus-setting", "3") == 2
    assert "bogus" in capsys.readouterr().err
    assert main(["train", str(tmp_path), "--out", str(tmp_path / "b")]) == 2
    assert "not a continuo dataset" in capsys.readouterr().err
    run = tmp_path / "c"
    assert _train(melody_dataset, run, "--model", "gru", "--epochs", "1") == 0
    assert _train(melody_dataset, run, "--model", "gru", "--epochs", "1") == 2
    assert "--resume" in capsys.readouterr().err


def _run_cli(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "continuo", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip


@pytest.mark.slow
def test_resume_after_kill_9_matches_an_uninterrupted_run(melody_dataset: Path, tmp_path: Path):
    args = ["train", str(melody_dataset), "--model", "gru", *TINY, "--epochs", "3",
            "--checkpoint-every", "2", "--dropout", "0.1"]  # fmt: skip
    straight = tmp_path / "straight"
    assert _run_cli(*args, "--out", str(straight)).wait(timeout=300) == 0

    killed = tmp_path / "killed"
    process = _run_cli(*args, "--out", str(killed))
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None:
        state = killed / "last" / "trainer.json"
        if state.is_file() and json.loads(state.read_text())["loop"]["step"] >= 5:
            break
        time.sleep(0.02)
    assert process.poll() is None, "training ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    resumed = _run_cli(*args, "--out", str(killed), "--resume")
    output = resumed.communicate(timeout=300)[0].decode()
    assert resumed.returncode == 0, output
    assert "resuming" in output

    a = load_file(straight / "last" / "model.safetensors")
    b = load_file(killed / "last" / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    epochs = [json.loads(x)["epoch"] for x in (killed / "metrics.jsonl").read_text().splitlines()]
    assert epochs[-1] == 3


@pytest.mark.slow
def test_torchrun_two_cpu_processes_write_one_run(melody_dataset: Path, tmp_path: Path) -> None:
    run = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "continuo", "train", str(melody_dataset), "--model", "gru", *TINY,
         "--epochs", "2", "--out", str(run)],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 2  # written by rank 0 only
    assert (run / "best" / "model.safetensors").is_file()
    assert not list(run.glob(".*tmp*"))


def test_fine_tune_from_a_checkpoint(melody_dataset: Path, melody_run: Path, tmp_path: Path):
    run = tmp_path / "tuned"
    assert main(["train", str(melody_dataset), "--init-from", str(melody_run), "--epochs", "1",
                 "--lr", "0", "--min-lr", "0", "--out", str(run)]) == 0  # fmt: skip
    before = load_file(melody_run / "best" / "model.safetensors")
    after = load_file(run / "last" / "model.safetensors")
    assert all(torch.equal(before[k], after[k]) for k in before)  # lr 0: the same weights
    config = json.loads((run / "last" / "config.json").read_text())
    assert config["model"]["name"] == "transformer"


def test_fine_tune_refuses_another_model(melody_dataset: Path, melody_run: Path, tmp_path, capsys):
    argv = ["train", str(melody_dataset), "--init-from", str(melody_run), "--model", "gru",
            "--out", str(tmp_path / "x")]  # fmt: skip
    assert main(argv) == 2
    assert "--init-from" in capsys.readouterr().err


def test_the_help_lists_every_registered_model() -> None:
    """cli/train.py keeps the names without importing torch; they must match the registry."""
    from continuo.cli.train import MODEL_NAMES
    from continuo.models import MODELS

    assert set(MODEL_NAMES) == set(MODELS)
