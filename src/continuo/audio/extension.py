"""What every extender returns, and the checks every extender makes on its input and duration."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from continuo.errors import ConfigError
from continuo.io.audio import Audio

__all__ = [
    "MAX_DURATION_S",
    "MIN_INPUT_S",
    "TRIM_DB",
    "Extension",
    "Splice",
    "check_duration",
    "check_input",
    "fit_length",
    "is_silent",
    "sound_bounds",
]

#: The longest output any extender makes (one hour).
MAX_DURATION_S = 3600.0
#: The shortest input worth extending.
MIN_INPUT_S = 1.0
SILENCE_PEAK = 1e-5
#: Frames (20 ms) this far (dB) below the loudest frame are silence at the ends of a recording.
TRIM_DB = 40.0
TRIM_FRAME_S = 0.02


@dataclass(frozen=True)
class Splice:
    """A point where the output stops following the source: at ``output_time`` seconds of the
    output, the source jumps from ``source_from`` to ``source_to`` seconds (``None`` where the
    output continues with generated audio). ``cost`` is the planner's price of the jump."""

    output_time: float
    source_from: float
    source_to: float | None
    cost: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "output_time": round(self.output_time, 4),
            "source_from": round(self.source_from, 4),
            "source_to": None if self.source_to is None else round(self.source_to, 4),
            "cost": None if self.cost is None else round(self.cost, 4),
        }


@dataclass(frozen=True)
class Extension:
    """An extended recording: ``samples`` ``(n_samples, channels)`` float32 at ``sample_rate``,
    the ``splices``, how it ends (``"song"``: the source's own ending, ``"fade"``, or
    ``"original"``: the input unchanged), the ``method`` and the input's duration in seconds."""

    samples: np.ndarray
    sample_rate: int
    splices: list[Splice]
    ending: str
    method: str
    input_duration: float
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return self.samples.shape[0] / self.sample_rate

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary: durations in seconds, splice times in output and source."""
        return {
            "method": self.method,
            "duration": round(self.duration, 4),
            "input_duration": round(self.input_duration, 4),
            "sample_rate": self.sample_rate,
            "channels": int(self.samples.shape[1]),
            "ending": self.ending,
            "splices": [s.to_json() for s in self.splices],
            **self.details,
        }


def check_duration(duration: float) -> float:
    """``duration`` in seconds if it is a usable target, else :class:`ConfigError`."""
    if not isinstance(duration, (int, float)) or not math.isfinite(duration) or duration <= 0:
        raise ConfigError(f"--duration must be a positive number of seconds, not {duration!r}")
    if duration > MAX_DURATION_S:
        raise ConfigError(f"--duration {duration:g} s is over the limit of {MAX_DURATION_S:g} s")
    return float(duration)


def check_input(audio: Audio, name: str = "input") -> None:
    """:class:`ConfigError` when ``audio`` is too short to extend (under :data:`MIN_INPUT_S`)."""
    if audio.duration < MIN_INPUT_S:
        raise ConfigError(
            f"{name}: {audio.duration:.2f} s of audio is too short to extend "
            f"(at least {MIN_INPUT_S:g} s is needed)"
        )


def is_silent(samples: np.ndarray) -> bool:
    """True when the peak of ``samples`` (any shape) is below -100 dBFS."""
    return bool(samples.size == 0 or float(np.max(np.abs(samples))) < SILENCE_PEAK)


def sound_bounds(
    samples: np.ndarray, sample_rate: int, below_db: float = TRIM_DB
) -> tuple[int, int]:
    """``(start, end)``: the samples of ``samples`` (``(n,)`` or ``(n, channels)``) between its
    leading and trailing silence, to the nearest 20 ms frame. Silence is a frame whose RMS is more
    than ``below_db`` below the loudest frame's; a recording silent throughout is kept whole."""
    mono = np.asarray(samples, dtype=np.float64)
    mono = mono if mono.ndim == 1 else mono.mean(axis=1)
    n = mono.shape[0]
    hop = max(1, round(TRIM_FRAME_S * sample_rate))
    frames = -(-n // hop)
    padded = np.zeros(frames * hop)
    padded[:n] = mono
    rms = np.sqrt(np.mean(padded.reshape(frames, hop) ** 2, axis=1))
    peak = float(rms.max(initial=0.0))
    if peak <= 0.0:
        return 0, n
    active = np.nonzero(rms >= peak * 10.0 ** (-below_db / 20.0))[0]
    return int(active[0]) * hop, min((int(active[-1]) + 1) * hop, n)


def fit_length(samples: np.ndarray, n: int, sample_rate: int, fade_s: float = 0.05) -> np.ndarray:
    """``samples`` ``(m, channels)`` cut or zero-padded to exactly ``n`` rows.

    A cut ends with a raised-cosine fade of ``fade_s`` so it never clicks.
    """
    m = samples.shape[0]
    if m == n:
        return samples
    if m > n:
        out = samples[:n].copy()
        k = min(int(fade_s * sample_rate), n)
        if k > 0:
            gain = 0.5 * (1.0 + np.cos(np.pi * (np.arange(k) + 1) / k)).astype(np.float32)
            out[-k:] *= gain[:, None]
        return out
    pad = np.zeros((n - m, samples.shape[1]), dtype=samples.dtype)
    return np.concatenate([samples, pad], axis=0)
