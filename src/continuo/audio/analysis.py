"""Beat tracking and beat-synchronous features: the analysis behind the ``structure`` extender.

The mono mix is resampled to 22,050 Hz, beat-tracked with librosa (Ellis 2007 dynamic programming
over the onset envelope), and described beat by beat with three feature groups, each averaged over
the frames of a beat:

- chroma (12): harmony, ``librosa.feature.chroma_stft``;
- timbre (19): MFCCs 1..19 of the log-mel spectrum (coefficient 0 is left to loudness);
- loudness (1): RMS level in dB.

When the tracker finds fewer than :data:`MIN_TRACKED_BEATS` beats (silence, a drone, a very short
clip) a fixed grid at the estimated tempo (or every 0.5 s) stands in for the beats, so the rest of
the pipeline always has beats to work with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from continuo.io.audio import resample

__all__ = ["ANALYSIS_SR", "HOP", "MIN_TRACKED_BEATS", "BeatAnalysis", "analyze_beats"]

ANALYSIS_SR = 22_050
HOP = 512
N_FFT = 2048
MIN_TRACKED_BEATS = 8
#: Beat boundaries sit this far before the tracked onset so that a splice's crossfade is over
#: before the attack it leads into.
PRE_ONSET_S = 0.012
#: Frames this far (dB) below the loudest are silence at the start and end of a recording.
SILENCE_DB = 50.0


@dataclass(frozen=True)
class BeatAnalysis:
    """Beats of one recording and their features.

    ``boundaries``: ``(n_beats + 1,)`` int64 sample positions at the *source* sample rate; beat ``i``
    is ``[boundaries[i], boundaries[i + 1])``. Audio before ``boundaries[0]`` is the intro, audio
    after ``boundaries[-1]`` the outro. ``chroma`` ``(n_beats, 12)``, ``timbre`` ``(n_beats, 19)``,
    ``loudness`` ``(n_beats,)`` in dB. ``tempo`` in beats per minute; ``tracked`` is False when a
    fixed grid replaced the beat tracker. ``frames`` ``(n_frames, 40)``: the log-mel spectrum (dB)
    every :data:`HOP` samples at :data:`ANALYSIS_SR`, and ``boundary_frames`` ``(n_beats + 1,)`` the
    frame of each boundary, for comparing the audio right at a splice.
    """

    boundaries: np.ndarray
    chroma: np.ndarray
    timbre: np.ndarray
    loudness: np.ndarray
    tempo: float
    sample_rate: int
    n_samples: int
    tracked: bool
    frames: np.ndarray
    boundary_frames: np.ndarray

    @property
    def n_beats(self) -> int:
        return int(self.boundaries.shape[0] - 1)

    @property
    def beat_lengths(self) -> np.ndarray:
        """``(n_beats,)`` beat lengths in samples."""
        return np.diff(self.boundaries)

    @property
    def median_beat_seconds(self) -> float:
        return float(np.median(self.beat_lengths)) / self.sample_rate


def analyze_beats(mono: np.ndarray, sample_rate: int) -> BeatAnalysis:
    """Track beats in ``mono`` ``(n_samples,)`` and compute per-beat features.

    Positions in the result are at ``sample_rate``, the rate of ``mono``; analysis itself runs at
    :data:`ANALYSIS_SR`.
    """
    import librosa

    n_samples = int(mono.shape[0])
    y = resample(np.asarray(mono, dtype=np.float32), sample_rate, ANALYSIS_SR)
    if y.shape[0] < N_FFT:
        y = np.pad(y, (0, N_FFT - y.shape[0]))
    power = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP)) ** 2  # (1025, n_frames)
    n_frames = power.shape[1]
    mel_db = librosa.power_to_db(
        librosa.feature.melspectrogram(S=power, sr=ANALYSIS_SR, n_mels=96), ref=1.0, top_db=None
    )  # (96, n_frames)
    rms_db = 10.0 * np.log10(power.sum(axis=0) / (N_FFT**2 / 4.0) + 1e-10)  # (n_frames,)
    onset_env = librosa.onset.onset_strength(S=mel_db, sr=ANALYSIS_SR, hop_length=HOP)
    tempo, beat_frames = _track(onset_env, float(np.max(np.abs(y))) if y.size else 0.0)

    scale = sample_rate / ANALYSIS_SR
    duration = n_samples / sample_rate
    tracked = beat_frames.size >= MIN_TRACKED_BEATS
    if tracked:
        starts = beat_frames * HOP / ANALYSIS_SR - PRE_ONSET_S
        period = float(np.median(np.diff(starts)))
        starts = starts[starts >= 0.0]
        last_end = min(starts[-1] + period, duration)
        seconds = np.append(starts, last_end)
    else:
        period = 60.0 / tempo if 40.0 <= tempo <= 240.0 else 0.5
        period = float(np.clip(period, 0.25, 1.0))
        count = max(int(duration // period), 1)
        period = duration / count  # an exact grid: no intro, no outro
        seconds = np.arange(count + 1) * period
        seconds[-1] = duration
    seconds = _trim_silence(seconds, rms_db, duration)
    boundaries = np.unique(np.clip(np.round(seconds * sample_rate), 0, n_samples).astype(np.int64))
    if boundaries.shape[0] < 2:
        boundaries = np.array([0, n_samples], dtype=np.int64)

    frame_edges = np.clip(np.round(boundaries / scale / HOP).astype(np.int64), 0, n_frames - 1)
    frame_edges = np.maximum.accumulate(frame_edges)
    silent = not np.any(power > 1e-10)
    chroma = librosa.feature.chroma_stft(
        S=power, sr=ANALYSIS_SR, n_fft=N_FFT, hop_length=HOP, tuning=0.0 if silent else None
    )
    mfcc = librosa.feature.mfcc(S=mel_db, n_mfcc=20)[1:]  # (19, n_frames)
    return BeatAnalysis(
        boundaries=boundaries,
        chroma=_beat_mean(chroma, frame_edges).astype(np.float32),
        timbre=_beat_mean(mfcc, frame_edges).astype(np.float32),
        loudness=_beat_mean(rms_db[None, :], frame_edges)[:, 0].astype(np.float32),
        tempo=float(tempo),
        sample_rate=int(sample_rate),
        n_samples=n_samples,
        tracked=bool(tracked),
        frames=librosa.power_to_db(
            librosa.feature.melspectrogram(S=power, sr=ANALYSIS_SR, n_mels=40), top_db=80.0
        ).T.astype(np.float32),
        boundary_frames=frame_edges,
    )


def _trim_silence(seconds: np.ndarray, rms_db: np.ndarray, duration: float) -> np.ndarray:
    """Drop beat boundaries in leading and trailing near-silence (more than :data:`SILENCE_DB`
    below the loudest frame), so that silence belongs to the intro and the outro, never to a jump;
    at least two boundaries stay."""
    if rms_db.size == 0 or seconds.shape[0] < 3:
        return seconds
    active = np.nonzero(rms_db > rms_db.max() - SILENCE_DB)[0]
    if active.size == 0:
        return seconds
    first = active[0] * HOP / ANALYSIS_SR - PRE_ONSET_S
    last = min((active[-1] + 1) * HOP / ANALYSIS_SR, duration)
    kept = seconds[(seconds >= first) & (seconds <= last)]
    return kept if kept.shape[0] >= 2 else seconds


def _track(onset_env: np.ndarray, peak: float) -> tuple[float, np.ndarray]:
    """(tempo in BPM, beat frames) from librosa's tracker; no beats for silence."""
    import librosa

    if peak <= 1e-6 or not np.any(onset_env > 0):
        return 0.0, np.zeros(0, dtype=np.int64)
    tempo, beats = librosa.beat.beat_track(
        onset_envelope=onset_env, sr=ANALYSIS_SR, hop_length=HOP, trim=False
    )
    return float(np.atleast_1d(tempo)[0]), np.asarray(beats, dtype=np.int64)


def _beat_mean(features: np.ndarray, frame_edges: np.ndarray) -> np.ndarray:
    """Mean of ``features`` ``(d, n_frames)`` over each beat's frames: ``(n_beats, d)``.

    Beat ``i`` covers frames ``[frame_edges[i], frame_edges[i + 1])``, at least one frame.
    """
    out = np.empty((frame_edges.shape[0] - 1, features.shape[0]), dtype=np.float64)
    csum = np.concatenate([np.zeros((features.shape[0], 1)), np.cumsum(features, axis=1)], axis=1)
    for i in range(out.shape[0]):
        a = int(frame_edges[i])
        b = max(int(frame_edges[i + 1]), a + 1)
        b = min(b, features.shape[1])
        a = min(a, b - 1)
        out[i] = (csum[:, b] - csum[:, a]) / (b - a)
    return out
