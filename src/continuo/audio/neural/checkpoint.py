"""Audio model run directories: self-describing, atomic, resumable, and never unpickled.

A run directory holds

- ``config.json``: format tag and version, feature and model configuration, training settings and
  the sources; everything :func:`load_model` needs besides the weights;
- ``model.safetensors``: weights and buffers (normalisation, residual scale); metadata ``step``;
- ``training.safetensors``: the optimiser's tensors, with its hyper-parameters, the step and the
  loss history as JSON metadata, for ``--resume``.

The files are written and read by :mod:`continuo.checkpoint_io`, the checkpoint module the
symbolic models use too (the optimizer's state is serialised the same way; files written before
it kept every optimizer value as a tensor, and still load). Each file is written atomically
(:func:`continuo.atomic.atomic_file`), so a run killed at any moment leaves the previous complete
file. The training state is written before the weights; on resume the step of
``model.safetensors`` wins.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from continuo.audio.neural.config import ARCHITECTURES, AudioModelConfig
from continuo.audio.neural.features import FeatureConfig
from continuo.audio.neural.models import build_audio_model
from continuo.checkpoint_io import (
    load_tensors,
    optimizer_tensors,
    restore_optimizer,
    save_tensors,
    write_json,
)
from continuo.errors import ReadError

__all__ = [
    "CONFIG_NAME",
    "FORMAT",
    "MODEL_NAME",
    "TRAINING_NAME",
    "LoadedModel",
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


def write_config(run_dir: Path, config: dict[str, Any]) -> None:
    """Write ``config.json`` (format tag and version added) atomically."""
    write_json(Path(run_dir) / CONFIG_NAME, {"format": FORMAT, "version": VERSION, **config})


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
        tensors, opt_meta = optimizer_tensors(optimizer)
        train_meta = {**meta, "optimizer": json.dumps(opt_meta), "history": json.dumps(history)}
        save_tensors(run_dir / TRAINING_NAME, tensors, train_meta)
    save_tensors(run_dir / MODEL_NAME, model.state_dict(), meta)


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
        model_cfg = AudioModelConfig.from_json(config["model"])
        features = FeatureConfig.from_json(config["features"])
    except (KeyError, TypeError) as error:
        raise ReadError(run_dir / CONFIG_NAME, f"incomplete model config ({error})") from None
    model = build_audio_model(model_cfg)
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
        restore_optimizer(optimizer, tensors, opt_meta)
    except (KeyError, ValueError, TypeError, json.JSONDecodeError) as error:
        raise ReadError(path, f"unusable training state ({error})") from None
    return int(meta.get("step", 0)), history


def _load_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and metadata of a safetensors file of an audio run, or :class:`ReadError`."""
    tensors, meta = load_tensors(path)
    if meta.get("format") != FORMAT:
        raise ReadError(path, f"not a continuo audio checkpoint (format is not {FORMAT!r})")
    return tensors, meta
