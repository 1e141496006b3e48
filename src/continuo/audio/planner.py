"""The path through the jump graph: from the first beat to the song's own ending, at a duration.

A path is the intro, runs of consecutive beats joined by jumps, and the outro. It is found by dynamic
programming over states ``(t, i)`` = "about to play beat ``i`` at output time ``t``" with time in
bins of ``bin_s`` seconds (10 ms unless the problem is huge). From a state one may

- play beat ``i`` and go on to ``i + 1`` (free), or
- play beat ``i``, jump to ``j`` and play at least ``min_run`` beats from ``j`` on (cost of the jump).

The path must end with the last beat and the outro (the song's own ending) within one beat of the
target; when no such path exists, or when it would cost more than ``fade_penalty`` over the
alternative, the path may instead run straight from some beat to the target and fade out there.
Bin positions are rounded from cumulative sample positions, so a run's length is off by at most one
bin; the exact duration of each candidate ending is recomputed from samples before choosing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from continuo.audio.analysis import BeatAnalysis
from continuo.audio.graph import JumpGraph
from continuo.errors import ConfigError

__all__ = ["MAX_STATES", "Plan", "PlanConfig", "plan_path"]

#: Upper bound on time bins x beats held by the dynamic programme (8 bytes each).
MAX_STATES = 12_000_000


@dataclass(frozen=True)
class PlanConfig:
    """``min_run``: beats played after a jump before another (capped at a quarter of the song);
    ``fade_penalty``: cost of ending in a fade instead of on the song's ending; ``deviation_cost``:
    cost per beat of distance from the target duration; ``fade_s``: length of a fade-out ending."""

    min_run: int = 8
    fade_penalty: float = 3.0
    deviation_cost: float = 0.5
    fade_s: float = 3.0
    bin_s: float = 0.01


@dataclass(frozen=True)
class Plan:
    """Source sample ranges ``segments`` (``[(start, end), ...]``) played in order, the costs of the
    jumps between them (``len(segments) - 1``), the ``ending`` (``"song"`` or ``"fade"``) and the
    total length in samples before any final trim or pad."""

    segments: list[tuple[int, int]]
    jump_costs: list[float]
    ending: str
    length: int

    @property
    def cost(self) -> float:
        return float(sum(self.jump_costs))


def plan_path(
    analysis: BeatAnalysis,
    graph: JumpGraph,
    target_samples: int,
    config: PlanConfig = PlanConfig(),
) -> Plan:
    """The cheapest path of about ``target_samples`` samples (see the module docstring)."""
    n = analysis.n_beats
    sr = analysis.sample_rate
    bounds = analysis.boundaries.astype(np.int64)
    intro = int(bounds[0])
    outro = int(analysis.n_samples - bounds[-1])
    beat = float(np.median(np.diff(bounds)))
    target_s = target_samples / sr
    bin_s = max(config.bin_s, target_s * (n + 1) / MAX_STATES)
    bin_len = bin_s * sr
    tol = 0.5 * beat  # samples: an ending within half a beat either side
    fade_len = int(min(config.fade_s * sr, 0.5 * target_samples))
    n_bins = int(np.ceil((target_samples + tol) / bin_len)) + 2
    if n_bins * (n + 1) > 4 * MAX_STATES:
        raise ConfigError(f"a {target_s:.0f} s output is too long to plan for this input")
    qb = np.round(bounds / bin_len).astype(np.int64)
    min_run = int(max(1, min(config.min_run, n // 4)))
    start_bin = int(np.round(intro / bin_len))

    dp, back = _forward(qb, graph.ptr, graph.target, graph.cost, min_run, n_bins, start_bin)
    edge_source = np.repeat(np.arange(n), np.diff(graph.ptr)).astype(np.int64)

    best: tuple[float, int, int, str] | None = None  # (score, t, beat, ending)
    # Song endings: finished the last beat at bin t, then the outro.
    for t in np.nonzero(np.isfinite(dp[:, n]))[0]:
        approx = t * bin_len + outro
        if abs(approx - target_samples) > tol + 2 * bin_len:
            continue
        exact = _path_samples(back, qb, bounds, graph, edge_source, min_run, int(t), n) + intro
        dev = abs(exact + outro - target_samples)
        if dev > tol:
            continue
        score = float(dp[t, n]) + config.deviation_cost * dev / beat
        if best is None or score < best[0]:
            best = (score, int(t), n, "song")
    # Fade endings: at beat i at time t, play straight to the target and fade out.
    song_best = best[0] if best is not None else np.inf
    lo = int(np.floor((target_samples - fade_len - 4 * beat) / bin_len))
    hi = int(np.ceil((target_samples - fade_len) / bin_len))
    lo, hi = max(lo, 0), min(hi, n_bins - 1)
    if hi >= lo:
        window = dp[lo : hi + 1, :n]
        ts, beats = np.nonzero(np.isfinite(window))
        scores = window[ts, beats] + config.fade_penalty
        # Prefer, at equal cost, the latest state (the shortest straight run into the fade).
        for k in np.lexsort((-ts, scores))[:200]:
            score = float(scores[k])
            if score >= song_best:
                break
            t, i = int(ts[k]) + lo, int(beats[k])
            exact = _path_samples(back, qb, bounds, graph, edge_source, min_run, t, i)
            remaining = target_samples - (exact + intro)
            if remaining < fade_len or bounds[i] + remaining > analysis.n_samples:
                continue
            best = (score, t, i, "fade")
            break
    if best is None:
        raise ConfigError(f"no path of {target_s:.1f} s through this recording was found")
    _, t, end_beat, ending = best
    runs, costs = _backtrack(back, qb, graph, edge_source, min_run, t, end_beat)
    segments = [(int(bounds[a]), int(bounds[b])) for a, b in runs]
    segments[0] = (0, segments[0][1])
    if ending == "song":
        segments[-1] = (segments[-1][0], analysis.n_samples)
    else:
        played = sum(b - a for a, b in segments)
        start = segments[-1][0]
        segments[-1] = (start, start + (segments[-1][1] - start) + (target_samples - played))
    length = sum(b - a for a, b in segments)
    return Plan(segments=segments, jump_costs=costs, ending=ending, length=int(length))


def _path_samples(back, qb, bounds, graph, edge_source, min_run, t, beat) -> int:
    """Exact played samples (intro excluded) on the best path to state ``(t, beat)``."""
    runs, _ = _backtrack(back, qb, graph, edge_source, min_run, t, beat)
    return int(sum(bounds[b] - bounds[a] for a, b in runs))


def _backtrack(back, qb, graph, edge_source, min_run, t, beat):
    """Runs ``[(first_beat, end_beat_exclusive), ...]`` and jump costs on the path to (t, beat)."""
    runs: list[tuple[int, int]] = []
    costs: list[float] = []
    end = beat
    i = beat
    while True:
        code = int(back[t, i])
        if code == -2:  # the start state
            runs.append((i, end))
            break
        if code == -1:  # came straight from beat i - 1
            t -= int(qb[i] - qb[i - 1])
            i -= 1
            continue
        j = int(graph.target[code])
        src = int(edge_source[code])
        runs.append((j, end))
        costs.append(float(graph.cost[code]))
        t -= int(qb[i] - qb[j]) + int(qb[src + 1] - qb[src])
        i = src
        end = src + 1
    runs.reverse()
    costs.reverse()
    # The first run must start at beat 0 (the path is anchored at the start of the song).
    assert runs[0][0] == 0, runs
    merged: list[tuple[int, int]] = [runs[0]]
    merged_costs: list[float] = []
    for run, cost in zip(runs[1:], costs, strict=True):
        if run[0] == merged[-1][1]:  # a "jump" to the next beat: no splice at all
            merged[-1] = (merged[-1][0], run[1])
        else:
            merged.append(run)
            merged_costs.append(cost)
    return merged, merged_costs


@numba.njit(cache=True, nogil=True)
def _forward(qb, ptr, target, cost, min_run, n_bins, start_bin):  # pragma: no cover - numba
    """Forward pass: ``dp`` ``(n_bins, n_beats + 1)`` float32 costs and ``back`` int32 codes
    (-2 start, -1 straight from the previous beat, e >= 0 arrived by jump edge ``e``)."""
    n = qb.shape[0] - 1
    dp = np.full((n_bins, n + 1), np.inf, dtype=np.float32)
    back = np.full((n_bins, n + 1), -3, dtype=np.int32)
    if start_bin >= n_bins:
        return dp, back
    dp[start_bin, 0] = 0.0
    back[start_bin, 0] = -2
    for t in range(n_bins):
        for i in range(n):
            c = dp[t, i]
            if c == np.inf:
                continue
            t1 = t + qb[i + 1] - qb[i]
            if t1 >= n_bins:
                continue
            if c < dp[t1, i + 1]:
                dp[t1, i + 1] = c
                back[t1, i + 1] = -1
            if i + 1 < min_run:
                continue
            for e in range(ptr[i], ptr[i + 1]):
                j = target[e]
                land = j + min_run
                if land > n:
                    continue
                t2 = t1 + qb[land] - qb[j]
                if t2 >= n_bins:
                    continue
                c2 = c + cost[e]
                if c2 < dp[t2, land]:
                    dp[t2, land] = c2
                    back[t2, land] = e
    return dp, back
