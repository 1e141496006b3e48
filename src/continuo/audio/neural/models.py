"""The two neural continuation models, both over normalised log-mel frames grouped ``stack`` at a
time into "super-frames" (``stack`` 4: 46 ms, 21.5 a second), so that the recurrence runs at a rate
a 2-core CPU can afford.

- :class:`FrameRNN` (``"frame_rnn"``): the seeds' sample-level RNN moved to frames: a GRU reads
  super-frame ``t`` and predicts super-frame ``t + 1``; generation feeds its own output back.
- :class:`ChunkSeq2Seq` (``"seq2seq"``): the seeds' "20 s in, 10 s out" encoder-decoder, scaled
  down: a GRU encodes the last ``context`` super-frames, a GRU decoder unrolls ``horizon``
  super-frames from learned position embeddings; chunks are chained to reach any length.

Both predict the *change* from the last input super-frame (a residual), trained with an L1 loss,
which is the likelihood of a Laplace distribution; ``residual_scale`` (a buffer set after training)
is that distribution's per-bin scale ``b`` and generation may sample from it (``temperature``).
Inputs and outputs are normalised per mel bin with the training set's ``mean`` and ``std`` buffers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch
from torch import nn

from continuo.audio.neural.config import ARCHITECTURES, AudioModelConfig

__all__ = [
    "ARCHITECTURES",
    "AUDIO_MODELS",
    "AudioModelConfig",
    "ChunkSeq2Seq",
    "FrameRNN",
    "build_audio_model",
    "build_model",
]


class _Base(nn.Module, ABC):
    """Normalisation buffers shared by both models."""

    def __init__(self, config: AudioModelConfig) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("mean", torch.zeros(config.n_mels))
        self.register_buffer("std", torch.ones(config.n_mels))
        self.register_buffer("residual_scale", torch.full((config.width,), 0.5))
        # per-bin range of the training data (normalised): generation never leaves it
        self.register_buffer("low", torch.full((config.n_mels,), -6.0))
        self.register_buffer("high", torch.full((config.n_mels,), 6.0))

    #: Leading predictions of each training example the loss leaves out (the state warms up).
    warmup = 0

    @staticmethod
    @abstractmethod
    def example_length(config: AudioModelConfig, window: int) -> int:
        """Super-frames in one training example (``window``: the training setting)."""

    @abstractmethod
    def errors(self, windows: torch.Tensor, noise: float | None = None) -> torch.Tensor:
        """Absolute errors ``(B, n, width)`` of the predictions for training examples
        ``windows`` ``(B, example_length, width)``; ``noise``: Gaussian noise on the inputs (no
        random draw at all when None)."""

    @staticmethod
    def _noisy(x: torch.Tensor, noise: float | None) -> torch.Tensor:
        return x if noise is None else x + noise * torch.randn_like(x)

    def normalise(self, frames: torch.Tensor) -> torch.Tensor:
        """``(..., n_frames, n_mels)`` log-mel -> ``(..., n_frames // stack, width)`` normalised."""
        s = self.config.stack
        x = (frames - self.mean) / self.std
        t = (x.shape[-2] // s) * s
        x = x[..., :t, :]
        return x.reshape(*x.shape[:-2], t // s, self.config.width)

    def denormalise(self, supers: torch.Tensor) -> torch.Tensor:
        """``(..., n, width)`` normalised super-frames -> ``(..., n * stack, n_mels)`` log-mel."""
        x = supers.reshape(*supers.shape[:-2], supers.shape[-2] * self.config.stack, -1)
        return x * self.std + self.mean

    def sample(self, prediction: torch.Tensor, temperature: float, gen: torch.Generator | None):
        """Draw from Laplace(prediction, temperature * residual_scale) (the mean at temperature
        0), clipped to the per-bin range of the training data."""
        if temperature > 0:
            u = torch.rand(prediction.shape, generator=gen) - 0.5
            noise = -torch.sign(u) * torch.log1p(-2.0 * u.abs().clamp_max(0.4999))
            prediction = prediction + temperature * self.residual_scale * noise
        low = self.low.repeat(self.config.stack)
        high = self.high.repeat(self.config.stack)
        return torch.maximum(torch.minimum(prediction, high), low)


class FrameRNN(_Base):
    """GRU over super-frames: ``forward(x (B, T, width))`` -> next super-frames ``(B, T, width)``."""

    def __init__(self, config: AudioModelConfig) -> None:
        super().__init__(config)
        self.inp = nn.Linear(config.width, config.hidden)
        self.rnn = nn.GRU(
            config.hidden,
            config.hidden,
            config.layers,
            batch_first=True,
            dropout=config.dropout if config.layers > 1 else 0.0,
        )
        self.out = nn.Linear(config.hidden, config.width)

    warmup = 4

    @staticmethod
    def example_length(config: AudioModelConfig, window: int) -> int:
        """``window`` inputs and the super-frame after them."""
        return window + 1

    def errors(self, windows: torch.Tensor, noise: float | None = None) -> torch.Tensor:
        """Each super-frame predicted from those before it."""
        pred, _ = self(self._noisy(windows[:, :-1], noise))
        return (pred - windows[:, 1:]).abs()

    def forward(
        self, x: torch.Tensor, state: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        h, state = self.rnn(torch.tanh(self.inp(x)), state)
        return x + self.out(h), state

    @torch.inference_mode()
    def generate(
        self,
        context: torch.Tensor,
        n: int,
        temperature: float = 0.0,
        gen: torch.Generator | None = None,
        callback: Any = None,
    ) -> torch.Tensor:
        """``n`` super-frames ``(n, width)`` after ``context`` ``(T, width)`` (normalised)."""
        pred, state = self(context[None])
        nxt = self.sample(pred[:, -1:], temperature, gen)
        out = []
        for k in range(n):
            out.append(nxt[0, 0])
            if callback is not None and k % 64 == 63:
                callback(64)
            pred, state = self(nxt, state)
            nxt = self.sample(pred, temperature, gen)
        return torch.stack(out) if out else context[:0]


class ChunkSeq2Seq(_Base):
    """Encoder-decoder: ``forward(x (B, context, width))`` -> ``(B, horizon, width)``."""

    def __init__(self, config: AudioModelConfig) -> None:
        super().__init__(config)
        self.inp = nn.Linear(config.width, config.hidden)
        self.encoder = nn.GRU(config.hidden, config.hidden, config.layers, batch_first=True)
        self.positions = nn.Parameter(0.02 * torch.randn(config.horizon, config.hidden))
        self.decoder = nn.GRU(config.hidden, config.hidden, config.layers, batch_first=True)
        self.out = nn.Linear(config.hidden, config.width)

    @staticmethod
    def example_length(config: AudioModelConfig, window: int) -> int:
        """``context`` inputs and the ``horizon`` super-frames after them."""
        return config.context + config.horizon

    def errors(self, windows: torch.Tensor, noise: float | None = None) -> torch.Tensor:
        """The ``horizon`` super-frames predicted from the ``context`` before them."""
        c, h = self.config.context, self.config.horizon
        return (self(self._noisy(windows[:, :c], noise)) - windows[:, c : c + h]).abs()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, state = self.encoder(torch.tanh(self.inp(x)))
        last = torch.tanh(self.inp(x[:, -1:]))  # (B, 1, hidden)
        dec_in = self.positions[None] + last
        h, _ = self.decoder(dec_in, state)
        return x[:, -1:] + self.out(h)

    @torch.inference_mode()
    def generate(
        self,
        context: torch.Tensor,
        n: int,
        temperature: float = 0.0,
        gen: torch.Generator | None = None,
        callback: Any = None,
    ) -> torch.Tensor:
        """``n`` super-frames ``(n, width)`` after ``context`` ``(T, width)``, chunk by chunk, each
        chunk predicted from the last ``config.context`` super-frames of seed and output."""
        frames = context
        made = 0
        while made < n:
            window = frames[-self.config.context :]
            chunk = self.sample(self(window[None])[0], temperature, gen)
            frames = torch.cat([frames, chunk], dim=0)
            made += chunk.shape[0]
            if callback is not None:
                callback(chunk.shape[0])
        return frames[context.shape[0] : context.shape[0] + n]


#: The audio models by name (``AudioModelConfig.arch``), as :data:`continuo.models.MODELS` holds
#: the symbolic ones; :data:`~continuo.audio.neural.config.ARCHITECTURES` lists the same names.
AUDIO_MODELS: dict[str, type[_Base]] = {"frame_rnn": FrameRNN, "seq2seq": ChunkSeq2Seq}


def build_audio_model(config: AudioModelConfig) -> _Base:
    """The model :data:`AUDIO_MODELS` names by ``config.arch``."""
    try:
        cls = AUDIO_MODELS[config.arch]
    except KeyError:
        raise ValueError(
            f"unknown audio model architecture {config.arch!r} (one of {ARCHITECTURES})"
        ) from None
    return cls(config)


#: The old name of :func:`build_audio_model`.
build_model = build_audio_model
