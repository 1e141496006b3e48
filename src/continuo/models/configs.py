"""Model settings: the config dataclasses, the size presets, and building configs by name.

This module does not import torch, so that a run's settings (and ``continuo train --help``, and
the web app's list of models) can be read without loading it; the modules themselves are in
:mod:`continuo.models.registry`. Each config converts its fields to their types when it is made
(text from a command line too, with :func:`continuo.settings.convert_fields`) and refuses
impossible values with a one-line :class:`ConfigError`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from continuo.errors import ConfigError
from continuo.settings import check_known, convert_fields, flag

__all__ = [
    "CONFIGS",
    "DEFAULT_MODEL",
    "DEFAULT_PRESET",
    "MODEL_NAMES",
    "PRESETS",
    "AttentionLSTMConfig",
    "ModelConfig",
    "RecurrentConfig",
    "TransformerConfig",
    "config_from_dict",
    "is_causal",
    "model_config",
    "setting_names",
]


@dataclass
class ModelConfig:
    """Fields every model config has. Subclasses add their own, all with defaults.

    ``name`` is the registry name (``MODELS``), so that a config saved as
    ``dataclasses.asdict(config)`` rebuilds its model alone.
    """

    name: str
    vocab_size: int

    def __post_init__(self) -> None:
        convert_fields(self, owner=f"model {self.name!r}: ")
        if self.vocab_size < 1:
            raise ConfigError(f"model {self.name!r}: vocab_size must be positive")

    def _positive(self, *names: str) -> None:
        for name in names:
            if getattr(self, name) < 1:
                raise ConfigError(f"model {self.name!r}: {name} must be positive")

    def _dropout(self) -> None:
        if not 0.0 <= getattr(self, "dropout", 0.0) < 1.0:
            raise ConfigError(f"model {self.name!r}: dropout must be in [0, 1)")

    def _heads(self, width_name: str, heads: int) -> None:
        width = getattr(self, width_name)
        if width % heads or (width // heads) % 2:
            raise ConfigError(
                f"model {self.name!r}: {width_name} ({width}) / n_head ({heads}) "
                "must be a whole, even head size"
            )


@dataclass
class RecurrentConfig(ModelConfig):
    """Config of ``rnn``, ``gru``, ``lstm`` and ``bilstm``."""

    n_embd: int = 128  # embedding size
    hidden_size: int = 256  # hidden units per layer (per direction for bilstm)
    n_layer: int = 2  # stacked layers
    dropout: float = 0.1  # on the embedding, between layers and before the head
    tie_weights: bool = False  # head reuses the embedding matrix (sizes must allow it)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._positive("n_embd", "hidden_size", "n_layer")
        self._dropout()


@dataclass
class AttentionLSTMConfig(ModelConfig):
    """Config of ``attention_lstm``."""

    n_embd: int = 128  # embedding size
    hidden_size: int = 256  # LSTM units per layer, also the attention width
    n_layer: int = 2  # stacked LSTM layers
    n_head: int = 4  # attention heads; hidden_size // n_head must be even (RoPE)
    block_size: int = 256  # attention window: outputs each position sees, itself included
    dropout: float = 0.1
    tie_weights: bool = False  # head reuses the embedding matrix (needs hidden_size == n_embd)
    rope_base: float = 10000.0

    def __post_init__(self) -> None:
        super().__post_init__()
        self._positive("n_embd", "hidden_size", "n_layer", "n_head", "block_size")
        self._heads("hidden_size", self.n_head)
        self._dropout()
        if self.tie_weights and self.hidden_size != self.n_embd:
            raise ConfigError(
                f"model {self.name!r}: tie_weights needs hidden_size == n_embd "
                f"(got {self.hidden_size} and {self.n_embd})"
            )


@dataclass
class TransformerConfig(ModelConfig):
    """Config of ``transformer``."""

    n_embd: int = 128  # model width
    n_layer: int = 6  # blocks
    n_head: int = 4  # attention heads; n_embd // n_head must be even (RoPE)
    block_size: int = 256  # attention window: positions each token sees, itself included
    dropout: float = 0.1  # embedding and residual branches (not attention weights)
    tie_weights: bool = True  # head reuses the embedding matrix
    mlp_ratio: int = 4  # MLP hidden width = mlp_ratio * n_embd
    rope_base: float = 10000.0  # RoPE frequency base

    def __post_init__(self) -> None:
        super().__post_init__()
        self._positive("n_embd", "n_layer", "n_head", "block_size", "mlp_ratio")
        self._heads("n_embd", self.n_head)
        self._dropout()


#: The config class of each model, by registry name (the names of ``MODELS``, in order).
CONFIGS: dict[str, type[ModelConfig]] = {
    "rnn": RecurrentConfig,
    "gru": RecurrentConfig,
    "lstm": RecurrentConfig,
    "bilstm": RecurrentConfig,
    "attention_lstm": AttentionLSTMConfig,
    "transformer": TransformerConfig,
}

#: The registry names.
MODEL_NAMES = tuple(CONFIGS)

#: The default architecture: the folk-melody seed's best model, and the fastest to train on a CPU.
DEFAULT_MODEL = "attention_lstm"
#: The default size preset.
DEFAULT_PRESET = "small"

#: Models whose logits at position t see the tokens after t: trained with the window objective
#: only, and re-run over the window for every generated token.
_BIDIRECTIONAL = frozenset({"bilstm"})

#: Size presets by model name, then preset name (``debug``, ``small``, ``base``).
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "rnn": {
        "debug": dict(n_embd=16, hidden_size=32, n_layer=2, dropout=0.0),
        "small": dict(n_embd=128, hidden_size=512, n_layer=2, dropout=0.1),
        "base": dict(n_embd=256, hidden_size=1024, n_layer=3, dropout=0.2),
    },
    "gru": {
        "debug": dict(n_embd=16, hidden_size=32, n_layer=2, dropout=0.0),
        "small": dict(n_embd=128, hidden_size=320, n_layer=2, dropout=0.1),
        "base": dict(n_embd=256, hidden_size=640, n_layer=3, dropout=0.2),
    },
    "lstm": {
        "debug": dict(n_embd=16, hidden_size=32, n_layer=2, dropout=0.0),
        "small": dict(n_embd=128, hidden_size=256, n_layer=2, dropout=0.1),
        "base": dict(n_embd=256, hidden_size=512, n_layer=3, dropout=0.2),
    },
    "bilstm": {
        "debug": dict(n_embd=16, hidden_size=32, n_layer=1, dropout=0.0),
        "small": dict(n_embd=128, hidden_size=192, n_layer=2, dropout=0.1),
        "base": dict(n_embd=256, hidden_size=512, n_layer=3, dropout=0.2),
    },
    "attention_lstm": {
        "debug": dict(n_embd=16, hidden_size=32, n_layer=1, n_head=2, block_size=32, dropout=0.0),
        "small": dict(n_embd=128, hidden_size=256, n_layer=2, n_head=4, block_size=256),
        "base": dict(n_embd=256, hidden_size=640, n_layer=3, n_head=8, block_size=512),
    },
    "transformer": {
        "debug": dict(n_embd=32, n_layer=2, n_head=2, block_size=32, dropout=0.0),
        "small": dict(n_embd=128, n_layer=6, n_head=4, block_size=256, dropout=0.1),
        "base": dict(n_embd=384, n_layer=8, n_head=6, block_size=512, dropout=0.1),
    },
}


def check_model_name(name: str) -> None:
    """A :class:`ConfigError` listing the names unless ``name`` is a registered model."""
    if not isinstance(name, str) or name not in CONFIGS:
        raise ConfigError(f"unknown model {name!r} (available: {', '.join(CONFIGS)})")


def is_causal(name: str) -> bool:
    """Whether model ``name`` sees only the past (all but ``bilstm``)."""
    check_model_name(name)
    return name not in _BIDIRECTIONAL


def model_config(
    name: str, preset: str = "small", *, vocab_size: int, **overrides: Any
) -> ModelConfig:
    """The config of model ``name`` at size ``preset``, with ``overrides`` on top.

    Override values may be text (as from ``--key value`` on a command line); they are converted
    to the field's type. Unknown keys and bad values raise :class:`ConfigError`.
    """
    check_model_name(name)
    if preset not in PRESETS[name]:
        raise ConfigError(
            f"model {name!r} has no preset {preset!r} (available: {', '.join(PRESETS[name])})"
        )
    values = {**PRESETS[name][preset], **overrides, "name": name, "vocab_size": vocab_size}
    return _make_config(values)


def config_from_dict(data: Mapping[str, Any]) -> ModelConfig:
    """Rebuild a config saved as ``dataclasses.asdict(config)`` (e.g. read back from JSON)."""
    if "name" not in data:
        raise ConfigError("model config has no 'name'")
    return _make_config(dict(data))


def setting_names(name: str) -> tuple[str, ...]:
    """The settings of model ``name`` a user may give (its config's fields but ``name`` and
    ``vocab_size``, which come from the registry and the codec)."""
    check_model_name(name)
    fields = dataclasses.fields(CONFIGS[name])
    return tuple(f.name for f in fields if f.name not in ("name", "vocab_size"))


def _make_config(values: dict[str, Any]) -> ModelConfig:
    """``CONFIGS[name](**values)``, with unknown keys refused and values converted."""
    name = values["name"]
    check_model_name(name)
    config_class = CONFIGS[name]
    known = [f.name for f in dataclasses.fields(config_class)]
    settings = ", ".join(flag(setting) for setting in setting_names(name))
    check_known(values, known, owner=f"model {name!r}", hint=f"its settings: {settings}")
    try:
        return config_class(**values)
    except TypeError as error:  # a required field missing
        raise ConfigError(f"model {name!r}: {error}") from None
