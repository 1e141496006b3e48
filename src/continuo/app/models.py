"""Which models the app offers, and loading them once per process.

Models come from two places: the ones bundled inside the package (``continuo/pretrained/*``) and
the run folders in the folder given to ``continuo app --models DIR`` (the folder itself when it
is a run, and each folder directly inside it). A folder is classified by reading its
``config.json`` only (no weights, no torch): a symbolic checkpoint, read as a
:class:`~continuo.training.run_config.RunConfig`, is a *polyphonic* model when its codec says
it is (:attr:`Codec.polyphonic <continuo.codecs.Codec.polyphonic>`), else a *melody* model, and
an audio run (``"format": "continuo.audio-model"``) an *audio* model. Anything else is left out.

Users pick from this list by label; no path a user types is ever opened.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import streamlit as st

__all__ = [
    "AUDIO",
    "MELODY",
    "POLYPHONIC",
    "ModelInfo",
    "checkpoint_config",
    "discover_models",
    "load_audio_model",
    "load_generator",
]

MELODY = "melody"
POLYPHONIC = "polyphonic"
AUDIO = "audio"
_MAX_CONFIG_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class ModelInfo:
    """A model the app can use: its ``label`` in the page, its folder, what it makes (``kind``)
    and a one-line ``description``."""

    label: str
    path: str
    kind: str
    description: str
    bundled: bool = False


def checkpoint_config(folder: Path) -> dict[str, Any] | None:
    """The ``config.json`` of the checkpoint in ``folder`` (itself, ``best/`` or ``last/``), or
    None when there is none or it is not a JSON object."""
    for candidate in (folder, folder / "best", folder / "last"):
        config_path = candidate / "config.json"
        if not ((candidate / "model.safetensors").is_file() and config_path.is_file()):
            continue
        try:
            if config_path.stat().st_size > _MAX_CONFIG_BYTES:
                return None
            config = json.loads(config_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return config if isinstance(config, dict) else None
    return None


def _describe(folder: Path, label: str, bundled: bool) -> ModelInfo | None:
    config = checkpoint_config(folder)
    if config is None:
        return None
    if config.get("format") == "continuo.audio-model":
        arch = (config.get("model") or {}).get("arch", "?")
        rate = (config.get("features") or {}).get("sample_rate", "?")
        return ModelInfo(label, str(folder), AUDIO, f"audio model · {arch} · {rate} Hz", bundled)
    from continuo.errors import ContinuoError
    from continuo.training.run_config import RunConfig

    try:
        run = RunConfig.from_dict(config)
    except ContinuoError:
        return None
    kind = POLYPHONIC if run.codec.polyphonic else MELODY
    parts = [run.model.name, f"{run.codec.name} codec"]
    if "epoch" in run.metrics:
        parts.append(f"epoch {run.metrics['epoch']}")
    if isinstance(run.metrics.get("valid_bits_per_token"), float):
        parts.append(f"{run.metrics['valid_bits_per_token']:.2f} bits/token")
    return ModelInfo(label, str(folder), kind, " · ".join(parts), bundled)


def discover_models(models_dir: Path | None = None) -> list[ModelInfo]:
    """Every usable model: the bundled ones first, then those under ``models_dir``, by name.

    Labels are unique: a run folder whose name is taken gets its parent's name in front.
    """
    found: list[ModelInfo] = []
    pretrained = Path(str(resources.files("continuo") / "pretrained"))
    if pretrained.is_dir():
        for folder in sorted(p for p in pretrained.iterdir() if p.is_dir()):
            info = _describe(folder, f"{folder.name} (bundled)", bundled=True)
            if info is not None:
                found.append(info)
    if models_dir is not None and models_dir.is_dir():
        candidates = [models_dir]
        if checkpoint_config(models_dir) is None:  # a folder of runs, not a run itself
            with contextlib.suppress(OSError):
                candidates = sorted(
                    p for p in models_dir.iterdir() if p.is_dir() and not p.name.startswith(".")
                )
        labels = {info.label for info in found}
        for folder in candidates:
            label = folder.name or str(folder)
            if label in labels:
                label = f"{folder.parent.name}/{folder.name}"
            info = _describe(folder, label, bundled=False)
            if info is not None and info.label not in labels:
                found.append(info)
                labels.add(info.label)
    return found


@st.cache_resource(show_spinner=False, max_entries=8)
def load_generator(path: str) -> Any:
    """The :class:`~continuo.generation.Generator` of a symbolic model folder, loaded once per
    process and shared by every session (generation does not change it)."""
    from continuo.generation import Generator

    return Generator.from_pretrained(Path(path), device="cpu")


@st.cache_resource(show_spinner=False, max_entries=4)
def load_audio_model(path: str) -> Any:
    """The neural audio model of a run folder (``continuo.audio.neural.LoadedModel``), loaded
    once per process."""
    from continuo.audio.neural import load_model

    return load_model(path)
