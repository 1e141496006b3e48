"""Self-describing checkpoints: safetensors weights + JSON config; written atomically; no pickle.

A checkpoint is a folder::

    model.safetensors     the model's weights
    config.json           the run's settings (RunConfig.to_dict(), see continuo.training.run_config)
                          and the loop position ("loop")
    trainer.safetensors   optimizer tensors and RNG state (only in ``last``, for resuming)
    trainer.json          the optimizer's other state and the loop position (only in ``last``)

A run folder keeps ``last`` (resume from here) and ``best`` (lowest validation loss). Each is
written to a temporary folder first and swapped in with renames, so a run killed at any moment
leaves a complete checkpoint behind; :func:`find_checkpoint` also recovers the one moment between
the two renames.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from continuo.codecs import Codec
from continuo.errors import ReadError
from continuo.models.registry import build_model
from continuo.pretrained import PRETRAINED, resolve_model
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
    with ``optimizer``, also its state and the RNG states, for resuming."""
    folder = Path(folder)
    tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}"
    old = folder.parent / f".{folder.name}.old-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    weights = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(weights, tmp / "model.safetensors")
    _write_json(tmp / "config.json", {**run.to_dict(), "loop": loop or {}})
    if optimizer is not None:
        tensors, rest = _split_optimizer_state(optimizer.state_dict())
        tensors["rng.torch"] = torch.get_rng_state()
        if torch.cuda.is_available():
            for i, state in enumerate(torch.cuda.get_rng_state_all()):
                tensors[f"rng.cuda.{i}"] = state
        save_file(tensors, tmp / "trainer.safetensors")
        _write_json(tmp / "trainer.json", {"optimizer": rest, "loop": loop or {}})
    for path in tmp.iterdir():
        _fsync(path)
    if folder.exists():
        os.replace(folder, old)
    os.replace(tmp, folder)
    shutil.rmtree(old, ignore_errors=True)


def find_checkpoint(path: str | Path, prefer: str = "best", *, fallback: bool = True) -> Path:
    """The checkpoint folder for ``path``: a bundled model's name (``folk``, ``piano``), the
    folder itself, or ``path/prefer`` (then, with ``fallback``, the other) in a run.

    Raises :class:`ReadError` when there is none.
    """
    path = resolve_model(path)
    if (path / "model.safetensors").is_file():
        return path
    order = [prefer, "last" if prefer == "best" else "best"][: 2 if fallback else 1]
    for name in order:
        if (path / name / "model.safetensors").is_file():
            return path / name
        # killed between the two renames of save_checkpoint: the previous one is still whole
        for orphan in sorted(path.glob(f".{name}.old-*")):
            if (orphan / "model.safetensors").is_file():
                os.replace(orphan, path / name)
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
    tensors = load_file(folder / "trainer.safetensors")
    rest = json.loads((folder / "trainer.json").read_text())
    optimizer.load_state_dict(_join_optimizer_state(tensors, rest["optimizer"], device))
    torch.set_rng_state(tensors["rng.torch"])
    cuda_states = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
    if cuda_states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda_states)
    return rest["loop"]


def _split_optimizer_state(state: dict) -> tuple[dict[str, torch.Tensor], dict]:
    """Optimizer state dict -> (flat tensors for safetensors, everything else for JSON)."""
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for param_id, param_state in state["state"].items():
        for key, value in param_state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"state.{param_id}.{key}"] = value.detach().contiguous().cpu()
            else:
                scalars.setdefault(str(param_id), {})[key] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _join_optimizer_state(tensors: dict[str, torch.Tensor], rest: dict, device) -> dict:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith("state."):
            _, param_id, key = name.split(".", 2)
            # AdamW keeps "step" on the CPU unless it is capturable/fused
            state.setdefault(int(param_id), {})[key] = value if key == "step" else value.to(device)
    for param_id, values in rest["scalars"].items():
        state.setdefault(int(param_id), {}).update(values)
    return {"state": state, "param_groups": rest["param_groups"]}


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, default=str))


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())
