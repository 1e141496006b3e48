"""Self-describing checkpoints: safetensors weights + JSON config; written atomically; no pickle.

A checkpoint is a folder::

    model.safetensors     the model's weights
    config.json           the run's settings (RunConfig.to_dict(), see continuo.training.run_config)
                          and the loop position ("loop")
    trainer.safetensors   optimizer tensors and RNG state (only in ``last``, for resuming)
    trainer.json          the optimizer's other state and the loop position (only in ``last``)

The files are written and read by :mod:`continuo.checkpoint_io`, which the audio models share.
A run folder keeps ``last`` (resume from here) and ``best`` (lowest validation loss). Each is
written to a temporary folder first and swapped in with renames
(:func:`continuo.atomic.atomic_dir`), so a run killed at any moment
leaves a complete checkpoint behind; :func:`find_checkpoint` also recovers the one moment between
the two renames.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from continuo.atomic import recover_dir
from continuo.checkpoint_io import load_training_state, write_checkpoint
from continuo.codecs import Codec
from continuo.errors import ReadError
from continuo.models.registry import build_model
from continuo.pretrained import PRETRAINED, resolve_model
from continuo.storage import fetch, is_url
from continuo.training.run_config import RunConfig, read_run_config

__all__ = [
    "find_checkpoint",
    "load_checkpoint",
    "load_codec",
    "load_run_config",
    "load_trainer_state",
    "save_checkpoint",
]


def save_checkpoint(
    folder: Path,
    model: torch.nn.Module,
    run: RunConfig,
    *,
    loop: dict[str, Any] | None = None,
    optimizer: torch.optim.Optimizer | None = None,
) -> None:
    """Write ``folder`` atomically: the weights, ``run``'s settings and the ``loop`` position;
    with ``optimizer``, also its state and the RNG states, for resuming
    (:func:`continuo.checkpoint_io.write_checkpoint`)."""
    write_checkpoint(folder, model, run.to_dict(), optimizer=optimizer, loop=loop)


def find_checkpoint(path: str | Path, prefer: str = "best", *, fallback: bool = True) -> Path:
    """The checkpoint folder for ``path``: a bundled model's name (``folk``, ``piano``), the
    folder itself, or ``path/prefer`` (then, with ``fallback``, the other) in a run. A URL is
    copied into the cache first (:func:`continuo.storage.fetch`).

    Raises :class:`ReadError` when there is none.
    """
    path = fetch(path) if is_url(path) else resolve_model(path)
    if (path / "model.safetensors").is_file():
        return path
    order = [prefer, "last" if prefer == "best" else "best"][: 2 if fallback else 1]
    for name in order:
        # killed between the two renames of save_checkpoint: the previous one is still whole
        recover_dir(path / name, lambda old: (old / "model.safetensors").is_file())
        if (path / name / "model.safetensors").is_file():
            return path / name
    if not path.exists():
        bundled = ", ".join(PRETRAINED)
        raise ReadError(path, f"no such run folder or checkpoint (bundled models: {bundled})")
    if not fallback:
        other = "last" if prefer == "best" else "best"
        hint = f"; it has {other}/" if (path / other / "model.safetensors").is_file() else ""
        raise ReadError(path, f"no {prefer}/ checkpoint in this run folder{hint}")
    raise ReadError(path, "no checkpoint here (expected model.safetensors, or best/ or last/)")


def load_run_config(path: str | Path, prefer: str = "best", *, fallback: bool = True) -> RunConfig:
    """The settings of the checkpoint :func:`find_checkpoint` finds for ``path``, read from its
    ``config.json`` alone (no weights are read)."""
    return read_run_config(find_checkpoint(path, prefer, fallback=fallback))


def load_codec(path: str | Path) -> Codec:
    """The codec a checkpoint (or run folder) was trained with, read from its config alone."""
    return load_run_config(path).codec


def load_checkpoint(
    path: str | Path,
    *,
    prefer: str = "best",
    fallback: bool = True,
    device: str | torch.device = "cpu",
) -> tuple[torch.nn.Module, Codec, RunConfig]:
    """Rebuild the model (in eval mode) and codec from a checkpoint alone; never unpickles.

    In a run folder: ``prefer`` (``best`` or ``last``), else with ``fallback`` the other one.
    Returns the model, its codec and the run's settings.
    """
    folder = find_checkpoint(path, prefer, fallback=fallback)
    run = read_run_config(folder)
    try:
        model = build_model(run.model)
        model.load_state_dict(load_file(folder / "model.safetensors", device=str(device)))
    except (OSError, ValueError, KeyError, RuntimeError, SafetensorError) as error:
        raise ReadError(folder, f"damaged or foreign checkpoint: {error}") from None
    model.to(device).eval()
    return model, run.codec, run


def load_trainer_state(
    folder: Path, optimizer: torch.optim.Optimizer, device: torch.device
) -> dict[str, Any]:
    """Restore the optimizer and RNG state saved with a ``last`` checkpoint; returns the loop."""
    return load_training_state(folder, optimizer, device)
