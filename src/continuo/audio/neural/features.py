"""The neural extender's representation: log-mel frames, and back to a waveform.

Waveforms are resampled to :attr:`FeatureConfig.sample_rate` (22,050 Hz, or 44,100/48,000 Hz for
sources above 24 kHz), cut into frames with a Hann-windowed STFT (``n_fft`` 1024, ``hop`` 256 at
22,050 Hz: 86 frames a second) and described by ``n_mels`` (80) log-mel energies
``log(mel(|X|^2) + 1e-5)``. The way back is in :mod:`.vocoder`.
See docs/decisions/0014-audio-neural.md for why.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import torch

__all__ = ["FeatureConfig", "features_for_rate", "log_mel", "mel_basis", "stft"]

LOG_FLOOR = 1e-5


@dataclass(frozen=True)
class FeatureConfig:
    """STFT and mel parameters; saved with every model (``config.json``, key ``features``)."""

    sample_rate: int = 22_050
    n_fft: int = 1024
    hop: int = 256
    n_mels: int = 80

    @property
    def frames_per_second(self) -> float:
        return self.sample_rate / self.hop

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeatureConfig:
        return cls(**{k: data[k] for k in ("sample_rate", "n_fft", "hop", "n_mels")})


def features_for_rate(sample_rate: int, n_mels: int = 80) -> FeatureConfig:
    """Features for sources at ``sample_rate``: the model runs at 22,050 Hz for sources up to
    24 kHz, else at 44,100 or 48,000 Hz with ``n_fft`` 2048 and ``hop`` 512, so the frame rate
    stays about 86 a second and a 44.1 kHz recording keeps its top octave."""
    if sample_rate <= 24_000:
        return FeatureConfig(22_050, 1024, 256, n_mels)
    rate = 44_100 if sample_rate <= 44_100 else 48_000
    return FeatureConfig(rate, 2048, 512, n_mels)


@lru_cache(maxsize=8)
def _mel_basis(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels).astype(np.float32)


def mel_basis(config: FeatureConfig) -> torch.Tensor:
    """The Slaney mel filter bank ``(n_mels, n_fft // 2 + 1)``."""
    return torch.from_numpy(_mel_basis(config.sample_rate, config.n_fft, config.n_mels))


def stft(waveform: torch.Tensor, config: FeatureConfig) -> torch.Tensor:
    """Complex STFT ``(n_fft // 2 + 1, n_frames)`` of ``waveform`` ``(n,)``, centred frames
    (frame ``t`` centred on sample ``t * hop``), Hann window."""
    window = torch.hann_window(config.n_fft)
    return torch.stft(
        waveform, config.n_fft, config.hop, window=window, center=True, return_complex=True
    )


def log_mel(waveform: np.ndarray | torch.Tensor, config: FeatureConfig) -> torch.Tensor:
    """Log-mel frames ``(n_frames, n_mels)`` float32 of a mono ``waveform`` ``(n,)`` at
    ``config.sample_rate``; ``n_frames = n // hop + 1``."""
    x = torch.as_tensor(np.asarray(waveform, dtype=np.float32))
    if x.shape[0] < config.n_fft:
        x = torch.nn.functional.pad(x, (0, config.n_fft - x.shape[0]))
    power = stft(x, config).abs() ** 2
    mel = mel_basis(config) @ power
    return torch.log(mel + LOG_FLOOR).T.contiguous()
