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


def _one_line_error(capsys: pytest.CaptureFixture[str], *words: str) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert all(word in err for word in words), err
    return err


@pytest.mark.parametrize(
    ("option", "value"),
    [("--epochs", "-1"), ("--epochs", "0"), ("--batch-size", "0"), ("--lr", "abc"),
     ("--objective", "causl"), ("--minutes", "-5")],
)  # fmt: skip
def test_impossible_settings_are_one_line_errors(
    melody_dataset: Path, tmp_path: Path, capsys, option: str, value: str
) -> None:
    run = tmp_path / "run"
    assert _train(melody_dataset, run, "--model", "gru", option, value) == 2
    _one_line_error(capsys, option, value)
    assert not run.exists()


def test_train_config_checks_its_values() -> None:
    from continuo.errors import ConfigError
    from continuo.training.config import TrainConfig

    with pytest.raises(ConfigError, match="--window-stride"):
        TrainConfig(window_stride=0)
    with pytest.raises(ConfigError, match="--epochs must be a whole number"):
        TrainConfig(epochs=2.5)
    assert TrainConfig(lr=1, init_from=2024).lr == 1.0  # type: ignore[arg-type]


def test_resume_with_nothing_to_resume_says_how_to_start(
    melody_dataset: Path, tmp_path: Path, capsys
) -> None:
    for run in (tmp_path / "never", tmp_path / "killed-early"):
        if run.name == "killed-early":
            run.mkdir()  # a run killed before its first checkpoint leaves an empty folder
        assert _train(melody_dataset, run, "--model", "gru", "--resume") == 2
        _one_line_error(capsys, str(run), "without --resume")
        assert not (run / "last").exists()


def test_resume_refuses_options_that_contradict_the_run(
    melody_dataset: Path, tmp_path: Path, capsys
) -> None:
    run = tmp_path / "run"
    assert _train(melody_dataset, run, "--model", "transformer", "--epochs", "1") == 0
    capsys.readouterr()
    for extra, words in [
        (["--model", "gru"], ["transformer", "--model gru"]),
        (["--lr", "1e-2"], ["lr"]),
        (["--dropout", "0.4"], ["dropout"]),
        (["--preset", "small"], ["resumed run keeps"]),
        (["--hidden-size", "64"], ["no setting --hidden-size"]),
    ]:
        assert _train(melody_dataset, run, "--resume", *extra) == 2, extra
        _one_line_error(capsys, *words)
    # settings a resumed run may change, and the run's own (equal) settings, are accepted
    assert _train(melody_dataset, run, "--resume", "--epochs", "2", "--model", "transformer") == 0
    assert "resuming at epoch 2" in capsys.readouterr().out
    epochs = [json.loads(x)["epoch"] for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert epochs == [1, 2]


def test_max_steps_inside_an_epoch_leaves_a_whole_run_folder(
    melody_dataset: Path, tmp_path: Path, capsys
) -> None:
    run = tmp_path / "run"
    assert _train(melody_dataset, run, "--model", "gru", "--max-steps", "2") == 0
    assert "checkpoints in" in capsys.readouterr().out
    for name in ("best", "last"):
        assert (run / name / "model.safetensors").is_file()
    [line] = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert line["partial"] is True and line["step"] == 2 and line["valid_loss"] is not None
    state = json.loads((run / "last" / "trainer.json").read_text())["loop"]
    assert (state["epoch"], state["batch"], state["step"]) == (0, 2, 2)  # resumes mid-epoch
    assert main(["evaluate", str(run), str(melody_dataset), "--checkpoint", "best"]) == 0
    # a longer run goes on from the same batch
    assert _train(melody_dataset, run, "--resume", "--max-steps", "3") == 0
    state = json.loads((run / "last" / "trainer.json").read_text())["loop"]
    assert (state["epoch"], state["batch"], state["step"]) == (0, 3, 3)


def test_evaluate_best_never_quietly_uses_last(
    melody_dataset: Path, melody_run: Path, tmp_path: Path, capsys
) -> None:
    import shutil

    run = tmp_path / "run"
    shutil.copytree(melody_run / "last", run / "last")
    assert main(["evaluate", str(run), str(melody_dataset), "--checkpoint", "best"]) == 2
    _one_line_error(capsys, "no best/", "last/")
    assert main(["evaluate", str(run), str(melody_dataset), "--checkpoint", "last"]) == 0


def _tiny_trainer(dataset: Path, out: Path, **settings):
    from continuo.data.dataset import TokenCorpus
    from continuo.models import model_config
    from continuo.training.config import TrainConfig
    from continuo.training.trainer import Trainer

    corpus = TokenCorpus.open(dataset)
    model = model_config("gru", "debug", vocab_size=corpus.codec.vocab_size)
    config = TrainConfig(batch_size=8, block_size=32, warmup_steps=5, **settings)
    return Trainer(corpus, model, config, out, progress=False)


@pytest.mark.parametrize("minutes", [1e-9, 0.0])
def test_last_is_written_by_time_inside_an_epoch(
    melody_dataset: Path, tmp_path: Path, minutes: float
) -> None:
    seen: list[int | None] = []

    def look(trainer) -> None:
        state = trainer.out / "last" / "trainer.json"
        seen.append(json.loads(state.read_text())["loop"]["step"] if state.is_file() else None)
        trainer.should_stop = trainer.loop.step >= 2

    from continuo.training.config import TrainConfig

    trainer = _tiny_trainer(melody_dataset, tmp_path / "run", checkpoint_minutes=minutes)
    trainer.on_step = look
    trainer.fit()
    assert seen == ([1, 2] if minutes else [None, None])
    assert TrainConfig().checkpoint_minutes > 0  # on by default


def test_a_time_budget_stops_cleanly_with_best_last_and_metrics(
    melody_dataset: Path, tmp_path: Path, capsys
) -> None:
    run = tmp_path / "run"
    # a budget of a microsecond is spent by the first step
    assert _train(melody_dataset, run, "--model", "gru", "--minutes", "1e-8") == 0
    assert "minutes spent" in capsys.readouterr().out
    for name in ("best", "last"):
        assert (run / name / "model.safetensors").is_file()
    [line] = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert line["step"] == 1 and line["partial"] is True
    config = json.loads((run / "last" / "config.json").read_text())
    assert config["train"]["minutes"] == 1e-8 and config["loop"]["seconds"] > 0
    # resuming a run whose budget is spent does nothing more; a larger budget goes on
    assert _train(melody_dataset, run, "--resume") == 0
    assert json.loads((run / "last" / "trainer.json").read_text())["loop"]["step"] == 1
    assert _train(melody_dataset, run, "--resume", "--minutes", "0", "--max-steps", "3") == 0
    assert json.loads((run / "last" / "trainer.json").read_text())["loop"]["step"] == 3


def test_the_help_documents_the_time_budget(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert "--minutes N" in out and "checkpoint_minutes 5.0" in out
