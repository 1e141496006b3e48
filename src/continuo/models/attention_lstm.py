"""``attention_lstm``: an LSTM whose outputs attend causally to the outputs before them.

The folk-melody seed's best model, made causal and incremental:

    idx[B, T] -> embedding[B, T, n_embd] -> dropout
              -> LSTM (n_layer stacked)                    h[B, T, hidden_size]
              -> causal multi-head self-attention over h    a[B, T, hidden_size]
              -> add & norm:  y = LayerNorm(h + dropout(a))
              -> dropout -> linear head[B, T, vocab_size]

The attention reaches ``block_size`` outputs back (itself included) and uses rotary positions, so
it can pick out "the note one bar ago" by distance (see :mod:`continuo.models.attention`).

State: :class:`AttentionLSTMState`, the LSTM's ``(h, c)`` (each ``[n_layer, B, hidden_size]``),
the attention cache ``(k, v)`` over the last ``block_size - 1`` outputs and the next position.
A step is one LSTM update plus attention over at most ``block_size`` outputs.

Initialisation: the LSTM, embedding and head as in :mod:`continuo.models.recurrent` (orthogonal
recurrent weights, forget-gate bias 1); attention projections normal(0, 0.02), biases zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from continuo.models.attention import KV, CausalSelfAttention, rotary
from continuo.models.base import LanguageModel
from continuo.models.configs import PRESETS, AttentionLSTMConfig
from continuo.models.recurrent import init_recurrent_, run_recurrent

__all__ = ["AttentionLSTMConfig", "AttentionLSTMLM", "AttentionLSTMState"]


@dataclass
class AttentionLSTMState:
    """The LSTM's ``(h, c)``, the attention cache (None before the first token), the position."""

    lstm: tuple[Tensor, Tensor]
    kv: KV | None = None
    pos: int = 0


class AttentionLSTMLM(LanguageModel):
    """LSTM + one causal self-attention layer (add & norm) + linear head."""

    config_class = AttentionLSTMConfig
    presets: ClassVar[dict[str, dict[str, Any]]] = PRESETS["attention_lstm"]

    def __init__(self, config: AttentionLSTMConfig) -> None:
        super().__init__()
        c = config
        self.config = config
        self.wte = nn.Embedding(c.vocab_size, c.n_embd)
        self.drop = nn.Dropout(c.dropout)
        self.lstm = nn.LSTM(
            c.n_embd,
            c.hidden_size,
            num_layers=c.n_layer,
            dropout=c.dropout if c.n_layer > 1 else 0.0,
            batch_first=True,
        )
        self.attn = CausalSelfAttention(c.hidden_size, c.n_head, c.block_size)
        self.ln = nn.LayerNorm(c.hidden_size)
        self.head = None if c.tie_weights else nn.Linear(c.hidden_size, c.vocab_size)

        nn.init.normal_(self.wte.weight, mean=0.0, std=1.0)
        init_recurrent_(self.lstm)
        for linear in (self.attn.qkv, self.attn.proj):
            nn.init.normal_(linear.weight, mean=0.0, std=0.02)
            nn.init.zeros_(linear.bias)
        if self.head is not None:
            nn.init.uniform_(self.head.weight, -0.1, 0.1)
            nn.init.zeros_(self.head.bias)

    def prefill(
        self, idx: Tensor, state: AttentionLSTMState | None = None
    ) -> tuple[Tensor, AttentionLSTMState]:
        """``idx[B, T]`` after ``state`` (zeros when None) -> ``logits[B, T, V]``, new state."""
        if state is None:
            lstm_state, past, pos = None, None, 0
        else:
            lstm_state, past, pos = state.lstm, state.kv, state.pos
        T = idx.size(1)
        head_dim = self.config.hidden_size // self.config.n_head
        rope = rotary(pos, T, head_dim, self.config.rope_base, idx.device)

        x = self.drop(self.wte(idx))  # [B, T, n_embd]
        h, lstm_state = run_recurrent(self.lstm, x, lstm_state)  # [B, T, hidden_size]
        a, present = self.attn(h, rope, past)  # [B, T, hidden_size]
        y = self.drop(self.ln(h + self.drop(a)))
        return self.head_logits(y), AttentionLSTMState(lstm=lstm_state, kv=present, pos=pos + T)

    def init_state(
        self, batch_size: int, device: torch.device | str | None = None
    ) -> AttentionLSTMState:
        """Zero LSTM state ``[n_layer, B, hidden_size]`` and an empty attention cache."""
        c = self.config
        h = torch.zeros(c.n_layer, batch_size, c.hidden_size, device=device, dtype=self._dtype())
        return AttentionLSTMState(lstm=(h, torch.zeros_like(h)))
