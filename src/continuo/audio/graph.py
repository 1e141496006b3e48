"""The jump graph: which beat may follow which, besides the next one, and at what cost.

A jump ``i -> j`` means "after beat ``i``, play beat ``j`` instead of beat ``i + 1``". It sounds
seamless when beat ``j`` and its neighbours sound like beat ``i + 1`` and its neighbours, the idea of
the Infinite Jukebox (Paul Lamere, 2012) and of PyMusicLooper. The beat-to-beat distance is

    D[a, b] = w_c (1 - cos(chroma_a, chroma_b)) + w_t ||z_a - z_b|| / sqrt(19)
              + w_l min(|loud_a - loud_b| / 6 dB, 2)

with ``z`` the MFCCs standardised over the song, divided by the median of ``D`` over all pairs so
that 1.0 means "as different as two random beats of this song". The quality of ``i -> j`` compares
the contexts around the splice, closer beats weighing more:

    q(i, j) = sum_k w_k D[i + 1 + k, j + k] / sum_k w_k,   k = -C .. C - 1,  w_k = 1 / (1 + |k + 1/2|)

over the ``k`` where both indices exist. Each beat keeps its ``max_jumps`` best targets, and a jump
costs ``jump_penalty + q`` plus ``phase_penalty`` when it moves the bar phase (a jump length that is
not a multiple of the bar length estimated from the self-similarity).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from continuo.audio.analysis import BeatAnalysis

__all__ = [
    "GraphConfig",
    "JumpGraph",
    "beat_distances",
    "build_jump_graph",
    "estimate_bar",
    "jump_quality",
    "splice_distance",
]


@dataclass(frozen=True)
class GraphConfig:
    """Weights of the beat distance and the shape of the jump graph (see the module docstring)."""

    chroma_weight: float = 1.0
    timbre_weight: float = 1.0
    loudness_weight: float = 0.5
    context: int = 4
    max_jumps: int = 12
    min_skip: int = 4
    jump_penalty: float = 1.0
    phase_penalty: float = 0.25
    tempo_weight: float = 2.0
    splice_frames: int = 8


@dataclass(frozen=True)
class JumpGraph:
    """Jumps in compressed-row form: beat ``i``'s jumps are ``target[ptr[i]:ptr[i + 1]]``.

    ``ptr`` ``(n_beats + 1,)`` int64; ``target`` ``(n_jumps,)`` int64, the beat played next;
    ``cost`` ``(n_jumps,)`` float64; ``quality`` ``(n_jumps,)`` float64, the ``q`` of each jump;
    ``bar`` the estimated bar length in beats.
    """

    ptr: np.ndarray
    target: np.ndarray
    cost: np.ndarray
    quality: np.ndarray
    bar: int

    @property
    def n_jumps(self) -> int:
        return int(self.target.shape[0])

    def jumps_from(self, beat: int) -> list[tuple[int, float]]:
        """``[(target, cost), ...]`` of the jumps after ``beat``."""
        a, b = int(self.ptr[beat]), int(self.ptr[beat + 1])
        return [(int(t), float(c)) for t, c in zip(self.target[a:b], self.cost[a:b], strict=True)]


def beat_distances(analysis: BeatAnalysis, config: GraphConfig = GraphConfig()) -> np.ndarray:
    """The normalised beat-to-beat distance ``D`` ``(n_beats, n_beats)``, zero on the diagonal."""
    chroma = analysis.chroma.astype(np.float64)
    chroma = chroma / (np.linalg.norm(chroma, axis=1, keepdims=True) + 1e-9)
    d_chroma = 1.0 - np.clip(chroma @ chroma.T, -1.0, 1.0)
    # Silent beats have zero chroma: treat two silent beats as identical, not as orthogonal.
    silent = np.linalg.norm(analysis.chroma, axis=1) < 1e-6
    d_chroma[np.ix_(silent, silent)] = 0.0

    timbre = analysis.timbre.astype(np.float64)
    timbre = (timbre - timbre.mean(axis=0)) / (timbre.std(axis=0) + 1e-6)
    sq = (timbre**2).sum(axis=1)
    d_timbre = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * timbre @ timbre.T, 0.0))
    d_timbre /= np.sqrt(timbre.shape[1])

    loud = analysis.loudness.astype(np.float64)
    d_loud = np.minimum(np.abs(loud[:, None] - loud[None, :]) / 6.0, 2.0)

    dist = (
        config.chroma_weight * d_chroma
        + config.timbre_weight * d_timbre
        + config.loudness_weight * d_loud
    )
    n = dist.shape[0]
    off = dist[~np.eye(n, dtype=bool)]
    scale = float(np.median(off)) if off.size else 0.0
    if scale > 1e-9:
        dist = dist / scale
    np.fill_diagonal(dist, 0.0)
    return dist


def jump_quality(dist: np.ndarray, context: int) -> np.ndarray:
    """``Q`` ``(n_beats, n_beats)``: ``Q[i, j]`` = q(i, j), the context distance of the jump i -> j.

    ``Q[i, i + 1]`` is 0 (the natural continuation). Pairs with no comparable context (the last
    beat to the first) get 1.0, the distance of two random beats.
    """
    n = dist.shape[0]
    num = np.zeros((n, n))
    den = np.zeros((n, n))
    idx = np.arange(n)
    for k in range(-context, context):
        weight = 1.0 / (1.0 + abs(k + 0.5))
        a = idx + 1 + k  # row beat compared, for every i
        b = idx + k  # column beat compared, for every j
        ok_a = (a >= 0) & (a < n)
        ok_b = (b >= 0) & (b < n)
        rows = np.where(ok_a)[0]
        cols = np.where(ok_b)[0]
        if rows.size == 0 or cols.size == 0:
            continue
        num[np.ix_(rows, cols)] += weight * dist[np.ix_(a[rows], b[cols])]
        den[np.ix_(rows, cols)] += weight
    with np.errstate(invalid="ignore", divide="ignore"):
        quality = np.where(den > 0, num / np.maximum(den, 1e-12), 1.0)
    return quality


def splice_distance(analysis: BeatAnalysis, i: int, cands: np.ndarray, width: int) -> np.ndarray:
    """``F`` ``(len(cands),)``: mean absolute log-mel difference (dB) between the ``2 width`` frames
    around the end of beat ``i`` and those around the start of each candidate beat ``j``."""
    frames = analysis.frames
    n_frames = frames.shape[0]
    a = int(analysis.boundary_frames[i + 1])
    offsets = np.arange(-width, width)
    rows_a = np.clip(a + offsets, 0, n_frames - 1)
    rows_b = np.clip(analysis.boundary_frames[cands][:, None] + offsets[None, :], 0, n_frames - 1)
    return np.abs(frames[rows_b] - frames[rows_a][None]).mean(axis=(1, 2))


def build_jump_graph(analysis: BeatAnalysis, config: GraphConfig = GraphConfig()) -> JumpGraph:
    """Each beat's ``config.max_jumps`` cheapest jumps (any direction, skipping >= ``min_skip``).

    Candidates are the ``4 max_jumps`` best by beat context ``Q``; they are then scored by
    ``q = (Q + F / F_med) / 2 + tempo_weight |log2(L_{i+1} / L_j)|`` with ``F`` the splice distance
    (:func:`splice_distance`), ``F_med`` its median over random beat pairs, ``L`` the local beat
    length (median of 5 beats). The cost is ``jump_penalty + (q / q_ref)^2`` plus the phase penalty,
    ``q_ref`` the median over beats of their best ``q``: an ordinary jump for this song costs about
    ``jump_penalty + 1`` and a jump twice as bad four times as much.
    """
    n = analysis.n_beats
    dist = beat_distances(analysis, config)
    quality = jump_quality(dist, config.context)
    bar = estimate_bar(dist)
    min_skip = config.min_skip if n >= 8 * config.min_skip else max(1, n // 8)
    width = config.splice_frames
    rng = np.random.default_rng(0)
    probe_i = rng.integers(0, max(n - 1, 1), size=min(64, max(n - 1, 1)))
    f_med = float(
        np.median(
            np.concatenate(
                [
                    splice_distance(analysis, int(i), rng.integers(0, n, size=8), width)
                    for i in probe_i
                ]
            )
        )
    )
    f_med = f_med if f_med > 1e-6 else 1.0
    lengths = analysis.beat_lengths.astype(np.float64)
    local = np.array([np.median(lengths[max(k - 2, 0) : k + 3]) for k in range(n)])

    j_all = np.arange(n)
    per_beat: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for i in range(n):
        skip = j_all - (i + 1)
        allowed = (np.abs(skip) >= min_skip) & np.isfinite(quality[i])
        cand = j_all[allowed]
        if cand.size == 0:
            per_beat.append((cand, np.zeros(0), np.zeros(0)))
            continue
        cand = cand[np.argsort(quality[i, cand], kind="stable")[: 4 * config.max_jumps]]
        fine = splice_distance(analysis, i, cand, width) / f_med
        nxt = min(i + 1, n - 1)
        tempo = np.abs(np.log2(local[nxt] / local[cand]))
        q = 0.5 * (quality[i, cand] + fine) + config.tempo_weight * tempo
        off_bar = ((cand - (i + 1)) % bar) != 0 if bar > 1 else np.zeros(cand.size, bool)
        per_beat.append((cand, q, off_bar.astype(np.float64)))
    best = [float(q.min()) for _, q, _ in per_beat if q.size]
    q_ref = float(np.median(best)) if best else 1.0
    q_ref = q_ref if q_ref > 1e-6 else 1.0

    ptr = np.zeros(n + 1, dtype=np.int64)
    targets: list[np.ndarray] = []
    costs: list[np.ndarray] = []
    qualities: list[np.ndarray] = []
    for i, (cand, q, off_bar) in enumerate(per_beat):
        cost = config.jump_penalty + (q / q_ref) ** 2 + config.phase_penalty * off_bar
        keep = np.argsort(cost, kind="stable")[: config.max_jumps]
        targets.append(cand[keep])
        costs.append(cost[keep])
        qualities.append(q[keep])
        ptr[i + 1] = ptr[i] + keep.size
    empty = np.zeros(0)
    return JumpGraph(
        ptr=ptr,
        target=np.concatenate(targets).astype(np.int64) if targets else empty.astype(np.int64),
        cost=np.concatenate(costs) if costs else empty,
        quality=np.concatenate(qualities) if qualities else empty,
        bar=bar,
    )


def estimate_bar(dist: np.ndarray, candidates: tuple[int, ...] = (4, 3, 2)) -> int:
    """The bar length in beats: the lag whose multiples make the song most self-similar.

    For each candidate ``m``, the mean of ``D`` along the diagonals at lags ``m, 2m, ...`` (up to
    16 beats) against the mean over all other lags up to 16; the lowest ratio wins, 4 on a tie or
    when the song is too short to tell (fewer than 24 beats).
    """
    n = dist.shape[0]
    if n < 24:
        return 4 if n >= 8 else 1
    lag_mean = {lag: float(np.mean(np.diagonal(dist, offset=lag))) for lag in range(1, 17)}
    best, best_score = 4, np.inf
    for m in candidates:
        on = [lag_mean[lag] for lag in range(m, 17, m)]
        off = [v for lag, v in lag_mean.items() if lag % m]
        score = np.mean(on) / (np.mean(off) + 1e-9)
        if score < best_score - 0.02:
            best, best_score = m, score
    return best
