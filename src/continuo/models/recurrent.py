"""Recurrent next-token models: ``rnn`` (Elman), ``gru``, ``lstm``.

    idx[B, T] -> embedding[B, T, n_embd] -> dropout
              -> RNN / GRU / LSTM (n_layer stacked, dropout between layers)[B, T, hidden_size]
              -> dropout -> linear head[B, T, vocab_size]

With ``tie_weights`` the head reuses the embedding matrix (needs ``hidden_size == n_embd``); the
tied weight is stored once, so the state dict has no shared tensors (safetensors refuses those).

State: the recurrent hidden state, ``h[n_layer, B, hidden_size]`` for ``rnn`` and ``gru`` and the
pair ``(h, c)`` for ``lstm``. ``step`` is one cell update per layer, whatever came before.

Initialisation: embedding normal(0, 1) (PyTorch's default; gated cells learn much sooner than
with the uniform(-0.1, 0.1) of the word-language-model example), head uniform(-0.1, 0.1) with
zero bias; input-to-hidden weights Xavier-uniform and hidden-to-hidden weights orthogonal, per
gate; biases zero except the LSTM forget gate, whose bias starts at 1 (remember by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from continuo.errors import ConfigError
from continuo.models.base import LanguageModel, ModelConfig, State


@dataclass
class RecurrentConfig(ModelConfig):
    """Config of ``rnn``, ``gru``, ``lstm`` and ``bilstm``."""

    n_embd: int = 128  # embedding size
    hidden_size: int = 256  # hidden units per layer (per direction for bilstm)
    n_layer: int = 2  # stacked layers
    dropout: float = 0.1  # on the embedding, between layers and before the head
    tie_weights: bool = False  # head reuses the embedding matrix (sizes must allow it)

    def __post_init__(self) -> None:
        super().__post_init__()
        for field in ("n_embd", "hidden_size", "n_layer"):
            if getattr(self, field) < 1:
                raise ConfigError(f"model {self.name!r}: {field} must be positive")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"model {self.name!r}: dropout must be in [0, 1)")


def init_recurrent_(rnn: nn.RNNBase) -> None:
    """Xavier input weights, orthogonal recurrent weights (per gate), zero biases, forget bias 1."""
    gates = {"RNN_TANH": 1, "RNN_RELU": 1, "GRU": 3, "LSTM": 4}[rnn.mode]
    with torch.no_grad():
        for name, param in rnn.named_parameters():
            if name.startswith("weight_ih"):
                for chunk in param.chunk(gates, dim=0):
                    nn.init.xavier_uniform_(chunk)
            elif name.startswith("weight_hh"):
                for chunk in param.chunk(gates, dim=0):
                    nn.init.orthogonal_(chunk)
            elif name.startswith("bias"):
                param.zero_()
                if rnn.mode == "LSTM" and name.startswith("bias_ih"):
                    hidden = rnn.hidden_size
                    param[hidden : 2 * hidden].fill_(1.0)  # gate order i, f, g, o


_CELLS = {
    "LSTM": torch.lstm_cell,
    "GRU": torch.gru_cell,
    "RNN_TANH": torch.rnn_tanh_cell,
    "RNN_RELU": torch.rnn_relu_cell,
}


def run_recurrent(rnn: nn.RNNBase, x: Tensor, state: State | None) -> tuple[Tensor, State]:
    """``rnn(x, state)`` for a stacked unidirectional ``rnn``: ``x[B, T, input]`` -> ``[B, T, H]``.

    One token (``T == 1``, the generation step) goes through the native cell functions layer by
    layer: the fused ``nn.LSTM`` call costs about half a millisecond per layer on a CPU whatever
    the length (oneDNN's fixed overhead), the cell a few microseconds. Same arithmetic, same
    dropout between layers.
    """
    if x.size(1) != 1 or rnn.bidirectional:
        return rnn(x, state)
    lstm = rnn.mode == "LSTM"
    if state is None:
        zeros = x.new_zeros(rnn.num_layers, x.size(0), rnn.hidden_size)
        state = (zeros, zeros) if lstm else zeros
    cell, h, hs, cs = _CELLS[rnn.mode], x[:, 0], [], []
    for layer, weights in enumerate(rnn.all_weights):  # [w_ih, w_hh] + [b_ih, b_hh] if bias
        if layer and rnn.training:
            h = F.dropout(h, rnn.dropout, training=True)
        if lstm:
            h, c = cell(h, (state[0][layer], state[1][layer]), *weights)
            cs.append(c)
        else:
            h = cell(h, state[layer], *weights)
        hs.append(h)
    new_state = (torch.stack(hs), torch.stack(cs)) if lstm else torch.stack(hs)
    return h[:, None], new_state


class RecurrentLM(LanguageModel):
    """A token embedding, a stacked recurrent network and a linear head. Subclasses pick the cell."""

    config_class = RecurrentConfig
    cell: ClassVar[type[nn.RNNBase]] = nn.RNN

    def __init__(self, config: RecurrentConfig) -> None:
        super().__init__()
        if config.tie_weights and config.hidden_size != config.n_embd:
            raise ConfigError(
                f"model {config.name!r}: tie_weights needs hidden_size == n_embd "
                f"(got {config.hidden_size} and {config.n_embd})"
            )
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        self.rnn = self.cell(
            config.n_embd,
            config.hidden_size,
            num_layers=config.n_layer,
            dropout=config.dropout if config.n_layer > 1 else 0.0,
            batch_first=True,
        )
        self.head = None if config.tie_weights else nn.Linear(config.hidden_size, config.vocab_size)

        nn.init.normal_(self.wte.weight, mean=0.0, std=1.0)
        init_recurrent_(self.rnn)
        if self.head is not None:
            nn.init.uniform_(self.head.weight, -0.1, 0.1)
            nn.init.zeros_(self.head.bias)

    def forward(self, idx: Tensor, targets: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """``idx[B, T]`` -> ``logits[B, T, V]`` and the mean loss over ``targets[B, T]``."""
        logits, _ = self.prefill(idx)
        return logits, None if targets is None else self.loss(logits, targets)

    def prefill(self, idx: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """``idx[B, T]`` from ``state`` (zeros when None) -> ``logits[B, T, V]``, new state."""
        x = self.drop(self.wte(idx))  # [B, T, n_embd]
        h, state = run_recurrent(self.rnn, x, state)  # [B, T, hidden_size]
        h = self.drop(h)
        logits = F.linear(h, self.wte.weight) if self.head is None else self.head(h)
        return logits, state

    def step(self, idx: Tensor, state: State) -> tuple[Tensor, State]:
        """``idx[B]`` -> next-token ``logits[B, V]`` and the new state."""
        logits, state = self.prefill(idx[:, None], state)
        return logits[:, 0], state

    def init_state(self, batch_size: int, device: torch.device | str | None = None) -> State:
        """Zeros: ``h[n_layer, B, hidden_size]`` (``(h, c)`` for the LSTM)."""
        c = self.config
        h = torch.zeros(c.n_layer, batch_size, c.hidden_size, device=device, dtype=self._dtype())
        return (h, torch.zeros_like(h)) if self.cell is nn.LSTM else h


class RNNLM(RecurrentLM):
    """``rnn``: Elman network (tanh)."""

    cell = nn.RNN
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "debug": dict(n_embd=16, hidden_size=32, n_layer=2, dropout=0.0),
        "small": dict(n_embd=128, hidden_size=512, n_layer=2, dropout=0.1),
        "base": dict(n_embd=256, hidden_size=1024, n_layer=3, dropout=0.2),
    }


class GRULM(RecurrentLM):
    """``gru``: gated recurrent units."""

    cell = nn.GRU
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "debug": dict(n_embd=16, hidden_size=32, n_layer=2, dropout=0.0),
        "small": dict(n_embd=128, hidden_size=320, n_layer=2, dropout=0.1),
        "base": dict(n_embd=256, hidden_size=640, n_layer=3, dropout=0.2),
    }


class LSTMLM(RecurrentLM):
    """``lstm``: long short-term memory."""

    cell = nn.LSTM
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "debug": dict(n_embd=16, hidden_size=32, n_layer=2, dropout=0.0),
        "small": dict(n_embd=128, hidden_size=256, n_layer=2, dropout=0.1),
        "base": dict(n_embd=256, hidden_size=512, n_layer=3, dropout=0.2),
    }
