"""continuo.atomic: files and folders are replaced whole, keep the umask's modes, and a process
killed between the two renames of a folder swap is recovered; checkpoint_io's shared pieces."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from continuo.atomic import atomic_dir, atomic_file, recover_dir, write_bytes, write_text
from continuo.errors import ContinuoError


@pytest.fixture
def umask_027() -> Iterator[None]:
    before = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(before)


def test_atomic_file_replaces_whole_and_keeps_the_suffix(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.mid"
    with atomic_file(target) as tmp:
        assert tmp.parent == target.parent and tmp.suffix == ".mid" and tmp.exists()
        assert not target.exists()
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in target.parent.iterdir()] == ["out.mid"]


def test_atomic_file_keeps_the_old_file_on_failure(tmp_path: Path) -> None:
    target = write_text(tmp_path / "keep.txt", "old")
    with pytest.raises(RuntimeError, match="boom"), atomic_file(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_file_and_folder_modes_follow_the_umask(tmp_path: Path, umask_027: None) -> None:
    path = write_bytes(tmp_path / "a.bin", b"x")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    with atomic_dir(tmp_path / "run") as tmp:
        (tmp / "weights").write_bytes(b"w")
    assert stat.S_IMODE((tmp_path / "run").stat().st_mode) == 0o750
    assert stat.S_IMODE((tmp_path / "run" / "weights").stat().st_mode) == 0o640


def test_unwritable_target_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ContinuoError, match="cannot write") as caught:
        write_text(blocker / "x.txt", "x")
    assert "\n" not in str(caught.value)
    with pytest.raises(ContinuoError, match="cannot write"), atomic_dir(blocker / "d"):
        pass


def test_atomic_dir_swaps_and_cleans_up(tmp_path: Path) -> None:
    folder = tmp_path / "last"
    for text in ("one", "two"):
        with atomic_dir(folder) as tmp:
            (tmp / "f.txt").write_text(text)
    assert (folder / "f.txt").read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["last"]
    with pytest.raises(RuntimeError), atomic_dir(folder) as tmp:
        (tmp / "f.txt").write_text("three")
        raise RuntimeError("killed")
    assert (folder / "f.txt").read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["last"]


def test_a_kill_between_the_renames_is_recovered(tmp_path: Path) -> None:
    folder = tmp_path / "best"
    with atomic_dir(folder) as tmp:
        (tmp / "model.safetensors").write_text("old")
    script = textwrap.dedent(
        f"""
        import os
        from continuo import atomic

        real = os.replace
        def replace_then_die(src, dst):
            real(src, dst)
            os._exit(9)  # killed right after the first rename (folder -> .best.old-PID)
        atomic.os.replace = replace_then_die
        with atomic.atomic_dir({str(folder)!r}) as tmp:
            (tmp / "model.safetensors").write_text("new")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], check=False)
    assert done.returncode == 9
    assert not folder.exists()
    assert [p.name for p in tmp_path.glob(".best.old-*")]
    assert not recover_dir(folder, lambda old: (old / "nothing").exists())
    assert recover_dir(folder, lambda old: (old / "model.safetensors").is_file())
    assert (folder / "model.safetensors").read_text() == "old"
    assert recover_dir(folder)  # nothing to do now


def test_checkpoint_io_round_trips_optimizer_and_schedule(tmp_path: Path) -> None:
    import torch

    from continuo.checkpoint_io import (
        load_training_state,
        read_json,
        read_weights,
        warmup_cosine,
        write_checkpoint,
    )

    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.randn(4, 3)).sum().backward()
    optimizer.step()
    other = torch.optim.AdamW(torch.nn.Linear(3, 2).parameters(), lr=1.0)
    expected = torch.get_rng_state()
    write_checkpoint(
        tmp_path / "last", model, {"model": {"x": 1}}, optimizer=optimizer, loop={"step": 1}
    )
    assert read_json(tmp_path / "last" / "config.json") == {"model": {"x": 1}, "loop": {"step": 1}}
    weights = read_weights(tmp_path / "last")
    assert torch.equal(weights["weight"], model.weight.detach())
    torch.rand(5)
    assert load_training_state(tmp_path / "last", other, torch.device("cpu")) == {"step": 1}
    assert torch.equal(torch.get_rng_state(), expected)
    assert other.param_groups[0]["lr"] == pytest.approx(1e-3)
    ours, theirs = optimizer.state_dict()["state"][0], other.state_dict()["state"][0]
    assert torch.equal(ours["exp_avg"], theirs["exp_avg"])

    assert warmup_cosine(0, 100, 1.0, 0.1, warmup=10) == pytest.approx(0.1)
    assert warmup_cosine(10, 100, 1.0, 0.1, warmup=10) == pytest.approx(1.0)
    assert warmup_cosine(100, 100, 1.0, 0.1, warmup=10) == pytest.approx(0.1)
    assert warmup_cosine(10, 100, 1.0, 0.1, warmup=10, done=1.0) == pytest.approx(0.1)


def test_checkpoints_and_datasets_are_recovered_after_a_kill_between_renames(
    melody_run: Path, melody_dataset: Path, tmp_path: Path
) -> None:
    """The readers of swapped folders (find_checkpoint, TokenCorpus.open) put the old one back."""
    import shutil

    from continuo.data.dataset import TokenCorpus
    from continuo.training.checkpoint import find_checkpoint, load_checkpoint

    run = tmp_path / "run"
    shutil.copytree(melody_run, run)
    os.replace(run / "last", run / ".last.old-4242")  # as a kill after the first rename leaves it
    assert find_checkpoint(run, prefer="last", fallback=False) == run / "last"
    assert not list(run.glob(".last.old-*"))
    load_checkpoint(run, prefer="last", fallback=False)

    data = tmp_path / "data"
    shutil.copytree(melody_dataset, tmp_path / ".data.old-4242")
    corpus = TokenCorpus.open(data)
    assert corpus.root == data and data.is_dir() and len(corpus.tokens) > 0
