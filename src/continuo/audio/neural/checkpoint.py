"""Audio model run directories: self-describing, atomic, resumable, and never unpickled.

A run directory holds

- ``config.json``: format tag and version, feature and model configuration, training settings and
  the sources; everything :func:`load_model` needs besides the weights;
- ``model.safetensors``: weights and buffers (normalisation, residual scale); metadata ``step``;
- ``training.safetensors``: the optimiser's tensors, with its hyper-parameters, the step and the
  loss history as JSON metadata, for ``--resume``.

Each file is written to a temporary name in the same folder and moved over the old one with
``os.replace``, so a run killed at any moment leaves the previous complete file. The training state
is written before the weights; on resume the step of ``model.safetensors`` wins.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from continuo.audio.neural.config import ARCHITECTURES, ModelConfig
from continuo.audio.neural.features import FeatureConfig
from continuo.audio.neural.models import build_model
from continuo.errors import ReadError

__all__ = [
    "CONFIG_NAME",
    "FORMAT",
    "MODEL_NAME",
    "TRAINING_NAME",
    "LoadedModel",
    "atomic_write",
    "load_model",
    "load_training_state",
    "read_config",
    "save_checkpoint",
    "write_config",
]

FORMAT = "continuo.audio-model"
VERSION = 1
CONFIG_NAME = "config.json"
MODEL_NAME = "model.safetensors"
TRAINING_NAME = "training.safetensors"


def atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """Call ``write(tmp_name)`` for a temporary file beside ``path``, then rename it to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, _file_mode())  # mkstemp (and safetensors) make 0600: give the umask mode
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_config(run_dir: Path, config: dict[str, Any]) -> None:
    """Write ``config.json`` (format tag and version added) atomically."""
    data = {"format": FORMAT, "version": VERSION, **config}
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"

    def write(tmp: str) -> None:
        Path(tmp).write_text(text, encoding="utf-8")

    atomic_write(run_dir / CONFIG_NAME, write)


def read_config(run_dir: Path) -> dict[str, Any]:
    """``config.json`` of ``run_dir``, checked for the format tag; :class:`ReadError` otherwise."""
    path = Path(run_dir) / CONFIG_NAME
    if not Path(run_dir).is_dir():
        raise ReadError(run_dir, "no such model folder (train one with `continuo train-audio`)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReadError(path, "missing: not an audio model folder") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ReadError(path, f"unreadable model config ({error})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ReadError(path, f"not a continuo audio model (format is not {FORMAT!r})")
    if int(data.get("version", 0)) > VERSION:
        raise ReadError(path, f"made by a newer continuo (version {data.get('version')})")
    if data.get("model", {}).get("arch") not in ARCHITECTURES:
        raise ReadError(path, f"unknown architecture {data.get('model', {}).get('arch')!r}")
    return data


def save_checkpoint(
    run_dir: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None,
    step: int,
    history: list[float],
) -> None:
    """Write ``training.safetensors`` (when ``optimizer``), then ``model.safetensors``."""
    run_dir = Path(run_dir)
    meta = {"format": FORMAT, "step": str(step)}
    if optimizer is not None:
        tensors, opt_meta = _flatten_optimizer(optimizer)
        train_meta = {**meta, "optimizer": json.dumps(opt_meta), "history": json.dumps(history)}
        atomic_write(
            run_dir / TRAINING_NAME, lambda tmp: save_file(tensors, tmp, metadata=train_meta)
        )
    weights = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    atomic_write(run_dir / MODEL_NAME, lambda tmp: save_file(weights, tmp, metadata=meta))


class LoadedModel:
    """A model ready to generate: ``model`` (eval mode), ``features``, ``config`` (the JSON) and
    the training ``step`` its weights come from."""

    def __init__(self, model: torch.nn.Module, features: FeatureConfig, config: dict, step: int):
        self.model = model
        self.features = features
        self.config = config
        self.step = step


def load_model(run_dir: str | os.PathLike[str]) -> LoadedModel:
    """Load ``run_dir`` (``config.json`` + ``model.safetensors``); :class:`ReadError` on anything
    missing, corrupt or mismatched. Uses safetensors and JSON only: nothing is unpickled."""
    run_dir = Path(run_dir)
    config = read_config(run_dir)
    try:
        model_cfg = ModelConfig.from_json(config["model"])
        features = FeatureConfig.from_json(config["features"])
    except (KeyError, TypeError) as error:
        raise ReadError(run_dir / CONFIG_NAME, f"incomplete model config ({error})") from None
    model = build_model(model_cfg)
    weights, meta = _load_safetensors(run_dir / MODEL_NAME)
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as error:
        first = str(error).strip().splitlines()[0]
        raise ReadError(run_dir / MODEL_NAME, f"weights do not fit the config ({first})") from None
    model.eval()
    return LoadedModel(model, features, config, int(meta.get("step", 0)))


def load_training_state(
    run_dir: Path, optimizer: torch.optim.Optimizer
) -> tuple[int, list[float]] | None:
    """Restore ``optimizer`` from ``training.safetensors``; ``(step, history)`` or None if absent."""
    path = Path(run_dir) / TRAINING_NAME
    if not path.exists():
        return None
    tensors, meta = _load_safetensors(path)
    try:
        opt_meta = json.loads(meta["optimizer"])
        history = [float(v) for v in json.loads(meta.get("history", "[]"))]
        state: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in tensors.items():
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
        optimizer.load_state_dict({"state": state, "param_groups": opt_meta["param_groups"]})
    except (KeyError, ValueError, TypeError, json.JSONDecodeError) as error:
        raise ReadError(path, f"unusable training state ({error})") from None
    return int(meta.get("step", 0)), history


def _flatten_optimizer(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """The optimiser's state as ``{"state.<param>.<name>": tensor}`` plus JSON-able groups."""
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    for index, entry in sd["state"].items():
        for name, value in entry.items():
            t = value if torch.is_tensor(value) else torch.tensor(value)
            tensors[f"state.{index}.{name}"] = t.detach().contiguous().clone()
    groups = []
    for group in sd["param_groups"]:
        clean = {}
        for k, v in group.items():
            if isinstance(v, tuple):
                v = list(v)
            with contextlib.suppress(TypeError):
                json.dumps(v)
                clean[k] = v
        groups.append(clean)
    return tensors, {"param_groups": groups}


def _load_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and metadata of a safetensors file, or :class:`ReadError`."""
    if not path.exists():
        raise ReadError(path, "missing: the model folder has no weights")
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            meta = dict(handle.metadata() or {})
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise ReadError(path, f"corrupt or truncated weights ({error})") from None
    if meta.get("format") != FORMAT:
        raise ReadError(path, f"not a continuo audio checkpoint (format is not {FORMAT!r})")
    return tensors, meta


def _file_mode() -> int:
    """The mode a new file gets from ``open()``: 0o666 less the process umask."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask
