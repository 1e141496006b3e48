"""A readable piano-roll picture of a score, seed and continuation in different colours.

:func:`pianoroll_figure` builds a matplotlib :class:`~matplotlib.figure.Figure` without pyplot
(no global state, no GUI backend: safe in a CLI, a test run or a Streamlit worker thread);
:func:`continuo.io.render.write_pianoroll_png` saves it. Bar lines come from
:func:`continuo.score.bar_starts`, which seed clipping uses as well.

Layout: x is time, with a line at every bar (labelled with bar numbers) and fainter lines at
every beat; y is pitch, with note names and the black-key rows shaded like a keyboard, cut to the
range the notes use (at least an octave). Drum tracks are left out (their "pitches" are drums).
"""

from __future__ import annotations

from itertools import pairwise
from typing import TYPE_CHECKING

import numpy as np
import symusic

from continuo.score import Score, bar_starts, note_table, pitch_name

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["CONTINUATION_COLOUR", "SEED_COLOUR", "pianoroll_figure"]

SEED_COLOUR = "#3a6ea5"
CONTINUATION_COLOUR = "#e07b39"
_BLACK_KEYS = frozenset({1, 3, 6, 8, 10})


def _beat_ticks(score: Score, starts: list[int], end_tick: int) -> list[int]:
    """Ticks of the beats (denominator units) inside the bars, for faint grid lines."""
    tpq = score.ticks_per_quarter
    signatures = sorted(
        (int(sig.time), sig.denominator) for sig in score.time_signatures if sig.denominator > 0
    )
    beats: list[int] = []
    bounds = [*starts, end_tick]
    for start, stop in pairwise(bounds):
        denominator = 4
        for time, value in signatures:
            if time <= start:
                denominator = value
        step = max(round(tpq * 4 / denominator), 1)
        beats.extend(range(start + step, stop, step))
    return beats


def pianoroll_figure(
    score: Score, *, seed_end_tick: int | None = None, title: str | None = None
) -> Figure:
    """A piano-roll :class:`~matplotlib.figure.Figure` of ``score`` (ticks, or converted to them).

    Notes with onset ``< seed_end_tick`` are the seed (blue), later ones the continuation
    (orange); ``None`` draws every note in one colour. Width grows with the length of the piece
    (8 to 22 inches), height with its pitch range (3.5 to 9 inches).
    """
    from matplotlib.collections import PatchCollection
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch, Rectangle

    if score.ttype != symusic.TimeUnit.tick:
        score = score.to("tick")
    tpq = score.ticks_per_quarter
    table = note_table(score, include_drums=False)
    onsets, durations, pitches = table[:, 0], table[:, 1], table[:, 2]
    end_tick = int((onsets + durations).max()) if len(table) else 4 * tpq
    if seed_end_tick is not None:
        end_tick = max(end_tick, int(seed_end_tick))
    starts = bar_starts(score, end_tick)
    quarters = end_tick / tpq

    if len(table):
        low, high = int(pitches.min()) - 1, int(pitches.max()) + 1
    else:
        low, high = 59, 73
    if high - low < 12:
        pad = 12 - (high - low)
        low, high = low - pad // 2, high + pad - pad // 2
    span = high - low + 1
    width = float(np.clip(3.5 + quarters * 0.2, 8.0, 22.0))
    height = float(np.clip(1.8 + span * 0.17, 3.5, 9.0))
    figure = Figure(figsize=(width, height), layout="constrained")
    axes = figure.add_subplot()

    # keyboard background: shaded black-key rows, a stronger line under every C
    for pitch in range(low, high + 1):
        if pitch % 12 in _BLACK_KEYS:
            axes.axhspan(pitch - 0.5, pitch + 0.5, color="#eeeeee", lw=0, zorder=0)
        if pitch % 12 == 0:
            axes.axhline(pitch - 0.5, color="#bbbbbb", lw=0.6, zorder=0.5)
    for beat in _beat_ticks(score, starts, end_tick):
        axes.axvline(beat / tpq, color="#e2e2e2", lw=0.5, zorder=0.6)
    for start in starts:
        axes.axvline(start / tpq, color="#9a9a9a", lw=0.8, zorder=0.7)

    if seed_end_tick is None:
        groups = [(np.ones(len(table), dtype=bool), SEED_COLOUR, "notes")]
    else:
        seed = onsets < seed_end_tick
        groups = [(seed, SEED_COLOUR, "seed"), (~seed, CONTINUATION_COLOUR, "continuation")]
    handles: list = []
    for selected, colour, label in groups:
        count = int(selected.sum())
        if count:
            boxes = [
                Rectangle((onset / tpq, pitch - 0.42), max(duration / tpq, 0.02), 0.84)
                for onset, duration, pitch in zip(
                    onsets[selected], durations[selected], pitches[selected], strict=True
                )
            ]
            axes.add_collection(
                PatchCollection(boxes, facecolor=colour, edgecolor="#222222", lw=0.5, zorder=2)
            )
        if count or seed_end_tick is not None:
            handles.append(Patch(facecolor=colour, edgecolor="#222222", label=f"{label} ({count})"))
    if seed_end_tick is not None:
        line = axes.axvline(seed_end_tick / tpq, color="#c0392b", ls="--", lw=1.5, zorder=3)
        line.set_label("seed end")
        handles.append(line)
    if not len(table):
        axes.text(
            quarters / 2, (low + high) / 2, "no notes", ha="center", va="center", color="#777777"
        )

    axes.set_xlim(0, quarters)
    axes.set_ylim(low - 0.5, high + 0.5)
    _label_pitches(axes, low, high)
    _label_bars(axes, starts, tpq)
    signatures = {(sig.numerator, sig.denominator) for sig in score.time_signatures}
    metre = "{}/{}".format(*signatures.pop()) if len(signatures) == 1 else None
    axes.set_xlabel(f"bar ({metre})" if metre else "bar")
    axes.set_ylabel("pitch")
    axes.tick_params(axis="both", labelsize=8)
    if title:
        axes.set_title(title, loc="left", fontsize=11)
    if handles:
        axes.legend(
            handles=handles,
            loc="lower right",
            bbox_to_anchor=(1.0, 1.0),
            ncol=len(handles),
            fontsize=8,
            frameon=False,
            borderaxespad=0.2,
        )
    return figure


def _label_pitches(axes, low: int, high: int) -> None:
    span = high - low + 1
    if span <= 30:
        ticks = list(range(low, high + 1))
    elif span <= 48:
        ticks = [p for p in range(low, high + 1) if p % 12 in (0, 4, 7)]
    else:
        ticks = [p for p in range(low, high + 1) if p % 12 == 0]
    axes.set_yticks(ticks, [pitch_name(p) for p in ticks])


def _label_bars(axes, starts: list[int], tpq: int) -> None:
    every = max(1, int(np.ceil(len(starts) / 40)))
    shown = [(i, s) for i, s in enumerate(starts) if i % every == 0]
    axes.set_xticks([s / tpq for _, s in shown], [str(i + 1) for i, _ in shown])
