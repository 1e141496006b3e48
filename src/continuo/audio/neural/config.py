"""Configuration of the neural audio models and their training: plain dataclasses, no torch, so
that the command line can show its defaults without importing torch.

:class:`AudioModelConfig` and :class:`AudioTrainConfig` are named apart from the symbolic
models' :class:`continuo.models.ModelConfig` and :class:`continuo.training.config.TrainConfig`;
``ModelConfig`` and ``TrainConfig`` here are the old names, kept for existing callers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "ARCHITECTURES",
    "AudioModelConfig",
    "AudioTrainConfig",
    "ModelConfig",
    "TrainConfig",
]

#: The names of :data:`continuo.audio.neural.models.AUDIO_MODELS` (kept here without torch).
ARCHITECTURES = ("frame_rnn", "seq2seq")


@dataclass(frozen=True)
class AudioModelConfig:
    """Architecture and sizes; saved in ``config.json`` under ``model``. ``context`` and
    ``horizon`` are in super-frames (seq2seq only)."""

    arch: str = "seq2seq"
    n_mels: int = 80
    stack: int = 4
    hidden: int = 256
    layers: int = 1
    dropout: float = 0.0
    context: int = 64
    horizon: int = 22

    @property
    def width(self) -> int:
        """Features per super-frame: ``n_mels * stack``."""
        return self.n_mels * self.stack

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AudioModelConfig:
        fields = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in fields})


@dataclass(frozen=True)
class AudioTrainConfig:
    """``steps`` in total (a resumed run goes on to this many); ``window`` super-frames per
    frame_rnn example; ``input_noise`` Gaussian noise (normalised units) on the inputs, so the
    model learns to recover from its own errors; ``exclude_tail`` seconds held out at the end of
    every source (for measuring continuations against the real thing)."""

    steps: int = 1200
    batch: int = 16
    window: int = 48
    lr: float = 2e-3
    input_noise: float = 0.1
    seed: int = 0
    checkpoint_every: int = 100
    exclude_tail: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


#: The old names of :class:`AudioModelConfig` and :class:`AudioTrainConfig`.
ModelConfig = AudioModelConfig
TrainConfig = AudioTrainConfig
