"""``transformer``: a causal decoder (GPT-2 shape, pre-norm, GELU MLP, rotary positions).

    idx[B, T] -> embedding[B, T, n_embd] -> dropout
              -> n_layer x Block:  x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))
              -> ln_f -> head[B, T, vocab_size]   (head = embedding matrix when tie_weights)

There is no position embedding: positions enter through RoPE inside attention
(:mod:`continuo.models.attention`). Attention reaches ``block_size`` positions back (itself
included); the key/value cache keeps the last ``block_size - 1`` and rolls on past the training
length, so generation costs the same per token for ever.

State: :class:`TransformerState`, one ``(k, v)`` cache per layer (each
``[B, n_head, <= block_size - 1, head_dim]``) and the position of the next token.

Initialisation (GPT-2): linear and embedding weights normal(0, 0.02), biases zero, the two
residual projections of each block normal(0, 0.02 / sqrt(2 * n_layer)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from continuo.models.attention import KV, CausalSelfAttention, rotary
from continuo.models.base import LanguageModel
from continuo.models.configs import PRESETS, TransformerConfig

__all__ = ["Block", "TransformerConfig", "TransformerLM", "TransformerState"]


@dataclass
class TransformerState:
    """Per-layer key/value caches (None before the first token) and the next position."""

    kv: list[KV | None]
    pos: int = 0


class Block(nn.Module):
    """Pre-norm decoder block: ``x + attn(ln(x))`` then ``x + mlp(ln(x))``, on ``[B, T, C]``."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        c = config
        self.ln_1 = nn.LayerNorm(c.n_embd)
        self.attn = CausalSelfAttention(c.n_embd, c.n_head, c.block_size)
        self.ln_2 = nn.LayerNorm(c.n_embd)
        self.mlp = nn.Sequential(
            nn.Linear(c.n_embd, c.mlp_ratio * c.n_embd),
            nn.GELU(),
            nn.Linear(c.mlp_ratio * c.n_embd, c.n_embd),
        )
        self.drop = nn.Dropout(c.dropout)

    def forward(self, x: Tensor, rope: tuple[Tensor, Tensor], past: KV | None) -> tuple[Tensor, KV]:
        a, present = self.attn(self.ln_1(x), rope, past)
        x = x + self.drop(a)
        x = x + self.drop(self.mlp(self.ln_2(x)))
        return x, present


class TransformerLM(LanguageModel):
    """Causal decoder with RoPE and a rolling key/value cache."""

    config_class = TransformerConfig
    presets: ClassVar[dict[str, dict[str, Any]]] = PRESETS["transformer"]

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.head = (
            None if config.tie_weights else nn.Linear(config.n_embd, config.vocab_size, bias=False)
        )

        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
        for block in self.blocks:
            for proj in (block.attn.proj, block.mlp[2]):
                nn.init.normal_(proj.weight, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    def prefill(
        self, idx: Tensor, state: TransformerState | None = None
    ) -> tuple[Tensor, TransformerState]:
        """``idx[B, T]`` after ``state`` (empty when None) -> ``logits[B, T, V]``, new state."""
        if state is None:
            state = TransformerState(kv=[None] * len(self.blocks))
        T = idx.size(1)
        head_dim = self.config.n_embd // self.config.n_head
        rope = rotary(state.pos, T, head_dim, self.config.rope_base, idx.device)

        x = self.drop(self.wte(idx))  # [B, T, n_embd]
        caches = []
        for block, past in zip(self.blocks, state.kv, strict=True):
            x, present = block(x, rope, past)
            caches.append(present)
        return self.head_logits(self.ln_f(x)), TransformerState(kv=caches, pos=state.pos + T)

    def init_state(
        self, batch_size: int, device: torch.device | str | None = None
    ) -> TransformerState:
        """An empty cache (the batch size is fixed by the first tokens given)."""
        return TransformerState(kv=[None] * len(self.blocks))
