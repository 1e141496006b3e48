"""continuo end to end on a real S3 API (moto's server on loopback): every command reads and
writes s3:// URLs as it does local paths, a kill during a checkpoint upload loses nothing, and
two torchrun processes train one run from a dataset in a bucket."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile

from continuo import storage
from continuo.cli import main
from continuo.data.dataset import TokenCorpus
from tests.s3_fixtures import S3
from tests.test_audio_signals import groove, write

pytestmark = pytest.mark.slow

TINY = ["--preset", "debug", "--batch-size", "8", "--block-size", "32", "--warmup-steps", "5"]
CHECKPOINT = {"config.json", "model.safetensors", "trainer.json", "trainer.safetensors"}


def _machine(s3: S3, cache: Path) -> dict[str, str]:
    """The environment of a continuo process on a machine of its own: its own cache."""
    return s3.process_env(CONTINUO_CACHE=str(cache), OMP_NUM_THREADS="1")


def _bucket_with(s3: S3, dataset: Path) -> tuple[str, str]:
    """A new bucket and the URL of ``dataset`` published in it."""
    bucket = s3.new_bucket()
    storage.publish(dataset, f"{bucket}/data")
    return bucket, f"{bucket}/data"


def _recording_in(s3: S3, url: str, tmp: Path, bars: int, rate: int = 22_050) -> int:
    """Put a recording (tests/test_audio_signals.py's groove: ``bars`` bars of 4/4 at 120 bpm
    and 2 s of ending) at ``url``; returns its sample rate."""
    path = write(tmp / "recording.wav", groove(rate, bars=bars), rate)
    s3.put(url, path.read_bytes())
    return rate


def _cli(s3: S3, *args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    """Run continuo with a cache of its own (as on another machine), against the server."""
    env = _machine(s3, tmp / "cache")
    return subprocess.run(
        [sys.executable, "-m", "continuo", *args], env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _upload(s3: S3, folder: Path, url: str) -> None:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            s3.put(f"{url}/{path.relative_to(folder).as_posix()}", path.read_bytes())


def test_prepare_train_evaluate_generate_from_s3_to_s3(
    s3: S3, melody_midi_dir: Path, melody_dataset: Path, tmp_path: Path
) -> None:
    bucket = s3.new_bucket()
    _upload(s3, melody_midi_dir, f"{bucket}/songs/melodies")
    data, run = f"{bucket}/datasets/melodies", f"{bucket}/runs/gru"

    summary = json.loads(_ok(_cli(s3, "prepare", f"{bucket}/songs/melodies", "--codec", "melody",
                                  "--valid-fraction", "0.2", "--test-fraction", "0.2",
                                  "--out", data, "--json", tmp=tmp_path)))  # fmt: skip
    assert summary["out"] == data and summary["pieces"] == 24
    keys = s3.keys(data)
    version = s3.get(f"{data}/CURRENT").decode()
    assert {f"{version}/manifest.json", f"{version}/tokens.npy"} <= set(keys)
    remote = TokenCorpus.open(data)  # pieces are named as from a local folder: the same split
    assert remote.fingerprint == TokenCorpus.open(melody_dataset).fingerprint
    assert remote.manifest["sources"] == [f"{bucket}/songs/melodies"]
    again = json.loads(_ok(_cli(s3, "prepare", f"{bucket}/songs/melodies", "--codec", "melody",
                                "--valid-fraction", "0.2", "--test-fraction", "0.2",
                                "--out", data, "--json", tmp=tmp_path)))  # fmt: skip
    assert (again["cached"], again["parsed"]) == (24, 0)  # the cache works for a bucket too

    _ok(_cli(s3, "train", data, "--model", "gru", *TINY, "--epochs", "2", "--out", run,
             tmp=tmp_path))  # fmt: skip
    keys = set(s3.keys(run))
    assert {"best/CURRENT", "last/CURRENT", "metrics.jsonl"} <= keys
    assert len(s3.get(f"{run}/metrics.jsonl").decode().splitlines()) == 2
    again = _cli(s3, "train", data, "--model", "gru", "--out", run, tmp=tmp_path)
    assert again.returncode == 2 and f"{run}: already holds a run" in again.stderr

    evaluation = json.loads(_ok(_cli(s3, "evaluate", run, data, "--json", tmp=tmp_path)))
    assert evaluation["tokens"] > 0

    seed = f"{bucket}/seeds/seed.mid"
    s3.put(seed, next(melody_midi_dir.glob("*.mid")).read_bytes())
    printed = _ok(_cli(s3, "generate", "--model", run, "--seed-file", seed, "--steps", "32",
                       "--rng-seed", "1", "--out", f"{bucket}/out/song.mid", tmp=tmp_path))  # fmt: skip
    assert f"{bucket}/out/song.mid" in printed.split()
    assert s3.keys(f"{bucket}/out") == ["song.mid", "song.musicxml", "song.png", "song.wav"]

    folder = _ok(_cli(s3, "generate", "--model", run, "--steps", "16", "--num-outputs", "2",
                      "--out", f"{bucket}/many", tmp=tmp_path))  # fmt: skip
    assert {"output-1.mid", "output-2.mid"} <= set(s3.keys(f"{bucket}/many"))
    assert f"{bucket}/many/output-2.mid" in folder.split()


def test_kill_9_during_a_checkpoint_upload_then_resume(
    s3: S3, melody_dataset: Path, tmp_path: Path
) -> None:
    bucket, data = _bucket_with(s3, melody_dataset)
    run = f"{bucket}/run"
    args = ["train", data, "--model", "gru", *TINY, "--epochs", "200", "--checkpoint-every", "1"]
    env = _machine(s3, tmp_path / "cache")
    process = subprocess.Popen([sys.executable, "-m", "continuo", *args, "--out", run], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    caught = None
    deadline = time.monotonic() + 240
    while caught is None and process.poll() is None and time.monotonic() < deadline:
        keys = s3.keys(f"{run}/last")
        if "CURRENT" not in keys:
            continue  # kill only once a checkpoint is there to lose
        files: dict[str, set[str]] = {}
        for key in keys:
            version, _, name = key.partition("/")
            files.setdefault(version, set()).add(name)
        partial = [v for v, names in files.items() if v != "CURRENT" and names < CHECKPOINT]
        if partial:
            process.send_signal(signal.SIGKILL)
            caught = partial[0]
    process.wait()
    assert caught is not None, "no checkpoint upload was caught in progress"

    current = s3.get(f"{run}/last/CURRENT").decode()
    assert current != caught
    whole = {key.partition("/")[2] for key in s3.keys(f"{run}/last") if key.startswith(current)}
    assert whole == CHECKPOINT  # the pointer names a complete checkpoint
    step = json.loads(s3.get(f"{run}/last/{current}/trainer.json"))["loop"]["step"]

    resumed = _ok(_cli(s3, *args, "--max-steps", str(step + 3), "--out", run, "--resume",
                       tmp=tmp_path / "elsewhere"))  # fmt: skip
    assert "resuming" in resumed
    current = s3.get(f"{run}/last/CURRENT").decode()
    after = json.loads(s3.get(f"{run}/last/{current}/trainer.json"))["loop"]["step"]
    assert after == step + 3
    assert not any(key.startswith(caught) for key in s3.keys(f"{run}/last"))  # cleared


def test_extend_a_recording_from_s3_to_s3(s3: S3, tmp_path: Path, capsys) -> None:
    """In this process (the audio analysis is compiled once per test process)."""
    bucket = s3.new_bucket()
    rate = _recording_in(s3, f"{bucket}/in/loop.wav", tmp_path, bars=4)  # 10 s

    assert main(["extend", f"{bucket}/in/loop.wav", "--duration", "20",
                 "--out", f"{bucket}/out/long.wav"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert printed.startswith(f"{bucket}/out/long.wav: ")
    audio, got_rate = soundfile.read(storage.fetch(f"{bucket}/out/long.wav"))
    assert got_rate == rate and abs(len(audio) / rate - 20) < 0.05


def test_torchrun_two_processes_read_s3_and_write_one_run(
    s3: S3, melody_dataset: Path, tmp_path: Path
) -> None:
    bucket, data = _bucket_with(s3, melody_dataset)
    run = f"{bucket}/ddp"
    env = _machine(s3, tmp_path / "cache")
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "continuo", "train", data, "--model", "gru", *TINY, "--epochs", "2", "--out", run],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(s3.get(f"{run}/metrics.jsonl").decode().splitlines()) == 2  # rank 0 alone
    assert {"best/CURRENT", "last/CURRENT"} <= set(s3.keys(run))
    config = json.loads(s3.get(f"{run}/last/{s3.get(f'{run}/last/CURRENT').decode()}/config.json"))
    assert config["dataset"]["path"] == data


def test_the_app_offers_the_runs_in_a_bucket(s3: S3, melody_run: Path) -> None:
    """``continuo app --models s3://...``: the runs there are copied and offered by the app."""
    from continuo.app import MODELS_ENV
    from continuo.app.models import discover_models
    from continuo.cli import build_parser
    from continuo.cli.app import streamlit_command

    bucket = s3.new_bucket()
    for part in ("best", "last"):
        storage.publish(melody_run / part, f"{bucket}/runs/melody/{part}")
    args = build_parser().parse_args(["app", "--models", f"{bucket}/runs"])
    _, env = streamlit_command(args, 8765)
    models = discover_models(Path(env[MODELS_ENV]))
    assert "melody" in [model.label for model in models]


def test_shards_in_a_bucket_merge_into_one_dataset(
    s3: S3, melody_midi_dir: Path, melody_dataset: Path, tmp_path: Path
) -> None:
    """The README's recipe for a corpus across machines: shards prepared apart, then merged."""
    bucket = s3.new_bucket()
    files = sorted(melody_midi_dir.glob("*.mid"))
    for k, part in enumerate((files[:10], files[10:])):
        for path in part:
            s3.put(f"{bucket}/songs/part-{k}/melodies/{path.name}", path.read_bytes())
    options = ["--codec", "melody", "--valid-fraction", "0.2", "--test-fraction", "0.2"]
    for k in range(2):
        source = f"{bucket}/songs/part-{k}/melodies"
        assert main(["prepare", source, *options, "--out", f"{bucket}/shards/{k}"]) == 0
    shards = [f"{bucket}/shards/{k}" for k in range(2)]
    assert main(["prepare", *shards, *options, "--out", f"{bucket}/datasets/all"]) == 0
    merged = TokenCorpus.open(f"{bucket}/datasets/all")
    assert merged.fingerprint == TokenCorpus.open(melody_dataset).fingerprint


def test_torchrun_across_two_nodes_each_with_its_own_cache(
    s3: S3, melody_dataset: Path, tmp_path: Path
) -> None:
    """The README's multi-node command, with two 'machines' on loopback: two torchrun agents
    (--nnodes=2, a c10d rendezvous), each with a cache of its own, train one run into S3."""
    import socket

    bucket, data = _bucket_with(s3, melody_dataset)
    run = f"{bucket}/nodes"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    agents = []
    for node in range(2):
        env = _machine(s3, tmp_path / f"node{node}")
        agents.append(subprocess.Popen(
            [sys.executable, "-m", "torch.distributed.run", "--nnodes=2", "--nproc_per_node=1",
             f"--node_rank={node}", "--rdzv_backend=c10d", f"--rdzv_endpoint=127.0.0.1:{port}",
             "-m", "continuo", "train", data, "--model", "gru", *TINY, "--epochs", "1",
             "--out", run],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        ))  # fmt: skip
    outputs = [agent.communicate(timeout=300)[0] for agent in agents]
    assert [agent.returncode for agent in agents] == [0, 0], "\n".join(outputs)
    assert len(s3.get(f"{run}/metrics.jsonl").decode().splitlines()) == 1  # rank 0 alone
    for node in range(2):  # each node read the dataset into its own cache
        assert list((tmp_path / f"node{node}" / "remote").glob("*/data/tokens.npy"))


def test_train_audio_and_extend_neural_between_buckets(s3: S3, tmp_path: Path, capsys) -> None:
    """``train-audio`` from a bucket into a bucket (each checkpoint published, resumable), and
    ``extend --method neural`` with that model, from a bucket to a bucket."""
    bucket = s3.new_bucket()
    rate = _recording_in(s3, f"{bucket}/in/tone.wav", tmp_path, bars=2)  # 6 s
    small = ["--steps", "4", "--batch", "4", "--hidden", "16", "--window", "8"]
    argv = ["train-audio", f"{bucket}/in/tone.wav", "--out", f"{bucket}/audio-run", *small]
    assert main([*argv, "--checkpoint-every", "2"]) == 0
    assert "CURRENT" in s3.keys(f"{bucket}/audio-run")
    assert main([*argv[:4], "--steps", "6", "--resume"]) == 0  # pulled, continued, published
    assert f"{bucket}/audio-run: step 6 " in capsys.readouterr().out
    assert main(["extend", f"{bucket}/in/tone.wav", "--method", "neural", "--model",
                 f"{bucket}/audio-run", "--duration", "8", "--out", f"{bucket}/out/more.wav"]) == 0  # fmt: skip
    assert f"{bucket}/out/more.wav: " in capsys.readouterr().out
    audio, got = soundfile.read(storage.fetch(f"{bucket}/out/more.wav"))
    assert got == rate and abs(len(audio) / rate - 8) < 0.05
