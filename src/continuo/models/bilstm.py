"""``bilstm``: a bidirectional LSTM, for the seeds' *window* objective only.

    idx[B, T] -> embedding[B, T, n_embd] -> dropout
              -> bidirectional LSTM (n_layer stacked)[B, T, 2 * hidden_size]
              -> dropout -> linear head[B, T, vocab_size]

The logits at every position see the whole window, before and after, so the model is not causal
(``causal = False``): trained with the causal objective it would read its answers. The trainer
uses only the last position ("the symbol after the window"), and the generator re-runs the window
for every new token; ``init_state``, ``step`` and ``prefill`` raise :class:`NotIncrementalError`.

Uses :class:`RecurrentConfig` and the LSTM initialisation of :mod:`continuo.models.recurrent`.
``tie_weights`` needs ``2 * hidden_size == n_embd``.
"""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from continuo.errors import ConfigError
from continuo.models.base import LanguageModel, NotIncrementalError, State
from continuo.models.recurrent import RecurrentConfig, init_recurrent_


class BiLSTMLM(LanguageModel):
    """Bidirectional LSTM window classifier; logits at position t depend on the whole window."""

    causal = False
    config_class = RecurrentConfig
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "debug": dict(n_embd=16, hidden_size=32, n_layer=1, dropout=0.0),
        "small": dict(n_embd=128, hidden_size=192, n_layer=2, dropout=0.1),
        "base": dict(n_embd=256, hidden_size=512, n_layer=3, dropout=0.2),
    }

    def __init__(self, config: RecurrentConfig) -> None:
        super().__init__()
        if config.tie_weights and 2 * config.hidden_size != config.n_embd:
            raise ConfigError(
                f"model {config.name!r}: tie_weights needs 2 * hidden_size == n_embd "
                f"(got {config.hidden_size} and {config.n_embd})"
            )
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        self.rnn = nn.LSTM(
            config.n_embd,
            config.hidden_size,
            num_layers=config.n_layer,
            dropout=config.dropout if config.n_layer > 1 else 0.0,
            batch_first=True,
            bidirectional=True,
        )
        out = 2 * config.hidden_size
        self.head = None if config.tie_weights else nn.Linear(out, config.vocab_size)

        nn.init.normal_(self.wte.weight, mean=0.0, std=1.0)
        init_recurrent_(self.rnn)
        if self.head is not None:
            nn.init.uniform_(self.head.weight, -0.1, 0.1)
            nn.init.zeros_(self.head.bias)

    def forward(self, idx: Tensor, targets: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """``idx[B, T]`` -> ``logits[B, T, V]`` (each seeing the whole window) and the loss."""
        x = self.drop(self.wte(idx))  # [B, T, n_embd]
        h, _ = self.rnn(x)  # [B, T, 2 * hidden_size]
        h = self.drop(h)
        logits = F.linear(h, self.wte.weight) if self.head is None else self.head(h)
        return logits, None if targets is None else self.loss(logits, targets)

    def _not_incremental(self) -> NoReturn:
        raise NotIncrementalError(
            "model 'bilstm' is bidirectional and has no incremental step: it reads a whole window "
            "(window objective only); call forward() on the last window and use the logits at its "
            "last position"
        )

    def init_state(self, batch_size: int, device: torch.device | str | None = None) -> State:
        self._not_incremental()

    def prefill(self, idx: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        self._not_incremental()

    def step(self, idx: Tensor, state: State) -> tuple[Tensor, State]:
        self._not_incremental()
