"""The ``neural`` audio extender: log-mel frames, a frame-level GRU or a chunked encoder-decoder,
and Griffin-Lim phase reconstruction anchored on the input's own phase.

Names load lazily (PEP 562), so ``continuo.audio.neural.config`` can be imported without torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "ARCHITECTURES",
    "AUDIO_MODELS",
    "AudioModelConfig",
    "AudioTrainConfig",
    "FeatureConfig",
    "LoadedModel",
    "ModelConfig",
    "TrainConfig",
    "TrainResult",
    "continue_waveform",
    "extend_neural",
    "load_model",
    "train_audio",
]

_WHERE = {
    "ARCHITECTURES": "config",
    "AUDIO_MODELS": "models",
    "AudioModelConfig": "config",
    "AudioTrainConfig": "config",
    "ModelConfig": "config",
    "TrainConfig": "config",
    "FeatureConfig": "features",
    "LoadedModel": "checkpoint",
    "load_model": "checkpoint",
    "continue_waveform": "generate",
    "extend_neural": "generate",
    "TrainResult": "train",
    "train_audio": "train",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
