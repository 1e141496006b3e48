"""Comparing a set of generated pieces with a set of real ones, one statistic at a time.

The method of Yang & Lerch 2020 ("On the evaluation of generative models in music", Neural
Computing and Applications 32, §3):

1. *Absolute*: each statistic (:mod:`continuo.evaluation.stats`) per piece; mean and standard
   deviation per set.
2. *Relative*: the intra-set distances of a set ``X`` are ``{‖x_i - x_j‖ : i < j}`` (Euclidean,
   so for vectors such as the pitch-class histogram too); the inter-set distances of ``X`` and
   ``Y`` are ``{‖x_i - y_j‖}`` for all pairs. Each set of distances is smoothed into a density by
   a Gaussian kernel density estimate (KDE), and the density of the *reference* set's intra-set
   distances is compared with that of the inter-set distances by

   - the overlapping area ``OA(p, q) = ∫ min(p(x), q(x)) dx`` (1: the generated pieces are as
     far from the real ones as the real ones are from each other; 0: nothing in common), and
   - the Kullback-Leibler divergence ``KL(p ‖ q) = ∫ p(x) log(p(x) / q(x)) dx`` in nats.

For a scalar statistic the overlap of the two sets' own value densities,
``OA(KDE(generated values), KDE(reference values))``, is reported too (``value_overlap``): the
plainest reading of "how much the two distributions overlap".

KDE: Gaussian kernel, Scott's bandwidth ``h = σ n^(-1/5)`` (σ with ``ddof=1``; what
``scipy.stats.gaussian_kde`` uses in one dimension), floored at 1% of the spread of both sets
together so that a set of equal values is a narrow peak rather than a division by zero. The
integrals are taken on a grid of 2,049 points reaching 4 bandwidths past the samples on both
sides. Yang & Lerch's reference code (mgeval) integrates only between the smallest and largest
sample, which cuts off the tails (two identical sets overlap by less than 1), and evaluates the
two densities of its KL divergence on *different* grids; both are avoided here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from continuo.evaluation.stats import METRICS
from continuo.score import Score

__all__ = [
    "MetricComparison",
    "SetComparison",
    "compare_sets",
    "gaussian_kde",
    "inter_set_distances",
    "intra_set_distances",
    "kl_divergence",
    "overlap_area",
]

_GRID_POINTS = 2049
_BANDWIDTH_FLOOR = 0.01


def intra_set_distances(values: np.ndarray) -> np.ndarray:
    """``‖x_i - x_j‖`` for all ``i < j``; ``values`` of shape ``(n,)`` or ``(n, d)``.
    Returns shape ``(n (n-1) / 2,)``."""
    x = _rows(values)
    i, j = np.triu_indices(len(x), k=1)
    return np.linalg.norm(x[i] - x[j], axis=1)


def inter_set_distances(values: np.ndarray, others: np.ndarray) -> np.ndarray:
    """``‖x_i - y_j‖`` for all pairs; shapes ``(n,)``/``(n, d)`` and ``(m,)``/``(m, d)``.
    Returns shape ``(n m,)``."""
    x, y = _rows(values), _rows(others)
    return np.linalg.norm(x[:, None, :] - y[None, :, :], axis=2).ravel()


def _rows(values: np.ndarray) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64)
    return x[:, None] if x.ndim == 1 else x


def gaussian_kde(samples: np.ndarray, bandwidth: float) -> Callable[[np.ndarray], np.ndarray]:
    """The density ``p(x) = 1/(n h) sum_i φ((x - s_i) / h)`` of ``samples`` (shape ``(n,)``),
    ``φ`` the standard normal density, as a function of points ``x`` (any shape)."""
    s = np.asarray(samples, dtype=np.float64).ravel()
    norm = 1.0 / (len(s) * bandwidth * math.sqrt(2 * math.pi))

    def density(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        flat = x.ravel()
        total = np.zeros(len(flat))
        for start in range(0, len(s), 2048):  # chunks keep memory at 2048 x len(x)
            z = (flat[:, None] - s[None, start : start + 2048]) / bandwidth
            total += np.exp(-0.5 * z * z).sum(axis=1)
        return (total * norm).reshape(x.shape)

    return density


def _densities(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The KDEs of ``a`` and ``b`` on one grid: ``(grid, p_a, p_b)``; ``None`` when both sets
    are the same single value (two equal point masses)."""
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    pooled = np.concatenate([a, b])
    spread = float(pooled.max() - pooled.min())
    if spread == 0.0:
        return None
    floor = _BANDWIDTH_FLOOR * spread
    h_a = max(float(a.std(ddof=1)) * len(a) ** -0.2, floor)
    h_b = max(float(b.std(ddof=1)) * len(b) ** -0.2, floor)
    reach = 4 * max(h_a, h_b)
    grid = np.linspace(pooled.min() - reach, pooled.max() + reach, _GRID_POINTS)
    return grid, gaussian_kde(a, h_a)(grid), gaussian_kde(b, h_b)(grid)


def _integrate(values: np.ndarray, grid: np.ndarray) -> float:
    """The trapezoid rule on the uniform ``grid`` (``np.trapezoid`` is numpy 2 only)."""
    step = float(grid[1] - grid[0])
    return step * float(values.sum() - 0.5 * (values[0] + values[-1]))


def overlap_area(a: np.ndarray, b: np.ndarray) -> float:
    """``∫ min(p_a, p_b) dx`` of the KDEs of samples ``a`` and ``b`` (each at least 2 values),
    between 0 and 1; ``nan`` with fewer than 2 samples in either."""
    if np.size(a) < 2 or np.size(b) < 2:
        return float("nan")
    found = _densities(a, b)
    if found is None:
        return 1.0
    grid, p, q = found
    return float(min(1.0, _integrate(np.minimum(p, q), grid)))


def kl_divergence(a: np.ndarray, b: np.ndarray) -> float:
    """``KL(p_a ‖ p_b) = ∫ p_a log(p_a / p_b) dx`` in nats, of the KDEs of ``a`` and ``b``;
    ``p_b`` is floored at ``1e-12 max p_b`` where its tail underflows. ``nan`` with fewer than
    2 samples in either set."""
    if np.size(a) < 2 or np.size(b) < 2:
        return float("nan")
    found = _densities(a, b)
    if found is None:
        return 0.0
    grid, p, q = found
    p = p / _integrate(p, grid)
    q = np.maximum(q / _integrate(q, grid), 1e-12 * q.max())
    mask = p > 0
    integrand = np.zeros_like(p)
    integrand[mask] = p[mask] * np.log(p[mask] / q[mask])
    return float(max(0.0, _integrate(integrand, grid)))


@dataclass
class MetricComparison:
    """One statistic over both sets; see the module docstring for the figures."""

    name: str
    generated_mean: float | list[float]
    generated_std: float | list[float]
    reference_mean: float | list[float]
    reference_std: float | list[float]
    overlap: float
    """Yang & Lerch's OA: intra-set distances of the reference set vs inter-set distances."""
    kl: float
    """``KL(intra(reference) ‖ inter)`` in nats."""
    value_overlap: float | None
    """OA of the two sets' value densities (scalar statistics only)."""
    generated: int
    reference: int
    """Pieces for which the statistic is defined, in each set."""


@dataclass
class SetComparison:
    """Every statistic of :data:`~continuo.evaluation.stats.METRICS` over two sets."""

    generated: int
    reference: int
    metrics: dict[str, MetricComparison] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``nan`` becomes ``None``."""
        return _json_ready(
            {
                "generated": self.generated,
                "reference": self.reference,
                "metrics": {
                    name: {k: v for k, v in vars(m).items() if k != "name"}
                    for name, m in self.metrics.items()
                },
            }
        )


def compare_sets(
    generated: Sequence[Score],
    reference: Sequence[Score],
    metrics: Mapping[str, Callable[[Score], float | np.ndarray]] = METRICS,
) -> SetComparison:
    """Each statistic of ``metrics`` on every piece of both sets, compared as in the module
    docstring. Pieces where a statistic is ``nan`` are left out of that statistic."""
    result = SetComparison(len(generated), len(reference))
    for name, metric in metrics.items():
        gen = _values(generated, metric)
        ref = _values(reference, metric)
        scalar = gen.ndim == 1
        intra = intra_set_distances(ref) if len(ref) >= 2 else np.zeros(0)
        inter = inter_set_distances(gen, ref) if len(gen) and len(ref) else np.zeros(0)
        result.metrics[name] = MetricComparison(
            name=name,
            generated_mean=_summary(gen, np.mean),
            generated_std=_summary(gen, np.std),
            reference_mean=_summary(ref, np.mean),
            reference_std=_summary(ref, np.std),
            overlap=overlap_area(intra, inter),
            kl=kl_divergence(intra, inter),
            value_overlap=overlap_area(gen, ref) if scalar else None,
            generated=len(gen),
            reference=len(ref),
        )
    return result


def _values(scores: Sequence[Score], metric: Callable[[Score], Any]) -> np.ndarray:
    """The statistic of each score, ``nan`` results dropped: ``(n,)`` or ``(n, d)``."""
    values = [np.asarray(metric(score), dtype=np.float64) for score in scores]
    values = [v for v in values if not np.isnan(v).any()]
    if not values:
        return np.zeros(0)
    return np.stack(values)


def _summary(values: np.ndarray, reduce: Callable[..., Any]) -> float | list[float]:
    if not len(values):
        return float("nan")
    out = reduce(values, axis=0)
    return out.tolist() if np.ndim(out) else float(out)


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
