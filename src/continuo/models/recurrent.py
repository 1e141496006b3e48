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

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from continuo.errors import ConfigError
from continuo.models.base import LanguageModel, State
from continuo.models.configs import PRESETS, RecurrentConfig

__all__ = ["GRULM", "LSTMLM", "RNNLM", "RecurrentConfig", "RecurrentLM", "init_recurrent_"]


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
    """A token embedding, a stacked recurrent network and a linear head. Subclasses pick the cell
    (and, for ``bilstm``, both directions)."""

    config_class = RecurrentConfig
    cell: ClassVar[type[nn.RNNBase]] = nn.RNN
    #: Whether the network reads the window both ways (its head then sees 2 * hidden_size).
    bidirectional: ClassVar[bool] = False

    def __init__(self, config: RecurrentConfig) -> None:
        super().__init__()
        directions = 2 if self.bidirectional else 1
        width = directions * config.hidden_size
        if config.tie_weights and width != config.n_embd:
            times = f"{directions} * " if directions > 1 else ""
            raise ConfigError(
                f"model {config.name!r}: tie_weights needs {times}hidden_size == n_embd "
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
            bidirectional=self.bidirectional,
        )
        self.head = None if config.tie_weights else nn.Linear(width, config.vocab_size)

        nn.init.normal_(self.wte.weight, mean=0.0, std=1.0)
        init_recurrent_(self.rnn)
        if self.head is not None:
            nn.init.uniform_(self.head.weight, -0.1, 0.1)
            nn.init.zeros_(self.head.bias)

    def prefill(self, idx: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """``idx[B, T]`` from ``state`` (zeros when None) -> ``logits[B, T, V]``, new state."""
        x = self.drop(self.wte(idx))  # [B, T, n_embd]
        h, state = run_recurrent(self.rnn, x, state)  # [B, T, hidden_size]
        return self.head_logits(self.drop(h)), state

    def init_state(self, batch_size: int, device: torch.device | str | None = None) -> State:
        """Zeros: ``h[n_layer, B, hidden_size]`` (``(h, c)`` for the LSTM)."""
        c = self.config
        h = torch.zeros(c.n_layer, batch_size, c.hidden_size, device=device, dtype=self._dtype())
        return (h, torch.zeros_like(h)) if self.cell is nn.LSTM else h


class RNNLM(RecurrentLM):
    """``rnn``: Elman network (tanh)."""

    cell = nn.RNN
    presets: ClassVar[dict[str, dict[str, Any]]] = PRESETS["rnn"]


class GRULM(RecurrentLM):
    """``gru``: gated recurrent units."""

    cell = nn.GRU
    presets: ClassVar[dict[str, dict[str, Any]]] = PRESETS["gru"]


class LSTMLM(RecurrentLM):
    """``lstm``: long short-term memory."""

    cell = nn.LSTM
    presets: ClassVar[dict[str, dict[str, Any]]] = PRESETS["lstm"]
