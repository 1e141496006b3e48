"""The model registry: names to ``nn.Module`` classes, and building a model from its config.

Importing this module imports torch; the settings alone (:mod:`continuo.models.configs`) do not.
"""

from __future__ import annotations

from continuo.errors import ConfigError
from continuo.models.attention_lstm import AttentionLSTMLM
from continuo.models.base import LanguageModel
from continuo.models.bilstm import BiLSTMLM
from continuo.models.configs import ModelConfig, check_model_name
from continuo.models.recurrent import GRULM, LSTMLM, RNNLM
from continuo.models.transformer import TransformerLM

__all__ = ["MODELS", "build_model", "model_class"]

#: Model classes by registry name (the names of :data:`continuo.models.configs.CONFIGS`).
MODELS: dict[str, type[LanguageModel]] = {
    "rnn": RNNLM,
    "gru": GRULM,
    "lstm": LSTMLM,
    "bilstm": BiLSTMLM,
    "attention_lstm": AttentionLSTMLM,
    "transformer": TransformerLM,
}


def model_class(name: str) -> type[LanguageModel]:
    """The model class registered as ``name``, or a ConfigError listing the names."""
    check_model_name(name)
    return MODELS[name]


def build_model(config: ModelConfig) -> LanguageModel:
    """A freshly initialised model for ``config`` (weights random; load a state dict after)."""
    model = model_class(config.name)
    if not isinstance(config, model.config_class):
        raise ConfigError(
            f"model {config.name!r} needs a {model.config_class.__name__}, "
            f"got a {type(config).__name__}"
        )
    return model(config)
