"""Pictures for the Audio page: an extended recording's waveform with its splice points."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np

__all__ = ["envelope", "waveform_png"]

WAVE_COLOUR = "#3b6fd6"
GENERATED_COLOUR = "#8a5cd6"
SPLICE_COLOUR = "#e4572e"


def envelope(samples: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-bin minimum and maximum of ``samples`` ``(n, channels)`` mixed to mono: at most
    ``bins`` bins of equal length (the last one may be shorter)."""
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    if mono.size == 0:
        return np.zeros(1, np.float32), np.zeros(1, np.float32)
    size = max(1, int(np.ceil(mono.size / bins)))
    pad = (-mono.size) % size
    padded = np.concatenate([mono, np.full(pad, mono[-1], mono.dtype)]) if pad else mono
    frames = padded.reshape(-1, size)
    return frames.min(axis=1), frames.max(axis=1)


def waveform_png(
    samples: np.ndarray,
    sample_rate: int,
    splices: Sequence[float],
    *,
    generated_from: float | None = None,
    title: str | None = None,
    width_px: int = 1000,
    height_px: int = 260,
) -> bytes:
    """A PNG of the waveform with a marked line at each splice time (seconds); the part from
    ``generated_from`` seconds on (a model's continuation) is drawn in its own colour."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    dpi = 100
    low, high = envelope(samples, width_px * 2)
    duration = samples.shape[0] / sample_rate
    times = np.linspace(0.0, duration, low.size)
    figure = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    axes = figure.add_subplot()
    handles: list = []
    if generated_from is not None and generated_from < duration:
        cut = int(np.searchsorted(times, generated_from))
        axes.fill_between(times[: cut + 1], low[: cut + 1], high[: cut + 1], color=WAVE_COLOUR)
        axes.fill_between(times[cut:], low[cut:], high[cut:], color=GENERATED_COLOUR)
        handles += [
            Patch(color=WAVE_COLOUR, label="recording"),
            Patch(color=GENERATED_COLOUR, label="generated"),
        ]
    else:
        axes.fill_between(times, low, high, color=WAVE_COLOUR, linewidth=0)
        handles.append(Patch(color=WAVE_COLOUR, label="output"))
    peak = float(max(np.abs(low).max(initial=0.0), np.abs(high).max(initial=0.0), 1e-3))
    for time in splices:
        axes.axvline(time, color=SPLICE_COLOUR, linewidth=1.4, linestyle="--")
        axes.plot([time], [peak * 1.08], marker="v", color=SPLICE_COLOUR, markersize=7)
    if splices:
        handles.append(
            Line2D([], [], color=SPLICE_COLOUR, linestyle="--", marker="v", label="splice")
        )
    axes.set_xlim(0.0, max(duration, 1e-3))
    axes.set_ylim(-peak * 1.18, peak * 1.18)
    axes.set_yticks([])
    axes.set_xlabel("seconds")
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)
    axes.legend(
        handles=handles,
        loc="lower right",
        bbox_to_anchor=(1.0, 1.0),
        ncols=len(handles),
        fontsize=8,
        frameon=False,
        borderaxespad=0.1,
    )
    if title:
        axes.set_title(title, fontsize=10, loc="left")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
