"""Synthetic recordings for the audio tests (no test functions here; imported by test_audio_*).

:func:`groove` is a small "song": kick, hi-hat and a I-IV-V-I chord progression at 120 BPM, two
passes of four bars, ending on a ringing chord and half a second of silence. It has beats, harmony
and an ending, which is all the structure extender needs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

__all__ = ["groove", "sine", "write"]

_CHORDS = [(60, 64, 67), (65, 69, 72), (67, 71, 74), (60, 64, 67)]


def _midi_hz(note: int) -> float:
    return 440.0 * 2.0 ** ((note - 69) / 12.0)


def groove(sr: int = 22_050, bars: int = 8, bpm: float = 120.0, seed: int = 0) -> np.ndarray:
    """``(n,)`` float32 mono: ``bars`` bars of 4/4 plus a 1.5 s final chord and 0.5 s silence."""
    rng = np.random.default_rng(seed)
    beat = 60.0 / bpm
    n_beats = bars * 4
    tail = 1.5
    n = int((n_beats * beat + tail + 0.5) * sr)
    y = np.zeros(n, dtype=np.float64)
    t_kick = np.arange(int(0.25 * sr)) / sr
    kick = np.sin(2 * np.pi * (50 + 80 * np.exp(-t_kick * 30)) * t_kick) * np.exp(-t_kick * 12)
    hat = rng.standard_normal(int(0.04 * sr)) * np.exp(-np.arange(int(0.04 * sr)) / sr * 80)
    for b in range(n_beats):
        start = int(b * beat * sr)
        if b % 2 == 0:
            y[start : start + kick.size] += 0.6 * kick[: n - start]
        off = int((b + 0.5) * beat * sr)
        y[off : off + hat.size] += 0.15 * hat[: max(n - off, 0)]
    for bar in range(bars + 1):
        chord = _CHORDS[bar % 4] if bar < bars else _CHORDS[0]
        start = int(bar * 4 * beat * sr)
        length = int((4 * beat if bar < bars else tail) * sr)
        t = np.arange(length) / sr
        env = np.exp(-t * (0.8 if bar < bars else 3.0))
        for note in chord:
            y[start : start + length] += 0.08 * np.sin(2 * np.pi * _midi_hz(note) * t) * env
    return (0.8 * y / np.max(np.abs(y))).astype(np.float32)


def sine(seconds: float, sr: int = 22_050, hz: float = 440.0, amp: float = 0.5) -> np.ndarray:
    """``(n,)`` float32 sine."""
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def write(path: Path, samples: np.ndarray, sr: int, subtype: str | None = None) -> Path:
    """Write ``samples`` ``(n,)`` or ``(n, ch)`` with soundfile (format from the extension)."""
    sf.write(str(path), samples, sr, subtype=subtype)
    return path
