"""The model zoo: next-token models over codec token ids, in a registry by name.

>>> config = model_config("transformer", "small", vocab_size=131, dropout=0.0)
>>> model = build_model(config)
>>> logits, loss = model(idx, targets)            # idx, targets: LongTensor[B, T]
>>> saved = dataclasses.asdict(config)            # JSON-serialisable, carries name and vocab_size
>>> model = build_model(config_from_dict(saved))  # rebuilds the same architecture alone

Every model has the interface of :class:`LanguageModel` (``forward``, ``init_state``, ``step``,
``prefill``, ``causal``, ``config``, ``num_parameters``); see :mod:`continuo.models.base`.
Models do no file I/O.

The settings (:mod:`continuo.models.configs`: configs, presets, ``model_config``) load without
torch; the modules and the registry (:mod:`continuo.models.registry`: ``MODELS``,
``build_model``) load with it, the first time one of their names is used (PEP 562).
"""

from __future__ import annotations

import importlib
from typing import Any

from continuo.models.configs import (
    CONFIGS,
    MODEL_NAMES,
    PRESETS,
    AttentionLSTMConfig,
    ModelConfig,
    RecurrentConfig,
    TransformerConfig,
    config_from_dict,
    is_causal,
    model_config,
)

__all__ = [
    "CONFIGS",
    "IGNORE_INDEX",
    "MODELS",
    "MODEL_NAMES",
    "PRESETS",
    "AttentionLSTMConfig",
    "LanguageModel",
    "ModelConfig",
    "NotIncrementalError",
    "RecurrentConfig",
    "TransformerConfig",
    "build_model",
    "config_from_dict",
    "is_causal",
    "model_class",
    "model_config",
]

#: Names that need torch, and the module that holds each.
_LAZY = {
    "MODELS": "continuo.models.registry",
    "build_model": "continuo.models.registry",
    "model_class": "continuo.models.registry",
    "IGNORE_INDEX": "continuo.models.base",
    "LanguageModel": "continuo.models.base",
    "NotIncrementalError": "continuo.models.base",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
