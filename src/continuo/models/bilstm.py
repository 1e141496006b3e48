"""``bilstm``: a bidirectional LSTM, for the seeds' *window* objective only.

    idx[B, T] -> embedding[B, T, n_embd] -> dropout
              -> bidirectional LSTM (n_layer stacked)[B, T, 2 * hidden_size]
              -> dropout -> linear head[B, T, vocab_size]

The logits at every position see the whole window, before and after, so the model is not causal
(``causal = False``): trained with the causal objective it would read its answers. The trainer
uses only the last position ("the symbol after the window"), and the generator re-runs the window
for every new token; ``init_state``, ``step`` and ``prefill`` raise :class:`NotIncrementalError`.

A :class:`~continuo.models.recurrent.RecurrentLM` with both directions: the same config, layers
and initialisation.
``tie_weights`` needs ``2 * hidden_size == n_embd``.
"""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn

import torch
from torch import Tensor, nn

from continuo.models.base import NotIncrementalError, State
from continuo.models.configs import PRESETS
from continuo.models.recurrent import RecurrentLM

__all__ = ["BiLSTMLM"]


class BiLSTMLM(RecurrentLM):
    """Bidirectional LSTM window classifier; logits at position t depend on the whole window."""

    causal = False
    cell = nn.LSTM
    bidirectional = True
    presets: ClassVar[dict[str, dict[str, Any]]] = PRESETS["bilstm"]

    def forward(self, idx: Tensor, targets: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """``idx[B, T]`` -> ``logits[B, T, V]`` (each seeing the whole window) and the loss."""
        x = self.drop(self.wte(idx))  # [B, T, n_embd]
        h, _ = self.rnn(x)  # [B, T, 2 * hidden_size]
        logits = self.head_logits(self.drop(h))
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
