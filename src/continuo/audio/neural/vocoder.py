"""From log-mel frames back to a waveform: mel pseudo-inverse, then Griffin-Lim that continues the
seed's own phase.

Magnitudes: ``|X| = sqrt(max(pinv(M) exp(logmel), 0))`` with ``M`` the mel filter bank.
Phases: fast Griffin-Lim (Perraudin, Balazs & Søndergaard, "A fast Griffin-Lim algorithm", WASPAA
2013; momentum 0.99) where the first ``P`` frames are the seed's true complex STFT, held fixed at
every iteration, and the generated frames start from the phase the last seed frame would reach if
each bin were a steady sinusoid at its centre frequency (advance ``2 pi k hop / n_fft`` per frame).
The junction with the original is therefore phase-coherent from the first iteration on.
"""

from __future__ import annotations

import numpy as np
import torch

from continuo.audio.neural.features import FeatureConfig, mel_basis, stft

__all__ = ["griffin_lim", "mel_to_magnitude"]


def mel_to_magnitude(logmel: torch.Tensor, config: FeatureConfig) -> torch.Tensor:
    """Linear STFT magnitudes ``(n_fft // 2 + 1, n_frames)`` from log-mel ``(n_frames, n_mels)``."""
    basis = mel_basis(config)
    inverse = torch.linalg.pinv(basis)  # (n_freq, n_mels)
    power = (inverse @ torch.exp(logmel.T)).clamp_min(0.0)
    return power.sqrt()


def griffin_lim(
    magnitude: torch.Tensor,
    config: FeatureConfig,
    prefix: torch.Tensor | None = None,
    n_iter: int = 32,
    momentum: float = 0.99,
    seed: int = 0,
) -> tuple[np.ndarray, torch.Tensor]:
    """A waveform ``(n_samples,)`` float32 whose STFT magnitude approximates ``magnitude``
    ``(n_freq, n_frames)``, and its final complex spectrum ``(n_freq, P + n_frames)``.

    ``prefix`` ``(n_freq, P)`` complex: known STFT frames that come before ``magnitude``'s frames;
    they are kept exactly, and the returned waveform covers prefix and generated frames together
    (``(P + n_frames - 1) * hop`` samples, frame 0 centred on sample 0).
    """
    n_freq = config.n_fft // 2 + 1
    p = 0 if prefix is None else int(prefix.shape[1])
    total = p + int(magnitude.shape[1])
    window = torch.hann_window(config.n_fft)
    length = (total - 1) * config.hop
    bins = torch.arange(n_freq, dtype=torch.float32)
    advance = 2.0 * np.pi * bins * config.hop / config.n_fft  # (n_freq,)
    if p:
        start_phase = torch.angle(prefix[:, -1])
    else:
        gen = torch.Generator().manual_seed(seed)
        start_phase = 2.0 * np.pi * torch.rand(n_freq, generator=gen)
    steps = torch.arange(1, magnitude.shape[1] + 1, dtype=torch.float32)
    phase = start_phase[:, None] + advance[:, None] * steps[None, :]
    gen_spec = torch.polar(magnitude.contiguous(), phase)
    spec = torch.cat([prefix, gen_spec], dim=1) if p else gen_spec
    mag_all = spec.abs()
    previous = spec
    for _ in range(n_iter):
        wave = torch.istft(spec, config.n_fft, config.hop, window=window, length=length)
        rebuilt = stft(wave, config)[:, :total]
        accelerated = rebuilt + momentum * (rebuilt - previous)
        previous = rebuilt
        spec = accelerated * (mag_all / accelerated.abs().clamp_min(1e-12))
        if p:
            spec[:, :p] = prefix
    wave = torch.istft(spec, config.n_fft, config.hop, window=window, length=length)
    return wave.numpy().astype(np.float32), spec
