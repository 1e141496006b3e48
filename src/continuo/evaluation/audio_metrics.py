"""Audio continuity metrics: how audible are the splices, and how close is a continuation.

Plain functions on mono ``float`` arrays ``(n_samples,)`` (pass ``x.mean(axis=1)`` for stereo) and
sample positions or times in seconds. Each states its formula and where it comes from. "The song's
own distribution" means the same statistic measured at every position of the reference recording,
so a splice is judged against the changes the music makes by itself: a percentile of 50 is as
smooth as a typical moment of the song, 99 as abrupt as its most abrupt 1 %.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "SpliceScores",
    "chroma_continuity",
    "jump_profile",
    "loudness_continuity",
    "multi_resolution_stft_distance",
    "percentile_of",
    "sample_jumps",
    "spectral_flux",
    "splice_discontinuity",
    "tempo_continuity",
]

FLUX_N_FFT = 1024
FLUX_HOP = 256


def percentile_of(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Percentile rank (0..100) of each of ``values`` ``(k,)`` within ``reference`` ``(m,)``:
    ``100 * (#{r < v} + 0.5 #{r == v}) / m`` (the "mean" kind of scipy.stats.percentileofscore)."""
    ref = np.sort(np.asarray(reference, dtype=np.float64).ravel())
    v = np.asarray(values, dtype=np.float64).ravel()
    if ref.size == 0:
        return np.full(v.shape, np.nan)
    below = np.searchsorted(ref, v, side="left")
    upto = np.searchsorted(ref, v, side="right")
    return 100.0 * (below + 0.5 * (upto - below)) / ref.size


def sample_jumps(x: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The jump a splice makes in the waveform at each position ``p`` (samples), ``(k,)``:
    ``e[p] = |x[p] - (2 x[p - 1] - x[p - 2])|``, the error of predicting the sample from the straight
    line through the two before it.

    A second difference: a smooth waveform (even steep, at a zero crossing) predicts well, a click
    or a step does not. It is the fixed second-order case of the autoregressive prediction-error
    click detector (Godsill & Rayner, *Digital Audio Restoration*, 1998, ch. 5; Vaseghi & Rayner
    1990). Positions before 2 or past the end give NaN. Over all ``p`` this is :func:`jump_profile`.
    """
    x = np.asarray(x, dtype=np.float64)
    p = np.asarray(positions, dtype=np.int64).ravel()
    out = np.full(p.shape, np.nan)
    ok = (p >= 2) & (p < x.shape[0])
    q = p[ok]
    out[ok] = np.abs(x[q] - 2.0 * x[q - 1] + x[q - 2])
    return out


def jump_profile(x: np.ndarray) -> np.ndarray:
    """:func:`sample_jumps` at every position 2 .. n - 1: ``(n - 2,)``, the song's own jumps."""
    x = np.asarray(x, dtype=np.float64)
    return np.abs(x[2:] - 2.0 * x[1:-1] + x[:-2])


def spectral_flux(x: np.ndarray, n_fft: int = FLUX_N_FFT, hop: int = FLUX_HOP) -> np.ndarray:
    """Spectral flux ``(n_frames,)``: ``SF(t) = sum_k max(0, Y(t, k) - Y(t - 1, k))`` with
    ``Y = log(1 + 100 |X|)`` the log-compressed STFT magnitude (Hann window ``n_fft``, hop ``hop``,
    frame ``t`` centred on sample ``t * hop``), ``SF(0) = 0``. Half-wave rectified flux as in Dixon,
    "Onset detection revisited" (DAFx 2006); log compression as in Müller, *Fundamentals of Music
    Processing* (2015), sec. 6.1."""
    import librosa

    x = np.asarray(x, dtype=np.float32)
    if x.shape[0] < n_fft:
        x = np.pad(x, (0, n_fft - x.shape[0]))
    y = np.log1p(100.0 * np.abs(librosa.stft(x, n_fft=n_fft, hop_length=hop)))
    flux = np.maximum(np.diff(y, axis=1), 0.0).sum(axis=0)
    return np.concatenate([[0.0], flux]).astype(np.float64)


def _windowed_max(values: np.ndarray, radius: int) -> np.ndarray:
    """``out[t] = max(values[t - radius : t + radius + 1])`` (clipped at the ends), ``(n,)``."""
    from scipy.ndimage import maximum_filter1d

    return maximum_filter1d(values, size=2 * radius + 1, mode="nearest")


@dataclass(frozen=True)
class SpliceScores:
    """Per-splice discontinuity, each ``(k,)``: ``jump`` (:func:`sample_jumps`) and its percentile
    among the song's own (:func:`jump_profile`); ``flux`` (the spectral-flux peak within ±``radius`` frames of the
    splice) and its percentile in the song's own windowed flux peaks; ``flux_excess``: the splice's
    flux peak minus the reference's at the source position it jumps to, in units of the song's
    median flux (0: the splice adds nothing to the change the music makes there anyway; NaN where
    no source position is given)."""

    jump: np.ndarray
    jump_percentile: np.ndarray
    flux: np.ndarray
    flux_percentile: np.ndarray
    flux_excess: np.ndarray

    def summary(self) -> dict[str, float]:
        """Means over splices (NaN-aware) and the share of splices above the song's 99th percentile
        of flux peaks."""

        def mean(a: np.ndarray) -> float:
            return float(np.nanmean(a)) if a.size and np.isfinite(a).any() else float("nan")

        return {
            "splices": int(self.jump.size),
            "jump_percentile": mean(self.jump_percentile),
            "flux_percentile": mean(self.flux_percentile),
            "flux_excess": mean(self.flux_excess),
            "share_flux_above_p99": float(np.mean(self.flux_percentile > 99.0))
            if self.flux.size
            else float("nan"),
        }


def splice_discontinuity(
    output: np.ndarray,
    positions: np.ndarray,
    reference: np.ndarray | None = None,
    source_positions: np.ndarray | None = None,
    radius: int = 2,
) -> SpliceScores:
    """Discontinuity of each splice at sample ``positions`` ``(k,)`` of ``output`` ``(n,)``.

    ``reference`` ``(m,)`` is the original song (the output itself when None); its jumps and
    windowed flux peaks are "the song's own distribution". ``source_positions`` ``(k,)``: where in
    the reference each splice lands (for ``flux_excess``). Flux frames: :func:`spectral_flux`; a
    splice at sample ``p`` is in frame ``round(p / hop)``; ``radius`` frames either side (±2 frames
    of 256 = ±23 ms at 22.05 kHz) catch the crossfade.
    """
    out = np.asarray(output, dtype=np.float64)
    ref = out if reference is None else np.asarray(reference, dtype=np.float64)
    pos = np.asarray(positions, dtype=np.int64).ravel()
    jumps = sample_jumps(out, pos)
    jump_pct = percentile_of(jumps, jump_profile(ref))
    flux_out = _windowed_max(spectral_flux(out), radius)
    flux_ref = _windowed_max(spectral_flux(ref), radius)
    frames = np.clip(np.round(pos / FLUX_HOP).astype(np.int64), 0, flux_out.shape[0] - 1)
    flux = flux_out[frames] if pos.size else np.zeros(0)
    flux_pct = percentile_of(flux, flux_ref)
    excess = np.full(pos.shape, np.nan)
    if source_positions is not None and pos.size:
        src = np.asarray(source_positions, dtype=np.int64).ravel()
        src_frames = np.clip(np.round(src / FLUX_HOP).astype(np.int64), 0, flux_ref.shape[0] - 1)
        scale = float(np.median(spectral_flux(ref))) or 1.0
        excess = (flux - flux_ref[src_frames]) / scale
    return SpliceScores(jumps, jump_pct, flux, flux_pct, excess)


def _chroma(x: np.ndarray, sr: int) -> np.ndarray:
    import librosa

    x = np.asarray(x, dtype=np.float32)
    if x.shape[0] < 2048:
        x = np.pad(x, (0, 2048 - x.shape[0]))
    return librosa.feature.chroma_stft(y=x, sr=sr, n_fft=2048, hop_length=512)  # (12, frames)


def _chroma_similarity(chroma: np.ndarray, frames: np.ndarray, width: int) -> np.ndarray:
    """Cosine similarity of mean chroma over ``[f - width, f)`` and ``[f, f + width)``."""
    sims = np.full(frames.shape, np.nan)
    n = chroma.shape[1]
    for k, f in enumerate(frames):
        if f - width < 0 or f + width > n:
            continue
        a = chroma[:, f - width : f].mean(axis=1)
        b = chroma[:, f : f + width].mean(axis=1)
        den = np.linalg.norm(a) * np.linalg.norm(b)
        sims[k] = float(a @ b / den) if den > 1e-12 else 1.0
    return sims


def chroma_continuity(
    output: np.ndarray,
    sr: int,
    times: np.ndarray,
    reference: np.ndarray | None = None,
    window_s: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Harmonic continuity across each splice at ``times`` (seconds) ``(k,)``.

    ``c = cos(mean chroma over [t - w, t), mean chroma over [t, t + w))`` with ``w = window_s``
    (chroma from ``librosa.feature.chroma_stft``; chroma features as in Müller 2015, ch. 3). Returns
    ``(c (k,), percentile of c among the same statistic at every frame of the reference (k,))``:
    a low percentile means a harmonic change the song rarely makes. NaN where the window does not fit.
    """
    hop = 512
    width = max(round(window_s * sr / hop), 1)
    frames = np.round(np.asarray(times, dtype=np.float64) * sr / hop).astype(np.int64)
    sims = _chroma_similarity(_chroma(output, sr), frames, width)
    ref_chroma = _chroma(output if reference is None else reference, sr)
    grid = np.arange(width, ref_chroma.shape[1] - width + 1, max(width // 4, 1))
    own = _chroma_similarity(ref_chroma, grid, width)
    return sims, percentile_of(sims, own[np.isfinite(own)])


def _level_db(x: np.ndarray, a: int, b: int) -> float:
    seg = x[max(a, 0) : max(b, 0)]
    return (
        10.0 * float(np.log10(np.mean(seg.astype(np.float64) ** 2) + 1e-10)) if seg.size else -100.0
    )


def loudness_continuity(
    output: np.ndarray,
    sr: int,
    times: np.ndarray,
    reference: np.ndarray | None = None,
    window_s: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Level step across each splice at ``times`` (seconds): ``|L_after - L_before|`` in dB with
    ``L = 10 log10(mean x^2)`` over the ``window_s`` seconds on each side (RMS level; the
    short-term loudness of EBU R 128 without its K-weighting). Returns ``(steps (k,), percentile
    of each step among the same statistic every ``window_s / 4`` seconds of the reference (k,))``:
    a restart after silence, or a jump from a quiet to a loud passage, scores near 100."""
    x = np.asarray(output, dtype=np.float64)
    w = int(window_s * sr)
    steps = np.array(
        [
            abs(_level_db(x, p, p + w) - _level_db(x, p - w, p))
            for p in np.round(np.asarray(times, dtype=np.float64) * sr).astype(np.int64)
        ]
    )
    ref = x if reference is None else np.asarray(reference, dtype=np.float64)
    grid = range(w, ref.shape[0] - w + 1, max(w // 4, 1))
    own = np.array([abs(_level_db(ref, p, p + w) - _level_db(ref, p - w, p)) for p in grid])
    return steps, percentile_of(steps, own)


def tempo_continuity(
    output: np.ndarray, sr: int, times: np.ndarray, window_s: float = 6.0
) -> np.ndarray:
    """Tempo change across each splice at ``times`` (seconds): ``|log2(T_after / T_before)|``
    ``(k,)``, with ``T`` the tempo (``librosa.feature.tempo``, the autocorrelation tempo estimator
    of Ellis 2007, "Beat tracking by dynamic programming") of the ``window_s`` seconds before and
    after. 0 is the same tempo, 1 a doubling or halving. NaN where a window does not fit."""
    import librosa

    x = np.asarray(output, dtype=np.float32)
    w = int(window_s * sr)
    out = np.full(np.shape(times), np.nan, dtype=np.float64)
    for k, t in enumerate(np.asarray(times, dtype=np.float64).ravel()):
        p = round(t * sr)
        if p - w < 0 or p + w > x.shape[0]:
            continue
        before = librosa.feature.tempo(y=x[p - w : p], sr=sr)[0]
        after = librosa.feature.tempo(y=x[p : p + w], sr=sr)[0]
        if before > 0 and after > 0:
            out[k] = abs(float(np.log2(after / before)))
    return out


def multi_resolution_stft_distance(
    estimate: np.ndarray,
    reference: np.ndarray,
    fft_sizes: tuple[int, ...] = (512, 1024, 2048),
) -> dict[str, float]:
    """Multi-resolution STFT distance between ``estimate`` and ``reference`` (both ``(n,)``; the
    shorter length is used).

    For each FFT size ``N`` (hop ``N / 4``, Hann window) with magnitudes ``S`` (reference) and
    ``Ŝ`` (estimate): spectral convergence ``SC = ||S - Ŝ||_F / ||S||_F`` (Arık et al., "Fast
    spectrogram inversion using multi-head CNNs", 2019) and log-magnitude distance
    ``LM = mean |log S - log Ŝ|`` (magnitudes floored at 1e-5); ``distance = mean_N (SC + LM)``, the
    multi-resolution STFT loss of Yamamoto et al., "Parallel WaveGAN" (ICASSP 2020), eq. 6.
    Returns ``{"distance", "spectral_convergence", "log_magnitude"}`` averaged over resolutions.
    """
    import librosa

    n = min(len(estimate), len(reference))
    if n == 0:
        raise ValueError("multi_resolution_stft_distance needs non-empty signals")
    est = np.asarray(estimate[:n], dtype=np.float32)
    ref = np.asarray(reference[:n], dtype=np.float32)
    sc_all, lm_all = [], []
    for size in fft_sizes:
        s_ref = np.abs(librosa.stft(ref, n_fft=size, hop_length=size // 4))
        s_est = np.abs(librosa.stft(est, n_fft=size, hop_length=size // 4))
        sc_all.append(float(np.linalg.norm(s_ref - s_est) / (np.linalg.norm(s_ref) + 1e-12)))
        lm_all.append(
            float(
                np.mean(np.abs(np.log(np.maximum(s_ref, 1e-5)) - np.log(np.maximum(s_est, 1e-5))))
            )
        )
    sc, lm = float(np.mean(sc_all)), float(np.mean(lm_all))
    return {"distance": sc + lm, "spectral_convergence": sc, "log_magnitude": lm}
