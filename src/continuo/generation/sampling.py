"""Choosing the next token from a model's logits: temperature, top-k, nucleus (top-p), masks.

Order of operations in :func:`sample_next`, per row of the batch:

1. ``mask`` removes forbidden tokens (their logit becomes ``-inf``);
2. temperature 0 returns the arg-max of what is left (greedy decoding; top-k/top-p cannot change
   it); otherwise the logits are divided by the temperature;
3. top-k keeps the ``k`` largest logits (exactly ``k``; ties at the boundary go to the lower id);
4. top-p keeps the smallest set of most likely tokens whose probability adds up to at least ``p``
   (nucleus sampling, Holtzman, Buys, Du, Forbes and Choi, "The Curious Case of Neural Text
   Degeneration", ICLR 2020), computed on the distribution left by top-k;
5. one token is drawn from the renormalised distribution with ``torch.multinomial`` and the
   given ``torch.Generator``: the same generator state gives the same tokens.

Arguments a user chooses (temperature, top-k, top-p) are checked by
:func:`check_sampling_args` and raise :class:`~continuo.errors.ConfigError`; wrong tensor shapes
and masks that forbid every token are caller bugs and raise ``ValueError``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from continuo.errors import ConfigError

__all__ = ["Sampling", "check_sampling_args", "filter_logits", "sample_next"]


@dataclass(frozen=True)
class Sampling:
    """How the next token is chosen (see :func:`sample_next`), checked when made."""

    temperature: float = 1.0
    """0: greedy; below 1 safer choices, above 1 more adventurous ones."""
    top_k: int | None = None
    """Sample among the ``k`` likeliest tokens only (None: all)."""
    top_p: float | None = None
    """Sample among the likeliest tokens holding this much probability (None: all)."""
    rng_seed: int | None = None
    """Seed of the random draws: the same seed, settings and model give the same music
    (None: a fresh one)."""

    def __post_init__(self) -> None:
        check_sampling_args(self.temperature, self.top_k, self.top_p)

    def generator(self, device: torch.device) -> torch.Generator:
        """A ``torch.Generator`` on ``device`` seeded with :attr:`rng_seed` (or a fresh seed)."""
        generator = torch.Generator(device=device)
        generator.manual_seed(self.rng_seed if self.rng_seed is not None else torch.seed())
        return generator


def check_sampling_args(
    temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None
) -> None:
    """Raise :class:`ConfigError` (one line) unless the sampling settings are usable.

    ``temperature`` is a finite number ``>= 0``; ``top_k`` is ``None`` or an integer ``>= 1``;
    ``top_p`` is ``None`` or a number in ``(0, 1]``.
    """
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise ConfigError(f"temperature must be a number >= 0, got {temperature!r}")
    if not math.isfinite(temperature) or temperature < 0:
        raise ConfigError(f"temperature must be a finite number >= 0, got {temperature!r}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ConfigError(f"top-k must be an integer >= 1, got {top_k!r}")
    if top_p is not None:
        if isinstance(top_p, bool) or not isinstance(top_p, (int, float)):
            raise ConfigError(f"top-p must be a number in (0, 1], got {top_p!r}")
        if not (0.0 < top_p <= 1.0):
            raise ConfigError(f"top-p must be in (0, 1], got {top_p!r}")


def _check_logits(logits: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor | None:
    if logits.dim() != 2 or logits.shape[1] == 0:
        raise ValueError(f"logits must have shape [batch, vocab], got {tuple(logits.shape)}")
    if not logits.is_floating_point():
        raise ValueError(f"logits must be floating point, got {logits.dtype}")
    if mask is None:
        return None
    if mask.dtype != torch.bool:
        raise ValueError(f"mask must be a bool tensor, got {mask.dtype}")
    if mask.dim() == 1:
        mask = mask.unsqueeze(0)
    if (
        mask.dim() != 2
        or mask.shape[1] != logits.shape[1]
        or mask.shape[0]
        not in (
            1,
            logits.shape[0],
        )
    ):
        raise ValueError(
            f"mask must have shape [vocab] or [batch, vocab] = {tuple(logits.shape)}, "
            f"got {tuple(mask.shape)}"
        )
    return mask.to(logits.device)


def filter_logits(
    logits: torch.Tensor,
    *,
    top_k: int | None = None,
    top_p: float | None = None,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """``logits`` (float, ``[B, V]``) with every token that may not be sampled set to ``-inf``.

    Applies ``mask`` (bool ``[V]`` or ``[B, V]``, ``True`` = allowed), then top-k, then top-p as
    described in the module docstring. Returns a new float tensor of shape ``[B, V]``; every row
    keeps at least one finite logit (``ValueError`` if the mask leaves none).
    """
    check_sampling_args(1.0, top_k, top_p)
    mask = _check_logits(logits, mask)
    neg_inf = torch.tensor(float("-inf"), dtype=logits.dtype, device=logits.device)
    filtered = logits.masked_fill(torch.isnan(logits), float("-inf"))
    if mask is not None:
        filtered = torch.where(mask, filtered, neg_inf)
    if not bool(torch.isfinite(filtered).any(dim=1).all()):
        raise ValueError("every token is masked out (or has logit -inf/nan) in some batch row")
    vocab = filtered.shape[1]
    if top_k is not None and top_k < vocab:
        indices = torch.topk(filtered, top_k, dim=1).indices
        keep = torch.zeros_like(filtered, dtype=torch.bool).scatter_(1, indices, True)
        filtered = torch.where(keep, filtered, neg_inf)
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = torch.sort(filtered, dim=1, descending=True)
        probs = torch.softmax(sorted_logits.double(), dim=1)
        before = torch.cumsum(probs, dim=1) - probs  # mass of the tokens more likely than this one
        # a token is needed while the more likely ones hold less than p; the tolerance keeps a
        # rounding error from adding a token to a set that already reaches p exactly
        keep_sorted = before < top_p - 1e-9
        keep_sorted[:, 0] = True
        keep = torch.zeros_like(keep_sorted).scatter_(1, order, keep_sorted)
        filtered = torch.where(keep, filtered, neg_inf)
    return filtered


def sample_next(
    logits: torch.Tensor,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    mask: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Draw one token id per batch row from ``logits``.

    Args:
        logits: float ``[B, V]``, unnormalised log-probabilities of the next token.
        temperature: ``0`` is greedy (arg-max); ``< 1`` sharpens, ``> 1`` flattens.
        top_k: keep only the ``k`` most likely tokens (``None``: all).
        top_p: nucleus sampling (Holtzman et al. 2020): keep the smallest set of most likely
            tokens whose probability reaches ``p`` (``None`` or ``1``: all).
        mask: bool ``[V]`` or ``[B, V]``; ``True`` marks the tokens that may be chosen
            (e.g. forbid the separator until a minimum length).
        generator: a seeded ``torch.Generator`` on the logits' device for reproducible draws.

    Returns:
        ``LongTensor[B]`` of token ids, on the logits' device.
    """
    check_sampling_args(temperature, top_k, top_p)
    if temperature == 0:
        filtered = filter_logits(logits, mask=mask)
        return filtered.argmax(dim=1)
    scaled = logits.float() / float(temperature)
    filtered = filter_logits(scaled, top_k=top_k, top_p=top_p, mask=mask)
    probs = torch.softmax(filtered, dim=1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(1)
