"""Joining source segments into one waveform: aligned splice points, zero crossings, crossfades.

For a splice from source position ``out`` (where the old run stops) to ``in`` (where the new run
starts):

1. alignment: ``in`` moves by the lag ``L`` (|L| <= ``search_s``) that maximises the normalised
   cross-correlation between the audio around ``out`` and the audio around ``in + L``, so the new
   run picks up the waveform where the old one would have gone;
2. zero crossing: ``out`` moves to the nearest rising zero crossing of the mono mix within
   ``zero_s`` and ``in`` moves with it, keeping the alignment;
3. crossfade: over ``crossfade_s`` (60 ms), by default ending at the splice (``before`` = 1) so
   that it is over before the onset the splice point sits just ahead of, the old run fades out
   while the new run's lead-in fades in, with gains ``a = a0 / s``, ``b = b0 / s``,
   ``a0 = cos(pi p / 2)``, ``b0 = sin(pi p / 2)``, ``s = sqrt(1 + 2 rho a0 b0)``, ``p`` from 0
   to 1, where ``rho`` (clipped to [0, 1]) is the
   correlation of the two overlapping pieces: the expected power stays constant, which is the
   classic equal-power law for uncorrelated audio (``rho = 0``) and tends to an equal-gain fade for
   identical audio (``rho = 1``), avoiding the +3 dB bump of cos/sin on correlated signals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "RenderedSplice",
    "SpliceConfig",
    "correlation",
    "crossfade_gains",
    "fade_out",
    "render_segments",
]


@dataclass(frozen=True)
class SpliceConfig:
    crossfade_s: float = 0.06
    before: float = 1.0
    search_s: float = 0.012
    zero_s: float = 0.003
    window_s: float = 0.03


@dataclass(frozen=True)
class RenderedSplice:
    """One splice: ``output`` sample where the new run starts, source ``source_from`` (where the
    old run stopped) and ``source_to`` (where the new one starts), and its correlation ``rho``."""

    output: int
    source_from: int
    source_to: int
    rho: float


def crossfade_gains(n: int, rho: float) -> tuple[np.ndarray, np.ndarray]:
    """Fade-out and fade-in gains ``(n,)`` for audio of correlation ``rho`` (module docstring)."""
    p = (np.arange(n, dtype=np.float64) + 0.5) / max(n, 1)
    a0, b0 = np.cos(0.5 * np.pi * p), np.sin(0.5 * np.pi * p)
    r = float(np.clip(rho, 0.0, 1.0))
    s = np.sqrt(1.0 + 2.0 * r * a0 * b0)
    return (a0 / s).astype(np.float32), (b0 / s).astype(np.float32)


def fade_out(samples: np.ndarray, n: int) -> np.ndarray:
    """Fade the last ``n`` samples of ``(n_samples, channels)`` to silence (raised cosine), in place."""
    n = int(min(n, samples.shape[0]))
    if n > 0:
        gain = 0.5 * (1.0 + np.cos(np.pi * (np.arange(n) + 1) / n))
        samples[-n:] *= gain[:, None].astype(samples.dtype)
    return samples


def render_segments(
    samples: np.ndarray,
    segments: list[tuple[int, int]],
    sample_rate: int,
    config: SpliceConfig = SpliceConfig(),
) -> tuple[np.ndarray, list[RenderedSplice]]:
    """Concatenate ``samples[start:end]`` ``(n_samples, channels)`` for each segment, splicing
    between them as in the module docstring. Returns ``(output (n_out, channels), splices)``; the
    output length is the sum of the segment lengths up to the few samples the alignment moves."""
    mono = samples.mean(axis=1) if samples.shape[1] > 1 else samples[:, 0]
    n = samples.shape[0]
    segs = [list(s) for s in segments]
    rhos: list[float] = []
    for k in range(len(segs) - 1):
        out_pos, in_pos = _align(mono, segs[k][1], segs[k + 1][0], sample_rate, config)
        segs[k][1] = out_pos
        segs[k + 1][0] = in_pos
        rhos.append(0.0)
    for s in segs:
        s[0] = int(np.clip(s[0], 0, n))
        s[1] = int(np.clip(s[1], s[0], n))
    total = sum(b - a for a, b in segs)
    out = np.empty((total, samples.shape[1]), dtype=np.float32)
    splices: list[RenderedSplice] = []
    pos = 0
    xfade = max(int(config.crossfade_s * sample_rate), 16)
    for k, (a, b) in enumerate(segs):
        out[pos : pos + b - a] = samples[a:b]
        if k > 0:
            old = segs[k - 1][1]
            prev_len = segs[k - 1][1] - segs[k - 1][0]
            rhos[k - 1] = _crossfade(
                out, samples, pos, old, a, b - a, prev_len, xfade, config.before
            )
            splices.append(RenderedSplice(pos, old, a, rhos[k - 1]))
        pos += b - a
    return out, splices


def _crossfade(
    out: np.ndarray,
    src: np.ndarray,
    pos: int,
    old: int,
    new: int,
    new_len: int,
    prev_len: int,
    m: int,
    before: float,
) -> float:
    """Blend the splice at output ``pos`` in place; returns the correlation used.

    The crossfade covers ``m`` samples, ``before * m`` of them before the splice: there the old
    run is itself and the new run is the source just before ``new``; after it, the new run is
    itself and the old run is the source just after ``old``. Where the source runs out on one
    side (the very start or end of the file) the fade moves to the other side; with neither (a
    run from the very end into the very start) the old run fades out and the new one fades in.
    """
    n = src.shape[0]
    room_before = max(min(prev_len, new), 0)
    room_after = max(min(new_len, n - old), 0)
    b = min(round(m * before), room_before)
    a = min(m - b, room_after)
    b = min(m - a, room_before)
    if a + b > 8:
        tail = src[old - b : old + a]
        head = src[new - b : new + a]
        rho = correlation(tail.mean(axis=1), head.mean(axis=1))
        g_out, g_in = crossfade_gains(a + b, rho)
        out[pos - b : pos + a] = tail * g_out[:, None] + head * g_in[:, None]
        return rho
    k_out, k_in = min(m // 2, prev_len), min(m // 2, new_len)
    if k_out > 0:
        gain = 0.5 * (1.0 + np.cos(np.pi * (np.arange(k_out) + 1) / k_out))
        out[pos - k_out : pos] *= gain[:, None].astype(out.dtype)
    if k_in > 0:
        gain = 0.5 * (1.0 - np.cos(np.pi * np.arange(k_in) / k_in))
        out[pos : pos + k_in] *= gain[:, None].astype(out.dtype)
    return 0.0


def _align(
    mono: np.ndarray, out_pos: int, in_pos: int, sr: int, config: SpliceConfig
) -> tuple[int, int]:
    """Refined ``(out, in)`` source positions for one splice (steps 1 and 2 of the docstring)."""
    n = mono.shape[0]
    half = max(int(config.window_s * sr / 2), 8)
    lag = int(config.search_s * sr)
    ref_lo, ref_hi = out_pos - half, out_pos + half
    lo = in_pos - lag - half
    hi = in_pos + lag + half
    if ref_lo >= 0 and ref_hi <= n and lo >= 0 and hi <= n and lag > 0:
        ref = mono[ref_lo:ref_hi].astype(np.float64)
        seg = mono[lo:hi].astype(np.float64)
        corr = np.correlate(seg, ref, mode="valid")  # (2 * lag + 1,)
        energy = np.convolve(seg**2, np.ones(ref.shape[0]), mode="valid")
        norm = corr / (np.sqrt(energy * float(ref @ ref)) + 1e-12)
        in_pos = lo + half + int(np.argmax(norm))  # the source position aligned with out_pos
    zero = _nearest_rising_zero(mono, out_pos, int(config.zero_s * sr))
    shift = zero - out_pos
    if 0 <= in_pos + shift <= n:
        out_pos, in_pos = zero, in_pos + shift
    return int(out_pos), int(np.clip(in_pos, 0, n))


def _nearest_rising_zero(mono: np.ndarray, pos: int, radius: int) -> int:
    """The rising zero crossing of ``mono`` nearest ``pos`` within ``radius`` samples (or ``pos``)."""
    lo, hi = max(pos - radius, 1), min(pos + radius, mono.shape[0] - 1)
    if hi <= lo:
        return pos
    x = mono[lo - 1 : hi]
    idx = np.nonzero((x[:-1] < 0) & (x[1:] >= 0))[0] + lo
    if idx.size == 0:
        return pos
    return int(idx[np.argmin(np.abs(idx - pos))])


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised correlation of two equal-length ``(n,)`` signals, 0 when either is silent."""
    den = float(np.sqrt(float(a @ a) * float(b @ b)))
    return float(a @ b) / den if den > 1e-12 else 0.0
