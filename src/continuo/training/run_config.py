"""A run's settings as one typed record: the model, the codec, the training and the dataset.

:class:`RunConfig` is what a checkpoint's ``config.json`` holds, and the only code that reads or
writes it: :meth:`RunConfig.from_dict` (and :func:`read_run_config` for a checkpoint folder) is
the one reader, :meth:`RunConfig.to_dict` the one writer. A ``RunConfig`` checks itself when it is
made (each part converts and checks its own values; together, the model's vocabulary must be the
codec's and a bidirectional model needs the window objective), so every layer can trust one.
The rules that make a run's settings from what a user asked -- a new run, ``--resume``,
``--init-from`` -- are :func:`continuo.training.plan.plan_run`. This module does not import torch.

``config.json``::

    {"format": "continuo-checkpoint",
     "model":   {"name": ..., "vocab_size": ..., ...},      a model config (continuo.models)
     "codec":   {"name", "version", "config", "vocab"},     Codec.to_dict()
     "train":   {"objective": ..., "block_size": ..., ...}, TrainConfig
     "dataset": {"fingerprint": ..., "path" or "name": ...},
     "metrics": {...},                                      what the run measured when it was saved
     "loop":    {...}}                                      where the training loop was

Inside ``model``, ``train`` and ``dataset`` every key must be known (settings missing from an
older checkpoint take their defaults); other top-level keys (``loop``, a bundled model's
``evaluation``) are the record of whoever wrote them, and the reader passes over them.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from continuo.codecs import Codec, codec_from_dict
from continuo.errors import ConfigError, ContinuoError, ReadError
from continuo.models.configs import ModelConfig, config_from_dict, is_causal
from continuo.settings import check_known, convert_fields
from continuo.training.config import TrainConfig

__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "FORMAT",
    "DatasetInfo",
    "RunConfig",
    "read_run_config",
    "train_config",
]

#: The ``format`` of a symbolic checkpoint's ``config.json``.
FORMAT = "continuo-checkpoint"

#: Training window, and generation context, of models without a ``block_size`` of their own
#: (the recurrent ones) when ``--block-size`` is not given.
DEFAULT_BLOCK_SIZE = 256

#: The settings of a run: the sections of ``config.json`` that :class:`RunConfig` reads.
SECTIONS = ("model", "codec", "train", "dataset")


@dataclass(frozen=True)
class DatasetInfo:
    """Which dataset a run was trained on: its ``fingerprint`` (a resumed run must match it),
    and where it was (``path``) or, for a bundled model, what it was (``name``)."""

    fingerprint: str = ""
    path: str = ""
    name: str = ""

    def __post_init__(self) -> None:
        convert_fields(self, owner="dataset: ")

    def to_dict(self) -> dict[str, str]:
        """``fingerprint``, and ``path`` and ``name`` when they are set."""
        data = {"fingerprint": self.fingerprint, "path": self.path, "name": self.name}
        return {key: value for key, value in data.items() if value or key == "fingerprint"}


def train_config(values: Mapping[str, Any], *, owner: str = "training") -> TrainConfig:
    """A :class:`TrainConfig` from a mapping of settings (text or typed), refusing unknown names."""
    names = [f.name for f in dataclasses.fields(TrainConfig)]
    check_known(values, names, owner=owner, hint="see continuo train --help")
    return TrainConfig(**values)


@dataclass(frozen=True)
class RunConfig:
    """The settings of one training run; see the module docstring.

    ``train.block_size`` 0 (the default: "the model's own") is resolved when the config is made,
    to the model's ``block_size`` or :data:`DEFAULT_BLOCK_SIZE`, so :attr:`context` is always the
    window the model was trained on.
    """

    model: ModelConfig
    codec: Codec
    train: TrainConfig = field(default_factory=TrainConfig)
    dataset: DatasetInfo = field(default_factory=DatasetInfo)
    metrics: Mapping[str, Any] = field(default_factory=dict)
    """What the run had measured when this checkpoint was written (not a setting; empty in a
    new run)."""

    def __post_init__(self) -> None:
        for name, kind in (
            ("model", ModelConfig),
            ("codec", Codec),
            ("train", TrainConfig),
            ("dataset", DatasetInfo),
        ):
            if not isinstance(getattr(self, name), kind):
                raise ConfigError(f"run config: {name} must be a {kind.__name__}")
        model, train = self.model, self.train
        if model.vocab_size != self.codec.vocab_size:
            raise ConfigError(
                f"model {model.name!r} has {model.vocab_size} tokens, its codec "
                f"{self.codec.name!r} {self.codec.vocab_size}: they must be the same vocabulary"
            )
        if train.objective == "causal" and not is_causal(model.name):
            raise ConfigError(
                f"model {model.name!r} is bidirectional: it sees the future, so it can only be "
                "trained with --objective window"
            )
        if not train.block_size:
            own = getattr(model, "block_size", DEFAULT_BLOCK_SIZE)
            object.__setattr__(self, "train", dataclasses.replace(train, block_size=own))

    # -- what other layers ask ---------------------------------------------------------------
    @property
    def context(self) -> int:
        """Tokens the model was trained to see: the window of training, and of generation."""
        return self.train.block_size

    @property
    def window_objective(self) -> bool:
        """Whether the model was trained on the seeds' window objective (one target per window):
        it then predicts from whole windows, re-run for every new token."""
        return self.train.objective == "window"

    # -- the one reader and the one writer ---------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunConfig:
        """Read the settings of a checkpoint's ``config.json`` (see the module docstring).

        Raises :class:`ConfigError` for a missing section, an unknown key or a bad value.
        """
        if not isinstance(data, Mapping):
            raise ConfigError("a run config is a JSON object")
        missing = [name for name in ("model", "codec") if name not in data]
        if missing:
            raise ConfigError(f"a run config needs {' and '.join(missing)}")
        sections = {name: data.get(name, {}) for name in SECTIONS}
        for name, section in sections.items():
            if not isinstance(section, Mapping):
                raise ConfigError(f"{name} must be a JSON object, not {section!r}")
        try:
            codec = codec_from_dict(dict(sections["codec"]))
        except (TypeError, ValueError) as error:  # options this codec does not have
            raise ConfigError(f"codec: {error}") from None
        dataset = sections["dataset"]
        check_known(dataset, [f.name for f in dataclasses.fields(DatasetInfo)], owner="dataset")
        metrics = data.get("metrics") or {}
        return cls(
            model=config_from_dict(sections["model"]),
            codec=codec,
            train=train_config(sections["train"], owner="train"),
            dataset=DatasetInfo(**dataset),
            metrics=dict(metrics) if isinstance(metrics, Mapping) else {},
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able ``config.json`` of this run (without ``loop``, which the checkpoint adds)."""
        return {
            "format": FORMAT,
            "model": dataclasses.asdict(self.model),
            "codec": self.codec.to_dict(),
            "train": dataclasses.asdict(self.train),
            "dataset": self.dataset.to_dict(),
            "metrics": dict(self.metrics),
        }

    def replace(self, **changes: Any) -> RunConfig:
        """A copy with ``changes`` (checked again)."""
        return dataclasses.replace(self, **changes)


def read_run_config(folder: str | Path) -> RunConfig:
    """The :class:`RunConfig` in ``folder/config.json`` (a checkpoint folder).

    A missing, unreadable or damaged file is a :class:`ReadError` naming it.
    """
    path = Path(folder) / "config.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReadError(path, "no such file (not a checkpoint folder)") from None
    except (OSError, ValueError) as error:
        raise ReadError(path, f"not a readable checkpoint config: {error}") from None
    try:
        return RunConfig.from_dict(data)
    except ContinuoError as error:
        raise ReadError(path, f"damaged or foreign checkpoint: {error}") from None
