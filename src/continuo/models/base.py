"""What every model shares: the config base class, the one interface, the loss.

Every model is a next-token model over the codec's token ids:

- ``forward(idx[B, T], targets[B, T] | None) -> (logits[B, T, V], loss | None)``
- ``init_state(batch_size, device) -> state``
- ``step(idx[B], state) -> (logits[B, V], state)``: one token in, cost independent of history
- ``prefill(idx[B, T], state=None) -> (logits[B, T, V], state)``: a seed in one call

``prefill`` gives the same logits as ``forward`` and as ``T`` calls of ``step``. States are
opaque to callers (an RNN hidden state, or a dataclass holding attention caches) and are never
changed in place: ``step`` returns a new one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from continuo.errors import ConfigError
from continuo.models.configs import ModelConfig

__all__ = ["IGNORE_INDEX", "LanguageModel", "ModelConfig", "NotIncrementalError", "State"]

#: Targets equal to this are not predicted (the window objective, the start of a piece).
IGNORE_INDEX = -100

#: A model's incremental state; each model documents its own.
State = Any


class NotIncrementalError(ConfigError, NotImplementedError):
    """Raised by ``init_state``/``step``/``prefill`` of a model that is not causal (``bilstm``)."""


class LanguageModel(nn.Module, ABC):
    """Base class of the zoo: the loss, parameter counting and the interface's defaults.

    A model implements :meth:`init_state` and :meth:`prefill`; :meth:`forward` (a prefill from
    nothing, plus the loss) and :meth:`step` (a prefill of one token) follow from it. Models
    whose output layer may reuse the embedding keep the embedding in ``wte`` and the output
    layer in ``head`` (None when tied), and turn hidden states into logits with
    :meth:`head_logits`.
    """

    #: False only for models whose logits at position t see tokens after t (``bilstm``).
    causal: ClassVar[bool] = True
    #: The config dataclass of this model family.
    config_class: ClassVar[type[ModelConfig]] = ModelConfig
    #: Size presets: preset name -> config field values (``debug``, ``small``, ``base``).
    presets: ClassVar[dict[str, dict[str, Any]]] = {}

    config: ModelConfig
    wte: nn.Embedding
    head: nn.Linear | None

    def num_parameters(self) -> int:
        """Number of trainable parameters (tied weights counted once)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    @staticmethod
    def loss(logits: Tensor, targets: Tensor) -> Tensor:
        """Mean cross-entropy of ``logits[B, T, V]`` against ``targets[B, T]``, skipping -100.

        As in PyTorch, a batch whose targets are all -100 gives nan.
        """
        return F.cross_entropy(
            logits.reshape(-1, logits.size(-1)).float(),
            targets.reshape(-1),
            ignore_index=IGNORE_INDEX,
        )

    def _dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    def head_logits(self, hidden: Tensor) -> Tensor:
        """``hidden[..., C]`` -> ``logits[..., V]``: the ``head`` layer, or the embedding matrix
        when the weights are tied (``head`` is None)."""
        return F.linear(hidden, self.wte.weight) if self.head is None else self.head(hidden)

    def forward(self, idx: Tensor, targets: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """``idx[B, T]`` -> ``logits[B, T, V]`` and the mean loss over ``targets[B, T]``."""
        logits, _ = self.prefill(idx)
        return logits, None if targets is None else self.loss(logits, targets)

    @abstractmethod
    def init_state(self, batch_size: int, device: torch.device | str | None = None) -> State:
        """The state before any token: zeros, or an empty cache."""

    @abstractmethod
    def prefill(self, idx: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """Consume ``idx[B, T]`` in one call: ``(logits[B, T, V], state)``."""

    def step(self, idx: Tensor, state: State) -> tuple[Tensor, State]:
        """Consume one token ``idx[B]``: ``(logits[B, V], state)``, at a cost independent of T."""
        logits, state = self.prefill(idx[:, None], state)
        return logits[:, 0], state
