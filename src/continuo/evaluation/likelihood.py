"""Likelihood of held-out pieces under a model: bits per token, accuracy, bits per note.

Each piece is scored from its own start, ``/ piece /``, every token predicted from the tokens
before it, with at most ``context`` tokens of context (the length the model was trained at):
longer pieces are scored with windows that advance by half a context, each token counted once
(the strided evaluation of Press et al. 2021, "Shortformer", §2). Models trained with the seeds'
window objective (and the bidirectional LSTM) are scored the way they were trained: one window
of the preceding ``context`` tokens for every target.

Sequence bits per note, for every codec whose notes are single tokens
(:meth:`Codec.note_token_ids`), is the pieces' summed token log-loss over their number of notes:
the one unit that compares tokenizations, whatever the number of tokens each writes per note::

    sequence_bits_per_note = sum over tokens of -log2 p(token | before) / number of notes

Bits per note (monophonic codecs only) is the unit of IDyOM (Pearce 2005, thesis, §6): the
cross-entropy of the *pitch* of each note given everything before it, rests not being events.
A note's onset is known, so its probability is renormalised over the pitch tokens::

    bits(note) = -log2( p(pitch) / sum_{q in pitches} p(q) )
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from continuo.codecs import Codec

__all__ = ["Likelihood", "evaluate_likelihood", "pitch_token_ids"]


@dataclass
class Likelihood:
    """Totals over a set of pieces; the properties are the reported figures."""

    tokens: int = 0
    nats: float = 0.0
    correct: int = 0
    notes: int = 0
    note_nats: float = 0.0
    sequence_notes: int = 0

    @property
    def bits_per_token(self) -> float:
        return self.nats / max(1, self.tokens) / math.log(2)

    @property
    def accuracy(self) -> float:
        return self.correct / max(1, self.tokens)

    @property
    def bits_per_note(self) -> float | None:
        """IDyOM's unit: bits of each note's pitch, its onset known (monophonic codecs)."""
        return self.note_nats / self.notes / math.log(2) if self.notes else None

    @property
    def sequence_bits_per_note(self) -> float | None:
        """All the bits of the pieces over their number of notes (see the module docstring)."""
        return self.nats / self.sequence_notes / math.log(2) if self.sequence_notes else None

    def to_dict(self) -> dict[str, float | int | None]:
        return {
            "bits_per_token": self.bits_per_token,
            "bits_per_note": self.bits_per_note,
            "sequence_bits_per_note": self.sequence_bits_per_note,
            "accuracy": self.accuracy,
            "tokens": self.tokens,
            "notes": self.notes,
            "sequence_notes": self.sequence_notes,
        }


def pitch_token_ids(codec: Codec) -> list[int] | None:
    """The ids of the note-onset (pitch) tokens of a monophonic codec; None for others."""
    return None if codec.polyphonic else codec.note_token_ids()


@torch.no_grad()
def evaluate_likelihood(
    model: torch.nn.Module,
    codec: Codec,
    pieces: Sequence[np.ndarray],
    *,
    context: int,
    window_objective: bool = False,
    batch_size: int = 64,
    device: str | torch.device = "cpu",
) -> Likelihood:
    """Score ``pieces`` (token id arrays without separators); see the module docstring."""
    model.eval()
    sep = codec.separator_id
    make = _target_windows if (window_objective or not model.causal) else _strided_windows
    left_pad = make is _target_windows  # one target at the end: pad on the left
    windows = [w for ids in pieces for w in make(np.concatenate([[sep], ids, [sep]]), context)]
    pitch_mask = _token_mask(pitch_token_ids(codec), codec.vocab_size, device)
    note_mask = _token_mask(codec.note_token_ids(), codec.vocab_size, device)
    total = Likelihood()
    for start in range(0, len(windows), batch_size):
        x, y = _pad(windows[start : start + batch_size], sep, left=left_pad)
        x, y = x.to(device), y.to(device)
        logits, _ = model(x)
        log_probs = torch.log_softmax(logits.float(), dim=-1)
        mask = y != -100
        target = y.clamp(min=0)
        token_lp = log_probs.gather(-1, target[..., None])[..., 0][mask]
        total.tokens += int(mask.sum())
        total.nats -= float(token_lp.sum())
        total.correct += int((log_probs.argmax(-1) == y)[mask].sum())
        if note_mask is not None:
            total.sequence_notes += int((mask & note_mask[target]).sum())
        if pitch_mask is not None:
            is_note = mask & pitch_mask[target]
            pitch_lp = log_probs[..., pitch_mask].logsumexp(-1)
            note_lp = log_probs.gather(-1, target[..., None])[..., 0] - pitch_lp
            total.notes += int(is_note.sum())
            total.note_nats -= float(note_lp[is_note].sum())
    return total


def _token_mask(
    ids: list[int] | None, size: int, device: str | torch.device
) -> torch.Tensor | None:
    """Bool ``[size]``, true at ``ids``; None when ``ids`` is None."""
    if ids is None:
        return None
    mask = torch.zeros(size, dtype=torch.bool, device=device)
    mask[ids] = True
    return mask


def _strided_windows(seq: np.ndarray, context: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(inputs, targets)`` windows over ``seq``; targets -100 where already counted."""
    inputs, targets = seq[:-1], seq[1:]
    if len(inputs) <= context:
        return [(inputs, targets.copy())]
    stride = max(1, context // 2)
    windows, counted = [], 0
    for start in range(0, len(inputs), stride):
        end = min(start + context, len(inputs))
        y = targets[start:end].copy()
        y[: max(0, counted - start)] = -100
        windows.append((inputs[start:end], y))
        counted = end
        if end == len(inputs):
            break
    return windows


def _target_windows(seq: np.ndarray, context: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """One window per target: the ``context`` tokens before it (fewer at the start)."""
    windows = []
    for t in range(1, len(seq)):
        x = seq[max(0, t - context) : t]
        y = np.full(len(x), -100, dtype=np.int64)
        y[-1] = seq[t]
        windows.append((x, y))
    return windows


def _pad(windows, pad_id: int, *, left: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad inputs with ``pad_id`` and targets with -100 to the longest window.

    Returns ``x`` and ``y`` of shape ``(B, T)``. ``left=True`` keeps each window's end at the
    last position (for one-target windows, whose target is the last one).
    """
    length = max(len(x) for x, _ in windows)
    x_out = torch.full((len(windows), length), pad_id, dtype=torch.long)
    y_out = torch.full((len(windows), length), -100, dtype=torch.long)
    for i, (x, y) in enumerate(windows):
        where = slice(length - len(x), length) if left else slice(0, len(x))
        x_out[i, where] = torch.as_tensor(x)
        y_out[i, where] = torch.as_tensor(y)
    return x_out, y_out
