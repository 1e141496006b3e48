"""Causal multi-head self-attention with rotary positions and a rolling key/value cache.

Shared by ``transformer`` and ``attention_lstm``.

**Window.** Every query attends to itself and at most ``window - 1`` positions before it. In
``forward`` over ``T <= window`` tokens that is the ordinary causal mask; over longer inputs it is
a band. So ``forward``, ``prefill`` and token-by-token ``step`` compute exactly the same thing at
any length, and generation can run for ever with a cache of bounded size.

**Rotary positions (RoPE).** Queries and keys are rotated by an angle proportional to their
absolute position; their dot product then depends only on the distance between them. Keys enter
the cache already rotated, so a cached key never needs recomputing when the window rolls on, and
positions past the training length are no problem: the model only ever sees distances
``0 .. window - 1``, as in training.

**No dropout on the attention weights.** It would force PyTorch's unfused attention: on a CPU
it made a whole training step of the small transformer several times slower. The models drop
out on the residual branches instead.

**Cache.** ``past = (k, v)``, each ``[B, n_head, L, head_dim]`` with ``L <= window - 1``: the
keys and values the next token may still see, oldest first. Each call concatenates the new keys
and returns the last ``window - 1`` of them (views; nothing is changed in place).
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import Tensor, nn

KV = tuple[Tensor, Tensor]


def rotary(
    start: int, length: int, head_dim: int, base: float, device: torch.device
) -> tuple[Tensor, Tensor]:
    """``cos, sin`` of the rotary angles for positions ``start .. start + length - 1``.

    Both ``[length, head_dim // 2]``, float32. Angles are computed in float64 (float32 on MPS,
    which has no float64) so that positions far past the training length keep their precision.
    """
    inv_freq = _inverse_frequencies(head_dim, base, device)  # [head_dim // 2]
    if length == 1:  # a generation step: one position, no arange
        angles = (inv_freq * start)[None]
    else:
        positions = torch.arange(start, start + length, device=device, dtype=inv_freq.dtype)
        angles = positions[:, None] * inv_freq[None, :]  # [length, head_dim // 2]
    return angles.cos().float(), angles.sin().float()


@lru_cache(maxsize=16)
def _inverse_frequencies(head_dim: int, base: float, device: torch.device) -> Tensor:
    """``base ** (-2i / head_dim)`` for ``i < head_dim // 2``; computed once per shape."""
    dtype = torch.float32 if device.type == "mps" else torch.float64
    return base ** (-torch.arange(0, head_dim, 2, device=device, dtype=dtype) / head_dim)


def apply_rotary(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate ``x[..., T, D]`` by ``cos, sin[T, D // 2]`` (halves paired, GPT-NeoX style)."""
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


def window_mask(length: int, past: int, window: int, device: torch.device) -> Tensor:
    """Boolean ``[length, past + length]``: True where query i may see key j.

    The queries are the last ``length`` of the ``past + length`` keys; a query sees keys
    0 .. window - 1 positions back.
    """
    q = torch.arange(past, past + length, device=device)[:, None]
    k = torch.arange(past + length, device=device)[None, :]
    distance = q - k
    return (distance >= 0) & (distance < window)


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention over ``x[B, T, dim]``, causal within ``window`` positions."""

    def __init__(self, dim: int, n_head: int, window: int) -> None:
        super().__init__()
        assert dim % n_head == 0 and (dim // n_head) % 2 == 0, "head_dim must be even (RoPE)"
        self.n_head = n_head
        self.window = window
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(
        self, x: Tensor, rope: tuple[Tensor, Tensor], past: KV | None = None
    ) -> tuple[Tensor, KV]:
        """``x[B, T, dim]`` with ``rope`` for its positions and ``past`` keys/values.

        ``past`` holds ``L`` earlier positions. Returns ``y[B, T, dim]`` and the cache for the
        next call, ``(k, v)`` each ``[B, n_head, min(L + T, window - 1), head_dim]``.
        """
        B, T, C = x.shape
        qkv = self.qkv(x).view(B, T, 3, self.n_head, C // self.n_head).permute(2, 0, 3, 1, 4)
        q, k = apply_rotary(qkv[:2], *rope).unbind(0)  # each [B, H, T, D]
        v = qkv[2]
        if past is not None:
            k = torch.cat([past[0], k], dim=2)  # [B, H, L + T, D]
            v = torch.cat([past[1], v], dim=2)
        n_past = k.size(2) - T

        if n_past == 0 and self.window >= T:  # the plain causal case (training): fused kernels
            mask, is_causal = None, T > 1
        elif T == 1 and self.window > n_past:  # one new token, every cached key in reach
            mask, is_causal = None, False
        else:
            mask, is_causal = window_mask(T, n_past, self.window, x.device), False
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal)
        y = self.proj(y.transpose(1, 2).reshape(B, T, C))

        first = max(0, k.size(2) - (self.window - 1))  # the oldest key the next token can see
        return y, (k[:, :, first:], v[:, :, first:])
