"""The ``neural`` extender: the input's sound, then a model's continuation of it, then a fade.

Silence at the start and end of the input is trimmed first
(:func:`~continuo.audio.extension.sound_bounds`, 40 dB below the loudest 20 ms): a
recording that ends in silence would otherwise be continued with more silence (and the training
sources are trimmed the same way, so a model does not learn that music is followed by silence). The output is the trimmed
input followed by the continuation; how much was trimmed is in the result's ``details``.

seed -> mono at the model's rate -> log-mel -> model (frame RNN or chained encoder-decoder) ->
log-mel of the continuation -> magnitudes -> Griffin-Lim seeded with the input's own last STFT
frames, block by block -> resampled to the input's rate -> crossfaded onto the input (one window,
46 ms) -> faded out at the end.
The continuation is mono (copied to every channel of the input).
"""

from __future__ import annotations

import os
import time

import numpy as np
import torch
from tqdm.auto import tqdm

from continuo.audio.extension import (
    MIN_INPUT_S,
    Extension,
    Splice,
    check_duration,
    check_input,
    sound_bounds,
)
from continuo.audio.neural.checkpoint import LoadedModel, load_model
from continuo.audio.neural.features import log_mel, stft
from continuo.audio.neural.runtime import DEFAULT_THREADS, torch_threads
from continuo.audio.neural.vocoder import griffin_lim, mel_to_magnitude
from continuo.audio.splice import correlation, crossfade_gains, fade_out
from continuo.errors import ConfigError
from continuo.io.audio import Audio, resample, to_mono

__all__ = ["continue_waveform", "extend_neural", "limit_energy"]

CONTEXT_S = 20.0  # seconds of the input the model reads before continuing
PREFIX_FRAMES = 16  # true STFT frames that anchor the phase of each Griffin-Lim block
BLOCK_FRAMES = 1024  # generated frames per Griffin-Lim block (about 12 s)


@torch.inference_mode()
def continue_waveform(
    loaded: LoadedModel,
    seed: np.ndarray,
    n_samples: int,
    *,
    temperature: float = 0.3,
    gl_iters: int = 32,
    seed_rng: int = 0,
    progress: bool | None = None,
) -> tuple[np.ndarray, int]:
    """Continue ``seed`` ``(n,)`` (mono, at the model's rate) by at least ``n_samples`` samples.

    Returns ``(waveform (m,), start)``: ``waveform[k]`` is the continuation's sample at seed
    position ``start + k``; ``start <= len(seed) - n_fft`` so the first ``n_fft`` samples
    overlap the end of the seed (for the crossfade) and ``m >= n_samples + len(seed) - start``.
    """
    feats = loaded.features
    model = loaded.model
    hop, stack = feats.hop, model.config.stack
    t_frames = seed.shape[0] // hop
    y = torch.from_numpy(np.ascontiguousarray(seed[: t_frames * hop], dtype=np.float32))
    frames = log_mel(y, feats)[: t_frames - 1]  # frames 0 .. T-2 lie fully inside the seed
    n_ctx = min(int(CONTEXT_S * feats.frames_per_second), frames.shape[0]) // stack * stack
    context = model.normalise(frames[frames.shape[0] - n_ctx :])
    needed = int(np.ceil((n_samples + feats.n_fft + 2 * hop) / hop)) + PREFIX_FRAMES
    n_super = int(np.ceil(needed / stack))
    gen = torch.Generator().manual_seed(seed_rng)
    with tqdm(
        total=n_super,
        desc="continue",
        unit="frame",
        disable=None if progress is None else not progress,
        leave=False,
    ) as bar:
        supers = model.generate(context, n_super, temperature, gen, callback=bar.update)
    logmel = limit_energy(model.denormalise(supers), frames[frames.shape[0] - n_ctx :])
    magnitude = mel_to_magnitude(logmel, feats)
    spec = stft(y, feats)
    first = t_frames - 1  # global index of the first generated frame
    prefix = spec[:, max(first - PREFIX_FRAMES, 0) : first]
    origin = (first - prefix.shape[1]) * hop  # seed position of the result's sample 0
    total = (first + magnitude.shape[1] - 1) * hop - origin
    acc = np.zeros(total, dtype=np.float64)
    weight = np.zeros(total, dtype=np.float64)
    q = PREFIX_FRAMES // 4
    starts = list(range(0, magnitude.shape[1], BLOCK_FRAMES))
    disable = None if progress is None else not progress
    for k, b in enumerate(tqdm(starts, desc="vocode", unit="block", leave=False, disable=disable)):
        block = magnitude[:, b : b + BLOCK_FRAMES]
        p = prefix.shape[1]
        wave, final = griffin_lim(block, feats, prefix, n_iter=gl_iters, seed=seed_rng + k)
        at = (first + b - p) * hop - origin  # where this block's sample 0 goes
        w = np.ones(wave.shape[0])
        ramp = np.linspace(0.0, 1.0, 2 * q * hop)
        if k > 0:  # rise over the middle of the prefix, where the last block falls
            w[: q * hop] = 0.0
            w[q * hop : 3 * q * hop] = ramp
        if k + 1 < len(starts):  # fall over the middle of the next block's prefix
            lo = (block.shape[1] + p - PREFIX_FRAMES + q) * hop
            fall = w[lo : lo + 2 * q * hop]
            fall *= ramp[::-1][: fall.shape[0]]
            w[lo + 2 * q * hop :] = 0.0
        n = min(wave.shape[0], total - at)
        acc[at : at + n] += w[:n] * wave[:n]
        weight[at : at + n] += w[:n]
        prefix = final[:, -PREFIX_FRAMES:]
    waveform = np.where(weight > 1e-9, acc / np.maximum(weight, 1e-9), 0.0)
    return waveform.astype(np.float32), origin


def limit_energy(generated: torch.Tensor, context: torch.Tensor, q: float = 0.95) -> torch.Tensor:
    """Generated log-mel frames ``(n, n_mels)`` with each frame's total energy
    ``E = log sum exp(logmel)`` capped at the ``q`` quantile of the context frames' ``(m, n_mels)``:
    a frame louder than the input's loud moments is scaled down to them. Autoregressive models
    drift; this keeps a drift upwards from turning into a crescendo the music never had."""
    if context.shape[0] == 0 or generated.shape[0] == 0:
        return generated
    cap = torch.quantile(torch.logsumexp(context, dim=1), q)
    excess = (torch.logsumexp(generated, dim=1) - cap).clamp_min(0.0)
    return generated - excess[:, None]


def extend_neural(
    audio: Audio,
    duration: float,
    model: str | os.PathLike[str] | LoadedModel,
    *,
    temperature: float = 0.3,
    seed: int = 0,
    name: str = "input",
    progress: bool | None = None,
    threads: int | None = DEFAULT_THREADS,
) -> Extension:
    """``audio``'s sound followed by the model's continuation, exactly ``duration`` seconds,
    faded out.

    The silence at both ends of ``audio`` is trimmed first (:func:`.sound_bounds`; the seconds
    trimmed are ``details["trimmed_start_seconds"]`` and ``["trimmed_end_seconds"]``), so the
    output starts with the input's first sound and the model continues from its last.
    ``duration`` must be at least that trimmed length; the output keeps the input's rate and
    channels. ``threads``: torch threads (see :mod:`.runtime`).
    """
    duration = check_duration(duration)
    check_input(audio, name)
    loaded = model if isinstance(model, LoadedModel) else load_model(model)
    sr = audio.sample_rate
    input_duration = audio.duration
    sound_start, sound_end = sound_bounds(audio.samples, sr)
    trimmed = {
        "trimmed_start_seconds": round(sound_start / sr, 3),
        "trimmed_end_seconds": round((audio.n_samples - sound_end) / sr, 3),
    }
    was_trimmed = (sound_start, sound_end) != (0, audio.n_samples)
    if was_trimmed:
        audio = Audio(audio.samples[sound_start:sound_end], sr, audio.subtype)
        if audio.duration < MIN_INPUT_S:
            raise ConfigError(
                f"{name}: only {audio.duration:.2f} s of sound between the silence at its start "
                f"and end, too short to continue (at least {MIN_INPUT_S:g} s is needed)"
            )
    target = round(duration * sr)
    if target < audio.n_samples:
        sound = " of sound (silence trimmed)" if was_trimmed else ""
        raise ConfigError(
            f"--method neural continues the input, so --duration {duration:g} s must be at least "
            f"its {audio.duration:.2f} s{sound} (use --method structure to shorten a recording)"
        )
    if target == audio.n_samples:
        return Extension(
            audio.samples.copy(), sr, [], "original", "neural", input_duration, trimmed
        )
    fs = loaded.features.sample_rate
    clock = time.perf_counter()
    seed_wave = resample(to_mono(audio.samples), sr, fs)
    if seed_wave.shape[0] < 4 * loaded.features.n_fft:
        raise ConfigError(f"{name}: too short for the neural model")
    new_model_samples = int(np.ceil((target - audio.n_samples) * fs / sr)) + fs // 10
    with torch_threads(threads):
        cont, start = continue_waveform(
            loaded,
            seed_wave,
            new_model_samples,
            temperature=temperature,
            seed_rng=seed,
            progress=progress,
        )
    # The continuation joins the input one window (n_fft samples, 46 ms) before the last whole hop.
    crossfade = loaded.features.n_fft
    join_model = (seed_wave.shape[0] // loaded.features.hop) * loaded.features.hop - crossfade
    tail = cont[join_model - start :]
    tail = resample(tail, fs, sr) if fs != sr else tail
    join = round(join_model * sr / fs)
    xf = round(crossfade * sr / fs)
    need = target - join
    if tail.shape[0] < need:
        tail = np.concatenate([tail, np.zeros(need - tail.shape[0], np.float32)])
    tail = np.repeat(tail[:need, None], audio.channels, axis=1)
    out = np.empty((target, audio.channels), dtype=np.float32)
    out[:join] = audio.samples[:join]
    m = min(xf, audio.n_samples - join, need)
    orig = audio.samples[join : join + m]
    rho = correlation(orig.mean(axis=1), tail[:m, 0]) if m > 8 else 0.0
    g_out, g_in = crossfade_gains(m, rho)
    out[join : join + m] = orig * g_out[:, None] + tail[:m] * g_in[:, None]
    out[join + m :] = tail[m:]
    generated = (target - join) / sr
    fade_out(out, int(min(3.0 * sr, 0.25 * (target - join))))
    elapsed = time.perf_counter() - clock
    details = {
        "arch": loaded.model.config.arch,
        "model_step": loaded.step,
        "temperature": temperature,
        "generated_seconds": round(generated, 3),
        "generation_seconds": round(elapsed, 3),
        "realtime_factor": round(elapsed / generated, 4) if generated > 0 else None,
        **trimmed,
    }
    # the splice's time in the source counts the trimmed start back in
    splice = Splice(join / sr, (sound_start + join) / sr, None, None)
    return Extension(out, sr, [splice], "fade", "neural", input_duration, details)
