"""Baselines the extenders are measured against (benchmarks and tests; not used by the CLI).

- :func:`naive_loop`: the whole recording again and again, crossfaded end into start;
- :func:`repeat_last`: a "continuation" that repeats the last ``seconds`` of the input.
"""

from __future__ import annotations

import numpy as np

from continuo.audio.extension import Extension, Splice, check_duration, fit_length
from continuo.audio.splice import crossfade_gains, fade_out
from continuo.io.audio import Audio

__all__ = ["naive_loop", "repeat_last"]


def naive_loop(audio: Audio, duration: float, crossfade_s: float = 0.05) -> Extension:
    """The whole recording repeated to ``duration`` seconds, each repeat joined to the next by an
    equal-power crossfade of ``crossfade_s`` (the end's last samples over the start's first), cut
    at ``duration`` with a 3 s fade. Output ``(round(duration * sr), channels)``."""
    duration = check_duration(duration)
    sr = audio.sample_rate
    target = round(duration * sr)
    x = audio.samples
    n = x.shape[0]
    m = max(min(int(crossfade_s * sr), n // 4), 1)
    g_out, g_in = crossfade_gains(m, 0.0)
    head = x[:m] * g_in[:, None] + x[-m:] * g_out[:, None]  # end of one repeat into the next
    body = np.concatenate([head, x[m:-m]], axis=0) if n > 2 * m else head
    pieces = [x[:-m]]
    splices: list[Splice] = []
    length = n - m
    while length < target:
        splices.append(Splice(length / sr, (n - m) / sr, 0.0, None))
        pieces.append(body)
        length += body.shape[0]
    pieces.append(x[-m:])
    length += m
    out = fit_length(np.concatenate(pieces, axis=0), target, sr)
    ending = "song" if length == target else "fade"
    if ending == "fade":
        fade_out(out, int(min(3.0 * sr, 0.5 * target)))
    splices = [s for s in splices if s.output_time * sr < target]
    return Extension(out, sr, splices, ending, "naive-loop", audio.duration)


def repeat_last(samples: np.ndarray, n_out: int, seconds: float, sample_rate: int) -> np.ndarray:
    """``(n_out, channels)``: the last ``seconds`` of ``samples`` ``(n, channels)`` tiled, the
    "continuation" a listener gets by looping the end of the seed."""
    k = max(min(int(seconds * sample_rate), samples.shape[0]), 1)
    tail = samples[-k:]
    reps = int(np.ceil(n_out / k))
    return np.tile(tail, (reps, 1))[:n_out].astype(np.float32)
