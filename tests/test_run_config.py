"""The run config: one typed record of a run's settings, its reader and writer, and the rules
that make it for a new, resumed or fine-tuning run. No training here: test_training.py runs them."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from continuo.codecs import get_codec
from continuo.errors import ConfigError, ReadError
from continuo.models import model_config
from continuo.pretrained import pretrained_path
from continuo.training.config import TrainConfig
from continuo.training.plan import RunRequest, fine_tuned_run, new_run, resumed_run
from continuo.training.run_config import (
    DEFAULT_BLOCK_SIZE,
    DatasetInfo,
    RunConfig,
    read_run_config,
)

CODEC = get_codec("melody")
DATASET = DatasetInfo(fingerprint="abc", path="datasets/songs")


def _run(name: str = "gru", **train: object) -> RunConfig:
    model = model_config(name, "debug", vocab_size=CODEC.vocab_size)
    return RunConfig(model, CODEC, TrainConfig(**train), DATASET)  # type: ignore[arg-type]


def test_train_config_refuses_what_the_issue_showed() -> None:
    """TrainConfig(lr='abc', batch_size=0, objective='causl') built, and 0 later divided."""
    for bad, words in [
        ({"lr": "abc"}, "setting --lr must be a number, not 'abc'"),
        ({"batch_size": 0}, "setting --batch-size must be at least 1"),
        ({"objective": "causl"}, "--objective must be causal or window"),
        ({"epochs": True}, "--epochs must be a whole number"),
        ({"lr": float("nan")}, "--lr must be a number"),
    ]:
        with pytest.raises(ConfigError, match=words):
            TrainConfig(**bad)  # type: ignore[arg-type]
    typed = TrainConfig(lr="3e-4", batch_size="64", epochs=2.0, init_from=2024)  # type: ignore[arg-type]
    assert (typed.lr, typed.batch_size, typed.epochs, typed.init_from) == (3e-4, 64, 2, "2024")


def test_the_bundled_checkpoints_load_old_keys_and_all() -> None:
    """folk's config.json predates this record (no checkpoint_minutes, a dataset *name*, an
    evaluation): it reads, and the defaults fill what it lacks."""
    folder = pretrained_path("folk")
    raw = json.loads((folder / "config.json").read_text())
    run = read_run_config(folder)
    assert run.model.name == raw["model"]["name"] and run.codec.to_dict() == raw["codec"]
    assert run.dataset.name and run.dataset.fingerprint == raw["dataset"]["fingerprint"]
    assert run.context == raw["train"]["block_size"] and not run.window_objective
    assert run.train.checkpoint_minutes == TrainConfig().checkpoint_minutes
    assert run.metrics["epoch"] == raw["metrics"]["epoch"]


def test_a_piano_style_config_with_extra_records_loads(tmp_path: Path) -> None:
    events = get_codec("events")
    model = model_config("attention_lstm", "debug", vocab_size=events.vocab_size, block_size=64)
    data = RunConfig(model, events, TrainConfig(), DATASET).to_dict()
    data["dataset"] = {"fingerprint": "f00", "name": "POP909 (909 songs)"}
    data["evaluation"] = {"test": {"bits_per_token": 1.5}}
    data["loop"] = {"epoch": 3}
    (tmp_path / "config.json").write_text(json.dumps(data))
    run = read_run_config(tmp_path)
    assert run.codec.polyphonic and run.context == 64  # block_size 0 -> the model's own
    assert run.dataset == DatasetInfo(fingerprint="f00", name="POP909 (909 songs)")


def test_writer_and_reader_agree() -> None:
    run = _run("transformer", lr=1e-3, objective="window").replace(metrics={"epoch": 2})
    data = json.loads(json.dumps(run.to_dict()))
    again = RunConfig.from_dict(data)
    assert again.to_dict() == data
    assert (again.model, again.train, again.dataset) == (run.model, run.train, run.dataset)
    assert data["format"] == "continuo-checkpoint" and data["dataset"] == DATASET.to_dict()


def test_the_context_is_resolved_once() -> None:
    assert _run("gru").context == DEFAULT_BLOCK_SIZE  # recurrent: no block_size of its own
    assert _run("transformer").context == 32  # the debug preset's
    assert _run("transformer", block_size=16).context == 16  # given


def test_a_run_config_checks_its_parts_together() -> None:
    with pytest.raises(ConfigError, match=r"bidirectional.*--objective window"):
        _run("bilstm")
    assert _run("bilstm", objective="window").window_objective
    small = model_config("gru", "debug", vocab_size=5)
    with pytest.raises(ConfigError, match="same vocabulary"):
        RunConfig(small, CODEC)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d["train"].update(lr="fast"), "--lr must be a number"),
        (lambda d: d["train"].update(bogus=1), "train has no setting --bogus"),
        (lambda d: d["model"].update(n_head=2), "'gru' has no setting --n-head"),
        (lambda d: d["dataset"].update(size=3), "dataset has no setting --size"),
        (lambda d: d.pop("codec"), "needs codec"),
        (lambda d: d["codec"]["config"].update(grid=3), "codec"),
    ],
)
def test_a_damaged_config_is_one_line_naming_the_file(tmp_path: Path, change, words) -> None:
    data = _run().to_dict()
    change(data)
    (tmp_path / "config.json").write_text(json.dumps(data))
    with pytest.raises(ReadError, match=words) as caught:
        read_run_config(tmp_path)
    assert str(tmp_path / "config.json") in str(caught.value) and "\n" not in str(caught.value)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ReadError, match=r"config\.json"):
        read_run_config(tmp_path)


def test_a_new_run_takes_preset_then_tables_then_options() -> None:
    request = RunRequest(
        model="transformer",
        preset="debug",
        model_table={"n_layer": 3, "dropout": 0.2},
        train_table={"lr": 0.01, "epochs": 4},
        options={"block_size": "16", "dropout": "0.3", "lr": "1e-3"},
    )
    run = new_run(request, codec=CODEC, dataset=DATASET)
    assert (run.model.n_layer, run.model.dropout, run.model.block_size) == (3, 0.3, 16)
    assert (run.train.lr, run.train.epochs, run.context) == (1e-3, 4, 16)  # block_size: both
    default = new_run(RunRequest(), codec=CODEC, dataset=DATASET)
    assert (default.model.name, default.model) == ("attention_lstm", model_config(
        "attention_lstm", "small", vocab_size=CODEC.vocab_size))  # fmt: skip


def test_every_unknown_name_is_one_error_naming_it() -> None:
    for request, words in [
        (RunRequest(model="gru", options={"bogus": "1"}), "a gru run has no setting --bogus"),
        (RunRequest(model="gru", options={"n_head": "2"}), "a gru run has no setting --n-head"),
        (RunRequest(train_table={"speed": 3}), r"\[train\] has no setting --speed"),
        (RunRequest(model="gru", model_table={"heads": 3}), "'gru' has no setting --heads"),
        (RunRequest(model="mamba"), "unknown model 'mamba'"),
    ]:
        with pytest.raises(ConfigError, match=words):
            new_run(request, codec=CODEC, dataset=DATASET)


def test_a_resumed_run_keeps_its_settings_but_the_resumable_ones() -> None:
    saved = _run("transformer", lr=1e-2, epochs=1)
    out = Path("runs/x")
    same = RunRequest(
        model="transformer", model_table={"n_layer": 2}, options={"lr": "0.01", "dropout": "0"}
    )
    resumed = resumed_run(saved, same, out=out, dataset=DATASET)
    assert resumed.train == saved.train and resumed.model == saved.model
    longer = resumed_run(saved, RunRequest(options={"epochs": "3", "device": "cpu"}), out=out,
                         dataset=DATASET)  # fmt: skip
    assert (longer.train.epochs, longer.train.device) == (3, "cpu")
    for request, words in [
        (RunRequest(model="gru"), "is a transformer run, and --model gru contradicts it"),
        (RunRequest(options={"lr": "1e-3"}), "lr is 0.01 in the run, 0.001 given"),
        (RunRequest(options={"dropout": "0.4"}), "dropout is 0.0 in the run, 0.4 given"),
        (RunRequest(preset="small"), "a resumed run keeps its settings"),
        (RunRequest(options={"hidden_size": "8"}), "no setting --hidden-size"),
    ]:
        with pytest.raises(ConfigError, match=words):
            resumed_run(saved, request, out=out, dataset=DATASET)
    with pytest.raises(ConfigError, match="another dataset"):
        resumed_run(saved, RunRequest(), out=out, dataset=DatasetInfo(fingerprint="other"))


def test_fine_tuning_takes_the_checkpoint_model_and_this_training() -> None:
    init = _run("transformer", lr=1e-2)
    request = RunRequest(options={"init_from": "runs/a", "lr": "3e-4", "epochs": "2"})
    tuned = fine_tuned_run(init, request, codec=CODEC, dataset=DATASET)
    assert tuned.model == init.model and (tuned.train.lr, tuned.train.epochs) == (3e-4, 2)
    assert tuned.train.init_from == "runs/a"
    agreeing = dataclasses.replace(request, model_table={"n_layer": 2})
    assert fine_tuned_run(init, agreeing, codec=CODEC, dataset=DATASET).model == init.model
    for changes, words in [
        ({"model": "gru"}, "brings its own model"),
        ({"preset": "small"}, "brings its own model"),
        ({"options": {"init_from": "runs/a", "n_layer": "4"}}, "fixes the model"),
        ({"model_table": {"n_layer": 4}}, "n_layer is 2 in the run, 4 given"),
    ]:
        with pytest.raises(ConfigError, match=words):
            fine_tuned_run(init, dataclasses.replace(request, **changes), codec=CODEC,
                           dataset=DATASET)  # fmt: skip
    with pytest.raises(ConfigError, match="codec"):
        fine_tuned_run(init, request, codec=get_codec("melody", transpose=False), dataset=DATASET)


def test_the_run_config_reads_without_torch() -> None:
    """The web app lists models by their run configs while drawing its page: no torch."""
    code = (
        "import sys; from continuo.training.run_config import read_run_config; "
        "from continuo.pretrained import pretrained_path; read_run_config(pretrained_path('folk'));"
        " print('torch' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
