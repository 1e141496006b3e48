"""The model zoo: next-token models over codec token ids, in a registry by name.

>>> config = model_config("transformer", "small", vocab_size=131, dropout=0.0)
>>> model = build_model(config)
>>> logits, loss = model(idx, targets)            # idx, targets: LongTensor[B, T]
>>> saved = dataclasses.asdict(config)            # JSON-serialisable, carries name and vocab_size
>>> model = build_model(config_from_dict(saved))  # rebuilds the same architecture alone

Every model has the interface of :class:`LanguageModel` (``forward``, ``init_state``, ``step``,
``prefill``, ``causal``, ``config``, ``num_parameters``); see :mod:`continuo.models.base`.
Models do no file I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from continuo.errors import ConfigError
from continuo.models.attention_lstm import AttentionLSTMConfig, AttentionLSTMLM
from continuo.models.base import IGNORE_INDEX, LanguageModel, ModelConfig, NotIncrementalError
from continuo.models.bilstm import BiLSTMLM
from continuo.models.recurrent import GRULM, LSTMLM, RNNLM, RecurrentConfig
from continuo.models.transformer import TransformerConfig, TransformerLM

__all__ = [
    "IGNORE_INDEX",
    "MODELS",
    "PRESETS",
    "AttentionLSTMConfig",
    "LanguageModel",
    "ModelConfig",
    "NotIncrementalError",
    "RecurrentConfig",
    "TransformerConfig",
    "build_model",
    "config_from_dict",
    "model_config",
]

#: Model classes by registry name.
MODELS: dict[str, type[LanguageModel]] = {
    "rnn": RNNLM,
    "gru": GRULM,
    "lstm": LSTMLM,
    "bilstm": BiLSTMLM,
    "attention_lstm": AttentionLSTMLM,
    "transformer": TransformerLM,
}

#: Size presets by model name, then preset name (``debug``, ``small``, ``base``).
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    name: model.presets for name, model in MODELS.items()
}


def model_class(name: str) -> type[LanguageModel]:
    """The model class registered as ``name``, or a ConfigError listing the names."""
    try:
        return MODELS[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r} (available: {', '.join(MODELS)})") from None


def model_config(
    name: str, preset: str = "small", *, vocab_size: int, **overrides: Any
) -> ModelConfig:
    """The config of model ``name`` at size ``preset``, with ``overrides`` on top.

    Override values may be strings (as from ``--key value`` on a command line); they are
    converted to the field's type. Unknown keys and bad values raise :class:`ConfigError`.
    """
    model = model_class(name)
    if preset not in model.presets:
        raise ConfigError(
            f"model {name!r} has no preset {preset!r} (available: {', '.join(model.presets)})"
        )
    values = {**model.presets[preset], **overrides, "name": name, "vocab_size": vocab_size}
    return _make_config(model, values)


def config_from_dict(data: Mapping[str, Any]) -> ModelConfig:
    """Rebuild a config saved as ``dataclasses.asdict(config)`` (e.g. read back from JSON)."""
    if "name" not in data:
        raise ConfigError("model config has no 'name'")
    return _make_config(model_class(data["name"]), dict(data))


def build_model(config: ModelConfig) -> LanguageModel:
    """A freshly initialised model for ``config`` (weights random; load a state dict after)."""
    model = model_class(config.name)
    if not isinstance(config, model.config_class):
        raise ConfigError(
            f"model {config.name!r} needs a {model.config_class.__name__}, "
            f"got a {type(config).__name__}"
        )
    return model(config)


def _make_config(model: type[LanguageModel], values: dict[str, Any]) -> ModelConfig:
    """``model.config_class(**values)``, with unknown keys refused and strings converted."""
    config_class = model.config_class
    fields = {field.name: field for field in dataclasses.fields(config_class)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(
            f"model {values.get('name')!r} has no option {', '.join(map(repr, unknown))} "
            f"(options: {', '.join(fields)})"
        )
    converted = {key: _convert(values, key, fields[key].type) for key in values}
    try:
        return config_class(**converted)
    except TypeError as error:  # a required field missing
        raise ConfigError(f"model {values.get('name')!r}: {error}") from None


def _convert(values: dict[str, Any], key: str, type_name: Any) -> Any:
    """``values[key]`` as the field's type (``int``, ``float``, ``bool`` or ``str``)."""
    value = values[key]
    type_name = getattr(type_name, "__name__", type_name)  # a string under postponed annotations
    bad = ConfigError(f"model {values.get('name')!r}: {key}={value!r} is not a valid {type_name}")
    if type_name == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no"):
            return value.lower() in ("true", "1", "yes")
        raise bad
    if type_name == "int":
        if isinstance(value, bool):
            raise bad
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise bad from None
        if not number.is_integer():
            raise bad
        return int(number)
    if type_name == "float":
        if isinstance(value, bool):
            raise bad
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad from None
    if type_name == "str":
        if not isinstance(value, str):
            raise bad
        return value
    return value
