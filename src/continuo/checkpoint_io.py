"""Checkpoint files for every model, symbolic and audio: safetensors, JSON, never a pickle.

The pieces every training loop shares, so that checkpoints, resuming and the learning-rate
schedule behave the same for :mod:`continuo.training` (symbolic models) and
:mod:`continuo.audio.neural` (audio models):

- :func:`write_checkpoint` writes a checkpoint folder in one step (:func:`continuo.atomic.atomic_dir`)::

      model.safetensors     the weights (and buffers)
      config.json           what rebuilds the model (the caller's dict)
      trainer.safetensors   optimizer tensors and RNG state (with an optimizer, for resuming)
      trainer.json          the optimizer's other state and the loop position (likewise)

  :func:`read_json`, :func:`read_weights` and :func:`load_training_state` read it back.
- :func:`save_tensors` / :func:`load_tensors` write and read one safetensors file atomically, with
  string metadata (the audio models' flat run folders use these).
- :func:`optimizer_tensors` / :func:`restore_optimizer` turn an optimizer's state into flat tensors
  plus JSON and back; :func:`rng_tensors` / :func:`restore_rng` do the same for the RNG states.
- :func:`warmup_cosine` is the learning-rate schedule: linear warm-up, then a cosine down to a floor.

Every damaged or foreign file is a one-line :class:`~continuo.errors.ReadError`.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from continuo.atomic import atomic_dir, atomic_file, write_text
from continuo.errors import ReadError

__all__ = [
    "CONFIG_FILE",
    "TRAINER_FILE",
    "TRAINER_JSON",
    "WEIGHTS_FILE",
    "load_tensors",
    "load_training_state",
    "optimizer_tensors",
    "read_json",
    "read_weights",
    "restore_optimizer",
    "restore_rng",
    "rng_tensors",
    "save_tensors",
    "warmup_cosine",
    "weights_of",
    "write_checkpoint",
    "write_json",
]

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
TRAINER_FILE = "trainer.safetensors"
TRAINER_JSON = "trainer.json"


# -- whole checkpoint folders ------------------------------------------------------------------
def weights_of(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """``model``'s state dict as contiguous CPU tensors, ready for safetensors."""
    return {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}


def write_checkpoint(
    folder: str | os.PathLike[str],
    model: torch.nn.Module,
    config: Mapping[str, Any],
    *,
    optimizer: torch.optim.Optimizer | None = None,
    loop: Mapping[str, Any] | None = None,
) -> None:
    """Write the checkpoint folder ``folder`` in one step: weights, ``config`` (with ``loop``
    under ``"loop"``), and with ``optimizer`` its state and the RNG states, for resuming."""
    with atomic_dir(folder) as tmp:
        save_file(weights_of(model), str(tmp / WEIGHTS_FILE))
        _dump_json(tmp / CONFIG_FILE, {**config, "loop": dict(loop or {})})
        if optimizer is not None:
            tensors, rest = optimizer_tensors(optimizer)
            tensors.update(rng_tensors())
            save_file(tensors, str(tmp / TRAINER_FILE))
            _dump_json(tmp / TRAINER_JSON, {"optimizer": rest, "loop": dict(loop or {})})


def read_weights(
    path: str | os.PathLike[str], device: str | torch.device = "cpu"
) -> dict[str, torch.Tensor]:
    """The tensors of the safetensors file ``path`` (or ``path/model.safetensors``)."""
    path = Path(path)
    if path.is_dir():
        path = path / WEIGHTS_FILE
    try:
        return load_file(str(path), device=str(device))
    except FileNotFoundError:
        raise ReadError(path, "missing: the checkpoint has no weights") from None
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise ReadError(path, f"damaged or foreign weights ({error})") from None


def load_training_state(
    folder: str | os.PathLike[str], optimizer: torch.optim.Optimizer, device: torch.device
) -> dict[str, Any]:
    """Restore the optimizer and RNG state :func:`write_checkpoint` saved; returns the loop."""
    folder = Path(folder)
    tensors = read_weights(folder / TRAINER_FILE)
    rest = read_json(folder / TRAINER_JSON)
    restore_optimizer(optimizer, tensors, rest["optimizer"], device)
    restore_rng(tensors)
    return rest["loop"]


# -- single files ------------------------------------------------------------------------------
def write_json(path: str | os.PathLike[str], data: Any) -> None:
    """Write ``data`` as indented JSON to ``path`` atomically."""
    write_text(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def _dump_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")


def read_json(path: str | os.PathLike[str]) -> Any:
    """The JSON in ``path``; :class:`ReadError` when it is missing or unreadable."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReadError(path, "missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ReadError(path, f"unreadable JSON ({error})") from None


def save_tensors(
    path: str | os.PathLike[str],
    tensors: Mapping[str, torch.Tensor],
    metadata: Mapping[str, str] | None = None,
) -> None:
    """Write ``tensors`` (with string ``metadata``) to the safetensors file ``path`` atomically."""
    data = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    with atomic_file(path) as tmp:
        save_file(data, str(tmp), metadata=dict(metadata) if metadata else None)


def load_tensors(path: str | os.PathLike[str]) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and metadata of the safetensors file ``path``; :class:`ReadError` otherwise."""
    path = Path(path)
    if not path.exists():
        raise ReadError(path, "missing: the model folder has no weights")
    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = dict(handle.metadata() or {})
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise ReadError(path, f"corrupt or truncated weights ({error})") from None
    return tensors, meta


# -- optimizer and RNG state -------------------------------------------------------------------
def optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """The optimizer's state as flat tensors ``state.<param>.<name>`` (for safetensors) and
    the rest as JSON: ``{"param_groups": [...], "scalars": {param: {name: value}}}``."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for param_id, param_state in state["state"].items():
        for key, value in param_state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"state.{param_id}.{key}"] = value.detach().contiguous().cpu().clone()
            else:
                scalars.setdefault(str(param_id), {})[key] = value
    groups = [
        {k: list(v) if isinstance(v, tuple) else v for k, v in group.items() if _is_json(v)}
        for group in state["param_groups"]
    ]
    return tensors, {"param_groups": groups, "scalars": scalars}


def restore_optimizer(
    optimizer: torch.optim.Optimizer,
    tensors: Mapping[str, torch.Tensor],
    rest: Mapping[str, Any],
    device: str | torch.device = "cpu",
) -> None:
    """Load into ``optimizer`` what :func:`optimizer_tensors` made (tensors not named
    ``state.*``, such as RNG states, are ignored; ``rest`` may lack ``scalars``)."""
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith("state."):
            _, param_id, key = name.split(".", 2)
            # AdamW keeps "step" on the CPU unless it is capturable/fused
            state.setdefault(int(param_id), {})[key] = value if key == "step" else value.to(device)
    for param_id, values in rest.get("scalars", {}).items():
        state.setdefault(int(param_id), {}).update(values)
    optimizer.load_state_dict({"state": state, "param_groups": rest["param_groups"]})


def rng_tensors() -> dict[str, torch.Tensor]:
    """torch's CPU RNG state (``rng.torch``) and each CUDA device's (``rng.cuda.<i>``)."""
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = state
    return tensors


def restore_rng(tensors: Mapping[str, torch.Tensor]) -> None:
    """Set the RNG states that :func:`rng_tensors` saved (those present)."""
    if "rng.torch" in tensors:
        torch.set_rng_state(tensors["rng.torch"])
    cuda_states = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
    if cuda_states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda_states)


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


# -- schedule ----------------------------------------------------------------------------------
def warmup_cosine(
    step: int, total: int, lr: float, min_lr: float, warmup: int = 0, *, done: float = 0.0
) -> float:
    """The learning rate at ``step`` of ``total``: linear warm-up over ``warmup`` steps to
    ``lr``, then a cosine from ``lr`` down to ``min_lr`` at ``total`` (and ``min_lr`` after).
    ``done``: a fraction of the decay already reached by another clock (a time budget)."""
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    progress = max(progress, min(1.0, done))
    return min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * progress))
